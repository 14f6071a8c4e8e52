// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Commitments} from "../lib/Commitments.sol";
import {StepChecker} from "./StepChecker.sol";

/// @title SelectionStepChecker
/// @notice What the distance family's step checkers share (step-vm `kinds/distance.rs`,
///         `kinds/select.rs`, docs/design/distance-family.md): states with three regions
///         (output tree, distance matrix, selection leaves), registers of 13-byte slots, the
///         openings of distance and selection leaves, and the read of a participant's value
///         leaf.
/// @dev A state is keccak(abi.encode(configHash, step, keccak(0x03 ‖ register), outputRoot,
///      distanceRoot, selectionRoot)). The distance tree has n·B leaves (B = ceil(n/8)), leaf
///      a·B + b holding D_{a, 8b..8b+7}; the selection tree has B leaves, leaf b the scores of
///      participants 8b..8b+7 and their pick flags. A leaf is decoded from `abi.encode` and must
///      be exactly the canonical encoding of its decoded fields (its length is checked against
///      a re-encoding); the Distance leaf is read in place, its canonical layout checked.
abstract contract SelectionStepChecker is StepChecker {
    /// @notice The regions of a state: output, distance and selection roots.
    struct Regions {
        bytes32 output;
        bytes32 distance;
        bytes32 selection;
    }

    /// @notice One participant's value leaf with its openings: participant i's leaf
    ///         keccak(0x02 ‖ updateRoot ‖ be32(weight)) in the input root (`inputPath`, depth
    ///         ceil(log2 n)) and value leaf j of `values` (32 × int32, 128 bytes) in `updateRoot`
    ///         (`valuesPath`, depth ceil(log2 C)).
    struct ClientRead {
        bytes32 updateRoot;
        uint32 weight;
        bytes32[] inputPath;
        bytes values;
        bytes32[] valuesPath;
    }

    /// @notice Bytes of the distance phase's register (one slot).
    uint256 public constant DISTANCE_REGISTER_BYTES = 13;
    /// @notice Bytes of the scoring register (8 lanes × prefix, count, sum: 24 slots).
    uint256 public constant SCORE_REGISTER_BYTES = 312;
    /// @notice Bytes of the pick register (best score, participant + 1: 2 slots).
    uint256 public constant PICK_REGISTER_BYTES = 26;
    /// @notice Participants per distance or selection leaf.
    uint256 public constant SCORE_LANES = 8;
    /// @notice Two masked slots (2^104 - 1 each) as one public input.
    uint256 internal constant MASKED_PAIR = (uint256(1) << 208) - 1;
    /// @notice A masked slot: above every distance and score, never counted or picked.
    uint256 internal constant SLOT_MAX = (uint256(1) << 104) - 1;

    /// @notice The next phase's register length is not one of the phases'.
    error BadNextRegister(uint256 length);

    /// @param verifier_ The kind's verifier (must have code).
    /// @param verifierGasCap_ Gas forwarded to a verifier call (positive).
    /// @param proofBytes_ Bytes of a proof (1,376).
    constructor(address verifier_, uint256 verifierGasCap_, uint256 proofBytes_)
        StepChecker(verifier_, verifierGasCap_, proofBytes_)
    {}

    /// Blocks of 8 participants, B = ceil(n/8).
    function _blocks(uint256 n) internal pure returns (uint256) {
        return (n + SCORE_LANES - 1) / SCORE_LANES;
    }

    /// The commitment of a state with `register` (bytes as committed) and `r`.
    function _state(StepContext calldata s, uint256 step, bytes memory register, Regions memory r)
        internal
        pure
        returns (bytes32)
    {
        return Commitments.stateHash3(
            s.configHash, step, Commitments.registerHashMem(register), r.output, r.distance, r.selection
        );
    }

    /// Reverts `PreStateMismatch` unless the leaf's register and regions are the agreed state.
    function _requirePre(StepContext calldata s, bytes32 hPre, bytes memory register, Regions memory r)
        internal
        pure
    {
        bytes32 pre = _state(s, s.step, register, r);
        if (pre != hPre) revert PreStateMismatch(hPre, pre);
    }

    /// The post-state after a row's last step: the next phase's zero register (`next` bytes:
    /// 13 distance, 312 scoring, 26 pick, 256 the averaging accumulator, 800 Bulyan's trim
    /// register) and `r`.
    function _phaseStart(StepContext calldata s, uint256 next, Regions memory r)
        internal
        pure
        returns (bytes32)
    {
        if (
            next != DISTANCE_REGISTER_BYTES && next != SCORE_REGISTER_BYTES && next != PICK_REGISTER_BYTES
                && next != Commitments.ACC_BYTES && next != Commitments.STAT_BYTES
        ) revert BadNextRegister(next);
        // The trim register's zero is 160 offset limbs 2^39, not zero bytes.
        bytes32 zero = next == Commitments.STAT_BYTES
            ? Commitments.ZERO_STAT_HASH
            : Commitments.registerHashMem(new bytes(next));
        return
            Commitments.stateHash3(s.configHash, uint256(s.step) + 1, zero, r.output, r.distance, r.selection);
    }

    /// The clipping scale of the step's `k`-th participant read, of `reads`: 2^32 when
    /// `kindParams` is the kind's own `own` bytes (an unclipped rule). Under a clipped rule
    /// (docs/design/clipping.md) the `ClipChecker` appends one word per read, each at most
    /// 2^32; any other length reverts `BadLength("kindParams", own + 32·reads, length)`.
    function _clipScale(bytes calldata kindParams, uint256 own, uint256 reads, uint256 k)
        internal
        pure
        returns (uint256 scale)
    {
        uint256 len = kindParams.length;
        if (len == own) return Commitments.UNIT_SCALE;
        _requireLength("kindParams", len, own + 32 * reads);
        uint256 word = own + 32 * k;
        scale = uint256(bytes32(kindParams[word:word + 32]));
        Commitments.requireScale(scale);
    }

    /// Checks the read of `participant`'s value leaf `leafIndex` (lengths and both openings of
    /// the committed values), then clips its values by `scale` (<= 2^32; unchanged at 2^32):
    /// what the proof is over.
    function _openRead(
        StepContext calldata s,
        uint256 participant,
        uint256 leafIndex,
        ClientRead memory c,
        uint256 scale
    ) internal pure {
        _requireLength("values", c.values.length, Commitments.VALUE_LEAF_BYTES);
        _requireLength("valuesPath", c.valuesPath.length, Commitments.depthFor(Commitments.chunkCount(s.dim)));
        _requireLength("inputPath", c.inputPath.length, Commitments.depthFor(s.n));
        _openClientRead(
            s.inputRoot, participant, leafIndex, c.updateRoot, c.weight, c.inputPath, c.values, c.valuesPath
        );
        if (scale != Commitments.UNIT_SCALE) Commitments.clipValuesMem(c.values, scale);
    }

    /// Reverts `BadOpening` unless `lanes` (104 bytes) is distance leaf `index` of `root`.
    function _openDistance(uint256 n, bytes memory lanes, bytes32[] memory path, uint256 index, bytes32 root)
        internal
        pure
    {
        _requireLength("distance leaf", lanes.length, Commitments.SLOTS_LEAF_BYTES);
        _requireLength("distance path", path.length, Commitments.depthFor(n * _blocks(n)));
        bytes32 got = Commitments.foldPathMem(Commitments.distanceLeafHashMem(lanes), index, path);
        if (got != root) revert BadOpening("distance", root, got);
    }

    /// Reverts `BadOpening` unless `leaf` (105 bytes) is selection leaf `index` of `root`.
    function _openSelection(uint256 n, bytes memory leaf, bytes32[] memory path, uint256 index, bytes32 root)
        internal
        pure
    {
        _requireLength("selection leaf", leaf.length, Commitments.SELECTION_LEAF_BYTES);
        _requireLength("selection path", path.length, Commitments.depthFor(_blocks(n)));
        bytes32 got = Commitments.foldPathMem(Commitments.selectionLeafHashMem(leaf), index, path);
        if (got != root) revert BadOpening("selection", root, got);
    }

    /// Whether participant `i`'s flag is set in its selection leaf.
    function _picked(bytes memory leaf, uint256 i) internal pure returns (bool) {
        return (uint8(leaf[104]) >> (i % SCORE_LANES)) & 1 == 1;
    }
}
