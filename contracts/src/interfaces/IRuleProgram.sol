// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// @title IRuleProgram
/// @notice The schedule of one aggregation rule (docs/ARCHITECTURE.md §4): how many steps a
///         round's program has, which step kind runs at each step and at which position of the
///         program's grid, and the commitments of its first and last states. The leaf arbiter
///         holds one program per rule id; the step kinds it names are indices into the
///         arbiter's table of step checkers.
/// @dev A program is a pure function of its arguments (no storage besides immutables), so
///      every party computes the same schedule from the round's posted context.
interface IRuleProgram {
    /// @notice The rule's parameters are invalid; `reason` names the parameter and the bound.
    error InvalidRuleParams(uint8 rule, string reason);
    /// @notice The step index is not below the program's step count T.
    error StepOutOfRange(uint64 step, uint256 steps);
    /// @notice T does not fit 64 bits (never for a round the registry accepts).
    error ProgramTooLong(uint256 steps);

    /// @notice A step as `stepView` describes it: `stepAt`'s kind, position and kind
    ///         parameters, the participants it reads (each below n) and the program length T.
    struct StepView {
        uint8 kind;
        uint256 row;
        uint256 col;
        bytes kindParams;
        uint256[] participants;
        uint64 steps;
    }

    /// @notice Reverts `InvalidRuleParams` unless `params` are valid for a round of up to `n`
    ///         participants and `dim` values.
    /// @dev Called at `openRound`, when the participants are not known yet: `n` is then the
    ///      client count, an upper bound of the participant count, and params that pass must
    ///      stay valid for every participant count from 1 to `n`.
    /// @param params The rule's ABI-encoded parameters.
    /// @param n Number of participants (at `openRound`: of clients).
    /// @param dim Model dimension.
    function validate(bytes calldata params, uint256 n, uint256 dim) external view;

    /// @notice T, the number of steps of the program.
    /// @param params The rule's parameters.
    /// @param n Number of participants.
    /// @param dim Model dimension.
    /// @return The step count (at least 1).
    function steps(bytes calldata params, uint256 n, uint256 dim) external view returns (uint64);

    /// @notice What step `step` runs; reverts `StepOutOfRange(step, T)` when `step >= T`.
    /// @dev `kindParams` is what the step kind's checker needs from the rule besides the
    ///      round (it reaches the checker as `StepContext.kindParams`); the rule's own
    ///      parameters stay in the registry, bound by the config hash through their hash.
    /// @param params The rule's parameters.
    /// @param n Number of participants.
    /// @param dim Model dimension.
    /// @param step The step (from state `step` to state `step + 1`).
    /// @return kind The step kind: index into the arbiter's table of step checkers.
    /// @return row The step's row in the program's grid (FedAvg: the chunk).
    /// @return col The step's column in the program's grid (FedAvg: the slot).
    /// @return kindParams The kind's parameters, ABI-encoded (FedAvg: empty; Median and
    ///         TrimmedMean: `abi.encode(uint256 k)`, the values trimmed at each end; the clipped
    ///         rules: see `ClippedProgram`).
    function stepAt(bytes calldata params, uint256 n, uint256 dim, uint64 step)
        external
        view
        returns (uint8 kind, uint256 row, uint256 col, bytes memory kindParams);

    /// @notice Step `step` as `stepAt` gives it, with the participants whose updates it reads
    ///         and the program length T: what a program wrapping this one (a clipped rule)
    ///         needs of a step, in one call; reverts `StepOutOfRange(step, T)` when `step >= T`.
    /// @dev `participants` are in the order the kind's checker opens them (none, one, or
    ///      two); a clipped rule (docs/design/clipping.md) opens their scales for the step.
    ///      FedAvg: column `col < n` reads participant `col`; the order-statistic rules: column
    ///      `col < 33n` reads participant `col mod n`; the distance family: a Distance step its
    ///      pair (a, b), a last-phase step reading a value leaf participant `col mod n`; a
    ///      clipped rule: a Norm step its row, a Scale step none, a base step the base
    ///      program's.
    /// @param params The rule's parameters.
    /// @param n Number of participants.
    /// @param dim Model dimension.
    /// @param step The step.
    /// @return v The step, its reads and T.
    function stepView(bytes calldata params, uint256 n, uint256 dim, uint64 step)
        external
        view
        returns (StepView memory v);

    /// @notice h_0, the commitment of the program's initial state, computed on chain.
    /// @param configHash The round's config hash.
    /// @param params The rule's parameters.
    /// @param n Number of participants.
    /// @param dim Model dimension.
    /// @return The commitment.
    function initialState(bytes32 configHash, bytes calldata params, uint256 n, uint256 dim)
        external
        view
        returns (bytes32);

    /// @notice h_T, the commitment of the final state whose output tree has root `outputRoot`:
    ///         the aggregator's claim, derived from the posted output root alone.
    /// @param configHash The round's config hash.
    /// @param params The rule's parameters.
    /// @param n Number of participants.
    /// @param dim Model dimension.
    /// @param outputRoot The posted output root.
    /// @return The commitment.
    function finalState(bytes32 configHash, bytes calldata params, uint256 n, uint256 dim, bytes32 outputRoot)
        external
        view
        returns (bytes32);

    /// @notice The rule's name, for people and logs.
    /// @return The name.
    function name() external view returns (string memory);
}
