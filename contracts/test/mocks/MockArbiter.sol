// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {ILeafArbiter} from "../../src/interfaces/ILeafArbiter.sol";
import {IRuleProgram} from "../../src/interfaces/IRuleProgram.sol";
import {FedAvgProgram} from "../../src/programs/FedAvgProgram.sol";
import {MedianProgram} from "../../src/programs/MedianProgram.sol";
import {TrimmedMeanProgram} from "../../src/programs/TrimmedMeanProgram.sol";

/// @title MockArbiter
/// @notice A leaf arbiter whose answer the test sets: lets game tests reach every leaf outcome
///         without proofs. It records the arguments of the last query through a view-safe echo:
///         `postState` reverts with `UnexpectedQuery` unless (roundId, step, hPre) match what
///         the test expects, so tests also check what the game asks. Its program table is the
///         real one (FedAvg 0, Median 1, TrimmedMean 2), so a real registry can open rounds of
///         every rule through it.
contract MockArbiter is ILeafArbiter {
    error UnexpectedQuery(uint256 roundId, uint64 step, bytes32 hPre);
    error ArbiterRejects();
    error UnknownRule(uint8 rule);

    bytes32 public answer;
    bytes32 public constant stepVerifiersHash = keccak256("mock verifiers");
    IRuleProgram public immutable fedAvg = new FedAvgProgram();
    IRuleProgram public immutable median = new MedianProgram();
    IRuleProgram public immutable trimmedMean = new TrimmedMeanProgram();
    bool public rejects;
    bool public checkQuery;
    uint256 public expectedRound;
    uint64 public expectedStep;
    bytes32 public expectedPre;

    function setAnswer(bytes32 answer_) external {
        answer = answer_;
    }

    function setRejects(bool rejects_) external {
        rejects = rejects_;
    }

    function expectQuery(uint256 roundId, uint64 step, bytes32 hPre) external {
        checkQuery = true;
        (expectedRound, expectedStep, expectedPre) = (roundId, step, hPre);
    }

    function postState(uint256 roundId, uint64 step, bytes32 hPre, bytes calldata)
        external
        view
        returns (bytes32)
    {
        if (rejects) revert ArbiterRejects();
        if (checkQuery && (roundId != expectedRound || step != expectedStep || hPre != expectedPre)) {
            revert UnexpectedQuery(roundId, step, hPre);
        }
        return answer;
    }

    function program(uint8 rule) external view returns (IRuleProgram) {
        if (rule == 0) return fedAvg;
        if (rule == 1) return median;
        if (rule == 2) return trimmedMean;
        revert UnknownRule(rule);
    }
}
