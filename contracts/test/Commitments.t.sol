// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "./base/Test.sol";
import {Ref} from "./base/Reference.sol";
import {Updates} from "./base/Updates.sol";
import {OrderRef} from "./base/OrderReference.sol";
import {Commitments} from "../src/lib/Commitments.sol";

/// Exposes the library's internal functions (several take calldata).
contract CommitmentsHarness {
    function nodeHash(bytes32 l, bytes32 r) external pure returns (bytes32) {
        return Commitments.nodeHash(l, r);
    }

    function valueLeafHash(bytes calldata values) external pure returns (bytes32) {
        return Commitments.valueLeafHash(values);
    }

    function accHash(bytes calldata acc) external pure returns (bytes32) {
        return Commitments.accHash(acc);
    }

    function participantLeafHash(bytes32 root, uint32 weight) external pure returns (bytes32) {
        return Commitments.participantLeafHash(root, weight);
    }

    function foldPath(bytes32 leaf, uint256 index, bytes32[] calldata path) external pure returns (bytes32) {
        return Commitments.foldPath(leaf, index, path);
    }

    function rootOf(bytes32[] memory leaves) external pure returns (bytes32) {
        return Commitments.rootOf(leaves);
    }

    function emptyRoot(uint256 depth) external pure returns (bytes32) {
        return Commitments.emptyRoot(depth);
    }

    function depthFor(uint256 leaves) external pure returns (uint256) {
        return Commitments.depthFor(leaves);
    }

    /// `setSlot` on a copy of `data` (lengths checked by the caller, as in the checkers).
    function setSlot(bytes memory data, uint256 offset, uint256 value) external pure returns (bytes memory) {
        Commitments.setSlot(data, offset, value);
        return data;
    }

    function chunkCount(uint256 dim) external pure returns (uint256) {
        return Commitments.chunkCount(dim);
    }

    function packValues(bytes calldata values) external pure returns (uint256[] memory out) {
        out = new uint256[](5);
        Commitments.packValues(values, out, 0);
    }

    function packAcc(bytes calldata acc) external pure returns (uint256[] memory out) {
        out = new uint256[](11);
        Commitments.packAcc(acc, out, 0);
    }

    /// Packs with trailing calldata after the field, to show the slices ignore what follows.
    function packValuesWithTrailer(bytes calldata values, bytes calldata)
        external
        pure
        returns (uint256[] memory out)
    {
        out = new uint256[](5);
        Commitments.packValues(values, out, 0);
    }

    // Memory variants (decoded step leaves), each fed a copy followed by 64 bytes of 0xff in
    // memory: what lies after a field must not leak into its hash or its instances.

    function valueLeafHashMem(bytes memory values) external pure returns (bytes32) {
        return Commitments.valueLeafHashMem(_dirtyTail(values));
    }

    function accHashMem(bytes memory acc) external pure returns (bytes32) {
        return Commitments.accHashMem(_dirtyTail(acc));
    }

    function foldPathMem(bytes32 leaf, uint256 index, bytes32[] memory path) external pure returns (bytes32) {
        return Commitments.foldPathMem(leaf, index, path);
    }

    function packValuesMem(bytes memory values) external pure returns (uint256[] memory out) {
        out = new uint256[](5);
        Commitments.packValuesMem(_dirtyTail(values), out, 0);
    }

    function packAccMem(bytes memory acc) external pure returns (uint256[] memory out) {
        out = new uint256[](11);
        Commitments.packAccMem(_dirtyTail(acc), out, 0);
    }

    function packStatMem(bytes memory register) external pure returns (uint256[] memory out) {
        out = new uint256[](27);
        Commitments.packStatMem(_dirtyTail(register), out, 0);
    }

    /// Packs into the middle of a larger array (as the checkers do), leaving the rest alone.
    function packStatMemAt(bytes memory register, uint256 first, uint256 length)
        external
        pure
        returns (uint256[] memory out)
    {
        out = new uint256[](length);
        Commitments.packStatMem(register, out, first);
    }

    function registerHashMem(bytes memory register) external pure returns (bytes32) {
        return Commitments.registerHashMem(_dirtyTail(register));
    }

    /// A copy of `b` inside a buffer 64 bytes longer, filled with 0xff, shrunk in place.
    function _dirtyTail(bytes memory b) private pure returns (bytes memory buf) {
        buf = new bytes(b.length + 64);
        for (uint256 k; k < buf.length; ++k) {
            buf[k] = k < b.length ? b[k] : bytes1(0xff);
        }
        uint256 len = b.length;
        assembly ("memory-safe") {
            mstore(buf, len)
        }
    }

    function stateHash(bytes32 c, uint256 s, bytes32 a, bytes32 o) external pure returns (bytes32) {
        return Commitments.stateHash(c, s, a, o);
    }

    function configHash(Commitments.ConfigInput memory c) external pure returns (bytes32) {
        return Commitments.configHash(c);
    }

    function segmentCount(uint256 dim) external pure returns (uint256) {
        return Commitments.segmentCount(dim);
    }

    function segmentLayout(uint256 dim, uint256 segment)
        external
        pure
        returns (uint256 width, uint256 firstLeaf, uint256 leaves, uint256 valueBytes, uint256 pathLength)
    {
        return Commitments.segmentLayout(dim, segment);
    }

    function segmentRoot(
        uint256 width,
        uint256 leaves,
        uint256 segment,
        bytes calldata values,
        bytes32[] calldata path
    ) external pure returns (bytes32) {
        return Commitments.segmentRoot(width, leaves, segment, values, path);
    }
}

