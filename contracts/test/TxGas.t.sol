// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "./base/Test.sol";
import {Updates} from "./base/Updates.sol";
import {TxGas} from "../src/lib/TxGas.sol";

/// Exposes TxGas over arbitrary calldata: the fallback answers for any bytes sent to it.
contract TxGasHarness {
    /// `charged(tail)` answers chargedGas; anything else answers calldataBytes.
    function charged(uint256 tail, bytes calldata) external view returns (uint256) {
        uint256 gasAtEntry = gasleft();
        return TxGas.chargedGas(gasAtEntry, tail, type(uint256).max);
    }

    function cost(uint256 tail, bytes calldata) external view returns (uint256) {
        uint256 gasAtEntry = gasleft();
        return TxGas.baseFeeCost(gasAtEntry, tail, type(uint256).max);
    }

    /// Counts only the first `limit` bytes of its own calldata.
    function countPrefix(uint256 limit, bytes calldata) external pure returns (uint256, uint256) {
        return TxGas.calldataBytes(limit);
    }

    fallback(bytes calldata) external returns (bytes memory) {
        (uint256 zeros, uint256 nonzeros) = TxGas.calldataBytes(type(uint256).max);
        return abi.encode(zeros, nonzeros);
    }
}

contract TxGasTest is Test {
    TxGasHarness internal h;
    address internal sender = address(0x5E17D3);

    function setUp() public {
        h = new TxGasHarness();
    }

    function _count(bytes memory data) internal returns (uint256 zeros, uint256 nonzeros) {
        (bool ok, bytes memory ret) = address(h).call(data);
        assertTrue(ok, "harness call");
        return abi.decode(ret, (uint256, uint256));
    }

    function _assertCount(bytes memory data) internal {
        (uint256 z, uint256 nz) = _count(data);
        (uint256 rz, uint256 rnz) = Updates.countBytes(data);
        assertEq(z, rz, "zero bytes");
        assertEq(nz, rnz, "nonzero bytes");
        assertEq(z + nz, data.length, "every byte counted once");
    }

    // ------------------------------------------------------------ calldataBytes

    /// Crafted calldata: every bit position of a byte set alone (a byte is nonzero whatever
    /// its one bit), zero runs across word boundaries, lengths that end mid-word.
    function test_calldataBytes_craftedCalldata_countsEachByte() public {
        (uint256 z, uint256 nz) = _count(hex"");
        assertEq(z + nz, 0, "empty calldata: no bytes");
        _assertCount(hex"00");
        _assertCount(hex"01");
        _assertCount(hex"80");
        _assertCount(hex"0000000000");
        _assertCount(hex"ff00ff00ff");
        bytes memory bits = new bytes(8);
        for (uint256 b; b < 8; ++b) {
            bits[b] = bytes1(uint8(1 << b));
        }
        (z, nz) = _count(bits);
        assertEq(z, 0, "one bit set makes a byte nonzero");
        assertEq(nz, 8);
        // 33 bytes: a full word and one byte of the next.
        bytes memory w = new bytes(33);
        w[31] = 0x01;
        w[32] = 0x02;
        (z, nz) = _count(w);
        assertEq(z, 31);
        assertEq(nz, 2);
        // 100 bytes, nonzero only at word edges: 0, 31, 32, 63, 64, 95, 96, 99.
        bytes memory e = new bytes(100);
        uint8[8] memory edges = [0, 31, 32, 63, 64, 95, 96, 99];
        for (uint256 k; k < 8; ++k) {
            e[edges[k]] = 0x10;
        }
        (z, nz) = _count(e);
        assertEq(nz, 8);
        assertEq(z, 92);
        // A full word of 0xff and a full word of zeros.
        bytes memory full = new bytes(64);
        for (uint256 k; k < 32; ++k) {
            full[k] = 0xff;
        }
        (z, nz) = _count(full);
        assertEq(nz, 32);
        assertEq(z, 32);
    }

    function testFuzz_calldataBytes_matchesByteByByteCount(bytes memory data) public {
        _assertCount(data);
    }

    /// Sparse data: mostly zero bytes with a few set ones, the shape of real calldata.
    function testFuzz_calldataBytes_sparse(uint256 length, uint256 seed) public {
        length = bound(length, 0, 2_000);
        bytes memory data = new bytes(length);
        for (uint256 k; k < length; ++k) {
            uint256 r = uint256(keccak256(abi.encode(seed, k)));
            if (r % 5 == 0) data[k] = bytes1(uint8(r >> 8));
        }
        _assertCount(data);
    }

    /// Dense data: mostly nonzero bytes (every bit pattern), lengths across several groups
    /// of four words, so every byte of a group's summed flags is at its largest (4).
    function testFuzz_calldataBytes_dense(uint256 length, uint256 seed) public {
        length = bound(length, 0, 2_000);
        bytes memory data = new bytes(length);
        for (uint256 k; k < length; ++k) {
            uint256 r = uint256(keccak256(abi.encode(seed, k)));
            if (r % 7 != 0) data[k] = bytes1(uint8(1 + (r >> 8) % 255));
        }
        _assertCount(data);
    }

    /// A limit inside a word, at a word boundary, past the end: exactly the prefix is counted.
    function testFuzz_calldataBytes_limit_countsThePrefixOnly(bytes memory tail, uint256 limit) public view {
        bytes memory cd = abi.encodeCall(TxGasHarness.countPrefix, (0, tail));
        limit = bound(limit, 0, cd.length + 40);
        cd = abi.encodeCall(TxGasHarness.countPrefix, (limit, tail));
        (uint256 z, uint256 nz) = h.countPrefix(limit, tail);
        uint256 n = limit < cd.length ? limit : cd.length;
        bytes memory prefix = new bytes(n);
        for (uint256 k; k < n; ++k) {
            prefix[k] = cd[k];
        }
        (uint256 rz, uint256 rnz) = Updates.countBytes(prefix);
        assertEq(z, rz, "zero bytes of the prefix");
        assertEq(nz, rnz, "nonzero bytes of the prefix");
    }

    // ------------------------------------------------------------ chargedGas

    /// Called by a contract (msg.sender != tx.origin) only execution counts: nothing for the
    /// transaction's intrinsic gas or its calldata, which this call did not pay.
    function test_chargedGas_viaContract_executionOnly() public view {
        bytes memory pad = new bytes(1_000);
        for (uint256 k; k < pad.length; ++k) {
            pad[k] = 0xaa;
        }
        uint256 g0 = gasleft();
        uint256 charged = h.charged(0, pad);
        uint256 used = g0 - gasleft();
        assertLt(charged, used, "execution of the call at most");
        assertLt(charged, 21_000, "no intrinsic gas");
        assertEq(h.charged(50_000, pad) - h.charged(0, pad), 50_000, "plus the tail");
    }

    /// A calldata-heavy direct call: EIP-7623's floor (10 gas per token, 4 tokens a nonzero
    /// byte) exceeds 21,000 + 16 per nonzero byte + execution, so the floor is charged exactly.
    function test_chargedGas_calldataHeavy_appliesEip7623Floor() public {
        bytes memory payload = new bytes(10_000);
        for (uint256 k; k < payload.length; ++k) {
            payload[k] = bytes1(uint8(1 + k % 255));
        }
        bytes memory cd = abi.encodeCall(TxGasHarness.charged, (0, payload));
        (uint256 z, uint256 nz) = Updates.countBytes(cd);
        uint256 floor = 21_000 + 10 * (z + 4 * nz);
        vm.prank(sender, sender);
        uint256 charged = h.charged(0, payload);
        assertEq(charged, floor, "the floor");
        assertGt(floor, 21_000 + 4 * z + 16 * nz + 100_000, "the standard charge is well below it");
    }

    /// Zero bytes cost 4 in the standard charge and 10 under the floor: 20,000 zero bytes of
    /// calldata are floor-priced too.
    function test_chargedGas_zeroHeavy_appliesEip7623Floor() public {
        bytes memory payload = new bytes(20_000);
        bytes memory cd = abi.encodeCall(TxGasHarness.charged, (0, payload));
        (uint256 z, uint256 nz) = Updates.countBytes(cd);
        vm.prank(sender, sender);
        assertEq(h.charged(0, payload), 21_000 + 10 * (z + 4 * nz));
    }

    /// Little calldata and much execution: the standard charge applies, at least 21,000 +
    /// calldata + the tail, and no more than the whole call would cost.
    function test_chargedGas_executionHeavy_standardCharge() public {
        bytes memory payload = hex"0102";
        bytes memory cd = abi.encodeCall(TxGasHarness.charged, (200_000, payload));
        (uint256 z, uint256 nz) = Updates.countBytes(cd);
        vm.prank(sender, sender);
        uint256 g0 = gasleft();
        uint256 charged = h.charged(200_000, payload);
        uint256 used = g0 - gasleft();
        assertGt(charged, 21_000 + 4 * z + 16 * nz + 200_000, "intrinsic + calldata + tail + execution");
        assertLe(charged, 21_000 + 4 * z + 16 * nz + 200_000 + used);
        assertGt(charged, 21_000 + 10 * (z + 4 * nz), "above the floor");
    }

    /// An EIP-7702 delegated EOA is its own tx.origin but runs code: through it, a call can
    /// carry calldata padded in memory for the price of memory. Its calls count as a
    /// contract's: execution only, however much calldata they carry.
    function test_chargedGas_delegatedEoa_executionOnly() public {
        bytes memory payload = new bytes(10_000);
        for (uint256 k; k < payload.length; ++k) {
            payload[k] = 0xff;
        }
        vm.etch(sender, abi.encodePacked(hex"ef0100", address(h))); // the delegation designator
        vm.prank(sender, sender);
        uint256 charged = h.charged(0, payload);
        assertLt(charged, 21_000, "no intrinsic gas, no calldata");
        vm.etch(sender, "");
        vm.prank(sender, sender);
        assertGt(h.charged(0, payload), 400_000, "the same call from a plain EOA pays its calldata");
    }

    // ------------------------------------------------------------ baseFeeCost

    /// Priced at the base fee, whatever the gas price (the priority fee is never refunded).
    function test_baseFeeCost_pricedAtBaseFeeNotGasPrice() public {
        bytes memory payload = new bytes(4_000);
        for (uint256 k; k < payload.length; ++k) {
            payload[k] = 0x7f;
        }
        bytes memory cd = abi.encodeCall(TxGasHarness.cost, (0, payload));
        (uint256 z, uint256 nz) = Updates.countBytes(cd);
        uint256 floor = 21_000 + 10 * (z + 4 * nz);
        vm.fee(13 gwei);
        vm.txGasPrice(40 gwei);
        vm.prank(sender, sender);
        assertEq(h.cost(0, payload), floor * 13 gwei);
        vm.fee(0);
        vm.prank(sender, sender);
        assertEq(h.cost(0, payload), 0, "no base fee, no cost");
    }
}
