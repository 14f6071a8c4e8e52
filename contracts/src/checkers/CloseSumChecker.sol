// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {IStepChecker} from "../interfaces/IStepChecker.sol";
import {TrimStepChecker} from "./TrimStepChecker.sol";

/// @title CloseSumChecker
/// @notice Checks a CloseSum step (step-vm `kinds/close.rs`, kind 16): column 65n + i of a trim
///         row over participant i. The proof is of the counts c_lt + 256·c_below and the sum of
///         the values closer to the median than r (flag-masked) over the instances flag, x (5),
///         register (27), registerOut (27).
/// @dev `kindParams` is empty, or under a clipped rule the participant's scale
///      (`TrimStepChecker`).
contract CloseSumChecker is TrimStepChecker {
    /// @notice Public inputs of a CloseSum proof.
    uint256 public constant INSTANCES = 60;

    /// @param verifier_ The CloseSum verifier (must have code).
    /// @param verifierGasCap_ Gas forwarded to a verifier call (positive).
    /// @param proofBytes_ Bytes of a CloseSum proof (1,376).
    constructor(address verifier_, uint256 verifierGasCap_, uint256 proofBytes_)
        TrimStepChecker(verifier_, verifierGasCap_, proofBytes_)
    {}

    /// @inheritdoc IStepChecker
    function postState(StepContext calldata s, bytes32 hPre, bytes calldata leaf)
        external
        view
        returns (bytes32)
    {
        uint256 first = (RANK_PASSES + CLOSE_PASSES) * s.n;
        if (s.col < first || s.col >= first + s.n) revert BadPosition(s.row, s.col);
        (TrimLeaf memory l, bool picked, uint256[] memory instances) =
            _trimRead(s, hPre, leaf, s.col - first, 1, 0);
        instances[0] = picked ? 1 : 0;
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
        return "CloseSum";
    }
}
