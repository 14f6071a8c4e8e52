// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Commitments} from "../lib/Commitments.sol";
import {IStepChecker} from "../interfaces/IStepChecker.sol";
import {TrimStepChecker} from "./TrimStepChecker.sol";

/// @title SelectRankChecker
/// @notice Checks a SelectRank step (step-vm `kinds/close.rs`, kind 14) with the Rank
///         verifier: column c < 32n of a trim row is pass p = c / n over participant
///         i = c mod n, whose values are ranked as they are if it is picked and as i32::MAX on
///         every lane otherwise (above every picked value). Instances: 2^(31-p), last, the
///         ranks floor((θ-1)/2) and floor(θ/2), the values (5), register (27), registerOut (27).
/// @dev `kindParams` = abi.encode(uint256 kLo, uint256 kHi), and under a clipped rule the
///      participant's scale appended (`TrimStepChecker`).
contract SelectRankChecker is TrimStepChecker {
    /// @notice Public inputs of a Rank proof.
    uint256 public constant INSTANCES = 63;

    /// @param verifier_ The Rank verifier (must have code).
    /// @param verifierGasCap_ Gas forwarded to a verifier call (positive).
    /// @param proofBytes_ Bytes of a Rank proof (1,376).
    constructor(address verifier_, uint256 verifierGasCap_, uint256 proofBytes_)
        TrimStepChecker(verifier_, verifierGasCap_, proofBytes_)
    {}

    /// @inheritdoc IStepChecker
    function postState(StepContext calldata s, bytes32 hPre, bytes calldata leaf)
        external
        view
        returns (bytes32)
    {
        uint256 n = s.n;
        if (s.col >= RANK_PASSES * n) revert BadPosition(s.row, s.col);
        uint256 i = s.col % n;
        (TrimLeaf memory l, bool picked, uint256[] memory instances) = _trimRead(s, hPre, leaf, i, 4, 64);
        (uint256 kLo, uint256 kHi) = abi.decode(s.kindParams[:64], (uint256, uint256));
        if (!picked) {
            // An unpicked participant's values rank as i32::MAX: the offset limbs 2^32 - 1.
            bytes memory max = new bytes(Commitments.VALUE_LEAF_BYTES);
            assembly ("memory-safe") {
                // 32 × be32(0x7fffffff): four words of eight.
                let word := 0x7fffffff7fffffff7fffffff7fffffff7fffffff7fffffff7fffffff7fffffff
                let p := add(max, 32)
                mstore(p, word)
                mstore(add(p, 32), word)
                mstore(add(p, 64), word)
                mstore(add(p, 96), word)
            }
            Commitments.packValuesMem(max, instances, 4);
        }
        instances[0] = uint256(1) << (31 - s.col / n);
        instances[1] = i == n - 1 ? 1 : 0;
        instances[2] = kLo;
        instances[3] = kHi;
        _verify(instances, l.proof);
        return _state(s, uint256(s.step) + 1, l.registerOut, l.pre);
    }

    /// @notice The bytes `postState` (and `BisectionGame.proveLeaf`) take for `leaf`:
    ///         `abi.encode(leaf)`. Declares the leaf struct in this contract's ABI.
    /// @param leaf The leaf.
    /// @return Its encoding.
    function encodeLeaf(TrimLeaf calldata leaf) external pure returns (bytes memory) {
        return abi.encode(leaf);
    }

    /// @inheritdoc IStepChecker
    function name() external pure returns (string memory) {
        return "SelectRank";
    }
}
