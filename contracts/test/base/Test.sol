// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Vm} from "./Vm.sol";

/// @title Test
/// @notice The project's own forge test base: the cheatcode handle, assertions that revert with
///         a message naming the expected and the actual value, `bound` for fuzz inputs, and the
///         target declarations forge's invariant runner reads.
abstract contract Test {
    /// @notice forge recognises test contracts by this flag (ds-test convention).
    bool public IS_TEST = true;

    /// @notice The cheatcode address: address(uint160(uint256(keccak256("hevm cheat code")))).
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    /// @notice Selector set of a fuzzed target contract (forge's invariant ABI).
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    /// @notice ds-test's log event; forge prints it with -vv.
    event log_named_uint(string key, uint256 val);

    address[] private _targetContracts;
    FuzzSelector[] private _targetSelectors;
    address[] private _targetSenders;

    // ---------------------------------------------------------------- invariant targets

    function targetContract(address target) internal {
        _targetContracts.push(target);
    }

    function targetSelector(FuzzSelector memory selector) internal {
        _targetSelectors.push(selector);
    }

    function targetSender(address sender) internal {
        _targetSenders.push(sender);
    }

    /// @notice Contracts the invariant runner calls.
    function targetContracts() public view returns (address[] memory) {
        return _targetContracts;
    }

    /// @notice Selectors the invariant runner calls.
    function targetSelectors() public view returns (FuzzSelector[] memory) {
        return _targetSelectors;
    }

    /// @notice Senders the invariant runner uses.
    function targetSenders() public view returns (address[] memory) {
        return _targetSenders;
    }

    // ---------------------------------------------------------------- assertions

    function fail(string memory message) internal pure {
        revert(string.concat("assertion failed: ", message));
    }

    function assertTrue(bool condition) internal pure {
        if (!condition) fail("expected true");
    }

    function assertTrue(bool condition, string memory message) internal pure {
        if (!condition) fail(message);
    }

    function assertFalse(bool condition) internal pure {
        if (condition) fail("expected false");
    }

    function assertFalse(bool condition, string memory message) internal pure {
        if (condition) fail(message);
    }

    function assertEq(uint256 actual, uint256 expected) internal pure {
        assertEq(actual, expected, "");
    }

    function assertEq(uint256 actual, uint256 expected, string memory message) internal pure {
        if (actual != expected) {
            fail(string.concat(message, " expected ", _str(expected), ", got ", _str(actual)));
        }
    }

    function assertEq(int256 actual, int256 expected) internal pure {
        assertEq(actual, expected, "");
    }

    function assertEq(int256 actual, int256 expected, string memory message) internal pure {
        if (actual != expected) {
            fail(string.concat(message, " expected ", _istr(expected), ", got ", _istr(actual)));
        }
    }

    function assertEq(bool actual, bool expected) internal pure {
        assertEq(actual, expected, "");
    }

    function assertEq(bool actual, bool expected, string memory message) internal pure {
        if (actual != expected) {
            fail(
                string.concat(
                    message, " expected ", expected ? "true" : "false", ", got ", actual ? "true" : "false"
                )
            );
        }
    }

    function assertEq(address actual, address expected) internal pure {
        assertEq(actual, expected, "");
    }

    function assertEq(address actual, address expected, string memory message) internal pure {
        if (actual != expected) {
            fail(string.concat(message, " expected ", _hex(expected), ", got ", _hex(actual)));
        }
    }

    function assertEq(bytes32 actual, bytes32 expected) internal pure {
        assertEq(actual, expected, "");
    }

    function assertEq(bytes32 actual, bytes32 expected, string memory message) internal pure {
        if (actual != expected) {
            fail(string.concat(message, " expected ", _hex(expected), ", got ", _hex(actual)));
        }
    }

    function assertEq(bytes memory actual, bytes memory expected) internal pure {
        assertEq(actual, expected, "");
    }

    function assertEq(bytes memory actual, bytes memory expected, string memory message) internal pure {
        if (keccak256(actual) != keccak256(expected)) {
            fail(
                string.concat(
                    message,
                    " bytes differ (expected length ",
                    _str(expected.length),
                    ", got ",
                    _str(actual.length),
                    ")"
                )
            );
        }
    }

    function assertEq(string memory actual, string memory expected) internal pure {
        if (keccak256(bytes(actual)) != keccak256(bytes(expected))) {
            fail(string.concat("expected \"", expected, "\", got \"", actual, "\""));
        }
    }

    function assertNotEq(bytes32 actual, bytes32 notExpected) internal pure {
        if (actual == notExpected) fail(string.concat("expected a value other than ", _hex(actual)));
    }

    function assertNotEq(uint256 actual, uint256 notExpected) internal pure {
        if (actual == notExpected) fail(string.concat("expected a value other than ", _str(actual)));
    }

    function assertLt(uint256 a, uint256 b) internal pure {
        assertLt(a, b, "");
    }

    function assertLt(uint256 a, uint256 b, string memory message) internal pure {
        if (!(a < b)) fail(string.concat(message, " expected ", _str(a), " < ", _str(b)));
    }

    function assertLe(uint256 a, uint256 b) internal pure {
        assertLe(a, b, "");
    }

    function assertLe(uint256 a, uint256 b, string memory message) internal pure {
        if (!(a <= b)) fail(string.concat(message, " expected ", _str(a), " <= ", _str(b)));
    }

    function assertGt(uint256 a, uint256 b) internal pure {
        assertGt(a, b, "");
    }

    function assertGt(uint256 a, uint256 b, string memory message) internal pure {
        if (!(a > b)) fail(string.concat(message, " expected ", _str(a), " > ", _str(b)));
    }

    function assertGe(uint256 a, uint256 b) internal pure {
        assertGe(a, b, "");
    }

    function assertGe(uint256 a, uint256 b, string memory message) internal pure {
        if (!(a >= b)) fail(string.concat(message, " expected ", _str(a), " >= ", _str(b)));
    }

    // ---------------------------------------------------------------- fuzz helpers

    /// @notice Maps `x` into [min, max] (inclusive) without discarding runs.
    function bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        require(min <= max, "bound: min > max");
        if (x >= min && x <= max) return x;
        uint256 size = max - min + 1;
        if (size == 0) return x; // full range
        return min + (x % size);
    }

    // ---------------------------------------------------------------- formatting

    function _str(uint256 v) internal pure returns (string memory) {
        return vm.toString(v);
    }

    function _istr(int256 v) internal pure returns (string memory) {
        return vm.toString(v);
    }

    function _hex(bytes32 v) internal pure returns (string memory) {
        return vm.toString(v);
    }

    function _hex(address v) internal pure returns (string memory) {
        return vm.toString(v);
    }
}
