// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// @title IBisectionGame
/// @notice What the registry needs from the game contract.
interface IBisectionGame {
    /// @notice Opens a game over the program of `roundId`; only the registry may call it.
    /// @param roundId The disputed round.
    /// @param aggregator The round's aggregator (defends hT).
    /// @param challenger The challenger (disputes hT).
    /// @param h0 The initial state commitment, computed on chain.
    /// @param hT The aggregator's final state commitment, derived from the posted output root.
    /// @param steps The program length T.
    /// @return gameId The new game's id (from 1).
    function open(
        uint256 roundId,
        address aggregator,
        address challenger,
        bytes32 h0,
        bytes32 hT,
        uint64 steps
    ) external returns (uint256 gameId);

    /// @notice The leaf arbiter the game settles single steps with.
    /// @return The arbiter's address.
    function arbiter() external view returns (address);

    /// @notice Base fee (wei) the challenger of `gameId` burnt on its own moves, metered.
    /// @param gameId The game.
    /// @return The cost.
    function challengerCost(uint256 gameId) external view returns (uint256);
}
