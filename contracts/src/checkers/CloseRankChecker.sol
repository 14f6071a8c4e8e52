// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {IStepChecker} from "../interfaces/IStepChecker.sol";
import {TrimStepChecker} from "./TrimStepChecker.sol";

/// @title CloseRankChecker
/// @notice Checks a CloseRank step (step-vm `kinds/close.rs`, kind 15): column 32n + p·n + i of
///         a trim row is closeness pass p (bit 32 - p) over participant i. The proof is of
///         count' = count + flag·[|2u - lo - hi| < r + 2^b] (and at the pass's last participant
///         r' = r + 2^b where count' <= β - 1, count reset) over the instances 2^(32-p), last,
///         β - 1, flag, x (5), register (27), registerOut (27).
/// @dev `kindParams` = abi.encode(uint256 betaMinusOne), and under a clipped rule the
///      participant's scale appended (`TrimStepChecker`).
contract CloseRankChecker is TrimStepChecker {
    /// @notice Public inputs of a CloseRank proof.
    uint256 public constant INSTANCES = 63;

    /// @param verifier_ The CloseRank verifier (must have code).
    /// @param verifierGasCap_ Gas forwarded to a verifier call (positive).
    /// @param proofBytes_ Bytes of a CloseRank proof (1,376).
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
        if (s.col < RANK_PASSES * n || s.col >= (RANK_PASSES + CLOSE_PASSES) * n) {
            revert BadPosition(s.row, s.col);
        }
        uint256 rel = s.col - RANK_PASSES * n;
        uint256 i = rel % n;
        (TrimLeaf memory l, bool picked, uint256[] memory instances) = _trimRead(s, hPre, leaf, i, 4, 32);
        uint256 rank = abi.decode(s.kindParams[:32], (uint256));
        instances[0] = uint256(1) << (CLOSE_PASSES - 1 - rel / n);
        instances[1] = i == n - 1 ? 1 : 0;
        instances[2] = rank;
        instances[3] = picked ? 1 : 0;
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
        return "CloseRank";
    }
}
