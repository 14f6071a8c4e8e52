// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// @title Commitments
/// @notice Hash preimages, complete Merkle trees and public-input packing of the step VM
///         (docs/ARCHITECTURE.md §2, §3, §4, §5). Every function mirrors one in the Rust crate
///         `step-vm` (hash.rs, merkle.rs, pack.rs, state.rs, clip.rs); the two are kept in
///         lockstep by the shared test vectors in `test/vectors/`.
/// @dev All byte strings are big-endian. Leaves carry a one-byte domain prefix: 0x00 value
///      leaf, 0x01 inner node, 0x02 participant leaf, 0x03 accumulator register, 0x04 clipping
///      scale leaf, 0x05 clipped-phase state (docs/design/clipping.md).
library Commitments {
    /// @notice Values per leaf and per step.
    uint256 internal constant LANES = 32;
    /// @notice Bytes of a packed value leaf: 32 × int32.
    uint256 internal constant VALUE_LEAF_BYTES = 128;
    /// @notice Bytes of a packed accumulator register: 32 × int64.
    uint256 internal constant ACC_BYTES = 256;
    /// @notice Public inputs packed from one value leaf (7 values per instance, 4 in the last).
    uint256 internal constant VALUE_INSTANCES = 5;
    /// @notice Public inputs packed from one register (3 values per instance, 2 in the last).
    uint256 internal constant ACC_INSTANCES = 11;
    /// @notice Words of the order-statistic register: 5 fields × 32 lanes, word f·32 + l.
    uint256 internal constant STAT_WORDS = 160;
    /// @notice Bytes of an encoded order-statistic register: 160 five-byte offset limbs
    ///         (word w as the big-endian 40-bit integer w + 2^39).
    uint256 internal constant STAT_BYTES = 800;
    /// @notice Public inputs packed from one order-statistic register (STAT_PACK: 40-bit
    ///         limbs, 6 per instance, 4 in the last).
    uint256 internal constant STAT_INSTANCES = 27;
    /// @notice Bytes of a distance leaf (8 slots of 13 bytes).
    uint256 internal constant SLOTS_LEAF_BYTES = 104;
    /// @notice Bytes of a selection leaf (8 slots and the flags byte).
    uint256 internal constant SELECTION_LEAF_BYTES = 105;
    /// @notice Largest model dimension a round may have.
    uint256 internal constant MAX_DIM = 1 << 28;
    /// @notice Depth of a data segment's subtree: a segment is 2^8 = 256 value leaves (8,192
    ///         values, 32 KiB), the unit of data-availability reveals (fewer when the whole
    ///         tree is smaller).
    uint256 internal constant SEGMENT_DEPTH = 8;
    /// @notice Largest number of clients (and so participants) of a round.
    uint256 internal constant MAX_CLIENTS = 255;
    /// @notice The BN254 scalar field modulus; every public input must be below it.
    uint256 internal constant SCALAR_MODULUS =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;

    /// @notice keccak(0x03 ‖ 256 zero bytes): the commitment of the all-zero register.
    bytes32 internal constant ZERO_ACC_HASH =
        0xe2892037e7ca9d81e2531c06ab23bc5367d2af4233cbd3042010de5e85fa7156;

    /// @notice keccak(0x03 ‖ 160 × 0x8000000000): the commitment of the all-zero
    ///         order-statistic register (160 words, each the offset limb 0 + 2^39).
    bytes32 internal constant ZERO_STAT_HASH =
        0x9d00a0e61dc2486b1077234e8d463e0f87fa8cd73afe995d4cf3734f61b03aa1;

    /// @notice keccak(0x03 ‖ 16 zero bytes): the commitment of the zero norm register (two
    ///         int64 words, lo and hi) of a clipped rule's prologue.
    bytes32 internal constant ZERO_NORM_HASH =
        0x394d957077fa9efd5ef63308f9ba912d7737bcc785a9ed1bec376550e8657c56;

    /// @notice The clipping scale that leaves an update unchanged: 1.0 in Q0.32, and the
    ///         largest scale there is.
    uint256 internal constant UNIT_SCALE = 1 << 32;

    /// @notice A clipping scale is above 2^32 (1.0 in Q0.32): it would scale values up.
    error ScaleOutOfRange(uint256 scale);

    // Sign-bit masks: flipping bit (b-1) of each b-bit limb adds the 2^(b-1) offset.
    // 7 int32 limbs (224 bits) / 4 int32 limbs (128 bits).
    uint256 private constant MASK_I32_X7 = 0x80000000800000008000000080000000800000008000000080000000;
    uint256 private constant MASK_I32_X4 = 0x80000000800000008000000080000000;
    // 3 int64 limbs (192 bits) / 2 int64 limbs (128 bits).
    uint256 private constant MASK_I64_X3 = 0x800000000000000080000000000000008000000000000000;
    uint256 private constant MASK_I64_X2 = 0x80000000000000008000000000000000;

    // ---------------------------------------------------------------- hashes

    /// @notice keccak(0x01 ‖ left ‖ right).
    function nodeHash(bytes32 left, bytes32 right) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            // Scratch use of the memory past the free pointer; it is not allocated.
            let p := mload(0x40)
            mstore8(p, 0x01)
            mstore(add(p, 1), left)
            mstore(add(p, 33), right)
            h := keccak256(p, 65)
        }
    }

    /// @notice keccak(0x00 ‖ be32(x_0) ‖ … ‖ be32(x_31)) of a packed value leaf.
    /// @dev The caller checks `values.length == VALUE_LEAF_BYTES`.
    function valueLeafHash(bytes calldata values) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore8(p, 0x00)
            calldatacopy(add(p, 1), values.offset, 128)
            h := keccak256(p, 129)
        }
    }

    /// @notice keccak(0x03 ‖ be64(a_0) ‖ … ‖ be64(a_31)) of a packed register.
    /// @dev The caller checks `acc.length == ACC_BYTES`.
    function accHash(bytes calldata acc) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore8(p, 0x03)
            calldatacopy(add(p, 1), acc.offset, 256)
            h := keccak256(p, 257)
        }
    }

    /// @notice `valueLeafHash` of a leaf in memory (a decoded step leaf).
    /// @dev The caller checks `values.length == VALUE_LEAF_BYTES`.
    function valueLeafHashMem(bytes memory values) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore8(p, 0x00)
            mcopy(add(p, 1), add(values, 32), 128)
            h := keccak256(p, 129)
        }
    }

    /// @notice `accHash` of a register in memory (a decoded step leaf).
    /// @dev The caller checks `acc.length == ACC_BYTES`.
    function accHashMem(bytes memory acc) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore8(p, 0x03)
            mcopy(add(p, 1), add(acc, 32), 256)
            h := keccak256(p, 257)
        }
    }

    /// @notice keccak(0x03 ‖ register) of a register of any length in memory (the
    ///         order-statistic register: 800 bytes, 160 offset limbs).
    function registerHashMem(bytes memory register) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            let len := mload(register)
            mstore8(p, 0x03)
            mcopy(add(p, 1), add(register, 32), len)
            h := keccak256(p, add(len, 1))
        }
    }

    /// @notice keccak(0x02 ‖ updateRoot ‖ be32(weight)).
    function participantLeafHash(bytes32 updateRoot, uint32 weight) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(bytes1(0x02), updateRoot, weight));
    }

    /// @notice keccak(0x04 ‖ be64(scale)) (9 bytes hashed): leaf i of a clipped round's scales
    ///         tree once participant i's Scale step has written its scale.
    function scaleLeafHash(uint64 scale) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            // 0x04 in byte 23 and be64(scale) in bytes 24..31 of the word at p (the mask cleans
            // any dirty high bits of the uint64 on the stack).
            mstore(p, or(shl(64, 0x04), and(scale, 0xffffffffffffffff)))
            h := keccak256(add(p, 23), 9)
        }
    }

    /// @notice keccak(0x05 ‖ baseState ‖ scalesRoot) (65 bytes hashed): a base program's state
    ///         while a clipped rule runs it, bound to the scales its prologue wrote.
    function clippedStateHash(bytes32 baseState, bytes32 scalesRoot) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore8(p, 0x05)
            mstore(add(p, 1), baseState)
            mstore(add(p, 33), scalesRoot)
            h := keccak256(p, 65)
        }
    }

    /// @notice The commitment of VM state `step`:
    ///         keccak(abi.encode(configHash, uint256 step, accHash, outputRoot)).
    function stateHash(bytes32 configHash_, uint256 step, bytes32 accHash_, bytes32 outputRoot)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(configHash_, step, accHash_, outputRoot));
    }

    /// @notice The commitment of a state of the distance family's program (step-vm
    ///         `rules/selected`): keccak(abi.encode(configHash, uint256 step, registerHash,
    ///         outputRoot, distanceRoot, selectionRoot)).
    function stateHash3(
        bytes32 configHash_,
        uint256 step,
        bytes32 registerHash_,
        bytes32 outputRoot,
        bytes32 distanceRoot,
        bytes32 selectionRoot
    ) internal pure returns (bytes32) {
        return keccak256(abi.encode(configHash_, step, registerHash_, outputRoot, distanceRoot, selectionRoot));
    }

    /// @notice A distance leaf: keccak(0x06 ‖ 8 × be104(D)) of its 104 bytes, and bytes32(0)
    ///         when every byte is zero (the padding leaf: an unwritten matrix is the empty tree).
    /// @dev The caller checks `lanes.length == SLOTS_LEAF_BYTES`.
    function distanceLeafHashMem(bytes memory lanes) internal pure returns (bytes32) {
        return _slotsLeafHash(0x06, lanes, 104);
    }

    /// @notice A selection leaf: keccak(0x07 ‖ 8 × be104(score) ‖ flags) of its 105 bytes, and
    ///         bytes32(0) when every byte is zero (nothing scored or picked yet).
    /// @dev The caller checks `leaf.length == SELECTION_LEAF_BYTES`.
    function selectionLeafHashMem(bytes memory leaf) internal pure returns (bytes32) {
        return _slotsLeafHash(0x07, leaf, 105);
    }

    /// keccak(tag ‖ data[0..len)), or bytes32(0) when those bytes are all zero (len 104 or 105).
    function _slotsLeafHash(uint8 tag, bytes memory data, uint256 len) private pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let src := add(data, 32)
            // Bytes 0..95 in three words, then the remaining len - 96 bytes (8 or 9).
            let rest := shr(sub(256, shl(3, sub(len, 96))), mload(add(src, 96)))
            let any := or(or(mload(src), mload(add(src, 32))), or(mload(add(src, 64)), rest))
            if any {
                let p := mload(0x40)
                mstore8(p, tag)
                mcopy(add(p, 1), src, len)
                h := keccak256(p, add(len, 1))
            }
        }
    }

    /// @notice Everything that decides a round's semantics, hashed into its config hash.
    struct ConfigInput {
        uint256 chainId;
        address registry;
        uint256 roundId;
        uint8 rule;
        bytes32 ruleParamsHash;
        bytes32 verifiersHash;
        bytes32 inputRoot;
        uint256 participants;
        uint256 dim;
        uint256 totalWeight;
    }

    /// @notice keccak(abi.encode(chainId, registry, roundId, rule, keccak(ruleParams),
    ///         verifiersHash, inputRoot, n, dim, W)): ten 32-byte words.
    function configHash(ConfigInput memory c) internal pure returns (bytes32) {
        return keccak256(abi.encode(c));
    }

    // ---------------------------------------------------------------- complete Merkle trees

    /// @notice Number of 32-value chunks of a model of `dim` values.
    function chunkCount(uint256 dim) internal pure returns (uint256) {
        return (dim + LANES - 1) / LANES;
    }

    /// @notice Depth of the complete tree over `leaves` leaves: log2 of the next power of two
    ///         (at least one leaf, so depth 0 for 0 or 1 leaves).
    /// @dev The bit length of `leaves - 1`, by a branchless binary search on it: constant gas
    ///      (a loop over the depth cost ~100 gas a level, and every opening checks a depth).
    function depthFor(uint256 leaves) internal pure returns (uint256 depth) {
        if (leaves < 2) return 0;
        assembly ("memory-safe") {
            let x := sub(leaves, 1)
            // floor(log2 x), one bit of it at a time from the top.
            depth := shl(7, lt(0xffffffffffffffffffffffffffffffff, x))
            depth := or(depth, shl(6, lt(0xffffffffffffffff, shr(depth, x))))
            depth := or(depth, shl(5, lt(0xffffffff, shr(depth, x))))
            depth := or(depth, shl(4, lt(0xffff, shr(depth, x))))
            depth := or(depth, shl(3, lt(0xff, shr(depth, x))))
            depth := or(depth, shl(2, lt(0xf, shr(depth, x))))
            depth := or(depth, shl(1, lt(0x3, shr(depth, x))))
            depth := add(or(depth, lt(0x1, shr(depth, x))), 1)
        }
    }

    /// @notice Root of an empty complete tree of `depth`: Z_0 = 0, Z_{l+1} = node(Z_l, Z_l).
    function emptyRoot(uint256 depth) internal pure returns (bytes32 z) {
        for (uint256 l; l < depth; ++l) {
            z = nodeHash(z, z);
        }
    }

    /// @notice The root reached by hashing `leaf` at `index` up through `path` (siblings,
    ///         bottom up); bit l of `index` says whether the node at level l is a right child.
    function foldPath(bytes32 leaf, uint256 index, bytes32[] calldata path)
        internal
        pure
        returns (bytes32 node)
    {
        node = leaf;
        uint256 depth = path.length;
        for (uint256 l; l < depth; ++l) {
            node = ((index >> l) & 1) == 0 ? nodeHash(node, path[l]) : nodeHash(path[l], node);
        }
    }

    /// @notice `foldPath` over a path in memory (a decoded step leaf).
    function foldPathMem(bytes32 leaf, uint256 index, bytes32[] memory path)
        internal
        pure
        returns (bytes32 node)
    {
        node = leaf;
        uint256 depth = path.length;
        for (uint256 l; l < depth; ++l) {
            node = ((index >> l) & 1) == 0 ? nodeHash(node, path[l]) : nodeHash(path[l], node);
        }
    }

    /// @notice Root of the complete tree over `leaves`, padded with bytes32(0) to the next power
    ///         of two. Overwrites `leaves` when its length is already a power of two.
    function rootOf(bytes32[] memory leaves) internal pure returns (bytes32) {
        uint256 width = uint256(1) << depthFor(leaves.length);
        bytes32[] memory level = leaves;
        if (width != leaves.length) {
            level = new bytes32[](width);
            for (uint256 k; k < leaves.length; ++k) {
                level[k] = leaves[k];
            }
        }
        while (width > 1) {
            width >>= 1;
            for (uint256 k; k < width; ++k) {
                level[k] = nodeHash(level[2 * k], level[2 * k + 1]);
            }
        }
        return level[0];
    }

    // ---------------------------------------------------------------- data segments

    /// @notice Where segment `segment` of an update of `dim` values lies.
    /// @return width Leaves of the segment's subtree (2^min(8, depth)).
    /// @return firstLeaf Its first leaf.
    /// @return leaves Its real (non-padding) leaves.
    /// @return valueBytes Bytes of its unpadded values (4 per value).
    /// @return pathLength Siblings from its subtree root to the update root.
    function segmentLayout(uint256 dim, uint256 segment)
        internal
        pure
        returns (uint256 width, uint256 firstLeaf, uint256 leaves, uint256 valueBytes, uint256 pathLength)
    {
        uint256 chunks = chunkCount(dim);
        uint256 depth = depthFor(chunks);
        uint256 segDepth = depth < SEGMENT_DEPTH ? depth : SEGMENT_DEPTH;
        width = uint256(1) << segDepth;
        firstLeaf = segment * width;
        uint256 end = firstLeaf + width;
        if (end > chunks) end = chunks;
        leaves = end - firstLeaf;
        uint256 endValue = end * LANES;
        if (endValue > dim) endValue = dim;
        valueBytes = (endValue - firstLeaf * LANES) * 4;
        pathLength = depth - segDepth;
    }

    /// @notice Number of data segments of an update of `dim` values.
    function segmentCount(uint256 dim) internal pure returns (uint256) {
        uint256 chunks = chunkCount(dim);
        uint256 depth = depthFor(chunks);
        uint256 width = uint256(1) << (depth < SEGMENT_DEPTH ? depth : SEGMENT_DEPTH);
        return (chunks + width - 1) / width;
    }

    /// @notice The update root that segment `segment` with `values` and `path` opens: the value
    ///         leaves of the segment (the last one zero-padded to 32 lanes, padding leaves
    ///         `bytes32(0)`) hashed into the segment's subtree, folded up `path`.
    /// @dev The caller checks `values.length` and `path.length` against `segmentLayout`.
    function segmentRoot(
        uint256 width,
        uint256 leaves,
        uint256 segment,
        bytes calldata values,
        bytes32[] calldata path
    ) internal pure returns (bytes32) {
        bytes32[] memory level = new bytes32[](width);
        uint256 len = values.length;
        uint256 base;
        assembly ("memory-safe") {
            base := values.offset
        }
        for (uint256 k; k < leaves; ++k) {
            uint256 offset = k * VALUE_LEAF_BYTES;
            uint256 take = len - offset;
            if (take > VALUE_LEAF_BYTES) take = VALUE_LEAF_BYTES;
            bytes32 h;
            assembly ("memory-safe") {
                let p := mload(0x40)
                mstore8(p, 0x00)
                // Zero the lanes past the data (the last leaf's padding), then copy the data.
                mstore(add(p, 1), 0)
                mstore(add(p, 33), 0)
                mstore(add(p, 65), 0)
                mstore(add(p, 97), 0)
                calldatacopy(add(p, 1), add(base, offset), take)
                h := keccak256(p, 129)
            }
            level[k] = h;
        }
        return foldPath(rootOf(level), segment, path);
    }

    // ---------------------------------------------------------------- clipping

    /// @notice Reverts `ScaleOutOfRange` unless `scale <= 2^32`.
    function requireScale(uint256 scale) internal pure {
        if (scale > UNIT_SCALE) revert ScaleOutOfRange(scale);
    }

    /// @notice The clipped value x' = floor((x·s + 2^31) / 2^32): `x` scaled by s / 2^32, rounded
    ///         half up (toward +inf). For s <= 2^32, |x'| <= |x|, so x' is an int32; s = 2^32
    ///         leaves x unchanged.
    /// @dev Reverts `ScaleOutOfRange` for s > 2^32.
    function clipValue(int32 x, uint256 scale) internal pure returns (int32) {
        requireScale(scale);
        // |x·s| < 2^63 and the result lies within [-2^31, 2^31) (|x'| <= |x|); `>>` on a signed
        // integer rounds toward -inf.
        // forge-lint: disable-next-line(unsafe-typecast)
        return int32((int256(x) * int256(scale) + (1 << 31)) >> 32);
    }

    /// @notice Replaces the 32 big-endian int32 values of a value leaf in memory (128 bytes) by
    ///         their clipped values `clipValue(x, scale)`, in place (a decoded step leaf, after its
    ///         opening and before its values are packed into public inputs).
    /// @dev The caller checks `values.length == VALUE_LEAF_BYTES` and `scale <= 2^32`. Eight
    ///      lanes per 32-byte word, unrolled: each lane sign-extended, multiplied, offset and
    ///      shifted arithmetically (|x·s| < 2^63, so the 256-bit two's-complement arithmetic is
    ///      exact), its low 32 bits put back in place.
    function clipValuesMem(bytes memory values, uint256 scale) internal pure {
        assembly ("memory-safe") {
            // h = 2^31 (the half for rounding up), f = the low 32 bits.
            function clip8(w, s) -> out {
                let h := 0x80000000
                let f := 0xffffffff
                out := or(out, shl(224, and(sar(32, add(mul(signextend(3, shr(224, w)), s), h)), f)))
                out := or(out, shl(192, and(sar(32, add(mul(signextend(3, shr(192, w)), s), h)), f)))
                out := or(out, shl(160, and(sar(32, add(mul(signextend(3, shr(160, w)), s), h)), f)))
                out := or(out, shl(128, and(sar(32, add(mul(signextend(3, shr(128, w)), s), h)), f)))
                out := or(out, shl(96, and(sar(32, add(mul(signextend(3, shr(96, w)), s), h)), f)))
                out := or(out, shl(64, and(sar(32, add(mul(signextend(3, shr(64, w)), s), h)), f)))
                out := or(out, shl(32, and(sar(32, add(mul(signextend(3, shr(32, w)), s), h)), f)))
                out := or(out, shl(0, and(sar(32, add(mul(signextend(3, shr(0, w)), s), h)), f)))
            }
            let p := add(values, 32)
            mstore(p, clip8(mload(p), scale))
            p := add(p, 32)
            mstore(p, clip8(mload(p), scale))
            p := add(p, 32)
            mstore(p, clip8(mload(p), scale))
            p := add(p, 32)
            mstore(p, clip8(mload(p), scale))
        }
    }

    // ---------------------------------------------------------------- public-input packing

    /// @notice Writes the 5 instances of a packed value leaf (128 bytes) into `out[first..first+5]`.
    /// @dev Instance t < 4 is bytes [28t, 28t+28) read as a big-endian integer, the last one
    ///      bytes [112, 128); each XOR the sign-bit mask of its limbs. The caller checks the length.
    function packValues(bytes calldata values, uint256[] memory out, uint256 first) internal pure {
        uint256 base;
        assembly ("memory-safe") {
            base := values.offset
        }
        for (uint256 t; t < 4; ++t) {
            out[first + t] = (_load(base + 28 * t) >> 32) ^ MASK_I32_X7;
        }
        out[first + 4] = (_load(base + 112) >> 128) ^ MASK_I32_X4;
    }

    /// @notice Writes the 11 instances of a packed register (256 bytes) into `out[first..first+11]`.
    /// @dev Instance t < 10 is bytes [24t, 24t+24), the last one bytes [240, 256).
    function packAcc(bytes calldata acc, uint256[] memory out, uint256 first) internal pure {
        uint256 base;
        assembly ("memory-safe") {
            base := acc.offset
        }
        for (uint256 t; t < 10; ++t) {
            out[first + t] = (_load(base + 24 * t) >> 64) ^ MASK_I64_X3;
        }
        out[first + 10] = (_load(base + 240) >> 128) ^ MASK_I64_X2;
    }

    /// @notice `packValues` of a value leaf in memory (a decoded step leaf).
    /// @dev Reads the 32-byte word at byte 112, 16 bytes past the data: those bytes are
    ///      shifted out. The caller checks the length.
    function packValuesMem(bytes memory values, uint256[] memory out, uint256 first) internal pure {
        uint256 base;
        assembly ("memory-safe") {
            base := add(values, 32)
        }
        for (uint256 t; t < 4; ++t) {
            out[first + t] = (_mload(base + 28 * t) >> 32) ^ MASK_I32_X7;
        }
        out[first + 4] = (_mload(base + 112) >> 128) ^ MASK_I32_X4;
    }

    /// @notice `packAcc` of a register in memory (a decoded step leaf).
    /// @dev Reads the 32-byte word at byte 240, 16 bytes past the data: those bytes are
    ///      shifted out. The caller checks the length.
    function packAccMem(bytes memory acc, uint256[] memory out, uint256 first) internal pure {
        uint256 base;
        assembly ("memory-safe") {
            base := add(acc, 32)
        }
        for (uint256 t; t < 10; ++t) {
            out[first + t] = (_mload(base + 24 * t) >> 64) ^ MASK_I64_X3;
        }
        out[first + 10] = (_mload(base + 240) >> 128) ^ MASK_I64_X2;
    }

    /// @notice Writes the 27 instances of an order-statistic register (800 bytes: 160 five-byte
    ///         big-endian offset limbs w + 2^39) into `out[first..first+27]`.
    /// @dev STAT_PACK (step-vm `kinds::order`): the limbs in word order, 6 per instance
    ///      concatenated big-endian (instance t = words 6t..6t+5), the last instance words
    ///      156..159 (160 bits). The encoding is the limbs themselves, so instance t < 26 is
    ///      bytes [30t, 30t+30) of the register read as a big-endian integer and the last one
    ///      bytes [780, 800): a load and a shift each. Every 5-byte limb is a word of
    ///      [-2^39, 2^39), so there is nothing to range-check, and two different registers
    ///      never pack to the same instances. Reads the 32-byte word at byte 780, 12 bytes past
    ///      the data: those bytes are shifted out. The caller checks
    ///      `register.length == STAT_BYTES`; reverts (index out of bounds) unless `out` has
    ///      `first + 27` elements.
    function packStatMem(bytes memory register, uint256[] memory out, uint256 first) internal pure {
        // Bounds-checked once: the last element written.
        out[first + STAT_INSTANCES - 1] = 0;
        assembly ("memory-safe") {
            let src := add(register, 32)
            let dst := add(add(out, 32), shl(5, first))
            // Instances 0..25: 30 bytes each, the word's low 2 bytes shifted out.
            for { let t := 0 } lt(t, 26) { t := add(t, 1) } {
                mstore(add(dst, shl(5, t)), shr(16, mload(add(src, mul(30, t)))))
            }
            // Instance 26: bytes [780, 800), 20 bytes.
            mstore(add(dst, 832), shr(96, mload(add(src, 780))))
        }
    }

    /// @notice Writes the instances of `slots` (13-byte big-endian slots, step-vm
    ///         `pack_slots`) into `out[first..]`: instance t is bytes [26t, 26t + 26) read as a
    ///         big-endian integer, a lone last slot its 13 bytes. Every 13-byte slot is below
    ///         2^104, so nothing needs a range check and distinct slots never pack alike.
    /// @dev Reads up to 19 bytes past the data; they are shifted out. The caller checks the
    ///      length (a multiple of 13); reverts (index out of bounds) unless `out` is long enough.
    function packSlotsMem(bytes memory slots, uint256[] memory out, uint256 first) internal pure {
        uint256 count = slots.length / 13;
        uint256 pairs = count / 2;
        uint256 base;
        assembly ("memory-safe") {
            base := add(slots, 32)
        }
        for (uint256 t; t < pairs; ++t) {
            out[first + t] = _mload(base + 26 * t) >> 48;
        }
        if (count % 2 == 1) out[first + pairs] = _mload(base + 26 * pairs) >> 152;
    }

    /// @notice The 13-byte big-endian slot at byte `offset` of `data` (the caller checks the
    ///         length).
    function slotAt(bytes memory data, uint256 offset) internal pure returns (uint256) {
        uint256 base;
        assembly ("memory-safe") {
            base := add(add(data, 32), offset)
        }
        return _mload(base) >> 152;
    }

    /// @notice Writes `value`'s low 104 bits as the 13-byte big-endian slot at byte `offset` of
    ///         `data` (the caller checks the length).
    function setSlot(bytes memory data, uint256 offset, uint256 value) internal pure {
        assembly ("memory-safe") {
            // One read-modify-write of the word starting at the slot: its top 13 bytes take the
            // value, the 19 bytes after them are written back unchanged.
            let p := add(add(data, 32), offset)
            let keep := shr(104, not(0))
            mstore(p, or(and(mload(p), keep), shl(152, and(value, sub(shl(104, 1), 1)))))
        }
    }

    function _load(uint256 offset) private pure returns (uint256 word) {
        assembly ("memory-safe") {
            word := calldataload(offset)
        }
    }

    function _mload(uint256 pointer) private pure returns (uint256 word) {
        assembly ("memory-safe") {
            word := mload(pointer)
        }
    }
}
