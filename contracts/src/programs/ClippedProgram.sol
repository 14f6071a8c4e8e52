// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Commitments} from "../lib/Commitments.sol";
import {IRuleProgram} from "../interfaces/IRuleProgram.sol";
import {ClipChecker} from "../checkers/ClipChecker.sol";
import {Decimal} from "../lib/Decimal.sol";

/// @notice The rule id a base program declares (`FedAvgProgram.RULE`, `MedianProgram.RULE`,
///         `TrimmedMeanProgram.RULE`, `SelectedProgram.RULE`).
interface IRuleId {
    /// @notice The program's rule id.
    /// @return The id.
    function RULE() external view returns (uint8);
}

/// @title ClippedProgram
/// @notice The schedule of a clipped rule (docs/design/clipping.md): L2 norm clipping of every
///         participant's update to the round's threshold τ, then a base rule over the clipped
///         values. Rules 3, 4, 5 are this program over FedAvg (0), Median (1), TrimmedMean (2),
///         rules 9, 10, 11 over Krum (6), Multi-Krum (7), Bulyan (8): params
///         `abi.encode(uint32 τ) ‖ baseParams`.
///
///         A prologue of P = n·(C + 1) steps, then the base program's T_b steps: T = P + T_b.
///         Prologue step k < P has row i = k / (C+1) (the participant) and column
///         c = k mod (C+1): a Norm step (kind 5) over participant i's value leaf c for c < C,
///         participant i's Scale step (kind 6, `kindParams = abi.encode(uint256 τ)`) at c = C.
///         State k <= P: keccak(abi.encode(configHash, uint256 k, normRegisterHash, scalesRoot))
///         (the scales tree: n leaves, leaf i = keccak(0x04 ‖ be64(s_i)) once written, else 0).
///         Step P + b is a Clip step (kind 7) wrapping base step b at the base step's row and
///         column, `kindParams = abi.encode(ClipChecker.ClipStep)`; states P < k < T are
///         keccak(0x05 ‖ h^base_{k-P} ‖ scalesRoot), state T is the base's final state.
/// @dev Deployed once per base rule. A pure function of its arguments and the base program
///      (immutable). The base's parameter refusals pass through unchanged (they name the base
///      rule's id); the threshold's name this program's.
contract ClippedProgram is IRuleProgram {
    /// @notice Step kind of adding a value leaf's squares to the norm register.
    uint8 public constant KIND_NORM = 5;
    /// @notice Step kind of writing a participant's scale and clearing the norm register.
    uint8 public constant KIND_SCALE = 6;
    /// @notice Step kind of a base step over the clipped values.
    uint8 public constant KIND_CLIP = 7;
    /// @notice A clipped rule's id is its base rule's plus this.
    uint8 public constant RULE_OFFSET = 3;

    /// @notice The base rule's program.
    IRuleProgram public immutable base;
    /// @notice This program's rule id: the base's `RULE()` + 3.
    uint8 public immutable RULE;

    /// @param base_ The base rule's program (with a `RULE()` below 253).
    constructor(IRuleProgram base_) {
        base = base_;
        RULE = IRuleId(address(base_)).RULE() + RULE_OFFSET;
    }

    /// @inheritdoc IRuleProgram
    function validate(bytes calldata params, uint256 n, uint256 dim) external view {
        (, bytes calldata baseParams) = _split(params);
        base.validate(baseParams, n, dim);
    }

    /// @inheritdoc IRuleProgram
    function steps(bytes calldata params, uint256 n, uint256 dim) external view returns (uint64) {
        (, bytes calldata baseParams) = _split(params);
        (uint64 t,) = _steps(baseParams, n, dim);
        return t;
    }

    /// @inheritdoc IRuleProgram
    function stepAt(bytes calldata params, uint256 n, uint256 dim, uint64 step)
        external
        view
        returns (uint8 kind, uint256 row, uint256 col, bytes memory kindParams)
    {
        StepView memory v = _view(params, n, dim, step, false);
        return (v.kind, v.row, v.col, v.kindParams);
    }

    /// @inheritdoc IRuleProgram
    function stepView(bytes calldata params, uint256 n, uint256 dim, uint64 step)
        external
        view
        returns (StepView memory)
    {
        return _view(params, n, dim, step, true);
    }

    /// @inheritdoc IRuleProgram
    /// @dev The zero norm register and the empty scales tree (n leaves).
    function initialState(bytes32 configHash, bytes calldata params, uint256 n, uint256 dim)
        external
        pure
        returns (bytes32)
    {
        params;
        dim;
        return Commitments.stateHash(
            configHash, 0, Commitments.ZERO_NORM_HASH, Commitments.emptyRoot(Commitments.depthFor(n))
        );
    }

    /// @inheritdoc IRuleProgram
    /// @dev The base program's final state, unwrapped (the claim follows from the output root).
    function finalState(bytes32 configHash, bytes calldata params, uint256 n, uint256 dim, bytes32 outputRoot)
        external
        view
        returns (bytes32)
    {
        (, bytes calldata baseParams) = _split(params);
        return base.finalState(configHash, baseParams, n, dim, outputRoot);
    }

    /// @inheritdoc IRuleProgram
    function name() external view returns (string memory) {
        return string.concat("Clipped", base.name());
    }

    /// @notice The threshold τ of `params`; reverts `InvalidRuleParams` unless its first word
    ///         is a canonical `abi.encode(uint32 τ)` with τ >= 1.
    /// @param params The rule's parameters.
    /// @return The threshold (Q15.16).
    function threshold(bytes calldata params) external view returns (uint256) {
        (uint256 tau,) = _split(params);
        return tau;
    }

    /// The threshold word and the base's parameters (the rest); reverts `InvalidRuleParams`
    /// naming `threshold` and its bound unless the first word is a canonical
    /// `abi.encode(uint32 τ)`, 1 <= τ < 2^32.
    function _split(bytes calldata params)
        private
        view
        returns (uint256 threshold_, bytes calldata baseParams)
    {
        if (params.length < 32) {
            revert InvalidRuleParams(
                RULE,
                string.concat(
                    "params must start with abi.encode(uint32 threshold), 32 bytes; got ",
                    Decimal.format(params.length),
                    " bytes"
                )
            );
        }
        // At least 32 bytes, checked above.
        // forge-lint: disable-next-line(unsafe-typecast)
        threshold_ = uint256(bytes32(params[:32]));
        if (threshold_ == 0) {
            revert InvalidRuleParams(RULE, "threshold must be at least 1 (Q15.16, i.e. 2^-16), got 0");
        }
        if (threshold_ > type(uint32).max) {
            revert InvalidRuleParams(
                RULE,
                string.concat(
                    "threshold must be below 2^32 (a canonical abi.encode(uint32)), got ",
                    Decimal.format(threshold_)
                )
            );
        }
        baseParams = params[32:];
    }

    /// Step `step`: a prologue step (a Norm step reads its row's participant, a Scale step
    /// none), or base step b = step - P as a Clip step at the base step's row and column,
    /// `kindParams = abi.encode(ClipStep)`, reading the base step's participants (one call
    /// into the base program); reverts `StepOutOfRange(step, T)` past the program. A prologue
    /// step's `steps` is T only `withSteps` (it costs a call `stepAt` does without), else 0.
    function _view(bytes calldata params, uint256 n, uint256 dim, uint64 step, bool withSteps)
        private
        view
        returns (StepView memory v)
    {
        (uint256 tau, bytes calldata baseParams) = _split(params);
        uint256 perRow = Commitments.chunkCount(dim) + 1;
        uint256 prologue = n * perRow;
        if (step < prologue) {
            if (withSteps) (v.steps,) = _steps(baseParams, n, dim);
            v.row = step / perRow;
            v.col = step % perRow;
            if (v.col + 1 < perRow) {
                v.kind = KIND_NORM;
                v.participants = new uint256[](1);
                v.participants[0] = v.row;
            } else {
                v.kind = KIND_SCALE;
                v.kindParams = abi.encode(tau);
            }
            return v;
        }
        // Below `step`.
        // forge-lint: disable-next-line(unsafe-typecast)
        uint64 b = uint64(step - prologue);
        StepView memory bv = _baseView(baseParams, n, dim, b, step, prologue);
        uint256 total = prologue + bv.steps;
        if (total > type(uint64).max) revert ProgramTooLong(total);
        // Checked just above.
        // forge-lint: disable-next-line(unsafe-typecast)
        v.steps = uint64(total);
        (v.row, v.col, v.participants) = (bv.row, bv.col, bv.participants);
        ClipChecker.ClipStep memory c;
        c.baseKind = bv.kind;
        c.baseStep = b;
        c.first = b == 0;
        c.last = b + 1 == bv.steps;
        c.participants = bv.participants;
        c.baseKindParams = bv.kindParams;
        c.baseProgram = address(base);
        c.baseParams = baseParams;
        v.kind = KIND_CLIP;
        v.kindParams = abi.encode(c);
    }

    /// The base program's view of its step b; its `StepOutOfRange(b, T_b)` becomes this
    /// program's `StepOutOfRange(step, P + T_b)`, any other revert passes through unchanged.
    function _baseView(
        bytes calldata baseParams,
        uint256 n,
        uint256 dim,
        uint64 b,
        uint64 step,
        uint256 prologue
    ) private view returns (StepView memory) {
        try base.stepView(baseParams, n, dim, b) returns (StepView memory bv) {
            return bv;
        } catch (bytes memory reason) {
            if (reason.length == 4 + 64 && bytes4(reason) == StepOutOfRange.selector) {
                uint256 baseSteps;
                assembly ("memory-safe") {
                    baseSteps := mload(add(reason, 68))
                }
                revert StepOutOfRange(step, prologue + baseSteps);
            }
            assembly ("memory-safe") {
                revert(add(reason, 32), mload(reason))
            }
        }
    }

    /// (T, T_b): T = P + T_b with the prologue P = n·(C + 1); reverts `ProgramTooLong` past
    /// 64 bits (never for a round the registry accepts: P < 2^32, T_b < 2^37).
    function _steps(bytes calldata baseParams, uint256 n, uint256 dim)
        private
        view
        returns (uint64 t, uint64 baseSteps)
    {
        baseSteps = base.steps(baseParams, n, dim);
        uint256 total = n * (Commitments.chunkCount(dim) + 1) + baseSteps;
        if (total > type(uint64).max) revert ProgramTooLong(total);
        // Checked just above.
        // forge-lint: disable-next-line(unsafe-typecast)
        t = uint64(total);
    }
}
