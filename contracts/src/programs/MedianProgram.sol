// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {IRuleProgram} from "../interfaces/IRuleProgram.sol";
import {OrderMeanProgram} from "./OrderMeanProgram.sol";

/// @title MedianProgram
/// @notice Rule 1, the coordinate-wise median (unweighted): the order-statistic schedule
///         (`OrderMeanProgram`) with trim k = floor((n-1)/2), so the mean of the one (odd n)
///         or two (even n) middle values, rounded half up. No parameters.
contract MedianProgram is OrderMeanProgram {
    /// @notice This program's rule id.
    uint8 public constant RULE = 1;

    /// @inheritdoc IRuleProgram
    function validate(bytes calldata params, uint256 n, uint256 dim) external pure {
        n;
        dim;
        _requireNoParams(params);
    }

    /// @inheritdoc OrderMeanProgram
    function trim(bytes calldata params, uint256 n) public pure override returns (uint256) {
        _requireNoParams(params);
        // step-vm: n.saturating_sub(1) / 2 (n >= 1 in every posted round).
        return n == 0 ? 0 : (n - 1) / 2;
    }

    /// @inheritdoc IRuleProgram
    function name() external pure returns (string memory) {
        return "Median";
    }

    function _requireNoParams(bytes calldata params) private pure {
        if (params.length != 0) revert InvalidRuleParams(RULE, "Median takes no parameters");
    }
}
