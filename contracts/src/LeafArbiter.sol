// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {ILeafArbiter} from "./interfaces/ILeafArbiter.sol";
import {IRoundRegistry} from "./interfaces/IRoundRegistry.sol";
import {IRuleProgram} from "./interfaces/IRuleProgram.sol";
import {IStepChecker} from "./interfaces/IStepChecker.sol";

/// @title LeafArbiter
/// @notice Settles one VM step (docs/ARCHITECTURE.md §4, §5, §6) by table, fixed at deployment:
///         the round's rule id selects a rule program, which says what step kind runs at the
///         disputed step and where; the kind id selects a step checker, which checks the leaf
///         (pre-state preimage, openings, Halo2 proof) and returns the true post-state.
/// @dev The deployment: programs = [FedAvgProgram, MedianProgram, TrimmedMeanProgram,
///      ClippedProgram(FedAvg), ClippedProgram(Median), ClippedProgram(TrimmedMean)] (rules 0
///      to 5), checkers = [AccumulateChecker, FinalizeChecker, RankChecker, TrimSumChecker,
///      TrimEmitChecker, NormChecker, ScaleChecker, ClipChecker] (kinds 0 to 7), so
///      `stepVerifiersHash` is keccak of the eight kinds' verifier codehashes concatenated in
///      kind order, with bytes32(0) for the ClipChecker, which has no verifier of its own
///      (`verifier() == address(0)`: its steps are proven by the base kinds' verifiers, already
///      in the hash). Nothing here can change after deployment, so a round's config hash (which
///      binds the registry, hence this arbiter and its verifiers) fixes its semantics.
contract LeafArbiter is ILeafArbiter {
    // ---------------------------------------------------------------- errors

    /// @notice An address that must be nonzero is zero.
    error ZeroAddress();
    /// @notice A program or checker address has no code.
    error NoCode(address target);
    /// @notice A table is empty or has more than 256 entries (ids are uint8).
    error BadTableSize(string table, uint256 size);
    /// @notice No program has this rule id.
    error UnknownRule(uint8 rule);
    /// @notice No checker has this step kind id.
    error UnknownStepKind(uint8 kind);

    // ---------------------------------------------------------------- state

    /// @notice The round registry (program context of each round).
    IRoundRegistry public immutable registry;
    /// @inheritdoc ILeafArbiter
    bytes32 public immutable stepVerifiersHash;
    /// @notice Number of rule programs (rule ids are 0..programCount-1).
    uint256 public immutable programCount;
    /// @notice Number of step checkers (kind ids are 0..checkerCount-1).
    uint256 public immutable checkerCount;

    // Written once in the constructor. The counts are immutables, so a lookup costs one
    // storage read.
    mapping(uint256 rule => IRuleProgram) private _programs;
    mapping(uint256 kind => IStepChecker) private _checkers;

    /// @param registry_ The round registry.
    /// @param programs_ The rule programs, index = rule id (each must have code).
    /// @param checkers_ The step checkers, index = step kind id (each must have code).
    constructor(address registry_, address[] memory programs_, address[] memory checkers_) {
        if (registry_ == address(0)) revert ZeroAddress();
        if (programs_.length == 0 || programs_.length > 256) {
            revert BadTableSize("programs", programs_.length);
        }
        if (checkers_.length == 0 || checkers_.length > 256) {
            revert BadTableSize("checkers", checkers_.length);
        }
        registry = IRoundRegistry(registry_);
        programCount = programs_.length;
        checkerCount = checkers_.length;
        for (uint256 k; k < programs_.length; ++k) {
            if (programs_[k].code.length == 0) revert NoCode(programs_[k]);
            _programs[k] = IRuleProgram(programs_[k]);
        }
        bytes memory codehashes;
        for (uint256 k; k < checkers_.length; ++k) {
            if (checkers_[k].code.length == 0) revert NoCode(checkers_[k]);
            _checkers[k] = IStepChecker(checkers_[k]);
            // A kind without a verifier of its own (address(0)) binds bytes32(0), not the
            // codehash of address 0 (which depends on the chain: 0 if the account is empty,
            // keccak("") once it holds ether).
            address v = IStepChecker(checkers_[k]).verifier();
            codehashes = abi.encodePacked(codehashes, v == address(0) ? bytes32(0) : v.codehash);
        }
        stepVerifiersHash = keccak256(codehashes);
    }

    // ---------------------------------------------------------------- settling a step

    /// @inheritdoc ILeafArbiter
    function postState(uint256 roundId, uint64 step, bytes32 hPre, bytes calldata leaf)
        external
        view
        returns (bytes32)
    {
        IRoundRegistry.ProgramContext memory c = registry.stepContext(roundId);
        IStepChecker.StepContext memory s;
        uint8 kind;
        // stepAt also range-checks the step against T; the checker sees the kind's
        // parameters the program derives from the rule's, never the rule's own.
        (kind, s.row, s.col, s.kindParams) = program(c.rule).stepAt(c.ruleParams, c.n, c.dim, step);
        s.configHash = c.configHash;
        s.inputRoot = c.inputRoot;
        s.n = c.n;
        s.dim = c.dim;
        s.totalWeight = c.totalWeight;
        s.step = step;
        return checker(kind).postState(s, hPre, leaf);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc ILeafArbiter
    function program(uint8 rule) public view returns (IRuleProgram) {
        if (rule >= programCount) revert UnknownRule(rule);
        return _programs[rule];
    }

    /// @notice The checker of step kind `kind`; reverts `UnknownStepKind(kind)` past the table.
    /// @param kind The step kind id.
    /// @return The checker.
    function checker(uint8 kind) public view returns (IStepChecker) {
        if (kind >= checkerCount) revert UnknownStepKind(kind);
        return _checkers[kind];
    }
}
