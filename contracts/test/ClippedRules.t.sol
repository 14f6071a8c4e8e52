// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {ClippedFixture} from "./base/ClippedFixture.sol";
import {Words} from "./base/Words.sol";
import {MockStepVerifierProof} from "./base/FedAvgFixture.sol";
import {Ref} from "./base/Reference.sol";
import {OrderRef} from "./base/OrderReference.sol";
import {ClipRef} from "./base/ClipReference.sol";
import {RoundRegistry} from "../src/RoundRegistry.sol";
import {BisectionGame} from "../src/BisectionGame.sol";
import {LeafArbiter} from "../src/LeafArbiter.sol";
import {IRoundRegistry} from "../src/interfaces/IRoundRegistry.sol";
import {IRuleProgram} from "../src/interfaces/IRuleProgram.sol";
import {IStepChecker} from "../src/interfaces/IStepChecker.sol";
import {StepChecker} from "../src/checkers/StepChecker.sol";
import {CheckerBase} from "../src/checkers/CheckerBase.sol";
import {OrderStepChecker} from "../src/checkers/OrderStepChecker.sol";
import {NormStepChecker} from "../src/checkers/NormStepChecker.sol";
import {AccumulateChecker} from "../src/checkers/AccumulateChecker.sol";
import {FinalizeChecker} from "../src/checkers/FinalizeChecker.sol";
import {RankChecker} from "../src/checkers/RankChecker.sol";
import {TrimSumChecker} from "../src/checkers/TrimSumChecker.sol";
import {TrimEmitChecker} from "../src/checkers/TrimEmitChecker.sol";
import {NormChecker} from "../src/checkers/NormChecker.sol";
import {ScaleChecker} from "../src/checkers/ScaleChecker.sol";
import {ClipChecker} from "../src/checkers/ClipChecker.sol";
import {ClippedProgram} from "../src/programs/ClippedProgram.sol";
import {FedAvgProgram} from "../src/programs/FedAvgProgram.sol";
import {Commitments} from "../src/lib/Commitments.sol";
import {AcceptingVerifier} from "./mocks/MockStepVerifier.sol";

/// Exposes the clipping helpers of `Commitments` (internal library functions) to external calls,
/// so that their reverts can be expected.
contract ClipHarness {
    function clipValue(int32 x, uint256 scale) external pure returns (int32) {
        return Commitments.clipValue(x, scale);
    }

    /// Clips a copy of `values` followed in memory by 64 bytes of 0xff, and returns the copy and
    /// the 64 bytes after it (which must be left untouched).
    function clipValuesMem(bytes memory values, uint256 scale)
        external
        pure
        returns (bytes memory clipped, bytes32 after0, bytes32 after1)
    {
        clipped = new bytes(values.length);
        bytes memory tail = new bytes(64);
        for (uint256 k; k < 64; ++k) {
            tail[k] = 0xff;
        }
        for (uint256 k; k < values.length; ++k) {
            clipped[k] = values[k];
        }
        Commitments.clipValuesMem(clipped, scale);
        assembly {
            after0 := mload(add(tail, 32))
            after1 := mload(add(tail, 64))
        }
    }

    function requireScale(uint256 scale) external pure {
        Commitments.requireScale(scale);
    }

    function scaleLeafHash(uint64 scale) external pure returns (bytes32) {
        return Commitments.scaleLeafHash(scale);
    }

    function clippedStateHash(bytes32 base, bytes32 scalesRoot) external pure returns (bytes32) {
        return Commitments.clippedStateHash(base, scalesRoot);
    }
}

