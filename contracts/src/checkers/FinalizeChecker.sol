// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Commitments} from "../lib/Commitments.sol";
import {IStepChecker} from "../interfaces/IStepChecker.sol";
import {StepChecker} from "./StepChecker.sol";

/// @title FinalizeChecker
/// @notice Checks a Finalize step (docs/ARCHITECTURE.md §4, §5): the pre-state preimage, output
///         leaf j = row still unwritten in the output root, and the proof of
///         `out_l = floor((2·acc_l + W) / (2W))` over the instances W, acc (11), out (5);
///         returns the commitment of (configHash, step + 1, zero register, output root with
///         leaf j = out).
contract FinalizeChecker is StepChecker {
    /// @notice A Finalize leaf, passed as `abi.encode(leaf)`.
    /// @dev `acc` is 32 × int64 (256 bytes), `values` the output leaf j, 32 × int32 (128
    ///      bytes), both big-endian two's complement; `outputPath` opens the still-zero output
    ///      leaf j in `outputRoot` (depth ceil(log2 C)).
    struct FinalizeLeaf {
        bytes acc;
        bytes32 outputRoot;
        bytes values;
        bytes32[] outputPath;
        bytes proof;
    }

    /// @notice Public inputs of a Finalize proof: W, acc (11), out (5).
    uint256 public constant INSTANCES = 17;

    /// @param verifier_ The Finalize verifier (must have code).
    /// @param verifierGasCap_ Gas forwarded to a verifier call (positive).
    /// @param proofBytes_ Bytes of a Finalize proof (1,376).
    constructor(address verifier_, uint256 verifierGasCap_, uint256 proofBytes_)
        StepChecker(verifier_, verifierGasCap_, proofBytes_)
    {}

    /// @inheritdoc IStepChecker
    function postState(StepContext calldata s, bytes32 hPre, bytes calldata leaf)
        external
        view
        returns (bytes32)
    {
        FinalizeLeaf memory l = abi.decode(leaf, (FinalizeLeaf));
        _requireCanonical(
            leaf.length, _writeLeafLength(l.acc.length, l.values.length, l.outputPath.length, l.proof.length)
        );
        uint256 chunks = Commitments.chunkCount(s.dim);
        if (s.row >= chunks) revert BadPosition(s.row, s.col);
        _requireLength("acc", l.acc.length, Commitments.ACC_BYTES);
        _requireLength("values", l.values.length, Commitments.VALUE_LEAF_BYTES);
        _requireLength("outputPath", l.outputPath.length, Commitments.depthFor(chunks));
        _requireProofLength(l.proof.length);
        bytes32 pre = Commitments.stateHash(s.configHash, s.step, Commitments.accHashMem(l.acc), l.outputRoot);
        if (pre != hPre) revert PreStateMismatch(hPre, pre);

        // Output leaf j must still be unwritten.
        bytes32 root = Commitments.foldPathMem(bytes32(0), s.row, l.outputPath);
        if (root != l.outputRoot) revert BadOpening("output", l.outputRoot, root);

        uint256[] memory instances = new uint256[](INSTANCES);
        instances[0] = s.totalWeight;
        Commitments.packAccMem(l.acc, instances, 1);
        Commitments.packValuesMem(l.values, instances, 12);
        _verify(instances, l.proof);

        bytes32 newRoot = Commitments.foldPathMem(Commitments.valueLeafHashMem(l.values), s.row, l.outputPath);
        return Commitments.stateHash(s.configHash, uint256(s.step) + 1, Commitments.ZERO_ACC_HASH, newRoot);
    }

    /// @notice The bytes `postState` (and `BisectionGame.proveLeaf`) take for `leaf`:
    ///         `abi.encode(leaf)`. Declares the leaf struct in this contract's ABI.
    /// @param leaf The leaf.
    /// @return Its encoding.
    function encodeLeaf(FinalizeLeaf calldata leaf) external pure returns (bytes memory) {
        return abi.encode(leaf);
    }

    /// @inheritdoc IStepChecker
    function name() external pure returns (string memory) {
        return "Finalize";
    }
}
