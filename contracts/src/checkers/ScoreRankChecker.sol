// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {IStepChecker} from "../interfaces/IStepChecker.sol";
import {ScoreStepChecker} from "./ScoreStepChecker.sol";

/// @title ScoreRankChecker
/// @notice Checks a ScoreRank step (step-vm `kinds/select.rs`, kind 9): one column of one
///         pass of the radix search for a block's Krum score thresholds. Checks the pre-state,
///         the column's distance leaf and j's flag, and the proof of c' = c + [v < p + 2^bit]
///         (and at the pass's last column, j = n - 1, its decision p' = p + 2^bit where
///         c' <= rank, counts reset) over the instances 2^bit, last, rank, v (4), register
///         (12), registerOut (12); returns (configHash, step + 1, registerOut, regions).
contract ScoreRankChecker is ScoreStepChecker {
    /// @notice Public inputs of a ScoreRank proof.
    uint256 public constant INSTANCES = 31;
    /// @notice Radix passes (one per bit of a distance, D < 2^92).
    uint256 public constant SCORE_PASSES = 92;

    /// @param verifier_ The ScoreRank verifier (must have code).
    /// @param verifierGasCap_ Gas forwarded to a verifier call (positive).
    /// @param proofBytes_ Bytes of a ScoreRank proof (1,376).
    constructor(address verifier_, uint256 verifierGasCap_, uint256 proofBytes_)
        ScoreStepChecker(verifier_, verifierGasCap_, proofBytes_)
    {}

    /// @inheritdoc IStepChecker
    function postState(StepContext calldata s, bytes32 hPre, bytes calldata leaf)
        external
        view
        returns (bytes32)
    {
        (ScoreLeaf memory l, ScoreParams memory p, uint256[] memory instances) = _scoreRead(s, hPre, leaf, 3, 0);
        if (p.bit >= SCORE_PASSES) revert BadPosition(s.row, s.col);
        _requireLength("scores", l.scores.length, 0);
        _requireLength("write", l.write.length, 0);
        _requireLength("writePath", l.writePath.length, 0);
        instances[0] = uint256(1) << p.bit;
        instances[1] = p.j == s.n - 1 ? 1 : 0;
        instances[2] = p.rank;
        _verify(instances, l.proof);
        return _state(s, uint256(s.step) + 1, l.registerOut, l.pre);
    }

    /// @notice The bytes `postState` (and `BisectionGame.proveLeaf`) take for `leaf`:
    ///         `abi.encode(leaf)`. Declares the leaf struct in this contract's ABI.
    /// @param leaf The leaf.
    /// @return Its encoding.
    function encodeLeaf(ScoreLeaf calldata leaf) external pure returns (bytes memory) {
        return abi.encode(leaf);
    }

    /// @inheritdoc IStepChecker
    function name() external pure returns (string memory) {
        return "ScoreRank";
    }
}