/// The clipped rules on chain (docs/design/clipping.md): the three `ClippedProgram`s (rules 3,
/// 4, 5 over FedAvg, Median, TrimmedMean: identity, schedule, participants, endpoints,
/// parameters), the clipping helpers of `Commitments`, the base programs' `stepView`, the
/// Norm, Scale and Clip checkers (every refusal, the Clip around each base kind with and
/// without a participant read, first and last steps, the clipped instances), the base kinds'
/// scale parameters, every step of a clipped round of each rule chaining h0 to hT through the
/// arbiter and the statement-checking mocks, and disputes through the real game.
contract ClippedRulesTest is ClippedFixture {
    bytes internal constant NONE = "";
    /// 4.0 in Q15.16: the small and zero updates stay, the large ones are clipped.
    uint32 internal constant TAU = 1 << 18;

    ClipHarness internal harness;

    function setUp() public override {
        super.setUp();
        harness = new ClipHarness();
    }

    function _beta(uint16 bps) internal pure returns (bytes memory) {
        return abi.encode(bps);
    }

    /// The clipped params: abi.encode(uint32 τ) ‖ baseParams.
    function _params(uint256 tau, bytes memory base) internal pure returns (bytes memory) {
        return abi.encodePacked(abi.encode(tau), base);
    }

    function _invalid(uint8 rule_, string memory reason) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IRuleProgram.InvalidRuleParams.selector, rule_, reason);
    }

    function _badLength(string memory field, uint256 expected, uint256 actual)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encodeWithSelector(CheckerBase.BadLength.selector, field, expected, actual);
    }

    /// The three clipped programs with parameters valid for them.
    function _clipped(uint256 t) internal view returns (ClippedProgram p, bytes memory params) {
        if (t == 0) return (clippedFedAvg, _params(TAU, NONE));
        if (t == 1) return (clippedMedian, _params(TAU, NONE));
        return (clippedTrimmedMean, _params(TAU, _beta(2500)));
    }

    /// T_b of base rule t for n participants and C chunks.
    function _tb(uint256 t, uint256 n_, uint256 c) internal pure returns (uint256) {
        return t == 0 ? c * (n_ + 1) : c * (33 * n_ + 1);
    }

    // ------------------------------------------------------------ programs: identity, schedule

    function test_clippedPrograms_identity() public view {
        assertEq(clippedFedAvg.RULE(), 3);
        assertEq(clippedMedian.RULE(), 4);
        assertEq(clippedTrimmedMean.RULE(), 5);
        assertEq(clippedFedAvg.name(), "ClippedFedAvg");
        assertEq(clippedMedian.name(), "ClippedMedian");
        assertEq(clippedTrimmedMean.name(), "ClippedTrimmedMean");
        assertEq(address(clippedFedAvg.base()), address(fedAvg));
        assertEq(address(clippedMedian.base()), address(median));
        assertEq(address(clippedTrimmedMean.base()), address(trimmedMean));
        assertEq(clippedFedAvg.KIND_NORM(), 5);
        assertEq(clippedFedAvg.KIND_SCALE(), 6);
        assertEq(clippedFedAvg.KIND_CLIP(), 7);
        assertEq(clippedFedAvg.RULE_OFFSET(), 3);
    }

    /// The constructor reads the base's rule id: a base without `RULE()` is refused.
    function test_clippedProgram_constructor_needsBaseRuleId() public {
        address noRuleId = address(new AcceptingVerifier());
        vm.expectRevert();
        new ClippedProgram(IRuleProgram(noRuleId));
    }

    /// T = n·(C + 1) + T_b.
    function test_clippedPrograms_steps_isProloguePlusBase() public view {
        // n = 3, dim = 100: C = 4, P = 15; FedAvg T_b = 16, order T_b = 400.
        assertEq(clippedFedAvg.steps(_params(TAU, NONE), 3, 100), 15 + 16);
        assertEq(clippedMedian.steps(_params(TAU, NONE), 3, 100), 15 + 400);
        assertEq(clippedTrimmedMean.steps(_params(TAU, _beta(2500)), 3, 100), 15 + 400);
        assertEq(clippedFedAvg.steps(_params(1, NONE), 1, 1), 2 + 2);
        // The largest round: n = 255, C = 2^23.
        uint256 c = 1 << 23;
        assertEq(clippedFedAvg.steps(_params(TAU, NONE), 255, 1 << 28), 255 * (c + 1) + c * 256);
        assertEq(clippedTrimmedMean.steps(_params(TAU, _beta(4999)), 255, 1 << 28), 255 * (c + 1) + c * 8416);
    }

    function testFuzz_clippedPrograms_steps_matchFormula(uint256 n_, uint256 dim_, uint32 tau) public view {
        n_ = bound(n_, 1, 255);
        dim_ = bound(dim_, 1, 1 << 28);
        tau = uint32(bound(tau, 1, type(uint32).max));
        uint256 c = (dim_ + 31) / 32;
        for (uint256 t; t < 3; ++t) {
            (ClippedProgram p, bytes memory params) = _clipped(t);
            params = _params(tau, t == 2 ? _beta(1234) : NONE);
            assertEq(p.steps(params, n_, dim_), n_ * (c + 1) + _tb(t, n_, c));
        }
    }

    function _decodeStep(bytes memory kindParams) internal pure returns (ClipChecker.ClipStep memory) {
        return abi.decode(kindParams, (ClipChecker.ClipStep));
    }

    /// Prologue steps at the column boundaries 0, C-1, C of several rows, and the first base
    /// step.
    function test_clippedPrograms_stepAt_prologueBoundaries() public view {
        // n = 3, dim = 100: C = 4 columns of Norm and one Scale per row, P = 15.
        for (uint256 t; t < 3; ++t) {
            (ClippedProgram p, bytes memory params) = _clipped(t);
            for (uint256 row; row < 3; ++row) {
                uint256[3] memory cols = [uint256(0), 3, 4];
                for (uint256 k; k < 3; ++k) {
                    (uint8 kind, uint256 r, uint256 col, bytes memory kp) =
                        p.stepAt(params, 3, 100, uint64(row * 5 + cols[k]));
                    assertEq(r, row, "row");
                    assertEq(col, cols[k], "col");
                    if (cols[k] < 4) {
                        assertEq(kind, 5, "Norm");
                        assertEq(kp, NONE, "Norm takes no kind parameters");
                    } else {
                        assertEq(kind, 6, "Scale");
                        assertEq(kp, abi.encode(uint256(TAU)), "Scale takes the threshold");
                    }
                }
            }
            (uint8 k0, uint256 r0, uint256 c0, bytes memory kp0) = p.stepAt(params, 3, 100, 15);
            assertEq(k0, 7, "the first base step is a Clip step");
            (r0, c0);
            ClipChecker.ClipStep memory c = _decodeStep(kp0);
            assertEq(c.baseStep, 0);
            assertTrue(c.first, "first");
            assertFalse(c.last, "not last");
            assertEq(c.participants.length, 1, "the first base step reads participant 0");
            assertEq(c.participants[0], 0);
            assertEq(c.baseProgram, address(p.base()));
        }
        // One chunk: each row is one Norm and one Scale.
        (uint8 k1,, uint256 c1, bytes memory kp1) = clippedFedAvg.stepAt(_params(7, NONE), 2, 32, 3);
        assertEq(k1, 6);
        assertEq(c1, 1);
        assertEq(kp1, abi.encode(uint256(7)));
    }

    /// Base steps: the ClipStep is the base program's step at b = k - P, at the base's row and
    /// column, with its kind, kind parameters, read and the base program and parameters.
    function test_clippedPrograms_stepAt_baseSteps() public view {
        // ClippedFedAvg, n = 3, dim = 100: P = 15, T_b = 16 (rows of 4 columns).
        _expectClipStep(clippedFedAvg, _params(TAU, NONE), 15 + 2, 0, 0, 2, NONE, true, 2, false);
        _expectClipStep(clippedFedAvg, _params(TAU, NONE), 15 + 3, 1, 0, 3, NONE, false, 0, false);
        _expectClipStep(clippedFedAvg, _params(TAU, NONE), 15 + 4, 0, 1, 0, NONE, true, 0, false);
        _expectClipStep(clippedFedAvg, _params(TAU, NONE), 15 + 15, 1, 3, 3, NONE, false, 0, true);
        // ClippedMedian, n = 3: rows of 100 columns, k = 1.
        bytes memory k1 = abi.encode(uint256(1));
        bytes memory med = _params(TAU, NONE);
        _expectClipStep(clippedMedian, med, 15 + 95, 2, 0, 95, k1, true, 2, false);
        _expectClipStep(clippedMedian, med, 15 + 96, 3, 0, 96, k1, true, 0, false);
        _expectClipStep(clippedMedian, med, 15 + 98, 3, 0, 98, k1, true, 2, false);
        _expectClipStep(clippedMedian, med, 15 + 99, 4, 0, 99, k1, false, 0, false);
        _expectClipStep(clippedMedian, med, 15 + 399, 4, 3, 99, k1, false, 0, true);
        // ClippedTrimmedMean, n = 4 (k = 1 at 2500 bps): rows of 133 columns.
        bytes memory tm = _params(TAU, _beta(2500));
        _expectClipStep(clippedTrimmedMean, tm, 20 + 133 + 4 * 31 + 3, 2, 1, 127, k1, true, 3, false);
        _expectClipStep(clippedTrimmedMean, tm, 20 + 133 + 128 + 1, 3, 1, 129, k1, true, 1, false);
    }

    /// What a base step's ClipStep and position must be.
    struct Expected {
        uint8 baseKind;
        uint256 row;
        uint256 col;
        bytes baseKindParams;
        bool reads;
        uint256 participant;
        bool last;
    }

    function _expectClipStep(
        ClippedProgram p,
        bytes memory params,
        uint64 step,
        uint8 baseKind,
        uint256 row,
        uint256 col,
        bytes memory baseKindParams,
        bool reads,
        uint256 participant,
        bool last
    ) internal view {
        _expectClipStep(
            p, params, step, Expected(baseKind, row, col, baseKindParams, reads, participant, last)
        );
    }

    function _expectClipStep(ClippedProgram p, bytes memory params, uint64 step, Expected memory e)
        internal
        view
    {
        uint256 n_ = address(p) == address(clippedTrimmedMean) ? 4 : 3;
        ClipChecker.ClipStep memory s;
        {
            (uint8 kind, uint256 r, uint256 c, bytes memory kp) = p.stepAt(params, n_, 100, step);
            assertEq(kind, 7, "Clip");
            assertEq(r, e.row, "base row");
            assertEq(c, e.col, "base column");
            s = _decodeStep(kp);
            // kindParams is exactly abi.encode(ClipStep) (the Clip checker's encodeStep).
            assertEq(clipChecker.encodeStep(s), kp, "abi.encode(ClipStep)");
        }
        uint64 b = step - uint64(n_ * 5);
        assertEq(s.baseKind, e.baseKind, "base kind");
        assertEq(s.baseStep, b, "base step");
        assertEq(s.first, b == 0, "first");
        assertEq(s.last, e.last, "last");
        (bool reads, uint256 who) = _one(s.participants);
        assertEq(reads, e.reads, "reads");
        assertEq(who, e.participant, "participant");
        assertEq(s.baseKindParams, e.baseKindParams, "base kind parameters");
        assertEq(s.baseProgram, address(p.base()), "base program");
        bytes memory baseParams_ = new bytes(params.length - 32);
        for (uint256 k; k < baseParams_.length; ++k) {
            baseParams_[k] = params[32 + k];
        }
        assertEq(s.baseParams, baseParams_, "base parameters");
    }

    /// Every step's kind, position and (for base steps) ClipStep against the base program.
    function testFuzz_clippedPrograms_stepAt_matchesBase(uint256 t, uint256 n_, uint256 dim_, uint256 step)
        public
        view
    {
        t = bound(t, 0, 2);
        n_ = bound(n_, 1, 255);
        dim_ = bound(dim_, 1, 1 << 28);
        uint256 c = (dim_ + 31) / 32;
        uint256 prologue = n_ * (c + 1);
        uint256 total = prologue + _tb(t, n_, c);
        // Half the draws in the prologue, half in the base program, ends included.
        if (step % 2 == 0) _checkPrologueStep(t, n_, dim_, bound(step, 0, prologue - 1));
        else _checkBaseStep(t, n_, dim_, bound(step, prologue, total - 1), prologue, total);
    }

    function _checkPrologueStep(uint256 t, uint256 n_, uint256 dim_, uint256 step) internal view {
        (ClippedProgram p, bytes memory params) = _clipped(t);
        uint256 c = (dim_ + 31) / 32;
        (uint8 kind, uint256 row, uint256 col, bytes memory kp) = p.stepAt(params, n_, dim_, uint64(step));
        (bool reads, uint256 who) = _one(p.stepView(params, n_, dim_, uint64(step)).participants);
        assertEq(row, step / (c + 1), "row");
        assertEq(col, step % (c + 1), "col");
        assertEq(kind, col < c ? 5 : 6, "Norm or Scale");
        assertEq(reads, col < c, "a Norm step reads its row");
        assertEq(who, col < c ? row : 0, "participant");
        assertEq(kp, col < c ? NONE : abi.encode(uint256(TAU)), "kind parameters");
    }

    function _checkBaseStep(
        uint256 t,
        uint256 n_,
        uint256 dim_,
        uint256 step,
        uint256 prologue,
        uint256 total
    ) internal view {
        (ClippedProgram p, bytes memory params) = _clipped(t);
        ClipChecker.ClipStep memory s;
        {
            (uint8 kind, uint256 row, uint256 col, bytes memory kp) = p.stepAt(params, n_, dim_, uint64(step));
            assertEq(kind, 7, "Clip");
            s = _decodeStep(kp);
            _checkAgainstBase(p, s, n_, dim_, row, col);
        }
        assertEq(s.baseStep, step - prologue);
        assertEq(s.first, step == prologue);
        assertEq(s.last, step + 1 == total);
        assertEq(s.baseParams, t == 2 ? _beta(2500) : NONE);
        (bool reads, uint256 who) = _one(p.stepView(params, n_, dim_, uint64(step)).participants);
        (bool sreads, uint256 swho) = _one(s.participants);
        assertEq(reads, sreads, "stepView: the base's read");
        assertEq(who, swho, "stepView: the base's participant");
    }

    /// The ClipStep's kind, kind parameters and read, and the step's position, are the base
    /// program's at the base step.
    function _checkAgainstBase(
        ClippedProgram p,
        ClipChecker.ClipStep memory s,
        uint256 n_,
        uint256 dim_,
        uint256 row,
        uint256 col
    ) internal view {
        (uint8 bk, uint256 br, uint256 bc, bytes memory bkp) =
            p.base().stepAt(s.baseParams, n_, dim_, s.baseStep);
        assertEq(row, br, "base row");
        assertEq(col, bc, "base col");
        assertEq(s.baseKind, bk);
        assertEq(s.baseKindParams, bkp);
        assertEq(
            abi.encode(s.participants),
            abi.encode(p.base().stepView(s.baseParams, n_, dim_, s.baseStep).participants)
        );
    }

    function test_clippedPrograms_stepAt_outOfRange_reverts() public {
        // ClippedFedAvg n = 3, dim = 100: T = 31.
        vm.expectRevert(abi.encodeWithSelector(IRuleProgram.StepOutOfRange.selector, 31, 31));
        clippedFedAvg.stepAt(_params(TAU, NONE), 3, 100, 31);
        vm.expectRevert(abi.encodeWithSelector(IRuleProgram.StepOutOfRange.selector, 31, 31));
        _one(clippedFedAvg.stepView(_params(TAU, NONE), 3, 100, 31).participants);
        vm.expectRevert(abi.encodeWithSelector(IRuleProgram.StepOutOfRange.selector, type(uint64).max, 415));
        clippedMedian.stepAt(_params(TAU, NONE), 3, 100, type(uint64).max);
        vm.expectRevert(abi.encodeWithSelector(IRuleProgram.StepOutOfRange.selector, type(uint64).max, 415));
        _one(clippedTrimmedMean.stepView(_params(TAU, _beta(10)), 3, 100, type(uint64).max).participants);
        // The last step is in range.
        clippedFedAvg.stepAt(_params(TAU, NONE), 3, 100, 30);
    }

    function test_clippedPrograms_tooLong_reverts() public {
        // 2^64 chunks: T_b = 2^65, refused by the base program.
        uint256 dim_ = uint256(1) << 69;
        vm.expectRevert(abi.encodeWithSelector(IRuleProgram.ProgramTooLong.selector, uint256(1) << 65));
        clippedFedAvg.steps(_params(TAU, NONE), 1, dim_);
        // 3·2^61 chunks: P = 3·2^61 + 1 and T_b = 3·2^62 fit, T = 9·2^61 + 1 does not.
        dim_ = uint256(3) << 66;
        vm.expectRevert(abi.encodeWithSelector(IRuleProgram.ProgramTooLong.selector, (uint256(9) << 61) + 1));
        clippedFedAvg.steps(_params(TAU, NONE), 1, dim_);
    }

    // ------------------------------------------------------------ stepView

    /// A list of at most one participant (what these base programs read) as (reads, who).
    function _one(uint256[] memory participants) internal pure returns (bool, uint256) {
        assertLe(participants.length, 1, "at most one participant");
        return participants.length == 0 ? (false, 0) : (true, participants[0]);
    }

    /// FedAvg: column < n reads participant `column`, Finalize none; out of range reverts.
    function test_fedAvg_stepView() public {
        // n = 3, dim = 100: rows of 4.
        uint256[6] memory steps_ = [uint256(0), 2, 3, 4, 14, 15];
        bool[6] memory reads_ = [true, true, false, true, true, false];
        uint256[6] memory who_ = [uint256(0), 2, 0, 0, 2, 0];
        for (uint256 k; k < 6; ++k) {
            (bool r, uint256 w) = _one(fedAvg.stepView(NONE, 3, 100, uint64(steps_[k])).participants);
            assertEq(r, reads_[k], "reads");
            assertEq(w, who_[k], "participant");
        }
        vm.expectRevert(abi.encodeWithSelector(IRuleProgram.StepOutOfRange.selector, 16, 16));
        _one(fedAvg.stepView(NONE, 3, 100, 16).participants);
    }

    /// Order statistics: columns < 33n read participant `column mod n`, TrimEmit none.
    function test_orderPrograms_stepView() public {
        // n = 3, dim = 100: rows of 100.
        uint256[7] memory cols = [uint256(0), 94, 95, 96, 97, 98, 99];
        uint256[7] memory who_ = [uint256(0), 1, 2, 0, 1, 2, 0];
        for (uint256 row; row < 4; ++row) {
            for (uint256 k; k < 7; ++k) {
                (bool r, uint256 w) =
                    _one(median.stepView(NONE, 3, 100, uint64(row * 100 + cols[k])).participants);
                assertEq(r, cols[k] < 99, "reads");
                assertEq(w, who_[k], "participant");
                (bool r2, uint256 w2) =
                    _one(trimmedMean.stepView(_beta(2500), 3, 100, uint64(row * 100 + cols[k])).participants);
                assertEq(r2, r);
                assertEq(w2, w);
            }
        }
        vm.expectRevert(abi.encodeWithSelector(IRuleProgram.StepOutOfRange.selector, 400, 400));
        _one(median.stepView(NONE, 3, 100, 400).participants);
        vm.expectRevert(abi.encodeWithSelector(IRuleProgram.StepOutOfRange.selector, type(uint64).max, 400));
        _one(trimmedMean.stepView(_beta(0), 3, 100, type(uint64).max).participants);
    }

    /// stepView agrees with stepAt's kind and column for every base program.
    function testFuzz_basePrograms_stepView_matchesStepAt(uint256 n_, uint256 dim_, uint256 step)
        public
        view
    {
        n_ = bound(n_, 1, 255);
        dim_ = bound(dim_, 1, 1 << 28);
        uint256 c = (dim_ + 31) / 32;
        uint64 s = uint64(bound(step, 0, c * (n_ + 1) - 1));
        (uint8 kind,, uint256 col,) = fedAvg.stepAt(NONE, n_, dim_, s);
        (bool reads, uint256 who) = _one(fedAvg.stepView(NONE, n_, dim_, s).participants);
        assertEq(fedAvg.stepView(NONE, n_, dim_, s).steps, fedAvg.steps(NONE, n_, dim_), "stepView: T");
        assertEq(reads, kind == 0, "FedAvg: Accumulate reads");
        assertEq(who, reads ? col : 0);
        s = uint64(bound(step, 0, c * (33 * n_ + 1) - 1));
        (kind,, col,) = median.stepAt(NONE, n_, dim_, s);
        (reads, who) = _one(median.stepView(NONE, n_, dim_, s).participants);
        assertEq(reads, kind != 4, "order: Rank and TrimSum read");
        assertEq(who, reads ? col % n_ : 0);
    }

    // ------------------------------------------------------------ programs: endpoints

    /// h0 = stateHash(config, 0, ZERO_NORM_HASH, emptyRoot(depth(n))), hT = the base's final state.
    function testFuzz_clippedPrograms_endpoints(bytes32 config, uint256 n_, uint256 dim_, bytes32 out)
        public
        view
    {
        n_ = bound(n_, 1, 255);
        dim_ = bound(dim_, 1, 1 << 28);
        bytes32 h0 = Ref.stateHash(config, 0, ClipRef.normHash(0), Ref.emptyRoot(Ref.depth(n_)));
        for (uint256 t; t < 3; ++t) {
            (ClippedProgram p, bytes memory params) = _clipped(t);
            bytes memory bp = t == 2 ? _beta(2500) : NONE;
            assertEq(p.initialState(config, params, n_, dim_), h0, "h0");
            assertEq(
                p.finalState(config, params, n_, dim_, out),
                p.base().finalState(config, bp, n_, dim_, out),
                "hT"
            );
        }
        uint256 c = (dim_ + 31) / 32;
        assertEq(
            clippedFedAvg.finalState(config, _params(TAU, NONE), n_, dim_, out),
            Ref.stateHash(config, c * (n_ + 1), Commitments.ZERO_ACC_HASH, out),
            "hT: FedAvg's T_b, not T"
        );
    }

    // ------------------------------------------------------------ programs: parameters

    function test_clippedPrograms_validate_acceptsThresholds() public view {
        clippedFedAvg.validate(_params(1, NONE), 255, 1 << 28);
        clippedFedAvg.validate(_params(type(uint32).max, NONE), 1, 1);
        clippedMedian.validate(_params(TAU, NONE), 3, 10);
        clippedTrimmedMean.validate(_params(TAU, _beta(4999)), 2, 100);
        assertEq(clippedFedAvg.threshold(_params(12_345, NONE)), 12_345);
        assertEq(clippedTrimmedMean.threshold(_params(type(uint32).max, _beta(1))), type(uint32).max);
    }

    /// A threshold of 0, one of 2^32 or more, and params shorter than the threshold's word are
    /// refused naming `threshold` and its bound, with the clipped rule's id.
    function test_clippedPrograms_validate_refusesThreshold() public {
        for (uint256 t; t < 3; ++t) {
            (ClippedProgram p,) = _clipped(t);
            uint8 id = uint8(3 + t);
            bytes memory bp = t == 2 ? _beta(2500) : NONE;
            vm.expectRevert(_invalid(id, "threshold must be at least 1 (Q15.16, i.e. 2^-16), got 0"));
            p.validate(_params(0, bp), 3, 10);
            vm.expectRevert(
                _invalid(id, "threshold must be below 2^32 (a canonical abi.encode(uint32)), got 4294967296")
            );
            p.validate(_params(1 << 32, bp), 3, 10);
            vm.expectRevert(
                _invalid(
                    id,
                    "threshold must be below 2^32 (a canonical abi.encode(uint32)), got 57896044618658097711785492504343953926634992332820282019728792003956564819968"
                )
            );
            p.validate(_params(1 << 255, bp), 3, 10);
            vm.expectRevert(
                _invalid(id, "params must start with abi.encode(uint32 threshold), 32 bytes; got 0 bytes")
            );
            p.validate(NONE, 3, 10);
            vm.expectRevert(
                _invalid(id, "params must start with abi.encode(uint32 threshold), 32 bytes; got 31 bytes")
            );
            p.validate(new bytes(31), 3, 10);
            // The schedule and the endpoints refuse what validate refuses.
            vm.expectRevert(_invalid(id, "threshold must be at least 1 (Q15.16, i.e. 2^-16), got 0"));
            p.stepAt(_params(0, bp), 3, 10, 0);
            vm.expectRevert(_invalid(id, "threshold must be at least 1 (Q15.16, i.e. 2^-16), got 0"));
            p.steps(_params(0, bp), 3, 10);
            vm.expectRevert(
                _invalid(id, "params must start with abi.encode(uint32 threshold), 32 bytes; got 4 bytes")
            );
            p.finalState(bytes32(0), hex"00000001", 3, 10, bytes32(0));
            vm.expectRevert(_invalid(id, "threshold must be at least 1 (Q15.16, i.e. 2^-16), got 0"));
            _one(p.stepView(_params(0, bp), 3, 10, 0).participants);
        }
    }

    /// The rest of the params are the base rule's, validated by the base program: its refusals
    /// pass through unchanged (with the base rule's id and reason).
    function test_clippedPrograms_validate_baseRefusalsPassThrough() public {
        vm.expectRevert(_invalid(0, "FedAvg takes no parameters"));
        clippedFedAvg.validate(_params(TAU, hex"00"), 3, 10);
        vm.expectRevert(_invalid(1, "Median takes no parameters"));
        clippedMedian.validate(_params(TAU, abi.encode(uint256(1))), 3, 10);
        vm.expectRevert(_invalid(2, "params must be abi.encode(uint16 betaBps), 32 bytes; got 0 bytes"));
        clippedTrimmedMean.validate(_params(TAU, NONE), 3, 10);
        vm.expectRevert(_invalid(2, "betaBps must be below 5000 (beta < 1/2), got 5000"));
        clippedTrimmedMean.validate(_params(TAU, _beta(5000)), 3, 10);
        vm.expectRevert(_invalid(2, "betaBps must be below 5000 (beta < 1/2), got 5000"));
        clippedTrimmedMean.stepAt(_params(TAU, _beta(5000)), 3, 10, 10);
    }

    /// openRound goes through the clipped program; the parameters are stored and reach it.
    function test_openRound_clippedRules_paramsRefusedOrStored() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                RoundRegistry.InvalidRuleParams.selector,
                3,
                "threshold must be at least 1 (Q15.16, i.e. 2^-16), got 0"
            )
        );
        registry.openRound(_clients(3), 10, aggregator, COMMIT_PERIOD, 3, _params(0, NONE));
        vm.expectRevert(
            abi.encodeWithSelector(
                RoundRegistry.InvalidRuleParams.selector,
                2,
                "betaBps must be below 5000 (beta < 1/2), got 9999"
            )
        );
        registry.openRound(_clients(3), 10, aggregator, COMMIT_PERIOD, 5, _params(TAU, _beta(9999)));
        bytes memory params = _params(TAU, _beta(2500));
        uint256 id = registry.openRound(_clients(4), 100, aggregator, COMMIT_PERIOD, 5, params);
        assertEq(registry.round(id).rule, 5);
        assertEq(registry.ruleParams(id), params);
        for (uint256 c; c < 4; ++c) {
            _commit(id, c, uint32(c + 1));
        }
        _post(id, keccak256("out"));
        IRoundRegistry.ProgramContext memory ctx = registry.stepContext(id);
        assertEq(registry.steps(id), 4 * 5 + 4 * 133);
        assertEq(registry.initialState(id), clippedTrimmedMean.initialState(ctx.configHash, params, 4, 100));
        assertEq(
            registry.finalState(id),
            trimmedMean.finalState(ctx.configHash, _beta(2500), 4, 100, keccak256("out"))
        );
    }

    // ------------------------------------------------------------ Commitments: clipping helpers

    function test_zeroNormHash_is16ZeroBytes() public pure {
        assertEq(Commitments.ZERO_NORM_HASH, keccak256(abi.encodePacked(bytes1(0x03), new bytes(16))));
        assertEq(Commitments.ZERO_NORM_HASH, ClipRef.normHash(0));
        assertEq(Commitments.registerHashMem(new bytes(16)), Commitments.ZERO_NORM_HASH);
        assertEq(Commitments.UNIT_SCALE, 1 << 32);
    }

    /// keccak(0x04 ‖ be64(s)): 9 bytes hashed.
    function testFuzz_scaleLeafHash_is9BytePreimage(uint64 s) public view {
        bytes memory preimage = new bytes(9);
        preimage[0] = 0x04;
        for (uint256 k; k < 8; ++k) {
            preimage[1 + k] = bytes1(uint8(s >> (56 - 8 * k)));
        }
        assertEq(harness.scaleLeafHash(s), keccak256(preimage));
        assertEq(harness.scaleLeafHash(s), ClipRef.scaleLeaf(s));
    }

    function test_scaleLeafHash_handComputed() public view {
        // keccak(04 00000001 00000000): the unit scale.
        assertEq(harness.scaleLeafHash(1 << 32), keccak256(hex"040000000100000000"));
        assertEq(harness.scaleLeafHash(0), keccak256(hex"040000000000000000"));
    }

    /// keccak(0x05 ‖ base ‖ scalesRoot): 65 bytes hashed.
    function testFuzz_clippedStateHash_is65BytePreimage(bytes32 base, bytes32 root) public view {
        assertEq(harness.clippedStateHash(base, root), keccak256(abi.encodePacked(hex"05", base, root)));
        assertEq(harness.clippedStateHash(base, root), ClipRef.wrap(base, root));
    }

    /// Round half up (toward +inf), on both signs.
    function test_clipValue_roundsHalfUp() public view {
        uint256 half = 1 << 31;
        assertEq(harness.clipValue(3, half), 2); // 1.5 -> 2
        assertEq(harness.clipValue(-3, half), -1); // -1.5 -> -1
        assertEq(harness.clipValue(1, half), 1); // 0.5 -> 1
        assertEq(harness.clipValue(-1, half), 0); // -0.5 -> 0
        assertEq(harness.clipValue(4, half), 2);
        assertEq(harness.clipValue(-4, half), -2);
        assertEq(harness.clipValue(5, 1 << 30), 1); // 1.25 -> 1
        assertEq(harness.clipValue(7, 1 << 30), 2); // 1.75 -> 2
        assertEq(harness.clipValue(-5, 1 << 30), -1); // -1.25 -> -1
        assertEq(harness.clipValue(-7, 1 << 30), -2); // -1.75 -> -2
        assertEq(harness.clipValue(-6, 1 << 30), -1); // -1.5 -> -1
    }

    /// The ends of the int32 range.
    function test_clipValue_int32Extremes() public view {
        uint256 half = 1 << 31;
        int32 min = type(int32).min;
        int32 max = type(int32).max;
        assertEq(harness.clipValue(min, half), min / 2);
        assertEq(harness.clipValue(max, half), int32(1 << 30)); // 2^30 - 1/2 -> 2^30
        assertEq(harness.clipValue(min, (1 << 32) - 1), min + 1); // -2^31 + 1/2 -> -2^31 + 1
        assertEq(harness.clipValue(max, (1 << 32) - 1), max); // 2^31 - 1 + 2^-32 -> 2^31 - 1
        assertEq(harness.clipValue(min, 1), 0); // -1/2 -> 0
        assertEq(harness.clipValue(max, 1), 0);
        assertEq(harness.clipValue(min, 0), 0);
        assertEq(harness.clipValue(max, 0), 0);
        assertEq(harness.clipValue(min, 1 << 32), min);
        assertEq(harness.clipValue(max, 1 << 32), max);
    }

    function testFuzz_clipValue_unitScaleIsIdentity(int32 x) public view {
        assertEq(harness.clipValue(x, 1 << 32), x);
    }

    /// Against the division reference; never grows a value.
    function testFuzz_clipValue_matchesReference(int32 x, uint256 s) public view {
        s = bound(s, 0, 1 << 32);
        int32 c = harness.clipValue(x, s);
        assertEq(c, ClipRef.clip(x, s));
        int256 ax = x < 0 ? -int256(x) : int256(x);
        int256 ac = c < 0 ? -int256(c) : int256(c);
        assertLe(uint256(ac), uint256(ax));
    }

    function testFuzz_clipValue_scaleAboveUnit_reverts(int32 x, uint256 s) public {
        s = bound(s, (1 << 32) + 1, type(uint256).max);
        vm.expectRevert(abi.encodeWithSelector(Commitments.ScaleOutOfRange.selector, s));
        harness.clipValue(x, s);
        vm.expectRevert(abi.encodeWithSelector(Commitments.ScaleOutOfRange.selector, s));
        harness.requireScale(s);
        harness.requireScale(1 << 32);
    }

    /// The in-memory leaf clip is the lane-wise clipValue, and leaves what follows untouched.
    function testFuzz_clipValuesMem_matchesLaneWise(int32[32] memory v, uint256 s) public view {
        s = bound(s, 0, 1 << 32);
        (bytes memory clipped, bytes32 a0, bytes32 a1) = harness.clipValuesMem(Ref.encodeValues(v), s);
        assertEq(clipped, Ref.encodeValues(ClipRef.clipLeaf(v, s)));
        assertEq(a0, bytes32(type(uint256).max), "the memory after the leaf is untouched");
        assertEq(a1, bytes32(type(uint256).max), "the memory after the leaf is untouched");
    }

    function test_clipValuesMem_extremesAndUnit() public view {
        int32[32] memory v;
        for (uint256 l; l < 32; ++l) {
            v[l] = l % 2 == 0 ? type(int32).min + int32(int256(l)) : type(int32).max - int32(int256(l));
        }
        uint256[4] memory ss = [uint256(0), 1, (1 << 31) + 12_345, 1 << 32];
        for (uint256 k; k < 4; ++k) {
            (bytes memory clipped,,) = harness.clipValuesMem(Ref.encodeValues(v), ss[k]);
            assertEq(clipped, Ref.encodeValues(ClipRef.clipLeaf(v, ss[k])));
        }
        (bytes memory same,,) = harness.clipValuesMem(Ref.encodeValues(v), 1 << 32);
        assertEq(same, Ref.encodeValues(v), "the unit scale leaves the leaf");
    }

    // ------------------------------------------------------------ every step of a round

    /// The round's clipped state k (for this contract's external step helpers).
    function _h(uint256 k) internal view returns (bytes32) {
        return _clippedStateHash(k, false);
    }

    /// Posts the honest result; checks T, h0 and hT against the fixture's trace.
    function _postAndCheckEndpoints() internal {
        _postHonest();
        assertEq(registry.steps(roundId), _clippedSteps(), "T = P + T_b");
        assertEq(registry.initialState(roundId), _h(0), "h0");
        assertEq(registry.finalState(roundId), _h(_clippedSteps()), "hT");
        assertEq(
            _h(_clippedSteps()),
            _baseStateHash(_baseSteps(), false),
            "hT is the base program's final state, unwrapped"
        );
        assertEq(
            _h(_prologue()),
            Ref.stateHash(configHash, _prologue(), Commitments.ZERO_NORM_HASH, _scalesRoot(n)),
            "state P: zero register, every scale written"
        );
    }

    /// Some participants are clipped (s < 2^32), some are not (s = 2^32, the zero update
    /// among them).
    function _assertMixedScales() internal view {
        bool clipped;
        bool unclipped;
        for (uint256 c; c < n; ++c) {
            if (scales[c] < 1 << 32) clipped = true;
            else unclipped = true;
        }
        assertTrue(clipped && unclipped, "clipped and unclipped participants");
        if (n > 2) assertEq(normSquared[2], 0, "participant 2's update is zero");
        if (n > 2) assertEq(scales[2], 1 << 32, "the zero norm keeps the unit scale");
    }

    /// The prologue, step by step.
    function _prologueSteps() internal view {
        for (uint256 k; k < _prologue(); ++k) {
            assertEq(
                arbiter.postState(roundId, uint64(k), _h(k), _clippedLeafInput(k)), _h(k + 1), "prologue step"
            );
        }
    }

    /// ClippedFedAvg over 4 participants (small, large, zero and tied updates), 2 chunks:
    /// P = 12, T_b = 10.
    function test_clippedFedAvg_everyStepChainsH0ToHT() public {
        _buildClippedRound(0, NONE, TAU, 4, 40, 11);
        _assertMixedScales();
        _postAndCheckEndpoints();
        assertEq(_clippedSteps(), 22);
        for (uint256 k; k < _clippedSteps(); ++k) {
            assertEq(arbiter.postState(roundId, uint64(k), _h(k), _clippedLeafInput(k)), _h(k + 1), "step");
        }
    }

    /// One step of an order-statistic base program under a clipped rule through the real
    /// arbiter: from `pre` (the base register before the step), returns the register after it.
    /// An external call so that each step's memory is freed.
    function clippedOrderStep(uint256 k, int64[160] memory pre)
        external
        view
        returns (int64[160] memory post)
    {
        uint256 b = k - _prologue();
        bytes32 basePre = Ref.stateHash(configHash, b, OrderRef.hash(pre), _outputRoot(b / _perRow(), false));
        bytes32 hPre = b == 0 ? _prologueStateHash(k) : ClipRef.wrap(basePre, _scalesRoot(n));
        bytes memory baseLeaf;
        bytes32 basePost;
        (post, baseLeaf, basePost) = _orderBaseStep(b, pre);
        bytes32 got =
            arbiter.postState(roundId, uint64(k), hPre, abi.encode(_clipLeafFrom(k, basePre, baseLeaf)));
        bytes32 expected = k + 1 == _clippedSteps() ? basePost : ClipRef.wrap(basePost, _scalesRoot(n));
        require(got == expected, "clipped order post-state");
        // The fixture's trace replays a row per state: compare now and then (and at the end).
        if (k % 16 == 0 || k + 1 == _clippedSteps()) require(expected == _h(k + 1), "the fixture's trace");
    }

    /// Base step b's leaf (raw values) from `pre`, the register after it and its base post-state.
    function _orderBaseStep(uint256 b, int64[160] memory pre)
        internal
        view
        returns (int64[160] memory post, bytes memory baseLeaf, bytes32 basePost)
    {
        (uint256 j, uint256 col) = (b / _perRow(), b % _perRow());
        if (col < 33 * n) {
            RankChecker.RankLeaf memory leaf = _clientLeafFrom(pre, j, col);
            uint256 i = col % n;
            (leaf.values, leaf.valuesPath) = (Ref.encodeValues(rawLeafOf[i][j]), _rawValuesPath(i, j));
            baseLeaf = abi.encode(leaf);
            post = _copy(pre);
            _applyStep(post, j, col);
            basePost = Ref.stateHash(configHash, b + 1, OrderRef.hash(post), _outputRoot(j, false));
        } else {
            int32[32] memory out = OrderRef.trimEmit(pre, n, trimK);
            for (uint256 l; l < 32; ++l) {
                require(out[l] == outputOf[j][l], "emit equals the sorting reference over clipped values");
            }
            TrimEmitChecker.TrimEmitLeaf memory leaf;
            leaf.register = OrderRef.encode(pre);
            leaf.outputRoot = _outputRoot(j, false);
            leaf.values = Ref.encodeValues(out);
            leaf.outputPath = _outputPath(j, j);
            leaf.proof = MockStepVerifierProof.PROOF;
            baseLeaf = abi.encode(leaf);
            basePost = Ref.stateHash(configHash, b + 1, Commitments.ZERO_STAT_HASH, _outputRoot(j + 1, false));
        }
    }

    function _everyOrderStep() internal {
        _assertMixedScales();
        _postAndCheckEndpoints();
        _prologueSteps();
        int64[160] memory r;
        for (uint256 k = _prologue(); k < _clippedSteps(); ++k) {
            r = this.clippedOrderStep(k, r);
        }
        assertEq(OrderRef.hash(r), Commitments.ZERO_STAT_HASH);
    }

    /// ClippedMedian over 4 participants (even n: the mean of the two middle clipped values),
    /// one chunk: P = 8, T_b = 133.
    function test_clippedMedian_everyStepChainsH0ToHT() public {
        _buildClippedRound(1, NONE, TAU, 4, 20, 12);
        _everyOrderStep();
    }

    /// ClippedTrimmedMean, betaBps 2000 over 5 participants (k = 1): P = 10, T_b = 166.
    function test_clippedTrimmedMean_everyStepChainsH0ToHT() public {
        _buildClippedRound(2, _beta(2000), TAU, 5, 30, 13);
        assertEq(trimK, 1);
        _everyOrderStep();
    }

    /// A threshold above every norm: every scale is 2^32 and the clipped round's base states
    /// are the unclipped rule's (the same leaves, the same register sums).
    function test_clippedFedAvg_highThreshold_isFedAvg() public {
        _buildClippedRound(0, NONE, type(uint32).max, 3, 40, 14);
        for (uint256 c; c < 3; ++c) {
            if (c != 1) assertEq(scales[c], 1 << 32);
        }
        _postHonest();
        for (uint256 k; k < _clippedSteps(); ++k) {
            assertEq(arbiter.postState(roundId, uint64(k), _h(k), _clippedLeafInput(k)), _h(k + 1));
        }
    }

    // ------------------------------------------------------------ checkers: shared helpers

    /// ClippedFedAvg over 4 participants, 2 chunks: P = 12 (rows of 3: Norm, Norm, Scale),
    /// T_b = 10 (rows of 5), T = 22. Participant 1 is clipped, 0 and 2 are not.
    function _fedAvgRound() internal {
        _buildClippedRound(0, NONE, TAU, 4, 40, 21);
        _postHonest();
        assertLt(scales[1], 1 << 32);
        assertEq(scales[0], 1 << 32);
    }

    /// ClippedMedian over 3 participants, 2 chunks: P = 9, T_b = 200 (rows of 100), T = 209.
    function _medianRound() internal {
        _buildClippedRound(1, NONE, TAU, 3, 40, 22);
        _postHonest();
        assertLt(scales[1], 1 << 32);
    }

    /// The arbiter's step context of step k of the round (built before any expectRevert: it
    /// calls the registry and the program).
    function _ctx(uint256 k) internal view returns (IStepChecker.StepContext memory c) {
        RoundRegistry.RoundView memory r = registry.round(roundId);
        c.configHash = r.configHash;
        c.inputRoot = r.inputRoot;
        c.n = r.participants;
        c.dim = r.dim;
        c.totalWeight = r.totalWeight;
        c.step = uint64(k);
        uint8 kind;
        (kind, c.row, c.col, c.kindParams) = arbiter.program(rule).stepAt(ruleParams, c.n, c.dim, uint64(k));
    }

    function _postAt(uint256 k, bytes memory leaf) internal view returns (bytes32) {
        return arbiter.postState(roundId, uint64(k), _h(k), leaf);
    }

    function _fold(bytes32 leaf, uint256 index, bytes32[] memory path) internal pure returns (bytes32 node) {
        node = leaf;
        for (uint256 l; l < path.length; ++l) {
            node = (index >> l) & 1 == 0 ? Ref.node(node, path[l]) : Ref.node(path[l], node);
        }
    }

    /// State k with the norm register `register` (any 16 bytes) and scales root `root`.
    function _normState(uint256 k, bytes memory register, bytes32 root) internal view returns (bytes32) {
        return Ref.stateHash(configHash, k, keccak256(abi.encodePacked(bytes1(0x03), register)), root);
    }

    // ------------------------------------------------------------ the Norm checker

    function test_normChecker_identity() public view {
        assertEq(normChecker.INSTANCES(), 9);
        assertEq(normChecker.NORM_BYTES(), 16);
        assertEq(normChecker.name(), "Norm");
        assertEq(normChecker.verifier(), address(normVerifier));
        assertEq(scaleChecker.INSTANCES(), 4);
        assertEq(scaleChecker.SCALE_BYTES(), 8);
        assertEq(scaleChecker.name(), "Scale");
        assertEq(scaleChecker.verifier(), address(scaleVerifier));
        assertEq(normChecker.PROOF_BYTES(), MOCK_PROOF_BYTES);
        assertEq(scaleChecker.verifierGasCap(), GAS_CAP);
    }

    /// A checker called directly with the arbiter's context gives the arbiter's answer.
    function test_prologueCheckers_directCall_matchesArbiter() public {
        _fedAvgRound();
        uint256[3] memory steps_ = [uint256(4), 5, 11];
        for (uint256 t; t < 3; ++t) {
            uint256 k = steps_[t];
            bytes memory leaf = _clippedLeafInput(k);
            IStepChecker c =
                k % 3 == 2 ? IStepChecker(address(scaleChecker)) : IStepChecker(address(normChecker));
            assertEq(c.postState(_ctx(k), _h(k), leaf), _postAt(k, leaf));
            assertEq(_postAt(k, leaf), _h(k + 1));
        }
    }

    function test_normChecker_badPosition_reverts() public {
        _fedAvgRound();
        bytes memory leaf = _clippedLeafInput(4);
        bytes32 pre = _h(4);
        IStepChecker.StepContext memory atScale = _ctx(4);
        atScale.col = 2; // the Scale column C
        IStepChecker.StepContext memory pastRows = _ctx(4);
        pastRows.row = 4; // participant n
        vm.expectRevert(abi.encodeWithSelector(StepChecker.BadPosition.selector, 1, 2));
        normChecker.postState(atScale, pre, leaf);
        vm.expectRevert(abi.encodeWithSelector(StepChecker.BadPosition.selector, 4, 1));
        normChecker.postState(pastRows, pre, leaf);
    }

    function test_normChecker_kindParams_mustBeEmpty() public {
        _fedAvgRound();
        IStepChecker.StepContext memory c = _ctx(4);
        c.kindParams = abi.encode(uint256(1 << 32));
        bytes memory leaf = _clippedLeafInput(4);
        bytes32 pre = _h(4);
        vm.expectRevert(_badLength("kindParams", 0, 32));
        normChecker.postState(c, pre, leaf);
    }

    function test_normChecker_preStateMismatch_reverts() public {
        _fedAvgRound();
        bytes32 wrong = keccak256("wrong");
        bytes memory leaf = _clippedLeafInput(4);
        vm.expectRevert(abi.encodeWithSelector(CheckerBase.PreStateMismatch.selector, wrong, _h(4)));
        arbiter.postState(roundId, 4, wrong, leaf);
        // The leaf of the row's other Norm step (another register) does not open this state.
        vm.expectPartialRevert(CheckerBase.PreStateMismatch.selector);
        _postAt(3, leaf);
    }

    function test_normChecker_badOpenings_revert() public {
        _fedAvgRound();
        // Another participant's leaf at participant 1's row.
        NormChecker.NormLeaf memory l = _normLeaf(4);
        (l.updateRoot, l.weight) = (updateRoots[0], weights[0]);
        bytes32 got = _fold(Ref.participantLeaf(updateRoots[0], weights[0]), 1, l.inputPath);
        vm.expectRevert(
            abi.encodeWithSelector(
                CheckerBase.BadOpening.selector, "input", registry.round(roundId).inputRoot, got
            )
        );
        _postAt(4, abi.encode(l));
        // The clipped values: the Norm reads the committed ones.
        l = _normLeaf(4);
        l.values = Ref.encodeValues(leafOf[1][1]);
        got = _fold(Ref.valueLeafHash(leafOf[1][1]), 1, l.valuesPath);
        vm.expectRevert(abi.encodeWithSelector(CheckerBase.BadOpening.selector, "update", l.updateRoot, got));
        _postAt(4, abi.encode(l));
    }

    function test_normChecker_badLengths_revert() public {
        _fedAvgRound();
        NormChecker.NormLeaf memory l = _normLeaf(4);
        l.register = new bytes(15);
        vm.expectRevert(_badLength("register", 16, 15));
        _postAt(4, abi.encode(l));
        l = _normLeaf(4);
        l.values = new bytes(127);
        vm.expectRevert(_badLength("values", 128, 127));
        _postAt(4, abi.encode(l));
        l = _normLeaf(4);
        l.valuesPath = new bytes32[](2);
        vm.expectRevert(_badLength("valuesPath", 1, 2));
        _postAt(4, abi.encode(l));
        l = _normLeaf(4);
        l.registerOut = new bytes(32);
        vm.expectRevert(_badLength("registerOut", 16, 32));
        _postAt(4, abi.encode(l));
        l = _normLeaf(4);
        l.inputPath = new bytes32[](1);
        vm.expectRevert(_badLength("inputPath", 2, 1));
        _postAt(4, abi.encode(l));
        l = _normLeaf(4);
        l.proof = new bytes(1_376);
        vm.expectRevert(_badLength("proof", MOCK_PROOF_BYTES, 1_376));
        _postAt(4, abi.encode(l));
    }

    /// Padded, truncated, and the leaf of another kind.
    function test_prologueCheckers_nonCanonicalLeaf_reverts() public {
        _fedAvgRound();
        bytes[2] memory leaves = [_clippedLeafInput(4), _clippedLeafInput(5)];
        for (uint256 t; t < 2; ++t) {
            bytes memory padded = abi.encodePacked(leaves[t], bytes32(0));
            vm.expectRevert(
                abi.encodeWithSelector(
                    CheckerBase.NonCanonicalLeaf.selector, leaves[t].length, leaves[t].length + 32
                )
            );
            _postAt(4 + t, padded);
        }
        vm.expectRevert();
        _postAt(5, leaves[0]);
        vm.expectRevert();
        _postAt(4, leaves[1]);
    }

    /// Every register word must lie in [0, 2^63): a negative pre- or post-register word is
    /// refused before the verifier is called.
    function test_normChecker_negativeRegisterWord_reverts() public {
        _fedAvgRound();
        NormChecker.NormLeaf memory l = _normLeaf(4);
        l.registerOut = abi.encodePacked(uint64(5), type(uint64).max);
        vm.expectRevert(abi.encodeWithSelector(NormStepChecker.NegativeRegisterWord.selector, 1, int64(-1)));
        _postAt(4, abi.encode(l));
        // An agreed pre-state nobody honest reaches.
        l = _normLeaf(4);
        l.register = abi.encodePacked(uint64(1) << 63, uint64(0));
        bytes32 pre = _normState(4, l.register, l.scalesRoot);
        vm.expectRevert(
            abi.encodeWithSelector(NormStepChecker.NegativeRegisterWord.selector, 0, type(int64).min)
        );
        arbiter.postState(roundId, 4, pre, abi.encode(l));
    }

    /// A false post-register fails the step proof.
    function test_normChecker_falseClaim_rejectedByVerifier() public {
        _fedAvgRound();
        NormChecker.NormLeaf memory l = _normLeaf(4);
        uint256 truth = _normAfter(1, 2);
        l.registerOut = ClipRef.encodeNorm(truth + 1);
        vm.expectRevert(abi.encodeWithSelector(StepChecker.ProofRejected.selector, address(normVerifier)));
        _postAt(4, abi.encode(l));
        // The same total N = lo + hi·2^40 with an un-normalised carry (lo' >= 2^40).
        assertGe(truth >> 40, 1);
        l.registerOut = abi.encodePacked(uint64(truth % 2 ** 40 + 2 ** 40), uint64((truth >> 40) - 1));
        vm.expectRevert(abi.encodeWithSelector(StepChecker.ProofRejected.selector, address(normVerifier)));
        _postAt(4, abi.encode(l));
    }

    /// The verifier calldata: x (5, the committed values), lo, hi, lo', hi', then the proof.
    function test_prologueCheckers_verifierCalldataLayout() public {
        _fedAvgRound();
        uint256 k = 4; // row 1 (a clipped participant), column 1
        NormChecker.NormLeaf memory l = _normLeaf(k);
        uint256[] memory regs = new uint256[](4);
        uint256 before = _normAfter(1, 1);
        uint256 afterwards = _normAfter(1, 2);
        (regs[0], regs[1], regs[2], regs[3]) =
        (before % 2 ** 40, before >> 40, afterwards % 2 ** 40, afterwards >> 40);
        assertGt(afterwards >> 40, 0, "the carry word is exercised");
        uint256[] memory inst = Ref.concat(Ref.packValues(rawLeafOf[1][1]), regs);
        _expectPrologueCalldata(k, abi.encode(l), keccak256(abi.encodePacked(inst, l.proof)));

        k = 5; // row 1's Scale
        ScaleChecker.ScaleLeaf memory sc = _scaleLeaf(k);
        inst = new uint256[](4);
        (inst[0], inst[1], inst[2], inst[3]) = (afterwards % 2 ** 40, afterwards >> 40, TAU, scales[1]);
        _expectPrologueCalldata(k, abi.encode(sc), keccak256(abi.encodePacked(inst, sc.proof)));
    }

    function _expectPrologueCalldata(uint256 k, bytes memory leaf, bytes32 expected) internal {
        ClipCalldataRecorder rec = new ClipCalldataRecorder(expected);
        LeafArbiter lax = _arbiterWith(address(registry), _seven(address(rec)), GAS_CAP);
        assertEq(lax.postState(roundId, uint64(k), _h(k), leaf), _h(k + 1));
    }

    // ------------------------------------------------------------ the Scale checker

    function test_scaleChecker_badPosition_reverts() public {
        _fedAvgRound();
        bytes memory leaf = _clippedLeafInput(5);
        bytes32 pre = _h(5);
        IStepChecker.StepContext memory atNorm = _ctx(5);
        atNorm.col = 1;
        IStepChecker.StepContext memory pastRows = _ctx(5);
        pastRows.row = 4;
        vm.expectRevert(abi.encodeWithSelector(StepChecker.BadPosition.selector, 1, 1));
        scaleChecker.postState(atNorm, pre, leaf);
        vm.expectRevert(abi.encodeWithSelector(StepChecker.BadPosition.selector, 4, 2));
        scaleChecker.postState(pastRows, pre, leaf);
    }

    /// kindParams must be abi.encode(uint256 τ) with 1 <= τ < 2^32.
    function test_scaleChecker_badThreshold_reverts() public {
        _fedAvgRound();
        bytes memory leaf = _clippedLeafInput(5);
        bytes32 pre = _h(5);
        IStepChecker.StepContext memory c = _ctx(5);
        c.kindParams = "";
        vm.expectRevert(_badLength("kindParams", 32, 0));
        scaleChecker.postState(c, pre, leaf);
        c.kindParams = abi.encode(uint256(0));
        vm.expectRevert(abi.encodeWithSelector(ScaleChecker.BadThreshold.selector, 0));
        scaleChecker.postState(c, pre, leaf);
        c.kindParams = abi.encode(uint256(1 << 32));
        vm.expectRevert(abi.encodeWithSelector(ScaleChecker.BadThreshold.selector, uint256(1 << 32)));
        scaleChecker.postState(c, pre, leaf);
    }

    function test_scaleChecker_preStateMismatch_reverts() public {
        _fedAvgRound();
        bytes32 wrong = keccak256("wrong");
        bytes memory leaf = _clippedLeafInput(5);
        vm.expectRevert(abi.encodeWithSelector(CheckerBase.PreStateMismatch.selector, wrong, _h(5)));
        arbiter.postState(roundId, 5, wrong, leaf);
        // Row 2's Scale leaf (another register, another scales root) at row 1's step... as a
        // step of row 2 (leaf index 2 in the tree) it is row 2's; at step 8 it is not row 3's.
        vm.expectPartialRevert(CheckerBase.PreStateMismatch.selector);
        _postAt(11, _clippedLeafInput(8));
    }

    /// The scale leaf must still be unwritten: a pre-state whose scales tree already has
    /// participant i's leaf is refused, so nobody writes a scale twice.
    function test_scaleChecker_writtenScaleLeaf_reverts() public {
        _fedAvgRound();
        ScaleChecker.ScaleLeaf memory l = _scaleLeaf(5);
        l.scalesRoot = _scalesRoot(2); // participant 1's leaf written
        l.scalesPath = Ref.proof(_scaleLeaves(2), 1);
        bytes32 pre = _normState(5, l.register, l.scalesRoot);
        bytes32 got = _fold(bytes32(0), 1, l.scalesPath);
        vm.expectRevert(abi.encodeWithSelector(CheckerBase.BadOpening.selector, "scales", l.scalesRoot, got));
        arbiter.postState(roundId, 5, pre, abi.encode(l));
    }

    function test_scaleChecker_scaleAboveUnit_reverts() public {
        _fedAvgRound();
        ScaleChecker.ScaleLeaf memory l = _scaleLeaf(2); // participant 0: s = 2^32
        l.values = abi.encodePacked(uint64((1 << 32) + 1));
        vm.expectRevert(abi.encodeWithSelector(Commitments.ScaleOutOfRange.selector, (1 << 32) + 1));
        _postAt(2, abi.encode(l));
        l.values = abi.encodePacked(type(uint64).max);
        vm.expectRevert(
            abi.encodeWithSelector(Commitments.ScaleOutOfRange.selector, uint256(type(uint64).max))
        );
        _postAt(2, abi.encode(l));
    }

    function test_scaleChecker_badLengths_revert() public {
        _fedAvgRound();
        ScaleChecker.ScaleLeaf memory l = _scaleLeaf(5);
        l.register = new bytes(17);
        vm.expectRevert(_badLength("register", 16, 17));
        _postAt(5, abi.encode(l));
        l = _scaleLeaf(5);
        l.values = abi.encodePacked(uint32(7));
        vm.expectRevert(_badLength("values", 8, 4));
        _postAt(5, abi.encode(l));
        l = _scaleLeaf(5);
        l.values = abi.encode(uint256(7));
        vm.expectRevert(_badLength("values", 8, 32));
        _postAt(5, abi.encode(l));
        l = _scaleLeaf(5);
        l.scalesPath = new bytes32[](1);
        vm.expectRevert(_badLength("scalesPath", 2, 1));
        _postAt(5, abi.encode(l));
        l = _scaleLeaf(5);
        l.proof = "";
        vm.expectRevert(_badLength("proof", MOCK_PROOF_BYTES, 0));
        _postAt(5, abi.encode(l));
    }

    function test_scaleChecker_negativeRegisterWord_reverts() public {
        _fedAvgRound();
        ScaleChecker.ScaleLeaf memory l = _scaleLeaf(5);
        l.register = abi.encodePacked(uint64(0xffffffffffffff00), uint64(3));
        bytes32 pre = _normState(5, l.register, l.scalesRoot);
        vm.expectRevert(abi.encodeWithSelector(NormStepChecker.NegativeRegisterWord.selector, 0, int64(-256)));
        arbiter.postState(roundId, 5, pre, abi.encode(l));
    }

    /// A false scale (in range) fails the step proof: claiming the unit scale for a clipped
    /// participant, or clipping one whose norm is within the threshold.
    function test_scaleChecker_falseScale_rejectedByVerifier() public {
        _fedAvgRound();
        ScaleChecker.ScaleLeaf memory l = _scaleLeaf(5);
        l.values = abi.encodePacked(uint64(1 << 32));
        vm.expectRevert(abi.encodeWithSelector(StepChecker.ProofRejected.selector, address(scaleVerifier)));
        _postAt(5, abi.encode(l));
        l.values = abi.encodePacked(uint64(scales[1] + 1));
        vm.expectRevert(abi.encodeWithSelector(StepChecker.ProofRejected.selector, address(scaleVerifier)));
        _postAt(5, abi.encode(l));
        l = _scaleLeaf(8); // the zero update
        l.values = abi.encodePacked(uint64((1 << 32) - 1));
        vm.expectRevert(abi.encodeWithSelector(StepChecker.ProofRejected.selector, address(scaleVerifier)));
        _postAt(8, abi.encode(l));
    }

    /// The Scale step writes leaf i = keccak(0x04 ‖ be64(s)) and clears the register.
    function test_scaleChecker_postState_writesLeafAndClearsRegister() public {
        _fedAvgRound();
        bytes32 post = _postAt(5, _clippedLeafInput(5));
        bytes32 root = _fold(ClipRef.scaleLeaf(scales[1]), 1, Ref.proof(_scaleLeaves(1), 1));
        assertEq(root, _scalesRoot(2));
        assertEq(post, Ref.stateHash(configHash, 6, Commitments.ZERO_NORM_HASH, root));
    }

    // ------------------------------------------------------------ the Clip checker

    function test_clipChecker_identity() public {
        assertEq(clipChecker.name(), "Clip");
        assertEq(clipChecker.verifier(), address(0));
        assertEq(clipChecker.baseKindCount(), 5);
        assertEq(clipChecker.MAX_BASE_KINDS(), 18);
        address[] memory base = _baseCheckers();
        for (uint8 k; k < 5; ++k) {
            assertEq(address(clipChecker.baseChecker(k)), base[k]);
        }
        vm.expectRevert(abi.encodeWithSelector(ClipChecker.UnknownBaseKind.selector, 5));
        clipChecker.baseChecker(5);
        // A table of FedAvg's two kinds.
        ClipChecker two = new ClipChecker(_list(address(accChecker), address(finChecker)));
        assertEq(two.baseKindCount(), 2);
        assertEq(address(two.baseChecker(1)), address(finChecker));
        vm.expectRevert(abi.encodeWithSelector(ClipChecker.UnknownBaseKind.selector, 2));
        two.baseChecker(2);
    }

    function test_clipChecker_constructor_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(ClipChecker.BadBaseTable.selector, 0));
        new ClipChecker(new address[](0));
        address[] memory tooMany = new address[](19);
        for (uint256 k; k < 19; ++k) {
            tooMany[k] = address(accChecker);
        }
        vm.expectRevert(abi.encodeWithSelector(ClipChecker.BadBaseTable.selector, 19));
        new ClipChecker(tooMany);
        vm.expectRevert(abi.encodeWithSelector(ClipChecker.NoCode.selector, address(0xdead)));
        new ClipChecker(_list(address(accChecker), address(0xdead)));
    }

    /// The Clip checker's errors share the step checkers' selectors.
    function test_clipChecker_errorSelectorsAreTheCheckers() public pure {
        assertEq(bytes32(CheckerBase.BadLength.selector), bytes32(CheckerBase.BadLength.selector));
        assertEq(
            bytes32(CheckerBase.PreStateMismatch.selector), bytes32(CheckerBase.PreStateMismatch.selector)
        );
        assertEq(bytes32(CheckerBase.BadOpening.selector), bytes32(CheckerBase.BadOpening.selector));
        assertEq(
            bytes32(CheckerBase.NonCanonicalLeaf.selector), bytes32(CheckerBase.NonCanonicalLeaf.selector)
        );
    }

    /// Each base kind of FedAvg, with a read (Accumulate: a clipped and an unclipped
    /// participant) and without (Finalize), the first base step and the last, directly and
    /// through the arbiter.
    function test_clipChecker_fedAvgKinds_directCallMatchesArbiter() public {
        _fedAvgRound();
        // 12: first (Accumulate of 0, unclipped), 13: Accumulate of 1 (clipped), 16: Finalize
        // of row 0, 21: Finalize of row 1 (last).
        uint256[4] memory steps_ = [uint256(12), 13, 16, 21];
        for (uint256 t; t < 4; ++t) {
            uint256 k = steps_[t];
            bytes memory leaf = _clippedLeafInput(k);
            bytes32 got = clipChecker.postState(_ctx(k), _h(k), leaf);
            assertEq(got, _postAt(k, leaf), "direct = arbiter");
            assertEq(got, _h(k + 1), "the trace");
        }
        assertEq(_h(22), registry.finalState(roundId), "the last step's post-state is hT, unwrapped");
    }

    /// Each order-statistic base kind: Rank and TrimSum read (a clipped participant), TrimEmit
    /// does not; the last step.
    function test_clipChecker_orderKinds_directCallMatchesArbiter() public {
        _medianRound();
        // 9 + 1: Rank pass 0 of participant 1; 9 + 97: TrimSum of 1; 9 + 99: TrimEmit of row 0;
        // 208: TrimEmit of row 1 (last).
        uint256[4] memory steps_ = [uint256(10), 106, 108, 208];
        for (uint256 t; t < 4; ++t) {
            uint256 k = steps_[t];
            bytes memory leaf = _clippedLeafInput(k);
            bytes32 got = clipChecker.postState(_ctx(k), _h(k), leaf);
            assertEq(got, _postAt(k, leaf), "direct = arbiter");
            assertEq(got, _h(k + 1), "the trace");
        }
        assertEq(_h(209), registry.finalState(roundId));
        ClipChecker.ClipLeaf memory l = _clipLeaf(108);
        assertEq(l.scales.length, 0, "TrimEmit reads no participant");
        assertEq(l.scalePaths.length, 0);
    }

    /// First base step: the pre-state is the prologue's last (zero norm register, the scales
    /// root), and the base pre-state must be the base program's initial state.
    function test_clipChecker_firstStep_bindsPrologueAndInitialState() public {
        _fedAvgRound();
        uint256 k = 12;
        ClipChecker.ClipLeaf memory l = _clipLeaf(k);
        assertEq(l.basePre, fedAvg.initialState(configHash, NONE, n, dim));
        assertEq(_h(k), Ref.stateHash(configHash, k, Commitments.ZERO_NORM_HASH, l.scalesRoot));
        // Another scales root does not open the prologue's last state.
        ClipChecker.ClipLeaf memory other = _clipLeaf(k);
        other.scalesRoot = _scalesRoot(3);
        vm.expectRevert(
            abi.encodeWithSelector(
                CheckerBase.PreStateMismatch.selector,
                _h(k),
                Ref.stateHash(configHash, k, Commitments.ZERO_NORM_HASH, other.scalesRoot)
            )
        );
        _postAt(k, abi.encode(other));
        // Another base pre-state (say, the wrapped state's preimage of a later step).
        other = _clipLeaf(k);
        other.basePre = _baseStateHash(1, false);
        vm.expectRevert(
            abi.encodeWithSelector(ClipChecker.BaseInitialStateMismatch.selector, l.basePre, other.basePre)
        );
        _postAt(k, abi.encode(other));
        // The prologue's last state is not h^base_0 wrapped.
        vm.expectPartialRevert(CheckerBase.PreStateMismatch.selector);
        arbiter.postState(roundId, uint64(k), ClipRef.wrap(l.basePre, l.scalesRoot), abi.encode(l));
    }

    function test_clipChecker_preStateMismatch_reverts() public {
        _fedAvgRound();
        uint256 k = 14;
        ClipChecker.ClipLeaf memory l = _clipLeaf(k);
        bytes32 wrong = keccak256("wrong");
        vm.expectRevert(
            abi.encodeWithSelector(
                CheckerBase.PreStateMismatch.selector, wrong, ClipRef.wrap(l.basePre, l.scalesRoot)
            )
        );
        arbiter.postState(roundId, uint64(k), wrong, abi.encode(l));
        // The unwrapped base state is not the clipped program's state.
        vm.expectPartialRevert(CheckerBase.PreStateMismatch.selector);
        arbiter.postState(roundId, uint64(k), l.basePre, abi.encode(l));
        // A base pre-state that is not the base leaf's: the wrap opens, the base checker refuses.
        l.basePre = keccak256("another base state");
        bytes32 pre = ClipRef.wrap(l.basePre, l.scalesRoot);
        vm.expectPartialRevert(CheckerBase.PreStateMismatch.selector);
        arbiter.postState(roundId, uint64(k), pre, abi.encode(l));
    }

    /// The read participant's scale must open in the scales root at that participant.
    function test_clipChecker_badScale_reverts() public {
        _fedAvgRound();
        uint256 k = 13; // Accumulate of participant 1
        ClipChecker.ClipLeaf memory l = _clipLeaf(k);
        // The unit scale (no clipping) for a clipped participant.
        l.scales[0] = uint64(1 << 32);
        bytes32 got = _fold(ClipRef.scaleLeaf(1 << 32), 1, l.scalePaths);
        vm.expectRevert(abi.encodeWithSelector(CheckerBase.BadOpening.selector, "scales", l.scalesRoot, got));
        _postAt(k, abi.encode(l));
        // Participant 0's scale and opening at participant 1's step.
        l = _clipLeaf(k);
        (l.scales[0], l.scalePaths) = (uint64(scales[0]), Ref.proof(_scaleLeaves(n), 0));
        got = _fold(ClipRef.scaleLeaf(scales[0]), 1, l.scalePaths);
        vm.expectRevert(abi.encodeWithSelector(CheckerBase.BadOpening.selector, "scales", l.scalesRoot, got));
        _postAt(k, abi.encode(l));
        // Above 2^32.
        l = _clipLeaf(k);
        l.scales[0] = uint64((1 << 32) + 1);
        vm.expectRevert(abi.encodeWithSelector(Commitments.ScaleOutOfRange.selector, (1 << 32) + 1));
        _postAt(k, abi.encode(l));
        // A path of the wrong depth.
        l = _clipLeaf(k);
        l.scalePaths = new bytes32[](1);
        vm.expectRevert(_badLength("scalePaths", 2, 1));
        _postAt(k, abi.encode(l));
        // No scale, or two, for a step reading one participant.
        l = _clipLeaf(k);
        l.scales = new uint64[](0);
        vm.expectRevert(_badLength("scales", 1, 0));
        _postAt(k, abi.encode(l));
        l.scales = new uint64[](2);
        vm.expectRevert(_badLength("scales", 1, 2));
        _postAt(k, abi.encode(l));
    }

    /// A base step that reads no participant takes no scale and no path.
    function test_clipChecker_noRead_refusesScale() public {
        _fedAvgRound();
        uint256 k = 16; // Finalize of row 0
        ClipChecker.ClipLeaf memory l = _clipLeaf(k);
        l.scales = new uint64[](1);
        l.scales[0] = uint64(scales[1]);
        vm.expectRevert(_badLength("scales", 0, 1));
        _postAt(k, abi.encode(l));
        l = _clipLeaf(k);
        l.scalePaths = Ref.proof(_scaleLeaves(n), 1);
        vm.expectRevert(_badLength("scalePaths", 0, 2));
        _postAt(k, abi.encode(l));
    }

    function test_clipChecker_nonCanonicalLeaf_reverts() public {
        _fedAvgRound();
        bytes memory leaf = _clippedLeafInput(13);
        vm.expectRevert(
            abi.encodeWithSelector(CheckerBase.NonCanonicalLeaf.selector, leaf.length, leaf.length + 32)
        );
        _postAt(13, abi.encodePacked(leaf, bytes32(0)));
        // A base leaf padded inside the Clip leaf: the base checker refuses it.
        ClipChecker.ClipLeaf memory l = _clipLeaf(13);
        uint256 baseLength = l.baseLeaf.length;
        l.baseLeaf = abi.encodePacked(l.baseLeaf, bytes32(0));
        vm.expectRevert(
            abi.encodeWithSelector(CheckerBase.NonCanonicalLeaf.selector, baseLength, baseLength + 32)
        );
        _postAt(13, abi.encode(l));
        // A bare base leaf is not a Clip leaf.
        vm.expectRevert();
        _postAt(13, _baseLeafInput(1));
    }

    /// The Clip leaf stays in calldata, so its layout is checked word by word: every offset
    /// must be the canonical one (no gap, no shared or overlapping tail), the length exactly
    /// the canonical one, and a scale word's high bits are not ignored.
    function test_clipChecker_nonCanonicalLayout_reverts() public {
        _fedAvgRound();
        bytes memory leaf = _clippedLeafInput(13);
        uint256 len = leaf.length;
        bytes memory noCanonical = abi.encodeWithSelector(CheckerBase.NonCanonicalLeaf.selector, 0, len);
        // The struct's offset word: 0x40, a gap.
        bytes memory bad = Words.withWord(leaf, 0, 0x40);
        vm.expectRevert(noCanonical);
        _postAt(13, bad);
        // scales' and scalePaths' offsets moved.
        bad = Words.withWord(leaf, 32 + 2 * 32, 5 * 32 + 32);
        vm.expectRevert(noCanonical);
        _postAt(13, bad);
        bad = Words.withWord(leaf, 32 + 3 * 32, 5 * 32);
        vm.expectRevert(noCanonical);
        _postAt(13, bad);
        // baseLeaf's offset pointing into scalePaths' tail (an overlap).
        bad = Words.withWord(leaf, 32 + 4 * 32, 5 * 32 + 2 * 32);
        vm.expectRevert(noCanonical);
        _postAt(13, bad);
        // A scales length and a path length past the leaf (one scale, two path words).
        bad = Words.withWord(leaf, 32 + 5 * 32, type(uint256).max);
        vm.expectRevert(noCanonical);
        _postAt(13, bad);
        bad = Words.withWord(leaf, 32 + 5 * 32 + 2 * 32, type(uint256).max);
        vm.expectRevert(noCanonical);
        _postAt(13, bad);
        // A base leaf length past the leaf.
        bad = Words.withWord(leaf, 32 + 5 * 32 + 2 * 32 + 3 * 32, type(uint256).max);
        vm.expectRevert(noCanonical);
        _postAt(13, bad);
        // Truncated: one word short; and shorter than the fixed part.
        bad = Words.prefix(leaf, len - 32);
        vm.expectRevert(abi.encodeWithSelector(CheckerBase.NonCanonicalLeaf.selector, len, len - 32));
        _postAt(13, bad);
        vm.expectRevert(abi.encodeWithSelector(CheckerBase.NonCanonicalLeaf.selector, 0, 287));
        _postAt(13, new bytes(287));
        // The scale word with a bit set above 64: not read as its low 64 bits.
        uint256 dirty = (uint256(1) << 200) | scales[1];
        bad = Words.withWord(leaf, 32 + 5 * 32 + 32, dirty);
        vm.expectRevert(abi.encodeWithSelector(Commitments.ScaleOutOfRange.selector, dirty));
        _postAt(13, bad);
    }

    function test_clipChecker_unknownBaseKind_reverts() public {
        _fedAvgRound();
        IStepChecker.StepContext memory c = _ctx(13);
        ClipChecker.ClipStep memory step = abi.decode(c.kindParams, (ClipChecker.ClipStep));
        step.baseKind = 5;
        c.kindParams = abi.encode(step);
        bytes memory leaf = _clippedLeafInput(13);
        bytes32 pre = _h(13);
        vm.expectRevert(abi.encodeWithSelector(ClipChecker.UnknownBaseKind.selector, 5));
        clipChecker.postState(c, pre, leaf);
    }

    /// The position is the base step's, checked by the base checker.
    function test_clipChecker_basePosition_checkedByBase() public {
        _fedAvgRound();
        IStepChecker.StepContext memory c = _ctx(13);
        assertEq(c.row, 0);
        assertEq(c.col, 1);
        c.col = 4; // FedAvg's Finalize column
        bytes memory leaf = _clippedLeafInput(13);
        bytes32 pre = _h(13);
        vm.expectRevert(abi.encodeWithSelector(StepChecker.BadPosition.selector, 0, 4));
        clipChecker.postState(c, pre, leaf);
    }

    /// The base leaf carries the committed values: the clipped ones do not open the update
    /// root (the clipping happens in the checker, before the instances are packed).
    function test_clipChecker_baseLeafWithClippedValues_reverts() public {
        _fedAvgRound();
        ClipChecker.ClipLeaf memory l = _clipLeaf(13);
        AccumulateChecker.AccumulateLeaf memory a = _accLeaf(1); // leafOf: the clipped values
        l.baseLeaf = abi.encode(a);
        vm.expectPartialRevert(CheckerBase.BadOpening.selector);
        _postAt(13, abi.encode(l));
    }

    /// A register accumulated over the committed (unclipped) values is a false claim.
    function test_clipChecker_unclippedAccumulation_rejectedByVerifier() public {
        _fedAvgRound();
        ClipChecker.ClipLeaf memory l = _clipLeaf(13);
        AccumulateChecker.AccumulateLeaf memory a = abi.decode(l.baseLeaf, (AccumulateChecker.AccumulateLeaf));
        int64[32] memory acc = _register(0, 1);
        for (uint256 lane; lane < 32; ++lane) {
            acc[lane] += int64(uint64(weights[1])) * int64(rawLeafOf[1][0][lane]);
        }
        a.accOut = Ref.encodeAcc(acc);
        l.baseLeaf = abi.encode(a);
        vm.expectRevert(abi.encodeWithSelector(StepChecker.ProofRejected.selector, address(accVerifier)));
        _postAt(13, abi.encode(l));
    }

    /// The base verifier gets the base kind's instances over the clipped values: Accumulate
    /// [w, x' (5), acc (11), acc' (11)], Rank [2^(31-p), last, k, n-1-k, x' (5), register,
    /// registerOut], TrimSum [x' (5), register, registerOut].
    function test_clipChecker_baseVerifierCalldata_isOverClippedValues() public {
        _fedAvgRound();
        uint256 k = 13; // Accumulate of participant 1, row 0
        uint256[] memory w = new uint256[](1);
        w[0] = weights[1];
        int32[32] memory clipped = ClipRef.clipLeaf(rawLeafOf[1][0], scales[1]);
        assertTrue(keccak256(abi.encode(clipped)) != keccak256(abi.encode(rawLeafOf[1][0])), "values clipped");
        uint256[] memory inst = Ref.concat(
            Ref.concat(Ref.concat(w, Ref.packValues(clipped)), Ref.packAcc(_register(0, 1))),
            Ref.packAcc(_register(0, 2))
        );
        ClipCalldataRecorder rec =
            new ClipCalldataRecorder(keccak256(abi.encodePacked(inst, MockStepVerifierProof.PROOF)));
        LeafArbiter lax = _arbiterWith(address(registry), _seven(address(rec)), GAS_CAP);
        assertEq(lax.postState(roundId, uint64(k), _h(k), _clippedLeafInput(k)), _h(k + 1));
    }

    function test_clipChecker_orderVerifierCalldata_isOverClippedValues() public {
        _medianRound();
        uint256 k = 9 + 3 * 31 + 1; // row 0, pass 31, participant 1
        uint256 b = k - 9;
        int32[32] memory clipped = ClipRef.clipLeaf(rawLeafOf[1][0], scales[1]);
        uint256[] memory head = new uint256[](4);
        (head[0], head[1], head[2], head[3]) = (1, 0, 1, 1); // 2^0, not last, k = 1, n-1-k = 1
        uint256[] memory inst = Ref.concat(
            Ref.concat(Ref.concat(head, Ref.packValues(clipped)), OrderRef.pack(_orderRegister(0, b))),
            OrderRef.pack(_orderRegister(0, b + 1))
        );
        ClipCalldataRecorder rec =
            new ClipCalldataRecorder(keccak256(abi.encodePacked(inst, MockStepVerifierProof.PROOF)));
        LeafArbiter lax = _arbiterWith(address(registry), _seven(address(rec)), GAS_CAP);
        assertEq(lax.postState(roundId, uint64(k), _h(k), _clippedLeafInput(k)), _h(k + 1));

        k = 9 + 96 + 1; // the sum pass, participant 1
        b = k - 9;
        inst = Ref.concat(
            Ref.concat(Ref.packValues(clipped), OrderRef.pack(_orderRegister(0, b))),
            OrderRef.pack(_orderRegister(0, b + 1))
        );
        rec = new ClipCalldataRecorder(keccak256(abi.encodePacked(inst, MockStepVerifierProof.PROOF)));
        lax = _arbiterWith(address(registry), _seven(address(rec)), GAS_CAP);
        assertEq(lax.postState(roundId, uint64(k), _h(k), _clippedLeafInput(k)), _h(k + 1));
    }

    // ------------------------------------------------------------ base kinds: the scale parameter

    /// Accumulate: kindParams empty (2^32) or abi.encode(uint256 s), s <= 2^32.
    function test_accumulateChecker_scaleParam() public {
        _buildRound(3, 40, 31); // a FedAvg round
        _postHonest();
        IStepChecker.StepContext memory c = _fedAvgCtx(1);
        bytes memory leaf = _leafInput(1);
        bytes32 pre = _stateHash(1, false);
        bytes32 honest = accChecker.postState(c, pre, leaf);
        c.kindParams = abi.encode(uint256(1 << 32));
        assertEq(accChecker.postState(c, pre, leaf), honest, "the unit scale is FedAvg's step");
        c.kindParams = abi.encode(uint256((1 << 32) + 1));
        vm.expectRevert(abi.encodeWithSelector(Commitments.ScaleOutOfRange.selector, (1 << 32) + 1));
        accChecker.postState(c, pre, leaf);
        c.kindParams = new bytes(31);
        vm.expectRevert(_badLength("kindParams", 32, 31));
        accChecker.postState(c, pre, leaf);
        c.kindParams = abi.encode(uint256(1 << 31), uint256(0));
        vm.expectRevert(_badLength("kindParams", 32, 64));
        accChecker.postState(c, pre, leaf);
        // A scale below 2^32 clips x: the honest (unclipped) accumulation is now a false claim.
        c.kindParams = abi.encode(uint256(1 << 31));
        vm.expectRevert(abi.encodeWithSelector(StepChecker.ProofRejected.selector, address(accVerifier)));
        accChecker.postState(c, pre, leaf);
    }

    function _fedAvgCtx(uint256 k) internal view returns (IStepChecker.StepContext memory c) {
        RoundRegistry.RoundView memory r = registry.round(roundId);
        (c.configHash, c.inputRoot, c.n, c.dim, c.totalWeight) =
        (r.configHash, r.inputRoot, r.participants, r.dim, r.totalWeight);
        c.step = uint64(k);
        (, c.row, c.col, c.kindParams) = fedAvg.stepAt(NONE, c.n, c.dim, uint64(k));
    }

    /// Rank and TrimSum: abi.encode(k) or abi.encode(k, s), s <= 2^32; TrimEmit: abi.encode(k)
    /// only.
    function test_orderCheckers_scaleParam() public {
        _buildOrderRound(1, NONE, 3, 40, 32); // a Median round, k = 1
        _postHonest();
        bytes memory rank = _orderLeafInput(5);
        bytes memory sum = _orderLeafInput(97);
        bytes memory emit_ = _orderLeafInput(99);
        bytes32[3] memory pre =
            [_orderStateHash(5, false), _orderStateHash(97, false), _orderStateHash(99, false)];
        IStepChecker.StepContext memory c = _orderCtx(5, 0, 5);
        bytes32 honest = rankChecker.postState(c, pre[0], rank);
        c.kindParams = abi.encode(uint256(1), uint256(1 << 32));
        assertEq(rankChecker.postState(c, pre[0], rank), honest, "the unit scale is the median's step");
        c.kindParams = abi.encode(uint256(1), uint256((1 << 32) + 1));
        vm.expectRevert(abi.encodeWithSelector(Commitments.ScaleOutOfRange.selector, (1 << 32) + 1));
        rankChecker.postState(c, pre[0], rank);
        c.kindParams = abi.encode(uint256(2), uint256(1 << 32));
        vm.expectRevert(abi.encodeWithSelector(OrderStepChecker.BadTrim.selector, 2, 3));
        rankChecker.postState(c, pre[0], rank);
        c.kindParams = new bytes(96);
        vm.expectRevert(_badLength("kindParams", 32, 96));
        rankChecker.postState(c, pre[0], rank);

        c = _orderCtx(97, 0, 97);
        honest = trimSumChecker.postState(c, pre[1], sum);
        c.kindParams = abi.encode(uint256(1), uint256(1 << 32));
        assertEq(trimSumChecker.postState(c, pre[1], sum), honest);
        c.kindParams = abi.encode(uint256(1), uint256(1 << 33));
        vm.expectRevert(abi.encodeWithSelector(Commitments.ScaleOutOfRange.selector, uint256(1 << 33)));
        trimSumChecker.postState(c, pre[1], sum);
        c.kindParams = "";
        vm.expectRevert(_badLength("kindParams", 32, 0));
        trimSumChecker.postState(c, pre[1], sum);
        c.kindParams = abi.encode(uint256(5));
        vm.expectRevert(abi.encodeWithSelector(OrderStepChecker.BadTrim.selector, 5, 3));
        trimSumChecker.postState(c, pre[1], sum);
        c.kindParams = abi.encode(uint256(1), uint256(1 << 31));
        vm.expectRevert(abi.encodeWithSelector(StepChecker.ProofRejected.selector, address(trimSumVerifier)));
        trimSumChecker.postState(c, pre[1], sum);

        c = _orderCtx(99, 0, 99);
        c.kindParams = abi.encode(uint256(1), uint256(1 << 32));
        vm.expectRevert(_badLength("kindParams", 32, 64));
        trimEmitChecker.postState(c, pre[2], emit_);
    }

    function _orderCtx(uint256 s, uint256 row, uint256 col)
        internal
        view
        returns (IStepChecker.StepContext memory c)
    {
        RoundRegistry.RoundView memory r = registry.round(roundId);
        (c.configHash, c.inputRoot, c.n, c.dim, c.totalWeight) =
        (r.configHash, r.inputRoot, r.participants, r.dim, r.totalWeight);
        (c.step, c.row, c.col, c.kindParams) = (uint64(s), row, col, abi.encode(uint256(1)));
    }

    // ------------------------------------------------------------ arbiter, ABI, sizes

    /// A kind without a verifier binds bytes32(0), not address(0)'s codehash (which is
    /// keccak("") once address 0 holds ether).
    function test_arbiter_verifiersHash_zeroForClip_evenIfAddressZeroHoldsEther() public {
        vm.deal(address(0), 1 ether);
        assertEq(address(0).codehash, keccak256(""));
        LeafArbiter a = new LeafArbiter(address(registry), _programs(), _checkers());
        assertEq(a.stepVerifiersHash(), arbiter.stepVerifiersHash());
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
        assertEq(a.stepVerifiersHash(), expected);
    }

    /// encodeLeaf is abi.encode; the Norm and Scale leaves are FedAvg's tuples.
    function test_clippedLeaves_abi() public {
        _fedAvgRound();
        NormChecker.NormLeaf memory nl = _normLeaf(4);
        assertEq(normChecker.encodeLeaf(nl), abi.encode(nl));
        AccumulateChecker.AccumulateLeaf memory a = AccumulateChecker.AccumulateLeaf({
            acc: nl.register,
            outputRoot: nl.scalesRoot,
            updateRoot: nl.updateRoot,
            weight: nl.weight,
            inputPath: nl.inputPath,
            values: nl.values,
            valuesPath: nl.valuesPath,
            accOut: nl.registerOut,
            proof: nl.proof
        });
        assertEq(abi.encode(a), abi.encode(nl));
        ScaleChecker.ScaleLeaf memory sl = _scaleLeaf(5);
        assertEq(scaleChecker.encodeLeaf(sl), abi.encode(sl));
        FinalizeChecker.FinalizeLeaf memory f = FinalizeChecker.FinalizeLeaf({
            acc: sl.register,
            outputRoot: sl.scalesRoot,
            values: sl.values,
            outputPath: sl.scalesPath,
            proof: sl.proof
        });
        assertEq(abi.encode(f), abi.encode(sl));
        ClipChecker.ClipLeaf memory cl = _clipLeaf(13);
        assertEq(clipChecker.encodeLeaf(cl), abi.encode(cl));
    }

    /// The largest clipped leaves (n = 255, dim = 2^28, 1,376-byte proofs) fit the game's
    /// MAX_LEAF_BYTES: a Clip around the largest Rank leaf.
    function test_maxLeafBytes_coversLargestClippedLeaves() public view {
        RankChecker.RankLeaf memory r;
        r.register = new bytes(800);
        r.inputPath = new bytes32[](8);
        r.values = new bytes(128);
        r.valuesPath = new bytes32[](23);
        r.registerOut = new bytes(800);
        r.proof = new bytes(1_376);
        ClipChecker.ClipLeaf memory c;
        c.scales = new uint64[](1);
        c.scalePaths = new bytes32[](8);
        c.baseLeaf = abi.encode(r);
        assertEq(abi.encode(c).length, 4_608 + 32 + 5 * 32 + 2 * 32 + 32 + 8 * 32 + 32);
        NormChecker.NormLeaf memory nl;
        nl.register = new bytes(16);
        nl.inputPath = new bytes32[](8);
        nl.values = new bytes(128);
        nl.valuesPath = new bytes32[](23);
        nl.registerOut = new bytes(16);
        nl.proof = new bytes(1_376);
        assertLe(abi.encode(nl).length, abi.encode(c).length);
        assertLe(abi.encode(c).length, game.MAX_LEAF_BYTES());
    }

    // ------------------------------------------------------------ disputes

    /// Plays game `gameId` with the aggregator claiming `claimed` states and the challenger
    /// agreeing iff the claim is the honest state (honest) or iff mid <= `target` (steering).
    function _play(uint256 gameId, bool claimed, bool honest, uint256 target) internal {
        while (game.game(gameId).status == BisectionGame.GameStatus.AwaitingMid) {
            BisectionGame.GameView memory g = game.game(gameId);
            uint64 mid = g.lo + (g.hi - g.lo) / 2;
            bytes32 hMid = _clippedStateHash(mid, claimed);
            vm.prank(aggregator);
            game.bisect(gameId, g.lo, g.hi, g.hHi, hMid);
            bool agree = honest ? hMid == _clippedStateHash(mid, false) : mid <= target;
            vm.prank(g.challenger);
            game.respond(gameId, mid, hMid, agree);
        }
    }

    /// A challenger disputing a correct clipped FedAvg result loses at whichever step it
    /// steers to: a Norm step, a Scale step (of a clipped participant), a Clip step (an
    /// Accumulate of a clipped participant, the first base step, the last step).
    function test_dispute_honestClippedFedAvg_aggregatorWinsAtNormScaleAndClip() public {
        _fedAvgRound();
        uint256[5] memory targets = [uint256(4), 5, 13, 12, 21];
        for (uint256 t; t < 5; ++t) {
            address who = address(uint160(0xC1A0 + t));
            vm.deal(who, 10 ether);
            uint256 gameId = _challenge(roundId, who);
            _play(gameId, false, false, targets[t]);
            BisectionGame.GameView memory g = game.game(gameId);
            assertEq(g.lo, targets[t]);
            vm.prank(aggregator);
            game.proveLeaf(gameId, _clippedLeafInput(g.lo));
            assertTrue(game.game(gameId).status == BisectionGame.GameStatus.AggregatorWon);
            extraActors.push(who);
        }
        assertTrue(_status(roundId) == RoundRegistry.RoundStatus.Posted);
        _assertConserved();
    }

    /// An aggregator that posts the median of the unclipped values (it skipped the clipping)
    /// loses: the honest challenger pins the first output it got wrong, the last step's
    /// TrimEmit under the Clip, where the aggregator's claim cannot be proven.
    function test_dispute_unclippedMedian_challengerWinsAtClip() public {
        _buildClippedRound(1, NONE, TAU, 3, 20, 23); // C = 1: P = 6, T_b = 100, T = 106
        int32[] memory column = new int32[](3);
        bool differs;
        for (uint256 l; l < 32; ++l) {
            for (uint256 c; c < 3; ++c) {
                column[c] = rawLeafOf[c][0][l];
            }
            claimedOutputOf[0][l] = OrderRef.sortedMean(column, trimK);
            if (claimedOutputOf[0][l] != outputOf[0][l]) differs = true;
        }
        assertTrue(differs, "clipping changes the median");
        _postClaimed();
        uint256 gameId = _challenge(roundId, challenger);
        _play(gameId, true, true, 0);
        BisectionGame.GameView memory g = game.game(gameId);
        assertEq(g.lo, 105, "the last step: TrimEmit of row 0 under the Clip");
        assertEq(g.hHi, registry.finalState(roundId), "the aggregator's claim hT");
        // The aggregator's output does not prove.
        ClipChecker.ClipLeaf memory cl = _clipLeaf(105);
        TrimEmitChecker.TrimEmitLeaf memory e = abi.decode(cl.baseLeaf, (TrimEmitChecker.TrimEmitLeaf));
        e.values = Ref.encodeValues(claimedOutputOf[0]);
        cl.baseLeaf = abi.encode(e);
        vm.expectRevert(abi.encodeWithSelector(StepChecker.ProofRejected.selector, address(trimEmitVerifier)));
        game.proveLeaf(gameId, abi.encode(cl));
        vm.prank(challenger);
        game.proveLeaf(gameId, _clippedLeafInput(105));
        assertTrue(game.game(gameId).status == BisectionGame.GameStatus.ChallengerWon);
        assertTrue(_status(roundId) == RoundRegistry.RoundStatus.Rejected);
        _assertConserved();
    }

    /// An aggregator that claims a wrong scale in the prologue loses at that Scale step.
    function test_dispute_wrongScale_challengerWinsAtScale() public {
        _buildClippedRound(0, NONE, TAU, 3, 40, 24);
        _postHonest();
        uint256 gameId = _challenge(roundId, challenger);
        // The aggregator's trace: participant 1's scale claimed as 2^32 (no clipping) from
        // state 6 (after row 1's Scale step) on.
        uint256 honestScale = scales[1];
        assertLt(honestScale, 1 << 32);
        while (game.game(gameId).status == BisectionGame.GameStatus.AwaitingMid) {
            BisectionGame.GameView memory g = game.game(gameId);
            uint64 mid = g.lo + (g.hi - g.lo) / 2;
            scales[1] = 1 << 32;
            bytes32 hMid = _clippedStateHash(mid, false);
            scales[1] = honestScale;
            if (mid < 6) hMid = _clippedStateHash(mid, false);
            vm.prank(aggregator);
            game.bisect(gameId, g.lo, g.hi, g.hHi, hMid);
            vm.prank(challenger);
            game.respond(gameId, mid, hMid, hMid == _clippedStateHash(mid, false));
        }
        assertEq(game.game(gameId).lo, 5, "row 1's Scale step");
        vm.prank(challenger);
        game.proveLeaf(gameId, _clippedLeafInput(5));
        assertTrue(game.game(gameId).status == BisectionGame.GameStatus.ChallengerWon);
    }
}

/// A verifier that accepts exactly one calldata (instances ‖ proof).
contract ClipCalldataRecorder {
    bytes32 internal immutable expected;

    constructor(bytes32 expected_) {
        expected = expected_;
    }

    fallback(bytes calldata input) external returns (bytes memory) {
        require(keccak256(input) == expected, "unexpected verifier calldata");
        return "";
    }
}
