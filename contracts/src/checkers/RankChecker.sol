// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {IStepChecker} from "../interfaces/IStepChecker.sol";
import {OrderStepChecker} from "./OrderStepChecker.sol";

/// @title RankChecker
/// @notice Checks a Rank step (step-vm `kinds/order.rs`, kind 2): column c < 32n of row j is
///         pass p = c / n (bit 31 - p) over participant i = c mod n. Checks participant i's
///         leaf in the input root, its value leaf j in its update root, the pre-state preimage,
///         and the proof of the radix-search count (and, at the pass's last participant, its
///         decision) over the instances 2^(31-p), last = [i == n-1], k, n-1-k, x (5),
///         register (27), registerOut (27); returns the commitment of (configHash, step + 1,
///         registerOut, outputRoot). `kindParams` is `abi.encode(uint256 k)`, or under a
///         clipped rule `abi.encode(uint256 k, uint256 scale)` (x is then the clipped values).
contract RankChecker is OrderStepChecker {
    /// @notice A Rank leaf, passed as `abi.encode(leaf)`: the ABI tuple of FedAvg's
    ///         `AccumulateLeaf`, with the 160-word register in place of the accumulator.
    /// @dev `register`/`registerOut` 160 big-endian 40-bit offset limbs w + 2^39 (800 bytes),
    ///      `values` 32 × int32 (128 bytes, big-endian two's complement); `inputPath` opens participant i (depth ceil(log2 n)),
    ///      `valuesPath` its value leaf j (depth ceil(log2 C)).
    struct RankLeaf {
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

    /// @notice Public inputs of a Rank proof: 2^(31-pass), last, k, n-1-k, x (5), register (27),
    ///         registerOut (27).
    uint256 public constant INSTANCES = 63;

    /// @param verifier_ The Rank verifier (must have code).
    /// @param verifierGasCap_ Gas forwarded to a verifier call (positive).
    /// @param proofBytes_ Bytes of a Rank proof (1,376).
    constructor(address verifier_, uint256 verifierGasCap_, uint256 proofBytes_)
        OrderStepChecker(verifier_, verifierGasCap_, proofBytes_)
    {}

    /// @inheritdoc IStepChecker
    function postState(StepContext calldata s, bytes32 hPre, bytes calldata leaf)
        external
        view
        returns (bytes32)
    {
        uint256 n = s.n;
        if (s.col >= RANK_PASSES * n) revert BadPosition(s.row, s.col);
        (uint256 k, uint256 scale) = _trimAndScale(s);
        uint256 i = s.col % n;
        (ClientReadLeaf memory l, uint256[] memory instances) = _clientRead(s, hPre, leaf, i, 4, scale);
        instances[0] = uint256(1) << (31 - s.col / n);
        instances[1] = i == n - 1 ? 1 : 0;
        instances[2] = k;
        instances[3] = n - 1 - k;
        _verify(instances, l.proof);
        return _clientPost(s, l);
    }

    /// @notice The bytes `postState` (and `BisectionGame.proveLeaf`) take for `leaf`:
    ///         `abi.encode(leaf)`. Declares the leaf struct in this contract's ABI.
    /// @param leaf The leaf.
    /// @return Its encoding.
    function encodeLeaf(RankLeaf calldata leaf) external pure returns (bytes memory) {
        return abi.encode(leaf);
    }

    /// @inheritdoc IStepChecker
    function name() external pure returns (string memory) {
        return "Rank";
    }
}
