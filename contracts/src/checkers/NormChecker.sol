// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Commitments} from "../lib/Commitments.sol";
import {IStepChecker} from "../interfaces/IStepChecker.sol";
import {NormStepChecker} from "./NormStepChecker.sol";

/// @title NormChecker
/// @notice Checks a Norm step (docs/design/clipping.md, kind 5): column c < C of prologue row i
///         adds the squares of participant i's value leaf c to the norm register. Checks
///         participant i's leaf in the input root, its value leaf c in its update root, the
///         pre-state preimage (configHash, step, register, scalesRoot), and the proof of
///         `t = lo + Σ_l x_l²`, `lo' = t mod 2^40`, `hi' = hi + floor(t / 2^40)` over the
///         instances x (5), lo, hi, lo', hi'; returns the commitment of (configHash, step + 1,
///         registerOut, scalesRoot).
/// @dev The values are the committed ones (no scale: the norm is what decides it); the kind
///      takes no kind parameters.
contract NormChecker is NormStepChecker {
    /// @notice A Norm leaf, passed as `abi.encode(leaf)`: the ABI tuple of FedAvg's
    ///         `AccumulateLeaf`, with the norm register in place of the accumulator and the
    ///         scales root in place of the output root.
    /// @dev `register`/`registerOut` are two big-endian int64 words, lo and hi (16 bytes), each
    ///      in [0, 2^63); `values` 32 × int32 (128 bytes). `inputPath` opens participant i = row's
    ///      leaf keccak(0x02 ‖ updateRoot ‖ be32(weight)) in the input root (depth ceil(log2 n));
    ///      `valuesPath` opens value leaf c = col of `values` in `updateRoot` (depth
    ///      ceil(log2 C)).
    struct NormLeaf {
        bytes register;
        bytes32 scalesRoot;
        bytes32 updateRoot;
        uint32 weight;
        bytes32[] inputPath;
        bytes values;
        bytes32[] valuesPath;
        bytes registerOut;
        bytes proof;
    }

    /// @notice Public inputs of a Norm proof: x (5), lo, hi, lo', hi'.
    uint256 public constant INSTANCES = 9;

    /// @param verifier_ The Norm verifier (must have code).
    /// @param verifierGasCap_ Gas forwarded to a verifier call (positive).
    /// @param proofBytes_ Bytes of a Norm proof (1,376).
    constructor(address verifier_, uint256 verifierGasCap_, uint256 proofBytes_)
        NormStepChecker(verifier_, verifierGasCap_, proofBytes_)
    {}

    /// @inheritdoc IStepChecker
    function postState(StepContext calldata s, bytes32 hPre, bytes calldata leaf)
        external
        view
        returns (bytes32)
    {
        NormLeaf memory l = abi.decode(leaf, (NormLeaf));
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
        if (s.col >= chunks || s.row >= s.n) revert BadPosition(s.row, s.col);
        _requireLength("kindParams", s.kindParams.length, 0);
        _requireLength("register", l.register.length, NORM_BYTES);
        _requireLength("values", l.values.length, Commitments.VALUE_LEAF_BYTES);
        _requireLength("valuesPath", l.valuesPath.length, Commitments.depthFor(chunks));
        _requireLength("registerOut", l.registerOut.length, NORM_BYTES);
        _requireLength("inputPath", l.inputPath.length, Commitments.depthFor(s.n));
        _requireProofLength(l.proof.length);
        (uint256 lo, uint256 hi) = _normWords(l.register);
        (uint256 loOut, uint256 hiOut) = _normWords(l.registerOut);
        _requirePreState(s, hPre, l.register, l.scalesRoot);

        _openClientRead(
            s.inputRoot, s.row, s.col, l.updateRoot, l.weight, l.inputPath, l.values, l.valuesPath
        );

        uint256[] memory instances = new uint256[](INSTANCES);
        Commitments.packValuesMem(l.values, instances, 0);
        (instances[5], instances[6], instances[7], instances[8]) = (lo, hi, loOut, hiOut);
        _verify(instances, l.proof);

        return Commitments.stateHash(
            s.configHash, uint256(s.step) + 1, Commitments.registerHashMem(l.registerOut), l.scalesRoot
        );
    }

    /// @notice The bytes `postState` (and `BisectionGame.proveLeaf`) take for `leaf`:
    ///         `abi.encode(leaf)`. Declares the leaf struct in this contract's ABI.
    /// @param leaf The leaf.
    /// @return Its encoding.
    function encodeLeaf(NormLeaf calldata leaf) external pure returns (bytes memory) {
        return abi.encode(leaf);
    }

    /// @inheritdoc IStepChecker
    function name() external pure returns (string memory) {
        return "Norm";
    }
}
