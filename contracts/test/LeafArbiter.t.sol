// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {FedAvgFixture} from "./base/FedAvgFixture.sol";
import {Words} from "./base/Words.sol";
import {Ref} from "./base/Reference.sol";
import {LeafArbiter} from "../src/LeafArbiter.sol";
import {RoundRegistry} from "../src/RoundRegistry.sol";
import {IRuleProgram} from "../src/interfaces/IRuleProgram.sol";
import {StepChecker} from "../src/checkers/StepChecker.sol";
import {CheckerBase} from "../src/checkers/CheckerBase.sol";
import {AccumulateChecker} from "../src/checkers/AccumulateChecker.sol";
import {FinalizeChecker} from "../src/checkers/FinalizeChecker.sol";
import {GasBurningVerifier, AcceptingVerifier} from "./mocks/MockStepVerifier.sol";

/// The FedAvg arbiter (program + Accumulate and Finalize checkers) against a real round
/// (3 participants, 100 values = 4 chunks, T = 16) and the statement-checking mock verifiers.
contract LeafArbiterTest is FedAvgFixture {
    function setUp() public override {
        super.setUp();
        _buildRound(3, 100, 1);
        _postHonest();
    }

    function _post(uint256 k, bytes memory leaf) internal view returns (bytes32) {
        return arbiter.postState(roundId, uint64(k), _stateHash(k, false), leaf);
    }

    function _post(uint256 k, AccumulateChecker.AccumulateLeaf memory leaf) internal view returns (bytes32) {
        return _post(k, abi.encode(leaf));
    }

    function _post(uint256 k, FinalizeChecker.FinalizeLeaf memory leaf) internal view returns (bytes32) {
        return _post(k, abi.encode(leaf));
    }

    function _badLength(string memory field, uint256 expected, uint256 actual)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encodeWithSelector(CheckerBase.BadLength.selector, field, expected, actual);
    }

    function _rejected(address verifier) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(StepChecker.ProofRejected.selector, verifier);
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

    /// The checkers answer the same when called directly with the context the arbiter builds.
    function test_checkers_directCall_matchArbiter() public view {
        AccumulateChecker.AccumulateLeaf memory a = _accLeaf(5); // chunk 1, participant 1
        bytes32 viaArbiter = _post(5, a);
        bytes32 direct = accChecker.postState(_context(5, 1, 1), _stateHash(5, false), abi.encode(a));
        assertEq(direct, viaArbiter);
        FinalizeChecker.FinalizeLeaf memory f = _finLeaf(7); // chunk 1
        assertEq(finChecker.postState(_context(7, 1, 3), _stateHash(7, false), abi.encode(f)), _post(7, f));
    }

    function _context(uint64 step, uint256 row, uint256 col)
        internal
        view
        returns (AccumulateChecker.StepContext memory s)
    {
        RoundRegistry.RoundView memory r = registry.round(roundId);
        s.configHash = r.configHash;
        s.inputRoot = r.inputRoot;
        s.n = r.participants;
        s.dim = r.dim;
        s.totalWeight = r.totalWeight;
        s.step = step;
        s.row = row;
        s.col = col;
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
        bytes memory leaf = _leafInput(0);
        vm.expectRevert(abi.encodeWithSelector(IRuleProgram.StepOutOfRange.selector, 16, 16));
        arbiter.postState(roundId, 16, bytes32(0), leaf);
    }

    function test_postState_wrongPreState_reverts() public {
        bytes memory leaf = _leafInput(5);
        bytes32 wrong = keccak256("not h5");
        vm.expectRevert(
            abi.encodeWithSelector(CheckerBase.PreStateMismatch.selector, wrong, _stateHash(5, false))
        );
        arbiter.postState(roundId, 5, wrong, leaf);
    }

    function test_postState_finalize_wrongPreState_reverts() public {
        bytes memory leaf = _leafInput(3);
        bytes32 wrong = keccak256("not h3");
        vm.expectRevert(
            abi.encodeWithSelector(CheckerBase.PreStateMismatch.selector, wrong, _stateHash(3, false))
        );
        arbiter.postState(roundId, 3, wrong, leaf);
    }

    function test_postState_tamperedRegister_reverts() public {
        AccumulateChecker.AccumulateLeaf memory leaf = _accLeaf(2);
        leaf.acc[255] = bytes1(uint8(leaf.acc[255]) ^ 1);
        vm.expectPartialRevert(CheckerBase.PreStateMismatch.selector);
        _post(2, leaf);
    }

    function test_postState_unknownRound_reverts() public {
        bytes memory leaf = _leafInput(0);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.UnknownRound.selector, 99));
        arbiter.postState(99, 0, bytes32(0), leaf);
    }

    /// A Finalize leaf at an Accumulate step (or the reverse) does not decode as the step's
    /// kind: refused, never read as the other kind.
    function test_postState_leafOfTheOtherKind_reverts() public {
        bytes memory finalize = _leafInput(3);
        vm.expectRevert();
        arbiter.postState(roundId, 2, _stateHash(2, false), finalize);
        bytes memory accumulate = _leafInput(2);
        vm.expectRevert();
        arbiter.postState(roundId, 3, _stateHash(3, false), accumulate);
    }

    // ------------------------------------------------------------ lengths

    function test_postState_badAccLength_reverts() public {
        AccumulateChecker.AccumulateLeaf memory leaf = _accLeaf(1);
        leaf.acc = new bytes(255);
        vm.expectRevert(_badLength("acc", 256, 255));
        _post(1, leaf);
    }

    function test_postState_badValuesLength_reverts() public {
        AccumulateChecker.AccumulateLeaf memory leaf = _accLeaf(1);
        leaf.values = new bytes(129);
        vm.expectRevert(_badLength("values", 128, 129));
        _post(1, leaf);
    }

    function test_postState_badValuesPathLength_reverts() public {
        AccumulateChecker.AccumulateLeaf memory leaf = _accLeaf(1);
        leaf.valuesPath = new bytes32[](3);
        vm.expectRevert(_badLength("valuesPath", 2, 3));
        _post(1, leaf);
    }

    function test_postState_badAccOutLength_reverts() public {
        AccumulateChecker.AccumulateLeaf memory leaf = _accLeaf(1);
        leaf.accOut = new bytes(0);
        vm.expectRevert(_badLength("accOut", 256, 0));
        _post(1, leaf);
    }

    function test_postState_badInputPathLength_reverts() public {
        AccumulateChecker.AccumulateLeaf memory leaf = _accLeaf(1);
        leaf.inputPath = new bytes32[](1);
        vm.expectRevert(_badLength("inputPath", 2, 1));
        _post(1, leaf);
    }

    function test_postState_finalize_badLengths_revert() public {
        FinalizeChecker.FinalizeLeaf memory leaf = _finLeaf(3);
        leaf.acc = new bytes(257);
        vm.expectRevert(_badLength("acc", 256, 257));
        _post(3, leaf);
        leaf = _finLeaf(3);
        leaf.values = new bytes(127);
        vm.expectRevert(_badLength("values", 128, 127));
        _post(3, leaf);
        leaf = _finLeaf(3);
        leaf.outputPath = new bytes32[](1);
        vm.expectRevert(_badLength("outputPath", 2, 1));
        _post(3, leaf);
    }

    // ------------------------------------------------------------ canonical encoding

    function test_postState_paddedLeaf_reverts() public {
        bytes memory leaf = _leafInput(1);
        bytes memory padded = abi.encodePacked(leaf, bytes32(0));
        vm.expectRevert(
            abi.encodeWithSelector(CheckerBase.NonCanonicalLeaf.selector, leaf.length, leaf.length + 32)
        );
        _post(1, padded);
        leaf = _leafInput(3);
        padded = abi.encodePacked(leaf, new bytes(1));
        vm.expectRevert(
            abi.encodeWithSelector(CheckerBase.NonCanonicalLeaf.selector, leaf.length, leaf.length + 1)
        );
        _post(3, padded);
    }

    /// A leaf cut short does not decode (its last field runs past the end).
    function test_postState_truncatedLeaf_reverts() public {
        bytes memory leaf = _leafInput(1);
        vm.expectRevert();
        _post(1, _truncate(leaf, 32));
        leaf = _leafInput(3);
        vm.expectRevert();
        _post(3, _truncate(leaf, 1));
    }

    /// A gap before a field's tail (offsets moved past it) decodes to the same leaf but is not
    /// the canonical encoding: refused.
    function test_postState_gapInsideLeaf_reverts() public {
        bytes memory leaf = _leafInput(1);
        vm.expectRevert(
            abi.encodeWithSelector(CheckerBase.NonCanonicalLeaf.selector, leaf.length, leaf.length + 32)
        );
        _post(1, _insertGap(leaf, 5, _accumulateHeads())); // before `values`
        leaf = _leafInput(3);
        vm.expectRevert(
            abi.encodeWithSelector(CheckerBase.NonCanonicalLeaf.selector, leaf.length, leaf.length + 32)
        );
        _post(3, _insertGap(leaf, 2, _finalizeHeads())); // before `values`
    }

    /// A shorter encoding that decodes, two fields sharing one tail, is refused too: the
    /// length must be the canonical one of the decoded fields.
    function test_postState_sharedTailLeaf_reverts() public {
        AccumulateChecker.AccumulateLeaf memory a = _accLeaf(1);
        a.accOut = a.acc; // both decode to the same 256 bytes
        bytes memory canonical = abi.encode(a);
        bytes memory shared = _shareTail(canonical, 7, 0, _accumulateHeads()); // accOut -> acc's tail
        vm.expectRevert(
            abi.encodeWithSelector(
                CheckerBase.NonCanonicalLeaf.selector, canonical.length, canonical.length - 288
            )
        );
        _post(1, shared);
    }

    /// `bytes` with its last `cut` bytes removed.
    function _truncate(bytes memory b, uint256 cut) internal pure returns (bytes memory out) {
        out = new bytes(b.length - cut);
        for (uint256 k; k < out.length; ++k) {
            out[k] = b[k];
        }
    }

    /// Head indices of the dynamic fields of each leaf struct (their heads are offsets).
    function _accumulateHeads() internal pure returns (uint256[] memory h) {
        h = new uint256[](6);
        (h[0], h[1], h[2], h[3], h[4], h[5]) = (0, 4, 5, 6, 7, 8);
    }

    function _finalizeHeads() internal pure returns (uint256[] memory h) {
        h = new uint256[](4);
        (h[0], h[1], h[2], h[3]) = (0, 2, 3, 4);
    }

    /// Byte position in `abi.encode(struct)` of head word `i` (the struct starts at byte 32).
    function _head(uint256 i) internal pure returns (uint256) {
        return 32 + 32 * i;
    }

    /// Inserts 32 zero bytes before the tail of field `field`, moving it and every later tail.
    function _insertGap(bytes memory enc, uint256 field, uint256[] memory heads)
        internal
        pure
        returns (bytes memory out)
    {
        uint256 gapAt = Words.wordAt(enc, _head(field));
        out = new bytes(enc.length + 32);
        for (uint256 k; k < 32 + gapAt; ++k) {
            out[k] = enc[k];
        }
        for (uint256 k = 32 + gapAt; k < enc.length; ++k) {
            out[k + 32] = enc[k];
        }
        for (uint256 t; t < heads.length; ++t) {
            uint256 o = Words.wordAt(out, _head(heads[t]));
            if (o >= gapAt) Words.setWord(out, _head(heads[t]), o + 32);
        }
    }

    /// Points field `field` at the tail of field `other` and deletes its own tail, moving the
    /// later tails down.
    function _shareTail(bytes memory enc, uint256 field, uint256 other, uint256[] memory heads)
        internal
        pure
        returns (bytes memory out)
    {
        uint256 own = Words.wordAt(enc, _head(field));
        uint256 target = Words.wordAt(enc, _head(other));
        uint256 ownLength = 32 + ((Words.wordAt(enc, 32 + own) + 31) / 32) * 32;
        out = new bytes(enc.length - ownLength);
        for (uint256 k; k < 32 + own; ++k) {
            out[k] = enc[k];
        }
        for (uint256 k = 32 + own + ownLength; k < enc.length; ++k) {
            out[k - ownLength] = enc[k];
        }
        for (uint256 t; t < heads.length; ++t) {
            uint256 o = Words.wordAt(out, _head(heads[t]));
            if (o > own) Words.setWord(out, _head(heads[t]), o - ownLength);
        }
        Words.setWord(out, _head(field), target);
    }


    // ------------------------------------------------------------ the proof

    function test_postState_wrongProofLength_reverts() public {
        AccumulateChecker.AccumulateLeaf memory a = _accLeaf(1);
        a.proof = abi.encodePacked(a.proof, bytes1(0));
        vm.expectRevert(_badLength("proof", MOCK_PROOF_BYTES, MOCK_PROOF_BYTES + 1));
        _post(1, a);
        a.proof = "";
        vm.expectRevert(_badLength("proof", MOCK_PROOF_BYTES, 0));
        _post(1, a);
        FinalizeChecker.FinalizeLeaf memory f = _finLeaf(3);
        f.proof = new bytes(1_376);
        vm.expectRevert(_badLength("proof", MOCK_PROOF_BYTES, 1_376));
        _post(3, f);
    }

    function test_postState_falseAccumulateClaim_proofRejected() public {
        AccumulateChecker.AccumulateLeaf memory leaf = _accLeaf(1);
        leaf.accOut[7] = bytes1(uint8(leaf.accOut[7]) ^ 0x01); // lane 0, +1
        vm.expectRevert(_rejected(address(accVerifier)));
        _post(1, leaf);
    }

    function test_postState_falseFinalizeOutput_proofRejected() public {
        FinalizeChecker.FinalizeLeaf memory leaf = _finLeaf(7); // finalises chunk 1
        leaf.values[127] = bytes1(uint8(leaf.values[127]) ^ 0x01);
        vm.expectRevert(_rejected(address(finVerifier)));
        _post(7, leaf);
    }

    function test_postState_tamperedProof_rejected() public {
        AccumulateChecker.AccumulateLeaf memory leaf = _accLeaf(0);
        leaf.proof[0] = bytes1(uint8(leaf.proof[0]) ^ 0xff);
        vm.expectRevert(_rejected(address(accVerifier)));
        _post(0, leaf);
    }

    /// A verifier that burns its gas (invalid curve point) costs at most the cap and reverts.
    function test_postState_gasBurningVerifier_cappedAndRejected() public {
        GasBurningVerifier burner = new GasBurningVerifier();
        LeafArbiter capped = _arbiterWith(address(registry), address(burner), address(burner), 300_000);
        bytes memory leaf = _leafInput(0);
        bytes32 pre = _stateHash(0, false);
        uint256 before = gasleft();
        try capped.postState{gas: 3_000_000}(roundId, 0, pre, leaf) returns (bytes32) {
            fail("expected a revert");
        } catch (bytes memory err) {
            assertEq(err, _rejected(address(burner)));
        }
        assertLt(before - gasleft(), 600_000, "gas burnt is bounded by the cap");
    }

    function test_postState_notEnoughGasForCap_reverts() public view {
        bytes memory leaf = _leafInput(0);
        bytes32 pre = _stateHash(0, false);
        try arbiter.postState{gas: GAS_CAP / 2}(roundId, 0, pre, leaf) returns (bytes32) {
            fail("expected a revert");
        } catch (bytes memory err) {
            assertEq(bytes4(err), StepChecker.InsufficientGas.selector);
        }
    }

    /// The verifier is called with exactly [instances as 32-byte words] ‖ proof, and the
    /// instances are the reference packing in the specified order.
    function test_postState_verifierCalldataLayout() public {
        AccumulateChecker.AccumulateLeaf memory a = _accLeaf(1);
        uint256[] memory w = new uint256[](1);
        w[0] = weights[1];
        uint256[] memory inst = Ref.concat(
            Ref.concat(Ref.concat(w, Ref.packValues(leafOf[1][0])), Ref.packAcc(_register(0, 1))),
            Ref.packAcc(_register(0, 2))
        );
        assertEq(inst.length, 28);
        CalldataRecorder rec = new CalldataRecorder(keccak256(abi.encodePacked(inst, a.proof)));
        LeafArbiter lax = _arbiterWith(address(registry), address(rec), address(rec), GAS_CAP);
        assertEq(lax.postState(roundId, 1, _stateHash(1, false), abi.encode(a)), _stateHash(2, false));

        FinalizeChecker.FinalizeLeaf memory f = _finLeaf(3);
        w[0] = totalWeight;
        int32[32] memory out = outputOf[0];
        inst = Ref.concat(Ref.concat(w, Ref.packAcc(_register(0, 3))), Ref.packValues(out));
        assertEq(inst.length, 17);
        rec = new CalldataRecorder(keccak256(abi.encodePacked(inst, f.proof)));
        lax = _arbiterWith(address(registry), address(rec), address(rec), GAS_CAP);
        assertEq(lax.postState(roundId, 3, _stateHash(3, false), abi.encode(f)), _stateHash(4, false));
    }

    function test_acceptingVerifier_stillNeedsValidOpenings() public {
        AcceptingVerifier yes = new AcceptingVerifier();
        LeafArbiter lax = _arbiterWith(address(registry), address(yes), address(yes), GAS_CAP);
        AccumulateChecker.AccumulateLeaf memory leaf = _accLeaf(1);
        leaf.values[0] = bytes1(uint8(leaf.values[0]) ^ 1);
        vm.expectPartialRevert(CheckerBase.BadOpening.selector);
        lax.postState(roundId, 1, _stateHash(1, false), abi.encode(leaf));
    }

    // ------------------------------------------------------------ openings

    function test_postState_wrongParticipant_reverts() public {
        AccumulateChecker.AccumulateLeaf memory leaf = _accLeaf(1); // participant 1
        leaf.updateRoot = updateRoots[2];
        leaf.weight = weights[2];
        bytes32 got = _fold(Ref.participantLeaf(updateRoots[2], weights[2]), 1, leaf.inputPath);
        vm.expectRevert(
            abi.encodeWithSelector(
                CheckerBase.BadOpening.selector, "input", registry.round(roundId).inputRoot, got
            )
        );
        _post(1, leaf);
    }

    function test_postState_wrongWeight_reverts() public {
        AccumulateChecker.AccumulateLeaf memory leaf = _accLeaf(1);
        leaf.weight += 1;
        vm.expectPartialRevert(CheckerBase.BadOpening.selector);
        _post(1, leaf);
    }

    function test_postState_wrongValues_reverts() public {
        AccumulateChecker.AccumulateLeaf memory leaf = _accLeaf(4 + 1); // chunk 1, participant 1
        leaf.values = Ref.encodeValues(leafOf[1][2]); // another chunk of the same client
        bytes32 got = _fold(Ref.valueLeafHash(leafOf[1][2]), 1, leaf.valuesPath);
        vm.expectRevert(
            abi.encodeWithSelector(CheckerBase.BadOpening.selector, "update", updateRoots[1], got)
        );
        _post(5, leaf);
    }

    function test_postState_finalize_outputAlreadyWritten_reverts() public {
        // Step 3 finalises chunk 0; pretend chunk 0 is already written in the pre-state.
        FinalizeChecker.FinalizeLeaf memory leaf = _finLeaf(3);
        bytes32 written = _outputRoot(1, false);
        leaf.outputRoot = written;
        bytes32 pre = Ref.stateHash(_config(), 3, Ref.accHash(_register(0, 3)), written);
        bytes32 got = _fold(bytes32(0), 0, leaf.outputPath);
        vm.expectRevert(abi.encodeWithSelector(CheckerBase.BadOpening.selector, "output", written, got));
        arbiter.postState(roundId, 3, pre, abi.encode(leaf));
    }

    /// A checker refuses a position outside the grid it checks (the program never sends one).
    function test_checkers_positionOutsideGrid_reverts() public {
        bytes memory a = _leafInput(1);
        bytes32 pre = _stateHash(1, false);
        AccumulateChecker.StepContext memory s = _context(1, 0, 3); // column n: no participant
        vm.expectRevert(abi.encodeWithSelector(StepChecker.BadPosition.selector, 0, 3));
        accChecker.postState(s, pre, a);
        s = _context(1, 4, 1); // row C: no chunk
        vm.expectRevert(abi.encodeWithSelector(StepChecker.BadPosition.selector, 4, 1));
        accChecker.postState(s, pre, a);
        bytes memory f = _leafInput(3);
        pre = _stateHash(3, false);
        s = _context(3, 4, 3);
        vm.expectRevert(abi.encodeWithSelector(StepChecker.BadPosition.selector, 4, 3));
        finChecker.postState(s, pre, f);
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
