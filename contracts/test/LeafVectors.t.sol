// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "./base/Test.sol";
import {Updates} from "./base/Updates.sol";
import {LeafArbiter} from "../src/LeafArbiter.sol";
import {RoundRegistry} from "../src/RoundRegistry.sol";
import {IRoundRegistry} from "../src/interfaces/IRoundRegistry.sol";
import {BisectionGame} from "../src/BisectionGame.sol";
import {FedAvgProgram} from "../src/programs/FedAvgProgram.sol";
import {MedianProgram} from "../src/programs/MedianProgram.sol";
import {TrimmedMeanProgram} from "../src/programs/TrimmedMeanProgram.sol";
import {StepChecker} from "../src/checkers/StepChecker.sol";
import {CheckerBase} from "../src/checkers/CheckerBase.sol";
import {AccumulateChecker} from "../src/checkers/AccumulateChecker.sol";
import {FinalizeChecker} from "../src/checkers/FinalizeChecker.sol";
import {RankChecker} from "../src/checkers/RankChecker.sol";
import {TrimSumChecker} from "../src/checkers/TrimSumChecker.sol";
import {TrimEmitChecker} from "../src/checkers/TrimEmitChecker.sol";
import {NormChecker} from "../src/checkers/NormChecker.sol";
import {ScaleChecker} from "../src/checkers/ScaleChecker.sol";
import {ClipChecker} from "../src/checkers/ClipChecker.sol";
import {ClippedProgram} from "../src/programs/ClippedProgram.sol";
import {IRuleProgram} from "../src/interfaces/IRuleProgram.sol";