contract CommitmentsTest is Test {
    CommitmentsHarness internal h;

    function setUp() public {
        h = new CommitmentsHarness();
    }

    function _ramp() internal pure returns (int32[32] memory v) {
        for (uint256 l; l < 32; ++l) {
            v[l] = int32(int256(l) - 16);
        }
    }

    // ------------------------------------------------------------ hashes

    function test_zeroAccHash_matchesPreimage() public pure {
        bytes memory preimage = new bytes(257);
        preimage[0] = 0x03;
        assertEq(Commitments.ZERO_ACC_HASH, keccak256(preimage));
        int64[32] memory zero;
        assertEq(Commitments.ZERO_ACC_HASH, Ref.accHash(zero));
    }

    function test_valueLeafHash_rampMatchesByteByBytePreimage() public view {
        int32[32] memory v = _ramp();
        // Preimage written out byte by byte: 0x00 then be32(l - 16).
        bytes memory preimage = new bytes(129);
        for (uint256 l; l < 32; ++l) {
            uint32 bits = uint32(int32(int256(l) - 16)); // two's complement
            preimage[1 + 4 * l] = bytes1(uint8(bits >> 24));
            preimage[2 + 4 * l] = bytes1(uint8(bits >> 16));
            preimage[3 + 4 * l] = bytes1(uint8(bits >> 8));
            preimage[4 + 4 * l] = bytes1(uint8(bits));
        }
        // Spot-check the encoding itself: -16 is ff ff ff f0, 15 is 00 00 00 0f.
        assertEq(uint8(preimage[1]), 0xff);
        assertEq(uint8(preimage[4]), 0xf0);
        assertEq(uint8(preimage[128]), 0x0f);
        assertEq(h.valueLeafHash(Ref.encodeValues(v)), keccak256(preimage));
        assertEq(h.valueLeafHash(Ref.encodeValues(v)), Ref.valueLeafHash(v));
    }

    function testFuzz_valueLeafHash_matchesReference(int32[32] memory v) public view {
        assertEq(h.valueLeafHash(Ref.encodeValues(v)), Ref.valueLeafHash(v));
    }

    function testFuzz_accHash_matchesReference(int64[32] memory a) public view {
        assertEq(h.accHash(Ref.encodeAcc(a)), Ref.accHash(a));
    }

    /// The memory variants hash exactly what the calldata ones do.
    function testFuzz_memoryHashes_matchCalldataOnes(int32[32] memory v, int64[32] memory a) public view {
        assertEq(h.valueLeafHashMem(Ref.encodeValues(v)), h.valueLeafHash(Ref.encodeValues(v)));
        assertEq(h.valueLeafHashMem(Ref.encodeValues(v)), Ref.valueLeafHash(v));
        assertEq(h.accHashMem(Ref.encodeAcc(a)), h.accHash(Ref.encodeAcc(a)));
        assertEq(h.accHashMem(Ref.encodeAcc(a)), Ref.accHash(a));
    }

    function testFuzz_memoryPacking_matchesReference(int32[32] memory v, int64[32] memory a) public view {
        uint256[] memory p = h.packValuesMem(Ref.encodeValues(v));
        uint256[] memory r = Ref.packValues(v);
        for (uint256 t; t < 5; ++t) {
            assertEq(p[t], r[t], "value instance");
        }
        p = h.packAccMem(Ref.encodeAcc(a));
        r = Ref.packAcc(a);
        for (uint256 t; t < 11; ++t) {
            assertEq(p[t], r[t], "acc instance");
        }
    }

    function testFuzz_nodeHash_matchesReference(bytes32 l, bytes32 r) public view {
        assertEq(h.nodeHash(l, r), Ref.node(l, r));
    }

    /// 0x02 ‖ updateRoot ‖ be32(weight) is 1 + 32 + 4 = 37 bytes (ARCHITECTURE §2's table says
    /// 69, an arithmetic slip; the formula and step-vm's `participant_leaf_hash` agree on 37).
    function test_participantLeafHash_is37BytePreimage() public view {
        bytes32 root = keccak256("update");
        bytes memory preimage = abi.encodePacked(bytes1(0x02), root, bytes4(0x0000_0007));
        assertEq(preimage.length, 37);
        assertEq(h.participantLeafHash(root, 7), keccak256(preimage));
    }

    function testFuzz_stateHash_isAbiEncoded(bytes32 c, uint64 s, bytes32 a, bytes32 o) public view {
        assertEq(h.stateHash(c, s, a, o), keccak256(abi.encode(c, uint256(s), a, o)));
    }

    /// keccak of ten 32-byte words: chainId, registry, roundId, rule, ruleParamsHash,
    /// verifiersHash, inputRoot, n, dim, W (the Rust side hashes the same words).
    function testFuzz_configHash_isTenAbiWords(
        uint256 chainId,
        address registry,
        uint256 roundId,
        uint8 rule,
        bytes32 paramsHash,
        bytes32 verifiers,
        bytes32 inputRoot,
        uint8 n,
        uint32 dim,
        uint32 w
    ) public view {
        Commitments.ConfigInput memory c = Commitments.ConfigInput({
            chainId: chainId,
            registry: registry,
            roundId: roundId,
            rule: rule,
            ruleParamsHash: paramsHash,
            verifiersHash: verifiers,
            inputRoot: inputRoot,
            participants: n,
            dim: dim,
            totalWeight: w
        });
        bytes memory words = abi.encode(
            chainId,
            uint256(uint160(registry)),
            roundId,
            uint256(rule),
            paramsHash,
            verifiers,
            inputRoot,
            uint256(n),
            uint256(dim),
            uint256(w)
        );
        assertEq(words.length, 320);
        assertEq(h.configHash(c), keccak256(words));
    }

    // ------------------------------------------------------------ packing

    /// v_l = l - 16: the limbs are 2^31 + l - 16 = 0x7ffffff0 + l.
    function test_packValues_ramp_handComputed() public view {
        uint256[] memory p = h.packValues(Ref.encodeValues(_ramp()));
        assertEq(p.length, 5);
        assertEq(p[0], 0x7ffffff07ffffff17ffffff27ffffff37ffffff47ffffff57ffffff6);
        assertEq(p[1], 0x7ffffff77ffffff87ffffff97ffffffa7ffffffb7ffffffc7ffffffd);
        assertEq(p[2], 0x7ffffffe7fffffff800000008000000180000002800000038000000480000005 >> 32);
        assertEq(p[3], 0x80000005800000068000000780000008800000098000000a8000000b);
        assertEq(p[4], 0x8000000c8000000d8000000e8000000f);
        // The same with plain arithmetic: sum over the group of (v + 2^31) * 2^(32 * position).
        uint256[] memory r = Ref.packValues(_ramp());
        for (uint256 t; t < 5; ++t) {
            assertEq(p[t], r[t], "instance");
        }
    }

    function test_packValues_extremes() public view {
        int32[32] memory v;
        for (uint256 l; l < 32; ++l) {
            v[l] = l % 2 == 0 ? type(int32).min : type(int32).max;
        }
        uint256[] memory p = h.packValues(Ref.encodeValues(v));
        assertEq(p[0], 0x00000000ffffffff00000000ffffffff00000000ffffffff00000000);
        assertEq(p[4], 0x00000000ffffffff00000000ffffffff);
    }

    function testFuzz_packValues_matchesReference(int32[32] memory v) public view {
        uint256[] memory p = h.packValues(Ref.encodeValues(v));
        uint256[] memory r = Ref.packValues(v);
        for (uint256 t; t < 5; ++t) {
            assertEq(p[t], r[t], "value instance");
            assertLt(p[t], 2 ** 224);
        }
    }

    function testFuzz_packValues_ignoresTrailingCalldata(int32[32] memory v, bytes memory trailer)
        public
        view
    {
        uint256[] memory p = h.packValuesWithTrailer(Ref.encodeValues(v), trailer);
        uint256[] memory r = Ref.packValues(v);
        for (uint256 t; t < 5; ++t) {
            assertEq(p[t], r[t], "value instance");
        }
    }

    function test_packAcc_handComputed() public view {
        int64[32] memory a;
        for (uint256 l; l < 32; ++l) {
            a[l] = int64(int256(l) - 16);
        }
        uint256[] memory p = h.packAcc(Ref.encodeAcc(a));
        assertEq(p.length, 11);
        assertEq(p[0], 0x7ffffffffffffff07ffffffffffffff17ffffffffffffff2);
        assertEq(p[5], 0x7fffffffffffffff80000000000000008000000000000001);
        assertEq(p[10], 0x800000000000000e800000000000000f);
        a[0] = type(int64).min;
        a[31] = type(int64).max;
        p = h.packAcc(Ref.encodeAcc(a));
        assertEq(p[0], 0x00000000000000007ffffffffffffff17ffffffffffffff2);
        assertEq(p[10], 0x800000000000000effffffffffffffff);
    }

    function testFuzz_packAcc_matchesReference(int64[32] memory a) public view {
        uint256[] memory p = h.packAcc(Ref.encodeAcc(a));
        uint256[] memory r = Ref.packAcc(a);
        for (uint256 t; t < 11; ++t) {
            assertEq(p[t], r[t], "acc instance");
            assertLt(p[t], Commitments.SCALAR_MODULUS);
        }
    }

    // ------------------------------------------------------------ order-statistic register

    /// The ramp register w_i = i - 80 (words 0..159: -80..79).
    function _statRamp() internal pure returns (int64[160] memory r) {
        for (uint256 w; w < 160; ++w) {
            r[w] = int64(int256(w) - 80);
        }
    }

    /// STAT_PACK by hand: limb w + 2^39 (40 bits), 6 to an instance, big-endian, the 27th
    /// holding words 156..159.
    function test_packStat_ramp_handComputed() public view {
        int64[160] memory r = _statRamp();
        uint256[] memory p = h.packStatMem(OrderRef.encode(r));
        assertEq(p.length, 27);
        // Words 0..5 = -80..-75: 2^39 - 80 = 0x7fffffffb0.
        assertEq(p[0], 0x7fffffffb07fffffffb17fffffffb27fffffffb37fffffffb47fffffffb5);
        // Words 78..83 = -2..3 cross the offset.
        assertEq(p[13], 0x7ffffffffe7fffffffff8000000000800000000180000000028000000003);
        // Words 156..159 = 76..79, 160 bits.
        assertEq(p[26], 0x00800000004c800000004d800000004e800000004f);
        // The range's ends are accepted: -2^39 packs to 0, 2^39 - 1 to 2^40 - 1.
        r[0] = -(int64(1) << 39);
        r[159] = (int64(1) << 39) - 1;
        p = h.packStatMem(OrderRef.encode(r));
        assertEq(p[0], 0x00000000007fffffffb17fffffffb27fffffffb37fffffffb47fffffffb5);
        assertEq(p[26], 0x00800000004c800000004d800000004effffffffff);
    }

    /// The encoding by hand: word w is the 5-byte big-endian limb w + 2^39.
    function test_statEncoding_handComputed() public pure {
        int64[160] memory r = _statRamp();
        bytes memory enc = OrderRef.encode(r);
        assertEq(enc.length, 800);
        assertEq(Commitments.STAT_BYTES, 800);
        // Words 0, 1 = -80, -79: 2^39 - 80 = 0x7fffffffb0.
        assertEq(_slice(enc, 0, 10), hex"7fffffffb07fffffffb1");
        // Word 80 = 0: 0x8000000000; word 81 = 1.
        assertEq(_slice(enc, 400, 10), hex"80000000008000000001");
        // Word 159 = 79.
        assertEq(_slice(enc, 795, 5), hex"800000004f");
        // The range's ends: -2^39 is limb 0, 2^39 - 1 limb 2^40 - 1.
        r[0] = -(int64(1) << 39);
        r[159] = (int64(1) << 39) - 1;
        enc = OrderRef.encode(r);
        assertEq(_slice(enc, 0, 5), hex"0000000000");
        assertEq(_slice(enc, 795, 5), hex"ffffffffff");
        assertEq(OrderRef.decode(enc)[0], -(int64(1) << 39));
        assertEq(OrderRef.decode(enc)[159], (int64(1) << 39) - 1);
    }

    function _slice(bytes memory b, uint256 from, uint256 len) internal pure returns (bytes memory out) {
        out = new bytes(len);
        for (uint256 k; k < len; ++k) {
            out[k] = b[from + k];
        }
    }

    /// The zero register is 160 limbs 0x8000000000: it packs to the offsets alone, and its
    /// hash is ZERO_STAT_HASH.
    function test_packStat_zeroRegister_isOffsetsOnly() public view {
        int64[160] memory zero;
        bytes memory enc = OrderRef.encode(zero);
        for (uint256 w; w < 160; ++w) {
            assertEq(_slice(enc, 5 * w, 5), hex"8000000000");
        }
        uint256[] memory p = h.packStatMem(enc);
        uint256[] memory r = OrderRef.pack(zero);
        for (uint256 t; t < 26; ++t) {
            assertEq(p[t], 0x800000000080000000008000000000800000000080000000008000000000);
            assertEq(p[t], r[t]);
        }
        assertEq(p[26], 0x008000000000800000000080000000008000000000);
        assertEq(p[26], r[26]);
        assertEq(h.registerHashMem(enc), Commitments.ZERO_STAT_HASH);
    }

    /// Every limb at an end of its range: all limbs 0 (every word -2^39: 800 zero bytes) pack
    /// to zero instances; all limbs 2^40 - 1 (every word 2^39 - 1: 800 0xff bytes) to the
    /// all-ones instances (240 bits, 160 in the last), below the field modulus; and a mix of
    /// both ends at every position against the reference.
    function test_packStat_limbExtremes() public view {
        uint256[] memory p = h.packStatMem(new bytes(800));
        int64[160] memory r;
        for (uint256 w; w < 160; ++w) {
            r[w] = -(int64(1) << 39);
        }
        assertEq(OrderRef.encode(r), new bytes(800));
        for (uint256 t; t < 27; ++t) {
            assertEq(p[t], 0);
        }
        bytes memory ones = new bytes(800);
        for (uint256 k; k < 800; ++k) {
            ones[k] = 0xff;
        }
        for (uint256 w; w < 160; ++w) {
            r[w] = (int64(1) << 39) - 1;
        }
        assertEq(OrderRef.encode(r), ones);
        p = h.packStatMem(ones);
        for (uint256 t; t < 26; ++t) {
            assertEq(p[t], (uint256(1) << 240) - 1);
            assertLt(p[t], Commitments.SCALAR_MODULUS);
        }
        assertEq(p[26], (uint256(1) << 160) - 1);
        // Alternating ends (limb 0, limb 2^40 - 1, ...) and the opposite phase.
        for (uint256 phase; phase < 2; ++phase) {
            for (uint256 w; w < 160; ++w) {
                r[w] = (w + phase) % 2 == 0 ? -(int64(1) << 39) : (int64(1) << 39) - 1;
            }
            p = h.packStatMem(OrderRef.encode(r));
            uint256[] memory ref = OrderRef.pack(r);
            for (uint256 t; t < 27; ++t) {
                assertEq(p[t], ref[t], "alternating ends");
            }
            assertEq(
                p[0],
                phase == 0
                    ? 0x0000000000ffffffffff0000000000ffffffffff0000000000ffffffffff
                    : 0xffffffffff0000000000ffffffffff0000000000ffffffffff0000000000
            );
        }
    }

    /// Deterministic in-range words from a seed, some at the range's ends.
    function _statWords(uint256 seed) internal pure returns (int64[160] memory r) {
        for (uint256 w; w < 160; ++w) {
            uint256 x = uint256(keccak256(abi.encode(seed, w)));
            if (x % 11 == 0) r[w] = -(int64(1) << 39);
            else if (x % 13 == 0) r[w] = (int64(1) << 39) - 1;
            else r[w] = int64(int256(x % (1 << 40)) - int256(1 << 39));
        }
    }

    function testFuzz_packStat_matchesReference(uint256 seed) public view {
        int64[160] memory r = _statWords(seed);
        bytes memory enc = OrderRef.encode(r);
        uint256[] memory p = h.packStatMem(enc);
        uint256[] memory ref = OrderRef.pack(r);
        for (uint256 t; t < 27; ++t) {
            assertEq(p[t], ref[t], "stat instance");
            assertLt(p[t], Commitments.SCALAR_MODULUS);
        }
        assertEq(h.registerHashMem(enc), OrderRef.hash(r));
        // At an offset inside a larger array, nothing else is written.
        uint256[] memory q = h.packStatMemAt(enc, 9, 63);
        for (uint256 t; t < 63; ++t) {
            assertEq(q[t], t >= 9 && t < 36 ? ref[t - 9] : 0);
        }
    }

    /// Any 800 bytes are a register (every 5-byte limb is a word of [-2^39, 2^39)): they pack
    /// to the reference packing of the words they decode to, and changing any one byte changes
    /// the instance holding it (no two registers share their instances).
    function testFuzz_packStat_anyBytesAreARegister(uint256 seed, uint256 pos, uint8 flip) public view {
        bytes memory enc = new bytes(800);
        for (uint256 k; k < 800; ++k) {
            enc[k] = bytes1(uint8(uint256(keccak256(abi.encode(seed, k)))));
        }
        int64[160] memory r = OrderRef.decode(enc);
        assertEq(OrderRef.encode(r), enc, "decode then encode is the identity");
        uint256[] memory p = h.packStatMem(enc);
        uint256[] memory ref = OrderRef.pack(r);
        for (uint256 t; t < 27; ++t) {
            assertEq(p[t], ref[t], "stat instance");
        }
        pos = bound(pos, 0, 799);
        flip = uint8(bound(flip, 1, 255));
        enc[pos] = enc[pos] ^ bytes1(flip);
        uint256[] memory q = h.packStatMem(enc);
        for (uint256 t; t < 27; ++t) {
            if (t == pos / 30) assertTrue(q[t] != p[t], "the changed instance");
            else assertEq(q[t], p[t], "the others");
        }
    }

    /// Packing needs room for the 27 instances from `first` on.
    function test_packStat_outputTooShort_reverts() public {
        int64[160] memory zero;
        bytes memory enc = OrderRef.encode(zero);
        vm.expectRevert(abi.encodeWithSignature("Panic(uint256)", 0x32));
        h.packStatMemAt(enc, 0, 26);
        vm.expectRevert(abi.encodeWithSignature("Panic(uint256)", 0x32));
        h.packStatMemAt(enc, 37, 63);
        h.packStatMemAt(enc, 36, 63);
    }

    /// A word outside [-2^39, 2^39) has no encoding: the reference refuses to encode it.
    function test_statEncoding_wordOutOfRange_hasNoEncoding() public {
        int64[4] memory bad = [int64(1) << 39, -(int64(1) << 39) - 1, type(int64).max, type(int64).min];
        for (uint256 t; t < bad.length; ++t) {
            vm.expectRevert(bytes("OrderRef: word outside [-2^39, 2^39)"));
            this.encodeOne(bad[t]);
        }
    }

    function encodeOne(int64 w) external pure returns (bytes memory) {
        int64[160] memory r;
        r[77] = w;
        return OrderRef.encode(r);
    }

    // ------------------------------------------------------------ trees

    function test_depthFor_isLog2OfNextPowerOfTwo() public view {
        assertEq(h.depthFor(0), 0);
        assertEq(h.depthFor(1), 0);
        assertEq(h.depthFor(2), 1);
        assertEq(h.depthFor(3), 2);
        assertEq(h.depthFor(4), 2);
        assertEq(h.depthFor(5), 3);
        assertEq(h.depthFor(255), 8);
        assertEq(h.depthFor(256), 8);
        assertEq(h.depthFor(1 << 23), 23);
        assertEq(h.depthFor((1 << 23) + 1), 24);
        assertEq(h.depthFor(type(uint256).max), 256);
    }

    /// The depth is the least d with 2^d >= leaves, for every leaf count a tree can have.
    function testFuzz_depthFor_isTheLeastCoveringPowerOfTwo(uint256 leaves) public view {
        leaves = bound(leaves, 2, uint256(1) << 255);
        uint256 d = h.depthFor(leaves);
        assertGe(uint256(1) << d, leaves, "2^d covers the leaves");
        assertLt(uint256(1) << (d - 1), leaves, "2^(d-1) does not");
    }

    /// `setSlot` writes exactly the 13 bytes of the slot, big-endian, from the value's low 104
    /// bits: every byte before and after it (the rest of the word included) is unchanged.
    function testFuzz_setSlot_writesOnlyItsThirteenBytes(bytes32 a, bytes32 b, bytes32 c, uint8 lane, uint256 value)
        public
        view
    {
        bytes memory data = abi.encodePacked(a, b, c, bytes8(a));
        uint256 offset = 13 * (lane % 8);
        bytes memory got = h.setSlot(data, offset, value);
        assertEq(got.length, data.length);
        for (uint256 i; i < data.length; ++i) {
            bool inSlot = i >= offset && i < offset + 13;
            bytes1 want = inSlot ? bytes1(uint8(value >> (8 * (12 - (i - offset))))) : data[i];
            assertEq(uint8(got[i]), uint8(want), "byte");
        }
    }

    function test_chunkCount_roundsUp() public view {
        assertEq(h.chunkCount(1), 1);
        assertEq(h.chunkCount(32), 1);
        assertEq(h.chunkCount(33), 2);
        assertEq(h.chunkCount(1 << 28), 1 << 23);
    }

    function test_emptyRoot_matchesZeroTree() public view {
        assertEq(h.emptyRoot(0), bytes32(0));
        bytes32 z1 = keccak256(abi.encodePacked(bytes1(0x01), bytes32(0), bytes32(0)));
        assertEq(h.emptyRoot(1), z1);
        assertEq(h.emptyRoot(2), keccak256(abi.encodePacked(bytes1(0x01), z1, z1)));
        assertEq(h.emptyRoot(5), Ref.root(new bytes32[](32)));
    }

    function test_rootOf_threeLeaves_handBuilt() public view {
        bytes32[] memory leaves = new bytes32[](3);
        leaves[0] = keccak256("a");
        leaves[1] = keccak256("b");
        leaves[2] = keccak256("c");
        bytes32 expected = Ref.node(Ref.node(leaves[0], leaves[1]), Ref.node(leaves[2], bytes32(0)));
        assertEq(h.rootOf(leaves), expected);
    }

    function test_rootOf_singleLeafIsTheLeaf() public view {
        bytes32[] memory leaves = new bytes32[](1);
        leaves[0] = keccak256("only");
        assertEq(h.rootOf(leaves), leaves[0]);
    }

    function testFuzz_foldPath_everyLeafReachesRoot(uint256 count, uint256 index, bytes32 seed) public view {
        count = bound(count, 1, 40);
        index = bound(index, 0, count - 1);
        bytes32[] memory leaves = new bytes32[](count);
        for (uint256 k; k < count; ++k) {
            leaves[k] = keccak256(abi.encode(seed, k));
        }
        bytes32 root = Ref.root(leaves);
        bytes32[] memory path = Ref.proof(leaves, index);
        assertEq(path.length, Ref.depth(count));
        assertEq(h.rootOf(leaves), root, "rootOf");
        assertEq(h.foldPath(leaves[index], index, path), root, "foldPath");
        assertEq(h.foldPathMem(leaves[index], index, path), root, "foldPathMem");
        // A wrong index (same depth) or a wrong leaf does not reach the root.
        if (count > 1) {
            uint256 other = index ^ 1;
            if (other < count && leaves[other] != leaves[index]) {
                assertNotEq(h.foldPath(leaves[index], other, path), root);
            }
        }
        assertNotEq(h.foldPath(keccak256(abi.encode(leaves[index])), index, path), root);
    }

    // ------------------------------------------------------------ data segments

    function _layout(uint256 dim, uint256 segment) internal view returns (uint256[5] memory l) {
        (l[0], l[1], l[2], l[3], l[4]) = h.segmentLayout(dim, segment);
    }

    /// Layouts worked out by hand: (width, first leaf, real leaves, value bytes, path length).
    function test_segmentLayout_handComputed() public view {
        // dim 16,484 = 2 · 8,192 + 100: 516 chunks, depth 10, three segments, the last one
        // 4 leaves (100 values) of a 256-leaf subtree two levels below the root.
        assertEq(h.segmentCount(8192 * 2 + 100), 3);
        uint256[5] memory l = _layout(8192 * 2 + 100, 0);
        assertEq(l[0], 256);
        assertEq(l[1], 0);
        assertEq(l[2], 256);
        assertEq(l[3], 32_768);
        assertEq(l[4], 2);
        l = _layout(8192 * 2 + 100, 2);
        assertEq(l[1], 512);
        assertEq(l[2], 4);
        assertEq(l[3], 400);
        assertEq(l[4], 2);
        // dim 200: 7 chunks, depth 3, one segment that is the whole tree.
        assertEq(h.segmentCount(200), 1);
        l = _layout(200, 0);
        assertEq(l[0], 8);
        assertEq(l[2], 7);
        assertEq(l[3], 800);
        assertEq(l[4], 0);
        // dim 1: one leaf, depth 0.
        l = _layout(1, 0);
        assertEq(l[0], 1);
        assertEq(l[2], 1);
        assertEq(l[3], 4);
        assertEq(l[4], 0);
        // dim 8,193: 257 chunks, depth 9: the second segment holds one leaf with one value.
        assertEq(h.segmentCount(8193), 2);
        l = _layout(8193, 1);
        assertEq(l[1], 256);
        assertEq(l[2], 1);
        assertEq(l[3], 4);
        assertEq(l[4], 1);
        assertEq(h.segmentCount(1 << 28), 1 << 15);
    }

    function testFuzz_segmentLayout_matchesReference(uint256 dim, uint256 segment) public view {
        dim = bound(dim, 1, 1 << 28);
        uint256 count = Updates.segmentCount(dim);
        assertEq(h.segmentCount(dim), count);
        segment = bound(segment, 0, count - 1);
        uint256[5] memory l = _layout(dim, segment);
        uint256 segDepth = Updates.segmentDepth(dim);
        uint256 chunks = Updates.chunkCount(dim);
        assertEq(l[0], 1 << segDepth, "width");
        assertEq(l[1], segment << segDepth, "first leaf");
        uint256 end = (segment + 1) << segDepth;
        if (end > chunks) end = chunks;
        assertEq(l[2], end - l[1], "leaves");
        uint256 endValue = end * 32 > dim ? dim : end * 32;
        assertEq(l[3], 4 * (endValue - 32 * l[1]), "value bytes");
        assertEq(l[4], Ref.depth(chunks) - segDepth, "path length");
    }

    /// Every segment of an update opens the update root built by the reference tree.
    /// forge-config: default.fuzz.runs = 24
    function testFuzz_segmentRoot_everySegmentOpensUpdateRoot(uint256 seed, uint256 dim) public view {
        dim = bound(dim, 1, 8192 + 700);
        int32[] memory v = Updates.values(seed, dim);
        bytes32[] memory hashes = Updates.leafHashes(v);
        bytes32 root = Ref.root(hashes);
        for (uint256 s; s < Updates.segmentCount(dim); ++s) {
            (bytes memory data, bytes32[] memory path) = Updates.reveal(v, hashes, s);
            uint256[5] memory l = _layout(dim, s);
            assertEq(data.length, l[3], "reveal length");
            assertEq(path.length, l[4], "path length");
            assertEq(h.segmentRoot(l[0], l[2], s, data, path), root, "opens the root");
            // One flipped bit anywhere in the values opens another root.
            data[uint256(keccak256(abi.encode(seed, s))) % data.length] ^= 0x01;
            assertNotEq(h.segmentRoot(l[0], l[2], s, data, path), root);
        }
    }
}
