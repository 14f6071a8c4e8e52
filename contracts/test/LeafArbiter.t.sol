// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {FedAvgFixture} from "./base/FedAvgFixture.sol";
import {Ref} from "./base/Reference.sol";
import {LeafArbiter} from "../src/LeafArbiter.sol";
import {RoundRegistry} from "../src/RoundRegistry.sol";
import {ILeafArbiter} from "../src/interfaces/ILeafArbiter.sol";
import {GasBurningVerifier, AcceptingVerifier} from "./mocks/MockStepVerifier.sol";

/// The arbiter against a real round (3 participants, 100 values = 4 chunks, T = 16) and the
/// statement-checking mock verifiers.
contract LeafArbiterTest is FedAvgFixture {
    function setUp() public override {
        super.setUp();
        _buildRound(3, 100, 1);
        _postHonest();
    }

    function _post(uint256 k, ILeafArbiter.LeafInput memory leaf) internal view returns (bytes32) {
        return arbiter.postState(roundId, uint64(k), _stateHash(k, false), leaf);
    }

    // ------------------------------------------------------------ constructor

    function test_constructor_storesParameters() public view {
        assertEq(address(arbiter.registry()), address(registry));
        assertEq(arbiter.accumulateVerifier(), address(accVerifier));
        assertEq(arbiter.finalizeVerifier(), address(finVerifier));
        assertEq(arbiter.verifierGasCap(), GAS_CAP);
        // The verifying keys a round's config hash binds: the verifiers' codehashes in
        // step-kind order (Accumulate, Finalize).
        assertEq(
            arbiter.stepVerifiersHash(),
            keccak256(abi.encode(address(accVerifier).codehash, address(finVerifier).codehash))
        );
        assertEq(registry.verifiersHash(), arbiter.stepVerifiersHash());
    }

    function test_constructor_verifierWithoutCode_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(LeafArbiter.NoVerifierCode.selector, address(0xdead)));
        new LeafArbiter(address(registry), address(0xdead), address(finVerifier), GAS_CAP);
        vm.expectRevert(abi.encodeWithSelector(LeafArbiter.NoVerifierCode.selector, address(0xbeef)));
        new LeafArbiter(address(registry), address(accVerifier), address(0xbeef), GAS_CAP);
    }

    function test_constructor_zeroRegistryOrCap_reverts() public {
        vm.expectRevert(LeafArbiter.ZeroAddress.selector);
        new LeafArbiter(address(0), address(accVerifier), address(finVerifier), GAS_CAP);
        vm.expectRevert(LeafArbiter.ZeroGasCap.selector);
        new LeafArbiter(address(registry), address(accVerifier), address(finVerifier), 0);
    }

    // ------------------------------------------------------------ honest steps

    function test_postState_everyStepOfTheTrace() public view {
        for (uint256 k; k < _steps(); ++k) {
            assertEq(_post(k, _leafInput(k)), _stateHash(k + 1, false), "post-state");
        }
        assertEq(_stateHash(_steps(), false), registry.finalState(roundId), "trace ends at hT");
        assertEq(_stateHash(0, false), registry.initialState(roundId), "trace starts at h0");
    }

    function test_postState_roundWithOneParticipantAndOneChunk() public {
        _resetRound(1, 7, 9);
        assertEq(_post(0, _leafInput(0)), _stateHash(1, false));
        assertEq(_post(1, _leafInput(1)), _stateHash(2, false));
        assertEq(_stateHash(2, false), registry.finalState(roundId));
    }

    function test_postState_fiveParticipantsOddChunks() public {
        _resetRound(5, 161, 3); // C = 6, depths 3 and 3
        for (uint256 k; k < _steps(); ++k) {
            assertEq(_post(k, _leafInput(k)), _stateHash(k + 1, false));
        }
        assertEq(_stateHash(_steps(), false), registry.finalState(roundId));
    }

    function _resetRound(uint256 n_, uint32 dim_, uint256 seed) internal {
        delete weights;
        delete updateRoots;
        delete participantLeaves;
        totalWeight = 0;
        _buildRound(n_, dim_, seed);
        _postHonest();
    }

    // ------------------------------------------------------------ preimage and range

    function test_postState_stepOutOfRange_reverts() public {
        ILeafArbiter.LeafInput memory leaf = _leafInput(0);
        vm.expectRevert(abi.encodeWithSelector(LeafArbiter.StepOutOfRange.selector, 16, 16));
        arbiter.postState(roundId, 16, bytes32(0), leaf);
    }

    function test_postState_wrongPreState_reverts() public {
        ILeafArbiter.LeafInput memory leaf = _leafInput(5);
        bytes32 wrong = keccak256("not h5");
        vm.expectRevert(
            abi.encodeWithSelector(LeafArbiter.PreStateMismatch.selector, wrong, _stateHash(5, false))
        );
        arbiter.postState(roundId, 5, wrong, leaf);
    }

    function test_postState_tamperedRegister_reverts() public {
        ILeafArbiter.LeafInput memory leaf = _leafInput(2);
        leaf.acc[255] = bytes1(uint8(leaf.acc[255]) ^ 1);
        vm.expectRevert();
        _post(2, leaf);
    }

    function test_postState_unknownRound_reverts() public {
        ILeafArbiter.LeafInput memory leaf = _leafInput(0);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.UnknownRound.selector, 99));
        arbiter.postState(99, 0, bytes32(0), leaf);
    }

    // ------------------------------------------------------------ lengths

    function test_postState_badAccLength_reverts() public {
        ILeafArbiter.LeafInput memory leaf = _leafInput(1);
        leaf.acc = new bytes(255);
        vm.expectRevert(abi.encodeWithSelector(LeafArbiter.BadLength.selector, "acc", 256, 255));
        _post(1, leaf);
    }

    function test_postState_badValuesLength_reverts() public {
        ILeafArbiter.LeafInput memory leaf = _leafInput(1);
        leaf.values = new bytes(129);
        vm.expectRevert(abi.encodeWithSelector(LeafArbiter.BadLength.selector, "values", 128, 129));
        _post(1, leaf);
    }

    function test_postState_badValuesPathLength_reverts() public {
        ILeafArbiter.LeafInput memory leaf = _leafInput(1);
        leaf.valuesPath = new bytes32[](3);
        vm.expectRevert(abi.encodeWithSelector(LeafArbiter.BadLength.selector, "valuesPath", 2, 3));
        _post(1, leaf);
    }

    function test_postState_badAccOutLength_reverts() public {
        ILeafArbiter.LeafInput memory leaf = _leafInput(1);
        leaf.accOut = new bytes(0);
        vm.expectRevert(abi.encodeWithSelector(LeafArbiter.BadLength.selector, "accOut", 256, 0));
        _post(1, leaf);
    }

    function test_postState_badInputPathLength_reverts() public {
        ILeafArbiter.LeafInput memory leaf = _leafInput(1);
        leaf.inputPath = new bytes32[](1);
        vm.expectRevert(abi.encodeWithSelector(LeafArbiter.BadLength.selector, "inputPath", 2, 1));
        _post(1, leaf);
    }

    // ------------------------------------------------------------ openings

    function test_postState_wrongParticipant_reverts() public {
        ILeafArbiter.LeafInput memory leaf = _leafInput(1); // participant 1
        leaf.updateRoot = updateRoots[2];
        leaf.weight = weights[2];
        bytes32 got = _fold(Ref.participantLeaf(updateRoots[2], weights[2]), 1, leaf.inputPath);
        vm.expectRevert(
            abi.encodeWithSelector(
                LeafArbiter.BadOpening.selector, "input", registry.round(roundId).inputRoot, got
            )
        );
        _post(1, leaf);
    }

    function test_postState_wrongWeight_reverts() public {
        ILeafArbiter.LeafInput memory leaf = _leafInput(1);
        leaf.weight += 1;
        vm.expectRevert();
        _post(1, leaf);
    }

    function test_postState_wrongValues_reverts() public {
        ILeafArbiter.LeafInput memory leaf = _leafInput(4 + 1); // chunk 1, participant 1
        leaf.values = Ref.encodeValues(leafOf[1][2]); // another chunk of the same client
        bytes32 got = _fold(Ref.valueLeafHash(leafOf[1][2]), 1, leaf.valuesPath);
        vm.expectRevert(
            abi.encodeWithSelector(LeafArbiter.BadOpening.selector, "update", updateRoots[1], got)
        );
        _post(5, leaf);
    }

    function test_postState_finalize_outputAlreadyWritten_reverts() public {
        // Step 3 finalises chunk 0; pretend chunk 0 is already written in the pre-state.
        ILeafArbiter.LeafInput memory leaf = _leafInput(3);
        bytes32 written = _outputRoot(1, false);
        leaf.outputRoot = written;
        bytes32 pre = Ref.stateHash(_config(), 3, Ref.accHash(_register(0, 3)), written);
        bytes32 got = _fold(bytes32(0), 0, leaf.valuesPath);
        vm.expectRevert(abi.encodeWithSelector(LeafArbiter.BadOpening.selector, "output", written, got));
        arbiter.postState(roundId, 3, pre, leaf);
    }

    function _fold(bytes32 leafHash, uint256 index, bytes32[] memory path)
        internal
        pure
        returns (bytes32 node)
    {
        node = leafHash;
        for (uint256 l; l < path.length; ++l) {
            node = (index >> l) & 1 == 0 ? Ref.node(node, path[l]) : Ref.node(path[l], node);
        }
    }

    // ------------------------------------------------------------ finalize's unused fields

    function test_postState_finalize_unusedFieldsMustBeEmpty() public {
        ILeafArbiter.LeafInput memory leaf = _leafInput(3);
        leaf.updateRoot = keccak256("x");
        vm.expectRevert(abi.encodeWithSelector(LeafArbiter.UnusedFieldSet.selector, "updateRoot"));
        _post(3, leaf);
        leaf = _leafInput(3);
        leaf.weight = 1;
        vm.expectRevert(abi.encodeWithSelector(LeafArbiter.UnusedFieldSet.selector, "weight"));
        _post(3, leaf);
        leaf = _leafInput(3);
        leaf.inputPath = new bytes32[](2);
        vm.expectRevert(abi.encodeWithSelector(LeafArbiter.UnusedFieldSet.selector, "inputPath"));
        _post(3, leaf);
        leaf = _leafInput(3);
        leaf.accOut = new bytes(256);
        vm.expectRevert(abi.encodeWithSelector(LeafArbiter.UnusedFieldSet.selector, "accOut"));
        _post(3, leaf);
    }

    // ------------------------------------------------------------ the proof

    function test_postState_falseAccumulateClaim_proofRejected() public {
        ILeafArbiter.LeafInput memory leaf = _leafInput(1);
        leaf.accOut[7] = bytes1(uint8(leaf.accOut[7]) ^ 0x01); // lane 0, +1
        vm.expectRevert(
            abi.encodeWithSelector(LeafArbiter.ProofRejected.selector, LeafArbiter.StepKind.Accumulate)
        );
        _post(1, leaf);
    }

    function test_postState_falseFinalizeOutput_proofRejected() public {
        ILeafArbiter.LeafInput memory leaf = _leafInput(7); // finalises chunk 1
        leaf.values[127] = bytes1(uint8(leaf.values[127]) ^ 0x01);
        vm.expectRevert(
            abi.encodeWithSelector(LeafArbiter.ProofRejected.selector, LeafArbiter.StepKind.Finalize)
        );
        _post(7, leaf);
    }

    function test_postState_tamperedProof_rejected() public {
        ILeafArbiter.LeafInput memory leaf = _leafInput(0);
        leaf.proof[0] = bytes1(uint8(leaf.proof[0]) ^ 0xff);
        vm.expectRevert(
            abi.encodeWithSelector(LeafArbiter.ProofRejected.selector, LeafArbiter.StepKind.Accumulate)
        );
        _post(0, leaf);
        leaf.proof = "";
        vm.expectRevert(
            abi.encodeWithSelector(LeafArbiter.ProofRejected.selector, LeafArbiter.StepKind.Accumulate)
        );
        _post(0, leaf);
    }

    /// A verifier that burns its gas (invalid curve point) costs at most the cap and reverts.
    function test_postState_gasBurningVerifier_cappedAndRejected() public {
        GasBurningVerifier burner = new GasBurningVerifier();
        LeafArbiter capped = new LeafArbiter(address(registry), address(burner), address(burner), 300_000);
        ILeafArbiter.LeafInput memory leaf = _leafInput(0);
        bytes32 pre = _stateHash(0, false);
        uint256 before = gasleft();
        try capped.postState{gas: 3_000_000}(roundId, 0, pre, leaf) returns (bytes32) {
            fail("expected a revert");
        } catch (bytes memory err) {
            assertEq(
                err,
                abi.encodeWithSelector(LeafArbiter.ProofRejected.selector, LeafArbiter.StepKind.Accumulate)
            );
        }
        assertLt(before - gasleft(), 600_000, "gas burnt is bounded by the cap");
    }

    function test_postState_notEnoughGasForCap_reverts() public view {
        ILeafArbiter.LeafInput memory leaf = _leafInput(0);
        bytes32 pre = _stateHash(0, false);
        try arbiter.postState{gas: GAS_CAP / 2}(roundId, 0, pre, leaf) returns (bytes32) {
            fail("expected a revert");
        } catch (bytes memory err) {
            assertEq(bytes4(err), LeafArbiter.InsufficientGas.selector);
        }
    }

    /// The verifier is called with exactly [instances as 32-byte words] ‖ proof, and the
    /// instances are the reference packing in the specified order.
    function test_postState_verifierCalldataLayout() public {
        ILeafArbiter.LeafInput memory leaf = _leafInput(1);
        uint256[] memory w = new uint256[](1);
        w[0] = weights[1];
        uint256[] memory inst = Ref.concat(
            Ref.concat(Ref.concat(w, Ref.packValues(leafOf[1][0])), Ref.packAcc(_register(0, 1))),
            Ref.packAcc(_register(0, 2))
        );
        assertEq(inst.length, 28);
        bytes memory expected = abi.encodePacked(inst, leaf.proof);
        CalldataRecorder rec = new CalldataRecorder(keccak256(expected));
        LeafArbiter a = new LeafArbiter(address(registry), address(rec), address(rec), GAS_CAP);
        assertEq(a.postState(roundId, 1, _stateHash(1, false), leaf), _stateHash(2, false));

        leaf = _leafInput(3);
        w[0] = totalWeight;
        int32[32] memory out = outputOf[0];
        inst = Ref.concat(Ref.concat(w, Ref.packAcc(_register(0, 3))), Ref.packValues(out));
        assertEq(inst.length, 17);
        rec = new CalldataRecorder(keccak256(abi.encodePacked(inst, leaf.proof)));
        a = new LeafArbiter(address(registry), address(rec), address(rec), GAS_CAP);
        assertEq(a.postState(roundId, 3, _stateHash(3, false), leaf), _stateHash(4, false));
    }

    function test_acceptingVerifier_stillNeedsValidOpenings() public {
        AcceptingVerifier yes = new AcceptingVerifier();
        LeafArbiter lax = new LeafArbiter(address(registry), address(yes), address(yes), GAS_CAP);
        ILeafArbiter.LeafInput memory leaf = _leafInput(1);
        leaf.values[0] = bytes1(uint8(leaf.values[0]) ^ 1);
        vm.expectRevert();
        lax.postState(roundId, 1, _stateHash(1, false), leaf);
    }
}

/// Accepts exactly one calldata.
contract CalldataRecorder {
    bytes32 internal immutable expected;

    constructor(bytes32 expected_) {
        expected = expected_;
    }

    fallback(bytes calldata input) external returns (bytes memory) {
        require(keccak256(input) == expected, "unexpected verifier calldata");
        return "";
    }
}
