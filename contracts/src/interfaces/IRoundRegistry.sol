// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// @title IRoundRegistry
/// @notice What the game and the arbiter need from the round registry.
interface IRoundRegistry {
    /// @notice The program context of a posted round, as the leaf arbiter needs it.
    /// @param roundId The round.
    /// @return configHash The round's config hash (docs/ARCHITECTURE.md §3).
    /// @return inputRoot Root of the participant-leaf tree.
    /// @return n Number of participants.
    /// @return dim Model dimension.
    /// @return totalWeight W, the sum of the participants' weights.
    function stepContext(uint256 roundId)
        external
        view
        returns (bytes32 configHash, bytes32 inputRoot, uint32 n, uint32 dim, uint64 totalWeight);

    /// @notice Settles the bonds of a finished game; only the game contract may call it.
    /// @param gameId The game.
    /// @param roundId The round it disputed.
    /// @param aggregator The round's aggregator.
    /// @param challenger The game's challenger.
    /// @param aggregatorWon Whether the aggregator's claim stood.
    function resolveGame(
        uint256 gameId,
        uint256 roundId,
        address aggregator,
        address challenger,
        bool aggregatorWon
    ) external;
}