/// Replays the Rust-generated step vectors (`test/vectors/*.json`, real Halo2 proofs made by the
/// `circuits` crate from the step VM's witnesses) through the REAL generated verifier contracts:
/// the VM, the circuit and the arbiter agree on the encoding end to end (Kroma's lesson).
/// The deployment is the real one: programs [FedAvg, Median, TrimmedMean, ClippedFedAvg,
/// ClippedMedian, ClippedTrimmedMean], checkers [Accumulate, Finalize, Rank, TrimSum, TrimEmit,
/// Norm, Scale, Clip] over the seven generated verifiers; each vector's round is opened under
/// its rule (`.rule`, `.params`; FedAvg when absent).
/// The FedAvg vectors keep the field names of the former union leaf (a Finalize vector's
/// `valuesPath` is its `outputPath`); the order-statistic ones name their kind's fields; the
/// clipping ones (a ClippedMedian round, threshold 64.0) give Norm and Scale leaves under the
/// FedAvg tuples' names (the scales root as `outputRoot`, a Scale's `scalesPath` as
/// `outputPath`), a Clip leaf's fields with its base leaf as bytes, and the pre- and
/// post-states as components (a Clip's base states and whether the post-state is wrapped): the
/// config hash, hence a Clip leaf's `basePre`, is this test's own.
contract LeafVectorsTest is Test {
    uint256 internal constant GAS_CAP = 500_000;
    /// Bytes of a real step proof (SHPLONK over BN254, every kind).
    uint256 internal constant PROOF_BYTES = 1_376;
    address internal constant AGGREGATOR = address(0xA66);
    address internal constant CHALLENGER = address(0xC0FFEE);

    RoundRegistry internal registry;
    LeafArbiter internal arbiter;
    BisectionGame internal game;
    /// The real verifiers, index = step kind id (Clip, kind 7, has none).
    address[7] internal verifiers;
    uint256 internal roundId;
    string internal json;

    function _load(string memory name) internal {
        json = vm.readFile(string.concat(vm.projectRoot(), "/test/vectors/", name, ".json"));
        RoundRegistry.Params memory p;
        (p.aggregatorBond, p.challengerBond, p.availabilityBond) = (1 ether, 0.25 ether, 0.1 ether);
        (p.challengeWindow, p.availabilityWindow, p.resolveWindow, p.postWindow) = (3600, 3600, 3600, 3600);
        registry = new RoundRegistry(p);
        verifiers[0] = vm.deployCode("AccumulateVerifier.sol:AccumulateVerifier");
        verifiers[1] = vm.deployCode("FinalizeVerifier.sol:FinalizeVerifier");
        verifiers[2] = vm.deployCode("RankVerifier.sol:RankVerifier");
        verifiers[3] = vm.deployCode("TrimSumVerifier.sol:TrimSumVerifier");
        verifiers[4] = vm.deployCode("TrimEmitVerifier.sol:TrimEmitVerifier");
        verifiers[5] = vm.deployCode("NormVerifier.sol:NormVerifier");
        verifiers[6] = vm.deployCode("ScaleVerifier.sol:ScaleVerifier");
        address[] memory programs = new address[](6);
        programs[0] = address(new FedAvgProgram());
        programs[1] = address(new MedianProgram());
        programs[2] = address(new TrimmedMeanProgram());
        for (uint256 b; b < 3; ++b) {
            programs[3 + b] = address(new ClippedProgram(IRuleProgram(programs[b])));
        }
        address[] memory checkers = new address[](8);
        checkers[0] = address(new AccumulateChecker(verifiers[0], GAS_CAP, PROOF_BYTES));
        checkers[1] = address(new FinalizeChecker(verifiers[1], GAS_CAP, PROOF_BYTES));
        checkers[2] = address(new RankChecker(verifiers[2], GAS_CAP, PROOF_BYTES));
        checkers[3] = address(new TrimSumChecker(verifiers[3], GAS_CAP, PROOF_BYTES));
        checkers[4] = address(new TrimEmitChecker(verifiers[4], GAS_CAP, PROOF_BYTES));
        checkers[5] = address(new NormChecker(verifiers[5], GAS_CAP, PROOF_BYTES));
        checkers[6] = address(new ScaleChecker(verifiers[6], GAS_CAP, PROOF_BYTES));
        address[] memory base = new address[](5);
        for (uint256 k; k < 5; ++k) {
            base[k] = checkers[k];
        }
        checkers[7] = address(new ClipChecker(base));
        arbiter = new LeafArbiter(address(registry), programs, checkers);
        game = new BisectionGame(address(registry), address(arbiter), 3600, 600);
        registry.setGame(address(game));

        bytes32[] memory roots = vm.parseJsonBytes32Array(json, ".updateRoots");
        uint256[] memory weights = vm.parseJsonUintArray(json, ".weights");
        address[] memory clients = new address[](roots.length);
        for (uint256 i; i < roots.length; ++i) {
            clients[i] = address(uint160(0x1000 + i));
        }
        uint8 rule = vm.keyExistsJson(json, ".rule") ? uint8(vm.parseJsonUint(json, ".rule")) : 0;
        bytes memory params =
            vm.keyExistsJson(json, ".params") ? vm.parseJsonBytes(json, ".params") : bytes("");
        roundId = registry.openRound(
            clients, uint32(vm.parseJsonUint(json, ".dim")), AGGREGATOR, 600, rule, params
        );
        for (uint256 i; i < roots.length; ++i) {
            vm.prank(clients[i]);
            registry.commitUpdate(roundId, uint32(i), roots[i], uint32(weights[i]));
        }
        vm.warp(registry.round(roundId).postOpensAt);
        (bytes32 config,,,) = registry.pendingConfig(roundId);
        vm.deal(AGGREGATOR, 1 ether);
        vm.prank(AGGREGATOR);
        // The posted output root only fixes h_T: a vector of the last step posts the one its
        // step writes, so that its post-state is the claim h_T.
        bytes32 outputRoot = bytes32(uint256(1));
        if (vm.keyExistsJson(json, ".post.base") && !vm.parseJsonBool(json, ".post.wrapped")) {
            outputRoot = vm.parseJsonBytes32(json, ".post.base.outputRoot");
        }
        registry.postResult{value: 1 ether}(roundId, outputRoot, config);
    }

    /// The vector's step kind id.
    function _kind() internal view returns (uint8) {
        return _kindId(vm.parseJsonString(json, ".kind"));
    }

    function _kindId(string memory name) internal pure returns (uint8) {
        bytes32 kind = keccak256(bytes(name));
        if (kind == keccak256("Accumulate")) return 0;
        if (kind == keccak256("Finalize")) return 1;
        if (kind == keccak256("Rank")) return 2;
        if (kind == keccak256("TrimSum")) return 3;
        if (kind == keccak256("TrimEmit")) return 4;
        if (kind == keccak256("Norm")) return 5;
        if (kind == keccak256("Scale")) return 6;
        require(kind == keccak256("Clip"), "unknown kind in vector");
        return 7;
    }

    function _accLeaf() internal view returns (AccumulateChecker.AccumulateLeaf memory leaf) {
        require(_kind() == 0, "not an Accumulate vector");
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
        require(_kind() == 1, "not a Finalize vector");
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

    function _rankLeaf() internal view returns (RankChecker.RankLeaf memory leaf) {
        require(_kind() == 2, "not a Rank vector");
        leaf.register = vm.parseJsonBytes(json, ".leaf.register");
        leaf.outputRoot = vm.parseJsonBytes32(json, ".leaf.outputRoot");
        leaf.updateRoot = vm.parseJsonBytes32(json, ".leaf.updateRoot");
        leaf.weight = uint32(vm.parseJsonUint(json, ".leaf.weight"));
        leaf.inputPath = vm.parseJsonBytes32Array(json, ".leaf.inputPath");
        leaf.values = vm.parseJsonBytes(json, ".leaf.values");
        leaf.valuesPath = vm.parseJsonBytes32Array(json, ".leaf.valuesPath");
        leaf.registerOut = vm.parseJsonBytes(json, ".leaf.registerOut");
        leaf.proof = vm.parseJsonBytes(json, ".leaf.proof");
    }

    function _trimSumLeaf() internal view returns (TrimSumChecker.TrimSumLeaf memory leaf) {
        require(_kind() == 3, "not a TrimSum vector");
        leaf.register = vm.parseJsonBytes(json, ".leaf.register");
        leaf.outputRoot = vm.parseJsonBytes32(json, ".leaf.outputRoot");
        leaf.updateRoot = vm.parseJsonBytes32(json, ".leaf.updateRoot");
        leaf.weight = uint32(vm.parseJsonUint(json, ".leaf.weight"));
        leaf.inputPath = vm.parseJsonBytes32Array(json, ".leaf.inputPath");
        leaf.values = vm.parseJsonBytes(json, ".leaf.values");
        leaf.valuesPath = vm.parseJsonBytes32Array(json, ".leaf.valuesPath");
        leaf.registerOut = vm.parseJsonBytes(json, ".leaf.registerOut");
        leaf.proof = vm.parseJsonBytes(json, ".leaf.proof");
    }

    function _trimEmitLeaf() internal view returns (TrimEmitChecker.TrimEmitLeaf memory leaf) {
        require(_kind() == 4, "not a TrimEmit vector");
        leaf.register = vm.parseJsonBytes(json, ".leaf.register");
        leaf.outputRoot = vm.parseJsonBytes32(json, ".leaf.outputRoot");
        leaf.values = vm.parseJsonBytes(json, ".leaf.values");
        leaf.outputPath = vm.parseJsonBytes32Array(json, ".leaf.outputPath");
        leaf.proof = vm.parseJsonBytes(json, ".leaf.proof");
    }

    function _normLeaf() internal view returns (NormChecker.NormLeaf memory leaf) {
        require(_kind() == 5, "not a Norm vector");
        leaf.register = vm.parseJsonBytes(json, ".leaf.register");
        leaf.scalesRoot = vm.parseJsonBytes32(json, ".leaf.outputRoot");
        leaf.updateRoot = vm.parseJsonBytes32(json, ".leaf.updateRoot");
        leaf.weight = uint32(vm.parseJsonUint(json, ".leaf.weight"));
        leaf.inputPath = vm.parseJsonBytes32Array(json, ".leaf.inputPath");
        leaf.values = vm.parseJsonBytes(json, ".leaf.values");
        leaf.valuesPath = vm.parseJsonBytes32Array(json, ".leaf.valuesPath");
        leaf.registerOut = vm.parseJsonBytes(json, ".leaf.registerOut");
        leaf.proof = vm.parseJsonBytes(json, ".leaf.proof");
    }

    function _scaleLeaf() internal view returns (ScaleChecker.ScaleLeaf memory leaf) {
        require(_kind() == 6, "not a Scale vector");
        leaf.register = vm.parseJsonBytes(json, ".leaf.register");
        leaf.scalesRoot = vm.parseJsonBytes32(json, ".leaf.outputRoot");
        leaf.values = vm.parseJsonBytes(json, ".leaf.values");
        leaf.scalesPath = vm.parseJsonBytes32Array(json, ".leaf.outputPath");
        leaf.proof = vm.parseJsonBytes(json, ".leaf.proof");
    }

    /// The Clip leaf as Rust encoded it: its `basePre` under Rust's config hash.
    function _clipLeafAsEncoded() internal view returns (ClipChecker.ClipLeaf memory leaf) {
        require(_kind() == 7, "not a Clip vector");
        leaf.basePre = vm.parseJsonBytes32(json, ".leaf.basePre");
        leaf.scalesRoot = vm.parseJsonBytes32(json, ".leaf.scalesRoot");
        uint256[] memory scales = vm.parseJsonUintArray(json, ".leaf.scales");
        leaf.scales = new uint64[](scales.length);
        for (uint256 k; k < scales.length; ++k) {
            leaf.scales[k] = uint64(scales[k]);
        }
        leaf.scalePaths = vm.parseJsonBytes32Array(json, ".leaf.scalePaths");
        leaf.baseLeaf = vm.parseJsonBytes(json, ".leaf.baseLeaf");
    }

    /// The Clip leaf for this test's round: `basePre` recomputed under its config hash.
    function _clipLeaf() internal view returns (ClipChecker.ClipLeaf memory leaf) {
        leaf = _clipLeafAsEncoded();
        leaf.basePre = _stateOf(".pre.base");
    }

    /// The vector's leaf as `postState` takes it.
    function _leaf() internal view returns (bytes memory) {
        uint8 kind = _kind();
        if (kind == 0) return abi.encode(_accLeaf());
        if (kind == 1) return abi.encode(_finLeaf());
        if (kind == 2) return abi.encode(_rankLeaf());
        if (kind == 3) return abi.encode(_trimSumLeaf());
        if (kind == 4) return abi.encode(_trimEmitLeaf());
        if (kind == 5) return abi.encode(_normLeaf());
        if (kind == 6) return abi.encode(_scaleLeaf());
        return abi.encode(_clipLeaf());
    }

    /// The commitment of the state whose components (`step`, `registerHash`, `outputRoot`)
    /// are at `key` in the vector, under this test's config hash.
    function _stateOf(string memory key) internal view returns (bytes32) {
        return _state(
            vm.parseJsonUint(json, string.concat(key, ".step")),
            vm.parseJsonBytes32(json, string.concat(key, ".registerHash")),
            vm.parseJsonBytes32(json, string.concat(key, ".outputRoot"))
        );
    }

    function _state(uint256 step, bytes32 registerHash, bytes32 outputRoot) internal view returns (bytes32) {
        return keccak256(abi.encode(registry.stepContext(roundId).configHash, step, registerHash, outputRoot));
    }

    /// The pre-state from the leaf: its register (FedAvg: `acc`) and output root (Norm, Scale:
    /// the scales root); a Clip step's from the vector's components: its base pre-state bound
    /// to the scales root.
    function _pre() internal view returns (bytes32) {
        if (_kind() == 7) {
            return keccak256(
                abi.encodePacked(
                    bytes1(0x05), _stateOf(".pre.base"), vm.parseJsonBytes32(json, ".pre.scalesRoot")
                )
            );
        }
        bytes memory reg = vm.parseJsonBytes(json, _kind() < 2 ? ".leaf.acc" : ".leaf.register");
        return _preOf(reg);
    }

    function _preOf(bytes memory reg) internal view returns (bytes32) {
        bytes32 outputRoot = vm.parseJsonBytes32(json, ".leaf.outputRoot");
        return _state(_step(), keccak256(abi.encodePacked(bytes1(0x03), reg)), outputRoot);
    }

    function _step() internal view returns (uint64) {
        return uint64(vm.parseJsonUint(json, ".step"));
    }

    function _expectedPost() internal view returns (bytes32) {
        if (_kind() == 7) {
            bytes32 base = _stateOf(".post.base");
            if (!vm.parseJsonBool(json, ".post.wrapped")) return base;
            return
                keccak256(abi.encodePacked(bytes1(0x05), base, vm.parseJsonBytes32(json, ".pre.scalesRoot")));
        }
        string memory key = _kind() < 2 ? ".post.accHash" : ".post.registerHash";
        return
            _state(_step() + 1, vm.parseJsonBytes32(json, key), vm.parseJsonBytes32(json, ".post.outputRoot"));
    }

    function _check(string memory name) internal {
        _load(name);
        bytes memory leaf = _leaf();
        // Solidity's abi.encode of the struct built from the fields is Rust's encoding (a Clip
        // leaf's with Rust's basePre).
        bytes memory asEncoded = _kind() == 7 ? abi.encode(_clipLeafAsEncoded()) : leaf;
        assertEq(asEncoded, vm.parseJsonBytes(json, ".encoded"), "Rust leaf encoding");
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

    function test_vector_rank_realProof_matchesVm() public {
        _check("rank");
    }

    function test_vector_trimSum_realProof_matchesVm() public {
        _check("trim_sum");
    }

    function test_vector_trimEmit_realProof_matchesVm() public {
        _check("trim_emit");
    }

    function test_vector_norm_realProof_matchesVm() public {
        _check("norm");
    }

    function test_vector_scale_realProof_matchesVm() public {
        _check("scale");
    }

    /// A Clip around a decisive Rank step: a clipped participant's read, its scale opened.
    function test_vector_clipRank_realProof_matchesVm() public {
        _check("clip_rank");
    }

    /// A Clip around a TrimEmit step (no read).
    function test_vector_clipTrimEmit_realProof_matchesVm() public {
        _check("clip_trim_emit");
    }

    /// The last step: its post-state is the base program's final state, unwrapped, which is
    /// the registry's h_T for the output root the base program wrote.
    function test_vector_clipLast_realProof_matchesVm() public {
        _check("clip_last");
        assertFalse(vm.parseJsonBool(json, ".post.wrapped"));
        assertEq(uint256(_step()) + 1, registry.steps(roundId), "the last step");
        IRoundRegistry.ProgramContext memory c = registry.stepContext(roundId);
        assertEq(
            _expectedPost(),
            arbiter.program(4)
                .finalState(
                    c.configHash, c.ruleParams, c.n, c.dim, vm.parseJsonBytes32(json, ".post.base.outputRoot")
                ),
            "hT of the base program's output root"
        );
    }

    /// The clipping vectors are steps of a ClippedMedian round (rule 4, threshold 64.0, n = 4,
    /// C = 4: prologue rows of 5, then 133 columns a row) at their kinds' positions.
    function test_vector_clipVectors_positions() public {
        string[5] memory names = ["norm", "scale", "clip_rank", "clip_trim_emit", "clip_last"];
        for (uint256 t; t < 5; ++t) {
            _load(names[t]);
            assertEq(registry.round(roundId).rule, 4);
            bytes memory params = vm.parseJsonBytes(json, ".params");
            assertEq(params, abi.encode(uint256(64 << 16)), "threshold 64.0");
            (uint8 kind,,, bytes memory kp) = arbiter.program(4).stepAt(params, 4, 100, _step());
            assertEq(kind, _kind(), "kind");
            if (kind == 6) assertEq(kp, abi.encode(uint256(64 << 16)), "Scale takes the threshold");
            if (kind == 7) {
                ClipChecker.ClipStep memory c = abi.decode(kp, (ClipChecker.ClipStep));
                assertEq(c.baseKind, _kindId(vm.parseJsonString(json, ".leaf.baseKind")), "base kind");
                assertEq(c.baseStep, vm.parseJsonUint(json, ".pre.base.step"), "base step");
                assertEq(c.last, !vm.parseJsonBool(json, ".post.wrapped"), "last");
                assertEq(c.participants.length, vm.parseJsonUintArray(json, ".leaf.scales").length, "reads");
            }
        }
    }

    /// The real Norm and Scale verifiers reject a tampered proof, a false post-register and a
    /// false scale; a Clip's base verifier a tampered base proof.
    function test_vector_clipKinds_falseClaims_rejectedByRealVerifiers() public {
        _load("norm");
        NormChecker.NormLeaf memory nl = _normLeaf();
        nl.proof[700] ^= 0x01;
        bytes32 pre = _pre();
        vm.expectRevert(_rejected(5));
        arbiter.postState(roundId, _step(), pre, abi.encode(nl));
        nl = _normLeaf();
        nl.registerOut[7] ^= 0x01; // lo' off by one
        vm.expectRevert(_rejected(5));
        arbiter.postState(roundId, _step(), pre, abi.encode(nl));

        _load("scale");
        ScaleChecker.ScaleLeaf memory sl = _scaleLeaf();
        sl.values[7] ^= 0x01; // the scale off by one
        pre = _pre();
        vm.expectRevert(_rejected(6));
        arbiter.postState(roundId, _step(), pre, abi.encode(sl));
        sl = _scaleLeaf();
        sl.values = abi.encodePacked(uint64(1 << 32)); // no clipping
        vm.expectRevert(_rejected(6));
        arbiter.postState(roundId, _step(), pre, abi.encode(sl));

        _load("clip_rank");
        ClipChecker.ClipLeaf memory cl = _clipLeaf();
        cl.baseLeaf[cl.baseLeaf.length - 100] ^= 0x01; // inside the base proof
        pre = _pre();
        vm.expectRevert(_rejected(2));
        arbiter.postState(roundId, _step(), pre, abi.encode(cl));
    }

    /// The order-statistic vectors are steps of a Median round (rule 1, no parameters) at the
    /// positions their kinds hold in the program (n = 4, 133 columns a row).
    function test_vector_orderVectors_positions() public {
        string[3] memory names = ["rank", "trim_sum", "trim_emit"];
        for (uint256 t; t < 3; ++t) {
            _load(names[t]);
            assertEq(registry.round(roundId).rule, 1);
            (uint8 kind, uint256 row, uint256 col, bytes memory kp) =
                arbiter.program(1).stepAt("", 4, vm.parseJsonUint(json, ".dim"), _step());
            assertEq(kind, _kind(), "kind");
            assertEq(row * 133 + col, _step());
            assertEq(kp, abi.encode(uint256(1)), "median k for n = 4");
        }
    }

    function test_vector_proofs_areProofBytesLong() public {
        _load("accumulate");
        assertEq(_accLeaf().proof.length, PROOF_BYTES);
        _load("finalize");
        assertEq(_finLeaf().proof.length, PROOF_BYTES);
        _load("rank");
        assertEq(_rankLeaf().proof.length, PROOF_BYTES);
        _load("trim_sum");
        assertEq(_trimSumLeaf().proof.length, PROOF_BYTES);
        _load("trim_emit");
        assertEq(_trimEmitLeaf().proof.length, PROOF_BYTES);
    }

    function _rejected(uint8 kind) internal view returns (bytes memory) {
        return abi.encodeWithSelector(StepChecker.ProofRejected.selector, verifiers[kind]);
    }

    function test_vector_tamperedProof_reverts() public {
        _load("accumulate");
        AccumulateChecker.AccumulateLeaf memory leaf = _accLeaf();
        leaf.proof[leaf.proof.length / 2] ^= 0x01;
        bytes32 pre = _pre();
        vm.expectRevert(_rejected(0));
        arbiter.postState(roundId, _step(), pre, abi.encode(leaf));
    }

    function test_vector_orderKinds_tamperedProof_reverts() public {
        _load("rank");
        RankChecker.RankLeaf memory r = _rankLeaf();
        r.proof[r.proof.length / 2] ^= 0x01;
        bytes32 pre = _pre();
        vm.expectRevert(_rejected(2));
        arbiter.postState(roundId, _step(), pre, abi.encode(r));
        _load("trim_sum");
        TrimSumChecker.TrimSumLeaf memory t = _trimSumLeaf();
        t.proof[100] ^= 0x01;
        pre = _pre();
        vm.expectRevert(_rejected(3));
        arbiter.postState(roundId, _step(), pre, abi.encode(t));
        _load("trim_emit");
        TrimEmitChecker.TrimEmitLeaf memory e = _trimEmitLeaf();
        e.proof[1_000] ^= 0x01;
        pre = _pre();
        vm.expectRevert(_rejected(4));
        arbiter.postState(roundId, _step(), pre, abi.encode(e));
    }

    function test_vector_falseAccOut_rejectedByRealVerifier() public {
        _load("accumulate");
        AccumulateChecker.AccumulateLeaf memory leaf = _accLeaf();
        leaf.accOut[255] ^= 0x01; // lane 31 of acc' off by one: the proof no longer matches
        bytes32 pre = _pre();
        vm.expectRevert(_rejected(0));
        arbiter.postState(roundId, _step(), pre, abi.encode(leaf));
    }

    /// A post-register off by one in its last word (sum of lane 31): the real proof does not
    /// match the instances any more.
    function test_vector_falseRegisterOut_rejectedByRealVerifier() public {
        _load("rank");
        RankChecker.RankLeaf memory r = _rankLeaf();
        r.registerOut[799] ^= 0x01;
        bytes32 pre = _pre();
        vm.expectRevert(_rejected(2));
        arbiter.postState(roundId, _step(), pre, abi.encode(r));
        _load("trim_sum");
        TrimSumChecker.TrimSumLeaf memory t = _trimSumLeaf();
        t.registerOut[5 * 64 + 4] ^= 0x01; // c1 of lane 0
        pre = _pre();
        vm.expectRevert(_rejected(3));
        arbiter.postState(roundId, _step(), pre, abi.encode(t));
    }

    function test_vector_falseOutput_rejectedByRealVerifier() public {
        _load("finalize");
        FinalizeChecker.FinalizeLeaf memory leaf = _finLeaf();
        leaf.values[127] ^= 0x01;
        bytes32 pre = _pre();
        vm.expectRevert(_rejected(1));
        arbiter.postState(roundId, _step(), pre, abi.encode(leaf));
        _load("trim_emit");
        TrimEmitChecker.TrimEmitLeaf memory e = _trimEmitLeaf();
        e.values[3] ^= 0x01;
        pre = _pre();
        vm.expectRevert(_rejected(4));
        arbiter.postState(roundId, _step(), pre, abi.encode(e));
    }

    /// Word `w` of an encoded register (160 five-byte offset limbs w + 2^39).
    function _word(bytes memory reg, uint256 w) internal pure returns (int64) {
        uint256 limb;
        for (uint256 i; i < 5; ++i) {
            limb = (limb << 8) | uint8(reg[5 * w + i]);
        }
        return int64(int256(limb) - 2 ** 39);
    }

    /// Sets limb `w` of an encoded register to `limb` (< 2^40).
    function _setLimb(bytes memory reg, uint256 w, uint256 limb) internal pure {
        for (uint256 i; i < 5; ++i) {
            reg[5 * w + i] = bytes1(uint8(limb >> (32 - 8 * i)));
        }
    }

    /// The words of an encoded register as 160 × be64 (the former, 1,280-byte encoding).
    function _asBe64(bytes memory reg) internal pure returns (bytes memory out) {
        for (uint256 w; w < 160; ++w) {
            out = abi.encodePacked(out, _word(reg, w));
        }
    }

    /// Every 5-byte limb is a word, so a register at either end of a limb's range packs and
    /// reaches the real verifier, which refuses the false claim: a post-register limb set to 0
    /// (word -2^39) or to 2^40 - 1 (word 2^39 - 1), and a pre-register limb at an end with the
    /// pre-state recomputed to open.
    function test_vector_registerLimbExtremes_rejectedByRealVerifier() public {
        _load("rank");
        RankChecker.RankLeaf memory r = _rankLeaf();
        _setLimb(r.registerOut, 0, 0); // lo of lane 0
        bytes32 pre = _pre();
        vm.expectRevert(_rejected(2));
        arbiter.postState(roundId, _step(), pre, abi.encode(r));

        _load("trim_sum");
        TrimSumChecker.TrimSumLeaf memory t = _trimSumLeaf();
        _setLimb(t.registerOut, 4 * 32 + 9, (uint256(1) << 40) - 1); // sum of lane 9
        pre = _pre();
        vm.expectRevert(_rejected(3));
        arbiter.postState(roundId, _step(), pre, abi.encode(t));

        _load("trim_emit");
        TrimEmitChecker.TrimEmitLeaf memory e = _trimEmitLeaf();
        _setLimb(e.register, 3 * 32 + 17, 0); // c2 of lane 17, pre-state recomputed to open
        pre = _preOf(e.register);
        vm.expectRevert(_rejected(4));
        arbiter.postState(roundId, _step(), pre, abi.encode(e));
    }

    /// A register of any length but 800 bytes is refused before anything is hashed or packed:
    /// the vector's own words in the former be64 encoding (1,280 bytes), a limb too many or too
    /// few, in either register of each kind.
    function test_vector_registerWrongLength_reverts() public {
        _load("rank");
        RankChecker.RankLeaf memory r = _rankLeaf();
        assertEq(r.register.length, 800, "vector register: 160 limbs");
        r.registerOut = _asBe64(r.registerOut);
        bytes32 pre = _pre();
        vm.expectRevert(abi.encodeWithSelector(CheckerBase.BadLength.selector, "registerOut", 800, 1280));
        arbiter.postState(roundId, _step(), pre, abi.encode(r));
        r = _rankLeaf();
        r.register = abi.encodePacked(r.register, bytes5(0x8000000000));
        pre = _preOf(r.register);
        vm.expectRevert(abi.encodeWithSelector(CheckerBase.BadLength.selector, "register", 800, 805));
        arbiter.postState(roundId, _step(), pre, abi.encode(r));

        _load("trim_sum");
        TrimSumChecker.TrimSumLeaf memory t = _trimSumLeaf();
        t.register = _asBe64(t.register);
        pre = _preOf(t.register);
        vm.expectRevert(abi.encodeWithSelector(CheckerBase.BadLength.selector, "register", 800, 1280));
        arbiter.postState(roundId, _step(), pre, abi.encode(t));

        _load("trim_emit");
        TrimEmitChecker.TrimEmitLeaf memory e = _trimEmitLeaf();
        bytes memory shorter = new bytes(795);
        for (uint256 k; k < 795; ++k) {
            shorter[k] = e.register[k];
        }
        e.register = shorter;
        pre = _preOf(e.register);
        vm.expectRevert(abi.encodeWithSelector(CheckerBase.BadLength.selector, "register", 800, 795));
        arbiter.postState(roundId, _step(), pre, abi.encode(e));
    }

    /// The real verifiers' hash: keccak of the seven codehashes concatenated in kind order,
    /// then a zero word for Clip (no verifier of its own).
    function test_vector_stepVerifiersHash_isKindCodehashes() public {
        _load("accumulate");
        assertEq(
            arbiter.stepVerifiersHash(),
            keccak256(
                abi.encodePacked(
                    verifiers[0].codehash,
                    verifiers[1].codehash,
                    verifiers[2].codehash,
                    verifiers[3].codehash,
                    verifiers[4].codehash,
                    verifiers[5].codehash,
                    verifiers[6].codehash,
                    bytes32(0)
                )
            )
        );
        assertEq(registry.verifiersHash(), arbiter.stepVerifiersHash());
    }

    // ------------------------------------------------------------ proveLeaf with real proofs

    /// Plays a game of the vector's round down to its step (the aggregator claims the vector's
    /// pre- and post-state there, filler elsewhere; the challenger agrees up to the step) and
    /// proves the leaf: logs proveLeaf's call frame and the transaction it would be
    /// (21,000 + calldata with the EIP-7623 floor + that execution, warm accounts). Under
    /// `forge test --isolate` the call frame is already the whole cold transaction (intrinsic
    /// gas and calldata included; the second line then counts them twice).
    function _proveLeaf(string memory name) internal {
        _load(name);
        uint64 step = _step();
        bytes32 pre = _pre();
        bytes32 post = _expectedPost();
        vm.deal(CHALLENGER, 1 ether);
        vm.prank(CHALLENGER);
        uint256 gameId = registry.challenge{value: 0.25 ether}(roundId);
        while (game.game(gameId).status == BisectionGame.GameStatus.AwaitingMid) {
            BisectionGame.GameView memory g = game.game(gameId);
            uint64 mid = g.lo + (g.hi - g.lo) / 2;
            bytes32 hMid = mid == step ? pre : mid == step + 1 ? post : keccak256(abi.encode("filler", mid));
            vm.prank(AGGREGATOR);
            game.bisect(gameId, g.lo, g.hi, g.hHi, hMid);
            vm.prank(CHALLENGER);
            game.respond(gameId, mid, hMid, mid <= step);
        }
        BisectionGame.GameView memory leafGame = game.game(gameId);
        assertEq(leafGame.lo, step);
        assertEq(leafGame.hLo, pre);
        assertEq(leafGame.hHi, post);
        bytes memory leaf = _leaf();
        vm.prank(AGGREGATOR);
        game.proveLeaf(gameId, leaf);
        uint256 exec = vm.lastCallGas().gasTotalUsed;
        assertTrue(game.game(gameId).status == BisectionGame.GameStatus.AggregatorWon);
        emit log_named_uint(string.concat(name, " proveLeaf call frame (real verifier)"), exec);
        emit log_named_uint(
            string.concat(name, " proveLeaf tx (21k + calldata, EIP-7623)"),
            Updates.chargedGas(abi.encodeCall(BisectionGame.proveLeaf, (gameId, leaf)), exec)
        );
        emit log_named_uint(string.concat(name, " leaf bytes"), leaf.length);
    }

    function test_vector_accumulate_proveLeaf_realVerifier() public {
        _proveLeaf("accumulate");
    }

    function test_vector_finalize_proveLeaf_realVerifier() public {
        _proveLeaf("finalize");
    }

    function test_vector_rank_proveLeaf_realVerifier() public {
        _proveLeaf("rank");
    }

    function test_vector_trimSum_proveLeaf_realVerifier() public {
        _proveLeaf("trim_sum");
    }

    function test_vector_trimEmit_proveLeaf_realVerifier() public {
        _proveLeaf("trim_emit");
    }

    function test_vector_norm_proveLeaf_realVerifier() public {
        _proveLeaf("norm");
    }

    function test_vector_scale_proveLeaf_realVerifier() public {
        _proveLeaf("scale");
    }

    function test_vector_clipRank_proveLeaf_realVerifier() public {
        _proveLeaf("clip_rank");
    }

    function test_vector_clipTrimEmit_proveLeaf_realVerifier() public {
        _proveLeaf("clip_trim_emit");
    }

    function test_vector_clipLast_proveLeaf_realVerifier() public {
        _proveLeaf("clip_last");
    }
}
