// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {FedAvgFixture} from "./base/FedAvgFixture.sol";
import {Ref} from "./base/Reference.sol";
import {RoundRegistry} from "../src/RoundRegistry.sol";
import {BisectionGame} from "../src/BisectionGame.sol";
import {LeafArbiter} from "../src/LeafArbiter.sol";
import {IRoundRegistry} from "../src/interfaces/IRoundRegistry.sol";
import {IRuleProgram} from "../src/interfaces/IRuleProgram.sol";
import {FedAvgProgram} from "../src/programs/FedAvgProgram.sol";
import {StepChecker} from "../src/checkers/StepChecker.sol";
import {AccumulateChecker} from "../src/checkers/AccumulateChecker.sol";
import {FinalizeChecker} from "../src/checkers/FinalizeChecker.sol";
import {Commitments} from "../src/lib/Commitments.sol";
import {MockRuleProgram} from "./mocks/MockRuleProgram.sol";

/// Rules and step kinds as plug-ins: the FedAvg program's schedule and endpoints, the arbiter's
/// tables, the checkers' deployment checks, and a second rule (with parameters) opened, posted
/// and settled through the same registry, game and arbiter.
contract RulePluginsTest is FedAvgFixture {
    bytes internal constant NONE = "";

    // ------------------------------------------------------------ FedAvgProgram

    function test_fedAvg_steps_isChunksTimesNPlusOne() public view {
        assertEq(fedAvg.steps(NONE, 3, 100), 4 * 4);
        assertEq(fedAvg.steps(NONE, 1, 1), 2);
        assertEq(fedAvg.steps(NONE, 1, 32), 2);
        assertEq(fedAvg.steps(NONE, 1, 33), 4);
        assertEq(fedAvg.steps(NONE, 255, 1 << 28), uint64(1 << 23) * 256);
        assertEq(fedAvg.name(), "FedAvg");
        assertEq(fedAvg.RULE(), 0);
    }

    function testFuzz_fedAvg_steps_matchesFormula(uint256 n_, uint256 dim_) public view {
        n_ = bound(n_, 1, 255);
        dim_ = bound(dim_, 1, 1 << 28);
        assertEq(fedAvg.steps(NONE, n_, dim_), ((dim_ + 31) / 32) * (n_ + 1));
    }

    /// Row and column at the boundaries of each chunk: Accumulate for columns below n,
    /// Finalize at column n.
    function test_fedAvg_stepAt_rowColumnBoundaries() public view {
        // n = 3, dim = 100: C = 4, T = 16.
        _expectStep(0, 0, 0, 0);
        _expectStep(2, 0, 0, 2);
        _expectStep(3, 1, 0, 3);
        _expectStep(4, 0, 1, 0);
        _expectStep(7, 1, 1, 3);
        _expectStep(8, 0, 2, 0);
        _expectStep(14, 0, 3, 2);
        _expectStep(15, 1, 3, 3);
        // n = 1: every other step finalises.
        (uint8 kind, uint256 row, uint256 col, bytes memory kindParams) = fedAvg.stepAt(NONE, 1, 64, 3);
        assertEq(kind, 1);
        assertEq(kindParams, NONE);
        assertEq(row, 1);
        assertEq(col, 1);
        // The last step of the largest round.
        uint64 last = uint64(1 << 23) * 256 - 1;
        (kind, row, col, kindParams) = fedAvg.stepAt(NONE, 255, 1 << 28, last);
        assertEq(kind, 1);
        assertEq(row, (1 << 23) - 1);
        assertEq(col, 255);
    }

    function _expectStep(uint64 step, uint8 kind, uint256 row, uint256 col) internal view {
        (uint8 k, uint256 r, uint256 c, bytes memory kindParams) = fedAvg.stepAt(NONE, 3, 100, step);
        assertEq(k, kind, "kind");
        assertEq(kindParams, NONE, "kindParams");
        assertEq(r, row, "row");
        assertEq(c, col, "col");
    }

    function test_fedAvg_stepAt_outOfRange_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IRuleProgram.StepOutOfRange.selector, 16, 16));
        fedAvg.stepAt(NONE, 3, 100, 16);
        vm.expectRevert(abi.encodeWithSelector(IRuleProgram.StepOutOfRange.selector, type(uint64).max, 2));
        fedAvg.stepAt(NONE, 1, 1, type(uint64).max);
    }

    function test_fedAvg_steps_tooLong_reverts() public {
        uint256 dim_ = uint256(1) << 70; // 2^65 chunks
        vm.expectRevert(abi.encodeWithSelector(IRuleProgram.ProgramTooLong.selector, uint256(1) << 66));
        fedAvg.steps(NONE, 1, dim_);
    }

    /// h0 and hT are the formulas the registry computed inline before rules became programs:
    /// stateHash(config, 0, ZERO_ACC_HASH, emptyRoot(depth(C))) and
    /// stateHash(config, T, ZERO_ACC_HASH, outputRoot).
    function testFuzz_fedAvg_endpoints_matchInlineFormulas(
        bytes32 config,
        uint256 n_,
        uint256 dim_,
        bytes32 out
    ) public view {
        n_ = bound(n_, 1, 255);
        dim_ = bound(dim_, 1, 1 << 28);
        uint256 chunks = (dim_ + 31) / 32;
        bytes32 zeroAcc = Ref.accHash(_zeroRegister());
        assertEq(zeroAcc, Commitments.ZERO_ACC_HASH);
        assertEq(
            fedAvg.initialState(config, NONE, n_, dim_),
            Ref.stateHash(config, 0, zeroAcc, Ref.emptyRoot(Ref.depth(chunks))),
            "h0"
        );
        assertEq(
            fedAvg.finalState(config, NONE, n_, dim_, out),
            Ref.stateHash(config, chunks * (n_ + 1), zeroAcc, out),
            "hT"
        );
    }

    function _zeroRegister() internal pure returns (int64[32] memory a) {}

    function test_fedAvg_validate_refusesParams() public {
        fedAvg.validate(NONE, 255, 1 << 28);
        vm.expectRevert(
            abi.encodeWithSelector(IRuleProgram.InvalidRuleParams.selector, 0, "FedAvg takes no parameters")
        );
        fedAvg.validate(hex"00", 1, 1);
    }

    // ------------------------------------------------------------ the arbiter's tables

    function test_arbiter_tables() public view {
        assertEq(address(arbiter.registry()), address(registry));
        assertEq(arbiter.programCount(), 6);
        assertEq(arbiter.checkerCount(), 8);
        assertEq(address(arbiter.program(0)), address(fedAvg));
        assertEq(address(arbiter.program(1)), address(median));
        assertEq(address(arbiter.program(2)), address(trimmedMean));
        assertEq(address(arbiter.program(3)), address(clippedFedAvg));
        assertEq(address(arbiter.program(4)), address(clippedMedian));
        assertEq(address(arbiter.program(5)), address(clippedTrimmedMean));
        assertEq(address(arbiter.checker(0)), address(accChecker));
        assertEq(address(arbiter.checker(1)), address(finChecker));
        assertEq(address(arbiter.checker(2)), address(rankChecker));
        assertEq(address(arbiter.checker(3)), address(trimSumChecker));
        assertEq(address(arbiter.checker(4)), address(trimEmitChecker));
        assertEq(address(arbiter.checker(5)), address(normChecker));
        assertEq(address(arbiter.checker(6)), address(scaleChecker));
        assertEq(address(arbiter.checker(7)), address(clipChecker));
        assertEq(accChecker.verifier(), address(accVerifier));
        assertEq(finChecker.verifier(), address(finVerifier));
        assertEq(accChecker.verifierGasCap(), GAS_CAP);
        assertEq(finChecker.verifierGasCap(), GAS_CAP);
        assertEq(accChecker.PROOF_BYTES(), MOCK_PROOF_BYTES);
        assertEq(finChecker.PROOF_BYTES(), MOCK_PROOF_BYTES);
        assertEq(accChecker.INSTANCES(), 28);
        assertEq(finChecker.INSTANCES(), 17);
        assertEq(accChecker.name(), "Accumulate");
        assertEq(finChecker.name(), "Finalize");
    }

    function test_arbiter_unknownRuleOrKind_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(LeafArbiter.UnknownRule.selector, 6));
        arbiter.program(6);
        vm.expectRevert(abi.encodeWithSelector(LeafArbiter.UnknownStepKind.selector, 8));
        arbiter.checker(8);
        vm.expectRevert(abi.encodeWithSelector(LeafArbiter.UnknownStepKind.selector, 255));
        arbiter.checker(255);
    }

    /// The deployment's hash: keccak of the eight kinds' verifier codehashes concatenated in
    /// kind order (Accumulate, Finalize, Rank, TrimSum, TrimEmit, Norm, Scale), bytes32(0) for
    /// Clip, which has no verifier.
    function test_arbiter_stepVerifiersHash_isKindCodehashes() public view {
        assertEq(clipChecker.verifier(), address(0));
        bytes32 expected = keccak256(
            abi.encodePacked(
                address(accVerifier).codehash,
                address(finVerifier).codehash,
                address(rankVerifier).codehash,
                address(trimSumVerifier).codehash,
                address(trimEmitVerifier).codehash,
                address(normVerifier).codehash,
                address(scaleVerifier).codehash,
                bytes32(0)
            )
        );
        assertEq(arbiter.stepVerifiersHash(), expected);
        assertEq(registry.verifiersHash(), expected);
    }

    /// For FedAvg's two kinds alone the packed codehashes are exactly the former
    /// keccak(abi.encode(accumulate codehash, finalize codehash)).
    function test_arbiter_stepVerifiersHash_fedAvgOnly_isCodehashPair() public {
        LeafArbiter a = new LeafArbiter(
            address(registry), _list(address(fedAvg)), _list(address(accChecker), address(finChecker))
        );
        bytes32 expected = keccak256(abi.encode(address(accVerifier).codehash, address(finVerifier).codehash));
        assertEq(a.stepVerifiersHash(), expected);
    }

    /// One checker per kind, any number: the hash packs each verifier's codehash in kind order.
    function test_arbiter_stepVerifiersHash_threeKinds() public {
        address[] memory checkers = new address[](3);
        (checkers[0], checkers[1], checkers[2]) =
        (address(finChecker), address(accChecker), address(finChecker));
        LeafArbiter a = new LeafArbiter(address(registry), _list(address(fedAvg)), checkers);
        bytes32 acc = address(accVerifier).codehash;
        bytes32 fin = address(finVerifier).codehash;
        assertEq(a.stepVerifiersHash(), keccak256(abi.encodePacked(fin, acc, fin)));
    }

    function test_arbiter_constructor_reverts() public {
        address[] memory programs = _list(address(fedAvg));
        address[] memory checkers = _list(address(accChecker), address(finChecker));
        vm.expectRevert(LeafArbiter.ZeroAddress.selector);
        new LeafArbiter(address(0), programs, checkers);
        vm.expectRevert(abi.encodeWithSelector(LeafArbiter.BadTableSize.selector, "programs", 0));
        new LeafArbiter(address(registry), new address[](0), checkers);
        vm.expectRevert(abi.encodeWithSelector(LeafArbiter.BadTableSize.selector, "checkers", 0));
        new LeafArbiter(address(registry), programs, new address[](0));
        vm.expectRevert(abi.encodeWithSelector(LeafArbiter.BadTableSize.selector, "programs", 257));
        new LeafArbiter(address(registry), new address[](257), checkers);
        vm.expectRevert(abi.encodeWithSelector(LeafArbiter.NoCode.selector, address(0xdead)));
        new LeafArbiter(address(registry), _list(address(0xdead)), checkers);
        vm.expectRevert(abi.encodeWithSelector(LeafArbiter.NoCode.selector, address(0xbeef)));
        new LeafArbiter(address(registry), programs, _list(address(accChecker), address(0xbeef)));
    }

    function test_checker_constructor_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(StepChecker.NoVerifierCode.selector, address(0xdead)));
        new AccumulateChecker(address(0xdead), GAS_CAP, 1_376);
        vm.expectRevert(abi.encodeWithSelector(StepChecker.NoVerifierCode.selector, address(0xbeef)));
        new FinalizeChecker(address(0xbeef), GAS_CAP, 1_376);
        vm.expectRevert(StepChecker.ZeroGasCap.selector);
        new AccumulateChecker(address(accVerifier), 0, 1_376);
        vm.expectRevert(StepChecker.ZeroGasCap.selector);
        new FinalizeChecker(address(finVerifier), 0, 1_376);
        vm.expectRevert(StepChecker.ZeroProofBytes.selector);
        new AccumulateChecker(address(accVerifier), GAS_CAP, 0);
        vm.expectRevert(StepChecker.ZeroProofBytes.selector);
        new FinalizeChecker(address(finVerifier), GAS_CAP, 0);
    }

    /// `encodeLeaf` (which puts the leaf structs in the checkers' ABI) is `abi.encode(leaf)`.
    function test_checker_encodeLeaf_isAbiEncode() public {
        _buildRound(3, 100, 5);
        _postHonest();
        AccumulateChecker.AccumulateLeaf memory a = _accLeaf(1);
        assertEq(accChecker.encodeLeaf(a), abi.encode(a));
        FinalizeChecker.FinalizeLeaf memory f = _finLeaf(3);
        assertEq(finChecker.encodeLeaf(f), abi.encode(f));
    }

    /// MAX_LEAF_BYTES's derivation: the largest canonical FedAvg leaves (dim = 2^28, so paths
    /// of 23 into a tree of 2^23 chunks; n = 255, so input paths of 8; 1,376-byte proofs).
    function test_maxLeafBytes_coversLargestFedAvgLeaves() public view {
        AccumulateChecker.AccumulateLeaf memory a;
        a.acc = new bytes(256);
        a.inputPath = new bytes32[](Ref.depth(255));
        a.values = new bytes(128);
        a.valuesPath = new bytes32[](Ref.depth(1 << 23));
        a.accOut = new bytes(256);
        a.proof = new bytes(1_376);
        assertEq(a.inputPath.length, 8);
        assertEq(a.valuesPath.length, 23);
        assertEq(abi.encode(a).length, 3_520);
        FinalizeChecker.FinalizeLeaf memory f;
        f.acc = new bytes(256);
        f.values = new bytes(128);
        f.outputPath = new bytes32[](23);
        f.proof = new bytes(1_376);
        assertEq(abi.encode(f).length, 2_816);
        assertLe(3_520, game.MAX_LEAF_BYTES());
    }

    // ------------------------------------------------------------ a second rule

    MockRuleProgram internal mockRule;

    /// A system whose arbiter has two rules: FedAvg (0) and the mock rule (1).
    function _twoRules() internal {
        mockRule = new MockRuleProgram(1);
        address[] memory programs = _list(address(fedAvg), address(mockRule));
        registry = new RoundRegistry(_params());
        arbiter =
            new LeafArbiter(address(registry), programs, _list(address(accChecker), address(finChecker)));
        game = new BisectionGame(address(registry), address(arbiter), CLOCK, EXTENSION);
        registry.setGame(address(game));
    }

    function test_openRound_unknownRule_reverts() public {
        _twoRules();
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.UnknownRule.selector, 2));
        registry.openRound(_clients(2), 10, aggregator, COMMIT_PERIOD, 2, "");
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.UnknownRule.selector, 255));
        registry.openRound(_clients(2), 10, aggregator, COMMIT_PERIOD, 255, "");
    }

    /// The rule's program refuses bad parameters, naming the parameter and the bound; the
    /// registry caps their length; `n` is the client count at `openRound`.
    function test_openRound_ruleParamsRefused_withReason() public {
        _twoRules();
        _expectInvalid(1, "params: abi.encode(uint256 lastKind), 32 bytes");
        registry.openRound(_clients(2), 10, aggregator, COMMIT_PERIOD, 1, "");
        _expectInvalid(1, "lastKind: at most 255");
        registry.openRound(_clients(2), 10, aggregator, COMMIT_PERIOD, 1, abi.encode(uint256(256)));
        _expectInvalid(1, "n: at least 2 clients");
        registry.openRound(_clients(1), 10, aggregator, COMMIT_PERIOD, 1, abi.encode(uint256(1)));
        _expectInvalid(1, "params longer than 256 bytes");
        registry.openRound(_clients(2), 10, aggregator, COMMIT_PERIOD, 1, new bytes(257));
        _expectInvalid(0, "FedAvg takes no parameters");
        registry.openRound(_clients(2), 10, aggregator, COMMIT_PERIOD, 0, abi.encode(uint256(1)));
    }

    function _expectInvalid(uint8 rule, string memory reason) internal {
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.InvalidRuleParams.selector, rule, reason));
    }

    /// A round of the second rule: its parameters are stored and reach the program through the
    /// registry's views and the arbiter; the config hash binds the rule and the params' hash.
    function test_secondRule_paramsStoredAndUsed() public {
        _twoRules();
        bytes memory params = abi.encode(uint256(1));
        uint256 id = registry.openRound(_clients(2), 100, aggregator, COMMIT_PERIOD, 1, params);
        assertEq(registry.ruleParams(id), params);
        assertEq(registry.round(id).rule, 1);
        assertEq(registry.round(id).ruleParamsHash, keccak256(params));
        _commit(id, 0, 1);
        _commit(id, 1, 2);
        _post(id, keccak256("out"));
        IRoundRegistry.ProgramContext memory c = registry.stepContext(id);
        assertEq(c.rule, 1);
        assertEq(c.ruleParams, params);
        assertEq(registry.steps(id), mockRule.steps(params, 2, 100));
        assertEq(registry.initialState(id), mockRule.initialState(c.configHash, params, 2, 100));
        assertEq(registry.finalState(id), mockRule.finalState(c.configHash, params, 2, 100, keccak256("out")));
        Commitments.ConfigInput memory ci = Commitments.ConfigInput({
            chainId: block.chainid,
            registry: address(registry),
            roundId: id,
            rule: 1,
            ruleParamsHash: keccak256(params),
            verifiersHash: registry.verifiersHash(),
            inputRoot: c.inputRoot,
            participants: 2,
            dim: 100,
            totalWeight: 3
        });
        assertEq(Commitments.configHash(ci), c.configHash);
    }

    /// A program naming a step kind past the checker table: the arbiter refuses the step.
    function test_postState_unknownStepKind_reverts() public {
        _twoRules();
        uint256 id =
            registry.openRound(_clients(2), 100, aggregator, COMMIT_PERIOD, 1, abi.encode(uint256(7)));
        _commit(id, 0, 1);
        _commit(id, 1, 2);
        _post(id, keccak256("out"));
        uint64 last = registry.steps(id) - 1;
        vm.expectRevert(abi.encodeWithSelector(LeafArbiter.UnknownStepKind.selector, 7));
        arbiter.postState(id, last, bytes32(0), "");
        // Earlier steps reach FedAvg's checkers (here: an empty leaf does not decode).
        vm.expectRevert();
        arbiter.postState(id, 0, bytes32(0), "");
    }

    /// The same FedAvg leaves settle steps of the second rule when it names FedAvg's kinds: the
    /// checkers are shared, the program only schedules.
    function test_secondRule_sharesCheckers_everyStep() public {
        _twoRules();
        // Rebuild the fixture's round under rule 1 with lastKind = 1 (Finalize, as FedAvg).
        n = 2;
        dim = 40;
        chunks = 2;
        roundId = registry.openRound(_clients(2), 40, aggregator, COMMIT_PERIOD, 1, abi.encode(uint256(1)));
        for (uint256 c; c < 2; ++c) {
            uint32 w = uint32(c + 3);
            weights.push(w);
            totalWeight += w;
            bytes32[] memory hashes = new bytes32[](2);
            for (uint256 j; j < 2; ++j) {
                int32[32] memory v;
                for (uint256 l; l < 32; ++l) {
                    if (32 * j + l < 40) v[l] = _value(77, c, 32 * j + l);
                }
                leafOf[c][j] = v;
                hashes[j] = Ref.valueLeafHash(v);
            }
            bytes32 root = Ref.root(hashes);
            updateRoots.push(root);
            participantLeaves.push(Ref.participantLeaf(root, w));
            _commitRoot(roundId, c, root, w);
        }
        for (uint256 j; j < 2; ++j) {
            int64[32] memory acc = _register(j, 2);
            for (uint256 l; l < 32; ++l) {
                outputOf[j][l] = int32(Ref.finalizeLane(acc[l], totalWeight));
            }
        }
        _postHonest();
        assertEq(registry.steps(roundId), 6);
        assertEq(registry.initialState(roundId), _stateHash(0, false));
        assertEq(registry.finalState(roundId), _stateHash(6, false));
        for (uint256 k; k < 6; ++k) {
            assertEq(
                arbiter.postState(roundId, uint64(k), _stateHash(k, false), _leafInput(k)),
                _stateHash(k + 1, false)
            );
        }
    }
}
