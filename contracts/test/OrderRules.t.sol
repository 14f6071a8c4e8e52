// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {OrderFixture} from "./base/OrderFixture.sol";
import {MockStepVerifierProof} from "./base/FedAvgFixture.sol";
import {Ref} from "./base/Reference.sol";
import {OrderRef} from "./base/OrderReference.sol";
import {RoundRegistry} from "../src/RoundRegistry.sol";
import {BisectionGame} from "../src/BisectionGame.sol";
import {LeafArbiter} from "../src/LeafArbiter.sol";
import {IRoundRegistry} from "../src/interfaces/IRoundRegistry.sol";
import {IRuleProgram} from "../src/interfaces/IRuleProgram.sol";
import {IStepChecker} from "../src/interfaces/IStepChecker.sol";
import {StepChecker} from "../src/checkers/StepChecker.sol";
import {CheckerBase} from "../src/checkers/CheckerBase.sol";
import {OrderStepChecker} from "../src/checkers/OrderStepChecker.sol";
import {AccumulateChecker} from "../src/checkers/AccumulateChecker.sol";
import {FinalizeChecker} from "../src/checkers/FinalizeChecker.sol";
import {RankChecker} from "../src/checkers/RankChecker.sol";
import {TrimSumChecker} from "../src/checkers/TrimSumChecker.sol";
import {TrimEmitChecker} from "../src/checkers/TrimEmitChecker.sol";
import {OrderMeanProgram} from "../src/programs/OrderMeanProgram.sol";
import {Commitments} from "../src/lib/Commitments.sol";

