// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Fixture} from "./base/Fixture.sol";
import {SelectedProgram} from "../src/programs/SelectedProgram.sol";

/// Every deployed contract must fit the EIP-170 runtime limit (tools/check-sizes.sh checks the
/// build artifacts, including the generated verifiers once they exist).
contract SizesTest is Fixture {
    uint256 internal constant RUNTIME_LIMIT = 24_576;

    function test_runtimeSizes_withinEip170() public {
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
        assertLe(address(new SelectedProgram(8)).code.length, RUNTIME_LIMIT, "SelectedProgram");
    }

    /// The distance family's checkers (their constructors take a verifier with code and a
    /// positive cap and proof size; the size does not depend on them).
    function test_distanceFamilyCheckers_withinEip170() public {
        address verifier = vm.deployCode("PickVerifier.sol:PickVerifier");
        string[10] memory names = [
            "DistanceChecker.sol:DistanceChecker",
            "ScoreRankChecker.sol:ScoreRankChecker",
            "ScoreSumChecker.sol:ScoreSumChecker",
            "PickChecker.sol:PickChecker",
            "SelectAccumulateChecker.sol:SelectAccumulateChecker",
            "SelectFinalizeChecker.sol:SelectFinalizeChecker",
            "SelectRankChecker.sol:SelectRankChecker",
            "CloseRankChecker.sol:CloseRankChecker",
            "CloseSumChecker.sol:CloseSumChecker",
            "CloseEmitChecker.sol:CloseEmitChecker"
        ];
        for (uint256 k; k < names.length; ++k) {
            address c = vm.deployCode(names[k], abi.encode(verifier, uint256(500_000), uint256(1_376)));
            assertGt(c.code.length, 0, names[k]);
            assertLe(c.code.length, RUNTIME_LIMIT, names[k]);
        }
    }

    /// The generated verifiers (compiled with the optimizer off), deployed from their artifacts.
    function test_generatedVerifiers_withinEip170() public {
        string[14] memory names = [
            "AccumulateVerifier.sol:AccumulateVerifier",
            "FinalizeVerifier.sol:FinalizeVerifier",
            "RankVerifier.sol:RankVerifier",
            "TrimSumVerifier.sol:TrimSumVerifier",
            "TrimEmitVerifier.sol:TrimEmitVerifier",
            "NormVerifier.sol:NormVerifier",
            "ScaleVerifier.sol:ScaleVerifier",
            "DistanceVerifier.sol:DistanceVerifier",
            "ScoreRankVerifier.sol:ScoreRankVerifier",
            "ScoreSumVerifier.sol:ScoreSumVerifier",
            "PickVerifier.sol:PickVerifier",
            "CloseRankVerifier.sol:CloseRankVerifier",
            "CloseSumVerifier.sol:CloseSumVerifier",
            "CloseEmitVerifier.sol:CloseEmitVerifier"
        ];
        for (uint256 k; k < names.length; ++k) {
            assertLe(vm.deployCode(names[k]).code.length, RUNTIME_LIMIT, names[k]);
        }
    }
}
