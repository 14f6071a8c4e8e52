// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "./base/Test.sol";
import {Ref} from "./base/Reference.sol";
import {OrderRef} from "./base/OrderReference.sol";
import {RoundRegistry} from "../src/RoundRegistry.sol";
import {BisectionGame} from "../src/BisectionGame.sol";
import {LeafArbiter} from "../src/LeafArbiter.sol";
import {FedAvgProgram} from "../src/programs/FedAvgProgram.sol";
import {MedianProgram} from "../src/programs/MedianProgram.sol";
import {TrimmedMeanProgram} from "../src/programs/TrimmedMeanProgram.sol";
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
import {Commitments} from "../src/lib/Commitments.sol";
import {AcceptingVerifier} from "./mocks/MockStepVerifier.sol";

/// Measures gas inside a transaction of its own: one `staticcall` as a checker makes it (the
/// target cold, the input copied to memory first), or a whole `postState`.
contract GasMeter {
    uint256 public last;

    function nop() external {}

    /// Gas of `target.staticcall(input)` (the cold account access included) and its success.
    function staticcallGas(address target, bytes calldata input) external returns (uint256 used, bool ok) {
        bytes memory data = input;
        uint256 before = gasleft();
        (ok,) = target.staticcall(data);
        used = before - gasleft();
        last = used;
    }

    /// Gas of `arbiter.postState(roundId, step, hPre, leaf)` from cold (arbiter, registry,
    /// program, checker and verifier accounts and slots).
    function postStateGas(address arbiter, uint256 roundId, uint64 step, bytes32 hPre, bytes calldata leaf)
        external
        returns (uint256 used)
    {
        bytes memory data = abi.encodeCall(LeafArbiter.postState, (roundId, step, hPre, leaf));
        uint256 before = gasleft();
        (bool ok,) = arbiter.staticcall(data);
        used = before - gasleft();
        require(ok, "postState reverted");
        last = used;
    }
}

