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
        assertLe(address(median).code.length, RUNTIME_LIMIT, "MedianProgram");
        assertLe(address(trimmedMean).code.length, RUNTIME_LIMIT, "TrimmedMeanProgram");
        assertLe(address(rankChecker).code.length, RUNTIME_LIMIT, "RankChecker");
        assertLe(address(trimSumChecker).code.length, RUNTIME_LIMIT, "TrimSumChecker");
        assertLe(address(trimEmitChecker).code.length, RUNTIME_LIMIT, "TrimEmitChecker");
        assertLe(address(clippedFedAvg).code.length, RUNTIME_LIMIT, "ClippedProgram");
        assertLe(address(normChecker).code.length, RUNTIME_LIMIT, "NormChecker");
        assertLe(address(scaleChecker).code.length, RUNTIME_LIMIT, "ScaleChecker");
        assertLe(address(clipChecker).code.length, RUNTIME_LIMIT, "ClipChecker");
    }

    /// The generated verifiers (compiled with the optimizer off), deployed from their artifacts.
    function test_generatedVerifiers_withinEip170() public {
        string[7] memory names = [
            "AccumulateVerifier.sol:AccumulateVerifier",
            "FinalizeVerifier.sol:FinalizeVerifier",
            "RankVerifier.sol:RankVerifier",
            "TrimSumVerifier.sol:TrimSumVerifier",
            "TrimEmitVerifier.sol:TrimEmitVerifier",
            "NormVerifier.sol:NormVerifier",
            "ScaleVerifier.sol:ScaleVerifier"
        ];
        for (uint256 k; k < names.length; ++k) {
            assertLe(vm.deployCode(names[k]).code.length, RUNTIME_LIMIT, names[k]);
        }
    }
}
