// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "./base/Test.sol";
import {LeafArbiter} from "../src/LeafArbiter.sol";
import {RoundRegistry} from "../src/RoundRegistry.sol";
import {BisectionGame} from "../src/BisectionGame.sol";
import {FedAvgProgram} from "../src/programs/FedAvgProgram.sol";
import {StepChecker} from "../src/checkers/StepChecker.sol";
import {AccumulateChecker} from "../src/checkers/AccumulateChecker.sol";
import {FinalizeChecker} from "../src/checkers/FinalizeChecker.sol";

/// Replays the Rust-generated step vectors (`test/vectors/*.json`, real Halo2 proofs made by the
/// `circuits` crate from the step VM's witnesses) through the REAL generated verifier contracts:
/// the VM, the circuit and the arbiter agree on the encoding end to end (Kroma's lesson).
/// The vectors keep the field names of the former union leaf; each test builds the step kind's
/// leaf struct from them (a Finalize vector's `valuesPath` is its `outputPath`).
contract LeafVectorsTest is Test {
    uint256 internal constant GAS_CAP = 500_000;
    /// Bytes of a real step proof (SHPLONK over BN254, both kinds).
    uint256 internal constant PROOF_BYTES = 1_376;

    RoundRegistry internal registry;
    LeafArbiter internal arbiter;
    address internal accVerifier;
    address internal finVerifier;
    uint256 internal roundId;
    string internal json;

    function _load(string memory name) internal {
        json = vm.readFile(string.concat(vm.projectRoot(), "/test/vectors/", name, ".json"));
        RoundRegistry.Params memory p;
        (p.aggregatorBond, p.challengerBond, p.availabilityBond) = (1 ether, 0.25 ether, 0.1 ether);
        (p.challengeWindow, p.availabilityWindow, p.resolveWindow, p.postWindow) = (3600, 3600, 3600, 3600);
        registry = new RoundRegistry(p);
        accVerifier = vm.deployCode("AccumulateVerifier.sol:AccumulateVerifier");
        finVerifier = vm.deployCode("FinalizeVerifier.sol:FinalizeVerifier");
        address[] memory programs = new address[](1);
        programs[0] = address(new FedAvgProgram());
        address[] memory checkers = new address[](2);
        checkers[0] = address(new AccumulateChecker(accVerifier, GAS_CAP, PROOF_BYTES));
        checkers[1] = address(new FinalizeChecker(finVerifier, GAS_CAP, PROOF_BYTES));
        arbiter = new LeafArbiter(address(registry), programs, checkers);
        registry.setGame(address(new BisectionGame(address(registry), address(arbiter), 3600, 600)));

        bytes32[] memory roots = vm.parseJsonBytes32Array(json, ".updateRoots");
        uint256[] memory weights = vm.parseJsonUintArray(json, ".weights");
        address[] memory clients = new address[](roots.length);
        for (uint256 i; i < roots.length; ++i) {
            clients[i] = address(uint160(0x1000 + i));
        }
        address aggregator = address(0xA66);
        roundId = registry.openRound(clients, uint32(vm.parseJsonUint(json, ".dim")), aggregator, 600, 0, "");
        for (uint256 i; i < roots.length; ++i) {
            vm.prank(clients[i]);
            registry.commitUpdate(roundId, uint32(i), roots[i], uint32(weights[i]));
        }
        vm.warp(registry.round(roundId).postOpensAt);
        (bytes32 config,,,) = registry.pendingConfig(roundId);
        vm.deal(aggregator, 1 ether);
        vm.prank(aggregator);
        registry.postResult{value: 1 ether}(roundId, bytes32(uint256(1)), config);
    }

    function _isAccumulate() internal view returns (bool) {
        string memory kind = vm.parseJsonString(json, ".kind");
        if (keccak256(bytes(kind)) == keccak256("Accumulate")) return true;
        require(keccak256(bytes(kind)) == keccak256("Finalize"), "unknown kind in vector");
        return false;
    }

    function _accLeaf() internal view returns (AccumulateChecker.AccumulateLeaf memory leaf) {
        require(_isAccumulate(), "not an Accumulate vector");
        leaf.acc = vm.parseJsonBytes(json, ".leaf.acc");
        leaf.outputRoot = vm.parseJsonBytes32(json, ".leaf.outputRoot");
        leaf.updateRoot = vm.parseJsonBytes32(json, ".leaf.updateRoot");
        leaf.weight = uint32(vm.parseJsonUint(json, ".leaf.weight"));
        leaf.inputPath = vm.parseJsonBytes32Array(json, ".leaf.inputPath");
        leaf.values = vm.parseJsonBytes(json, ".leaf.values");
        leaf.valuesPath = vm.parseJsonBytes32Array(json, ".leaf.valuesPath");
        leaf.accOut = vm.parseJsonBytes(json, ".leaf.accOut");
        leaf.proof = vm.parseJsonBytes(json, ".leaf.proof");
    }

    /// The vector's unused fields (updateRoot, weight, inputPath, accOut) must be empty.
    function _finLeaf() internal view returns (FinalizeChecker.FinalizeLeaf memory leaf) {
        require(!_isAccumulate(), "not a Finalize vector");
        require(vm.parseJsonBytes32(json, ".leaf.updateRoot") == bytes32(0), "finalize vector: updateRoot");
        require(vm.parseJsonUint(json, ".leaf.weight") == 0, "finalize vector: weight");
        require(vm.parseJsonBytes32Array(json, ".leaf.inputPath").length == 0, "finalize vector: inputPath");
        require(vm.parseJsonBytes(json, ".leaf.accOut").length == 0, "finalize vector: accOut");
        leaf.acc = vm.parseJsonBytes(json, ".leaf.acc");
        leaf.outputRoot = vm.parseJsonBytes32(json, ".leaf.outputRoot");
        leaf.values = vm.parseJsonBytes(json, ".leaf.values");
        leaf.outputPath = vm.parseJsonBytes32Array(json, ".leaf.valuesPath");
        leaf.proof = vm.parseJsonBytes(json, ".leaf.proof");
    }

    /// The vector's leaf as `postState` takes it.
    function _leaf() internal view returns (bytes memory) {
        return _isAccumulate() ? abi.encode(_accLeaf()) : abi.encode(_finLeaf());
    }

    function _state(uint256 step, bytes32 accHash, bytes32 outputRoot) internal view returns (bytes32) {
        return keccak256(abi.encode(registry.stepContext(roundId).configHash, step, accHash, outputRoot));
    }

    function _pre() internal view returns (bytes32) {
        bytes memory acc = vm.parseJsonBytes(json, ".leaf.acc");
        bytes32 outputRoot = vm.parseJsonBytes32(json, ".leaf.outputRoot");
        return _state(_step(), keccak256(abi.encodePacked(bytes1(0x03), acc)), outputRoot);
    }

    function _step() internal view returns (uint64) {
        return uint64(vm.parseJsonUint(json, ".step"));
    }

    function _expectedPost() internal view returns (bytes32) {
        return _state(
            _step() + 1,
            vm.parseJsonBytes32(json, ".post.accHash"),
            vm.parseJsonBytes32(json, ".post.outputRoot")
        );
    }

    function _check(string memory name) internal {
        _load(name);
        bytes memory leaf = _leaf();
        // Solidity's abi.encode of the struct built from the fields is Rust's encoding.
        assertEq(leaf, vm.parseJsonBytes(json, ".encoded"), "Rust leaf encoding");
        bytes32 pre = _pre();
        uint64 step = _step();
        bytes32 post = arbiter.postState(roundId, step, pre, leaf);
        // The call's own frame: program, checker, openings and the real verifier.
        emit log_named_uint(
            string.concat(name, " postState gas (openings + real verifier)"), vm.lastCallGas().gasTotalUsed
        );
        assertEq(post, _expectedPost(), "post-state from the real proof");
    }

    function test_vector_accumulate_realProof_matchesVm() public {
        _check("accumulate");
    }

    function test_vector_finalize_realProof_matchesVm() public {
        _check("finalize");
    }

    function test_vector_proofs_areProofBytesLong() public {
        _load("accumulate");
        assertEq(_accLeaf().proof.length, PROOF_BYTES);
        _load("finalize");
        assertEq(_finLeaf().proof.length, PROOF_BYTES);
    }

    function test_vector_tamperedProof_reverts() public {
        _load("accumulate");
        AccumulateChecker.AccumulateLeaf memory leaf = _accLeaf();
        leaf.proof[leaf.proof.length / 2] ^= 0x01;
        bytes32 pre = _pre();
        vm.expectRevert(abi.encodeWithSelector(StepChecker.ProofRejected.selector, accVerifier));
        arbiter.postState(roundId, _step(), pre, abi.encode(leaf));
    }

    function test_vector_falseAccOut_rejectedByRealVerifier() public {
        _load("accumulate");
        AccumulateChecker.AccumulateLeaf memory leaf = _accLeaf();
        leaf.accOut[255] ^= 0x01; // lane 31 of acc' off by one: the proof no longer matches
        bytes32 pre = _pre();
        vm.expectRevert(abi.encodeWithSelector(StepChecker.ProofRejected.selector, accVerifier));
        arbiter.postState(roundId, _step(), pre, abi.encode(leaf));
    }

    function test_vector_falseOutput_rejectedByRealVerifier() public {
        _load("finalize");
        FinalizeChecker.FinalizeLeaf memory leaf = _finLeaf();
        leaf.values[127] ^= 0x01;
        bytes32 pre = _pre();
        vm.expectRevert(abi.encodeWithSelector(StepChecker.ProofRejected.selector, finVerifier));
        arbiter.postState(roundId, _step(), pre, abi.encode(leaf));
    }

    /// The real verifiers' hash is the codehash pair, as the config hash has always bound it.
    function test_vector_stepVerifiersHash_isCodehashPair() public {
        _load("accumulate");
        assertEq(
            arbiter.stepVerifiersHash(), keccak256(abi.encode(accVerifier.codehash, finVerifier.codehash))
        );
        assertEq(registry.verifiersHash(), arbiter.stepVerifiersHash());
    }
}