/// Gas of a whole `proveLeaf` transaction at scale, for every step kind: Accumulate and
/// Finalize (FedAvg), Rank, TrimSum and TrimEmit (Median, and TrimmedMean with betaBps 1000),
/// at n = 8, 64, 255 participants and dim = 1,048,576 and 25,600,000 (ResNet-50); and under
/// the clipped rules (threshold 4.0) Norm, Scale and Clip around each base kind (ClippedFedAvg:
/// Accumulate, Finalize; ClippedMedian and ClippedTrimmedMean: Rank, TrimSum, TrimEmit) at
/// n = 8, 64, 255 and dim = 25,600,000.
///
/// Run: `tools/forge.sh test --match-contract LeafGasAtScale -vv` (every call of this contract
/// is its own transaction: `isolate` is set inline below, so `--isolate` is not needed).
///
/// How: the deployment is the real one (registry, game, arbiter, the six programs, the eight
/// checkers with the real proof size and the deployment's 500,000 verifier gas cap) except that
/// each checker's verifier is an accepting mock, because a real proof exists only for the small
/// rounds of `test/vectors/`. Each size gets a synthetic round: n clients commit; the disputed
/// participants' update roots are the value leaf of the disputed row folded up a synthetic
/// sibling path of depth ceil(log2(dim/32)), the others are arbitrary; the aggregator posts.
/// Games are opened and bisected with real moves down to a step of each kind (the aggregator
/// claims the leaf's pre-state at the step, its post-state or a wrong one at step + 1), the
/// leaf is proven by the sender's EOA and its transaction's gas G_mock is read with
/// `vm.lastCallGas` (an isolated transaction: 21,000, calldata with the EIP-7623 floor, cold
/// accounts and slots, original storage values, the challenger's metering). Each proof is the
/// first resolution of its round (state snapshot reverted between them) with other games still
/// open. The real verifier's cost does not depend on n or dim (fixed instances, precompile
/// prices independent of values): it is measured once per kind on the vector's instances and
/// proof, through the same `staticcall` as the accepting mock's, so
///     leaf gas = G_mock - mock staticcall + real verifier staticcall.
/// Three leaves per kind and size: (1) realistic content, the challenger proves and wins (the
/// aggregator lied); (2) the same leaf, the aggregator proves and wins (no metering); (3) the
/// densest provable content, the challenger proves and wins: every value, accumulator and
/// sibling byte nonzero, every order-statistic register word at the width its circuit
/// range-checks with no zero byte inside it (the calldata upper bound of a leaf a real proof
/// can back; the head words, lengths and weights keep their zero bytes). Realistic content
/// follows the VM: Q15.16 values in [-2, 2), registers of weighted sums (FedAvg) or offset
/// bounds, counts and sums (order statistics), sibling hashes, the real proof bytes of the kind.
/// `test_method_matchesRealProofTransactions` checks the method against real-proof
/// transactions of the vectors' rounds.
/// The clipped kinds: a Clip leaf wraps the base kind's leaf above (at the base step, the
/// participant's scale below 2^32 so that the values are clipped, its opening in a scales
/// tree of depth ceil(log2 n)) and adds the base kind's real verifier cost; Norm and Scale add
/// their own, measured on their vectors (`norm.json`, `scale.json`, of a ClippedMedian round).
/// A Norm leaf is participant i's value leaf `row` with the norm register (densest: lo in
/// [2^39, 2^40), hi in [2^50, 2^51), no zero byte), a Scale leaf participant i's with the
/// participants before it written in the scales tree. The method check covers Norm, Scale and
/// a Clip (`clip_rank.json`) too.
/// forge-config: default.isolate = true
contract LeafGasAtScaleTest is Test {
    /// The project's bound on a `proveLeaf` transaction; every kind, size and variant is held
    /// to it.
    uint256 internal constant LEAF_GAS_BOUND = 600_000;
    uint256 internal constant PROOF_BYTES = 1_376;
    /// The deployment's verifier gas cap (contracts/rust/deployment.rs).
    uint256 internal constant VERIFIER_GAS_CAP = 500_000;
    /// What the challenger's metering costs more at a nonzero base fee than in an isolated
    /// transaction (base fee 0): a 2,900-gas reset of its cost slot instead of a 100-gas
    /// rewrite, plus pricing it (`TxGas.warmStoreGas`, well under 100 gas).
    uint256 internal constant METERED_WRITE_GAS = 2_900;
    /// Largest gap allowed between a real-proof transaction and G_mock - mock + real.
    uint256 internal constant METHOD_TOLERANCE = 100;
    uint256 internal constant AGG_BOND = 1 ether;
    uint256 internal constant CH_BOND = 0.25 ether;
    uint16 internal constant BETA_BPS = 1_000;
    uint32 internal constant DIM_1M = 1_048_576;
    uint32 internal constant DIM_RESNET50 = 25_600_000;
    address internal constant AGGREGATOR = address(0xA66);
    /// The clipped rules' threshold (Q15.16): 4.0.
    uint32 internal constant THRESHOLD = 1 << 18;
    /// Measured kinds past the base ones: Norm, Scale, and Clip(b) = CLIP + b.
    uint8 internal constant NORM = 5;
    uint8 internal constant SCALE = 6;
    uint8 internal constant CLIP = 7;

    /// ds-test's plain log line (forge prints it with -vv).
    event log(string);

    RoundRegistry internal registry;
    LeafArbiter internal arbiter;
    BisectionGame internal game;
    GasMeter internal meter;
    /// The accepting verifier behind each kind's checker (kinds 0 to 6; Clip has none).
    address[7] internal accepting;

    /// A synthetic round and what its leaves need.
    struct Round {
        uint8 rule;
        uint256 n;
        uint32 dim;
        uint256 id;
        bytes32 config;
        /// The disputed row (chunk) j = 2^(depth-1) - 1: every output-path sibling nonzero.
        uint256 row;
        /// ceil(log2 C).
        uint256 depth;
        /// Disputed participants: [realistic, densest] (see `Case.variant`).
        uint256[2] who;
        /// Their value leaf `row`, encoded, and its opening in their update root.
        bytes[2] values;
        bytes32[][2] paths;
        /// The realistic participant's values (for a consistent acc').
        int32[32] x;
        bytes32[] roots;
        uint32[] weights;
        bytes32[] participantLeaves;
        /// The vectors' real proof bytes, by kind.
        bytes[7] proofs;
    }

    /// One leaf to prove in its own game.
    struct Case {
        uint8 kind;
        /// 0 realistic / challenger proves, 1 realistic / aggregator proves, 2 densest provable
        /// content / challenger proves.
        uint256 variant;
        uint64 step;
        bytes leaf;
        bytes32 pre;
        bytes32 claim;
        address challenger;
        address sender;
        uint256 gameId;
    }

    /// What one proof cost.
    struct Measure {
        uint256 txGas;
        uint256 calldataBytes;
        uint256 zeros;
        uint256 floor;
    }

    function setUp() public {
        vm.warp(1_700_000_000);
        meter = new GasMeter();
        meter.nop();
        // An isolated call is a transaction of its own: 21,000 intrinsic gas and more.
        assertGe(vm.lastCallGas().gasTotalUsed, 21_000, "needs isolated transactions (forge-config isolate)");

        for (uint256 kind; kind < 7; ++kind) {
            accepting[kind] = address(new AcceptingVerifier());
        }
        _deploy(accepting);
        vm.deal(AGGREGATOR, 100 ether);
    }

    /// Deploys the system (registry, game, arbiter, the six programs, the eight checkers with
    /// the real proof size and the deployment's gas cap) over `verifiers`, by kind (0 to 6; the
    /// Clip checker has none).
    function _deploy(address[7] memory verifiers) internal {
        RoundRegistry.Params memory p;
        (p.aggregatorBond, p.challengerBond, p.clientDeposit, p.availabilityBond) =
        (AGG_BOND, CH_BOND, 1 gwei, 0.1 ether);
        (p.challengeWindow, p.availabilityWindow, p.resolveWindow, p.postWindow) =
        (1 days, 1 hours, 1 hours, 1 days);
        p.burnBps = 5_000;
        registry = new RoundRegistry(p);
        address[] memory programs = new address[](6);
        programs[0] = address(new FedAvgProgram());
        programs[1] = address(new MedianProgram());
        programs[2] = address(new TrimmedMeanProgram());
        for (uint256 b; b < 3; ++b) {
            programs[3 + b] = address(new ClippedProgram(IRuleProgram(programs[b])));
        }
        address[] memory checkers = new address[](8);
        checkers[0] = address(new AccumulateChecker(verifiers[0], VERIFIER_GAS_CAP, PROOF_BYTES));
        checkers[1] = address(new FinalizeChecker(verifiers[1], VERIFIER_GAS_CAP, PROOF_BYTES));
        checkers[2] = address(new RankChecker(verifiers[2], VERIFIER_GAS_CAP, PROOF_BYTES));
        checkers[3] = address(new TrimSumChecker(verifiers[3], VERIFIER_GAS_CAP, PROOF_BYTES));
        checkers[4] = address(new TrimEmitChecker(verifiers[4], VERIFIER_GAS_CAP, PROOF_BYTES));
        checkers[5] = address(new NormChecker(verifiers[5], VERIFIER_GAS_CAP, PROOF_BYTES));
        checkers[6] = address(new ScaleChecker(verifiers[6], VERIFIER_GAS_CAP, PROOF_BYTES));
        address[] memory base = new address[](5);
        for (uint256 k; k < 5; ++k) {
            base[k] = checkers[k];
        }
        checkers[7] = address(new ClipChecker(base));
        arbiter = new LeafArbiter(address(registry), programs, checkers);
        game = new BisectionGame(address(registry), address(arbiter), 1 days, 1 hours);
        registry.setGame(address(game));
    }

    // ------------------------------------------------------------------ the measurements

    function test_leafGas_FedAvg_n8_dim1M() public {
        _measure(0, 8, DIM_1M);
    }

    function test_leafGas_FedAvg_n8_dim25M() public {
        _measure(0, 8, DIM_RESNET50);
    }

    function test_leafGas_FedAvg_n64_dim1M() public {
        _measure(0, 64, DIM_1M);
    }

    function test_leafGas_FedAvg_n64_dim25M() public {
        _measure(0, 64, DIM_RESNET50);
    }

    function test_leafGas_FedAvg_n255_dim1M() public {
        _measure(0, 255, DIM_1M);
    }

    function test_leafGas_FedAvg_n255_dim25M() public {
        _measure(0, 255, DIM_RESNET50);
    }

    function test_leafGas_Median_n8_dim1M() public {
        _measure(1, 8, DIM_1M);
    }

    function test_leafGas_Median_n8_dim25M() public {
        _measure(1, 8, DIM_RESNET50);
    }

    function test_leafGas_Median_n64_dim1M() public {
        _measure(1, 64, DIM_1M);
    }

    function test_leafGas_Median_n64_dim25M() public {
        _measure(1, 64, DIM_RESNET50);
    }

    function test_leafGas_Median_n255_dim1M() public {
        _measure(1, 255, DIM_1M);
    }

    function test_leafGas_Median_n255_dim25M() public {
        _measure(1, 255, DIM_RESNET50);
    }

    function test_leafGas_TrimmedMean_n8_dim1M() public {
        _measure(2, 8, DIM_1M);
    }

    function test_leafGas_TrimmedMean_n8_dim25M() public {
        _measure(2, 8, DIM_RESNET50);
    }

    function test_leafGas_TrimmedMean_n64_dim1M() public {
        _measure(2, 64, DIM_1M);
    }

    function test_leafGas_TrimmedMean_n64_dim25M() public {
        _measure(2, 64, DIM_RESNET50);
    }

    function test_leafGas_TrimmedMean_n255_dim1M() public {
        _measure(2, 255, DIM_1M);
    }

    function test_leafGas_TrimmedMean_n255_dim25M() public {
        _measure(2, 255, DIM_RESNET50);
    }

    function test_leafGas_ClippedFedAvg_n8_dim25M() public {
        _measure(3, 8, DIM_RESNET50);
    }

    function test_leafGas_ClippedFedAvg_n64_dim25M() public {
        _measure(3, 64, DIM_RESNET50);
    }

    function test_leafGas_ClippedFedAvg_n255_dim25M() public {
        _measure(3, 255, DIM_RESNET50);
    }

    function test_leafGas_ClippedMedian_n8_dim25M() public {
        _measure(4, 8, DIM_RESNET50);
    }

    function test_leafGas_ClippedMedian_n64_dim25M() public {
        _measure(4, 64, DIM_RESNET50);
    }

    function test_leafGas_ClippedMedian_n255_dim25M() public {
        _measure(4, 255, DIM_RESNET50);
    }

    function test_leafGas_ClippedTrimmedMean_n8_dim25M() public {
        _measure(5, 8, DIM_RESNET50);
    }

    function test_leafGas_ClippedTrimmedMean_n64_dim25M() public {
        _measure(5, 64, DIM_RESNET50);
    }

    function test_leafGas_ClippedTrimmedMean_n255_dim25M() public {
        _measure(5, 255, DIM_RESNET50);
    }

    /// The real verifiers' cost per kind, on the vectors' instances and proofs: the staticcall
    /// as a checker makes it (cold account access included; the figure the leaf formula adds),
    /// the accepting mock's on the same input (the figure it subtracts), and the verifier's own
    /// execution (its transaction minus 21,000 and the calldata).
    function test_realVerifierCosts() public {
        for (uint8 kind; kind < 7; ++kind) {
            (bytes memory input, address real) = _vectorVerifierInput(kind);
            (uint256 realGas, uint256 mockGas) = _verifierCosts(kind, input, real);
            (bool ok,) = real.call(input);
            assertTrue(ok, "real verifier accepts its vector");
            uint256 frame = vm.lastCallGas().gasTotalUsed - 21_000 - _calldataGas(input);
            string memory name = _kindName(kind);
            emit log_named_uint(string.concat(name, " verifier input bytes"), input.length);
            emit log_named_uint(string.concat(name, " real verifier staticcall (cold)"), realGas);
            emit log_named_uint(string.concat(name, " accepting mock staticcall (cold), same input"), mockGas);
            emit log_named_uint(string.concat(name, " real verifier execution (own frame)"), frame);
        }
    }

    /// The method against real proofs: each vector's leaf proven through the real verifier in
    /// a transaction of its own, and the same leaf in the same round through the accepting
    /// mock, plus (real - mock) staticcall gas. The two agree (to the gas when measured), so
    /// G_mock - mock + real is the transaction the real verifier makes.
    /// Kind CLIP + 2 stands for the Clip vector around a Rank step (`clip_rank.json`).
    function test_method_matchesRealProofTransactions() public {
        address[7] memory real;
        uint256[12] memory viaMock;
        uint256[7] memory delta;
        for (uint8 kind; kind < 7; ++kind) {
            bytes memory input;
            (input, real[kind]) = _vectorVerifierInput(kind);
            (uint256 realGas, uint256 mockGas) = _verifierCosts(kind, input, real[kind]);
            delta[kind] = realGas - mockGas;
        }
        uint8[8] memory kinds = [0, 1, 2, 3, 4, NORM, SCALE, CLIP + 2];
        for (uint256 t; t < 8; ++t) {
            uint8 kind = kinds[t];
            viaMock[kind] = _proveVector(kind) + delta[kind < CLIP ? kind : kind - CLIP];
        }
        _deploy(real);
        for (uint256 t; t < 8; ++t) {
            uint8 kind = kinds[t];
            uint256 direct = _proveVector(kind);
            string memory name = _kindName(kind);
            emit log_named_uint(string.concat(name, " vector proveLeaf tx, real verifier"), direct);
            emit log_named_uint(
                string.concat(name, " vector proveLeaf tx, G_mock - mock + real"), viaMock[kind]
            );
            uint256 diff = direct > viaMock[kind] ? direct - viaMock[kind] : viaMock[kind] - direct;
            assertLe(diff, METHOD_TOLERANCE, string.concat(name, ": the method matches the real transaction"));
        }
    }

    /// Opens the vector's round in the current deployment, plays a game to its step (the
    /// aggregator's claim at step + 1 wrong) and proves the vector's leaf from the challenger's
    /// EOA; returns the transaction's gas. A Clip vector's leaf is rebuilt with its base
    /// pre-state under this round's config hash.
    function _proveVector(uint8 kind) internal returns (uint256) {
        string memory json = _vectorJson(kind);
        (uint256 id, bytes32 config) = _openVectorRound(json);
        Case memory c;
        c.kind = kind;
        c.step = uint64(vm.parseJsonUint(json, ".step"));
        if (kind >= CLIP) {
            (c.leaf, c.pre) = _clipVectorLeaf(json, config);
        } else {
            c.leaf = vm.parseJsonBytes(json, ".encoded");
            bytes memory reg = vm.parseJsonBytes(json, kind < 2 ? ".leaf.acc" : ".leaf.register");
            c.pre = Commitments.stateHash(
                config,
                c.step,
                Commitments.registerHashMem(reg),
                vm.parseJsonBytes32(json, ".leaf.outputRoot")
            );
        }
        c.claim = keccak256("a wrong post-state");
        c.challenger = address(uint160(0xC4A2_0000 + kind));
        c.sender = c.challenger;
        c.gameId = _challenge(id, c.challenger);
        // A second game keeps the round's open-game count nonzero (no refund), as at scale.
        _challenge(id, address(uint160(0xC4A3_0000 + kind)));
        _play(c);
        vm.prank(c.challenger, c.challenger);
        game.proveLeaf(c.gameId, c.leaf);
        uint256 used = vm.lastCallGas().gasTotalUsed;
        assertTrue(game.game(c.gameId).status == BisectionGame.GameStatus.ChallengerWon, "challenger wins");
        return used;
    }

    /// A Clip vector's leaf with `basePre` from the vector's base pre-state components under
    /// `config`, and its pre-state keccak(0x05 ‖ basePre ‖ scalesRoot).
    function _clipVectorLeaf(string memory json, bytes32 config)
        internal
        pure
        returns (bytes memory leaf, bytes32 pre)
    {
        ClipChecker.ClipLeaf memory l;
        l.basePre = Commitments.stateHash(
            config,
            vm.parseJsonUint(json, ".pre.base.step"),
            vm.parseJsonBytes32(json, ".pre.base.registerHash"),
            vm.parseJsonBytes32(json, ".pre.base.outputRoot")
        );
        l.scalesRoot = vm.parseJsonBytes32(json, ".leaf.scalesRoot");
        l.scales = _u64s(vm.parseJsonUintArray(json, ".leaf.scales"));
        l.scalePaths = vm.parseJsonBytes32Array(json, ".leaf.scalePaths");
        l.baseLeaf = vm.parseJsonBytes(json, ".leaf.baseLeaf");
        leaf = abi.encode(l);
        pre = Commitments.clippedStateHash(l.basePre, l.scalesRoot);
    }

    /// Opens and posts the vector's round (its rule, parameters, dim, roots and weights).
    function _openVectorRound(string memory json) internal returns (uint256 id, bytes32 config) {
        bytes32[] memory roots = vm.parseJsonBytes32Array(json, ".updateRoots");
        uint256[] memory weights = vm.parseJsonUintArray(json, ".weights");
        address[] memory clients = new address[](roots.length);
        for (uint256 c; c < roots.length; ++c) {
            clients[c] = address(uint160(0x20_0000 + c));
        }
        uint8 rule = vm.keyExistsJson(json, ".rule") ? uint8(vm.parseJsonUint(json, ".rule")) : 0;
        bytes memory params =
            vm.keyExistsJson(json, ".params") ? vm.parseJsonBytes(json, ".params") : bytes("");
        uint32 dim = uint32(vm.parseJsonUint(json, ".dim"));
        id = registry.openRound(clients, dim, AGGREGATOR, 1 hours, rule, params);
        uint256 deposit = registry.depositFor(dim);
        for (uint256 c; c < roots.length; ++c) {
            vm.deal(clients[c], deposit);
            vm.prank(clients[c], clients[c]);
            registry.commitUpdate{value: deposit}(id, uint32(c), roots[c], uint32(weights[c]));
        }
        vm.warp(registry.round(id).postOpensAt);
        (config,,,) = registry.pendingConfig(id);
        vm.prank(AGGREGATOR, AGGREGATOR);
        registry.postResult{value: AGG_BOND}(id, keccak256("vector output root"), config);
    }

    // ------------------------------------------------------------------ measuring a round

    function _kinds(uint8 rule) internal pure returns (uint8[] memory kinds) {
        if (rule == 0) {
            kinds = new uint8[](2);
            (kinds[0], kinds[1]) = (0, 1);
        } else if (rule < 3) {
            kinds = new uint8[](3);
            (kinds[0], kinds[1], kinds[2]) = (2, 3, 4);
        } else if (rule == 3) {
            // Norm, Scale, Clip(Accumulate), Clip(Finalize).
            kinds = new uint8[](4);
            (kinds[0], kinds[1], kinds[2], kinds[3]) = (NORM, SCALE, CLIP + 0, CLIP + 1);
        } else {
            // Norm, Scale, Clip(Rank), Clip(TrimSum), Clip(TrimEmit).
            kinds = new uint8[](5);
            (kinds[0], kinds[1], kinds[2], kinds[3], kinds[4]) = (NORM, SCALE, CLIP + 2, CLIP + 3, CLIP + 4);
        }
    }

    /// Real verifier staticcall - accepting mock staticcall, for a measured kind, on its
    /// vector; a Clip step's is its base kind's (it calls the base kind's verifier).
    function _delta(uint8 kind) internal returns (uint256) {
        if (kind >= CLIP) return _delta(kind - CLIP);
        (bytes memory input, address real) = _vectorVerifierInput(kind);
        (uint256 realGas, uint256 mockGas) = _verifierCosts(kind, input, real);
        return realGas - mockGas;
    }

    function _measure(uint8 rule, uint256 n, uint32 dim) internal {
        uint8[] memory kinds = _kinds(rule);
        // real verifier staticcall - accepting mock staticcall, per kind.
        uint256[12] memory delta;
        for (uint256 t; t < kinds.length; ++t) {
            delta[kinds[t]] = _delta(kinds[t]);
        }
        Round memory r = _openRound(rule, n, dim);
        Case[] memory cases = new Case[](3 * kinds.length);
        uint256[] memory postStateGas = new uint256[](kinds.length);
        for (uint256 t; t < kinds.length; ++t) {
            for (uint256 v; v < 3; ++v) {
                Case memory c = _case(r, kinds[t], v);
                c.challenger = address(uint160(0xC4A1_0000 + 3 * t + v));
                c.sender = v == 1 ? AGGREGATOR : c.challenger;
                // The real checker (accepting verifier) takes the leaf: openings and pre-state hold.
                bytes32 post = arbiter.postState(r.id, c.step, c.pre, c.leaf);
                c.claim = v == 1 ? post : keccak256(abi.encode("a wrong post-state", t, v));
                if (v == 0) {
                    postStateGas[t] = meter.postStateGas(address(arbiter), r.id, c.step, c.pre, c.leaf);
                }
                c.gameId = _challenge(r.id, c.challenger);
                cases[3 * t + v] = c;
            }
        }
        for (uint256 c; c < cases.length; ++c) {
            _play(cases[c]);
        }
        uint256 snapshot = vm.snapshotState();
        Measure[] memory m = new Measure[](cases.length);
        for (uint256 c; c < cases.length; ++c) {
            m[c] = _prove(cases[c]);
            vm.revertToState(snapshot);
        }
        // Everything is reported before any bound is checked.
        uint256[] memory leafGas = new uint256[](cases.length);
        for (uint256 t; t < kinds.length; ++t) {
            _report(r, kinds[t], m[3 * t], m[3 * t + 1], m[3 * t + 2], delta[kinds[t]], postStateGas[t]);
            for (uint256 v; v < 3; ++v) {
                leafGas[3 * t + v] = m[3 * t + v].txGas + delta[kinds[t]];
            }
        }
        for (uint256 c; c < cases.length; ++c) {
            _assertBound(r, cases[c], leafGas[c]);
        }
    }

    /// Every kind, every variant, within `LEAF_GAS_BOUND`.
    function _assertBound(Round memory r, Case memory c, uint256 leafGas) internal pure {
        string memory what = string.concat(
            _kindName(c.kind), " (", _ruleName(r.rule), ") n=", vm.toString(r.n), " dim=", vm.toString(r.dim)
        );
        assertLe(
            leafGas,
            LEAF_GAS_BOUND,
            string.concat(what, ": leaf gas over the bound, ", _variantName(c.variant))
        );
    }

    function _variantName(uint256 variant) internal pure returns (string memory) {
        if (variant == 0) return "challenger proves";
        if (variant == 1) return "aggregator proves";
        return "densest provable leaf";
    }

    /// Proves the case's leaf from its sender's EOA; returns the transaction's gas.
    function _prove(Case memory c) internal returns (Measure memory m) {
        bytes memory cd = abi.encodeCall(BisectionGame.proveLeaf, (c.gameId, c.leaf));
        vm.prank(c.sender, c.sender);
        game.proveLeaf(c.gameId, c.leaf);
        m.txGas = vm.lastCallGas().gasTotalUsed;
        m.calldataBytes = cd.length;
        (m.zeros,) = _count(cd);
        m.floor = 21_000 + 10 * (m.zeros + 4 * (cd.length - m.zeros));
        // The floor does not bind (so the verifier's gas adds to G_mock as it stands).
        assertGt(m.txGas, m.floor, "EIP-7623 floor binds");
        // Isolated transactions run at base fee 0, where the challenger's metering writes its
        // cost slot unchanged (100 gas); at a real base fee it resets the nonzero slot (2,900)
        // after pricing that write: add the difference, rounded up.
        if (c.sender == c.challenger) m.txGas += METERED_WRITE_GAS;
        BisectionGame.GameView memory g = game.game(c.gameId);
        bool challengerWins = c.variant != 1;
        assertTrue(
            g.status
                == (challengerWins
                        ? BisectionGame.GameStatus.ChallengerWon
                        : BisectionGame.GameStatus.AggregatorWon),
            "leaf outcome"
        );
    }

    function _report(
        Round memory r,
        uint8 kind,
        Measure memory honest,
        Measure memory byAggregator,
        Measure memory dense,
        uint256 delta,
        uint256 postStateGas
    ) internal {
        string memory tag = string.concat(
            _kindName(kind), " (", _ruleName(r.rule), ") n=", vm.toString(r.n), " dim=", vm.toString(r.dim)
        );
        uint256 leafA = honest.txGas + delta;
        uint256 leafB = byAggregator.txGas + delta;
        uint256 leafC = dense.txGas + delta;
        uint256 cdGas = 4 * honest.zeros + 16 * (honest.calldataBytes - honest.zeros);
        emit log_named_uint(string.concat(tag, ": calldata bytes"), honest.calldataBytes);
        emit log_named_uint(string.concat(tag, ": calldata zero bytes"), honest.zeros);
        emit log_named_uint(string.concat(tag, ": calldata zero bytes, densest provable leaf"), dense.zeros);
        emit log_named_uint(string.concat(tag, ": calldata gas (4/16 per byte)"), cdGas);
        emit log_named_uint(
            string.concat(tag, ": G_mock, challenger's tx, accepting verifier (metering at base fee)"),
            honest.txGas
        );
        emit log_named_uint(
            string.concat(tag, ":   execution of it (G_mock - 21,000 - calldata)"),
            honest.txGas - 21_000 - cdGas
        );
        emit log_named_uint(string.concat(tag, ":   postState from cold, accepting verifier"), postStateGas);
        emit log_named_uint(
            string.concat(tag, ":   the rest (game, resolution, metering, leaf copy)"),
            honest.txGas - 21_000 - cdGas - postStateGas
        );
        emit log_named_uint(string.concat(tag, ": real verifier - mock (added)"), delta);
        emit log_named_uint(string.concat(tag, ": LEAF GAS, challenger proves and wins"), leafA);
        emit log_named_uint(string.concat(tag, ": LEAF GAS, aggregator proves and wins"), leafB);
        emit log_named_uint(string.concat(tag, ": LEAF GAS, densest provable leaf, challenger"), leafC);
        emit log(_row(r, kind, honest, leafA, leafB, leafC));
    }

    /// A Markdown table row: kind | rule | n | dim | calldata | leaf gas (challenger,
    /// aggregator, densest provable leaf).
    function _row(
        Round memory r,
        uint8 kind,
        Measure memory honest,
        uint256 leafA,
        uint256 leafB,
        uint256 leafC
    ) internal pure returns (string memory) {
        string memory head = string.concat(
            "| ",
            _kindName(kind),
            " | ",
            _ruleName(r.rule),
            " | ",
            vm.toString(r.n),
            " | ",
            _fmt(r.dim),
            " | "
        );
        string memory bytes_ =
            string.concat(_fmt(honest.calldataBytes), " (", _fmt(honest.zeros), " zero) | ");
        return string.concat(head, bytes_, _fmt(leafA), " | ", _fmt(leafB), " | ", _fmt(leafC), " |");
    }

    // ------------------------------------------------------------------ the synthetic round

    /// Opens a round of n clients under `rule` at `dim`, commits every update (the disputed
    /// participants' roots open their value leaf `row` through a synthetic path) and posts.
    function _openRound(uint8 rule, uint256 n, uint32 dim) internal returns (Round memory r) {
        (r.rule, r.n, r.dim) = (rule, n, dim);
        r.depth = Commitments.depthFor(Commitments.chunkCount(dim));
        r.row = (uint256(1) << (r.depth - 1)) - 1;
        r.who = [n / 2, n / 2 - 1];
        bytes32 seed = keccak256(abi.encode("round", rule, n, dim));
        r.x = _q16Values(keccak256(abi.encode(seed, "x")));
        r.values[0] = Ref.encodeValues(r.x);
        r.values[1] = _denseBytes(128, keccak256(abi.encode(seed, "dense values")));
        r.paths[0] = _randomPath(r.depth, keccak256(abi.encode(seed, "path 0")));
        r.paths[1] = _randomPath(r.depth, keccak256(abi.encode(seed, "path 1")));
        for (uint8 kind; kind < 7; ++kind) {
            r.proofs[kind] = vm.parseJsonBytes(_vectorJson(kind), ".leaf.proof");
        }
        r.roots = new bytes32[](n);
        r.weights = new uint32[](n);
        r.participantLeaves = new bytes32[](n);
        address[] memory clients = new address[](n);
        for (uint256 c; c < n; ++c) {
            clients[c] = address(uint160(0x10_0000 + c));
            r.weights[c] = rule % 3 == 0 ? uint32(1 + _rand(seed, c) % 1000) : 1;
            if (c == r.who[0] || c == r.who[1]) {
                uint256 s = c == r.who[0] ? 0 : 1;
                bytes32 leafHash = Commitments.valueLeafHashMem(r.values[s]);
                r.roots[c] = Commitments.foldPathMem(leafHash, r.row, r.paths[s]);
            } else {
                r.roots[c] = keccak256(abi.encode(seed, "update root", c));
            }
            r.participantLeaves[c] = Ref.participantLeaf(r.roots[c], r.weights[c]);
        }
        bytes memory params = rule % 3 == 2 ? abi.encode(BETA_BPS) : bytes("");
        // A clipped rule: abi.encode(uint32 threshold) ‖ the base rule's params.
        if (rule >= 3) params = abi.encodePacked(abi.encode(uint256(THRESHOLD)), params);
        r.id = registry.openRound(clients, dim, AGGREGATOR, 1 hours, rule, params);
        uint256 deposit = registry.depositFor(dim);
        for (uint256 c; c < n; ++c) {
            vm.deal(clients[c], deposit);
            vm.prank(clients[c], clients[c]);
            registry.commitUpdate{value: deposit}(r.id, uint32(c), r.roots[c], r.weights[c]);
        }
        vm.warp(registry.round(r.id).postOpensAt);
        (bytes32 config,,,) = registry.pendingConfig(r.id);
        vm.prank(AGGREGATOR, AGGREGATOR);
        registry.postResult{value: AGG_BOND}(r.id, keccak256(abi.encode(seed, "output root")), config);
        r.config = registry.round(r.id).configHash;
        assertEq(r.config, config);
    }

    function _challenge(uint256 roundId, address who) internal returns (uint256 gameId) {
        vm.deal(who, 10 ether);
        vm.prank(who, who);
        gameId = registry.challenge{value: CH_BOND}(roundId);
    }

    /// Bisects the case's game down to [step, step + 1]: the aggregator claims the case's
    /// pre-state at step, its claim at step + 1 and filler elsewhere; the challenger agrees up
    /// to the step.
    function _play(Case memory c) internal {
        BisectionGame.GameView memory g = game.game(c.gameId);
        while (g.status == BisectionGame.GameStatus.AwaitingMid) {
            uint64 mid = g.lo + (g.hi - g.lo) / 2;
            bytes32 h = mid == c.step
                ? c.pre
                : mid == c.step + 1 ? c.claim : keccak256(abi.encode("filler", c.gameId, mid));
            vm.prank(AGGREGATOR, AGGREGATOR);
            game.bisect(c.gameId, g.lo, g.hi, g.hHi, h);
            vm.prank(c.challenger, c.challenger);
            game.respond(c.gameId, mid, h, mid <= c.step);
            g = game.game(c.gameId);
        }
        assertTrue(g.status == BisectionGame.GameStatus.AwaitingLeaf, "awaiting the leaf");
        assertEq(uint256(g.lo), uint256(c.step), "disputed step");
        assertEq(g.hLo, c.pre, "agreed pre-state");
        assertEq(g.hHi, c.claim, "claimed post-state");
    }

    // ------------------------------------------------------------------ the leaves

    function _case(Round memory r, uint8 kind, uint256 variant) internal pure returns (Case memory c) {
        (c.kind, c.variant) = (kind, variant);
        bool dense = variant == 2;
        bytes32 seed = keccak256(abi.encode(r.id, kind, dense));
        if (kind == NORM) (c.step, c.leaf, c.pre) = _normLeaf(r, dense, seed);
        else if (kind == SCALE) (c.step, c.leaf, c.pre) = _scaleLeaf(r, dense, seed);
        else if (kind >= CLIP) (c.step, c.leaf, c.pre) = _clipLeaf(r, kind - CLIP, dense, seed);
        else (c.step, c.leaf, c.pre) = _baseLeaf(r, kind, dense, seed);
    }

    /// A base kind's leaf: its base-local step, its encoding and its (unwrapped) pre-state.
    function _baseLeaf(Round memory r, uint8 kind, bool dense, bytes32 seed)
        internal
        pure
        returns (uint64 step, bytes memory leaf, bytes32 pre)
    {
        if (kind == 0) return _accumulateLeaf(r, dense, seed);
        if (kind == 1) return _finalizeLeaf(r, dense, seed);
        if (kind == 2) return _rankLeaf(r, dense, seed);
        if (kind == 3) return _trimSumLeaf(r, dense, seed);
        return _trimEmitLeaf(r, dense, seed);
    }

    /// P = n·(C + 1), the clipped programs' prologue.
    function _prologue(Round memory r) internal pure returns (uint256) {
        return r.n * (Commitments.chunkCount(r.dim) + 1);
    }

    /// The Norm step of participant who[dense] over its value leaf `row`: step i·(C+1) + row.
    function _normLeaf(Round memory r, bool dense, bytes32 seed)
        internal
        pure
        returns (uint64 step, bytes memory leaf, bytes32 pre)
    {
        uint256 s = dense ? 1 : 0;
        uint256 i = r.who[s];
        NormChecker.NormLeaf memory l;
        if (dense) {
            l.register = _densestNormRegister(keccak256(abi.encode(seed, "register")));
            l.registerOut = _densestNormRegister(keccak256(abi.encode(seed, "registerOut")));
        } else {
            // Σ x² over the `row` leaves before: Q15.16 values in [-2, 2), squares below 2^36.
            uint256 before = r.row * 32 * (_rand(seed, 1) % (1 << 34));
            uint256 squares;
            for (uint256 lane; lane < 32; ++lane) {
                squares += uint256(int256(r.x[lane]) * int256(r.x[lane]));
            }
            (l.register, l.registerOut) = (_normRegister(before), _normRegister(before + squares));
        }
        l.scalesRoot = keccak256(abi.encode(seed, "scales root"));
        l.updateRoot = r.roots[i];
        l.weight = r.weights[i];
        l.inputPath = Ref.proof(r.participantLeaves, i);
        l.values = r.values[s];
        l.valuesPath = r.paths[s];
        l.proof = r.proofs[NORM];
        step = uint64(i * (Commitments.chunkCount(r.dim) + 1) + r.row);
        pre = Commitments.stateHash(r.config, step, Commitments.registerHashMem(l.register), l.scalesRoot);
        leaf = abi.encode(l);
    }

    /// The Scale step of participant who[dense]: step i·(C+1) + C, the participants before it
    /// written in the scales tree.
    function _scaleLeaf(Round memory r, bool dense, bytes32 seed)
        internal
        pure
        returns (uint64 step, bytes memory leaf, bytes32 pre)
    {
        uint256 i = r.who[dense ? 1 : 0];
        uint256 chunks = Commitments.chunkCount(r.dim);
        ScaleChecker.ScaleLeaf memory l;
        if (dense) {
            l.register = _densestNormRegister(keccak256(abi.encode(seed, "register")));
            l.values = abi.encodePacked(uint64(type(uint32).max));
        } else {
            l.register = _normRegister(chunks * 32 * (_rand(seed, 1) % (1 << 34)));
            l.values = abi.encodePacked(uint64((1 << 31) + _rand(seed, 2) % (1 << 31)));
        }
        l.scalesPath = _outputPath(i, Commitments.depthFor(r.n), seed);
        l.scalesRoot = Commitments.foldPathMem(bytes32(0), i, l.scalesPath);
        l.proof = r.proofs[SCALE];
        step = uint64(i * (chunks + 1) + chunks);
        pre = Commitments.stateHash(r.config, step, Commitments.registerHashMem(l.register), l.scalesRoot);
        leaf = abi.encode(l);
    }

    /// The Clip step around base kind `baseKind`'s leaf (its step b is the base-local one of
    /// `_baseLeaf`): step P + b, pre-state keccak(0x05 ‖ h^base_b ‖ scalesRoot); a reading
    /// base kind carries the participant's scale (below 2^32: the values are clipped) and its
    /// opening.
    function _clipLeaf(Round memory r, uint8 baseKind, bool dense, bytes32 seed)
        internal
        pure
        returns (uint64 step, bytes memory leaf, bytes32 pre)
    {
        ClipChecker.ClipLeaf memory l;
        uint64 baseStep;
        (baseStep, l.baseLeaf, l.basePre) = _baseLeaf(r, baseKind, dense, seed);
        if (baseKind == 0 || baseKind == 2 || baseKind == 3) {
            uint256 i = r.who[dense ? 1 : 0];
            l.scales = new uint64[](1);
            l.scales[0] = dense ? uint64(type(uint32).max) : uint64((1 << 31) + _rand(seed, 3) % (1 << 31));
            l.scalePaths = _randomPath(Commitments.depthFor(r.n), keccak256(abi.encode(seed, "scale path")));
            l.scalesRoot = Commitments.foldPathMem(Commitments.scaleLeafHash(l.scales[0]), i, l.scalePaths);
        } else {
            l.scalesRoot = keccak256(abi.encode(seed, "scales root"));
        }
        step = uint64(_prologue(r) + baseStep);
        pre = Commitments.clippedStateHash(l.basePre, l.scalesRoot);
        leaf = abi.encode(l);
    }

    /// be64(N mod 2^40) ‖ be64(N / 2^40).
    function _normRegister(uint256 normSquared) internal pure returns (bytes memory) {
        return abi.encodePacked(uint64(normSquared % (1 << 40)), uint64(normSquared >> 40));
    }

    /// The provable norm register with the fewest zero bytes: lo in [2^39, 2^40) (five
    /// nonzero bytes), hi in [2^50, 2^51) (seven; the carry of the largest model is below
    /// 2^51), no zero byte inside either.
    function _densestNormRegister(bytes32 seed) internal pure returns (bytes memory b) {
        b = _denseBytes(16, seed);
        (b[0], b[1], b[2]) = (0, 0, 0);
        b[3] = b[3] | bytes1(0x80);
        b[8] = 0;
        b[9] = (b[9] & bytes1(0x03)) | bytes1(0x04);
    }

    /// Accumulate of participant who[dense] at row j: step j·(n+1) + i.
    function _accumulateLeaf(Round memory r, bool dense, bytes32 seed)
        internal
        pure
        returns (uint64 step, bytes memory leaf, bytes32 pre)
    {
        uint256 s = dense ? 1 : 0;
        uint256 i = r.who[s];
        AccumulateChecker.AccumulateLeaf memory l;
        if (dense) {
            l.acc = _denseBytes(256, keccak256(abi.encode(seed, "acc")));
            l.accOut = _denseBytes(256, keccak256(abi.encode(seed, "accOut")));
        } else {
            // Σ w·x over the i participants before: weights up to 1000, Q15.16 values.
            int64[32] memory acc = _weightedSums(seed, 500 * i + 1);
            l.acc = Ref.encodeAcc(acc);
            for (uint256 lane; lane < 32; ++lane) {
                acc[lane] += int64(uint64(r.weights[i])) * int64(r.x[lane]);
            }
            l.accOut = Ref.encodeAcc(acc);
        }
        l.outputRoot = keccak256(abi.encode(seed, "output root"));
        l.updateRoot = r.roots[i];
        l.weight = r.weights[i];
        l.inputPath = Ref.proof(r.participantLeaves, i);
        l.values = r.values[s];
        l.valuesPath = r.paths[s];
        l.proof = r.proofs[0];
        step = uint64(r.row * (r.n + 1) + i);
        pre = Commitments.stateHash(r.config, step, Commitments.accHashMem(l.acc), l.outputRoot);
        leaf = abi.encode(l);
    }

    /// Finalize of row j: step j·(n+1) + n.
    function _finalizeLeaf(Round memory r, bool dense, bytes32 seed)
        internal
        pure
        returns (uint64 step, bytes memory leaf, bytes32 pre)
    {
        FinalizeChecker.FinalizeLeaf memory l;
        if (dense) {
            l.acc = _denseBytes(256, keccak256(abi.encode(seed, "acc")));
            l.values = _denseBytes(128, keccak256(abi.encode(seed, "out")));
        } else {
            l.acc = Ref.encodeAcc(_weightedSums(seed, 500 * r.n + 1));
            l.values = Ref.encodeValues(_q16Values(keccak256(abi.encode(seed, "out"))));
        }
        l.outputPath = _outputPath(r.row, r.depth, seed);
        l.outputRoot = Commitments.foldPathMem(bytes32(0), r.row, l.outputPath);
        l.proof = r.proofs[1];
        step = uint64(r.row * (r.n + 1) + r.n);
        pre = Commitments.stateHash(r.config, step, Commitments.accHashMem(l.acc), l.outputRoot);
        leaf = abi.encode(l);
    }

    /// The last rank pass (31) over participant who[dense] at row j: step j·(33n+1) + 31n + i.
    function _rankLeaf(Round memory r, bool dense, bytes32 seed)
        internal
        pure
        returns (uint64 step, bytes memory leaf, bytes32 pre)
    {
        uint256 s = dense ? 1 : 0;
        uint256 i = r.who[s];
        RankChecker.RankLeaf memory l;
        (l.register, l.registerOut) = _clientRegisters(seed, i, false, dense);
        l.outputRoot = keccak256(abi.encode(seed, "output root"));
        l.updateRoot = r.roots[i];
        l.weight = r.weights[i];
        l.inputPath = Ref.proof(r.participantLeaves, i);
        l.values = r.values[s];
        l.valuesPath = r.paths[s];
        l.proof = r.proofs[2];
        step = uint64(r.row * (33 * r.n + 1) + 31 * r.n + i);
        pre = Commitments.stateHash(r.config, step, Commitments.registerHashMem(l.register), l.outputRoot);
        leaf = abi.encode(l);
    }

    /// The sum pass over participant who[dense] at row j: step j·(33n+1) + 32n + i.
    function _trimSumLeaf(Round memory r, bool dense, bytes32 seed)
        internal
        pure
        returns (uint64 step, bytes memory leaf, bytes32 pre)
    {
        uint256 s = dense ? 1 : 0;
        uint256 i = r.who[s];
        TrimSumChecker.TrimSumLeaf memory l;
        (l.register, l.registerOut) = _clientRegisters(seed, i, true, dense);
        l.outputRoot = keccak256(abi.encode(seed, "output root"));
        l.updateRoot = r.roots[i];
        l.weight = r.weights[i];
        l.inputPath = Ref.proof(r.participantLeaves, i);
        l.values = r.values[s];
        l.valuesPath = r.paths[s];
        l.proof = r.proofs[3];
        step = uint64(r.row * (33 * r.n + 1) + 32 * r.n + i);
        pre = Commitments.stateHash(r.config, step, Commitments.registerHashMem(l.register), l.outputRoot);
        leaf = abi.encode(l);
    }

    /// The emit of row j: step j·(33n+1) + 33n.
    function _trimEmitLeaf(Round memory r, bool dense, bytes32 seed)
        internal
        pure
        returns (uint64 step, bytes memory leaf, bytes32 pre)
    {
        TrimEmitChecker.TrimEmitLeaf memory l;
        if (dense) {
            l.register = _densestRegister(keccak256(abi.encode(seed, "register")));
            l.values = _denseBytes(128, keccak256(abi.encode(seed, "out")));
        } else {
            l.register = OrderRef.encode(_orderRegister(seed, r.n, true));
            l.values = Ref.encodeValues(_q16Values(keccak256(abi.encode(seed, "out"))));
        }
        l.outputPath = _outputPath(r.row, r.depth, seed);
        l.outputRoot = Commitments.foldPathMem(bytes32(0), r.row, l.outputPath);
        l.proof = r.proofs[4];
        step = uint64(r.row * (33 * r.n + 1) + 33 * r.n);
        pre = Commitments.stateHash(r.config, step, Commitments.registerHashMem(l.register), l.outputRoot);
        leaf = abi.encode(l);
    }

    /// A Rank or TrimSum step's registers after `i` participants (sum field filled for the
    /// sum pass), and after one more; or two densest provable registers.
    function _clientRegisters(bytes32 seed, uint256 i, bool withSum, bool dense)
        internal
        pure
        returns (bytes memory register, bytes memory registerOut)
    {
        if (dense) {
            return (
                _densestRegister(keccak256(abi.encode(seed, "register"))),
                _densestRegister(keccak256(abi.encode(seed, "registerOut")))
            );
        }
        int64[160] memory reg = _orderRegister(seed, i, withSum);
        register = OrderRef.encode(reg);
        for (uint256 lane; lane < 32; ++lane) {
            uint256 rnd = _rand(seed, 1000 + lane);
            if (rnd & 1 == 1) reg[OrderRef.C1 + lane] += 1;
            if (rnd & 2 == 2) reg[OrderRef.C2 + lane] += 1;
            if (withSum && rnd & 4 == 4) reg[OrderRef.SUM + lane] += int64(_q16(rnd >> 8));
        }
        registerOut = OrderRef.encode(reg);
    }

    // ------------------------------------------------------------------ content

    function _rand(bytes32 seed, uint256 k) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode(seed, k)));
    }

    /// A Q15.16 value in [-2, 2).
    function _q16(uint256 rnd) internal pure returns (int32) {
        return int32(int256(rnd % (1 << 18)) - (1 << 17));
    }

    function _q16Values(bytes32 seed) internal pure returns (int32[32] memory x) {
        for (uint256 lane; lane < 32; ++lane) {
            x[lane] = _q16(_rand(seed, lane));
        }
    }

    /// Register lanes like Σ w·x over participants: a Q15.16 value times up to `scale`.
    function _weightedSums(bytes32 seed, uint256 scale) internal pure returns (int64[32] memory a) {
        for (uint256 lane; lane < 32; ++lane) {
            uint256 rnd = _rand(seed, 100 + lane);
            a[lane] = int64(_q16(rnd)) * int64(uint64(1 + (rnd >> 64) % scale));
        }
    }

    /// An order-statistic register of a row after `counted` participants: lo <= hi offset
    /// bounds 2^31 + Q15.16 (bit 0 still open), counts up to `counted`, and (sum pass) the
    /// sum of up to `counted` values.
    function _orderRegister(bytes32 seed, uint256 counted, bool withSum)
        internal
        pure
        returns (int64[160] memory reg)
    {
        for (uint256 lane; lane < 32; ++lane) {
            uint256 rnd = _rand(seed, 200 + lane);
            int64 lo = int64(1 << 31) + int64(_q16(rnd));
            lo -= lo & 1;
            int64 hi = lo + 2 * int64(uint64((rnd >> 64) % (1 << 14)));
            uint256 c1 = (rnd >> 96) % (counted + 1);
            uint256 c2 = c1 + (rnd >> 128) % (counted + 1 - c1);
            reg[OrderRef.LO + lane] = lo;
            reg[OrderRef.HI + lane] = hi;
            reg[OrderRef.C1 + lane] = int64(uint64(c1));
            reg[OrderRef.C2 + lane] = int64(uint64(c2));
            if (withSum) reg[OrderRef.SUM + lane] = int64(_q16(rnd >> 160)) * int64(uint64(1 + c2 - c1));
        }
    }

    /// `len` bytes, none zero.
    function _denseBytes(uint256 len, bytes32 seed) internal pure returns (bytes memory b) {
        b = new bytes(len);
        for (uint256 o; o < len; ++o) {
            uint8 v = uint8(_rand(seed, o));
            b[o] = bytes1(v == 0 ? 0x5a : v);
        }
    }

    /// The provable register with the fewest zero bytes: every word at the width its circuit
    /// range-checks (circuits/src/order.rs) with no zero byte inside its 5-byte offset limb
    /// w + 2^39: lo, hi in [2^32, 2^33) (limb 81 xx xx xx xx), counts in [2^8, 2^9) (limb
    /// 80 00 00 01 xx: the two zero bytes every count limb has), sums any 40-bit limb (the
    /// circuit range-checks the limb itself) with no zero byte.
    function _densestRegister(bytes32 seed) internal pure returns (bytes memory b) {
        b = _denseBytes(5 * OrderRef.WORDS, seed);
        for (uint256 w; w < OrderRef.WORDS; ++w) {
            uint256 o = 5 * w;
            if (w < OrderRef.C1) {
                b[o] = 0x81;
            } else if (w < OrderRef.SUM) {
                (b[o], b[o + 1], b[o + 2], b[o + 3]) = (bytes1(0x80), 0, 0, bytes1(0x01));
            }
        }
    }

    /// `depth` sibling hashes (a value leaf's opening in an update tree).
    function _randomPath(uint256 depth, bytes32 seed) internal pure returns (bytes32[] memory path) {
        path = new bytes32[](depth);
        for (uint256 l; l < depth; ++l) {
            path[l] = keccak256(abi.encode(seed, l));
        }
    }

    /// Output leaf `row`'s opening while rows < row are written: a written subtree's hash on
    /// the left, the empty subtree's root on the right.
    function _outputPath(uint256 row, uint256 depth, bytes32 seed)
        internal
        pure
        returns (bytes32[] memory path)
    {
        path = new bytes32[](depth);
        bytes32 empty;
        for (uint256 l; l < depth; ++l) {
            path[l] = (row >> l) & 1 == 1 ? keccak256(abi.encode(seed, "written", l)) : empty;
            empty = Commitments.nodeHash(empty, empty);
        }
    }

    // ------------------------------------------------------------------ the real verifiers

    function _vectorName(uint8 kind) internal pure returns (string memory) {
        if (kind >= CLIP) return "clip_rank";
        if (kind == NORM) return "norm";
        if (kind == SCALE) return "scale";
        if (kind == 0) return "accumulate";
        if (kind == 1) return "finalize";
        if (kind == 2) return "rank";
        if (kind == 3) return "trim_sum";
        return "trim_emit";
    }

    function _kindName(uint8 kind) internal pure returns (string memory) {
        if (kind >= CLIP) return string.concat("Clip(", _kindName(kind - CLIP), ")");
        if (kind == NORM) return "Norm";
        if (kind == SCALE) return "Scale";
        if (kind == 0) return "Accumulate";
        if (kind == 1) return "Finalize";
        if (kind == 2) return "Rank";
        if (kind == 3) return "TrimSum";
        return "TrimEmit";
    }

    function _ruleName(uint8 rule) internal pure returns (string memory) {
        if (rule >= 3) return string.concat("Clipped", _ruleName(rule - 3));
        if (rule == 0) return "FedAvg";
        if (rule == 1) return "Median";
        return "TrimmedMean";
    }

    function _vectorJson(uint8 kind) internal view returns (string memory) {
        return vm.readFile(string.concat(vm.projectRoot(), "/test/vectors/", _vectorName(kind), ".json"));
    }

    /// Deploys the kind's generated verifier; returns it with the exact input its checker sends
    /// for the kind's vector (StepChecker._verify: the instances as 32-byte words, then the
    /// proof), the instances packed by the checkers' own `Commitments` functions.
    function _vectorVerifierInput(uint8 kind) internal returns (bytes memory input, address real) {
        string memory json = _vectorJson(kind);
        string memory kindName = _kindName(kind);
        real = vm.deployCode(string.concat(kindName, "Verifier.sol:", kindName, "Verifier"));
        uint256[] memory inst;
        if (kind == 0) {
            inst = new uint256[](28);
            inst[0] = vm.parseJsonUint(json, ".leaf.weight");
            Commitments.packValuesMem(vm.parseJsonBytes(json, ".leaf.values"), inst, 1);
            Commitments.packAccMem(vm.parseJsonBytes(json, ".leaf.acc"), inst, 6);
            Commitments.packAccMem(vm.parseJsonBytes(json, ".leaf.accOut"), inst, 17);
        } else if (kind == 1) {
            inst = new uint256[](17);
            uint256[] memory weights = vm.parseJsonUintArray(json, ".weights");
            for (uint256 c; c < weights.length; ++c) {
                inst[0] += weights[c];
            }
            Commitments.packAccMem(vm.parseJsonBytes(json, ".leaf.acc"), inst, 1);
            Commitments.packValuesMem(vm.parseJsonBytes(json, ".leaf.values"), inst, 12);
        } else if (kind == NORM) {
            // [x (5), lo, hi, lo', hi']: the register words as plain integers.
            inst = new uint256[](9);
            Commitments.packValuesMem(vm.parseJsonBytes(json, ".leaf.values"), inst, 0);
            (inst[5], inst[6]) = _normWords(vm.parseJsonBytes(json, ".leaf.register"));
            (inst[7], inst[8]) = _normWords(vm.parseJsonBytes(json, ".leaf.registerOut"));
        } else if (kind == SCALE) {
            // [lo, hi, τ, s].
            inst = new uint256[](4);
            (inst[0], inst[1]) = _normWords(vm.parseJsonBytes(json, ".leaf.register"));
            inst[2] = uint256(bytes32(vm.parseJsonBytes(json, ".params")));
            inst[3] = uint64(bytes8(vm.parseJsonBytes(json, ".leaf.values")));
        } else {
            inst = _orderInstances(kind, json);
        }
        input = abi.encodePacked(inst, vm.parseJsonBytes(json, ".leaf.proof"));
    }

    function _orderInstances(uint8 kind, string memory json) internal view returns (uint256[] memory inst) {
        uint256 n = vm.parseJsonBytes32Array(json, ".updateRoots").length;
        uint8 rule = uint8(vm.parseJsonUint(json, ".rule"));
        (uint8 k, uint256 col, uint256 trim) = _orderPosition(json, rule, n);
        assertEq(uint256(k), uint256(kind), "vector kind");
        bytes memory values = vm.parseJsonBytes(json, ".leaf.values");
        bytes memory register = vm.parseJsonBytes(json, ".leaf.register");
        if (kind == 2) {
            inst = new uint256[](63);
            (inst[0], inst[1], inst[2], inst[3]) =
            (uint256(1) << (31 - col / n), col % n == n - 1 ? 1 : 0, trim, n - 1 - trim);
            Commitments.packValuesMem(values, inst, 4);
            Commitments.packStatMem(register, inst, 9);
            Commitments.packStatMem(vm.parseJsonBytes(json, ".leaf.registerOut"), inst, 36);
        } else if (kind == 3) {
            inst = new uint256[](59);
            Commitments.packValuesMem(values, inst, 0);
            Commitments.packStatMem(register, inst, 5);
            Commitments.packStatMem(vm.parseJsonBytes(json, ".leaf.registerOut"), inst, 32);
        } else {
            inst = new uint256[](34);
            (inst[0], inst[1]) = (n, trim);
            Commitments.packStatMem(register, inst, 2);
            Commitments.packValuesMem(values, inst, 29);
        }
    }

    /// The two words of a norm register (16 bytes, big-endian).
    function _normWords(bytes memory register) internal pure returns (uint256 lo, uint256 hi) {
        uint256 word = uint256(bytes32(register));
        (lo, hi) = (word >> 192, (word >> 128) & type(uint64).max);
    }

    /// The vector's step kind, column and trim, from its rule's program.
    function _orderPosition(string memory json, uint8 rule, uint256 n)
        internal
        view
        returns (uint8 kind, uint256 col, uint256 trim)
    {
        bytes memory kindParams;
        (kind,, col, kindParams) = arbiter.program(rule)
            .stepAt(
                vm.parseJsonBytes(json, ".params"),
                n,
                vm.parseJsonUint(json, ".dim"),
                uint64(vm.parseJsonUint(json, ".step"))
            );
        trim = abi.decode(kindParams, (uint256));
    }

    /// Both verifiers' staticcall gas on `input` (each from cold, in a transaction of its own);
    /// the real one must accept.
    function _verifierCosts(uint8 kind, bytes memory input, address real)
        internal
        returns (uint256 realGas, uint256 mockGas)
    {
        bool ok;
        (realGas, ok) = meter.staticcallGas(real, input);
        assertTrue(ok, string.concat(_kindName(kind), ": the real verifier accepts the vector's input"));
        (mockGas, ok) = meter.staticcallGas(accepting[kind], input);
        assertTrue(ok, "the accepting mock accepts");
    }

    // ------------------------------------------------------------------ bytes and numbers

    function _count(bytes memory data) internal pure returns (uint256 zeros, uint256 nonzeros) {
        for (uint256 o; o < data.length; ++o) {
            if (data[o] == 0) ++zeros;
            else ++nonzeros;
        }
    }

    function _calldataGas(bytes memory data) internal pure returns (uint256) {
        (uint256 z, uint256 nz) = _count(data);
        return 4 * z + 16 * nz;
    }

    /// `v` in decimal with thousands separators.
    function _fmt(uint256 v) internal pure returns (string memory s) {
        if (v < 1000) return vm.toString(v);
        s = vm.toString(v % 1000);
        while (bytes(s).length < 3) {
            s = string.concat("0", s);
        }
        return string.concat(_fmt(v / 1000), ",", s);
    }

    /// `xs` as `uint64`s (a JSON vector's scales, each at most 2^32).
    function _u64s(uint256[] memory xs) internal pure returns (uint64[] memory out) {
        out = new uint64[](xs.length);
        for (uint256 k; k < xs.length; ++k) {
            out[k] = uint64(xs[k]);
        }
    }
}
