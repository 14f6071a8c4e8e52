// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// @title IStepChecker
/// @notice Checks one disputed step of one step kind (docs/ARCHITECTURE.md §4, §5): the
///         preimage of the agreed pre-state, the openings of the step's inputs, and the kind's
///         Halo2 proof, and returns the true commitment of the post-state. The leaf arbiter
///         holds one checker per step kind id.
/// @dev The `leaf` is `abi.encode(<the kind's leaf struct>)`, declared by the checker (which
///      exposes it in its ABI through `encodeLeaf`). A checker refuses a non-canonical encoding
///      and reverts on anything that does not check out; it never returns a wrong answer.
interface IStepChecker {
    /// @notice Where the step lies and the round values its check needs.
    struct StepContext {
        /// The round's config hash.
        bytes32 configHash;
        /// Root of the participant-leaf tree.
        bytes32 inputRoot;
        /// Number of participants.
        uint256 n;
        /// Model dimension.
        uint256 dim;
        /// W, the sum of the participants' weights.
        uint256 totalWeight;
        /// The step (its pre-state index).
        uint64 step;
        /// The step's row in the program's grid.
        uint256 row;
        /// The step's column in the program's grid.
        uint256 col;
        /// The step kind's parameters, from the program's `stepAt` (not the rule's parameters):
        /// empty for FedAvg's kinds, `abi.encode(uint256 k)` for the order-statistic kinds; under
        /// a clipped rule `abi.encode(uint256 threshold)` (Scale), `abi.encode(ClipStep)` (Clip),
        /// and the `ClipChecker` appends the read participant's scale to a base kind's.
        bytes kindParams;
    }

    /// @notice The true commitment of state `s.step + 1` given the agreed commitment `hPre`
    ///         of state `s.step`; reverts unless the leaf checks out.
    /// @param s The step's context.
    /// @param hPre The agreed commitment of the pre-state.
    /// @param leaf `abi.encode` of the kind's leaf struct.
    /// @return The commitment of the post-state.
    function postState(StepContext calldata s, bytes32 hPre, bytes calldata leaf)
        external
        view
        returns (bytes32);

    /// @notice The kind's Halo2 verifier (its runtime code embeds the verifying key), or
    ///         `address(0)` for a kind with no proof of its own (`ClipChecker`, which hands the
    ///         step to a base kind's checker).
    /// @return The verifier's address.
    function verifier() external view returns (address);

    /// @notice The step kind's name, for people and logs.
    /// @return The name.
    function name() external view returns (string memory);
}
