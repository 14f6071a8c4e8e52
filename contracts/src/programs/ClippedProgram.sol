// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Commitments} from "../lib/Commitments.sol";
import {IRuleProgram} from "../interfaces/IRuleProgram.sol";
import {ClipChecker} from "../checkers/ClipChecker.sol";

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
        (uint256 tau, bytes calldata baseParams) = _split(params);
        uint256 perRow = Commitments.chunkCount(dim) + 1;
        uint256 prologue = n * perRow;
        if (step < prologue) {
            row = step / perRow;
            col = step % perRow;
            if (col + 1 < perRow) {
                kind = KIND_NORM;
            } else {
                kind = KIND_SCALE;
                kindParams = abi.encode(tau);
            }
            return (kind, row, col, kindParams);
        }
        (row, col, kindParams) = _clipStepAt(baseParams, n, dim, step, prologue);
        return (KIND_CLIP, row, col, kindParams);
    }

    /// @inheritdoc IRuleProgram
    function participantsAt(bytes calldata params, uint256 n, uint256 dim, uint64 step)
        external
        view
        returns (uint256[] memory participants)
    {
        (, bytes calldata baseParams) = _split(params);
        uint256 perRow = Commitments.chunkCount(dim) + 1;
        uint256 prologue = n * perRow;
        if (step < prologue) {
            // A Norm step (column < C) reads its row's participant; a Scale step none.
            if (step % perRow + 1 < perRow) {
                participants = new uint256[](1);
                participants[0] = step / perRow;
            }
            return participants;
        }
        (uint64 t,) = _steps(baseParams, n, dim);
        if (step >= t) revert StepOutOfRange(step, t);
        // Below T_b.
        // forge-lint: disable-next-line(unsafe-typecast)
        return base.participantsAt(baseParams, n, dim, uint64(step - prologue));
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
                    _decimal(params.length),
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
                    _decimal(threshold_)
                )
            );
        }
        baseParams = params[32:];
    }

    /// Row, column and `kindParams = abi.encode(ClipStep)` of step `step >= prologue`: base step
    /// b = step - P at the base step's own row and column; reverts `StepOutOfRange(step, T)`
    /// past the program.
    function _clipStepAt(bytes calldata baseParams, uint256 n, uint256 dim, uint64 step, uint256 prologue)
        private
        view
        returns (uint256 row, uint256 col, bytes memory kindParams)
    {
        (uint64 t, uint64 baseSteps) = _steps(baseParams, n, dim);
        if (step >= t) revert StepOutOfRange(step, t);
        ClipChecker.ClipStep memory c;
        // Below T_b <= 2^64 - 1.
        // forge-lint: disable-next-line(unsafe-typecast)
        c.baseStep = uint64(step - prologue);
        (c.baseKind, row, col, c.baseKindParams) = base.stepAt(baseParams, n, dim, c.baseStep);
        c.participants = base.participantsAt(baseParams, n, dim, c.baseStep);
        c.first = c.baseStep == 0;
        c.last = c.baseStep + 1 == baseSteps;
        c.baseProgram = address(base);
        c.baseParams = baseParams;
        kindParams = abi.encode(c);
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

    /// `v` in decimal (for the reasons above).
    function _decimal(uint256 v) private pure returns (string memory) {
        if (v == 0) return "0";
        uint256 digits;
        for (uint256 x = v; x != 0; x /= 10) {
            ++digits;
        }
        bytes memory s = new bytes(digits);
        for (; v != 0; v /= 10) {
            // A digit is below 10.
            // forge-lint: disable-next-line(unsafe-typecast)
            s[--digits] = bytes1(uint8(48 + v % 10));
        }
        return string(s);
    }
}
