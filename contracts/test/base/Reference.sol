// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// @title Ref
/// @notice Plain, deliberately naive reference implementations of ARCHITECTURE §2-§5 for tests:
///         per-value encoding loops, arithmetic (not bit-trick) packing, trees built level by
///         level in memory. The contracts' optimised code is checked against these.
library Ref {
    uint256 internal constant LANES = 32;

    function encodeValues(int32[32] memory v) internal pure returns (bytes memory b) {
        for (uint256 l; l < LANES; ++l) {
            b = abi.encodePacked(b, v[l]);
        }
    }

    function encodeAcc(int64[32] memory a) internal pure returns (bytes memory b) {
        for (uint256 l; l < LANES; ++l) {
            b = abi.encodePacked(b, a[l]);
        }
    }

    function valueLeafHash(int32[32] memory v) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(bytes1(0x00), encodeValues(v)));
    }

    function accHash(int64[32] memory a) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(bytes1(0x03), encodeAcc(a)));
    }

    function node(bytes32 left, bytes32 right) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(bytes1(0x01), left, right));
    }

    function participantLeaf(bytes32 updateRoot, uint32 weight) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(bytes1(0x02), updateRoot, weight));
    }

    function stateHash(bytes32 config, uint256 step, bytes32 accHash_, bytes32 outputRoot)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(config, step, accHash_, outputRoot));
    }

    function depth(uint256 leaves) internal pure returns (uint256 d) {
        uint256 width = 1;
        while (width < leaves) {
            width *= 2;
            ++d;
        }
    }

    function emptyRoot(uint256 d) internal pure returns (bytes32 z) {
        for (uint256 l; l < d; ++l) {
            z = node(z, z);
        }
    }

    /// Every level of the complete tree, leaves (padded) first.
    function levels(bytes32[] memory leaves) internal pure returns (bytes32[][] memory lv) {
        uint256 d = depth(leaves.length);
        lv = new bytes32[][](d + 1);
        lv[0] = new bytes32[](1 << d);
        for (uint256 k; k < leaves.length; ++k) {
            lv[0][k] = leaves[k];
        }
        for (uint256 l = 1; l <= d; ++l) {
            uint256 width = 1 << (d - l);
            lv[l] = new bytes32[](width);
            for (uint256 k; k < width; ++k) {
                lv[l][k] = node(lv[l - 1][2 * k], lv[l - 1][2 * k + 1]);
            }
        }
    }

    function root(bytes32[] memory leaves) internal pure returns (bytes32) {
        bytes32[][] memory lv = levels(leaves);
        return lv[lv.length - 1][0];
    }

    function proof(bytes32[] memory leaves, uint256 index) internal pure returns (bytes32[] memory path) {
        bytes32[][] memory lv = levels(leaves);
        uint256 d = lv.length - 1;
        path = new bytes32[](d);
        for (uint256 l; l < d; ++l) {
            path[l] = lv[l][(index >> l) ^ 1];
        }
    }

    /// 5 instances: groups of 7 values (4 in the last), each value offset by 2^31, concatenated
    /// big-endian, computed with multiplication instead of shifts and masks.
    function packValues(int32[32] memory v) internal pure returns (uint256[] memory out) {
        out = new uint256[](5);
        for (uint256 l; l < LANES; ++l) {
            uint256 t = l / 7;
            out[t] = out[t] * 2 ** 32 + uint256(int256(v[l]) + 2 ** 31);
        }
    }

    /// 11 instances: groups of 3 registers (2 in the last), each offset by 2^63.
    function packAcc(int64[32] memory a) internal pure returns (uint256[] memory out) {
        out = new uint256[](11);
        for (uint256 l; l < LANES; ++l) {
            uint256 t = l / 3;
            out[t] = out[t] * 2 ** 64 + uint256(int256(a[l]) + 2 ** 63);
        }
    }

    /// floor((2a + W) / (2W)): division rounding half up.
    function finalizeLane(int256 a, uint256 w) internal pure returns (int256) {
        int256 num = 2 * a + int256(w);
        int256 den = 2 * int256(w);
        int256 q = num / den;
        if (num % den != 0 && num < 0) q -= 1;
        return q;
    }

    function concat(uint256[] memory a, uint256[] memory b) internal pure returns (uint256[] memory c) {
        c = new uint256[](a.length + b.length);
        for (uint256 k; k < a.length; ++k) {
            c[k] = a[k];
        }
        for (uint256 k; k < b.length; ++k) {
            c[a.length + k] = b[k];
        }
    }
}
