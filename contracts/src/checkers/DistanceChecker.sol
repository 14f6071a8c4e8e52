// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Commitments} from "../lib/Commitments.sol";
import {IStepChecker} from "../interfaces/IStepChecker.sol";
import {SelectionStepChecker} from "./SelectionStepChecker.sol";

/// @title DistanceChecker
/// @notice Checks a Distance step (step-vm `kinds/distance.rs`, kind 8): chunk j = col of pair
///         (a, b) = the program's `kindParams`. Checks both participants' value leaf j, the
///         pre-state preimage, and the proof of acc' = acc + Σ_l (xa_l - xb_l)² over the
///         instances xa (5), xb (5), acc·2^104 + acc'. At the pair's last chunk (`next` > 0)
///         it writes D_ab = acc' into lane b mod 8 of distance leaf a·B + b/8 and lane a mod 8 of
///         leaf b·B + a/8 (each opened in the tree the previous write left) and starts the next
///         phase's zero register; otherwise the register becomes acc'.
/// @dev `kindParams` = abi.encode(uint256 a, uint256 b, uint256 next), a < b < n, next = 0
///      except at a pair's last chunk: the next phase's register length (13: another pair,
///      312: the scoring phase). Under a clipped rule the `ClipChecker` appends a's and b's
///      scales (`abi.encode(sa, sb)`): the openings are of the committed values, xa and xb
///      the clipped ones.
contract DistanceChecker is SelectionStepChecker {
    /// @notice The write of one lane of a distance leaf: the leaf's 104 bytes before the write
    ///         and its path (depth ceil(log2(n·B))).
    struct DistanceWrite {
        bytes lanes;
        bytes32[] path;
    }

    /// @notice A Distance leaf, passed as `abi.encode(leaf)`. `register`/`accOut` are one
    ///         13-byte slot; `writes` is empty, or at the pair's last chunk the two writes.
    struct DistanceLeaf {
        bytes register;
        Regions pre;
        ClientRead a;
        ClientRead b;
        bytes accOut;
        DistanceWrite[] writes;
        bytes proof;
    }

    /// @notice Public inputs of a Distance proof: xa (5), xb (5), (acc, acc').
    uint256 public constant INSTANCES = 11;

    /// @param verifier_ The Distance verifier (must have code).
    /// @param verifierGasCap_ Gas forwarded to a verifier call (positive).
    /// @param proofBytes_ Bytes of a Distance proof (1,376).
    constructor(address verifier_, uint256 verifierGasCap_, uint256 proofBytes_)
        SelectionStepChecker(verifier_, verifierGasCap_, proofBytes_)
    {}

    /// @inheritdoc IStepChecker
    function postState(StepContext calldata s, bytes32 hPre, bytes calldata leaf)
        external
        view
        returns (bytes32)
    {
        uint256 scaleA = _clipScale(s.kindParams, 96, 2, 0);
        uint256 scaleB = _clipScale(s.kindParams, 96, 2, 1);
        (uint256 a, uint256 b, uint256 next) = abi.decode(s.kindParams[:96], (uint256, uint256, uint256));
        if (a >= b || b >= s.n || s.col >= Commitments.chunkCount(s.dim)) revert BadPosition(s.row, s.col);
        DistanceLeaf memory l = abi.decode(leaf, (DistanceLeaf));
        _requireCanonical(leaf.length, _leafLength(l));
        _requireLength("register", l.register.length, DISTANCE_REGISTER_BYTES);
        _requireLength("accOut", l.accOut.length, DISTANCE_REGISTER_BYTES);
        _requireProofLength(l.proof.length);
        _requirePre(s, hPre, l.register, l.pre);
        _openRead(s, a, s.col, l.a, scaleA);
        _openRead(s, b, s.col, l.b, scaleB);

        uint256[] memory instances = new uint256[](INSTANCES);
        Commitments.packValuesMem(l.a.values, instances, 0);
        Commitments.packValuesMem(l.b.values, instances, 5);
        uint256 accOut = Commitments.slotAt(l.accOut, 0);
        instances[10] = (Commitments.slotAt(l.register, 0) << 104) | accOut;
        _verify(instances, l.proof);

        if (next == 0) {
            _requireLength("writes", l.writes.length, 0);
            return _state(s, uint256(s.step) + 1, l.accOut, l.pre);
        }
        _requireLength("writes", l.writes.length, 2);
        uint256 blocks = _blocks(s.n);
        Regions memory post = l.pre;
        post.distance =
            _write(s.n, post.distance, a * blocks + b / SCORE_LANES, b % SCORE_LANES, accOut, l.writes[0]);
        post.distance =
            _write(s.n, post.distance, b * blocks + a / SCORE_LANES, a % SCORE_LANES, accOut, l.writes[1]);
        return _phaseStart(s, next, post);
    }

    /// The canonical length of `abi.encode(l)`, from its decoded fields (the heaviest leaf of
    /// the family: computing it costs ~10k gas less than re-encoding): the struct's offset
    /// word, its nine head words (`pre` inline), then each dynamic field's tail in order.
    function _leafLength(DistanceLeaf memory l) private pure returns (uint256 len) {
        len = 32 + 9 * 32 + _abiBytes(l.register.length) + _readLength(l.a) + _readLength(l.b)
            + _abiBytes(l.accOut.length) + 32 + 32 * l.writes.length + _abiBytes(l.proof.length);
        for (uint256 w; w < l.writes.length; ++w) {
            len += 2 * 32 + _abiBytes(l.writes[w].lanes.length) + _abiWords(l.writes[w].path.length);
        }
    }

    /// A `ClientRead` tuple's encoding: five head words, then its three tails.
    function _readLength(ClientRead memory c) private pure returns (uint256) {
        return
            5 * 32 + _abiWords(c.inputPath.length) + _abiBytes(c.values.length)
                + _abiWords(c.valuesPath.length);
    }

    /// The distance root after writing `value` into lane `lane` of leaf `index` of `root`.
    function _write(
        uint256 n,
        bytes32 root,
        uint256 index,
        uint256 lane,
        uint256 value,
        DistanceWrite memory w
    ) private pure returns (bytes32) {
        _openDistance(n, w.lanes, w.path, index, root);
        Commitments.setSlot(w.lanes, 13 * lane, value);
        return Commitments.foldPathMem(Commitments.distanceLeafHashMem(w.lanes), index, w.path);
    }

    /// @notice The bytes `postState` (and `BisectionGame.proveLeaf`) take for `leaf`:
    ///         `abi.encode(leaf)`. Declares the leaf struct in this contract's ABI.
    /// @param leaf The leaf.
    /// @return Its encoding.
    function encodeLeaf(DistanceLeaf calldata leaf) external pure returns (bytes memory) {
        return abi.encode(leaf);
    }

    /// @inheritdoc IStepChecker
    function name() external pure returns (string memory) {
        return "Distance";
    }
}
