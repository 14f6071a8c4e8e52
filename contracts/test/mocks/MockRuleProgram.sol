// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {IRuleProgram} from "../../src/interfaces/IRuleProgram.sol";
import {FedAvgProgram} from "../../src/programs/FedAvgProgram.sol";

/// @title MockRuleProgram
/// @notice A second rule for the plug-in tests: FedAvg's schedule and states, with one
///         parameter `abi.encode(uint256 lastKind)`, the step kind its last step runs (FedAvg's
///         is 1, Finalize), and a round needing at least two clients. It exercises parameter
///         validation with reasons, stored parameters reaching the program, and a kind id past
///         the arbiter's checker table.
contract MockRuleProgram is IRuleProgram {
    uint8 public immutable rule;
    FedAvgProgram internal immutable fedAvg = new FedAvgProgram();

    constructor(uint8 rule_) {
        rule = rule_;
    }

    function validate(bytes calldata params, uint256 n, uint256) external view {
        if (params.length != 32) {
            revert InvalidRuleParams(rule, "params: abi.encode(uint256 lastKind), 32 bytes");
        }
        if (abi.decode(params, (uint256)) > 255) revert InvalidRuleParams(rule, "lastKind: at most 255");
        if (n < 2) revert InvalidRuleParams(rule, "n: at least 2 clients");
    }

    function steps(bytes calldata params, uint256 n, uint256 dim) external view returns (uint64) {
        return fedAvg.steps(params[:0], n, dim);
    }

    function stepAt(bytes calldata params, uint256 n, uint256 dim, uint64 step)
        external
        view
        returns (uint8 kind, uint256 row, uint256 col, bytes memory kindParams)
    {
        (kind, row, col, kindParams) = fedAvg.stepAt(params[:0], n, dim, step);
        if (step + 1 == fedAvg.steps(params[:0], n, dim)) kind = uint8(abi.decode(params, (uint256)));
    }

    function stepView(bytes calldata params, uint256 n, uint256 dim, uint64 step)
        external
        view
        returns (StepView memory v)
    {
        v = fedAvg.stepView(params[:0], n, dim, step);
        if (step + 1 == v.steps) v.kind = uint8(abi.decode(params, (uint256)));
    }

    function initialState(bytes32 configHash, bytes calldata params, uint256 n, uint256 dim)
        external
        view
        returns (bytes32)
    {
        return fedAvg.initialState(configHash, params[:0], n, dim);
    }

    function finalState(bytes32 configHash, bytes calldata params, uint256 n, uint256 dim, bytes32 outputRoot)
        external
        view
        returns (bytes32)
    {
        return fedAvg.finalState(configHash, params[:0], n, dim, outputRoot);
    }

    function name() external pure returns (string memory) {
        return "MockRule";
    }
}
