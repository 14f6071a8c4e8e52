// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// @title ILeafArbiter
/// @notice Computes the true post-state of one disputed VM step from its pre-state preimage and
///         a Halo2 step proof.
interface ILeafArbiter {
    /// @notice Everything a leaf needs: the preimage of the pre-state, the step's inputs with
    ///         their Merkle openings, the claimed register after the step and the proof.
    /// @dev Byte fields are big-endian two's complement: `acc`/`accOut` 32 × int64 (256 bytes),
    ///      `values` 32 × int32 (128 bytes). For a Finalize step `updateRoot`, `weight`,
    ///      `inputPath` and `accOut` are unused and must be zero/empty, `values` is the output
    ///      leaf and `valuesPath` the opening of output leaf j in `outputRoot`.
    struct LeafInput {
        bytes acc;
        bytes32 outputRoot;
        bytes32 updateRoot;
        uint32 weight;
        bytes32[] inputPath;
        bytes values;
        bytes32[] valuesPath;
        bytes accOut;
        bytes proof;
    }

    /// @notice The true commitment of state `step + 1` given the agreed commitment `hPre` of
    ///         state `step`. Reverts (never returns a wrong answer) if the preimage, an opening
    ///         or the proof does not check out.
    /// @param roundId The round whose program runs.
    /// @param step The index of the step (its pre-state index).
    /// @param hPre The agreed commitment of state `step`.
    /// @param leaf The preimage, openings and proof.
    /// @return The commitment of state `step + 1`.
    function postState(uint256 roundId, uint64 step, bytes32 hPre, LeafInput calldata leaf)
        external
        view
        returns (bytes32);

    /// @notice keccak(abi.encode(codehash of each step kind's verifier, in step-kind order)):
    ///         the verifying keys a round's config hash binds.
    /// @return The hash.
    function stepVerifiersHash() external view returns (bytes32);
}
