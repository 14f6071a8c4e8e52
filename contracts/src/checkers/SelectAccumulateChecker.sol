// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Commitments} from "../lib/Commitments.sol";
import {IStepChecker} from "../interfaces/IStepChecker.sol";
import {SelectionStepChecker} from "./SelectionStepChecker.sol";

/// @title SelectAccumulateChecker
/// @notice Checks a SelectAccumulate step (step-vm `kinds/select.rs`, kind 12): participant
///         i = col's value leaf j = row, weighted by its pick flag (selection leaf i/8), with the
///         Accumulate verifier: acc' = acc + flag_i · x over the instances flag, x (5), acc (11),
///         acc' (11). Returns (configHash, step + 1, acc', regions).
/// @dev `kindParams` is empty, or under a clipped rule the participant's scale (x is then the
///      clipped values).
contract SelectAccumulateChecker is SelectionStepChecker {
    /// @notice A SelectAccumulate leaf, passed as `abi.encode(leaf)`: the accumulator (32 ×
    ///         int64, 256 bytes), the pre-state's regions, the participant's read, its
    ///         selection leaf (105 bytes) with its path, and acc'.
    struct SelectAccumulateLeaf {
        bytes acc;
        Regions pre;
        ClientRead read;
        bytes flag;
        bytes32[] flagPath;
        bytes accOut;
        bytes proof;
    }

    /// @notice Public inputs of an Accumulate proof: w, x (5), acc (11), acc' (11).
    uint256 public constant INSTANCES = 28;

    /// @param verifier_ The Accumulate verifier (must have code).
    /// @param verifierGasCap_ Gas forwarded to a verifier call (positive).
    /// @param proofBytes_ Bytes of an Accumulate proof (1,376).
    constructor(address verifier_, uint256 verifierGasCap_, uint256 proofBytes_)
        SelectionStepChecker(verifier_, verifierGasCap_, proofBytes_)
    {}

    /// @inheritdoc IStepChecker
    function postState(StepContext calldata s, bytes32 hPre, bytes calldata leaf)
        external
        view
        returns (bytes32)
    {
        if (s.col >= s.n || s.row >= Commitments.chunkCount(s.dim)) revert BadPosition(s.row, s.col);
        SelectAccumulateLeaf memory l = abi.decode(leaf, (SelectAccumulateLeaf));
        _requireCanonical(leaf.length, abi.encode(l).length);
        _requireLength("acc", l.acc.length, Commitments.ACC_BYTES);
        _requireLength("accOut", l.accOut.length, Commitments.ACC_BYTES);
        _requireProofLength(l.proof.length);
        _requirePre(s, hPre, l.acc, l.pre);
        _openRead(s, s.col, s.row, l.read, _clipScale(s.kindParams, 0, 1, 0));
        _openSelection(s.n, l.flag, l.flagPath, s.col / SCORE_LANES, l.pre.selection);

        uint256[] memory instances = new uint256[](INSTANCES);
        instances[0] = _picked(l.flag, s.col) ? 1 : 0;
        Commitments.packValuesMem(l.read.values, instances, 1);
        Commitments.packAccMem(l.acc, instances, 6);
        Commitments.packAccMem(l.accOut, instances, 17);
        _verify(instances, l.proof);
        return _state(s, uint256(s.step) + 1, l.accOut, l.pre);
    }

    /// @notice The bytes `postState` (and `BisectionGame.proveLeaf`) take for `leaf`:
    ///         `abi.encode(leaf)`. Declares the leaf struct in this contract's ABI.
    /// @param leaf The leaf.
    /// @return Its encoding.
    function encodeLeaf(SelectAccumulateLeaf calldata leaf) external pure returns (bytes memory) {
        return abi.encode(leaf);
    }

    /// @inheritdoc IStepChecker
    function name() external pure returns (string memory) {
        return "SelectAccumulate";
    }
}
