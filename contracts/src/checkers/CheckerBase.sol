// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Commitments} from "../lib/Commitments.sol";
import {TxGas} from "../lib/TxGas.sol";
import {IStepChecker} from "../interfaces/IStepChecker.sol";

/// @title CheckerBase
/// @notice What every step checker shares, with a verifier of its own (`StepChecker`) or
///         without (`ClipChecker`): the errors of a leaf that does not check out, the canonical
///         ABI lengths of the two leaf tuples the kinds use, the pre-state of a register and
///         one region, and the read of one participant's committed value leaf.
abstract contract CheckerBase is IStepChecker {
    // ---------------------------------------------------------------- errors

    /// @notice The leaf is not exactly its canonical `abi.encode`: its length is not the
    ///         canonical length of its decoded fields (`expected`), or (a leaf read in place)
    ///         an offset is not the canonical one (`expected` 0).
    error NonCanonicalLeaf(uint256 expected, uint256 actual);
    /// @notice A field has the wrong length (bytes, or elements of a path).
    error BadLength(string field, uint256 expected, uint256 actual);
    /// @notice The commitment of the pre-state the leaf describes != hPre.
    error PreStateMismatch(bytes32 expected, bytes32 actual);
    /// @notice A Merkle opening does not lead to the committed root.
    error BadOpening(string tree, bytes32 expectedRoot, bytes32 actualRoot);

    // ---------------------------------------------------------------- internals

    function _requireLength(string memory field, uint256 actual, uint256 expected) internal pure {
        if (actual != expected) revert BadLength(field, expected, actual);
    }

    /// `leaf.length` must equal `expected`, the canonical length of `abi.encode(struct)`: the
    /// struct's offset word, its head words, then each dynamic field's tail in order
    /// (`_abiBytes`, `_abiWords`).
    function _requireCanonical(uint256 actual, uint256 expected) internal pure {
        if (actual != expected) revert NonCanonicalLeaf(expected, actual);
    }

    /// Bytes a `bytes` field of `length` takes in a canonical tail: its length word and its
    /// data padded to whole words.
    function _abiBytes(uint256 length) internal pure returns (uint256) {
        return TxGas.abiBytes(length);
    }

    /// Bytes a `bytes32[]` field of `length` elements takes in a canonical tail.
    function _abiWords(uint256 length) internal pure returns (uint256) {
        return 32 + 32 * length;
    }

    /// The canonical length of a participant-read leaf, `abi.encode((bytes register,
    /// bytes32 root, bytes32 updateRoot, uint32 weight, bytes32[] inputPath, bytes values,
    /// bytes32[] valuesPath, bytes registerOut, bytes proof))` (Accumulate, Rank, TrimSum,
    /// Norm): the struct's offset word, nine head words, then the six tails, from their
    /// lengths.
    function _clientReadLeafLength(
        uint256 register,
        uint256 inputPath,
        uint256 values,
        uint256 valuesPath,
        uint256 registerOut,
        uint256 proof
    ) internal pure returns (uint256) {
        return 32 + 9 * 32 + _abiBytes(register) + _abiWords(inputPath) + _abiBytes(values)
            + _abiWords(valuesPath) + _abiBytes(registerOut) + _abiBytes(proof);
    }

    /// The canonical length of a write leaf, `abi.encode((bytes register, bytes32 root,
    /// bytes values, bytes32[] path, bytes proof))` (Finalize, TrimEmit, Scale): the struct's
    /// offset word, five head words, then the four tails, from their lengths.
    function _writeLeafLength(uint256 register, uint256 values, uint256 path, uint256 proof)
        internal
        pure
        returns (uint256)
    {
        return 32 + 5 * 32 + _abiBytes(register) + _abiBytes(values) + _abiWords(path) + _abiBytes(proof);
    }

    /// Reverts `PreStateMismatch` unless
    /// keccak(abi.encode(configHash, step, keccak(0x03 ‖ register), root)) == hPre: a state of
    /// one register and one region (the output tree, or a clipped rule's scales tree).
    function _requirePreState(StepContext calldata s, bytes32 hPre, bytes memory register, bytes32 root)
        internal
        pure
    {
        bytes32 pre = Commitments.stateHash(s.configHash, s.step, Commitments.registerHashMem(register), root);
        if (pre != hPre) revert PreStateMismatch(hPre, pre);
    }

    /// Reverts `BadOpening` unless participant `participant`'s leaf
    /// keccak(0x02 ‖ updateRoot ‖ be32(weight)) opens in `inputRoot` along `inputPath`, and
    /// `values` is value leaf `leafIndex` of `updateRoot` along `valuesPath`: the read of one
    /// participant's committed value leaf that Accumulate, Rank, TrimSum and Norm steps make.
    function _openClientRead(
        bytes32 inputRoot,
        uint256 participant,
        uint256 leafIndex,
        bytes32 updateRoot,
        uint32 weight,
        bytes32[] memory inputPath,
        bytes memory values,
        bytes32[] memory valuesPath
    ) internal pure {
        bytes32 root = Commitments.foldPathMem(
            Commitments.participantLeafHash(updateRoot, weight), participant, inputPath
        );
        if (root != inputRoot) revert BadOpening("input", inputRoot, root);
        root = Commitments.foldPathMem(Commitments.valueLeafHashMem(values), leafIndex, valuesPath);
        if (root != updateRoot) revert BadOpening("update", updateRoot, root);
    }
}
