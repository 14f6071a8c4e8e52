// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Commitments} from "../lib/Commitments.sol";
import {IStepChecker} from "../interfaces/IStepChecker.sol";
import {OrderStepChecker} from "./OrderStepChecker.sol";

/// @title TrimEmitChecker
/// @notice Checks a TrimEmit step (step-vm `kinds/order.rs`, kind 4): the last column of row j
///         writes output leaf j = round_half_up(Σ ranks k..n-k-1 / (n-2k)) from the sum pass's
///         register and clears the register. Checks the pre-state preimage, output leaf j still
///         unwritten in the output root, and the proof over the instances n, k, register (27),
///         out (5); returns the commitment of (configHash, step + 1, zero register, output root
///         with leaf j = out).
contract TrimEmitChecker is OrderStepChecker {
    /// @notice A TrimEmit leaf, passed as `abi.encode(leaf)`: the ABI tuple of FedAvg's
    ///         `FinalizeLeaf`, with the 160-word register in place of the accumulator.
    /// @dev `register` is 160 big-endian 40-bit offset limbs w + 2^39 (800 bytes), `values`
    ///      the output leaf j, 32 × int32 (128 bytes, big-endian two's complement); `outputPath` opens the still-zero output
    ///      leaf j in `outputRoot` (depth ceil(log2 C)).
    struct TrimEmitLeaf {
        bytes register;
        bytes32 outputRoot;
        bytes values;
        bytes32[] outputPath;
        bytes proof;
    }

    /// @notice Public inputs of a TrimEmit proof: n, k, register (27), out (5).
    uint256 public constant INSTANCES = 34;

    /// @param verifier_ The TrimEmit verifier (must have code).
    /// @param verifierGasCap_ Gas forwarded to a verifier call (positive).
    /// @param proofBytes_ Bytes of a TrimEmit proof (1,376).
    constructor(address verifier_, uint256 verifierGasCap_, uint256 proofBytes_)
        OrderStepChecker(verifier_, verifierGasCap_, proofBytes_)
    {}

    /// @inheritdoc IStepChecker
    function postState(StepContext calldata s, bytes32 hPre, bytes calldata leaf)
        external
        view
        returns (bytes32)
    {
        TrimEmitLeaf memory l = abi.decode(leaf, (TrimEmitLeaf));
        _requireCanonical(
            leaf.length,
            _writeLeafLength(l.register.length, l.values.length, l.outputPath.length, l.proof.length)
        );
        uint256 chunks = Commitments.chunkCount(s.dim);
        if (s.row >= chunks) revert BadPosition(s.row, s.col);
        uint256 k = _trim(s);
        _requireLength("register", l.register.length, Commitments.STAT_BYTES);
        _requireLength("values", l.values.length, Commitments.VALUE_LEAF_BYTES);
        _requireLength("outputPath", l.outputPath.length, Commitments.depthFor(chunks));
        _requireProofLength(l.proof.length);
        _requirePreState(s, hPre, l.register, l.outputRoot);

        // Output leaf j must still be unwritten.
        bytes32 root = Commitments.foldPathMem(bytes32(0), s.row, l.outputPath);
        if (root != l.outputRoot) revert BadOpening("output", l.outputRoot, root);

        uint256[] memory instances = new uint256[](INSTANCES);
        instances[0] = s.n;
        instances[1] = k;
        Commitments.packStatMem(l.register, instances, 2);
        Commitments.packValuesMem(l.values, instances, 2 + Commitments.STAT_INSTANCES);
        _verify(instances, l.proof);

        bytes32 newRoot = Commitments.foldPathMem(Commitments.valueLeafHashMem(l.values), s.row, l.outputPath);
        return Commitments.stateHash(s.configHash, uint256(s.step) + 1, Commitments.ZERO_STAT_HASH, newRoot);
    }

    /// @notice The bytes `postState` (and `BisectionGame.proveLeaf`) take for `leaf`:
    ///         `abi.encode(leaf)`. Declares the leaf struct in this contract's ABI.
    /// @param leaf The leaf.
    /// @return Its encoding.
    function encodeLeaf(TrimEmitLeaf calldata leaf) external pure returns (bytes memory) {
        return abi.encode(leaf);
    }

    /// @inheritdoc IStepChecker
    function name() external pure returns (string memory) {
        return "TrimEmit";
    }
}
