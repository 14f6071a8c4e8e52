// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// @title ClipRef
/// @notice Plain reference of L2 norm clipping (docs/design/clipping.md; step-vm `clip.rs`,
///         `kinds/norm.rs`) for tests: the exact squared norm, the integer square root by
///         Newton's method, the scale, the clipped value by division (not shifts), the norm
///         register's words and hash, the scale leaf and the clipped-phase state, byte by byte.
///         The contracts' optimised code is checked against these.
library ClipRef {
    /// 1.0 in Q0.32.
    uint256 internal constant UNIT = 2 ** 32;
    /// Bits of the norm register's low word.
    uint256 internal constant LIMB = 2 ** 40;

    /// Σ x² of a leaf.
    function squares(int32[32] memory x) internal pure returns (uint256 sum) {
        for (uint256 l; l < 32; ++l) {
            sum += uint256(int256(x[l]) * int256(x[l]));
        }
    }

    /// floor(sqrt(v)) by Newton's method from above.
    function isqrt(uint256 v) internal pure returns (uint256) {
        if (v < 2) return v;
        uint256 x = v;
        uint256 y = (x + 1) / 2;
        while (y < x) {
            x = y;
            y = (x + v / x) / 2;
        }
        return x;
    }

    /// s = 2^32 if isqrt(N) <= τ, else floor(τ·2^32 / isqrt(N)).
    function scaleOf(uint256 normSquared, uint256 threshold) internal pure returns (uint256) {
        uint256 r = isqrt(normSquared);
        return r <= threshold ? UNIT : threshold * UNIT / r;
    }

    /// floor((x·s + 2^31) / 2^32), with a division rounding toward -inf.
    function clip(int32 x, uint256 s) internal pure returns (int32) {
        int256 num = int256(x) * int256(s) + int256(UNIT / 2);
        int256 q = num / int256(UNIT);
        if (num % int256(UNIT) != 0 && num < 0) q -= 1;
        return int32(q);
    }

    function clipLeaf(int32[32] memory x, uint256 s) internal pure returns (int32[32] memory out) {
        for (uint256 l; l < 32; ++l) {
            out[l] = clip(x[l], s);
        }
    }

    /// be64(lo) ‖ be64(hi) of N = lo + hi·2^40, lo < 2^40.
    function encodeNorm(uint256 normSquared) internal pure returns (bytes memory) {
        return abi.encodePacked(uint64(normSquared % LIMB), uint64(normSquared / LIMB));
    }

    /// keccak(0x03 ‖ be64(lo) ‖ be64(hi)).
    function normHash(uint256 normSquared) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(bytes1(0x03), encodeNorm(normSquared)));
    }

    /// keccak(0x04 ‖ be64(s)).
    function scaleLeaf(uint256 s) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(bytes1(0x04), uint64(s)));
    }

    /// keccak(0x05 ‖ base ‖ scalesRoot).
    function wrap(bytes32 base, bytes32 scalesRoot) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(bytes1(0x05), base, scalesRoot));
    }
}
