// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Ref} from "./Reference.sol";

/// @title Updates
/// @notice A client's update as tests build it: its values, its value-leaf tree (with the `Ref`
///         reference hashes) and the on-chain reveal of any of its data segments, computed
///         independently of `Commitments.segmentLayout` / `segmentRoot` (step-vm's segment.rs
///         is the model: a segment is the aligned subtree of 2^min(8, depth) leaves).
library Updates {
    uint256 internal constant LANES = 32;
    /// Depth of a full segment's subtree: 256 leaves, 8,192 values, 32 KiB of calldata.
    uint256 internal constant SEGMENT_DEPTH = 8;

    /// Deterministic values: any int32, with the extremes now and then.
    function values(uint256 seed, uint256 dim) internal pure returns (int32[] memory v) {
        v = new int32[](dim);
        for (uint256 d; d < dim; ++d) {
            uint256 r = uint256(keccak256(abi.encode(seed, d)));
            if (r % 23 == 0) v[d] = type(int32).min;
            else if (r % 29 == 0) v[d] = type(int32).max;
            else v[d] = int32(uint32(r));
        }
    }

    function chunkCount(uint256 dim) internal pure returns (uint256) {
        return (dim + LANES - 1) / LANES;
    }

    /// Leaf j: values [32j, 32j + 32), zero-padded past the end.
    function leaf(int32[] memory v, uint256 j) internal pure returns (int32[32] memory x) {
        for (uint256 l; l < LANES; ++l) {
            uint256 d = LANES * j + l;
            if (d < v.length) x[l] = v[d];
        }
    }

    /// The value-leaf hashes, by the reference `keccak(0x00 ‖ 32 × be32)`.
    function leafHashes(int32[] memory v) internal pure returns (bytes32[] memory hashes) {
        uint256 chunks = chunkCount(v.length);
        hashes = new bytes32[](chunks);
        for (uint256 j; j < chunks; ++j) {
            hashes[j] = Ref.valueLeafHash(leaf(v, j));
        }
    }

    /// The update root: the complete tree over the leaf hashes, zero padding leaves.
    function root(int32[] memory v) internal pure returns (bytes32) {
        return Ref.root(leafHashes(v));
    }

    /// log2 of a segment's width (fewer than 8 when the whole tree is smaller).
    function segmentDepth(uint256 dim) internal pure returns (uint256) {
        uint256 d = Ref.depth(chunkCount(dim));
        return d < SEGMENT_DEPTH ? d : SEGMENT_DEPTH;
    }

    function segmentCount(uint256 dim) internal pure returns (uint256) {
        uint256 width = uint256(1) << segmentDepth(dim);
        return (chunkCount(dim) + width - 1) / width;
    }

    /// Segment `segment` as `revealSegment` takes it: the segment's values as unpadded
    /// big-endian int32, and the siblings from its subtree root up to the update root (the top
    /// of leaf firstLeaf's full proof).
    function reveal(int32[] memory v, bytes32[] memory hashes, uint256 segment)
        internal
        pure
        returns (bytes memory data, bytes32[] memory path)
    {
        uint256 segDepth = segmentDepth(v.length);
        uint256 firstLeaf = segment << segDepth;
        uint256 first = firstLeaf * LANES;
        uint256 end = (firstLeaf + (uint256(1) << segDepth)) * LANES;
        if (end > v.length) end = v.length;
        data = new bytes(4 * (end - first));
        for (uint256 d = first; d < end; ++d) {
            uint32 u = uint32(v[d]);
            uint256 o = 4 * (d - first);
            data[o] = bytes1(uint8(u >> 24));
            data[o + 1] = bytes1(uint8(u >> 16));
            data[o + 2] = bytes1(uint8(u >> 8));
            data[o + 3] = bytes1(uint8(u));
        }
        bytes32[] memory full = Ref.proof(hashes, firstLeaf);
        path = new bytes32[](full.length - segDepth);
        for (uint256 l; l < path.length; ++l) {
            path[l] = full[segDepth + l];
        }
    }

    /// Zero and nonzero bytes of `data`, one byte at a time (the reference for TxGas).
    function countBytes(bytes memory data) internal pure returns (uint256 zeros, uint256 nonzeros) {
        for (uint256 k; k < data.length; ++k) {
            if (data[k] == 0) ++zeros;
            else ++nonzeros;
        }
    }

    /// Gas EIP-7623 charges a transaction with `data` and `exec` execution gas:
    /// max(21,000 + 4·zeros + 16·nonzeros + exec, 21,000 + 10·(zeros + 4·nonzeros)).
    function chargedGas(bytes memory data, uint256 exec) internal pure returns (uint256) {
        (uint256 z, uint256 nz) = countBytes(data);
        uint256 standard = 21_000 + 4 * z + 16 * nz + exec;
        uint256 floor = 21_000 + 10 * (z + 4 * nz);
        return standard > floor ? standard : floor;
    }
}
