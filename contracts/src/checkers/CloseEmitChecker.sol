// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Commitments} from "../lib/Commitments.sol";
import {IStepChecker} from "../interfaces/IStepChecker.sol";
import {SelectionStepChecker} from "./SelectionStepChecker.sol";

/// @title CloseEmitChecker
/// @notice Checks a CloseEmit step (step-vm `kinds/close.rs`, kind 17): the last column of trim
///         row j writes output leaf j, the mean of the β picked values closest to the median
///         (ties to the lower value), rounded half up, proven over the instances β, register
///         (27), out (5). Writes the leaf (opened as still zero in the output tree), resets the
///         register, and at the last row clears the working memory: the final state derives
///         from the output root alone.
/// @dev `kindParams` = abi.encode(uint256 beta).
contract CloseEmitChecker is SelectionStepChecker {
    /// @notice A CloseEmit leaf, passed as `abi.encode(leaf)`: the register (800 bytes), the
    ///         pre-state's regions, the output leaf written (128 bytes) and its path (depth
    ///         ceil(log2 C)).
    struct CloseEmitLeaf {
        bytes register;
        Regions pre;
        bytes values;
        bytes32[] path;
        bytes proof;
    }

    /// @notice Public inputs of a CloseEmit proof.
    uint256 public constant INSTANCES = 33;

    /// @param verifier_ The CloseEmit verifier (must have code).
    /// @param verifierGasCap_ Gas forwarded to a verifier call (positive).
    /// @param proofBytes_ Bytes of a CloseEmit proof (1,376).
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
        uint256 beta = abi.decode(s.kindParams, (uint256));
        uint256 chunks = Commitments.chunkCount(s.dim);
        if (s.row >= chunks || beta == 0 || beta > s.n) revert BadPosition(s.row, s.col);
        CloseEmitLeaf memory l = abi.decode(leaf, (CloseEmitLeaf));
        _requireCanonical(leaf.length, abi.encode(l).length);
        _requireLength("register", l.register.length, Commitments.STAT_BYTES);
        _requireLength("values", l.values.length, Commitments.VALUE_LEAF_BYTES);
        _requireLength("path", l.path.length, Commitments.depthFor(chunks));
        _requireProofLength(l.proof.length);
        _requirePre(s, hPre, l.register, l.pre);
        bytes32 got = Commitments.foldPathMem(bytes32(0), s.row, l.path);
        if (got != l.pre.output) revert BadOpening("output", l.pre.output, got);

        uint256[] memory instances = new uint256[](INSTANCES);
        instances[0] = beta;
        Commitments.packStatMem(l.register, instances, 1);
        Commitments.packValuesMem(l.values, instances, 1 + Commitments.STAT_INSTANCES);
        _verify(instances, l.proof);

        Regions memory post = l.pre;
        post.output = Commitments.foldPathMem(Commitments.valueLeafHashMem(l.values), s.row, l.path);
        if (s.row == chunks - 1) {
            post.distance = bytes32(0);
            post.selection = bytes32(0);
        }
        return _phaseStart(s, Commitments.STAT_BYTES, post);
    }

    /// @notice The bytes `postState` (and `BisectionGame.proveLeaf`) take for `leaf`:
    ///         `abi.encode(leaf)`. Declares the leaf struct in this contract's ABI.
    /// @param leaf The leaf.
    /// @return Its encoding.
    function encodeLeaf(CloseEmitLeaf calldata leaf) external pure returns (bytes memory) {
        return abi.encode(leaf);
    }

    /// @inheritdoc IStepChecker
    function name() external pure returns (string memory) {
        return "CloseEmit";
    }
}
