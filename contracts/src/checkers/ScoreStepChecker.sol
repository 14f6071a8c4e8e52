// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Commitments} from "../lib/Commitments.sol";
import {SelectionStepChecker} from "./SelectionStepChecker.sol";

/// @title ScoreStepChecker
/// @notice What the scoring checkers share (step-vm `kinds/select.rs`, `ScoreRank` and
///         `ScoreSum`): column j of scoring block b reads distance leaf j·B + b (its lanes are
///         D_{8b+l, j}, by symmetry) and selection leaf j/8 for j's pick flag; a picked j's
///         entries are all 2^104 - 1 (above every distance: never counted). The register is
///         24 slots (312 bytes: 8 prefixes, 8 counts, 8 sums), 12 public inputs.
/// @dev `kindParams` = abi.encode(uint256 j, uint256 b, uint256 bit, uint256 rank,
///      uint256 next): the column, the block, the pass's bit (ScoreRank), the round's rank
///      m_r, and at a block's last ScoreSum the next phase's register length (else 0).
abstract contract ScoreStepChecker is SelectionStepChecker {
    /// @notice A scoring leaf, passed as `abi.encode(leaf)` (ScoreRank and ScoreSum share it):
    ///         the register (312 bytes), the pre-state's regions, distance leaf j·B + b
    ///         (`column`, 104 bytes) and selection leaf j/8 (`flag`, 105 bytes) with their
    ///         paths, the register after the step (`registerOut`), and for ScoreSum the
    ///         block's scores (104 bytes) and, at its last column, selection leaf b before the
    ///         write (`write`, 105 bytes) with its path; empty where unused.
    struct ScoreLeaf {
        bytes register;
        Regions pre;
        bytes column;
        bytes32[] columnPath;
        bytes flag;
        bytes32[] flagPath;
        bytes registerOut;
        bytes scores;
        bytes write;
        bytes32[] writePath;
        bytes proof;
    }

    /// @notice The step's kind parameters.
    struct ScoreParams {
        uint256 j;
        uint256 block;
        uint256 bit;
        uint256 rank;
        uint256 next;
    }

    /// @param verifier_ The kind's verifier (must have code).
    /// @param verifierGasCap_ Gas forwarded to a verifier call (positive).
    /// @param proofBytes_ Bytes of a proof (1,376).
    constructor(address verifier_, uint256 verifierGasCap_, uint256 proofBytes_)
        SelectionStepChecker(verifier_, verifierGasCap_, proofBytes_)
    {}

    /// Decodes and checks a scoring leaf: kind parameters, canonical encoding, lengths,
    /// pre-state, both openings. Returns the leaf, the parameters and the instances with
    /// `first` scalars left for the caller, then the entries (4), the register (12),
    /// registerOut (12) and `extra` more.
    function _scoreRead(StepContext calldata s, bytes32 hPre, bytes calldata leaf, uint256 first, uint256 extra)
        internal
        view
        returns (ScoreLeaf memory l, ScoreParams memory p, uint256[] memory instances)
    {
        _requireLength("kindParams", s.kindParams.length, 160);
        p = abi.decode(s.kindParams, (ScoreParams));
        uint256 blocks = _blocks(s.n);
        if (p.j >= s.n || p.block >= blocks) revert BadPosition(s.row, s.col);
        l = abi.decode(leaf, (ScoreLeaf));
        _requireCanonical(leaf.length, abi.encode(l).length);
        _requireLength("register", l.register.length, SCORE_REGISTER_BYTES);
        _requireLength("registerOut", l.registerOut.length, SCORE_REGISTER_BYTES);
        _requireProofLength(l.proof.length);
        _requirePre(s, hPre, l.register, l.pre);
        _openDistance(s.n, l.column, l.columnPath, p.j * blocks + p.block, l.pre.distance);
        _openSelection(s.n, l.flag, l.flagPath, p.j / SCORE_LANES, l.pre.selection);
        instances = new uint256[](first + 28 + extra);
        if (_picked(l.flag, p.j)) {
            for (uint256 t; t < 4; ++t) {
                instances[first + t] = MASKED_PAIR;
            }
        } else {
            Commitments.packSlotsMem(l.column, instances, first);
        }
        Commitments.packSlotsMem(l.register, instances, first + 4);
        Commitments.packSlotsMem(l.registerOut, instances, first + 16);
    }
}
