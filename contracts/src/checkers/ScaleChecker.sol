// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Commitments} from "../lib/Commitments.sol";
import {IStepChecker} from "../interfaces/IStepChecker.sol";
import {NormStepChecker} from "./NormStepChecker.sol";

/// @title ScaleChecker
/// @notice Checks a Scale step (docs/design/clipping.md, kind 6): column C of prologue row i
///         writes participant i's clipping scale s into leaf i of the scales tree, which must
///         still be unwritten, and clears the norm register. Checks the pre-state preimage
///         (configHash, step, register, scalesRoot), `s <= 2^32`, the opening of the zero leaf i,
///         and the proof of `r = isqrt(lo + hi·2^40)`, `s = 2^32` if `r <= τ` else
///         `floor(τ·2^32 / r)` over the instances lo, hi, τ, s; returns the commitment of
///         (configHash, step + 1, zero register, scales root with leaf i = keccak(0x04 ‖ be64(s))).
/// @dev `kindParams = abi.encode(uint256 τ)`, the round's threshold (Q15.16, 1 <= τ < 2^32),
///      from the clipped program.
contract ScaleChecker is NormStepChecker {
    /// @notice A Scale leaf, passed as `abi.encode(leaf)`: the ABI tuple of FedAvg's
    ///         `FinalizeLeaf`, with the norm register in place of the accumulator, the scales
    ///         root in place of the output root and the scale in place of the output leaf.
    /// @dev `register` is two big-endian int64 words, lo and hi (16 bytes), each in [0, 2^63);
    ///      `values` is be64(s) (8 bytes); `scalesPath` opens the still-zero leaf i = row in
    ///      `scalesRoot` (depth ceil(log2 n)).
    struct ScaleLeaf {
        bytes register;
        bytes32 scalesRoot;
        bytes values;
        bytes32[] scalesPath;
        bytes proof;
    }

    /// @notice Public inputs of a Scale proof: lo, hi, τ, s.
    uint256 public constant INSTANCES = 4;
    /// @notice Bytes of a Scale leaf's `values`: be64(s).
    uint256 public constant SCALE_BYTES = 8;

    /// @notice The threshold of the kind parameters is 0 or not below 2^32.
    error BadThreshold(uint256 threshold);

    /// @param verifier_ The Scale verifier (must have code).
    /// @param verifierGasCap_ Gas forwarded to a verifier call (positive).
    /// @param proofBytes_ Bytes of a Scale proof (1,376).
    constructor(address verifier_, uint256 verifierGasCap_, uint256 proofBytes_)
        NormStepChecker(verifier_, verifierGasCap_, proofBytes_)
    {}

    /// @inheritdoc IStepChecker
    function postState(StepContext calldata s, bytes32 hPre, bytes calldata leaf)
        external
        view
        returns (bytes32)
    {
        ScaleLeaf memory l = abi.decode(leaf, (ScaleLeaf));
        _requireCanonical(
            leaf.length,
            _writeLeafLength(l.register.length, l.values.length, l.scalesPath.length, l.proof.length)
        );
        if (s.col != Commitments.chunkCount(s.dim) || s.row >= s.n) revert BadPosition(s.row, s.col);
        _requireLength("kindParams", s.kindParams.length, 32);
        uint256 threshold = abi.decode(s.kindParams, (uint256));
        if (threshold == 0 || threshold >= 1 << 32) revert BadThreshold(threshold);
        _requireLength("register", l.register.length, NORM_BYTES);
        _requireLength("values", l.values.length, SCALE_BYTES);
        _requireLength("scalesPath", l.scalesPath.length, Commitments.depthFor(s.n));
        _requireProofLength(l.proof.length);
        (uint256 lo, uint256 hi) = _normWords(l.register);
        _requirePreState(s, hPre, l.register, l.scalesRoot);
        uint256 scale = uint64(bytes8(l.values));
        Commitments.requireScale(scale);

        // Leaf i must still be unwritten.
        bytes32 root = Commitments.foldPathMem(bytes32(0), s.row, l.scalesPath);
        if (root != l.scalesRoot) revert BadOpening("scales", l.scalesRoot, root);

        uint256[] memory instances = new uint256[](INSTANCES);
        (instances[0], instances[1], instances[2], instances[3]) = (lo, hi, threshold, scale);
        _verify(instances, l.proof);

        // At most 2^32, checked above.
        // forge-lint: disable-next-line(unsafe-typecast)
        bytes32 leafHash = Commitments.scaleLeafHash(uint64(scale));
        bytes32 newRoot = Commitments.foldPathMem(leafHash, s.row, l.scalesPath);
        return Commitments.stateHash(s.configHash, uint256(s.step) + 1, Commitments.ZERO_NORM_HASH, newRoot);
    }

    /// @notice The bytes `postState` (and `BisectionGame.proveLeaf`) take for `leaf`:
    ///         `abi.encode(leaf)`. Declares the leaf struct in this contract's ABI.
    /// @param leaf The leaf.
    /// @return Its encoding.
    function encodeLeaf(ScaleLeaf calldata leaf) external pure returns (bytes memory) {
        return abi.encode(leaf);
    }

    /// @inheritdoc IStepChecker
    function name() external pure returns (string memory) {
        return "Scale";
    }
}
