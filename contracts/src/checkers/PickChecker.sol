// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Commitments} from "../lib/Commitments.sol";
import {IStepChecker} from "../interfaces/IStepChecker.sol";
import {SelectionStepChecker} from "./SelectionStepChecker.sol";

/// @title PickChecker
/// @notice Checks a Pick step (step-vm `kinds/select.rs`, kind 11): block b = col of a scan for
///         the lowest score not yet picked. Masks the block's scores (a picked participant's,
///         or a lane at or past n, is 2^104 - 1: never taken) and checks the proof of the scan
///         (a lane replaces the best when strictly lower, or when none is held, so the lowest
///         index wins ties) over the instances 8b, (best, found), the masked scores (4),
///         (best', found'). At the last block it sets the winner's flag (found' - 1, opened in
///         its selection leaf) and starts the next phase's zero register.
/// @dev `kindParams` = abi.encode(uint256 next): 0, or at the last block the next phase's
///      register length (26: another pick, 312: another scoring round, 256: the averaging).
contract PickChecker is SelectionStepChecker {
    /// @notice A Pick leaf, passed as `abi.encode(leaf)`: the register (26 bytes: best, found),
    ///         the pre-state's regions, selection leaf b (`read`, 105 bytes) with its path, the
    ///         register after the block, and at the last block the winner's selection leaf
    ///         before its flag is set (empty when nobody is found) with its path.
    struct PickLeaf {
        bytes register;
        Regions pre;
        bytes read;
        bytes32[] readPath;
        bytes registerOut;
        bytes winner;
        bytes32[] winnerPath;
        bytes proof;
    }

    /// @notice Public inputs of a Pick proof.
    uint256 public constant INSTANCES = 7;

    /// @notice The winner is not a participant.
    error BadWinner(uint256 found, uint256 n);

    /// @param verifier_ The Pick verifier (must have code).
    /// @param verifierGasCap_ Gas forwarded to a verifier call (positive).
    /// @param proofBytes_ Bytes of a Pick proof (1,376).
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
        uint256 next = abi.decode(s.kindParams, (uint256));
        uint256 blocks = _blocks(s.n);
        uint256 b = s.col;
        if (b >= blocks) revert BadPosition(s.row, s.col);
        bool last = b == blocks - 1;
        if ((next != 0) != last) revert BadNextRegister(next);
        PickLeaf memory l = abi.decode(leaf, (PickLeaf));
        _requireCanonical(leaf.length, abi.encode(l).length);
        _requireLength("register", l.register.length, PICK_REGISTER_BYTES);
        _requireLength("registerOut", l.registerOut.length, PICK_REGISTER_BYTES);
        _requireProofLength(l.proof.length);
        _requirePre(s, hPre, l.register, l.pre);
        _openSelection(s.n, l.read, l.readPath, b, l.pre.selection);

        uint256[] memory instances = new uint256[](INSTANCES);
        instances[0] = b * SCORE_LANES;
        Commitments.packSlotsMem(l.register, instances, 1);
        Commitments.packSlotsMem(_masked(s.n, b, l.read), instances, 2);
        Commitments.packSlotsMem(l.registerOut, instances, 6);
        _verify(instances, l.proof);

        if (!last) {
            _requireLength("winner", l.winner.length, 0);
            _requireLength("winnerPath", l.winnerPath.length, 0);
            return _state(s, uint256(s.step) + 1, l.registerOut, l.pre);
        }
        Regions memory post = l.pre;
        uint256 found = Commitments.slotAt(l.registerOut, 13);
        if (found == 0) {
            // Everybody picked already: no execution reaches it; nothing to flag.
            _requireLength("winner", l.winner.length, 0);
            _requireLength("winnerPath", l.winnerPath.length, 0);
        } else {
            uint256 w = found - 1;
            if (w >= s.n) revert BadWinner(found, s.n);
            _openSelection(s.n, l.winner, l.winnerPath, w / SCORE_LANES, l.pre.selection);
            l.winner[104] = bytes1(uint8(l.winner[104]) | uint8(1 << (w % SCORE_LANES)));
            post.selection = Commitments.foldPathMem(
                Commitments.selectionLeafHashMem(l.winner), w / SCORE_LANES, l.winnerPath
            );
        }
        return _phaseStart(s, next, post);
    }

    /// Block b's scores as the scan sees them: picked lanes and lanes at or past n masked.
    function _masked(uint256 n, uint256 b, bytes memory read) private pure returns (bytes memory m) {
        m = new bytes(Commitments.SLOTS_LEAF_BYTES);
        for (uint256 l; l < SCORE_LANES; ++l) {
            uint256 i = b * SCORE_LANES + l;
            uint256 v = i >= n || _picked(read, i) ? SLOT_MAX : Commitments.slotAt(read, 13 * l);
            Commitments.setSlot(m, 13 * l, v);
        }
    }

    /// @notice The bytes `postState` (and `BisectionGame.proveLeaf`) take for `leaf`:
    ///         `abi.encode(leaf)`. Declares the leaf struct in this contract's ABI.
    /// @param leaf The leaf.
    /// @return Its encoding.
    function encodeLeaf(PickLeaf calldata leaf) external pure returns (bytes memory) {
        return abi.encode(leaf);
    }

    /// @inheritdoc IStepChecker
    function name() external pure returns (string memory) {
        return "Pick";
    }
}
