// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Commitments} from "../lib/Commitments.sol";
import {SelectionStepChecker} from "./SelectionStepChecker.sol";

/// @title TrimStepChecker
/// @notice What Bulyan's trim checkers reading a participant share (step-vm `kinds/close.rs`:
///         `SelectRank`, `CloseRank`, `CloseSum`): participant i's value leaf j = row, its pick
///         flag (selection leaf i/8), the order-statistic register (160 five-byte offset limbs,
///         800 bytes, 27 public inputs) before and after, and the pre-state of three regions.
///         The post-state is (configHash, step + 1, registerOut, regions).
abstract contract TrimStepChecker is SelectionStepChecker {
    /// @notice A trim leaf, passed as `abi.encode(leaf)`: the register, the pre-state's
    ///         regions, the participant's read, its selection leaf (105 bytes) with its path, the
    ///         register after the step, the proof.
    struct TrimLeaf {
        bytes register;
        Regions pre;
        ClientRead read;
        bytes flag;
        bytes32[] flagPath;
        bytes registerOut;
        bytes proof;
    }

    /// @notice Rank passes of the median bounds (one per bit of a value).
    uint256 public constant RANK_PASSES = 32;
    /// @notice Closeness passes (one per bit of e < 2^33).
    uint256 public constant CLOSE_PASSES = 33;

    /// @param verifier_ The kind's verifier (must have code).
    /// @param verifierGasCap_ Gas forwarded to a verifier call (positive).
    /// @param proofBytes_ Bytes of a proof (1,376).
    constructor(address verifier_, uint256 verifierGasCap_, uint256 proofBytes_)
        SelectionStepChecker(verifier_, verifierGasCap_, proofBytes_)
    {}

    /// Decodes and checks a trim leaf reading participant `i`'s value leaf `s.row`: canonical
    /// encoding, lengths, pre-state, both openings and the flag's. Returns the leaf, whether
    /// `i` is picked, and the instances with `first` scalars left for the caller, then x (5,
    /// clipped by the scale a clipped rule appends to the kind's `own` parameter bytes), the
    /// register (27) and registerOut (27).
    function _trimRead(
        StepContext calldata s,
        bytes32 hPre,
        bytes calldata leaf,
        uint256 i,
        uint256 first,
        uint256 own
    ) internal view returns (TrimLeaf memory l, bool picked, uint256[] memory instances) {
        if (s.row >= Commitments.chunkCount(s.dim)) revert BadPosition(s.row, s.col);
        l = abi.decode(leaf, (TrimLeaf));
        _requireCanonical(leaf.length, abi.encode(l).length);
        _requireLength("register", l.register.length, Commitments.STAT_BYTES);
        _requireLength("registerOut", l.registerOut.length, Commitments.STAT_BYTES);
        _requireProofLength(l.proof.length);
        _requirePre(s, hPre, l.register, l.pre);
        _openRead(s, i, s.row, l.read, _clipScale(s.kindParams, own, 1, 0));
        _openSelection(s.n, l.flag, l.flagPath, i / SCORE_LANES, l.pre.selection);
        picked = _picked(l.flag, i);
        instances = new uint256[](first + Commitments.VALUE_INSTANCES + 2 * Commitments.STAT_INSTANCES);
        Commitments.packValuesMem(l.read.values, instances, first);
        Commitments.packStatMem(l.register, instances, first + Commitments.VALUE_INSTANCES);
        Commitments.packStatMem(
            l.registerOut, instances, first + Commitments.VALUE_INSTANCES + Commitments.STAT_INSTANCES
        );
    }
}
