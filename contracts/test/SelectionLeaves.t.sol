// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "./base/Test.sol";
import {Words} from "./base/Words.sol";
import {GasMeter} from "./LeafGasAtScale.t.sol";
import {RoundRegistry} from "../src/RoundRegistry.sol";
import {BisectionGame} from "../src/BisectionGame.sol";
import {LeafArbiter} from "../src/LeafArbiter.sol";
import {FedAvgProgram} from "../src/programs/FedAvgProgram.sol";
import {MedianProgram} from "../src/programs/MedianProgram.sol";
import {TrimmedMeanProgram} from "../src/programs/TrimmedMeanProgram.sol";
import {ClippedProgram} from "../src/programs/ClippedProgram.sol";
import {SelectedProgram} from "../src/programs/SelectedProgram.sol";
import {AccumulateChecker} from "../src/checkers/AccumulateChecker.sol";
import {FinalizeChecker} from "../src/checkers/FinalizeChecker.sol";
import {RankChecker} from "../src/checkers/RankChecker.sol";
import {TrimSumChecker} from "../src/checkers/TrimSumChecker.sol";
import {TrimEmitChecker} from "../src/checkers/TrimEmitChecker.sol";
import {NormChecker} from "../src/checkers/NormChecker.sol";
import {ScaleChecker} from "../src/checkers/ScaleChecker.sol";
import {ClipChecker} from "../src/checkers/ClipChecker.sol";
import {DistanceChecker} from "../src/checkers/DistanceChecker.sol";
import {ScoreRankChecker} from "../src/checkers/ScoreRankChecker.sol";
import {ScoreSumChecker} from "../src/checkers/ScoreSumChecker.sol";
import {PickChecker} from "../src/checkers/PickChecker.sol";
import {SelectAccumulateChecker} from "../src/checkers/SelectAccumulateChecker.sol";
import {SelectFinalizeChecker} from "../src/checkers/SelectFinalizeChecker.sol";
import {SelectRankChecker} from "../src/checkers/SelectRankChecker.sol";
import {CloseRankChecker} from "../src/checkers/CloseRankChecker.sol";
import {CloseSumChecker} from "../src/checkers/CloseSumChecker.sol";
import {CloseEmitChecker} from "../src/checkers/CloseEmitChecker.sol";
import {IRuleProgram} from "../src/interfaces/IRuleProgram.sol";
import {IStepChecker} from "../src/interfaces/IStepChecker.sol";
import {IRoundRegistry} from "../src/interfaces/IRoundRegistry.sol";
import {CheckerBase} from "../src/checkers/CheckerBase.sol";
import {Commitments} from "../src/lib/Commitments.sol";
import {AcceptingVerifier, MockStepVerifier} from "./mocks/MockStepVerifier.sol";
import {MockSelectionVerifier} from "./mocks/MockSelectionVerifier.sol";
import {MockCloseVerifier} from "./mocks/MockCloseVerifier.sol";
import {MockOrderVerifier} from "./mocks/MockOrderVerifier.sol";
import {TrimStepChecker} from "../src/checkers/TrimStepChecker.sol";
import {ScoreStepChecker} from "../src/checkers/ScoreStepChecker.sol";

