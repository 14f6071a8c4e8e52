// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Commitments} from "../lib/Commitments.sol";
import {IStepChecker} from "../interfaces/IStepChecker.sol";
import {StepChecker} from "./StepChecker.sol";

/// @title AccumulateChecker
/// @notice Checks an Accumulate step (docs/ARCHITECTURE.md §4, §5): participant i = col's leaf
///         in the input root, its value leaf j = row in its update root, the pre-state preimage,
///         and the proof of `acc' = acc + w_i · x` over the instances w, x (5), acc (11),
///         acc' (11); returns the commitment of (configHash, step + 1, acc', outputRoot).
/// @dev Under a clipped rule (docs/design/clipping.md) the `ClipChecker` passes the
///      participant's scale s as `kindParams = abi.encode(uint256 s)`: the opened values are the
///      committed (raw) ones, the instances x their clipped values floor((x·s + 2^31) / 2^32).
///      FedAvg's own steps pass empty `kindParams` (s = 2^32: x unchanged).
contract AccumulateChecker is StepChecker {
    /// @notice An Accumulate leaf, passed as `abi.encode(leaf)`.
    /// @dev Byte fields are big-endian two's complement: `acc`/`accOut` 32 × int64 (256
    ///      bytes), `values` 32 × int32 (128 bytes). `inputPath` opens participant i's leaf
    ///      keccak(0x02 ‖ updateRoot ‖ be32(weight)) in the input root (depth ceil(log2 n));
    ///      `valuesPath` opens value leaf j of `values` in `updateRoot` (depth ceil(log2 C)).
    struct AccumulateLeaf {
        bytes acc;
        bytes32 outputRoot;
        bytes32 updateRoot;
        uint32 weight;
        bytes32[] inputPath;
        bytes values;
        bytes32[] valuesPath;
        bytes accOut;
        bytes proof;
    }

    /// @notice Public inputs of an Accumulate proof: w, x (5), acc (11), acc' (11).
    uint256 public constant INSTANCES = 28;

    /// @param verifier_ The Accumulate verifier (must have code).
    /// @param verifierGasCap_ Gas forwarded to a verifier call (positive).
    /// @param proofBytes_ Bytes of an Accumulate proof (1,376).
    constructor(address verifier_, uint256 verifierGasCap_, uint256 proofBytes_)
        StepChecker(verifier_, verifierGasCap_, proofBytes_)
    {}

    /// @inheritdoc IStepChecker
    function postState(StepContext calldata s, bytes32 hPre, bytes calldata leaf)
        external
        view
        returns (bytes32)
    {
        AccumulateLeaf memory l = abi.decode(leaf, (AccumulateLeaf));
        _requireCanonical(
            leaf.length,
            _clientReadLeafLength(
                l.acc.length,
                l.inputPath.length,
                l.values.length,
                l.valuesPath.length,
                l.accOut.length,
                l.proof.length
            )
        );
        uint256 chunks = Commitments.chunkCount(s.dim);
        if (s.col >= s.n || s.row >= chunks) revert BadPosition(s.row, s.col);
        uint256 scale = _scale(s.kindParams);
        _requireLength("acc", l.acc.length, Commitments.ACC_BYTES);
        _requireLength("values", l.values.length, Commitments.VALUE_LEAF_BYTES);
        _requireLength("valuesPath", l.valuesPath.length, Commitments.depthFor(chunks));
        _requireLength("accOut", l.accOut.length, Commitments.ACC_BYTES);
        _requireLength("inputPath", l.inputPath.length, Commitments.depthFor(s.n));
        _requireProofLength(l.proof.length);
        bytes32 pre = Commitments.stateHash(s.configHash, s.step, Commitments.accHashMem(l.acc), l.outputRoot);
        if (pre != hPre) revert PreStateMismatch(hPre, pre);

        _openClientRead(
            s.inputRoot, s.col, s.row, l.updateRoot, l.weight, l.inputPath, l.values, l.valuesPath
        );

        // The opening is over the committed values; the proof over the clipped ones.
        if (scale != Commitments.UNIT_SCALE) Commitments.clipValuesMem(l.values, scale);
        uint256[] memory instances = new uint256[](INSTANCES);
        instances[0] = l.weight;
        Commitments.packValuesMem(l.values, instances, 1);
        Commitments.packAccMem(l.acc, instances, 6);
        Commitments.packAccMem(l.accOut, instances, 17);
        _verify(instances, l.proof);

        return Commitments.stateHash(
            s.configHash, uint256(s.step) + 1, Commitments.accHashMem(l.accOut), l.outputRoot
        );
    }

    /// The participant's clipping scale: 2^32 for empty `kindParams` (FedAvg), else
    /// `kindParams` must be `abi.encode(uint256 scale)` with scale <= 2^32 (a clipped rule).
    function _scale(bytes calldata kindParams) private pure returns (uint256 scale) {
        if (kindParams.length == 0) return Commitments.UNIT_SCALE;
        _requireLength("kindParams", kindParams.length, 32);
        scale = abi.decode(kindParams, (uint256));
        Commitments.requireScale(scale);
    }

    /// @notice The bytes `postState` (and `BisectionGame.proveLeaf`) take for `leaf`:
    ///         `abi.encode(leaf)`. Declares the leaf struct in this contract's ABI.
    /// @param leaf The leaf.
    /// @return Its encoding.
    function encodeLeaf(AccumulateLeaf calldata leaf) external pure returns (bytes memory) {
        return abi.encode(leaf);
    }

    /// @inheritdoc IStepChecker
    function name() external pure returns (string memory) {
        return "Accumulate";
    }
}
