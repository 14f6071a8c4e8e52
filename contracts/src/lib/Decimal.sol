// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// @title Decimal
/// @notice Unsigned integers in decimal, for the reasons the programs give when they refuse a
///         rule's parameters (`IRuleProgram.InvalidRuleParams`): the reason names the bound and
///         the value it got.
library Decimal {
    /// @notice `v` in decimal, without leading zeros ("0" for zero).
    /// @param v The value.
    /// @return The digits.
    function format(uint256 v) internal pure returns (string memory) {
        if (v == 0) return "0";
        uint256 digits;
        for (uint256 x = v; x != 0; x /= 10) {
            ++digits;
        }
        bytes memory s = new bytes(digits);
        for (; v != 0; v /= 10) {
            // A digit is below 10.
            // forge-lint: disable-next-line(unsafe-typecast)
            s[--digits] = bytes1(uint8(48 + v % 10));
        }
        return string(s);
    }
}
