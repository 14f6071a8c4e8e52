// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Commitments} from "../lib/Commitments.sol";
import {IStepChecker} from "../interfaces/IStepChecker.sol";
import {SelectionStepChecker} from "./SelectionStepChecker.sol";

/// @title SelectFinalizeChecker
/// @notice Checks a SelectFinalize step (step-vm `kinds/select.rs`, kind 13): output leaf
///         j = row is the accumulator over the pick count m', rounded half up, proven by the
///         Finalize verifier over the instances m', acc (11), out (5). Writes the leaf (opened
///         as still zero in the output tree), resets the accumulator, and at the last row
///         clears the working memory: the final state derives from the output root alone.
/// @dev `kindParams` = abi.encode(uint256 picks).
contract SelectFinalizeChecker is SelectionStepChecker {
    /// @notice A SelectFinalize leaf, passed as `abi.encode(leaf)`: the accumulator (256
    ///         bytes), the pre-state's regions, the output leaf written (128 bytes) and its path
    ///         (depth ceil(log2 C)).
    struct SelectFinalizeLeaf {
        bytes acc;
        Regions pre;
        bytes values;
        bytes32[] path;
        bytes proof;
    }

    /// @notice Public inputs of a Finalize proof: W, acc (11), out (5).
    uint256 public constant INSTANCES = 17;

    /// @param verifier_ The Finalize verifier (must have code).
    /// @param verifierGasCap_ Gas forwarded to a verifier call (positive).
    /// @param proofBytes_ Bytes of a Finalize proof (1,376).
    constructor(address verifier_, uint256 verifierGasCap_, uint256 proofBytes_)
        SelectionStepChecker(verifier_, verifierGasCap_, proofBytes_)
    {}

    /// @inheritdoc IStepChecker
    function postState(StepContext calldata s, bytes32 hPre, bytes calldata leaf)
        external
        view
        returns (bytes32)
    {
        _requireLength("kindParams", s.kindParams.length, 32);
        uint256 picks = abi.decode(s.kindParams, (uint256));
        uint256 chunks = Commitments.chunkCount(s.dim);
        if (s.col != s.n || s.row >= chunks || picks == 0 || picks > s.n) revert BadPosition(s.row, s.col);
        SelectFinalizeLeaf memory l = abi.decode(leaf, (SelectFinalizeLeaf));
        _requireCanonical(leaf.length, abi.encode(l).length);
        _requireLength("acc", l.acc.length, Commitments.ACC_BYTES);
        _requireLength("values", l.values.length, Commitments.VALUE_LEAF_BYTES);
        _requireLength("path", l.path.length, Commitments.depthFor(chunks));
        _requireProofLength(l.proof.length);
        _requirePre(s, hPre, l.acc, l.pre);
        bytes32 got = Commitments.foldPathMem(bytes32(0), s.row, l.path);
        if (got != l.pre.output) revert BadOpening("output", l.pre.output, got);

        uint256[] memory instances = new uint256[](INSTANCES);
        instances[0] = picks;
        Commitments.packAccMem(l.acc, instances, 1);
        Commitments.packValuesMem(l.values, instances, 12);
        _verify(instances, l.proof);

        Regions memory post = l.pre;
        post.output = Commitments.foldPathMem(Commitments.valueLeafHashMem(l.values), s.row, l.path);
        if (s.row == chunks - 1) {
            post.distance = bytes32(0);
            post.selection = bytes32(0);
        }
        return _phaseStart(s, Commitments.ACC_BYTES, post);
    }

    /// @notice The bytes `postState` (and `BisectionGame.proveLeaf`) take for `leaf`:
    ///         `abi.encode(leaf)`. Declares the leaf struct in this contract's ABI.
    /// @param leaf The leaf.
    /// @return Its encoding.
    function encodeLeaf(SelectFinalizeLeaf calldata leaf) external pure returns (bytes memory) {
        return abi.encode(leaf);
    }

    /// @inheritdoc IStepChecker
    function name() external pure returns (string memory) {
        return "SelectFinalize";
    }
}
