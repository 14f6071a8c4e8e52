// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Commitments} from "../lib/Commitments.sol";
import {StepChecker} from "./StepChecker.sol";

/// @title NormStepChecker
/// @notice What the prologue's step checkers share (docs/design/clipping.md; step-vm
///         `kinds/norm.rs`): the two-word norm register (lo, hi: N = lo + hi·2^40, committed as
///         keccak(0x03 ‖ be64(lo) ‖ be64(hi))), its words' range and the pre-state preimage
///         keccak(abi.encode(configHash, step, registerHash, scalesRoot)).
/// @dev A register word becomes a public input as the plain integer it is, so every word must
///      lie in [0, 2^63): a negative word would be a value of 2^64 - |w| to a circuit, not the
///      int64 the register commits, and could let two registers stand for one statement.
abstract contract NormStepChecker is StepChecker {
    /// @notice Bytes of a norm register: two big-endian int64 words, lo and hi.
    uint256 public constant NORM_BYTES = 16;

    /// @notice Word `word` (0 lo, 1 hi) of a norm register is negative.
    error NegativeRegisterWord(uint256 word, int64 value);

    /// @param verifier_ The kind's verifier (must have code).
    /// @param verifierGasCap_ Gas forwarded to a verifier call (positive).
    /// @param proofBytes_ Bytes of a proof (1,376).
    constructor(address verifier_, uint256 verifierGasCap_, uint256 proofBytes_)
        StepChecker(verifier_, verifierGasCap_, proofBytes_)
    {}

    /// The words lo and hi of a norm register in memory; reverts `NegativeRegisterWord` unless
    /// both lie in [0, 2^63). The caller checks `register.length == NORM_BYTES`.
    function _normWords(bytes memory register) internal pure returns (uint256 lo, uint256 hi) {
        uint256 word;
        assembly ("memory-safe") {
            word := mload(add(register, 32))
        }
        lo = word >> 192;
        hi = (word >> 128) & type(uint64).max;
        // The words' bits as the int64 they encode (for the error).
        // forge-lint: disable-next-line(unsafe-typecast)
        if (lo >> 63 != 0) revert NegativeRegisterWord(0, int64(uint64(lo)));
        // forge-lint: disable-next-line(unsafe-typecast)
        if (hi >> 63 != 0) revert NegativeRegisterWord(1, int64(uint64(hi)));
    }
}
