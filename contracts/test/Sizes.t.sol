// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Fixture} from "./base/Fixture.sol";

/// Every deployed contract must fit the EIP-170 runtime limit (tools/check-sizes.sh checks the
/// build artifacts, including the generated verifiers once they exist).
contract SizesTest is Fixture {
    uint256 internal constant RUNTIME_LIMIT = 24_576;

    function test_runtimeSizes_withinEip170() public view {
        assertLe(address(registry).code.length, RUNTIME_LIMIT, "RoundRegistry");
        assertLe(address(game).code.length, RUNTIME_LIMIT, "BisectionGame");
        assertLe(address(arbiter).code.length, RUNTIME_LIMIT, "LeafArbiter");
        assertLe(address(fedAvg).code.length, RUNTIME_LIMIT, "FedAvgProgram");
        assertLe(address(accChecker).code.length, RUNTIME_LIMIT, "AccumulateChecker");
        assertLe(address(finChecker).code.length, RUNTIME_LIMIT, "FinalizeChecker");
    }
}
