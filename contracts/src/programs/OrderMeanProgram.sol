// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Commitments} from "../lib/Commitments.sol";
import {IRuleProgram} from "../interfaces/IRuleProgram.sol";

/// @title OrderMeanProgram
/// @notice The schedule the order-statistic rules share (step-vm `rules/order_mean.rs`): the
///         mean of the values of ranks k..n-k-1 of each coordinate, rounded half up, with k
///         the rule's trim. C = ceil(dim/32) rows (chunks) of 33n + 1 columns,
///         T = C·(33n + 1). Step s has row j = s / (33n+1) and column c = s mod (33n+1):
///         a Rank step (kind 2) for c < 32n (pass c / n over participant c mod n), a TrimSum
///         step (kind 3) for 32n <= c < 33n (participant c - 32n), and the row's TrimEmit step
///         (kind 4) at c = 33n. State s is committed as
///         keccak(abi.encode(configHash, uint256 s, registerHash, outputRoot)) with the
///         160-word register (5 fields × 32 lanes); state 0 has the zero register and the empty
///         output tree, state T the zero register and the output root.
/// @dev A rule derives only its trim k(params, n) and validates its parameters; `stepAt`
///      hands k to the checkers as `kindParams = abi.encode(uint256 k)`. Kind ids are indices
///      into the arbiter's checker table (RankChecker 2, TrimSumChecker 3, TrimEmitChecker 4).
abstract contract OrderMeanProgram is IRuleProgram {
    /// @notice Step kind of one participant's read in a rank pass (checker table index).
    uint8 public constant KIND_RANK = 2;
    /// @notice Step kind of one participant's read in the sum pass (checker table index).
    uint8 public constant KIND_TRIM_SUM = 3;
    /// @notice Step kind of writing output leaf j and clearing the register (checker table index).
    uint8 public constant KIND_TRIM_EMIT = 4;
    /// @notice Rank passes per row (one per bit of a value).
    uint256 public constant RANK_PASSES = 32;

    /// @notice Values trimmed at each end of every coordinate for `n` participants; reverts
    ///         `InvalidRuleParams` on parameters `validate` refuses.
    /// @param params The rule's parameters.
    /// @param n Number of participants.
    /// @return k The trim, with 2k < n for every n >= 1.
    function trim(bytes calldata params, uint256 n) public pure virtual returns (uint256 k);

    /// @inheritdoc IRuleProgram
    function steps(bytes calldata params, uint256 n, uint256 dim) external pure returns (uint64) {
        params;
        return _steps(n, dim);
    }

    /// @inheritdoc IRuleProgram
    function stepAt(bytes calldata params, uint256 n, uint256 dim, uint64 step)
        public
        pure
        returns (uint8 kind, uint256 row, uint256 col, bytes memory kindParams)
    {
        uint64 t = _steps(n, dim);
        if (step >= t) revert StepOutOfRange(step, t);
        uint256 perRow = (RANK_PASSES + 1) * n + 1;
        row = step / perRow;
        col = step % perRow;
        if (col < RANK_PASSES * n) kind = KIND_RANK;
        else if (col < (RANK_PASSES + 1) * n) kind = KIND_TRIM_SUM;
        else kind = KIND_TRIM_EMIT;
        kindParams = abi.encode(trim(params, n));
    }

    /// @inheritdoc IRuleProgram
    /// @dev Rank (column < 32n) and TrimSum (32n <= column < 33n) read participant
    ///      `column mod n`; TrimEmit none.
    function stepView(bytes calldata params, uint256 n, uint256 dim, uint64 step)
        external
        pure
        returns (StepView memory v)
    {
        (v.kind, v.row, v.col, v.kindParams) = stepAt(params, n, dim, step);
        v.steps = _steps(n, dim);
        if (v.kind != KIND_TRIM_EMIT) {
            v.participants = new uint256[](1);
            v.participants[0] = v.col % n;
        }
    }

    /// @inheritdoc IRuleProgram
    function initialState(bytes32 configHash, bytes calldata params, uint256 n, uint256 dim)
        external
        pure
        returns (bytes32)
    {
        params;
        n;
        uint256 depth = Commitments.depthFor(Commitments.chunkCount(dim));
        return Commitments.stateHash(configHash, 0, Commitments.ZERO_STAT_HASH, Commitments.emptyRoot(depth));
    }

    /// @inheritdoc IRuleProgram
    function finalState(bytes32 configHash, bytes calldata params, uint256 n, uint256 dim, bytes32 outputRoot)
        external
        pure
        returns (bytes32)
    {
        params;
        return Commitments.stateHash(configHash, _steps(n, dim), Commitments.ZERO_STAT_HASH, outputRoot);
    }

    /// T = C·(33n+1). The registry bounds C <= 2^23 and n <= 255 (T < 2^37); larger inputs
    /// revert instead of wrapping.
    function _steps(uint256 n, uint256 dim) private pure returns (uint64) {
        uint256 t = Commitments.chunkCount(dim) * ((RANK_PASSES + 1) * n + 1);
        if (t > type(uint64).max) revert ProgramTooLong(t);
        // Checked just above.
        // forge-lint: disable-next-line(unsafe-typecast)
        return uint64(t);
    }
}
