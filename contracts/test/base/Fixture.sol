// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "./Test.sol";
import {Ref} from "./Reference.sol";
import {Updates} from "./Updates.sol";
import {RoundRegistry} from "../../src/RoundRegistry.sol";
import {BisectionGame} from "../../src/BisectionGame.sol";
import {LeafArbiter} from "../../src/LeafArbiter.sol";
import {FedAvgProgram} from "../../src/programs/FedAvgProgram.sol";
import {AccumulateChecker} from "../../src/checkers/AccumulateChecker.sol";
import {FinalizeChecker} from "../../src/checkers/FinalizeChecker.sol";
import {MedianProgram} from "../../src/programs/MedianProgram.sol";
import {TrimmedMeanProgram} from "../../src/programs/TrimmedMeanProgram.sol";
import {RankChecker} from "../../src/checkers/RankChecker.sol";
import {TrimSumChecker} from "../../src/checkers/TrimSumChecker.sol";
import {TrimEmitChecker} from "../../src/checkers/TrimEmitChecker.sol";
import {NormChecker} from "../../src/checkers/NormChecker.sol";
import {ScaleChecker} from "../../src/checkers/ScaleChecker.sol";
import {ClipChecker} from "../../src/checkers/ClipChecker.sol";
import {ClippedProgram} from "../../src/programs/ClippedProgram.sol";
import {IRuleProgram} from "../../src/interfaces/IRuleProgram.sol";
import {MockStepVerifier} from "../mocks/MockStepVerifier.sol";
import {MockOrderVerifier} from "../mocks/MockOrderVerifier.sol";
import {MockNormVerifier} from "../mocks/MockNormVerifier.sol";

