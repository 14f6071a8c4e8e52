// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Commitments} from "../lib/Commitments.sol";
import {IRuleProgram} from "../interfaces/IRuleProgram.sol";

/// @title FedAvgProgram
/// @notice The schedule of rule 0, weighted FedAvg (docs/ARCHITECTURE.md §4): C = ceil(dim/32)
///         chunks of n + 1 steps, T = C·(n + 1). Step k has row (chunk) j = k / (n+1) and
///         column (slot) i = k mod (n+1): an Accumulate step (kind 0) of participant i for
///         i < n, the chunk's Finalize step (kind 1) for i = n. State k is committed as
///         keccak(abi.encode(configHash, uint256 k, accHash, outputRoot)); state 0 has the zero
///         register and the empty output tree, state T the zero register and the output root.
/// @dev Kind ids are indices into the arbiter's checker table: its deployment puts the
///      `AccumulateChecker` at 0 and the `FinalizeChecker` at 1. Its kinds take no kind
///      parameters (`stepAt` returns empty `kindParams`). Parameters the schedule does
///      not use are still named, for the ABI (and so the Rust bindings); a bare `name;`
///      statement marks them used.
contract FedAvgProgram is IRuleProgram {
    /// @notice This program's rule id.
    uint8 public constant RULE = 0;
    /// @notice Step kind of `acc' = acc + w_i·x` (checker table index).
    uint8 public constant KIND_ACCUMULATE = 0;
    /// @notice Step kind of writing output leaf j and clearing the register (checker table index).
    uint8 public constant KIND_FINALIZE = 1;

    /// @inheritdoc IRuleProgram
    function validate(bytes calldata params, uint256 n, uint256 dim) external pure {
        n;
        dim;
        if (params.length != 0) revert InvalidRuleParams(RULE, "FedAvg takes no parameters");
    }

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
        params;
        // FedAvg's kinds take nothing from the rule.
        kindParams = "";
        uint64 t = _steps(n, dim);
        if (step >= t) revert StepOutOfRange(step, t);
        uint256 perChunk = n + 1;
        row = step / perChunk;
        col = step % perChunk;
        kind = col < n ? KIND_ACCUMULATE : KIND_FINALIZE;
    }

    /// @inheritdoc IRuleProgram
    /// @dev An Accumulate step (column < n) reads participant `column`; Finalize none.
    function stepView(bytes calldata params, uint256 n, uint256 dim, uint64 step)
        external
        pure
        returns (StepView memory v)
    {
        (v.kind, v.row, v.col, v.kindParams) = stepAt(params, n, dim, step);
        v.steps = _steps(n, dim);
        if (v.kind == KIND_ACCUMULATE) {
            v.participants = new uint256[](1);
            v.participants[0] = v.col;
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
        return Commitments.stateHash(configHash, 0, Commitments.ZERO_ACC_HASH, Commitments.emptyRoot(depth));
    }

    /// @inheritdoc IRuleProgram
    function finalState(bytes32 configHash, bytes calldata params, uint256 n, uint256 dim, bytes32 outputRoot)
        external
        pure
        returns (bytes32)
    {
        params;
        return Commitments.stateHash(configHash, _steps(n, dim), Commitments.ZERO_ACC_HASH, outputRoot);
    }

    /// @inheritdoc IRuleProgram
    function name() external pure returns (string memory) {
        return "FedAvg";
    }

    /// T = C·(n+1). The registry bounds C <= 2^23 and n + 1 <= 256 (T < 2^31); larger inputs
    /// revert instead of wrapping.
    function _steps(uint256 n, uint256 dim) private pure returns (uint64) {
        uint256 t = Commitments.chunkCount(dim) * (n + 1);
        if (t > type(uint64).max) revert ProgramTooLong(t);
        // Checked just above.
        // forge-lint: disable-next-line(unsafe-typecast)
        return uint64(t);
    }
}
