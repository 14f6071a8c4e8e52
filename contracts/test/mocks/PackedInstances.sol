// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

// The order-statistic mocks' decoding of packed public inputs (MockOrderVerifier,
// MockCloseVerifier), with plain shifts independent of the checkers' packing: a value leaf's 32
// offset limbs and the order-statistic register's 160 offset words.

/// Value `l` of a leaf packed 7 values of 32 bits per instance (4 in the 5th), from instance
/// `first` on.
function valueAt(uint256[] memory w, uint256 first, uint256 l) pure returns (int256) {
    uint256 t = l / 7;
    uint256 inGroup = t == 4 ? 4 : 7;
    uint256 pos = inGroup - 1 - l % 7;
    return int256((w[first + t] >> (32 * pos)) & (2 ** 32 - 1)) - 2 ** 31;
}

/// Word `i` of a register packed 6 words of 40 bits per instance (4 in the 27th), from
/// instance `first` on.
function wordAt(uint256[] memory w, uint256 first, uint256 i) pure returns (int256) {
    uint256 t = i / 6;
    uint256 inGroup = t == 26 ? 4 : 6;
    uint256 pos = inGroup - 1 - i % 6;
    return int256((w[first + t] >> (40 * pos)) & (2 ** 40 - 1)) - 2 ** 39;
}