/// The distance family's leaves (Krum, Multi-Krum and Bulyan; issue 8) against the Rust VM:
///
/// - **real vectors** (`test/vectors/{distance, score_rank, score_sum, pick, select_accumulate,
///   select_finalize}.json`, real Halo2 proofs of a Multi-Krum round made by `circuits` from the
///   VM's witnesses; `{select_rank, close_rank, close_sum, close_emit}.json` of a Bulyan round): the REAL generated verifiers accept them, the arbiter's post-state is the
///   VM's, and a challenger proving one in a game wins; the gas of that `proveLeaf`
///   transaction is reported;
/// - **at scale** (`test/vectors/{select,bulyan}_scale_n{8,64,255}.json`: each kind's heaviest leaf at
///   n = 8, 64, 255 and d = 25,600,000, realistic and densest content, encoded by the roles'
///   `leaf_input`, with the VM's post-state): the arbiter's post-state is the VM's, and the
///   whole `proveLeaf` transaction stays within 600,000 gas. As in `LeafGasAtScale`, the
///   at-scale deployment's verifiers are accepting mocks (a real proof exists only for the
///   vectors' small round) and each kind's real verifier cost is added: leaf gas = G_mock -
///   mock staticcall + real verifier staticcall, both measured on the kind's real vector.
///   SelectAccumulate and SelectFinalize call the Accumulate and Finalize verifiers;
/// - **Solidity re-execution**: the real vectors' leaves with the statement-checking mocks
///   (`MockSelectionVerifier`, `MockStepVerifier`) in place of the verifiers, which re-execute
///   the step from its public inputs: what settling each step would cost without a proof.
///
/// Run: `tools/forge.sh test --match-contract SelectionLeaves -vv` for the table rows.
/// forge-config: default.isolate = true
contract SelectionLeavesTest is Test {
    uint256 internal constant LEAF_GAS_BOUND = 600_000;
    uint256 internal constant PROOF_BYTES = 1_376;
    uint256 internal constant GAS_CAP = 500_000;
    /// The challenger's metering at a nonzero base fee (see `LeafGasAtScale`).
    uint256 internal constant METERED_WRITE_GAS = 2_900;
    uint256 internal constant AGG_BOND = 1 ether;
    uint256 internal constant CH_BOND = 0.25 ether;
    address internal constant AGGREGATOR = address(0xA66);

    /// ds-test's plain log line (forge prints it with -vv).
    event log(string);

    RoundRegistry internal registry;
    LeafArbiter internal arbiter;
    BisectionGame internal game;
    GasMeter internal meter;

    /// The distance family's kinds.
    uint8[10] internal KINDS = [8, 9, 10, 11, 12, 13, 14, 15, 16, 17];
    /// Kinds with a verifier of their own or shared, by kind id (18 entries).
    uint256 internal constant KIND_COUNT = 18;

    function setUp() public {
        vm.warp(1_700_000_000);
        meter = new GasMeter();
        vm.deal(AGGREGATOR, 100 ether);
    }

    // ------------------------------------------------------------------ deployment

    /// The verifier each kind's checker calls: index = the verifiers' own kind (0 to 6, 8 to
    /// 11, 15 to 17); SelectAccumulate (12), SelectFinalize (13) and SelectRank (14) use
    /// Accumulate's, Finalize's and Rank's.
    function _realVerifiers() internal returns (address[18] memory v) {
        string[18] memory names = [
            "AccumulateVerifier",
            "FinalizeVerifier",
            "RankVerifier",
            "TrimSumVerifier",
            "TrimEmitVerifier",
            "NormVerifier",
            "ScaleVerifier",
            "",
            "DistanceVerifier",
            "ScoreRankVerifier",
            "ScoreSumVerifier",
            "PickVerifier",
            "",
            "",
            "",
            "CloseRankVerifier",
            "CloseSumVerifier",
            "CloseEmitVerifier"
        ];
        for (uint256 k; k < 18; ++k) {
            if (bytes(names[k]).length > 0) {
                v[k] = vm.deployCode(string.concat(names[k], ".sol:", names[k]));
            }
        }
        (v[12], v[13], v[14]) = (v[0], v[1], v[2]);
    }

    function _acceptingVerifiers() internal returns (address[18] memory v) {
        for (uint256 k; k < 18; ++k) {
            v[k] = address(new AcceptingVerifier());
        }
        (v[12], v[13], v[14]) = (v[0], v[1], v[2]);
    }

    /// The real deployment's tables (9 programs, 18 checkers) over `v`.
    function _deploy(address[18] memory v) internal {
        _deploy(v, PROOF_BYTES);
    }

    /// The statement-checking mocks: the distance family's own, FedAvg's for kinds 12 and 13.
    function _reexecutingVerifiers() internal returns (address[18] memory v) {
        v = _acceptingVerifiers();
        for (uint8 k = 8; k < 12; ++k) {
            v[k] = address(new MockSelectionVerifier(k));
        }
        v[12] = address(new MockStepVerifier(false));
        v[13] = address(new MockStepVerifier(true));
        // SelectRank's relation is Rank's (kind 2).
        v[14] = address(new MockOrderVerifier(2));
        for (uint8 k = 15; k < 18; ++k) {
            v[k] = address(new MockCloseVerifier(k));
        }
    }

    /// As `_deploy(v)`, with checkers taking proofs of `proofBytes` bytes.
    function _deploy(address[18] memory v, uint256 proofBytes) internal {
        RoundRegistry.Params memory p;
        (p.aggregatorBond, p.challengerBond, p.clientDeposit, p.availabilityBond) =
        (AGG_BOND, CH_BOND, 1 gwei, 0.1 ether);
        (p.challengeWindow, p.availabilityWindow, p.resolveWindow, p.postWindow) =
        (1 days, 1 hours, 1 hours, 1 days);
        p.burnBps = 5_000;
        registry = new RoundRegistry(p);
        address[] memory programs = new address[](12);
        programs[0] = address(new FedAvgProgram());
        programs[1] = address(new MedianProgram());
        programs[2] = address(new TrimmedMeanProgram());
        for (uint256 b; b < 3; ++b) {
            programs[3 + b] = address(new ClippedProgram(IRuleProgram(programs[b])));
        }
        programs[6] = address(new SelectedProgram(6));
        programs[7] = address(new SelectedProgram(7));
        programs[8] = address(new SelectedProgram(8));
        for (uint256 b; b < 3; ++b) {
            programs[9 + b] = address(new ClippedProgram(IRuleProgram(programs[6 + b])));
        }
        address[] memory c = new address[](18);
        c[0] = address(new AccumulateChecker(v[0], GAS_CAP, proofBytes));
        c[1] = address(new FinalizeChecker(v[1], GAS_CAP, proofBytes));
        c[2] = address(new RankChecker(v[2], GAS_CAP, proofBytes));
        c[3] = address(new TrimSumChecker(v[3], GAS_CAP, proofBytes));
        c[4] = address(new TrimEmitChecker(v[4], GAS_CAP, proofBytes));
        c[5] = address(new NormChecker(v[5], GAS_CAP, proofBytes));
        c[6] = address(new ScaleChecker(v[6], GAS_CAP, proofBytes));
        c[8] = address(new DistanceChecker(v[8], GAS_CAP, proofBytes));
        c[9] = address(new ScoreRankChecker(v[9], GAS_CAP, proofBytes));
        c[10] = address(new ScoreSumChecker(v[10], GAS_CAP, proofBytes));
        c[11] = address(new PickChecker(v[11], GAS_CAP, proofBytes));
        c[12] = address(new SelectAccumulateChecker(v[12], GAS_CAP, proofBytes));
        c[13] = address(new SelectFinalizeChecker(v[13], GAS_CAP, proofBytes));
        c[14] = address(new SelectRankChecker(v[14], GAS_CAP, proofBytes));
        c[15] = address(new CloseRankChecker(v[15], GAS_CAP, proofBytes));
        c[16] = address(new CloseSumChecker(v[16], GAS_CAP, proofBytes));
        c[17] = address(new CloseEmitChecker(v[17], GAS_CAP, proofBytes));
        // The Clip checker wraps every kind but the clipping kinds (5-7) themselves.
        address[] memory base = new address[](18);
        for (uint256 k; k < 18; ++k) {
            if (k < 5 || k > 7) base[k] = c[k];
        }
        c[7] = address(new ClipChecker(base));
        arbiter = new LeafArbiter(address(registry), programs, c);
        game = new BisectionGame(address(registry), address(arbiter), 1 days, 1 hours);
        registry.setGame(address(game));
    }

    // ------------------------------------------------------------------ rounds and games

    /// Opens the round `key` of `json` (rule, parameters, dim, roots, weights), commits every
    /// update and posts; returns its id and config hash.
    function _openRound(string memory json, string memory key, uint256 salt)
        internal
        returns (uint256 id, bytes32 config)
    {
        bytes32[] memory roots = vm.parseJsonBytes32Array(json, string.concat(key, ".updateRoots"));
        uint32 dim = uint32(vm.parseJsonUint(json, string.concat(key, ".dim")));
        id = _open(json, key, salt, roots.length, dim);
        _commitAll(json, key, salt, id, roots, dim);
        vm.warp(registry.round(id).postOpensAt);
        (config,,,) = registry.pendingConfig(id);
        vm.prank(AGGREGATOR, AGGREGATOR);
        registry.postResult{value: AGG_BOND}(id, keccak256("an output root"), config);
    }

    function _client(uint256 salt, uint256 c) internal pure returns (address) {
        return address(uint160(0x20_0000 + salt * 0x1000 + c));
    }

    function _open(string memory json, string memory key, uint256 salt, uint256 n, uint32 dim)
        internal
        returns (uint256)
    {
        address[] memory clients = new address[](n);
        for (uint256 c; c < n; ++c) {
            clients[c] = _client(salt, c);
        }
        uint8 rule = uint8(vm.parseJsonUint(json, string.concat(key, ".rule")));
        bytes memory params = vm.parseJsonBytes(json, string.concat(key, ".params"));
        return registry.openRound(clients, dim, AGGREGATOR, 1 hours, rule, params);
    }

    function _commitAll(
        string memory json,
        string memory key,
        uint256 salt,
        uint256 id,
        bytes32[] memory roots,
        uint32 dim
    ) internal {
        uint256[] memory weights = vm.parseJsonUintArray(json, string.concat(key, ".weights"));
        uint256 deposit = registry.depositFor(dim);
        for (uint256 c; c < roots.length; ++c) {
            address client = _client(salt, c);
            vm.deal(client, deposit);
            vm.prank(client, client);
            registry.commitUpdate{value: deposit}(id, uint32(c), roots[c], uint32(weights[c]));
        }
    }

    /// The commitment of the state `path` of `json` describes, under `config` (wrapped in its
    /// scales root, `.wrap`, under clipping).
    function _state(string memory json, string memory path, bytes32 config)
        internal
        view
        returns (bytes32 h)
    {
        h = _baseState(json, path, config);
        string memory wrap = string.concat(path, ".wrap");
        if (vm.keyExistsJson(json, wrap)) {
            h = Commitments.clippedStateHash(h, vm.parseJsonBytes32(json, wrap));
        }
    }

    /// The state `path` of `json` describes under `config`, unwrapped: the base program's.
    function _baseState(string memory json, string memory path, bytes32 config)
        internal
        pure
        returns (bytes32)
    {
        return Commitments.stateHash3(
            config,
            vm.parseJsonUint(json, string.concat(path, ".step")),
            vm.parseJsonBytes32(json, string.concat(path, ".registerHash")),
            vm.parseJsonBytes32(json, string.concat(path, ".output")),
            vm.parseJsonBytes32(json, string.concat(path, ".distance")),
            vm.parseJsonBytes32(json, string.concat(path, ".selection"))
        );
    }

    function _challenge(uint256 roundId, address who) internal returns (uint256 gameId) {
        vm.deal(who, 10 ether);
        vm.prank(who, who);
        gameId = registry.challenge{value: CH_BOND}(roundId);
    }

    /// Bisects `gameId` to [step, step + 1]: the aggregator claims `pre` at the step and a
    /// wrong post-state after it; the challenger agrees up to the step.
    function _play(uint256 gameId, address challenger, uint64 step, bytes32 pre) internal {
        bytes32 claim = keccak256("a wrong post-state");
        BisectionGame.GameView memory g = game.game(gameId);
        while (g.status == BisectionGame.GameStatus.AwaitingMid) {
            uint64 mid = g.lo + (g.hi - g.lo) / 2;
            bytes32 h =
                mid == step ? pre : mid == step + 1 ? claim : keccak256(abi.encode("filler", gameId, mid));
            vm.prank(AGGREGATOR, AGGREGATOR);
            game.bisect(gameId, g.lo, g.hi, g.hHi, h);
            vm.prank(challenger, challenger);
            game.respond(gameId, mid, h, mid <= step);
            g = game.game(gameId);
        }
        assertEq(uint256(g.lo), uint256(step), "disputed step");
    }

    /// Proves `leaf` from the challenger's EOA in a game bisected to `step`; returns the
    /// transaction's gas with the metering a nonzero base fee adds.
    function _proveInGame(uint256 roundId, uint256 salt, uint64 step, bytes32 pre, bytes memory leaf)
        internal
        returns (uint256 gas)
    {
        address challenger = address(uint160(0xC4A1_0000 + salt));
        uint256 gameId = _challenge(roundId, challenger);
        // A second open game keeps the round's open-game count nonzero, as at scale.
        _challenge(roundId, address(uint160(0xC4A2_0000 + salt)));
        _play(gameId, challenger, step, pre);
        vm.prank(challenger, challenger);
        game.proveLeaf(gameId, leaf);
        gas = vm.lastCallGas().gasTotalUsed + METERED_WRITE_GAS;
        assertTrue(game.game(gameId).status == BisectionGame.GameStatus.ChallengerWon, "challenger wins");
    }

    /// `pairAt` inverts the colexicographic pair order: pair p is (a, b) with
    /// b(b-1)/2 <= p < b(b+1)/2 and a = p - b(b-1)/2 < b, for every pair index of a uint32
    /// participant count, and the two ends of each b.
    function testFuzz_pairAt_isTheColexicographicPair(uint256 p) public {
        SelectedProgram krum = new SelectedProgram(6);
        p = bound(p, 0, uint256(type(uint32).max) * (uint256(type(uint32).max) - 1) / 2 - 1);
        (uint256 a, uint256 b) = krum.pairAt(p);
        assertLe(b * (b - 1) / 2, p, "b(b-1)/2 <= p");
        assertLt(p, b * (b + 1) / 2, "p < b(b+1)/2");
        assertEq(a, p - b * (b - 1) / 2, "a");
        assertLt(a, b, "a < b");
        for (uint256 q = 1; q < 300; ++q) {
            (uint256 a0, uint256 b0) = krum.pairAt(q * (q - 1) / 2);
            (uint256 a1, uint256 b1) = krum.pairAt(q * (q + 1) / 2 - 1);
            assertEq(a0, 0);
            assertEq(b0, q);
            assertEq(a1, q - 1);
            assertEq(b1, q);
        }
    }

    // ------------------------------------------------------------------ parameters

    function _refused(uint8 rule, bytes memory params, uint256 clients, string memory reason) internal {
        address[] memory c = new address[](clients);
        for (uint256 i; i < clients; ++i) {
            c[i] = address(uint160(0x30_0000 + i));
        }
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.InvalidRuleParams.selector, rule, reason));
        registry.openRound(c, 100, AGGREGATOR, 1 hours, rule, params);
    }

    /// `openRound` refuses the distance family's invalid parameters, naming the rule (by id),
    /// the parameter and its bound; valid ones are stored.
    function test_openRound_distanceFamily_refusesInvalidParams() public {
        _deploy(_acceptingVerifiers());
        _refused(
            6,
            abi.encode(uint8(3)),
            8,
            "f must be at most (n - 3) / 2 for n = 8 clients (n >= 2f + 3: n - f - 2 >= f + 1 neighbours); got 3"
        );
        _refused(7, abi.encode(uint8(1), uint8(0)), 8, "keep must be between 1 and n - f = 7; got 0");
        _refused(7, abi.encode(uint8(1), uint8(8)), 8, "keep must be between 1 and n - f = 7; got 8");
        _refused(
            8,
            abi.encode(uint8(2)),
            10,
            "f must be at most (n - 3) / 4 for n = 10 clients (n >= 4f + 3: beta = n - 4f >= 3 values per coordinate); got 2"
        );
        _refused(
            6, abi.encode(uint8(1), uint8(1)), 8, "params must be abi.encode(uint8 f), 32 bytes; got 64 bytes"
        );
        _refused(
            7,
            abi.encode(uint8(1)),
            8,
            "params must be abi.encode(uint8 f, uint8 keep), 64 bytes; got 32 bytes"
        );
        _refused(8, abi.encode(uint256(256)), 11, "f and keep must be canonical abi.encode(uint8) words");
        // At the bounds: accepted and stored.
        address[] memory c = new address[](11);
        for (uint256 i; i < 11; ++i) {
            c[i] = address(uint160(0x40_0000 + i));
        }
        uint256 id = registry.openRound(c, 100, AGGREGATOR, 1 hours, 8, abi.encode(uint8(2)));
        assertEq(registry.ruleParams(id), abi.encode(uint8(2)));
        assertEq(registry.round(id).rule, 8);
    }

    // ------------------------------------------------------------------ real vectors

    function _vector(uint8 kind) internal view returns (string memory) {
        string[10] memory files = [
            "distance",
            "score_rank",
            "score_sum",
            "pick",
            "select_accumulate",
            "select_finalize",
            "select_rank",
            "close_rank",
            "close_sum",
            "close_emit"
        ];
        return vm.readFile(string.concat(vm.projectRoot(), "/test/vectors/", files[kind - 8], ".json"));
    }

    /// The verifier input of a real vector: its instances, then its proof.
    function _verifierInput(string memory json) internal pure returns (bytes memory) {
        bytes32[] memory instances = vm.parseJsonBytes32Array(json, ".instances");
        return abi.encodePacked(instances, vm.parseJsonBytes(json, ".proof"));
    }

    /// The real vector of `kind` through the real deployment: the verifier accepts it, the
    /// arbiter's post-state is the VM's, a challenger proving it wins; returns the gas.
    function _realVector(uint8 kind) internal returns (uint256 gas) {
        _deploy(_realVerifiers());
        string memory json = _vector(kind);
        (uint256 id, bytes32 config) = _openRound(json, "", 0);
        uint64 step = uint64(vm.parseJsonUint(json, ".step"));
        bytes32 pre = _state(json, ".pre", config);
        bytes memory leaf = vm.parseJsonBytes(json, ".encoded");
        assertEq(arbiter.postState(id, step, pre, leaf), _state(json, ".post", config), "the VM's post-state");
        gas = _proveInGame(id, kind, step, pre, leaf);
        emit log_named_uint(string.concat(_name(kind), ": proveLeaf gas, real proof (n = 5, d = 100)"), gas);
        assertLe(gas, LEAF_GAS_BOUND);
    }

    function test_vector_distance_realProof_matchesVm() public {
        _realVector(8);
    }

    function test_vector_scoreRank_realProof_matchesVm() public {
        _realVector(9);
    }

    function test_vector_scoreSum_realProof_matchesVm() public {
        _realVector(10);
    }

    function test_vector_pick_realProof_matchesVm() public {
        _realVector(11);
    }

    function test_vector_selectAccumulate_realProof_matchesVm() public {
        _realVector(12);
    }

    function test_vector_selectFinalize_realProof_matchesVm() public {
        _realVector(13);
    }

    function test_vector_selectRank_realProof_matchesVm() public {
        _realVector(14);
    }

    function test_vector_closeRank_realProof_matchesVm() public {
        _realVector(15);
    }

    function test_vector_closeSum_realProof_matchesVm() public {
        _realVector(16);
    }

    function test_vector_closeEmit_realProof_matchesVm() public {
        _realVector(17);
    }

    /// A tampered proof byte makes the real verifier reject the leaf, and the game does not end.
    function test_vector_tamperedProof_isRejected() public {
        _deploy(_realVerifiers());
        string memory json = _vector(9);
        (uint256 id, bytes32 config) = _openRound(json, "", 0);
        uint64 step = uint64(vm.parseJsonUint(json, ".step"));
        bytes memory leaf = vm.parseJsonBytes(json, ".encoded");
        leaf[leaf.length - 100] ^= 0x01;
        vm.expectRevert();
        arbiter.postState(id, step, _state(json, ".pre", config), leaf);
    }

    // ------------------------------------------------------------------ re-execution

    /// `leaf` with its proof replaced by the mocks' placeholder.
    function _withPlaceholder(uint8 kind, bytes memory leaf) internal pure returns (bytes memory) {
        bytes memory p = bytes("mock-step-proof");
        if (kind == 8) {
            DistanceChecker.DistanceLeaf memory l = abi.decode(leaf, (DistanceChecker.DistanceLeaf));
            l.proof = p;
            return abi.encode(l);
        }
        if (kind == 9 || kind == 10) {
            ScoreStepChecker.ScoreLeaf memory l = abi.decode(leaf, (ScoreStepChecker.ScoreLeaf));
            l.proof = p;
            return abi.encode(l);
        }
        if (kind == 11) {
            PickChecker.PickLeaf memory l = abi.decode(leaf, (PickChecker.PickLeaf));
            l.proof = p;
            return abi.encode(l);
        }
        if (kind >= 14 && kind <= 16) {
            TrimStepChecker.TrimLeaf memory l = abi.decode(leaf, (TrimStepChecker.TrimLeaf));
            l.proof = p;
            return abi.encode(l);
        }
        if (kind == 17) {
            CloseEmitChecker.CloseEmitLeaf memory l = abi.decode(leaf, (CloseEmitChecker.CloseEmitLeaf));
            l.proof = p;
            return abi.encode(l);
        }
        if (kind == 12) {
            SelectAccumulateChecker.SelectAccumulateLeaf memory l =
                abi.decode(leaf, (SelectAccumulateChecker.SelectAccumulateLeaf));
            l.proof = p;
            return abi.encode(l);
        }
        SelectFinalizeChecker.SelectFinalizeLeaf memory f =
            abi.decode(leaf, (SelectFinalizeChecker.SelectFinalizeLeaf));
        f.proof = p;
        return abi.encode(f);
    }

    /// The real vector's step settled by re-executing it in Solidity: the arbiter's post-state
    /// is the VM's, and the `proveLeaf` transaction's gas is reported.
    function test_reexecution_everyKind() public {
        for (uint8 kind = 8; kind < 18; ++kind) {
            _deploy(_reexecutingVerifiers(), bytes("mock-step-proof").length);
            string memory json = _vector(kind);
            (uint256 id, bytes32 config) = _openRound(json, "", kind);
            uint64 step = uint64(vm.parseJsonUint(json, ".step"));
            bytes32 pre = _state(json, ".pre", config);
            bytes memory leaf = _withPlaceholder(kind, vm.parseJsonBytes(json, ".encoded"));
            assertEq(
                arbiter.postState(id, step, pre, leaf), _state(json, ".post", config), "the VM's post-state"
            );
            uint256 gas = _proveInGame(id, kind, step, pre, leaf);
            emit log_named_uint(
                string.concat(
                    _name(kind), ": proveLeaf gas, Solidity re-execution (the real vector's round)"
                ),
                gas
            );
        }
    }

    /// A leaf padded past its canonical encoding is refused (nobody inflates the metered
    /// calldata), for the checker that computes the length and for one that re-encodes.
    function test_nonCanonicalLeaf_isRefused() public {
        _deploy(_realVerifiers());
        for (uint8 kind = 8; kind <= 9; ++kind) {
            string memory json = _vector(kind);
            (uint256 id, bytes32 config) = _openRound(json, "", kind);
            uint64 step = uint64(vm.parseJsonUint(json, ".step"));
            bytes memory leaf = bytes.concat(vm.parseJsonBytes(json, ".encoded"), bytes32(0));
            vm.expectRevert();
            arbiter.postState(id, step, _state(json, ".pre", config), leaf);
        }
    }

    // ------------------------------------------------------------------ at scale

    /// Real verifier staticcall - accepting mock staticcall on `kind`'s real vector.
    function _delta(uint8 kind) internal returns (uint256) {
        string memory json = _vector(kind);
        bytes memory input = _verifierInput(json);
        address[18] memory real = _realVerifiers();
        (uint256 realGas, bool ok) = meter.staticcallGas(real[kind], input);
        assertTrue(ok, string.concat(_name(kind), ": the real verifier accepts its vector"));
        (uint256 mockGas, bool ok2) = meter.staticcallGas(address(new AcceptingVerifier()), input);
        assertTrue(ok2, "the accepting mock accepts");
        return realGas - mockGas;
    }

    /// The two rounds of an at-scale file: realistic and densest content.
    struct ScaleRounds {
        uint256[2] ids;
        bytes32[2] configs;
        /// Real verifier - mock per kind id.
        uint256[18] delta;
        uint256 n;
    }

    /// Measures the file `<prefix>_n<n>.json`'s `count` cases.
    function _measure(string memory prefix, uint256 n, uint256 count) internal {
        ScaleRounds memory r;
        r.n = n;
        for (uint256 t; t < 10; ++t) {
            r.delta[KINDS[t]] = _delta(KINDS[t]);
        }
        _deploy(_acceptingVerifiers());
        string memory json = vm.readFile(
            string.concat(vm.projectRoot(), "/test/vectors/", prefix, "_n", vm.toString(n), ".json")
        );
        (r.ids[0], r.configs[0]) = _openRound(json, ".round", 1);
        (r.ids[1], r.configs[1]) = _openRound(json, ".denseRound", 2);
        uint256 snapshot = vm.snapshotState();
        for (uint256 c; c < count; ++c) {
            _measureCase(json, c, r);
            vm.revertToState(snapshot);
        }
    }

    /// Case `c` of the file: the arbiter's post-state is the VM's, and its leaf gas is within
    /// the bound.
    function _measureCase(string memory json, uint256 c, ScaleRounds memory r) internal {
        string memory path = string.concat(".cases[", vm.toString(c), "]");
        uint256 v = vm.parseJsonBool(json, string.concat(path, ".dense")) ? 1 : 0;
        uint64 step = uint64(vm.parseJsonUint(json, string.concat(path, ".step")));
        bytes32 pre = _state(json, string.concat(path, ".pre"), r.configs[v]);
        bytes memory leaf = vm.parseJsonBytes(json, string.concat(path, ".encoded"));
        bool clipped = vm.parseJsonUint(json, string.concat(path, ".kindId")) == 7;
        if (clipped) {
            // The Clip leaf carries the base pre-state, committed under the generator's config
            // hash: recomputed under this round's.
            ClipChecker.ClipLeaf memory cl = abi.decode(leaf, (ClipChecker.ClipLeaf));
            cl.basePre = _baseState(json, string.concat(path, ".pre"), r.configs[v]);
            leaf = abi.encode(cl);
        }
        assertEq(
            arbiter.postState(r.ids[v], step, pre, leaf),
            _state(json, string.concat(path, ".post"), r.configs[v]),
            "the arbiter's post-state is the VM's"
        );
        // A Clip step (kind 7) proves with its base kind's verifier.
        uint8 kind = uint8(vm.parseJsonUint(json, string.concat(path, ".baseKindId")));
        uint256 gas = _proveInGame(r.ids[v], c + 10, step, pre, leaf) + r.delta[kind];
        emit log(string.concat(
                "| ",
                clipped ? "Clip: " : "",
                _name(kind),
                " | ",
                vm.toString(r.n),
                " | 25,600,000 | ",
                v == 1 ? "densest" : "realistic",
                " | ",
                vm.toString(leaf.length),
                " | ",
                vm.toString(gas),
                " |"
            ));
        assertLe(
            gas, LEAF_GAS_BOUND, string.concat(clipped ? "Clip: " : "", _name(kind), ": leaf gas over the bound")
        );
    }

    function test_leafGas_distanceFamily_n8_dim25M() public {
        _measure("select_scale", 8, 12);
    }

    function test_leafGas_distanceFamily_n64_dim25M() public {
        _measure("select_scale", 64, 12);
    }

    function test_leafGas_distanceFamily_n255_dim25M() public {
        _measure("select_scale", 255, 12);
    }

    function test_leafGas_bulyanTrim_n8_dim25M() public {
        _measure("bulyan_scale", 8, 8);
    }

    function test_leafGas_bulyanTrim_n64_dim25M() public {
        _measure("bulyan_scale", 64, 8);
    }

    function test_leafGas_bulyanTrim_n255_dim25M() public {
        _measure("bulyan_scale", 255, 8);
    }

    function test_leafGas_clippedDistanceFamily_n8_dim25M() public {
        _measure("clip_select_scale", 8, 12);
    }

    function test_leafGas_clippedDistanceFamily_n64_dim25M() public {
        _measure("clip_select_scale", 64, 12);
    }

    function test_leafGas_clippedDistanceFamily_n255_dim25M() public {
        _measure("clip_select_scale", 255, 12);
    }

    function test_leafGas_clippedBulyanTrim_n8_dim25M() public {
        _measure("clip_bulyan_scale", 8, 8);
    }

    function test_leafGas_clippedBulyanTrim_n64_dim25M() public {
        _measure("clip_bulyan_scale", 64, 8);
    }

    function test_leafGas_clippedBulyanTrim_n255_dim25M() public {
        _measure("clip_bulyan_scale", 255, 8);
    }

    // ------------------------------------------------------------------ under clipping

    /// The clipped programs over the family (rules 9-11) wrap every base step as a Clip step
    /// whose reads are the base step's (a Distance step its pair, a reading last-phase step
    /// `col mod n`, the rest none), with the clipped program's T; the base programs' `stepView`
    /// is their `stepAt` with those reads and their own T.
    function test_clippedSelection_stepView_namesEveryRead() public {
        _deploy(_acceptingVerifiers());
        // Clipped Multi-Krum (f = 1, keep = 2), n = 5, dim = 100: P = 5·(4 + 1).
        _checkClippedViews(10, abi.encode(uint256(1), uint256(2)), 5, 100);
        // Clipped Bulyan (f = 1), n = 7, dim = 32: P = 7·2.
        _checkClippedViews(11, abi.encode(uint256(1)), 7, 32);
    }

    /// A clipped program over the family and its base, at one round shape.
    struct ClippedViews {
        IRuleProgram p;
        IRuleProgram b;
        bytes params;
        bytes baseParams;
        uint256 n;
        uint256 dim;
        uint256 prologue;
        uint64 tb;
        uint64 t;
    }

    function _checkClippedViews(uint8 rule, bytes memory baseParams, uint256 n, uint256 dim) internal view {
        ClippedViews memory w;
        (w.p, w.b, w.baseParams, w.n, w.dim) =
        (arbiter.program(rule), arbiter.program(rule - 3), baseParams, n, dim);
        w.params = abi.encodePacked(abi.encode(uint256(1 << 16)), baseParams);
        w.prologue = n * ((dim + 31) / 32 + 1);
        w.tb = w.b.steps(baseParams, n, dim);
        w.t = w.p.steps(w.params, n, dim);
        assertEq(w.t, w.prologue + w.tb, "T = P + T_b");
        uint256 reads;
        for (uint64 k; k < w.tb; ++k) {
            // Each step's views are garbage after its checks: reuse their memory (thousands of
            // steps would otherwise run out of it).
            uint256 free;
            assembly ("memory-safe") {
                free := mload(0x40)
            }
            reads += _checkClippedStep(w, k);
            assembly ("memory-safe") {
                mstore(0x40, free)
            }
        }
        assertGt(reads, 0);
    }

    /// Base step k and its Clip step; returns the number of reads.
    function _checkClippedStep(ClippedViews memory w, uint64 k) internal view returns (uint256) {
        IRuleProgram.StepView memory v = w.b.stepView(w.baseParams, w.n, w.dim, k);
        {
            (uint8 kind, uint256 row, uint256 col, bytes memory kp) = w.b.stepAt(w.baseParams, w.n, w.dim, k);
            assertEq(abi.encode(v.kind, v.row, v.col, v.kindParams), abi.encode(kind, row, col, kp), "stepAt");
        }
        assertEq(v.steps, w.tb, "base T");
        assertEq(
            abi.encode(v.participants), abi.encode(_expectedReads(w.n, v.kind, v.row, v.col)), "base reads"
        );
        IRuleProgram.StepView memory cv = w.p.stepView(w.params, w.n, w.dim, uint64(w.prologue + k));
        assertEq(cv.kind, 7, "a Clip step");
        assertEq(cv.steps, w.t, "clipped T");
        assertEq(abi.encode(cv.participants), abi.encode(v.participants), "clipped reads");
        ClipChecker.ClipStep memory c = abi.decode(cv.kindParams, (ClipChecker.ClipStep));
        assertEq(abi.encode(c.participants), abi.encode(v.participants), "ClipStep reads");
        assertEq(c.baseKind, v.kind, "base kind");
        assertEq(c.last, k + 1 == w.tb, "last");
        return v.participants.length;
    }

    /// The participants a step of the family reads, from its kind and position alone.
    function _expectedReads(uint256 n, uint8 kind, uint256 row, uint256 col)
        internal
        pure
        returns (uint256[] memory r)
    {
        if (kind == 8) {
            r = new uint256[](2);
            // Pair `row` in colexicographic order: b the largest with b(b-1)/2 <= row.
            uint256 b = 1;
            while ((b + 1) * b / 2 <= row) ++b;
            (r[0], r[1]) = (row - b * (b - 1) / 2, b);
        } else if (kind == 12 || kind == 14 || kind == 15 || kind == 16) {
            r = new uint256[](1);
            r[0] = col % n;
        }
    }

    /// A base program's refusal passes through the clipped program unchanged; a step past the
    /// end names the clipped program's T.
    function test_clippedSelection_baseRefusalsPassThrough() public {
        _deploy(_acceptingVerifiers());
        IRuleProgram p = arbiter.program(9);
        bytes memory tau = abi.encode(uint256(1 << 16));
        vm.expectRevert(
            abi.encodeWithSelector(
                IRuleProgram.InvalidRuleParams.selector,
                6,
                "f and keep must be canonical abi.encode(uint8) words"
            )
        );
        p.stepAt(abi.encodePacked(tau, abi.encode(uint256(300))), 5, 100, 30);
        bytes memory params = abi.encodePacked(tau, abi.encode(uint256(1)));
        uint64 t = p.steps(params, 5, 100);
        vm.expectRevert(abi.encodeWithSelector(IRuleProgram.StepOutOfRange.selector, t, t));
        p.stepAt(params, 5, 100, t);
        vm.expectRevert(abi.encodeWithSelector(IRuleProgram.StepOutOfRange.selector, type(uint64).max, t));
        p.stepView(params, 5, 100, type(uint64).max);
    }

    /// The clipped round of `clip_select_scale_n8.json` and its first case (Clip: Distance at
    /// the last pair's last chunk), its base pre-state recomputed under this round's config.
    struct ClippedCase {
        uint256 id;
        bytes32 config;
        uint64 step;
        bytes32 pre;
        bytes32 post;
        ClipChecker.ClipLeaf leaf;
    }

    function _clippedDistance() internal returns (ClippedCase memory c) {
        _deploy(_acceptingVerifiers());
        string memory json =
            vm.readFile(string.concat(vm.projectRoot(), "/test/vectors/clip_select_scale_n8.json"));
        (c.id, c.config) = _openRound(json, ".round", 1);
        assertEq(vm.parseJsonUint(json, ".cases[0].kindId"), 7);
        assertEq(vm.parseJsonUint(json, ".cases[0].baseKindId"), 8);
        c.step = uint64(vm.parseJsonUint(json, ".cases[0].step"));
        c.pre = _state(json, ".cases[0].pre", c.config);
        c.post = _state(json, ".cases[0].post", c.config);
        c.leaf = abi.decode(vm.parseJsonBytes(json, ".cases[0].encoded"), (ClipChecker.ClipLeaf));
        c.leaf.basePre = _baseState(json, ".cases[0].pre", c.config);
    }

    /// A deep copy of `l`.
    function _copy(ClipChecker.ClipLeaf memory l) internal pure returns (ClipChecker.ClipLeaf memory) {
        return abi.decode(abi.encode(l), (ClipChecker.ClipLeaf));
    }

    /// A clipped Distance step opens both participants' scales, each at its own participant,
    /// and hands both to the Distance checker.
    function test_clipChecker_twoReads_eachScaleOpensAtItsParticipant() public {
        ClippedCase memory c = _clippedDistance();
        ClipChecker.ClipLeaf memory l = c.leaf;
        assertEq(l.scales.length, 2, "a Distance step reads two participants");
        assertEq(l.scalePaths.length, 2 * 3, "two paths of depth 3 (n = 8)");
        assertEq(arbiter.postState(c.id, c.step, c.pre, abi.encode(l)), c.post, "the VM's post-state");
        // The scales swapped: each opens at the other participant.
        ClipChecker.ClipLeaf memory bad = _copy(l);
        (bad.scales[0], bad.scales[1]) = (l.scales[1], l.scales[0]);
        vm.expectPartialRevert(CheckerBase.BadOpening.selector);
        arbiter.postState(c.id, c.step, c.pre, abi.encode(bad));
        // The paths swapped.
        bad = _copy(l);
        for (uint256 k; k < 3; ++k) {
            (bad.scalePaths[k], bad.scalePaths[3 + k]) = (l.scalePaths[3 + k], l.scalePaths[k]);
        }
        vm.expectPartialRevert(CheckerBase.BadOpening.selector);
        arbiter.postState(c.id, c.step, c.pre, abi.encode(bad));
        // One scale, or one path, for two reads.
        bad = _copy(l);
        bad.scales = new uint64[](1);
        bad.scales[0] = l.scales[0];
        vm.expectRevert(abi.encodeWithSelector(CheckerBase.BadLength.selector, "scales", 2, 1));
        arbiter.postState(c.id, c.step, c.pre, abi.encode(bad));
        bad = _copy(l);
        bad.scalePaths = new bytes32[](3);
        vm.expectRevert(abi.encodeWithSelector(CheckerBase.BadLength.selector, "scalePaths", 6, 3));
        arbiter.postState(c.id, c.step, c.pre, abi.encode(bad));
        // The second participant's scale above 2^32.
        bad = _copy(l);
        bad.scales[1] = uint64((1 << 32) + 1);
        vm.expectRevert(abi.encodeWithSelector(Commitments.ScaleOutOfRange.selector, (1 << 32) + 1));
        arbiter.postState(c.id, c.step, c.pre, abi.encode(bad));
    }

    /// The clipped Distance case, and the base step's context as the Clip checker hands it to
    /// the Distance checker, without its kind parameters (`cs.baseKindParams` and the scales).
    function _distanceStep()
        internal
        returns (ClippedCase memory c, ClipChecker.ClipStep memory cs, IStepChecker.StepContext memory s)
    {
        c = _clippedDistance();
        IRoundRegistry.ProgramContext memory pc = registry.stepContext(c.id);
        (,,, bytes memory kp) = arbiter.program(pc.rule).stepAt(pc.ruleParams, pc.n, pc.dim, c.step);
        cs = abi.decode(kp, (ClipChecker.ClipStep));
        (s.configHash, s.inputRoot, s.n, s.dim, s.totalWeight) =
        (pc.configHash, pc.inputRoot, pc.n, pc.dim, pc.totalWeight);
        s.step = cs.baseStep;
        (, s.row, s.col,) = arbiter.program(pc.rule - 3).stepAt(cs.baseParams, pc.n, pc.dim, cs.baseStep);
    }

    /// The Distance checker takes its own three words, or those and one scale per read: one
    /// scale alone is refused, and the clipped values are what the proof is over (a scale
    /// that changes the values changes the instances the verifier sees).
    function test_distanceChecker_scaleParameters() public {
        (ClippedCase memory c, ClipChecker.ClipStep memory cs, IStepChecker.StepContext memory s) =
            _distanceStep();
        IStepChecker distance = arbiter.checker(8);
        s.kindParams = abi.encodePacked(cs.baseKindParams, uint256(c.leaf.scales[0]));
        vm.expectRevert(abi.encodeWithSelector(CheckerBase.BadLength.selector, "kindParams", 160, 128));
        distance.postState(s, c.leaf.basePre, c.leaf.baseLeaf);
        // Both scales: the Clip checker's call, whose post-state is the base program's.
        s.kindParams =
            abi.encodePacked(cs.baseKindParams, uint256(c.leaf.scales[0]), uint256(c.leaf.scales[1]));
        bytes32 post = distance.postState(s, c.leaf.basePre, c.leaf.baseLeaf);
        assertEq(
            Commitments.clippedStateHash(post, c.leaf.scalesRoot), c.post, "wrapped, the VM's post-state"
        );
    }

    /// The Distance checker reads its leaf in place: every offset and length word of the
    /// canonical `abi.encode(DistanceLeaf)` is checked, at every nesting level, so a leaf
    /// laid out any other way (tails moved, overlapping, out of range, lengths past the leaf,
    /// padded or truncated) is refused as non-canonical before anything is read from it.
    function test_distanceChecker_inPlaceLeaf_refusesEveryOtherLayout() public {
        (ClippedCase memory c, ClipChecker.ClipStep memory cs, IStepChecker.StepContext memory s) =
            _distanceStep();
        s.kindParams = abi.encodePacked(cs.baseKindParams, uint256(c.leaf.scales[0]), uint256(c.leaf.scales[1]));
        IStepChecker distance = arbiter.checker(8);
        bytes memory leaf = c.leaf.baseLeaf;
        // The canonical leaf checks out (the pair's last chunk: two matrix writes).
        distance.postState(s, c.leaf.basePre, leaf);

        // Byte positions of the offset words: the tuple starts at 32.
        uint256 aRead = 32 + Words.wordAt(leaf, 32 + 128);
        uint256 writes = 32 + Words.wordAt(leaf, 32 + 224);
        assertEq(Words.wordAt(leaf, writes), 2, "two writes");
        uint256 write0 = writes + 32 + Words.wordAt(leaf, writes + 32);
        bytes[] memory bad = new bytes[](13);
        bad[0] = Words.withWord(leaf, 0, 64); // the struct's offset
        bad[1] = Words.withWord(leaf, 32, Words.wordAt(leaf, 32) + 32); // register's offset
        bad[2] = Words.withWord(leaf, 32 + 128, Words.wordAt(leaf, 32 + 128) + 32); // a's offset
        bad[3] = Words.withWord(leaf, 32 + 256, Words.wordAt(leaf, 32 + 256) - 32); // proof's offset
        bad[4] = Words.withWord(leaf, aRead + 64, Words.wordAt(leaf, aRead + 64) + 32); // a.inputPath
        bad[5] = Words.withWord(leaf, aRead + 128, 0); // a.valuesPath over a's head
        bad[6] = Words.withWord(leaf, writes + 64, Words.wordAt(leaf, writes + 64) + 32); // write 1
        bad[7] = Words.withWord(leaf, write0 + 32, Words.wordAt(leaf, write0 + 32) + 32); // write 0's path
        bad[8] = Words.withWord(leaf, writes, type(uint256).max); // the writes' count
        bad[9] = Words.withWord(leaf, aRead + 160, type(uint256).max >> 1); // a.inputPath's length
        bad[10] = Words.withWord(leaf, 32 + 224, leaf.length); // the writes past the end
        bad[11] = bytes.concat(leaf, bytes32(0)); // padded
        bad[12] = Words.prefix(leaf, leaf.length - 32); // truncated
        for (uint256 k; k < bad.length; ++k) {
            vm.expectPartialRevert(CheckerBase.NonCanonicalLeaf.selector);
            distance.postState(s, c.leaf.basePre, bad[k]);
        }
    }

    function _name(uint8 kind) internal pure returns (string memory) {
        string[10] memory names = [
            "Distance",
            "ScoreRank",
            "ScoreSum",
            "Pick",
            "SelectAccumulate",
            "SelectFinalize",
            "SelectRank",
            "CloseRank",
            "CloseSum",
            "CloseEmit"
        ];
        return names[kind - 8];
    }
}
