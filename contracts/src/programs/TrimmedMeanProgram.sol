// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {IRuleProgram} from "../interfaces/IRuleProgram.sol";
import {OrderMeanProgram} from "./OrderMeanProgram.sol";
import {Decimal} from "../lib/Decimal.sol";

/// @title TrimmedMeanProgram
/// @notice Rule 2, the coordinate-wise trimmed mean (unweighted): the order-statistic schedule
///         (`OrderMeanProgram`) with trim k = floor(betaBps·n / 10000), so the mean of the
///         n - 2k middle values, rounded half up. Parameters: exactly `abi.encode(uint16
///         betaBps)` (32 bytes, the high 30 zero), betaBps < 5000 (beta < 1/2, so that
///         n - 2k >= 1 for every n).
contract TrimmedMeanProgram is OrderMeanProgram {
    /// @notice This program's rule id.
    uint8 public constant RULE = 2;
    /// @notice Basis points in one.
    uint256 public constant BPS = 10_000;

    /// @inheritdoc IRuleProgram
    function validate(bytes calldata params, uint256 n, uint256 dim) external pure {
        n;
        dim;
        betaBps(params);
    }

    /// @inheritdoc OrderMeanProgram
    function trim(bytes calldata params, uint256 n) public pure override returns (uint256) {
        return betaBps(params) * n / BPS;
    }

    /// @notice The trimmed fraction in basis points; reverts `InvalidRuleParams(2, reason)`
    ///         unless `params` is the canonical `abi.encode(uint16 betaBps)` with
    ///         betaBps < 5000.
    /// @param params The rule's parameters.
    /// @return The fraction, in basis points.
    function betaBps(bytes calldata params) public pure returns (uint256) {
        if (params.length != 32) {
            revert InvalidRuleParams(
                RULE,
                string.concat(
                    "params must be abi.encode(uint16 betaBps), 32 bytes; got ",
                    Decimal.format(params.length),
                    " bytes"
                )
            );
        }
        // Exactly 32 bytes, checked above.
        // forge-lint: disable-next-line(unsafe-typecast)
        uint256 word = uint256(bytes32(params));
        if (word > type(uint16).max) {
            revert InvalidRuleParams(
                RULE, "betaBps must be a canonical abi.encode(uint16): the high 30 bytes must be zero"
            );
        }
        if (word >= BPS / 2) {
            revert InvalidRuleParams(
                RULE, string.concat("betaBps must be below 5000 (beta < 1/2), got ", Decimal.format(word))
            );
        }
        return word;
    }

    /// @inheritdoc IRuleProgram
    function name() external pure returns (string memory) {
        return "TrimmedMean";
    }
}
