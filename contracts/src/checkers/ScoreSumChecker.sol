// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Commitments} from "../lib/Commitments.sol";
import {IStepChecker} from "../interfaces/IStepChecker.sol";
import {ScoreStepChecker} from "./ScoreStepChecker.sol";

/// @title ScoreSumChecker
/// @notice Checks a ScoreSum step (step-vm `kinds/select.rs`, kind 10): one column of the sum
///         pass below a block's thresholds t. Checks the pre-state, the column's distance leaf
///         and j's flag, and the proof of c' = c + [v < t], s' = s + v·[v < t] and the scores
///         s' + (rank + 1 - c')·t over the instances rank, v (4), register (12), registerOut
///         (12), scores (4). At the block's last column (j = n - 1) it writes the scores into
///         selection leaf b (its flags kept) and starts the next phase's zero register;
///         otherwise the register becomes registerOut.
contract ScoreSumChecker is ScoreStepChecker {
    /// @notice Public inputs of a ScoreSum proof.
    uint256 public constant INSTANCES = 33;

    /// @param verifier_ The ScoreSum verifier (must have code).
    /// @param verifierGasCap_ Gas forwarded to a verifier call (positive).
    /// @param proofBytes_ Bytes of a ScoreSum proof (1,376).
    constructor(address verifier_, uint256 verifierGasCap_, uint256 proofBytes_)
        ScoreStepChecker(verifier_, verifierGasCap_, proofBytes_)
    {}

    /// @inheritdoc IStepChecker
    function postState(StepContext calldata s, bytes32 hPre, bytes calldata leaf)
        external
        view
        returns (bytes32)
    {
        (ScoreLeaf memory l, ScoreParams memory p, uint256[] memory instances) = _scoreRead(s, hPre, leaf, 1, 4);
        _requireLength("scores", l.scores.length, Commitments.SLOTS_LEAF_BYTES);
        instances[0] = p.rank;
        Commitments.packSlotsMem(l.scores, instances, 29);
        _verify(instances, l.proof);
        bool last = p.j == s.n - 1;
        if ((p.next != 0) != last) revert BadNextRegister(p.next);
        if (!last) {
            _requireLength("write", l.write.length, 0);
            _requireLength("writePath", l.writePath.length, 0);
            return _state(s, uint256(s.step) + 1, l.registerOut, l.pre);
        }
        _openSelection(s.n, l.write, l.writePath, p.block, l.pre.selection);
        // The scores replace the leaf's; its flags byte stays.
        bytes memory written = bytes.concat(l.scores, l.write[104]);
        Regions memory post = l.pre;
        post.selection =
            Commitments.foldPathMem(Commitments.selectionLeafHashMem(written), p.block, l.writePath);
        return _phaseStart(s, p.next, post);
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
        return "ScoreSum";
    }
}