/// @title Fixture
/// @notice The deployed system (registry, game, arbiter with the programs [FedAvg, Median,
///         TrimmedMean, ClippedFedAvg, ClippedMedian, ClippedTrimmedMean] and the checkers
///         [Accumulate, Finalize, Rank, TrimSum, TrimEmit, Norm, Scale, Clip] over
///         statement-checking mock verifiers) and helpers to drive rounds, for the registry,
///         arbiter and integration tests. The mock verifiers take a 15-byte placeholder proof,
///         so the checkers are deployed with PROOF_BYTES = 15.
abstract contract Fixture is Test {
    uint256 internal constant AGG_BOND = 1 ether;
    uint256 internal constant CH_BOND = 0.25 ether;
    uint64 internal constant WINDOW = 1 days;
    uint64 internal constant CLOCK = 2 hours;
    uint64 internal constant EXTENSION = 10 minutes;
    uint64 internal constant COMMIT_PERIOD = 1 hours;
    uint256 internal constant GAS_CAP = 2_000_000;
    /// Bytes of the mock verifiers' placeholder proof (`MockStepVerifier.PROOF`).
    uint256 internal constant MOCK_PROOF_BYTES = 15;
    /// Client deposit and availability bond, per data segment.
    uint256 internal constant DEPOSIT = 0.01 ether;
    uint256 internal constant DA_BOND = 0.1 ether;
    uint64 internal constant AVAILABILITY_WINDOW = 2 hours;
    uint64 internal constant RESOLVE_WINDOW = 1 hours;
    uint64 internal constant POST_WINDOW = 1 days;
    uint16 internal constant BURN_BPS = 5_000;

    RoundRegistry internal registry;
    BisectionGame internal game;
    LeafArbiter internal arbiter;
    FedAvgProgram internal fedAvg;
    AccumulateChecker internal accChecker;
    FinalizeChecker internal finChecker;
    MockStepVerifier internal accVerifier;
    MockStepVerifier internal finVerifier;
    MedianProgram internal median;
    TrimmedMeanProgram internal trimmedMean;
    RankChecker internal rankChecker;
    TrimSumChecker internal trimSumChecker;
    TrimEmitChecker internal trimEmitChecker;
    MockOrderVerifier internal rankVerifier;
    MockOrderVerifier internal trimSumVerifier;
    MockOrderVerifier internal trimEmitVerifier;
    ClippedProgram internal clippedFedAvg;
    ClippedProgram internal clippedMedian;
    ClippedProgram internal clippedTrimmedMean;
    NormChecker internal normChecker;
    ScaleChecker internal scaleChecker;
    ClipChecker internal clipChecker;
    MockNormVerifier internal normVerifier;
    MockNormVerifier internal scaleVerifier;

    address internal aggregator = address(0xA66);
    address internal challenger = address(0xC0FFEE);
    address internal challenger2 = address(0xC0FFEE2);
    address internal outsider = address(0x0DD);
    /// Further accounts a test credits (summed by `_credits`); distinct from the ones above
    /// and from the clients.
    address[] internal extraActors;
    /// Deposits taken out of the registry through `_release` / `_settleAvailability`.
    mapping(uint256 roundId => mapping(uint256 client => bool)) internal depositOut;

    function setUp() public virtual {
        vm.warp(1_700_000_000);
        registry = new RoundRegistry(_params());
        accVerifier = new MockStepVerifier(false);
        finVerifier = new MockStepVerifier(true);
        rankVerifier = new MockOrderVerifier(2);
        trimSumVerifier = new MockOrderVerifier(3);
        trimEmitVerifier = new MockOrderVerifier(4);
        normVerifier = new MockNormVerifier(5);
        scaleVerifier = new MockNormVerifier(6);
        fedAvg = new FedAvgProgram();
        median = new MedianProgram();
        trimmedMean = new TrimmedMeanProgram();
        clippedFedAvg = new ClippedProgram(IRuleProgram(address(fedAvg)));
        clippedMedian = new ClippedProgram(IRuleProgram(address(median)));
        clippedTrimmedMean = new ClippedProgram(IRuleProgram(address(trimmedMean)));
        accChecker = new AccumulateChecker(address(accVerifier), GAS_CAP, MOCK_PROOF_BYTES);
        finChecker = new FinalizeChecker(address(finVerifier), GAS_CAP, MOCK_PROOF_BYTES);
        rankChecker = new RankChecker(address(rankVerifier), GAS_CAP, MOCK_PROOF_BYTES);
        trimSumChecker = new TrimSumChecker(address(trimSumVerifier), GAS_CAP, MOCK_PROOF_BYTES);
        trimEmitChecker = new TrimEmitChecker(address(trimEmitVerifier), GAS_CAP, MOCK_PROOF_BYTES);
        normChecker = new NormChecker(address(normVerifier), GAS_CAP, MOCK_PROOF_BYTES);
        scaleChecker = new ScaleChecker(address(scaleVerifier), GAS_CAP, MOCK_PROOF_BYTES);
        clipChecker = new ClipChecker(_baseCheckers());
        arbiter = new LeafArbiter(address(registry), _programs(), _checkers());
        game = new BisectionGame(address(registry), address(arbiter), CLOCK, EXTENSION);
        registry.setGame(address(game));
        vm.deal(aggregator, 100 ether);
        vm.deal(challenger, 100 ether);
        vm.deal(challenger2, 100 ether);
        vm.deal(outsider, 100 ether);
        vm.label(address(registry), "RoundRegistry");
        vm.label(address(game), "BisectionGame");
        vm.label(address(arbiter), "LeafArbiter");
        vm.label(aggregator, "aggregator");
        vm.label(challenger, "challenger");
    }

    function _list(address a) internal pure returns (address[] memory list) {
        list = new address[](1);
        list[0] = a;
    }

    function _list(address a, address b) internal pure returns (address[] memory list) {
        list = new address[](2);
        (list[0], list[1]) = (a, b);
    }

    /// The program table, index = rule id: [FedAvg, Median, TrimmedMean, ClippedFedAvg,
    /// ClippedMedian, ClippedTrimmedMean].
    function _programs() internal view returns (address[] memory list) {
        list = new address[](6);
        (list[0], list[1], list[2]) = (address(fedAvg), address(median), address(trimmedMean));
        (list[3], list[4], list[5]) =
        (address(clippedFedAvg), address(clippedMedian), address(clippedTrimmedMean));
    }

    /// The base kinds' checkers the Clip checker wraps: [Accumulate, Finalize, Rank, TrimSum,
    /// TrimEmit].
    function _baseCheckers() internal view returns (address[] memory list) {
        list = new address[](5);
        (list[0], list[1], list[2], list[3], list[4]) =
        (
            address(accChecker),
            address(finChecker),
            address(rankChecker),
            address(trimSumChecker),
            address(trimEmitChecker)
        );
    }

    /// The checker table, index = step kind id: [Accumulate, Finalize, Rank, TrimSum, TrimEmit,
    /// Norm, Scale, Clip].
    function _checkers() internal view returns (address[] memory list) {
        address[] memory base = _baseCheckers();
        list = new address[](8);
        for (uint256 k; k < 5; ++k) {
            list[k] = base[k];
        }
        (list[5], list[6], list[7]) = (address(normChecker), address(scaleChecker), address(clipChecker));
    }

    /// An arbiter of `registry_` with the fixture's programs whose FedAvg checkers call `acc`
    /// and `fin` and whose other checkers call the fixture's mocks (mock proof size, gas cap
    /// `cap` for all).
    function _arbiterWith(address registry_, address acc, address fin, uint256 cap)
        internal
        returns (LeafArbiter)
    {
        address[5] memory verifiers =
            [acc, fin, address(rankVerifier), address(trimSumVerifier), address(trimEmitVerifier)];
        return _arbiterWith(registry_, verifiers, cap);
    }

    /// An arbiter of `registry_` with the fixture's programs whose checker of base kind k calls
    /// `verifiers[k]` and whose Norm and Scale checkers call the fixture's mocks (mock proof
    /// size, gas cap `cap`).
    function _arbiterWith(address registry_, address[5] memory verifiers, uint256 cap)
        internal
        returns (LeafArbiter)
    {
        address[7] memory all = [
            verifiers[0],
            verifiers[1],
            verifiers[2],
            verifiers[3],
            verifiers[4],
            address(normVerifier),
            address(scaleVerifier)
        ];
        return _arbiterWith(registry_, all, cap);
    }

    /// An arbiter of `registry_` with the fixture's programs whose checker of kind k < 7 calls
    /// `verifiers[k]` (mock proof size, gas cap `cap`); kind 7 is a Clip checker over its base
    /// kinds 0 to 4.
    function _arbiterWith(address registry_, address[7] memory verifiers, uint256 cap)
        internal
        returns (LeafArbiter)
    {
        address[] memory checkers = new address[](8);
        checkers[0] = address(new AccumulateChecker(verifiers[0], cap, MOCK_PROOF_BYTES));
        checkers[1] = address(new FinalizeChecker(verifiers[1], cap, MOCK_PROOF_BYTES));
        checkers[2] = address(new RankChecker(verifiers[2], cap, MOCK_PROOF_BYTES));
        checkers[3] = address(new TrimSumChecker(verifiers[3], cap, MOCK_PROOF_BYTES));
        checkers[4] = address(new TrimEmitChecker(verifiers[4], cap, MOCK_PROOF_BYTES));
        checkers[5] = address(new NormChecker(verifiers[5], cap, MOCK_PROOF_BYTES));
        checkers[6] = address(new ScaleChecker(verifiers[6], cap, MOCK_PROOF_BYTES));
        address[] memory base = new address[](5);
        for (uint256 k; k < 5; ++k) {
            base[k] = checkers[k];
        }
        checkers[7] = address(new ClipChecker(base));
        return new LeafArbiter(registry_, _programs(), checkers);
    }

    /// `verifier` for each of the five base step kinds.
    function _five(address verifier) internal pure returns (address[5] memory) {
        return [verifier, verifier, verifier, verifier, verifier];
    }

    /// `verifier` for each of the seven step kinds with a verifier (all but Clip).
    function _seven(address verifier) internal pure returns (address[7] memory) {
        return [verifier, verifier, verifier, verifier, verifier, verifier, verifier];
    }

    function _params() internal pure returns (RoundRegistry.Params memory p) {
        p.aggregatorBond = AGG_BOND;
        p.challengerBond = CH_BOND;
        p.clientDeposit = DEPOSIT;
        p.availabilityBond = DA_BOND;
        p.challengeWindow = WINDOW;
        p.availabilityWindow = AVAILABILITY_WINDOW;
        p.resolveWindow = RESOLVE_WINDOW;
        p.postWindow = POST_WINDOW;
        p.burnBps = BURN_BPS;
    }

    function _client(uint256 k) internal pure returns (address) {
        return address(uint160(0x10_0000 + k));
    }

    function _clients(uint256 count) internal pure returns (address[] memory list) {
        list = new address[](count);
        for (uint256 k; k < count; ++k) {
            list[k] = _client(k);
        }
    }

    function _open(uint256 count, uint32 dim) internal returns (uint256 roundId) {
        roundId = registry.openRound(_clients(count), dim, aggregator, COMMIT_PERIOD, 0, "");
    }

    function _updateRoot(uint256 roundId, uint256 k) internal pure returns (bytes32) {
        return keccak256(abi.encode("update", roundId, k));
    }

    function _commit(uint256 roundId, uint256 k, uint32 weight) internal {
        _commitRoot(roundId, k, _updateRoot(roundId, k), weight);
    }

    /// Client k commits `root` with `weight`, paying the round's deposit.
    function _commitRoot(uint256 roundId, uint256 k, bytes32 root, uint32 weight) internal {
        uint256 deposit = registry.depositFor(registry.round(roundId).dim);
        vm.deal(_client(k), _client(k).balance + deposit);
        vm.prank(_client(k));
        registry.commitUpdate{value: deposit}(roundId, uint32(k), root, weight);
    }

    /// Moves the clock to the start of the round's post phase.
    function _toPostPhase(uint256 roundId) internal {
        uint64 opens = registry.round(roundId).postOpensAt;
        if (block.timestamp < opens) vm.warp(opens);
    }

    /// The aggregator posts `outputRoot` over the round's frozen inputs (after moving the
    /// clock to the post phase).
    function _post(uint256 roundId, bytes32 outputRoot) internal {
        _toPostPhase(roundId);
        (bytes32 config,,,) = registry.pendingConfig(roundId);
        vm.prank(aggregator);
        registry.postResult{value: AGG_BOND}(roundId, outputRoot, config);
    }

    /// Opens a round of `count` clients, all commit with weight k+1, the aggregator posts `outputRoot`.
    function _posted(uint256 count, uint32 dim, bytes32 outputRoot) internal returns (uint256 roundId) {
        roundId = _open(count, dim);
        for (uint256 k; k < count; ++k) {
            _commit(roundId, k, uint32(k + 1));
        }
        _post(roundId, outputRoot);
    }

    function _challenge(uint256 roundId, address who) internal returns (uint256 gameId) {
        vm.prank(who);
        gameId = registry.challenge{value: CH_BOND}(roundId);
    }

    function _status(uint256 roundId) internal view returns (RoundRegistry.RoundStatus) {
        return registry.round(roundId).status;
    }

    // ------------------------------------------------------------ availability

    /// `who` challenges the availability of client k's update, with the round's bond.
    function _challengeAvailability(uint256 roundId, uint256 k, address who) internal {
        uint256 bond = registry.availabilityBondFor(registry.round(roundId).dim);
        vm.deal(who, who.balance + bond);
        vm.prank(who);
        registry.challengeAvailability{value: bond}(roundId, uint32(k));
    }

    /// `who` reveals segment `segment` of client k's update `v` (leaf hashes `hashes`).
    function _reveal(
        uint256 roundId,
        uint256 k,
        int32[] memory v,
        bytes32[] memory hashes,
        uint256 segment,
        address who
    ) internal {
        (bytes memory data, bytes32[] memory path) = Updates.reveal(v, hashes, segment);
        vm.prank(who);
        registry.revealSegment(roundId, uint32(k), uint32(segment), data, path);
    }

    function _release(uint256 roundId, uint256 k) internal {
        registry.releaseDeposit(roundId, uint32(k));
        depositOut[roundId][k] = true;
    }

    function _settleAvailability(uint256 roundId, uint256 k) internal {
        registry.settleAvailability(roundId, uint32(k));
        depositOut[roundId][k] = true;
    }

    // ------------------------------------------------------------ ether accounting

    /// What each rejected round's pool paid its winners, as `_claim` saw it.
    mapping(uint256 roundId => uint256 paid) internal poolPaid;

    /// A winner's metered cost: its challenge plus its own moves in the game.
    function _cost(uint256 gameId) internal view returns (uint256) {
        return registry.gameRecord(gameId).cost + game.challengerCost(gameId);
    }

    /// The part of a slashed aggregator bond that pays winners' costs.
    function _pool() internal pure returns (uint256) {
        return AGG_BOND - (AGG_BOND * BURN_BPS) / 10_000;
    }

    /// Claims game `gameId` for its challenger (sent by the test contract, so the claim's own
    /// cost is not the challenger's); returns the part of its cost the pool paid.
    function _claimGame(uint256 gameId) internal returns (uint256 costPaid) {
        RoundRegistry.GameRecord memory rec = registry.gameRecord(gameId);
        uint256 before = registry.credit(rec.challenger);
        registry.claimGame(gameId);
        costPaid = registry.credit(rec.challenger) - before - CH_BOND;
        poolPaid[rec.roundId] += costPaid;
    }

    /// What the registry must still hold, derived from the rules (not read from the registry's
    /// own bookkeeping): committed deposits not taken out, the unspent part of open
    /// availability bonds, aggregator bonds of posted rounds and of rejected rounds not settled
    /// yet, the unpaid part of a settled rejected round's pool until its last winner is paid,
    /// and challenger bonds of open games, of lost games until their round settles and of won
    /// games until claimed.
    function _held() internal view returns (uint256 held) {
        uint256 rounds = registry.roundCount();
        for (uint256 id = 1; id <= rounds; ++id) {
            RoundRegistry.RoundView memory r = registry.round(id);
            uint256 deposit = registry.depositFor(r.dim);
            for (uint256 k; k < r.clientCount; ++k) {
                (bytes32 root,) = registry.commitment(id, uint32(k));
                if (root != bytes32(0) && !depositOut[id][k]) held += deposit;
                (RoundRegistry.Availability memory a,) = registry.availability(id, uint32(k));
                if (a.challenger != address(0) && !a.settled) held += a.bondLeft;
            }
            if (
                r.status == RoundRegistry.RoundStatus.Posted
                    || (r.status == RoundRegistry.RoundStatus.Rejected && !r.settled)
            ) held += AGG_BOND;
            if (r.status == RoundRegistry.RoundStatus.Rejected && r.settled && _unpaidWinners(id) != 0) {
                held += _pool() - poolPaid[id];
            }
        }
        uint256 games = game.gameCount();
        for (uint256 g = 1; g <= games; ++g) {
            RoundRegistry.GameRecord memory rec = registry.gameRecord(g);
            bool settled = registry.round(rec.roundId).settled;
            if (rec.outcome == RoundRegistry.GameOutcome.Open) held += CH_BOND;
            else if (rec.outcome == RoundRegistry.GameOutcome.AggregatorWon && !settled) held += CH_BOND;
            else if (rec.outcome == RoundRegistry.GameOutcome.ChallengerWon) held += CH_BOND;
        }
    }

    function _unpaidWinners(uint256 roundId) internal view returns (uint256 count) {
        uint256 games = game.gameCount();
        for (uint256 g = 1; g <= games; ++g) {
            RoundRegistry.GameRecord memory rec = registry.gameRecord(g);
            if (rec.roundId == roundId && rec.outcome == RoundRegistry.GameOutcome.ChallengerWon) ++count;
        }
    }

    /// Credit of every account the fixture knows: its named actors, `extraActors` and the
    /// clients of the largest round.
    function _credits() internal view returns (uint256 sum) {
        sum = registry.credit(aggregator) + registry.credit(challenger) + registry.credit(challenger2)
            + registry.credit(outsider);
        for (uint256 k; k < extraActors.length; ++k) {
            sum += registry.credit(extraActors[k]);
        }
        uint256 maxClients;
        uint256 rounds = registry.roundCount();
        for (uint256 id = 1; id <= rounds; ++id) {
            uint256 c = registry.round(id).clientCount;
            if (c > maxClients) maxClients = c;
        }
        for (uint256 k; k < maxClients; ++k) {
            sum += registry.credit(_client(k));
        }
    }

    /// The registry holds exactly what it credited, burnt and still holds by the rules.
    function _assertConserved() internal view {
        assertEq(address(registry).balance, _credits() + registry.burnt() + _held(), "ether conserved");
    }

    function _refRoot(bytes32[] memory leaves) internal pure returns (bytes32) {
        return Ref.root(leaves);
    }
}
