// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {IRuleProgram} from "./IRuleProgram.sol";

/// @title ILeafArbiter
/// @notice Computes the true post-state of one disputed VM step: asks the round's rule program
///         which step kind runs there and forwards the leaf to that kind's step checker.
interface ILeafArbiter {
    /// @notice The true commitment of state `step + 1` given the agreed commitment `hPre` of
    ///         state `step`. Reverts (never returns a wrong answer) if the step is out of range,
    ///         or the preimage, an opening or the proof does not check out.
    /// @param roundId The round whose program runs.
    /// @param step The index of the step (its pre-state index).
    /// @param hPre The agreed commitment of state `step`.
    /// @param leaf `abi.encode` of the step kind's leaf struct (see the kind's checker).
    /// @return The commitment of state `step + 1`.
    function postState(uint256 roundId, uint64 step, bytes32 hPre, bytes calldata leaf)
        external
        view
        returns (bytes32);

    /// @notice keccak(abi.encodePacked(codehash of each step kind's verifier, in step-kind
    ///         order)): the verifying keys a round's config hash binds; bytes32(0) for a kind
    ///         whose checker has no verifier (`verifier() == address(0)`).
    /// @return The hash.
    function stepVerifiersHash() external view returns (bytes32);

    /// @notice The program of rule `rule`; reverts `UnknownRule(rule)` past the table.
    /// @param rule The rule id.
    /// @return The program.
    function program(uint8 rule) external view returns (IRuleProgram);
}