/// The order-statistic rules on chain: the Median (rule 1) and TrimmedMean (rule 2) programs
/// (schedule, trim, parameters, endpoints), the Rank, TrimSum and TrimEmit checkers against
/// rounds computed in Solidity (every step of a round chains h0 to hT through the real
/// arbiter and the statement-checking mocks; every refusal), and whole disputes.
contract OrderRulesTest is OrderFixture {
    bytes internal constant NONE = "";

    function _beta(uint16 bps) internal pure returns (bytes memory) {
        return abi.encode(bps);
    }

    // ------------------------------------------------------------ programs: schedule

    function test_orderPrograms_identity() public view {
        assertEq(median.RULE(), 1);
        assertEq(trimmedMean.RULE(), 2);
        assertEq(median.name(), "Median");
        assertEq(trimmedMean.name(), "TrimmedMean");
        assertEq(median.KIND_RANK(), 2);
        assertEq(median.KIND_TRIM_SUM(), 3);
        assertEq(median.KIND_TRIM_EMIT(), 4);
        assertEq(median.RANK_PASSES(), 32);
    }

    function test_orderPrograms_steps_isChunksTimes33NPlusOne() public view {
        assertEq(median.steps(NONE, 3, 100), 4 * 100);
        assertEq(median.steps(NONE, 1, 1), 34);
        assertEq(median.steps(NONE, 4, 100), 4 * 133);
        assertEq(median.steps(NONE, 255, 1 << 28), uint64(1 << 23) * 8416);
        assertEq(trimmedMean.steps(_beta(2500), 4, 100), 4 * 133);
        assertEq(trimmedMean.steps(_beta(0), 255, 1 << 28), uint64(1 << 23) * 8416);
    }

    function testFuzz_orderPrograms_steps_matchFormula(uint256 n_, uint256 dim_) public view {
        n_ = bound(n_, 1, 255);
        dim_ = bound(dim_, 1, 1 << 28);
        uint256 t = ((dim_ + 31) / 32) * (33 * n_ + 1);
        assertEq(median.steps(NONE, n_, dim_), t);
        assertEq(trimmedMean.steps(_beta(1234), n_, dim_), t);
    }

    /// Kind, row and column at the column boundaries 0, 32n-1, 32n, 33n-1, 33n of several rows.
    function test_orderPrograms_stepAt_columnBoundaries() public view {
        // n = 3, dim = 100: C = 4 rows of 100 columns, T = 400; median k = 1.
        uint256[5] memory cols = [uint256(0), 95, 96, 98, 99];
        uint8[5] memory kinds = [2, 2, 3, 3, 4];
        for (uint256 row; row < 4; ++row) {
            for (uint256 c; c < 5; ++c) {
                (uint8 kind, uint256 r, uint256 col, bytes memory kp) =
                    median.stepAt(NONE, 3, 100, uint64(row * 100 + cols[c]));
                assertEq(kind, kinds[c], "kind");
                assertEq(r, row, "row");
                assertEq(col, cols[c], "col");
                assertEq(kp, abi.encode(uint256(1)), "kindParams");
            }
        }
        // n = 1: 32 Rank columns, one TrimSum, one TrimEmit.
        (uint8 k1, uint256 r1, uint256 c1,) = median.stepAt(NONE, 1, 64, 34 + 31);
        assertEq(k1, 2);
        assertEq(r1, 1);
        assertEq(c1, 31);
        (k1,, c1,) = median.stepAt(NONE, 1, 64, 34 + 32);
        assertEq(k1, 3);
        assertEq(c1, 32);
        (k1,, c1,) = median.stepAt(NONE, 1, 64, 34 + 33);
        assertEq(k1, 4);
        assertEq(c1, 33);
        // The last step of the largest round.
        uint64 last = uint64(1 << 23) * 8416 - 1;
        (k1, r1, c1,) = trimmedMean.stepAt(_beta(4999), 255, 1 << 28, last);
        assertEq(k1, 4);
        assertEq(r1, (1 << 23) - 1);
        assertEq(c1, 33 * 255);
    }

    /// kindParams = abi.encode(k): median (n-1)/2, trimmed mean floor(betaBps·n / 10000).
    function test_orderPrograms_kindParams_isTrim() public view {
        uint256[7] memory ns = [uint256(1), 2, 3, 4, 5, 10, 255];
        uint256[7] memory med = [uint256(0), 0, 1, 1, 2, 4, 127];
        uint256[7] memory b0 = [uint256(0), 0, 0, 0, 0, 0, 0];
        uint256[7] memory b2500 = [uint256(0), 0, 0, 1, 1, 2, 63];
        uint256[7] memory b4999 = [uint256(0), 0, 1, 1, 2, 4, 127];
        for (uint256 t; t < ns.length; ++t) {
            _expectTrim(median, NONE, ns[t], med[t]);
            _expectTrim(trimmedMean, _beta(0), ns[t], b0[t]);
            _expectTrim(trimmedMean, _beta(2500), ns[t], b2500[t]);
            _expectTrim(trimmedMean, _beta(4999), ns[t], b4999[t]);
        }
    }

    function _expectTrim(OrderMeanProgram p, bytes memory params, uint256 n_, uint256 k) internal pure {
        assertEq(p.trim(params, n_), k, "trim");
        assertLt(2 * k, n_, "2k < n");
        (,,, bytes memory kp) = p.stepAt(params, n_, 32, 0);
        assertEq(kp, abi.encode(k), "kindParams");
    }

    function testFuzz_trimmedMean_trim_leavesAValue(uint16 bps, uint256 n_) public view {
        bps = uint16(bound(bps, 0, 4999));
        n_ = bound(n_, 1, 255);
        uint256 k = trimmedMean.trim(_beta(bps), n_);
        assertEq(k, uint256(bps) * n_ / 10_000);
        assertGe(n_ - 2 * k, 1);
    }

    function test_orderPrograms_stepAt_outOfRange_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IRuleProgram.StepOutOfRange.selector, 400, 400));
        median.stepAt(NONE, 3, 100, 400);
        vm.expectRevert(abi.encodeWithSelector(IRuleProgram.StepOutOfRange.selector, type(uint64).max, 34));
        trimmedMean.stepAt(_beta(10), 1, 1, type(uint64).max);
    }

    function test_orderPrograms_tooLong_reverts() public {
        uint256 dim_ = uint256(1) << 70; // 2^65 chunks
        vm.expectRevert(abi.encodeWithSelector(IRuleProgram.ProgramTooLong.selector, uint256(34) << 65));
        median.steps(NONE, 1, dim_);
        vm.expectRevert(abi.encodeWithSelector(IRuleProgram.ProgramTooLong.selector, uint256(34) << 65));
        trimmedMean.stepAt(_beta(0), 1, dim_, 0);
    }

    /// h0 = stateHash(config, 0, ZERO_STAT_HASH, emptyRoot(depth(C))),
    /// hT = stateHash(config, T, ZERO_STAT_HASH, outputRoot).
    function testFuzz_orderPrograms_endpoints(bytes32 config, uint256 n_, uint256 dim_, bytes32 out)
        public
        view
    {
        n_ = bound(n_, 1, 255);
        dim_ = bound(dim_, 1, 1 << 28);
        uint256 c = (dim_ + 31) / 32;
        int64[160] memory zero;
        bytes32 zeroHash = OrderRef.hash(zero);
        bytes32 h0 = Ref.stateHash(config, 0, zeroHash, Ref.emptyRoot(Ref.depth(c)));
        bytes32 hT = Ref.stateHash(config, c * (33 * n_ + 1), zeroHash, out);
        assertEq(median.initialState(config, NONE, n_, dim_), h0, "median h0");
        assertEq(median.finalState(config, NONE, n_, dim_, out), hT, "median hT");
        assertEq(trimmedMean.initialState(config, _beta(300), n_, dim_), h0, "trimmed h0");
        assertEq(trimmedMean.finalState(config, _beta(300), n_, dim_, out), hT, "trimmed hT");
    }

    /// The zero register is 160 offset limbs 0 + 2^39 = 0x8000000000 (not 800 zero bytes, the
    /// register of words -2^39).
    function test_zeroStatHash_is160OffsetLimbs() public pure {
        bytes memory limbs;
        for (uint256 w; w < 160; ++w) {
            limbs = abi.encodePacked(limbs, bytes5(0x8000000000));
        }
        assertEq(limbs.length, 800);
        assertEq(Commitments.ZERO_STAT_HASH, keccak256(abi.encodePacked(bytes1(0x03), limbs)));
        assertEq(
            Commitments.ZERO_STAT_HASH, 0x9d00a0e61dc2486b1077234e8d463e0f87fa8cd73afe995d4cf3734f61b03aa1
        );
        int64[160] memory zero;
        assertEq(Commitments.ZERO_STAT_HASH, OrderRef.hash(zero));
        assertEq(Commitments.registerHashMem(limbs), Commitments.ZERO_STAT_HASH);
        assertTrue(Commitments.registerHashMem(new bytes(800)) != Commitments.ZERO_STAT_HASH);
    }

    // ------------------------------------------------------------ programs: parameters

    function _invalid(uint8 rule_, string memory reason) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IRuleProgram.InvalidRuleParams.selector, rule_, reason);
    }

    function test_median_validate_refusesParams() public {
        median.validate(NONE, 255, 1 << 28);
        vm.expectRevert(_invalid(1, "Median takes no parameters"));
        median.validate(hex"00", 3, 10);
        vm.expectRevert(_invalid(1, "Median takes no parameters"));
        median.validate(abi.encode(uint256(0)), 3, 10);
    }

    function test_trimmedMean_validate_acceptsBelow5000() public view {
        trimmedMean.validate(_beta(0), 1, 1);
        trimmedMean.validate(_beta(2500), 255, 1 << 28);
        trimmedMean.validate(_beta(4999), 2, 100);
        assertEq(trimmedMean.betaBps(_beta(4999)), 4999);
    }

    function test_trimmedMean_validate_refusesWithReason() public {
        vm.expectRevert(_invalid(2, "betaBps must be below 5000 (beta < 1/2), got 5000"));
        trimmedMean.validate(_beta(5000), 3, 10);
        vm.expectRevert(_invalid(2, "betaBps must be below 5000 (beta < 1/2), got 65535"));
        trimmedMean.validate(_beta(type(uint16).max), 3, 10);
        string memory nonCanonical =
            "betaBps must be a canonical abi.encode(uint16): the high 30 bytes must be zero";
        vm.expectRevert(_invalid(2, nonCanonical));
        trimmedMean.validate(abi.encode(uint256(1) << 16), 3, 10);
        vm.expectRevert(_invalid(2, nonCanonical));
        trimmedMean.validate(abi.encode(uint256(1) << 255 | 100), 3, 10);
        vm.expectRevert(_invalid(2, "params must be abi.encode(uint16 betaBps), 32 bytes; got 0 bytes"));
        trimmedMean.validate(NONE, 3, 10);
        vm.expectRevert(_invalid(2, "params must be abi.encode(uint16 betaBps), 32 bytes; got 31 bytes"));
        trimmedMean.validate(new bytes(31), 3, 10);
        vm.expectRevert(_invalid(2, "params must be abi.encode(uint16 betaBps), 32 bytes; got 64 bytes"));
        trimmedMean.validate(abi.encode(uint16(10), uint16(10)), 3, 10);
        // The schedule refuses what validate refuses.
        vm.expectRevert(_invalid(2, "betaBps must be below 5000 (beta < 1/2), got 5000"));
        trimmedMean.stepAt(_beta(5000), 3, 10, 0);
        vm.expectRevert(_invalid(1, "Median takes no parameters"));
        median.stepAt(hex"01", 3, 10, 0);
    }

    /// openRound goes through the rule's program; the registry's error carries the reason.
    function test_openRound_orderRules_paramsRefusedOrStored() public {
        vm.expectRevert(
            abi.encodeWithSelector(RoundRegistry.InvalidRuleParams.selector, 1, "Median takes no parameters")
        );
        registry.openRound(_clients(3), 10, aggregator, COMMIT_PERIOD, 1, hex"00");
        vm.expectRevert(
            abi.encodeWithSelector(
                RoundRegistry.InvalidRuleParams.selector,
                2,
                "betaBps must be below 5000 (beta < 1/2), got 5000"
            )
        );
        registry.openRound(_clients(3), 10, aggregator, COMMIT_PERIOD, 2, _beta(5000));
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.UnknownRule.selector, 6));
        registry.openRound(_clients(3), 10, aggregator, COMMIT_PERIOD, 6, NONE);

        uint256 id = registry.openRound(_clients(4), 100, aggregator, COMMIT_PERIOD, 2, _beta(2500));
        assertEq(registry.round(id).rule, 2);
        assertEq(registry.ruleParams(id), _beta(2500));
        assertEq(registry.round(id).ruleParamsHash, keccak256(_beta(2500)));
        for (uint256 c; c < 4; ++c) {
            _commit(id, c, uint32(c + 1));
        }
        _post(id, keccak256("out"));
        IRoundRegistry.ProgramContext memory ctx = registry.stepContext(id);
        assertEq(ctx.rule, 2);
        assertEq(ctx.ruleParams, _beta(2500));
        assertEq(registry.steps(id), 4 * 133);
        assertEq(registry.initialState(id), trimmedMean.initialState(ctx.configHash, _beta(2500), 4, 100));
        assertEq(
            registry.finalState(id),
            trimmedMean.finalState(ctx.configHash, _beta(2500), 4, 100, keccak256("out"))
        );
        uint256 med = registry.openRound(_clients(2), 40, aggregator, COMMIT_PERIOD, 1, NONE);
        assertEq(registry.round(med).rule, 1);
        assertEq(registry.ruleParams(med), NONE);
    }

    // ------------------------------------------------------------ every step of a round

    /// One step through the real arbiter: from `pre` (the register before column `s % per`),
    /// returns the register after it. An external call so that each step's memory is freed.
    function orderStep(uint256 s, int64[160] memory pre) external view returns (int64[160] memory post) {
        (uint256 j, uint256 col) = (s / _perRow(), s % _perRow());
        bytes32 hPre = Ref.stateHash(configHash, s, OrderRef.hash(pre), _outputRoot(j, false));
        bytes32 got;
        if (col < 33 * n) {
            RankChecker.RankLeaf memory leaf = _clientLeafFrom(pre, j, col);
            got = arbiter.postState(roundId, uint64(s), hPre, abi.encode(leaf));
            post = _copy(pre);
            _applyStep(post, j, col);
            require(
                got == Ref.stateHash(configHash, s + 1, OrderRef.hash(post), _outputRoot(j, false)), "post"
            );
        } else {
            int32[32] memory out = OrderRef.trimEmit(pre, n, trimK);
            for (uint256 l; l < 32; ++l) {
                require(out[l] == outputOf[j][l], "emit equals the sorting reference");
            }
            TrimEmitChecker.TrimEmitLeaf memory leaf;
            leaf.register = OrderRef.encode(pre);
            leaf.outputRoot = _outputRoot(j, false);
            leaf.values = Ref.encodeValues(out);
            leaf.outputPath = _outputPath(j, j);
            leaf.proof = MockStepVerifierProof.PROOF;
            got = arbiter.postState(roundId, uint64(s), hPre, abi.encode(leaf));
            require(
                got == Ref.stateHash(configHash, s + 1, Commitments.ZERO_STAT_HASH, _outputRoot(j + 1, false))
            );
            // post stays zero: the emit clears the register.
        }
    }

    /// Every step of the round, in order: each post-state is the next pre-state, the last one
    /// is the registry's h_T, and every emitted leaf is the sorting reference's.
    function _everyStep() internal {
        _postHonest();
        assertEq(registry.steps(roundId), _orderSteps());
        int64[160] memory r;
        assertEq(
            registry.initialState(roundId),
            Ref.stateHash(configHash, 0, OrderRef.hash(r), _outputRoot(0, false))
        );
        uint256 t = _orderSteps();
        for (uint256 s; s < t; ++s) {
            r = this.orderStep(s, r);
        }
        assertEq(OrderRef.hash(r), Commitments.ZERO_STAT_HASH);
        assertEq(
            registry.finalState(roundId),
            Ref.stateHash(configHash, t, Commitments.ZERO_STAT_HASH, _outputRoot(chunks, false))
        );
    }

    /// Median, odd n (k = 1), two chunks (the second partly padding).
    function test_median_oddN_everyStepChainsH0ToHT() public {
        _buildOrderRound(1, NONE, 3, 40, 1);
        _everyStep();
    }

    /// Median, even n (mean of the two middle values, rounded half up), one chunk (paths of
    /// depth 0).
    function test_median_evenN_everyStepChainsH0ToHT() public {
        _buildOrderRound(1, NONE, 4, 20, 2);
        _everyStep();
    }

    /// TrimmedMean, betaBps 2000 over 5 participants (k = 1).
    function test_trimmedMean_everyStepChainsH0ToHT() public {
        _buildOrderRound(2, _beta(2000), 5, 30, 3);
        assertEq(trimK, 1);
        _everyStep();
    }

    /// TrimmedMean with betaBps 0: the plain (unweighted) mean.
    function test_trimmedMean_betaZero_isPlainMean() public {
        _buildOrderRound(2, _beta(0), 2, 8, 4);
        assertEq(trimK, 0);
        _everyStep();
    }

    // ------------------------------------------------------------ checker refusals

    function _medianRound() internal {
        _buildOrderRound(1, NONE, 3, 40, 5); // C = 2, 100 columns a row, T = 200; k = 1
        _postHonest();
    }

    function _post(uint256 s, bytes memory leaf) internal view returns (bytes32) {
        return arbiter.postState(roundId, uint64(s), _orderStateHash(s, false), leaf);
    }

    function _context(uint64 s, uint256 row, uint256 col, uint256 k)
        internal
        view
        returns (IStepChecker.StepContext memory c)
    {
        RoundRegistry.RoundView memory r = registry.round(roundId);
        c.configHash = r.configHash;
        c.inputRoot = r.inputRoot;
        c.n = r.participants;
        c.dim = r.dim;
        c.totalWeight = r.totalWeight;
        c.step = s;
        c.row = row;
        c.col = col;
        c.kindParams = abi.encode(k);
    }

    function _badLength(string memory field, uint256 expected, uint256 actual)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encodeWithSelector(CheckerBase.BadLength.selector, field, expected, actual);
    }

    /// A checker called directly with the arbiter's context gives the arbiter's answer.
    function test_orderCheckers_directCall_matchesArbiter() public {
        _medianRound();
        uint256 s = 100 + 7; // row 1, pass 2, participant 1
        bytes32 pre = _orderStateHash(s, false);
        bytes memory leaf = abi.encode(_rankLeaf(s));
        assertEq(rankChecker.postState(_context(uint64(s), 1, 7, 1), pre, leaf), _post(s, leaf));
        s = 100 + 97;
        pre = _orderStateHash(s, false);
        leaf = abi.encode(_trimSumLeaf(s));
        assertEq(trimSumChecker.postState(_context(uint64(s), 1, 97, 1), pre, leaf), _post(s, leaf));
        s = 199;
        pre = _orderStateHash(s, false);
        leaf = abi.encode(_trimEmitLeaf(s));
        assertEq(
            trimEmitChecker.postState(_context(uint64(s), 1, 99, 1), pre, leaf), _orderStateHash(200, false)
        );
    }

    function test_orderCheckers_badPosition_reverts() public {
        _medianRound();
        bytes memory rank = abi.encode(_rankLeaf(95));
        bytes memory sum = abi.encode(_trimSumLeaf(96));
        bytes memory emit_ = abi.encode(_trimEmitLeaf(99));
        bytes32 pre = _orderStateHash(95, false);
        // Contexts built first: building one calls the registry, which expectRevert would take.
        IStepChecker.StepContext memory sumCol = _context(95, 0, 96, 1);
        IStepChecker.StepContext memory pastRow = _context(95, 2, 95, 1);
        IStepChecker.StepContext memory rankCol = _context(96, 0, 95, 1);
        IStepChecker.StepContext memory emitCol = _context(96, 0, 99, 1);
        IStepChecker.StepContext memory emitPastRow = _context(99, 2, 99, 1);
        // Rank: a column of the sum pass; a row past the chunks.
        vm.expectRevert(abi.encodeWithSelector(StepChecker.BadPosition.selector, 0, 96));
        rankChecker.postState(sumCol, pre, rank);
        vm.expectRevert(abi.encodeWithSelector(StepChecker.BadPosition.selector, 2, 95));
        rankChecker.postState(pastRow, pre, rank);
        // TrimSum: a rank column and the emit column.
        vm.expectRevert(abi.encodeWithSelector(StepChecker.BadPosition.selector, 0, 95));
        trimSumChecker.postState(rankCol, pre, sum);
        vm.expectRevert(abi.encodeWithSelector(StepChecker.BadPosition.selector, 0, 99));
        trimSumChecker.postState(emitCol, pre, sum);
        // TrimEmit: a row past the chunks.
        vm.expectRevert(abi.encodeWithSelector(StepChecker.BadPosition.selector, 2, 99));
        trimEmitChecker.postState(emitPastRow, pre, emit_);
    }

    /// The trim must come as abi.encode(uint256 k) with 2k < n.
    function test_orderCheckers_badTrim_reverts() public {
        _medianRound();
        bytes32 pre = _orderStateHash(5, false);
        bytes memory rank = abi.encode(_rankLeaf(5));
        IStepChecker.StepContext memory c = _context(5, 0, 5, 2);
        vm.expectRevert(abi.encodeWithSelector(OrderStepChecker.BadTrim.selector, 2, 3));
        rankChecker.postState(c, pre, rank);
        c.kindParams = abi.encode(type(uint256).max);
        vm.expectRevert(abi.encodeWithSelector(OrderStepChecker.BadTrim.selector, type(uint256).max, 3));
        rankChecker.postState(c, pre, rank);
        c.kindParams = "";
        vm.expectRevert(_badLength("kindParams", 32, 0));
        rankChecker.postState(c, pre, rank);
        pre = _orderStateHash(99, false);
        c = _context(99, 0, 99, 2);
        vm.expectRevert(abi.encodeWithSelector(OrderStepChecker.BadTrim.selector, 2, 3));
        trimEmitChecker.postState(c, pre, abi.encode(_trimEmitLeaf(99)));
    }

    function test_orderCheckers_preStateMismatch_reverts() public {
        _medianRound();
        bytes32 wrong = keccak256("wrong");
        bytes memory leaf = abi.encode(_rankLeaf(3));
        vm.expectRevert(
            abi.encodeWithSelector(CheckerBase.PreStateMismatch.selector, wrong, _orderStateHash(3, false))
        );
        arbiter.postState(roundId, 3, wrong, leaf);
        // The leaf of another step (another column's register) does not open this step's state.
        vm.expectPartialRevert(CheckerBase.PreStateMismatch.selector);
        arbiter.postState(roundId, 4, _orderStateHash(4, false), leaf);
        leaf = abi.encode(_trimEmitLeaf(99));
        vm.expectPartialRevert(CheckerBase.PreStateMismatch.selector);
        arbiter.postState(roundId, 199, _orderStateHash(199, false), leaf);
    }

    function test_orderCheckers_badOpenings_revert() public {
        _medianRound();
        // Another participant's leaf at participant 1's column.
        RankChecker.RankLeaf memory r = _rankLeaf(1);
        r.updateRoot = updateRoots[2];
        r.weight = weights[2];
        bytes32 got = _fold(Ref.participantLeaf(updateRoots[2], weights[2]), 1, r.inputPath);
        vm.expectRevert(
            abi.encodeWithSelector(
                CheckerBase.BadOpening.selector, "input", registry.round(roundId).inputRoot, got
            )
        );
        _post(1, abi.encode(r));
        // Values that are not the participant's leaf j.
        TrimSumChecker.TrimSumLeaf memory t = _trimSumLeaf(100 + 98);
        t.values[0] ^= 0x01;
        got = _fold(keccak256(abi.encodePacked(bytes1(0x00), t.values)), 1, t.valuesPath);
        vm.expectRevert(abi.encodeWithSelector(CheckerBase.BadOpening.selector, "update", t.updateRoot, got));
        _post(198, abi.encode(t));
        // An output leaf already written: the emit's pre-state opens, its output leaf does not.
        TrimEmitChecker.TrimEmitLeaf memory e = _trimEmitLeaf(99);
        e.outputRoot = _outputRoot(1, false); // leaf 0 written
        bytes32 pre = Ref.stateHash(
            configHash, 99, keccak256(abi.encodePacked(bytes1(0x03), e.register)), e.outputRoot
        );
        got = _fold(bytes32(0), 0, e.outputPath);
        vm.expectRevert(abi.encodeWithSelector(CheckerBase.BadOpening.selector, "output", e.outputRoot, got));
        arbiter.postState(roundId, 99, pre, abi.encode(e));
    }

    function _fold(bytes32 leaf, uint256 index, bytes32[] memory path) internal pure returns (bytes32 node) {
        node = leaf;
        for (uint256 l; l < path.length; ++l) {
            node = (index >> l) & 1 == 0 ? Ref.node(node, path[l]) : Ref.node(path[l], node);
        }
    }

    function test_orderCheckers_badLengths_revert() public {
        _medianRound();
        RankChecker.RankLeaf memory r = _rankLeaf(1);
        r.register = new bytes(799);
        vm.expectRevert(_badLength("register", 800, 799));
        _post(1, abi.encode(r));
        r = _rankLeaf(1);
        r.values = new bytes(129);
        vm.expectRevert(_badLength("values", 128, 129));
        _post(1, abi.encode(r));
        r = _rankLeaf(1);
        r.valuesPath = new bytes32[](2);
        vm.expectRevert(_badLength("valuesPath", 1, 2));
        _post(1, abi.encode(r));
        r = _rankLeaf(1);
        r.registerOut = new bytes(256);
        vm.expectRevert(_badLength("registerOut", 800, 256));
        _post(1, abi.encode(r));
        r = _rankLeaf(1);
        r.inputPath = new bytes32[](1);
        vm.expectRevert(_badLength("inputPath", 2, 1));
        _post(1, abi.encode(r));
        r = _rankLeaf(1);
        r.proof = new bytes(1_376);
        vm.expectRevert(_badLength("proof", MOCK_PROOF_BYTES, 1_376));
        _post(1, abi.encode(r));
        TrimEmitChecker.TrimEmitLeaf memory e = _trimEmitLeaf(99);
        e.register = new bytes(256);
        vm.expectRevert(_badLength("register", 800, 256));
        _post(99, abi.encode(e));
        e = _trimEmitLeaf(99);
        e.outputPath = new bytes32[](0);
        vm.expectRevert(_badLength("outputPath", 1, 0));
        _post(99, abi.encode(e));
        e = _trimEmitLeaf(99);
        e.values = new bytes(127);
        vm.expectRevert(_badLength("values", 128, 127));
        _post(99, abi.encode(e));
    }

    function test_orderCheckers_nonCanonicalLeaf_reverts() public {
        _medianRound();
        bytes[3] memory leaves =
            [abi.encode(_rankLeaf(2)), abi.encode(_trimSumLeaf(97)), abi.encode(_trimEmitLeaf(99))];
        uint256[3] memory steps_ = [uint256(2), 97, 99];
        for (uint256 t; t < 3; ++t) {
            bytes memory padded = abi.encodePacked(leaves[t], bytes32(0));
            vm.expectRevert(
                abi.encodeWithSelector(
                    CheckerBase.NonCanonicalLeaf.selector, leaves[t].length, leaves[t].length + 32
                )
            );
            _post(steps_[t], padded);
        }
        // A leaf of another kind does not decode (or is not canonical) as this kind's.
        vm.expectRevert();
        _post(99, leaves[0]);
    }

    /// Sets word `w` of an encoded register to `value` (its 5-byte limb value + 2^39).
    function _setWord(bytes memory reg, uint256 w, int64 value) internal pure {
        _setLimb(reg, w, OrderRef.limb(value));
    }

    /// Sets limb `w` of an encoded register to `limb` (< 2^40).
    function _setLimb(bytes memory reg, uint256 w, uint256 limb) internal pure {
        for (uint256 i; i < 5; ++i) {
            reg[5 * w + i] = bytes1(uint8(limb >> (32 - 8 * i)));
        }
    }

    /// The register's encoding is 160 five-byte limbs, nothing else: the honest register's
    /// words in the former be64 encoding (1,280 bytes) and a register a limb too long are
    /// refused before the verifier is called (in either register of a Rank leaf, in a
    /// TrimEmit's pre-register), with the pre-state recomputed to open.
    function test_orderCheckers_registerWrongLength_reverts() public {
        _medianRound();
        RankChecker.RankLeaf memory r = _rankLeaf(4);
        r.registerOut = _asBe64(r.registerOut);
        vm.expectRevert(_badLength("registerOut", 800, 1280));
        _post(4, abi.encode(r));
        r = _rankLeaf(4);
        r.register = _asBe64(r.register);
        bytes32 pre =
            Ref.stateHash(configHash, 4, keccak256(abi.encodePacked(bytes1(0x03), r.register)), r.outputRoot);
        vm.expectRevert(_badLength("register", 800, 1280));
        arbiter.postState(roundId, 4, pre, abi.encode(r));
        TrimEmitChecker.TrimEmitLeaf memory e = _trimEmitLeaf(99);
        e.register = abi.encodePacked(e.register, bytes5(0x8000000000));
        pre = Ref.stateHash(
            configHash, 99, keccak256(abi.encodePacked(bytes1(0x03), e.register)), e.outputRoot
        );
        vm.expectRevert(_badLength("register", 800, 805));
        arbiter.postState(roundId, 99, pre, abi.encode(e));
    }

    /// The words of an encoded register as 160 × be64.
    function _asBe64(bytes memory reg) internal pure returns (bytes memory out) {
        int64[160] memory words = OrderRef.decode(reg);
        for (uint256 w; w < 160; ++w) {
            out = abi.encodePacked(out, words[w]);
        }
    }

    /// Every 5-byte limb is a word, so registers at the ends of a limb's range pack and reach
    /// the verifier (which refuses the false claims): a post-register limb 0 (word -2^39) and
    /// 2^40 - 1 (word 2^39 - 1), and a TrimEmit's pre-register with such limbs (an agreed
    /// pre-state nobody honest reaches); the instances are exactly the limbs.
    function test_orderCheckers_registerLimbExtremes_packAndReachVerifier() public {
        _medianRound();
        RankChecker.RankLeaf memory r = _rankLeaf(4);
        _setLimb(r.registerOut, 4 * 32 + 3, (uint256(1) << 40) - 1); // sum of lane 3
        vm.expectRevert(abi.encodeWithSelector(StepChecker.ProofRejected.selector, address(rankVerifier)));
        _post(4, abi.encode(r));
        r = _rankLeaf(4);
        _setLimb(r.registerOut, 64 + 5, 0); // c1 of lane 5
        vm.expectRevert(abi.encodeWithSelector(StepChecker.ProofRejected.selector, address(rankVerifier)));
        _post(4, abi.encode(r));
        // The instances a recorder sees: the extremes' limbs, nothing range-checked away.
        TrimEmitChecker.TrimEmitLeaf memory e = _trimEmitLeaf(99);
        int64[160] memory words = OrderRef.decode(e.register);
        (words[0], words[30], words[159]) = (-(int64(1) << 39), (int64(1) << 39) - 1, -(int64(1) << 39));
        e.register = OrderRef.encode(words);
        assertEq(_slice5(e.register, 0), bytes5(0));
        assertEq(_slice5(e.register, 30), bytes5(0xffffffffff));
        bytes32 pre = Ref.stateHash(
            configHash, 99, keccak256(abi.encodePacked(bytes1(0x03), e.register)), e.outputRoot
        );
        uint256[] memory head = new uint256[](2);
        (head[0], head[1]) = (3, 1); // n, k
        uint256[] memory inst =
            Ref.concat(Ref.concat(head, OrderRef.pack(words)), Ref.packValues(outputOf[0]));
        assertEq(inst[2] >> 200, 0, "limb 0 leads instance 0");
        assertEq(inst[2 + 26] & 0xffffffffff, 0, "limb 0 ends instance 26");
        assertEq(inst[2 + 5] >> 200, (uint256(1) << 40) - 1, "limb 2^40 - 1 leads instance 5");
        OrderCalldataRecorder rec = new OrderCalldataRecorder(keccak256(abi.encodePacked(inst, e.proof)));
        LeafArbiter lax = _arbiterWith(address(registry), _five(address(rec)), GAS_CAP);
        lax.postState(roundId, 99, pre, abi.encode(e));
        // The statement-checking verifier refuses it (lo/hi must be below 2^33).
        vm.expectRevert(abi.encodeWithSelector(StepChecker.ProofRejected.selector, address(trimEmitVerifier)));
        arbiter.postState(roundId, 99, pre, abi.encode(e));
    }

    function _slice5(bytes memory b, uint256 w) internal pure returns (bytes5 out) {
        for (uint256 i; i < 5; ++i) {
            out |= bytes5(b[5 * w + i]) >> (8 * i);
        }
    }

    /// A false post-register or output (in range, so it packs) fails the step proof.
    function test_orderCheckers_falseClaims_rejectedByVerifier() public {
        _medianRound();
        RankChecker.RankLeaf memory r = _rankLeaf(2); // last participant of pass 0
        _setWord(r.registerOut, 0, 1); // lo of lane 0
        vm.expectRevert(abi.encodeWithSelector(StepChecker.ProofRejected.selector, address(rankVerifier)));
        _post(2, abi.encode(r));
        TrimSumChecker.TrimSumLeaf memory t = _trimSumLeaf(97);
        _setWord(t.registerOut, 4 * 32 + 31, 7); // sum of lane 31
        vm.expectRevert(abi.encodeWithSelector(StepChecker.ProofRejected.selector, address(trimSumVerifier)));
        _post(97, abi.encode(t));
        TrimEmitChecker.TrimEmitLeaf memory e = _trimEmitLeaf(99);
        e.values[127] ^= 0x01;
        vm.expectRevert(abi.encodeWithSelector(StepChecker.ProofRejected.selector, address(trimEmitVerifier)));
        _post(99, abi.encode(e));
    }

    /// The verifier calldata: the instances in the circuits' order, packed by the reference,
    /// then the proof.
    function test_orderCheckers_verifierCalldataLayout() public {
        _medianRound();
        uint256 s = 100 + 3 * 31 + 2; // row 1, pass 31 (bit 1), participant 2 (the last)
        RankChecker.RankLeaf memory r = _rankLeaf(s);
        int64[160] memory pre = _orderRegister(1, 95);
        int64[160] memory post = _orderRegister(1, 96);
        uint256[] memory head = new uint256[](4);
        (head[0], head[1], head[2], head[3]) = (1, 1, 1, 1); // 2^(31-31), last, k = 1, n-1-k = 1
        uint256[] memory inst = Ref.concat(
            Ref.concat(Ref.concat(head, Ref.packValues(leafOf[2][1])), OrderRef.pack(pre)),
            OrderRef.pack(post)
        );
        assertEq(inst.length, 63);
        _expectCalldata(s, abi.encode(r), keccak256(abi.encodePacked(inst, r.proof)));

        s = 100 + 96; // row 1, sum pass, participant 0
        TrimSumChecker.TrimSumLeaf memory t = _trimSumLeaf(s);
        inst = Ref.concat(
            Ref.concat(Ref.packValues(leafOf[0][1]), OrderRef.pack(_orderRegister(1, 96))),
            OrderRef.pack(_orderRegister(1, 97))
        );
        assertEq(inst.length, 59);
        _expectCalldata(s, abi.encode(t), keccak256(abi.encodePacked(inst, t.proof)));

        s = 99;
        TrimEmitChecker.TrimEmitLeaf memory e = _trimEmitLeaf(s);
        head = new uint256[](2);
        (head[0], head[1]) = (3, 1); // n, k
        inst = Ref.concat(Ref.concat(head, OrderRef.pack(_orderRegister(0, 99))), Ref.packValues(outputOf[0]));
        assertEq(inst.length, 34);
        _expectCalldata(s, abi.encode(e), keccak256(abi.encodePacked(inst, e.proof)));

        // Rank at pass 0, first participant: bit 2^31, not last.
        s = 0;
        r = _rankLeaf(s);
        head = new uint256[](4);
        (head[0], head[1], head[2], head[3]) = (1 << 31, 0, 1, 1);
        int64[160] memory zero;
        inst = Ref.concat(
            Ref.concat(Ref.concat(head, Ref.packValues(leafOf[0][0])), OrderRef.pack(zero)),
            OrderRef.pack(_orderRegister(0, 1))
        );
        _expectCalldata(s, abi.encode(r), keccak256(abi.encodePacked(inst, r.proof)));
    }

    function _expectCalldata(uint256 s, bytes memory leaf, bytes32 expected) internal {
        OrderCalldataRecorder rec = new OrderCalldataRecorder(expected);
        LeafArbiter lax = _arbiterWith(address(registry), _five(address(rec)), GAS_CAP);
        assertEq(
            lax.postState(roundId, uint64(s), _orderStateHash(s, false), leaf), _orderStateHash(s + 1, false)
        );
    }

    /// encodeLeaf is abi.encode, and the leaf tuples are FedAvg's: the Rust side encodes a
    /// Rank or TrimSum leaf as an AccumulateLeaf and a TrimEmit leaf as a FinalizeLeaf.
    function test_orderLeaves_abiIsFedAvgTuples() public {
        _medianRound();
        RankChecker.RankLeaf memory r = _rankLeaf(1);
        assertEq(rankChecker.encodeLeaf(r), abi.encode(r));
        AccumulateChecker.AccumulateLeaf memory a = AccumulateChecker.AccumulateLeaf({
            acc: r.register,
            outputRoot: r.outputRoot,
            updateRoot: r.updateRoot,
            weight: r.weight,
            inputPath: r.inputPath,
            values: r.values,
            valuesPath: r.valuesPath,
            accOut: r.registerOut,
            proof: r.proof
        });
        assertEq(abi.encode(a), abi.encode(r));
        TrimSumChecker.TrimSumLeaf memory t = _trimSumLeaf(97);
        assertEq(trimSumChecker.encodeLeaf(t), abi.encode(t));
        TrimEmitChecker.TrimEmitLeaf memory e = _trimEmitLeaf(99);
        assertEq(trimEmitChecker.encodeLeaf(e), abi.encode(e));
        FinalizeChecker.FinalizeLeaf memory f = FinalizeChecker.FinalizeLeaf({
            acc: e.register,
            outputRoot: e.outputRoot,
            values: e.values,
            outputPath: e.outputPath,
            proof: e.proof
        });
        assertEq(abi.encode(f), abi.encode(e));
    }

    /// The largest order-statistic leaves (n = 255, dim = 2^28, 1,376-byte proofs) fit the
    /// game's MAX_LEAF_BYTES.
    function test_maxLeafBytes_coversLargestOrderLeaves() public view {
        RankChecker.RankLeaf memory r;
        r.register = new bytes(800);
        r.inputPath = new bytes32[](Ref.depth(255));
        r.values = new bytes(128);
        r.valuesPath = new bytes32[](Ref.depth(1 << 23));
        r.registerOut = new bytes(800);
        r.proof = new bytes(1_376);
        assertEq(abi.encode(r).length, 4_608);
        TrimEmitChecker.TrimEmitLeaf memory e;
        e.register = new bytes(800);
        e.values = new bytes(128);
        e.outputPath = new bytes32[](23);
        e.proof = new bytes(1_376);
        assertEq(abi.encode(e).length, 3_360);
        assertLe(4_608, game.MAX_LEAF_BYTES());
    }

    function test_orderCheckers_identity() public view {
        assertEq(rankChecker.INSTANCES(), 63);
        assertEq(trimSumChecker.INSTANCES(), 59);
        assertEq(trimEmitChecker.INSTANCES(), 34);
        assertEq(rankChecker.name(), "Rank");
        assertEq(trimSumChecker.name(), "TrimSum");
        assertEq(trimEmitChecker.name(), "TrimEmit");
        assertEq(rankChecker.verifier(), address(rankVerifier));
        assertEq(trimSumChecker.verifier(), address(trimSumVerifier));
        assertEq(trimEmitChecker.verifier(), address(trimEmitVerifier));
        assertEq(rankChecker.PROOF_BYTES(), MOCK_PROOF_BYTES);
        assertEq(rankChecker.verifierGasCap(), GAS_CAP);
    }

    function test_orderCheckers_constructor_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(StepChecker.NoVerifierCode.selector, address(0xdead)));
        new RankChecker(address(0xdead), GAS_CAP, 1_376);
        vm.expectRevert(StepChecker.ZeroGasCap.selector);
        new TrimSumChecker(address(rankVerifier), 0, 1_376);
        vm.expectRevert(StepChecker.ZeroProofBytes.selector);
        new TrimEmitChecker(address(rankVerifier), GAS_CAP, 0);
    }

    // ------------------------------------------------------------ disputes

    /// Plays game `gameId` with the aggregator claiming `claimed` states and the challenger
    /// agreeing iff the claim is the honest state (honest) or iff mid <= `target` (steering).
    function _play(uint256 gameId, bool claimed, bool honest, uint256 target) internal {
        while (game.game(gameId).status == BisectionGame.GameStatus.AwaitingMid) {
            BisectionGame.GameView memory g = game.game(gameId);
            uint64 mid = g.lo + (g.hi - g.lo) / 2;
            bytes32 hMid = _orderStateHash(mid, claimed);
            vm.prank(aggregator);
            game.bisect(gameId, g.lo, g.hi, g.hHi, hMid);
            bool agree = honest ? hMid == _orderStateHash(mid, false) : mid <= target;
            vm.prank(g.challenger);
            game.respond(gameId, mid, hMid, agree);
        }
    }

    /// A wrong output in chunk 1: the honest challenger pins chunk 1's TrimEmit step and wins;
    /// the aggregator cannot prove its output there.
    function test_dispute_wrongMedian_challengerWinsAtTrimEmit() public {
        _buildOrderRound(1, NONE, 3, 40, 6);
        claimedOutputOf[1][5] = outputOf[1][5] + 1;
        _postClaimed();
        uint256 gameId = _challenge(roundId, challenger);
        _play(gameId, true, true, 0);
        BisectionGame.GameView memory g = game.game(gameId);
        assertEq(g.lo, 199, "the TrimEmit step of chunk 1");
        assertEq(g.hLo, _orderStateHash(199, false));
        TrimEmitChecker.TrimEmitLeaf memory e = _trimEmitLeaf(199);
        e.values = Ref.encodeValues(claimedOutputOf[1]);
        vm.expectRevert(abi.encodeWithSelector(StepChecker.ProofRejected.selector, address(trimEmitVerifier)));
        game.proveLeaf(gameId, abi.encode(e));
        vm.prank(challenger);
        game.proveLeaf(gameId, abi.encode(_trimEmitLeaf(199)));
        assertTrue(game.game(gameId).status == BisectionGame.GameStatus.ChallengerWon);
        assertTrue(_status(roundId) == RoundRegistry.RoundStatus.Rejected);
        _assertConserved();
    }

    /// A challenger disputing a correct trimmed mean loses at whichever kind of leaf it
    /// steers to: a Rank step that decides a pass, a TrimSum step, a TrimEmit step.
    function test_dispute_honestTrimmedMean_aggregatorWinsEveryKind() public {
        _buildOrderRound(2, _beta(2500), 4, 40, 7); // k = 1, 133 columns a row, T = 266
        _postHonest();
        uint256[3] memory targets = [uint256(133 + 4 * 9 + 3), 133 + 128 + 2, 265];
        for (uint256 t; t < 3; ++t) {
            uint256 gameId = _challenge(roundId, [challenger, challenger2, outsider][t]);
            _play(gameId, false, false, targets[t]);
            BisectionGame.GameView memory g = game.game(gameId);
            assertEq(g.lo, targets[t]);
            vm.prank(aggregator);
            game.proveLeaf(gameId, _orderLeafInput(g.lo));
            assertTrue(game.game(gameId).status == BisectionGame.GameStatus.AggregatorWon);
        }
        assertTrue(_status(roundId) == RoundRegistry.RoundStatus.Posted);
        _assertConserved();
    }
}

/// A verifier that accepts exactly one calldata (instances ‖ proof).
contract OrderCalldataRecorder {
    bytes32 internal immutable expected;

    constructor(bytes32 expected_) {
        expected = expected_;
    }

    fallback(bytes calldata input) external returns (bytes memory) {
        require(keccak256(input) == expected, "unexpected verifier calldata");
        return "";
    }
}
