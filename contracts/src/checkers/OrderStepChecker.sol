// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Commitments} from "../lib/Commitments.sol";
import {StepChecker} from "./StepChecker.sol";

/// @title OrderStepChecker
/// @notice What the order-statistic step checkers share (step-vm `kinds/order.rs`): the trim k
///         from the step's kind parameters, the 160-word register (160 five-byte offset limbs
///         w + 2^39, 800 bytes) and its commitment keccak(0x03 ‖ limbs), and the read of one participant's value leaf that Rank
///         and TrimSum steps make (the pre-state preimage, participant i's leaf in the input
///         root, its value leaf j = row in its update root, the packed values and registers).
/// @dev The register packs into 27 public inputs (`Commitments.packStatMem`): 30-byte slices
///      of its encoding (every 5-byte limb is a word of [-2^39, 2^39), so there is no range to
///      check). Under a clipped rule (docs/design/clipping.md) a Rank or
///      TrimSum step gets the read participant's scale s too, `kindParams = abi.encode(uint256 k,
///      uint256 s)`: the opened values are the committed (raw) ones, the instances x their
///      clipped values floor((x·s + 2^31) / 2^32).
abstract contract OrderStepChecker is StepChecker {
    /// @notice The layout of a Rank or TrimSum leaf (`RankChecker.RankLeaf`,
    ///         `TrimSumChecker.TrimSumLeaf`: the same ABI tuple, which is also FedAvg's
    ///         `AccumulateLeaf`), as the checkers decode it.
    /// @dev `register`/`registerOut` are 160 big-endian 40-bit offset limbs w + 2^39 (800
    ///      bytes), `values` 32 × int32 (128 bytes, big-endian two's complement). `inputPath` opens participant i's leaf
    ///      keccak(0x02 ‖ updateRoot ‖ be32(weight)) in the input root (depth ceil(log2 n));
    ///      `valuesPath` opens value leaf j of `values` in `updateRoot` (depth ceil(log2 C)).
    struct ClientReadLeaf {
        bytes register;
        bytes32 outputRoot;
        bytes32 updateRoot;
        uint32 weight;
        bytes32[] inputPath;
        bytes values;
        bytes32[] valuesPath;
        bytes registerOut;
        bytes proof;
    }

    /// @notice Rank passes per row (one per bit of a value).
    uint256 public constant RANK_PASSES = 32;

    /// @notice The trim k of the kind parameters leaves no value: 2k >= n.
    error BadTrim(uint256 k, uint256 n);

    /// @param verifier_ The kind's verifier (must have code).
    /// @param verifierGasCap_ Gas forwarded to a verifier call (positive).
    /// @param proofBytes_ Bytes of a proof (1,376).
    constructor(address verifier_, uint256 verifierGasCap_, uint256 proofBytes_)
        StepChecker(verifier_, verifierGasCap_, proofBytes_)
    {}

    /// The trim k: `s.kindParams` is `abi.encode(uint256 k)` with 2k < n (the programs
    /// guarantee it; the circuits take n-1-k and n-2k >= 1).
    function _trim(StepContext calldata s) internal pure returns (uint256 k) {
        _requireLength("kindParams", s.kindParams.length, 32);
        k = abi.decode(s.kindParams, (uint256));
        if (k >= s.n || 2 * k >= s.n) revert BadTrim(k, s.n);
    }

    /// The trim k and the read participant's clipping scale of a Rank or TrimSum step:
    /// `s.kindParams` is `abi.encode(uint256 k)` (scale 2^32: the order-statistic rules) or
    /// `abi.encode(uint256 k, uint256 scale)` (a clipped rule) with 2k < n and scale <= 2^32.
    function _trimAndScale(StepContext calldata s) internal pure returns (uint256 k, uint256 scale) {
        if (s.kindParams.length == 64) {
            (k, scale) = abi.decode(s.kindParams, (uint256, uint256));
            Commitments.requireScale(scale);
        } else {
            // Any other length is refused as the unclipped form's.
            _requireLength("kindParams", s.kindParams.length, 32);
            k = abi.decode(s.kindParams, (uint256));
            scale = Commitments.UNIT_SCALE;
        }
        if (k >= s.n || 2 * k >= s.n) revert BadTrim(k, s.n);
    }

    /// Decodes and checks a Rank or TrimSum leaf reading participant `participant`'s value leaf
    /// j = `s.row`: canonical encoding, lengths, pre-state, both openings (of the committed
    /// values). Returns the leaf and the instances with `first` scalars left for the caller,
    /// then x (5, clipped by `scale` <= 2^32: unchanged at 2^32), the register (27) and
    /// registerOut (27). The leaf's `values` are clipped in place.
    function _clientRead(
        StepContext calldata s,
        bytes32 hPre,
        bytes calldata leaf,
        uint256 participant,
        uint256 first,
        uint256 scale
    ) internal view returns (ClientReadLeaf memory l, uint256[] memory instances) {
        l = abi.decode(leaf, (ClientReadLeaf));
        _requireCanonical(
            leaf.length,
            _clientReadLeafLength(
                l.register.length,
                l.inputPath.length,
                l.values.length,
                l.valuesPath.length,
                l.registerOut.length,
                l.proof.length
            )
        );
        uint256 chunks = Commitments.chunkCount(s.dim);
        if (s.row >= chunks) revert BadPosition(s.row, s.col);
        _requireLength("register", l.register.length, Commitments.STAT_BYTES);
        _requireLength("values", l.values.length, Commitments.VALUE_LEAF_BYTES);
        _requireLength("valuesPath", l.valuesPath.length, Commitments.depthFor(chunks));
        _requireLength("registerOut", l.registerOut.length, Commitments.STAT_BYTES);
        _requireLength("inputPath", l.inputPath.length, Commitments.depthFor(s.n));
        _requireProofLength(l.proof.length);
        _requirePreState(s, hPre, l.register, l.outputRoot);

        _openClientRead(
            s.inputRoot, participant, s.row, l.updateRoot, l.weight, l.inputPath, l.values, l.valuesPath
        );

        // The opening is over the committed values; the proof over the clipped ones.
        if (scale != Commitments.UNIT_SCALE) Commitments.clipValuesMem(l.values, scale);
        instances = new uint256[](first + Commitments.VALUE_INSTANCES + 2 * Commitments.STAT_INSTANCES);
        Commitments.packValuesMem(l.values, instances, first);
        Commitments.packStatMem(l.register, instances, first + Commitments.VALUE_INSTANCES);
        Commitments.packStatMem(
            l.registerOut, instances, first + Commitments.VALUE_INSTANCES + Commitments.STAT_INSTANCES
        );
    }

    /// The post-state of a Rank or TrimSum step: (configHash, step + 1, registerOut, outputRoot).
    function _clientPost(StepContext calldata s, ClientReadLeaf memory l) internal pure returns (bytes32) {
        return Commitments.stateHash(
            s.configHash, uint256(s.step) + 1, Commitments.registerHashMem(l.registerOut), l.outputRoot
        );
    }
}
