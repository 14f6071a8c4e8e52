// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// @title IRoundRegistry
/// @notice What the game and the arbiter need from the round registry.
interface IRoundRegistry {
    /// @notice The program context of a posted round, as the leaf arbiter needs it.
    struct ProgramContext {
        /// The round's config hash (docs/ARCHITECTURE.md §3).
        bytes32 configHash;
        /// Root of the participant-leaf tree.
        bytes32 inputRoot;
        /// Number of participants.
        uint32 n;
        /// Model dimension.
        uint32 dim;
        /// W, the sum of the participants' weights.
        uint64 totalWeight;
        /// The aggregation rule (index into the arbiter's program table).
        uint8 rule;
        /// The rule's ABI-encoded parameters.
        bytes ruleParams;
    }

    /// @notice The program context of a posted round.
    /// @param roundId The round.
    /// @return The context.
    function stepContext(uint256 roundId) external view returns (ProgramContext memory);

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
