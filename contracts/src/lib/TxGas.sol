// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// @title TxGas
/// @notice What the current transaction burns in base fee, measured on chain, so an honest
///         party can be made whole from a slashed bond without the bond ever flowing back to
///         the party that was slashed (docs/ARCHITECTURE.md §7).
/// @dev Gas is priced at `block.basefee`, the part of the fee EIP-1559 burns: refunding it
///      from a slashed bond moves to a sybil exactly what that sybil destroyed, so a coalition
///      of sybils recovers nothing. Priority fees (which a block-producing attacker could
///      collect) are never refunded.
///
///      Charged gas = max(standard, floor) as EIP-7623 defines it:
///        standard = 21,000 + 4·zero bytes + 16·nonzero bytes + execution gas
///        floor    = 21,000 + 10·(zero bytes + 4·nonzero bytes)
///      Execution gas is measured from the caller's `gasAtEntry` (taken first thing in the
///      external function) plus `tail`, what runs after the measurement (storage writes priced
///      exactly, events as lower bounds), plus `ENTRY_GAS`, a lower bound of the dispatch
///      before the entry. Every term is exact or a lower bound, so the charge never exceeds
///      the real one; tests/tests/metering.rs checks it against receipts and bounds the
///      shortfall (BENCHMARKS.md has the figures). Callers avoid clearing storage in metered
///      transactions, whose refunds would lower the real cost below the measured one.
///
///      Calldata is counted only when the caller is the transaction's sender and has no code
///      (a direct call by an EOA): a contract, or an EIP-7702 delegated EOA, could otherwise
///      hand us padded calldata built in memory for a fraction of what we would credit. And it
///      is counted only up to `calldataLimit`, the canonical ABI length of the call: bytes an
///      EOA appends are paid by it and credited to nobody, so it cannot spend another party's
///      bond on gas it burns itself.
library TxGas {
    /// @notice Intrinsic gas of every transaction.
    uint256 internal constant TX_BASE = 21_000;
    /// @notice Execution before an external function's first statement (selector dispatch and
    ///         ABI decoding): a lower bound, measured at 1,414 to 3,224 gas for the metered
    ///         functions of this project (tests/tests/metering.rs, BENCHMARKS.md).
    uint256 internal constant ENTRY_GAS = 1_300;

    /// @notice Wei of base fee the current transaction burns up to this point, plus `tail`.
    /// @param gasAtEntry `gasleft()` taken at the start of the external function.
    /// @param tail Lower bound of the execution gas still to come after this call.
    /// @param calldataLimit Calldata bytes to count at most (the call's canonical ABI length).
    function baseFeeCost(uint256 gasAtEntry, uint256 tail, uint256 calldataLimit) internal view returns (uint256) {
        return chargedGas(gasAtEntry, tail, calldataLimit) * block.basefee;
    }

    /// @notice Bytes of a dynamic `bytes` argument of `length` in an ABI encoding: its length
    ///         word and its data padded to whole words.
    function abiBytes(uint256 length) internal pure returns (uint256) {
        return 32 + ((length + 31) / 32) * 32;
    }

    /// @notice Gas the current transaction is charged, as far as it can be measured.
    /// @param gasAtEntry `gasleft()` taken at the start of the external function.
    /// @param tail Lower bound of the execution gas still to come after this call.
    /// @param calldataLimit Calldata bytes to count at most (the call's canonical ABI length).
    function chargedGas(uint256 gasAtEntry, uint256 tail, uint256 calldataLimit) internal view returns (uint256) {
        // Count the calldata first, so that the counting itself is part of the measurement.
        // An EIP-7702 delegated EOA is its own tx.origin yet runs code (its account holds the
        // 23-byte delegation designator), which could call us with padded calldata built in
        // memory: only a sender without code makes a direct call.
        bool direct = msg.sender == tx.origin && tx.origin.code.length == 0;
        uint256 zeros;
        uint256 nonzeros;
        if (direct) (zeros, nonzeros) = calldataBytes(calldataLimit);
        uint256 exec = gasAtEntry - gasleft() + tail + ENTRY_GAS;
        if (!direct) return exec;
        uint256 standard = TX_BASE + 4 * zeros + 16 * nonzeros + exec;
        uint256 floor = TX_BASE + 10 * (zeros + 4 * nonzeros);
        return standard > floor ? standard : floor;
    }

    /// @notice Gas of writing `next` into a warm storage slot holding `current` (EIP-2200 /
    ///         EIP-2929; the caller has read the slot, so it is warm). Clearing a slot earns a
    ///         refund the transaction gets back at its end; it is subtracted here.
    function warmStoreGas(uint256 current, uint256 next) internal pure returns (uint256) {
        if (current == next) return 100;
        if (current == 0) return 20_000;
        if (next == 0) return 0; // 2,900 charged, 4,800 refunded: never count it as a cost
        return 2_900;
    }

    /// @notice Zero and nonzero bytes of the first `limit` bytes of `msg.data`.
    /// @dev A byte b is nonzero iff bit 7 of ((b & 0x7f) + 0x7f) | b is set: the addition
    ///      stays inside the byte, so a whole word's bytes are flagged at once with a few
    ///      operations. Four words at a time, the flags (moved to bit 0) are added, so each
    ///      byte of the sum is at most 4 and every prefix sum of its 32 bytes at most 128; the
    ///      multiplication by 0x0101..01 then leaves the total in the top byte without a carry.
    ///      A game's metered leaf counts ~7 KB this way.
    function calldataBytes(uint256 limit) internal pure returns (uint256 zeros, uint256 nonzeros) {
        assembly ("memory-safe") {
            let ones := 0x0101010101010101010101010101010101010101010101010101010101010101
            let low := 0x7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f
            let len := calldatasize()
            if lt(limit, len) { len := limit }
            let quads := and(len, not(127))
            let off := 0
            for {} lt(off, quads) { off := add(off, 128) } {
                let w := calldataload(off)
                let f := and(shr(7, or(add(and(w, low), low), w)), ones)
                w := calldataload(add(off, 32))
                f := add(f, and(shr(7, or(add(and(w, low), low), w)), ones))
                w := calldataload(add(off, 64))
                f := add(f, and(shr(7, or(add(and(w, low), low), w)), ones))
                w := calldataload(add(off, 96))
                f := add(f, and(shr(7, or(add(and(w, low), low), w)), ones))
                nonzeros := add(nonzeros, shr(248, mul(f, ones)))
            }
            for {} lt(off, len) { off := add(off, 32) } {
                let w := calldataload(off)
                // The last, partial word: only its bytes below `len` (past the end of the
                // calldata they read as zero anyway; past `limit` they must not count).
                if gt(add(off, 32), len) {
                    let past := sub(add(off, 32), len)
                    w := shl(mul(8, past), shr(mul(8, past), w))
                }
                nonzeros := add(nonzeros, shr(248, mul(and(shr(7, or(add(and(w, low), low), w)), ones), ones)))
            }
            zeros := sub(len, nonzeros)
        }
    }
}
