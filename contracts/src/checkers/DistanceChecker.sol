// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Commitments} from "../lib/Commitments.sol";
import {IStepChecker} from "../interfaces/IStepChecker.sol";
import {SelectionStepChecker} from "./SelectionStepChecker.sol";

/// @title DistanceChecker
/// @notice Checks a Distance step (step-vm `kinds/distance.rs`, kind 8): chunk j = col of pair
///         (a, b) = the program's `kindParams`. Checks both participants' value leaf j, the
///         pre-state preimage, and the proof of acc' = acc + Σ_l (xa_l - xb_l)² over the
///         instances xa (5), xb (5), acc·2^104 + acc'. At the pair's last chunk (`next` > 0)
///         it writes D_ab = acc' into lane b mod 8 of distance leaf a·B + b/8 and lane a mod 8 of
///         leaf b·B + a/8 (each opened in the tree the previous write left) and starts the next
///         phase's zero register; otherwise the register becomes acc'.
/// @dev `kindParams` = abi.encode(uint256 a, uint256 b, uint256 next), a < b < n, next = 0
///      except at a pair's last chunk: the next phase's register length (13: another pair,
///      312: the scoring phase). Under a clipped rule the `ClipChecker` appends a's and b's
///      scales (`abi.encode(sa, sb)`): the openings are of the committed values, xa and xb
///      the clipped ones. The leaf is read in place (`_leaf`), not decoded into memory.
contract DistanceChecker is SelectionStepChecker {
    /// @notice The write of one lane of a distance leaf: the leaf's 104 bytes before the write
    ///         and its path (depth ceil(log2(n·B))).
    struct DistanceWrite {
        bytes lanes;
        bytes32[] path;
    }

    /// @notice A Distance leaf, passed as `abi.encode(leaf)`. `register`/`accOut` are one
    ///         13-byte slot; `writes` is empty, or at the pair's last chunk the two writes.
    struct DistanceLeaf {
        bytes register;
        Regions pre;
        ClientRead a;
        ClientRead b;
        bytes accOut;
        DistanceWrite[] writes;
        bytes proof;
    }

    /// @notice Public inputs of a Distance proof: xa (5), xb (5), (acc, acc').
    uint256 public constant INSTANCES = 11;

    /// @param verifier_ The Distance verifier (must have code).
    /// @param verifierGasCap_ Gas forwarded to a verifier call (positive).
    /// @param proofBytes_ Bytes of a Distance proof (1,376).
    constructor(address verifier_, uint256 verifierGasCap_, uint256 proofBytes_)
        SelectionStepChecker(verifier_, verifierGasCap_, proofBytes_)
    {}

    /// @inheritdoc IStepChecker
    /// @dev The leaf stays in calldata (the family's heaviest: decoding it into memory cost
    ///      ~20k gas): `_leaf` checks it is exactly the canonical `abi.encode(leaf)`, then its
    ///      fields are read in place; only the values, registers and lanes a step rewrites are
    ///      copied to memory.
    function postState(StepContext calldata s, bytes32 hPre, bytes calldata leaf)
        external
        view
        returns (bytes32)
    {
        (uint256 a, uint256 b, uint256 next) = abi.decode(s.kindParams[:96], (uint256, uint256, uint256));
        uint256 chunks = Commitments.chunkCount(s.dim);
        if (a >= b || b >= s.n || s.col >= chunks) revert BadPosition(s.row, s.col);
        DistanceLeaf calldata l = _leaf(leaf);
        _requireLength("register", l.register.length, DISTANCE_REGISTER_BYTES);
        _requireLength("accOut", l.accOut.length, DISTANCE_REGISTER_BYTES);
        _requireProofLength(l.proof.length);
        Regions memory r = l.pre;
        _requirePre(s, hPre, l.register, r);
        uint256 acc = _prove(s, l, a, b, chunks);

        if (next == 0) {
            _requireLength("writes", l.writes.length, 0);
            return _state(s, uint256(s.step) + 1, l.accOut, r);
        }
        _requireLength("writes", l.writes.length, 2);
        uint256 blocks = _blocks(s.n);
        uint256 depthW = Commitments.depthFor(s.n * blocks);
        r.distance =
            _write(depthW, r.distance, a * blocks + b / SCORE_LANES, b % SCORE_LANES, acc, l.writes[0]);
        r.distance =
            _write(depthW, r.distance, b * blocks + a / SCORE_LANES, a % SCORE_LANES, acc, l.writes[1]);
        return _phaseStart(s, next, r);
    }

    /// Opens a's and b's reads, clips their values by the scales in `kindParams`, and checks
    /// the proof of acc' = acc + Σ (xa - xb)² over them: returns acc'.
    function _prove(StepContext calldata s, DistanceLeaf calldata l, uint256 a, uint256 b, uint256 chunks)
        private
        view
        returns (uint256 acc)
    {
        uint256 depthN = Commitments.depthFor(s.n);
        uint256 depthC = Commitments.depthFor(chunks);
        uint256[] memory instances = new uint256[](INSTANCES);
        bytes memory values = _openReadInPlace(s, a, l.a, _clipScale(s.kindParams, 96, 2, 0), depthN, depthC);
        Commitments.packValuesMem(values, instances, 0);
        values = _openReadInPlace(s, b, l.b, _clipScale(s.kindParams, 96, 2, 1), depthN, depthC);
        Commitments.packValuesMem(values, instances, 5);
        acc = Commitments.slotAt(l.accOut, 0);
        instances[10] = (Commitments.slotAt(l.register, 0) << 104) | acc;
        _verify(instances, l.proof);
    }

    /// Participant `participant`'s read of value leaf `s.col` (`_openRead` of a read in
    /// calldata, its paths of depths `depthN` and `depthC`): its values in memory, clipped by
    /// `scale`.
    function _openReadInPlace(
        StepContext calldata s,
        uint256 participant,
        ClientRead calldata c,
        uint256 scale,
        uint256 depthN,
        uint256 depthC
    ) private pure returns (bytes memory values) {
        _requireLength("values", c.values.length, Commitments.VALUE_LEAF_BYTES);
        _requireLength("valuesPath", c.valuesPath.length, depthC);
        _requireLength("inputPath", c.inputPath.length, depthN);
        bytes32 root =
            Commitments.foldPath(Commitments.participantLeafHash(c.updateRoot, c.weight), participant, c.inputPath);
        if (root != s.inputRoot) revert BadOpening("input", s.inputRoot, root);
        root = Commitments.foldPath(Commitments.valueLeafHash(c.values), s.col, c.valuesPath);
        if (root != c.updateRoot) revert BadOpening("update", c.updateRoot, root);
        values = c.values;
        if (scale != Commitments.UNIT_SCALE) Commitments.clipValuesMem(values, scale);
    }

    /// The distance root after writing `value` into lane `lane` of leaf `index` of `root`,
    /// whose lanes `w` opens along a path of depth `depth` (ceil(log2(n·B))).
    function _write(uint256 depth, bytes32 root, uint256 index, uint256 lane, uint256 value, DistanceWrite calldata w)
        private
        pure
        returns (bytes32)
    {
        _requireLength("distance leaf", w.lanes.length, Commitments.SLOTS_LEAF_BYTES);
        _requireLength("distance path", w.path.length, depth);
        bytes memory lanes = w.lanes;
        bytes32 got = Commitments.foldPath(Commitments.distanceLeafHashMem(lanes), index, w.path);
        if (got != root) revert BadOpening("distance", root, got);
        Commitments.setSlot(lanes, 13 * lane, value);
        return Commitments.foldPath(Commitments.distanceLeafHashMem(lanes), index, w.path);
    }

    // ---------------------------------------------------------------- the leaf in place

    /// The leaf as a calldata struct, after checking that it is exactly the canonical
    /// `abi.encode(DistanceLeaf)`: the struct's offset word 0x20, then every tail where the
    /// canonical encoding puts it (right after the head or the tail before it, at every level
    /// of nesting), and nothing after the last. Every field then lies inside `leaf`, and
    /// nobody can pad it. One assembly walk (the same walk in Solidity cost ~14k gas).
    function _leaf(bytes calldata leaf) private pure returns (DistanceLeaf calldata l) {
        uint256 len = leaf.length;
        // The struct's offset word, its nine head words.
        if (len < 32 + 9 * 32) revert NonCanonicalLeaf(0, len);
        uint256 cur;
        uint256 bad;
        assembly ("memory-safe") {
            // Positions are bytes from a tuple's start `t`, of which `e` bytes are the leaf's;
            // `h` is the head position of a tail's offset word, `c` where the tail must start.
            // `b` is set when the layout is not the canonical one; the walk then goes on over
            // harmless values, and the caller reverts.
            function tailLength(t, e, h, c) -> n, b {
                b := or(iszero(eq(calldataload(add(t, h)), c)), gt(add(c, 32), e))
                n := calldataload(add(t, c))
                if or(b, gt(n, e)) {
                    b := 1
                    n := 0
                }
            }
            // A `bytes` tail: its length word and its data padded to whole words.
            function bytesTail(t, e, h, c) -> next, b {
                let n
                n, b := tailLength(t, e, h, c)
                next := add(c, add(32, and(add(n, 31), not(31))))
            }
            // A `bytes32[]` tail: its length word and its elements.
            function wordsTail(t, e, h, c) -> next, b {
                let n
                n, b := tailLength(t, e, h, c)
                next := add(c, add(32, mul(32, n)))
            }
            // A `ClientRead` tail: five head words (updateRoot, weight, the offsets of
            // inputPath, values and valuesPath), then those three tails.
            function readTail(t, e, h, c) -> next, b {
                b := or(iszero(eq(calldataload(add(t, h)), c)), gt(add(c, 160), e))
                if b { c := 0 }
                let r := add(t, c)
                let re := sub(e, c)
                let x, b1 := wordsTail(r, re, 64, 160)
                let y, b2 := bytesTail(r, re, 96, x)
                let z, b3 := wordsTail(r, re, 128, y)
                next := add(c, z)
                b := or(b, or(b1, or(b2, b3)))
            }
            // A `DistanceWrite[]` tail: its length k, k element offsets (from the word after
            // the length), then each element: two head words (the offsets of lanes and
            // path) and their tails.
            function writesTail(t, e, h, c) -> next, b {
                let k
                k, b := tailLength(t, e, h, c)
                if b { c := 0 }
                let w := add(add(t, c), 32)
                let we := sub(sub(e, c), 32)
                let o := mul(32, k)
                if gt(o, we) {
                    b := 1
                    k := 0
                }
                for { let i := 0 } lt(i, k) { i := add(i, 1) } {
                    if or(iszero(eq(calldataload(add(w, mul(32, i))), o)), gt(add(o, 64), we)) {
                        b := 1
                        break
                    }
                    let x := add(w, o)
                    let xe := sub(we, o)
                    let p, b1 := bytesTail(x, xe, 0, 64)
                    let q, b2 := wordsTail(x, xe, 32, p)
                    o := add(o, q)
                    if or(b1, b2) {
                        b := 1
                        break
                    }
                }
                next := add(add(c, 32), o)
            }
            let t := add(leaf.offset, 32)
            let e := sub(len, 32)
            bad := iszero(eq(calldataload(leaf.offset), 32))
            // The head: register, pre (three words inline), a, b, accOut, writes, proof.
            let b0
            cur, b0 := bytesTail(t, e, 0, 288)
            bad := or(bad, b0)
            cur, b0 := readTail(t, e, 128, cur)
            bad := or(bad, b0)
            cur, b0 := readTail(t, e, 160, cur)
            bad := or(bad, b0)
            cur, b0 := bytesTail(t, e, 192, cur)
            bad := or(bad, b0)
            if iszero(bad) {
                cur, b0 := writesTail(t, e, 224, cur)
                bad := or(bad, b0)
            }
            cur, b0 := bytesTail(t, e, 256, cur)
            bad := or(bad, b0)
            l := t
        }
        if (bad != 0) revert NonCanonicalLeaf(0, len);
        if (32 + cur != len) revert NonCanonicalLeaf(32 + cur, len);
    }

    /// @notice The bytes `postState` (and `BisectionGame.proveLeaf`) take for `leaf`:
    ///         `abi.encode(leaf)`. Declares the leaf struct in this contract's ABI.
    /// @param leaf The leaf.
    /// @return Its encoding.
    function encodeLeaf(DistanceLeaf calldata leaf) external pure returns (bytes memory) {
        return abi.encode(leaf);
    }

    /// @inheritdoc IStepChecker
    function name() external pure returns (string memory) {
        return "Distance";
    }
}
