// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {IStepChecker} from "../interfaces/IStepChecker.sol";
import {OrderStepChecker} from "./OrderStepChecker.sol";

/// @title TrimSumChecker
/// @notice Checks a TrimSum step (step-vm `kinds/order.rs`, kind 3): column 32n + i of row j
///         streams participant i once more. Checks participant i's leaf in the input root, its
///         value leaf j in its update root, the pre-state preimage, and the proof of the sum
///         pass (counts of the bounds' copies, sum of the values strictly between them) over
///         the instances x (5), register (27), registerOut (27); returns the commitment of
///         (configHash, step + 1, registerOut, outputRoot). `kindParams` is
///         `abi.encode(uint256 k)`, or under a clipped rule `abi.encode(uint256 k, uint256 scale)`
///         (x is then the clipped values); k is checked (2k < n) though the sum pass does not use it.
contract TrimSumChecker is OrderStepChecker {
    /// @notice A TrimSum leaf, passed as `abi.encode(leaf)`: the same ABI tuple as
    ///         `RankChecker.RankLeaf` (and FedAvg's `AccumulateLeaf`).
    /// @dev `register`/`registerOut` 160 big-endian 40-bit offset limbs w + 2^39 (800 bytes),
    ///      `values` 32 × int32 (128 bytes, big-endian two's complement); `inputPath` opens participant i (depth ceil(log2 n)),
    ///      `valuesPath` its value leaf j (depth ceil(log2 C)).
    struct TrimSumLeaf {
        bytes register;
        bytes32 outputRoot;
        bytes32 updateRoot;
        uint32 weight;
        bytes32[] inputPath;
        bytes values;
        bytes32[] valuesPath;
        bytes registerOut;
        bytes proof;
    }

    /// @notice Public inputs of a TrimSum proof: x (5), register (27), registerOut (27).
    uint256 public constant INSTANCES = 59;

    /// @param verifier_ The TrimSum verifier (must have code).
    /// @param verifierGasCap_ Gas forwarded to a verifier call (positive).
    /// @param proofBytes_ Bytes of a TrimSum proof (1,376).
    constructor(address verifier_, uint256 verifierGasCap_, uint256 proofBytes_)
        OrderStepChecker(verifier_, verifierGasCap_, proofBytes_)
    {}

    /// @inheritdoc IStepChecker
    function postState(StepContext calldata s, bytes32 hPre, bytes calldata leaf)
        external
        view
        returns (bytes32)
    {
        uint256 firstCol = RANK_PASSES * s.n;
        if (s.col < firstCol || s.col >= firstCol + s.n) revert BadPosition(s.row, s.col);
        (, uint256 scale) = _trimAndScale(s);
        (ClientReadLeaf memory l, uint256[] memory instances) =
            _clientRead(s, hPre, leaf, s.col - firstCol, 0, scale);
        _verify(instances, l.proof);
        return _clientPost(s, l);
    }

    /// @notice The bytes `postState` (and `BisectionGame.proveLeaf`) take for `leaf`:
    ///         `abi.encode(leaf)`. Declares the leaf struct in this contract's ABI.
    /// @param leaf The leaf.
    /// @return Its encoding.
    function encodeLeaf(TrimSumLeaf calldata leaf) external pure returns (bytes memory) {
        return abi.encode(leaf);
    }

    /// @inheritdoc IStepChecker
    function name() external pure returns (string memory) {
        return "TrimSum";
    }
}
