// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "./base/Test.sol";
import {Vm} from "./base/Vm.sol";
import {Updates} from "./base/Updates.sol";
import {RoundRegistry} from "../src/RoundRegistry.sol";
import {BisectionGame} from "../src/BisectionGame.sol";
import {MockArbiter} from "./mocks/MockArbiter.sol";

/// Drives the registry and the game through random sequences of every action, with a cast of
/// honest and dishonest actors, and keeps its own (ghost) model of where every wei must be.
///
/// The truth: each round has a correct output root, and each step k of its program a correct
/// state commitment (`_trueState`). The mock arbiter answers a leaf with the true post-state
/// when the agreed pre-state is true, and refuses it (unprovable) otherwise, as the real
/// arbiter refuses a pre-state nobody can open.
///
/// Honest actors are live: before any time passes (`warp`, and the warps `post` and the final
/// settlement need) they make every move they owe (`honestMoves`).
///   - HONEST_AGG posts only correct roots and bisects with true states, proves its leaves.
///   - HONEST_CH challenges only wrong roots, agrees exactly with true claims, proves its leaf.
///   - HONEST_CLIENTS commit real updates; when one is challenged, REVEALER publishes it.
/// Dishonest actors do anything: LIAR_AGG posts wrong roots as often as right ones and bisects
/// at random; LIARS (SYBIL among them) challenge anything and respond at random; the other
/// clients withhold their data half the time; DA_CHALLENGERS challenge anyone.
contract ProtocolHandler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    address public constant HONEST_AGG = address(0xA1);
    address public constant LIAR_AGG = address(0xA2);
    address public constant SYBIL = address(0xA3);
    address public constant HONEST_CH = address(0xC1);
    address public constant REVEALER = address(0xD3);

    RoundRegistry public immutable registry;
    BisectionGame public immutable game;
    MockArbiter public immutable arbiter;
    uint256 public immutable aggBond;
    uint256 public immutable chBond;
    uint256 public immutable deposit;
    uint256 public immutable daBond;
    uint256 public immutable burnBps;

    address[] public liars;
    address[] public clientList;
    address[] public daChallengers;

    /// The handler's model of a round (status mirrors RoundRegistry.RoundStatus).
    struct RoundGhost {
        address aggregator;
        uint32 dim;
        uint32 clientCount;
        bytes32 trueRoot;
        RoundRegistry.RoundStatus status;
        bool settled;
        uint32 openGames;
        uint32 unpaidWinners;
        uint256 poolLeft;
    }

    /// The handler's model of one client of a round.
    struct ClientGhost {
        bool committed;
        bool real;
        uint256 seed;
        bool depositOut;
        address daChallenger;
        uint256 bondLeft;
        bool daSettled;
    }

    /// The handler's model of a game (outcome mirrors RoundRegistry.GameOutcome).
    struct GameGhost {
        uint256 roundId;
        address challenger;
        RoundRegistry.GameOutcome outcome;
    }

    mapping(uint256 roundId => RoundGhost) public rounds;
    mapping(uint256 roundId => mapping(uint256 client => ClientGhost)) public clientGhost;
    mapping(uint256 gameId => GameGhost) public games;
    /// Credit each account should have now: what the rules credited it minus what it withdrew.
    mapping(address account => uint256 amount) public expectedCredit;
    /// What the rules burnt.
    uint256 public ghostBurnt;
    /// Reveal refunds above the bond left.
    uint256 public refundsAboveBond;
    /// Reveal refunds above the gas the reveal used, at the base fee (in a transaction of its
    /// own), or above that plus BATCH_SLACK (after other writes in the same transaction).
    uint256 public refundsAboveGas;
    /// The registry prices the storage writes that follow a refund's measurement as writes of
    /// slots untouched so far in the transaction (2,900 for a nonzero slot). A slot already
    /// written earlier in the same transaction costs 100: a reveal batched after others (or
    /// after its challenge) is over-refunded by up to 2,800 gas for each of its three writes
    /// (the bond left, the revealer's and the challenger's credit). See the report.
    uint256 internal constant BATCH_SLACK = 3 * 2_800;
    /// The last reveal refunded above its bound: [refunded gas, gas used, batched, base fee].
    uint256[4] public lastExcess;
    /// Self-sent claims paid outside [their metered cost without the claim, the pool].
    uint256 public claimsOutOfRange;

    /// How many times each action succeeded (for the summary).
    mapping(bytes32 action => uint256 count) public calls;

    constructor(RoundRegistry registry_, BisectionGame game_, MockArbiter arbiter_) {
        registry = registry_;
        game = game_;
        arbiter = arbiter_;
        aggBond = registry_.aggregatorBond();
        chBond = registry_.challengerBond();
        deposit = registry_.clientDeposit();
        daBond = registry_.availabilityBond();
        burnBps = registry_.burnBps();
        liars = [address(0xC2), address(0xC3), SYBIL];
        clientList = [address(0x101), address(0x102), address(0x103), address(0x104)];
        daChallengers = [address(0xD1), address(0xD2)];
    }

    // ------------------------------------------------------------ cast

    function actors() external view returns (address[] memory all) {
        all = new address[](13);
        (all[0], all[1], all[2], all[3], all[4]) = (HONEST_AGG, LIAR_AGG, SYBIL, HONEST_CH, REVEALER);
        (all[5], all[6]) = (liars[0], liars[1]);
        (all[7], all[8]) = (daChallengers[0], daChallengers[1]);
        for (uint256 k; k < 4; ++k) {
            all[9 + k] = clientList[k];
        }
    }

    /// The actors that only ever act honestly.
    function honestActors() external view returns (address[] memory all) {
        all = new address[](4);
        (all[0], all[1], all[2], all[3]) = (HONEST_AGG, HONEST_CH, clientList[0], clientList[1]);
    }

    function _honestClient(uint256 k) internal pure returns (bool) {
        return k < 2;
    }

    function _pick(address[] storage list, uint256 seed) internal view returns (address) {
        return list[seed % list.length];
    }

    function _round(uint256 seed) internal view returns (uint256) {
        uint256 count = registry.roundCount();
        return count == 0 ? 0 : 1 + seed % count;
    }

    /// What a round must be ready for.
    enum Need {
        Posted,
        AvailabilityOpen,
        Postable,
        Expirable,
        AvailabilityOver
    }

    /// The first round ready for `need`, searching cyclically from a seeded start (0 if none),
    /// so that most actions find a target they can act on.
    function _roundFor(uint256 seed, Need need) internal view returns (uint256) {
        uint256 count = registry.roundCount();
        for (uint256 i; i < count; ++i) {
            uint256 id = 1 + (seed % count + i) % count;
            RoundRegistry.RoundStatus st = rounds[id].status;
            if (need == Need.Posted) {
                if (st == RoundRegistry.RoundStatus.Posted) return id;
                continue;
            }
            RoundRegistry.RoundView memory v = registry.round(id);
            if (need == Need.AvailabilityOver) {
                if (block.timestamp >= v.postOpensAt) return id;
                continue;
            }
            if (st != RoundRegistry.RoundStatus.Committing) continue;
            if (need == Need.AvailabilityOpen && block.timestamp < v.availabilityDeadline) return id;
            if (need == Need.Postable && block.timestamp < v.postDeadline) return id;
            if (need == Need.Expirable && block.timestamp >= v.postDeadline) return id;
        }
        return 0;
    }

    /// What a client must be ready for.
    enum ClientNeed {
        Challenge,
        Reveal,
        Settle,
        Release
    }

    /// The first client of round `id` ready for `need`, cyclically from `seed` (the seeded one
    /// if none is).
    function _clientFor(uint256 id, uint256 seed, ClientNeed need) internal view returns (uint256) {
        uint256 count = rounds[id].clientCount;
        for (uint256 i; i < count; ++i) {
            uint256 k = (seed % count + i) % count;
            ClientGhost storage c = clientGhost[id][k];
            bool open = c.daChallenger != address(0) && !c.daSettled;
            if (need == ClientNeed.Challenge && c.committed && c.daChallenger == address(0)) return k;
            if (need == ClientNeed.Reveal && open && c.real) return k;
            if (need == ClientNeed.Settle && open) return k;
            if (need == ClientNeed.Release && c.committed && !c.depositOut) return k;
        }
        return seed % count;
    }

    /// The first game with `outcome`, searching cyclically from a seeded start (0 if none).
    function _gameWith(uint256 seed, RoundRegistry.GameOutcome outcome) internal view returns (uint256) {
        uint256 count = game.gameCount();
        for (uint256 i; i < count; ++i) {
            uint256 id = 1 + (seed % count + i) % count;
            if (games[id].outcome == outcome) return id;
        }
        return 0;
    }

    function _segments(uint256 dim) internal pure returns (uint256) {
        return Updates.segmentCount(dim);
    }

    // ------------------------------------------------------------ the truth

    function _trueState(uint256 id, uint256 k) internal view returns (bytes32) {
        if (k == 0) return registry.initialState(id);
        uint64 t = registry.steps(id);
        if (k == t) {
            // The rule's program derives h_T from the true output root.
            RoundRegistry.RoundView memory r = registry.round(id);
            return arbiter.program(r.rule)
                .finalState(r.configHash, registry.ruleParams(id), r.participants, r.dim, rounds[id].trueRoot);
        }
        return keccak256(abi.encode("true state", id, k));
    }

    /// Points the mock arbiter at the truth for the game's disputed step.
    function _armArbiter(uint256 gameId) internal {
        BisectionGame.GameView memory g = game.game(gameId);
        bool provable = g.hLo == _trueState(g.roundId, g.lo);
        arbiter.setRejects(!provable);
        if (provable) arbiter.setAnswer(_trueState(g.roundId, g.lo + 1));
    }

    // ------------------------------------------------------------ ghost bookkeeping

    /// Records a resolved game: no ether moves, a challenger win rejects a posted round.
    function _afterResolution(uint256 gameId) internal {
        GameGhost storage gg = games[gameId];
        RoundGhost storage r = rounds[gg.roundId];
        BisectionGame.GameStatus s = game.game(gameId).status;
        --r.openGames;
        if (s == BisectionGame.GameStatus.AggregatorWon) {
            gg.outcome = RoundRegistry.GameOutcome.AggregatorWon;
        } else {
            gg.outcome = RoundRegistry.GameOutcome.ChallengerWon;
            ++r.unpaidWinners;
            if (r.status == RoundRegistry.RoundStatus.Posted) r.status = RoundRegistry.RoundStatus.Rejected;
        }
    }

    /// The first claim of a rejected round whose games have all ended splits the slashed bond:
    /// `burnBps` of it and every lost game's bond are burnt, the rest is the winners' pool.
    function _settleRejected(RoundGhost storage r, uint256 roundId) internal {
        uint256 burn = (aggBond * burnBps) / 10_000;
        r.poolLeft = aggBond - burn;
        r.settled = true;
        ghostBurnt += burn + chBond * _lostGames(roundId);
    }

    function _lostGames(uint256 roundId) internal view returns (uint256 lost) {
        uint256 count = game.gameCount();
        for (uint256 g = 1; g <= count; ++g) {
            if (games[g].roundId == roundId && games[g].outcome == RoundRegistry.GameOutcome.AggregatorWon) {
                ++lost;
            }
        }
    }

    /// Everything the registry must hold by the model: deposits not taken out, the unspent
    /// part of open availability bonds, aggregator bonds at stake, challenger bonds of open
    /// games, of lost games until their round settles and of won games until claimed, and the
    /// unpaid part of rejected rounds' pools.
    function ghostHeld() external view returns (uint256 held) {
        uint256 roundCount = registry.roundCount();
        for (uint256 id = 1; id <= roundCount; ++id) {
            RoundGhost storage r = rounds[id];
            uint256 dep = deposit * _segments(r.dim);
            for (uint256 k; k < r.clientCount; ++k) {
                ClientGhost storage c = clientGhost[id][k];
                if (c.committed && !c.depositOut) held += dep;
                if (c.daChallenger != address(0) && !c.daSettled) held += c.bondLeft;
            }
            if (
                r.status == RoundRegistry.RoundStatus.Posted
                    || (r.status == RoundRegistry.RoundStatus.Rejected && !r.settled)
            ) held += aggBond;
            if (r.status == RoundRegistry.RoundStatus.Rejected && r.settled) held += r.poolLeft;
        }
        uint256 gameCount = game.gameCount();
        for (uint256 g = 1; g <= gameCount; ++g) {
            GameGhost storage gg = games[g];
            if (
                gg.outcome == RoundRegistry.GameOutcome.Open
                    || gg.outcome == RoundRegistry.GameOutcome.ChallengerWon
                    || (gg.outcome == RoundRegistry.GameOutcome.AggregatorWon && !rounds[gg.roundId].settled)
            ) held += chBond;
        }
    }

    /// What an honest actor is owed besides its balance and credit: bonds and deposits at
    /// stake in positions the rules must return to it.
    function honestStake(address who) external view returns (uint256 stake) {
        uint256 roundCount = registry.roundCount();
        for (uint256 id = 1; id <= roundCount; ++id) {
            RoundGhost storage r = rounds[id];
            if (who == HONEST_AGG && r.aggregator == who && r.status == RoundRegistry.RoundStatus.Posted) {
                stake += aggBond;
            }
            for (uint256 k; k < r.clientCount; ++k) {
                if (clientList[k] == who && clientGhost[id][k].committed && !clientGhost[id][k].depositOut) {
                    stake += deposit * _segments(r.dim);
                }
            }
        }
        uint256 gameCount = game.gameCount();
        for (uint256 g = 1; g <= gameCount; ++g) {
            GameGhost storage gg = games[g];
            if (
                gg.challenger == who
                    && (gg.outcome == RoundRegistry.GameOutcome.Open
                        || gg.outcome == RoundRegistry.GameOutcome.ChallengerWon)
            ) stake += chBond;
        }
    }

    // ------------------------------------------------------------ honest liveness

    /// Every move an honest actor owes right now: honest games advanced (to their end where
    /// the honest side can end them), honest clients' challenged updates revealed.
    function honestMoves() public {
        uint256 gameCount = game.gameCount();
        for (uint256 g = 1; g <= gameCount; ++g) {
            for (uint256 step; step < 80; ++step) {
                if (!_honestMove(g)) break;
            }
        }
        uint256 roundCount = registry.roundCount();
        for (uint256 id = 1; id <= roundCount; ++id) {
            for (uint256 k; k < rounds[id].clientCount; ++k) {
                ClientGhost storage c = clientGhost[id][k];
                if (_honestClient(k) && c.daChallenger != address(0) && !c.daSettled) _reveal(id, k, true);
            }
        }
        ++calls["honestMoves"];
    }

    function _honestMove(uint256 gameId) internal returns (bool moved) {
        BisectionGame.GameView memory g = game.game(gameId);
        if (uint8(g.status) >= uint8(BisectionGame.GameStatus.AggregatorWon)) return false;
        if (g.aggregator == HONEST_AGG) {
            if (g.status == BisectionGame.GameStatus.AwaitingMid) {
                bytes32 hMid = _trueState(g.roundId, g.lo + (g.hi - g.lo) / 2);
                vm.prank(HONEST_AGG); // after the views: a prank is consumed by the next call
                game.bisect(gameId, g.lo, g.hi, g.hHi, hMid);
                return true;
            }
            if (g.status == BisectionGame.GameStatus.AwaitingLeaf) return _prove(gameId, HONEST_AGG);
        }
        if (g.challenger == HONEST_CH) {
            if (g.status == BisectionGame.GameStatus.AwaitingResponse) {
                uint64 mid = g.lo + (g.hi - g.lo) / 2;
                bool agree = g.pendingMid == _trueState(g.roundId, mid);
                vm.prank(HONEST_CH);
                game.respond(gameId, mid, g.pendingMid, agree);
                return true;
            }
            if (g.status == BisectionGame.GameStatus.AwaitingLeaf) return _prove(gameId, HONEST_CH);
        }
    }

    function _prove(uint256 gameId, address prover) internal returns (bool) {
        _armArbiter(gameId);
        vm.prank(prover);
        try game.proveLeaf(gameId, "") {
            _afterResolution(gameId);
            ++calls["proveLeaf"];
            return true;
        } catch {
            return false;
        }
    }

    /// Lets time pass, honest actors having moved first.
    function _warpTo(uint256 t) internal {
        if (t <= block.timestamp) return;
        honestMoves();
        vm.warp(t);
    }

    // ------------------------------------------------------------ actions: rounds and clients

    /// Opens a round of 1..4 clients; the clients in `commits` (bit k) commit at once, the
    /// others may commit later (`commit`).
    function openRound(uint256 seed, uint16 dim, bool honestAggregator, uint8 commits) external {
        uint256 count = 1 + seed % clientList.length;
        address[] memory list = new address[](count);
        for (uint256 k; k < count; ++k) {
            list[k] = clientList[k];
        }
        uint32 d = uint32(1 + dim % 600);
        address agg = honestAggregator ? HONEST_AGG : LIAR_AGG;
        uint256 id = _openRound(list, d, agg, seed);
        RoundGhost storage r = rounds[id];
        (r.aggregator, r.dim, r.clientCount) = (agg, d, uint32(count));
        r.trueRoot = keccak256(abi.encode("true output", id));
        r.status = RoundRegistry.RoundStatus.Committing;
        ++calls["openRound"];
        for (uint256 k; k < count; ++k) {
            if ((commits >> k) & 1 == 1) {
                _commit(id, k, uint32(seed >> (8 * k)), (seed >> (64 + k)) & 1 == 1);
            }
        }
    }

    /// Opens a round under any of the three rules (TrimmedMean with any valid betaBps): the
    /// game and the registry never name a rule.
    function _openRound(address[] memory list, uint32 d, address agg, uint256 seed)
        internal
        returns (uint256)
    {
        uint8 rule = uint8((seed >> 160) % 3);
        bytes memory params = rule == 2 ? abi.encode(uint16((seed >> 168) % 5000)) : bytes("");
        return registry.openRound(list, d, agg, 1 hours, rule, params);
    }

    /// A fresh round taken straight to its challenge phase: opened with every client
    /// committing, posted once the post phase opens (honest actors moving first), and
    /// challenged by HONEST_CH if the result is wrong and by a liar when `liar`.
    function roundToGames(uint256 seed, uint16 dim, bool honestAggregator, bool lie, bool liar) external {
        this.openRound(seed, dim, honestAggregator, 0xff);
        uint256 id = registry.roundCount();
        this.post(id - 1, lie);
        if (rounds[id].status != RoundRegistry.RoundStatus.Posted) return;
        this.challenge(id - 1, 0, true);
        if (liar) this.challenge(id - 1, seed >> 128, false);
        ++calls["roundToGames"];
    }

    function commit(uint256 seed, uint256 client, uint32 weight, bool withhold) external {
        uint256 id = _round(seed);
        if (id == 0) return;
        _commit(id, client % rounds[id].clientCount, weight, withhold);
    }

    /// Client k commits: an honest client its real update, another one its real update or,
    /// when `withhold`, a root of data nobody has.
    function _commit(uint256 id, uint256 k, uint32 weight, bool withhold) internal {
        RoundGhost storage r = rounds[id];
        bool real = _honestClient(k) || !withhold;
        uint256 dataSeed = uint256(keccak256(abi.encode(id, k, weight)));
        bytes32 root = real
            ? Updates.root(Updates.values(dataSeed, r.dim))
            : keccak256(abi.encode("withheld", dataSeed));
        uint256 dep = deposit * _segments(r.dim);
        vm.prank(clientList[k]);
        try registry.commitUpdate{value: dep}(id, uint32(k), root, uint32(1 + weight % 1000)) {
            ClientGhost storage c = clientGhost[id][k];
            (c.committed, c.real, c.seed) = (true, real, dataSeed);
            ++calls["commit"];
        } catch {}
    }

    function challengeAvailability(uint256 seed, uint256 client, uint256 who) external {
        uint256 id = _roundFor(seed, Need.AvailabilityOpen);
        if (id == 0) return;
        RoundGhost storage r = rounds[id];
        uint256 k = _clientFor(id, client, ClientNeed.Challenge);
        address challenger = _pick(daChallengers, who);
        uint256 bond = daBond * _segments(r.dim);
        vm.prank(challenger);
        try registry.challengeAvailability{value: bond}(id, uint32(k)) {
            ClientGhost storage c = clientGhost[id][k];
            (c.daChallenger, c.bondLeft) = (challenger, bond);
            ++calls["challengeAvailability"];
        } catch {}
    }

    /// REVEALER publishes a client's (only) segment if the handler holds its data.
    function reveal(uint256 seed, uint256 client) external {
        uint256 id = _roundFor(seed, Need.AvailabilityOpen);
        if (id == 0) id = _roundFor(seed, Need.Postable);
        if (id == 0) return;
        _reveal(id, _clientFor(id, client, ClientNeed.Reveal), false);
    }

    function _reveal(uint256 id, uint256 k, bool batched) internal {
        ClientGhost storage c = clientGhost[id][k];
        if (!c.real || c.daChallenger == address(0) || c.daSettled) return;
        int32[] memory v = Updates.values(c.seed, rounds[id].dim);
        (bytes memory data, bytes32[] memory path) = Updates.reveal(v, Updates.leafHashes(v), 0);
        uint256 creditBefore = registry.credit(REVEALER);
        vm.prank(REVEALER);
        uint256 gasBefore = gasleft();
        try registry.revealSegment(id, uint32(k), 0, data, path) {
            uint256 used = gasBefore - gasleft();
            uint256 refund = registry.credit(REVEALER) - creditBefore;
            if (refund > c.bondLeft) ++refundsAboveBond;
            if (refund > (used + (batched ? BATCH_SLACK : 0)) * block.basefee) {
                ++refundsAboveGas;
                lastExcess = [refund / block.basefee, used, batched ? 1 : 0, block.basefee];
            }
            expectedCredit[REVEALER] += refund;
            uint256 left = c.bondLeft - refund;
            // A one-segment update: this reveal is its last; the rest returns to the challenger.
            c.bondLeft = 0;
            c.daSettled = true;
            expectedCredit[c.daChallenger] += left;
            ++calls["reveal"];
        } catch {}
    }

    function settleAvailability(uint256 seed, uint256 client) external {
        uint256 id = _roundFor(seed, Need.AvailabilityOver);
        if (id == 0) return;
        uint256 k = _clientFor(id, client, ClientNeed.Settle);
        try registry.settleAvailability(id, uint32(k)) {
            ClientGhost storage c = clientGhost[id][k];
            uint256 dep = deposit * _segments(rounds[id].dim);
            uint256 bond = daBond * _segments(rounds[id].dim);
            (RoundRegistry.Availability memory a,) = registry.availability(id, uint32(k));
            uint256 owed = a.challengeCost + (bond - c.bondLeft);
            uint256 comp = owed < dep ? owed : dep;
            ghostBurnt += dep - comp;
            expectedCredit[c.daChallenger] += c.bondLeft + comp;
            c.bondLeft = 0;
            c.daSettled = true;
            c.depositOut = true;
            ++calls["settleAvailability"];
        } catch {}
    }

    function releaseDeposit(uint256 seed, uint256 client) external {
        uint256 id = _roundFor(seed, Need.AvailabilityOver);
        if (id == 0) return;
        uint256 k = _clientFor(id, client, ClientNeed.Release);
        try registry.releaseDeposit(id, uint32(k)) {
            clientGhost[id][k].depositOut = true;
            expectedCredit[clientList[k]] += deposit * _segments(rounds[id].dim);
            ++calls["releaseDeposit"];
        } catch {}
    }

    /// The round's aggregator posts over the pending config: HONEST_AGG the correct root,
    /// LIAR_AGG a wrong one when `lie`. Waits (honest actors first) for the post phase.
    function post(uint256 seed, bool lie) external {
        uint256 id = _roundFor(seed, Need.Postable);
        if (id == 0) return;
        RoundGhost storage r = rounds[id];
        if (r.status != RoundRegistry.RoundStatus.Committing) return;
        RoundRegistry.RoundView memory v = registry.round(id);
        if (block.timestamp >= v.postDeadline) return;
        _warpTo(v.postOpensAt);
        (bytes32 config,,,) = registry.pendingConfig(id);
        bytes32 root = lie && r.aggregator == LIAR_AGG ? keccak256(abi.encode("lie", id)) : r.trueRoot;
        vm.prank(r.aggregator);
        try registry.postResult{value: aggBond}(id, root, config) {
            r.status = RoundRegistry.RoundStatus.Posted;
            ++calls["post"];
        } catch {}
    }

    function expireRound(uint256 seed) external {
        uint256 id = _roundFor(seed, Need.Expirable);
        if (id == 0) return;
        try registry.expireRound(id) {
            rounds[id].status = RoundRegistry.RoundStatus.Expired;
            ++calls["expire"];
        } catch {}
    }

    // ------------------------------------------------------------ actions: disputes

    /// HONEST_CH challenges only wrong results; a liar challenges anything.
    function challenge(uint256 seed, uint256 who, bool honest) external {
        uint256 id = _roundFor(seed, Need.Posted);
        if (id == 0) return;
        address challenger = honest ? HONEST_CH : _pick(liars, who);
        if (honest) {
            if (rounds[id].status != RoundRegistry.RoundStatus.Posted) return;
            if (registry.round(id).outputRoot == rounds[id].trueRoot) return;
        }
        vm.prank(challenger);
        try registry.challenge{value: chBond}(id) returns (uint256 gameId) {
            games[gameId] = GameGhost(id, challenger, RoundRegistry.GameOutcome.Open);
            ++rounds[id].openGames;
            ++calls["challenge"];
        } catch {}
    }

    /// LIAR_AGG bisects with a true or a made-up claim (HONEST_AGG only moves in honestMoves).
    function bisect(uint256 seed, bool truthful, bytes32 junk) external {
        uint256 id = _gameWith(seed, RoundRegistry.GameOutcome.Open);
        if (id == 0) return;
        BisectionGame.GameView memory g = game.game(id);
        if (g.aggregator != LIAR_AGG) return;
        uint64 mid = g.lo + (g.hi - g.lo) / 2;
        bytes32 hMid =
            truthful && g.status == BisectionGame.GameStatus.AwaitingMid ? _trueState(g.roundId, mid) : junk;
        vm.prank(LIAR_AGG);
        try game.bisect(id, g.lo, g.hi, g.hHi, hMid) {
            ++calls["bisect"];
        } catch {}
    }

    /// A liar responds at random (HONEST_CH only moves in honestMoves).
    function respond(uint256 seed, bool agree) external {
        uint256 id = _gameWith(seed, RoundRegistry.GameOutcome.Open);
        if (id == 0) return;
        BisectionGame.GameView memory g = game.game(id);
        if (g.challenger == HONEST_CH) return;
        vm.prank(g.challenger);
        try game.respond(id, g.lo + (g.hi - g.lo) / 2, g.pendingMid, agree) {
            ++calls["respond"];
        } catch {}
    }

    /// Plays up to `moves` moves of an open game, each side by its policy: the honest ones
    /// honestly, LIAR_AGG with true or made-up claims (bit r of `bits`), liars answering bit r.
    function play(uint256 seed, uint8 moves, uint256 bits) external {
        uint256 id = _gameWith(seed, RoundRegistry.GameOutcome.Open);
        if (id == 0) return;
        for (uint256 r; r < moves % 12; ++r) {
            if (!_honestMove(id) && !_dishonestMove(id, (bits >> r) & 1 == 1, r)) return;
        }
        ++calls["play"];
    }

    /// One move of the dishonest side to move, if any: LIAR_AGG bisects with the true claim
    /// (`bit`) or a made-up one, a liar answers `bit`. Returns whether it moved.
    function _dishonestMove(uint256 id, bool bit, uint256 salt) internal returns (bool) {
        BisectionGame.GameView memory g = game.game(id);
        uint64 mid = g.lo + (g.hi - g.lo) / 2;
        bytes memory move;
        address mover;
        if (g.status == BisectionGame.GameStatus.AwaitingMid) {
            bytes32 hMid = bit ? _trueState(g.roundId, mid) : keccak256(abi.encode("made up", id, salt));
            (move, mover) =
            (abi.encodeCall(BisectionGame.bisect, (id, g.lo, g.hi, g.hHi, hMid)), g.aggregator);
        } else if (g.status == BisectionGame.GameStatus.AwaitingResponse) {
            (move, mover) =
            (abi.encodeCall(BisectionGame.respond, (id, mid, g.pendingMid, bit)), g.challenger);
        } else {
            return false;
        }
        if (mover == HONEST_AGG || mover == HONEST_CH) return false;
        vm.prank(mover);
        (bool ok,) = address(game).call(move);
        return ok;
    }

    /// Anyone proves the leaf; the arbiter tells the truth.
    function proveLeaf(uint256 seed, uint256 who) external {
        uint256 id = _gameWith(seed, RoundRegistry.GameOutcome.Open);
        if (id == 0) return;
        if (game.game(id).status != BisectionGame.GameStatus.AwaitingLeaf) return;
        _prove(id, who % 2 == 0 ? game.game(id).challenger : address(uint160(0xF00 + who % 7)));
    }

    function timeout(uint256 seed) external {
        uint256 id = _gameWith(seed, RoundRegistry.GameOutcome.Open);
        if (id == 0) return;
        try game.timeout(id) {
            _afterResolution(id);
            ++calls["timeout"];
        } catch {}
    }

    function finalize(uint256 seed) external {
        uint256 id = _roundFor(seed, Need.Posted);
        if (id == 0) return;
        try registry.finalize(id) {
            RoundGhost storage r = rounds[id];
            r.status = RoundRegistry.RoundStatus.Finalized;
            r.settled = true;
            expectedCredit[r.aggregator] += aggBond + chBond * _lostGames(id);
            ++calls["finalize"];
        } catch {}
    }

    /// Anyone, or the winner itself (whose claim then counts as its cost too), claims a game.
    /// The winner is paid its bond and its metered cost while the pool lasts; the last claim
    /// burns what is left of the pool.
    function claimGame(uint256 seed, bool self) external {
        uint256 id = _gameWith(seed, RoundRegistry.GameOutcome.ChallengerWon);
        if (id == 0) return;
        GameGhost storage gg = games[id];
        uint256 before = registry.credit(gg.challenger);
        if (self) vm.prank(gg.challenger);
        try registry.claimGame(id) {
            RoundGhost storage r = rounds[gg.roundId];
            if (!r.settled) _settleRejected(r, gg.roundId);
            uint256 cost = registry.gameRecord(id).cost + game.challengerCost(id);
            uint256 paid = cost < r.poolLeft ? cost : r.poolLeft;
            if (self) {
                // The claim's own metered cost comes on top; take what was paid, bounded.
                uint256 got = registry.credit(gg.challenger) - before - chBond;
                if (got < paid || got > r.poolLeft) ++claimsOutOfRange;
                paid = got;
            }
            r.poolLeft -= paid;
            gg.outcome = RoundRegistry.GameOutcome.Paid;
            if (--r.unpaidWinners == 0) {
                ghostBurnt += r.poolLeft;
                r.poolLeft = 0;
            }
            expectedCredit[gg.challenger] += chBond + paid;
            ++calls["claimGame"];
        } catch {}
    }

    function withdraw(uint256 who) external {
        address[] memory all = this.actors();
        _withdraw(all[who % all.length]);
    }

    function _withdraw(address a) internal {
        uint256 before = a.balance;
        vm.prank(a);
        try registry.withdraw() {
            expectedCredit[a] -= a.balance - before;
            ++calls["withdraw"];
        } catch {}
    }

    /// Mostly minutes to hours (phases are 1 h to 1 day long), now and then up to two days.
    function warp(uint32 secs) external {
        _warpTo(block.timestamp + (secs % 4 == 0 ? secs % 2 days : secs % 6 hours));
        ++calls["warp"];
    }

    /// Base fee 0..100 gwei: every metered cost (challenges, moves, reveals) moves with it.
    function setBaseFee(uint64 fee) external {
        vm.fee(fee % 100 gwei);
        ++calls["setBaseFee"];
    }

    // ------------------------------------------------------------ end of a run

    /// Plays every round and game to its end with nobody else acting: honest moves, timeouts
    /// of whoever stalls, expiry of unposted rounds, settlement of every availability
    /// challenge, finalisation, claims, releases, and every withdrawal.
    function settleEverything() external {
        honestMoves();
        for (uint256 pass; pass < 4; ++pass) {
            _warpTo(block.timestamp + 2 * uint256(game.clock()) + 1);
            uint256 gameCount = game.gameCount();
            for (uint256 g = 1; g <= gameCount; ++g) {
                if (games[g].outcome == RoundRegistry.GameOutcome.Open) {
                    try game.timeout(g) {
                        _afterResolution(g);
                    } catch {}
                }
            }
            honestMoves();
        }
        uint256 roundCount = registry.roundCount();
        uint256 latest = block.timestamp;
        for (uint256 id = 1; id <= roundCount; ++id) {
            RoundRegistry.RoundView memory v = registry.round(id);
            if (v.postDeadline > latest) latest = v.postDeadline;
            if (v.postedAt + registry.challengeWindow() > latest) {
                latest = v.postedAt + registry.challengeWindow();
            }
        }
        _warpTo(latest);
        for (uint256 id = 1; id <= roundCount; ++id) {
            this.expireRound(id - 1);
            this.finalize(id - 1);
            for (uint256 k; k < rounds[id].clientCount; ++k) {
                this.settleAvailability(id - 1, k);
                this.releaseDeposit(id - 1, k);
            }
        }
        // Every won game: the picks search from the seed, so one call per game claims them all.
        uint256 games_ = game.gameCount();
        for (uint256 g = 1; g <= games_; ++g) {
            this.claimGame(g - 1, g % 2 == 0);
        }
        address[] memory all = this.actors();
        for (uint256 k; k < all.length; ++k) {
            _withdraw(all[k]);
        }
    }
}

/// Rounds go through five phases and games through many moves: deeper sequences than the
/// project default reach settlement, claims and expiry within a run.
/// forge-config: default.invariant.depth = 120
contract ProtocolInvariantTest is Test {
    uint256 internal constant AGG_BOND = 1 ether;
    uint256 internal constant CH_BOND = 0.3 ether;
    uint256 internal constant FUNDS = 1_000 ether;
    uint64 internal constant CLOCK = 3 hours;

    RoundRegistry internal registry;
    BisectionGame internal game;
    MockArbiter internal arbiter;
    ProtocolHandler internal handler;
    uint256 internal totalEther;

    function setUp() public {
        vm.warp(1_700_000_000);
        RoundRegistry.Params memory p;
        (p.aggregatorBond, p.challengerBond, p.clientDeposit, p.availabilityBond) =
        (AGG_BOND, CH_BOND, 0.02 ether, 0.05 ether);
        (p.challengeWindow, p.availabilityWindow, p.resolveWindow, p.postWindow) =
        (1 days, 2 hours, 1 hours, 1 days);
        p.burnBps = 2_500;
        registry = new RoundRegistry(p);
        arbiter = new MockArbiter();
        game = new BisectionGame(address(registry), address(arbiter), CLOCK, 20 minutes);
        registry.setGame(address(game));
        handler = new ProtocolHandler(registry, game, arbiter);
        address[] memory all = handler.actors();
        for (uint256 k; k < all.length; ++k) {
            vm.deal(all[k], FUNDS);
            totalEther += FUNDS;
        }
        bytes4[] memory selectors = new bytes4[](23);
        selectors[0] = ProtocolHandler.openRound.selector;
        selectors[1] = ProtocolHandler.commit.selector;
        selectors[2] = ProtocolHandler.challengeAvailability.selector;
        selectors[3] = ProtocolHandler.challengeAvailability.selector;
        selectors[4] = ProtocolHandler.reveal.selector;
        selectors[5] = ProtocolHandler.settleAvailability.selector;
        selectors[6] = ProtocolHandler.releaseDeposit.selector;
        selectors[7] = ProtocolHandler.post.selector;
        selectors[8] = ProtocolHandler.expireRound.selector;
        selectors[9] = ProtocolHandler.challenge.selector;
        selectors[10] = ProtocolHandler.roundToGames.selector;
        selectors[11] = ProtocolHandler.bisect.selector;
        selectors[12] = ProtocolHandler.respond.selector;
        selectors[13] = ProtocolHandler.warp.selector;
        selectors[14] = ProtocolHandler.proveLeaf.selector;
        selectors[15] = ProtocolHandler.timeout.selector;
        selectors[16] = ProtocolHandler.finalize.selector;
        selectors[17] = ProtocolHandler.claimGame.selector;
        selectors[18] = ProtocolHandler.withdraw.selector;
        selectors[19] = ProtocolHandler.warp.selector;
        selectors[20] = ProtocolHandler.setBaseFee.selector;
        selectors[21] = ProtocolHandler.play.selector;
        selectors[22] = ProtocolHandler.play.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
        targetContract(address(handler));
        // One transaction sender, none of the actors: the actors act through the handler (a
        // contract), so no metered call may look like a direct call by its own EOA.
        targetSender(address(0x5E4DE7));
    }

    function _credits() internal view returns (uint256 sum) {
        address[] memory all = handler.actors();
        for (uint256 k; k < all.length; ++k) {
            sum += registry.credit(all[k]);
        }
    }

    /// balance = Σ credit + burnt + held, with held from the handler's own model.
    function invariant_etherConserved() public view {
        assertEq(
            address(registry).balance, _credits() + registry.burnt() + handler.ghostHeld(), "registry balance"
        );
        address[] memory all = handler.actors();
        uint256 sum = address(registry).balance;
        for (uint256 k; k < all.length; ++k) {
            sum += all[k].balance;
        }
        assertEq(sum, totalEther, "total ether");
    }

    /// Every bond and deposit goes where the rules send it: each account's credit is what the
    /// model credited it (so nothing reaches a losing challenger, whose expected credit never
    /// grows), and the burnt total is the model's.
    function invariant_bondsConserved() public view {
        assertEq(registry.burnt(), handler.ghostBurnt(), "burnt");
        address[] memory all = handler.actors();
        for (uint256 k; k < all.length; ++k) {
            assertEq(registry.credit(all[k]), handler.expectedCredit(all[k]), vm.toString(all[k]));
        }
        assertEq(handler.refundsAboveBond(), 0, "reveal refunds within the bond");
        assertEq(
            handler.refundsAboveGas(),
            0,
            string.concat(
                "reveal refunds within the gas used at the base fee; last: refunded gas ",
                vm.toString(handler.lastExcess(0)),
                ", used ",
                vm.toString(handler.lastExcess(1)),
                ", batched ",
                vm.toString(handler.lastExcess(2))
            )
        );
        assertEq(handler.claimsOutOfRange(), 0, "claims pay their cost while the pool lasts");
    }

    /// A game its challenger lost never pays it: nothing claimable, the bond is the
    /// aggregator's (finalised round) or burnt (rejected round).
    function invariant_losingChallengerNeverCredited() public view {
        uint256 count = game.gameCount();
        for (uint256 g = 1; g <= count; ++g) {
            RoundRegistry.GameRecord memory rec = registry.gameRecord(g);
            if (rec.outcome == RoundRegistry.GameOutcome.AggregatorWon) {
                assertEq(registry.claimable(g), 0, "claimable by a loser");
            }
        }
    }

    /// An honest actor's balance plus credit plus what it has at stake in positions that must
    /// come back never falls below what it started with.
    function invariant_honestActorsNeverLose() public view {
        address[] memory honest = handler.honestActors();
        for (uint256 k; k < honest.length; ++k) {
            address a = honest[k];
            assertGe(a.balance + registry.credit(a) + handler.honestStake(a), FUNDS, vm.toString(a));
        }
        uint256 count = game.gameCount();
        for (uint256 g = 1; g <= count; ++g) {
            BisectionGame.GameView memory v = game.game(g);
            if (v.aggregator == handler.HONEST_AGG()) {
                assertTrue(
                    v.status != BisectionGame.GameStatus.ChallengerWon, "honest aggregator lost a game"
                );
            }
            if (v.challenger == handler.HONEST_CH()) {
                assertTrue(
                    v.status != BisectionGame.GameStatus.AggregatorWon, "honest challenger lost a game"
                );
            }
        }
    }

    /// Nothing can get stuck: from here, with nobody acting, every Committing round can be
    /// posted or expired once its deadlines pass, every open game can be timed out, and then
    /// every posted round finalised. Checked on a snapshot that is thrown away.
    function invariant_nothingUnresolvable() public {
        uint256 snapshot = vm.snapshotState();
        uint256 now_ = block.timestamp;
        uint256 gameCount = game.gameCount();
        vm.warp(now_ + 2 * uint256(CLOCK) + 1);
        for (uint256 g = 1; g <= gameCount; ++g) {
            BisectionGame.GameView memory v = game.game(g);
            if (uint8(v.status) >= uint8(BisectionGame.GameStatus.AggregatorWon)) continue;
            game.timeout(g); // reverts (fails the invariant) if it cannot
        }
        uint256 roundCount = registry.roundCount();
        for (uint256 id = 1; id <= roundCount; ++id) {
            RoundRegistry.RoundView memory r = registry.round(id);
            if (r.status == RoundRegistry.RoundStatus.Committing) {
                if (block.timestamp < r.postDeadline) vm.warp(r.postDeadline);
                registry.expireRound(id);
            } else if (r.status == RoundRegistry.RoundStatus.Posted) {
                uint256 closes = uint256(r.postedAt) + registry.challengeWindow();
                if (block.timestamp < closes) vm.warp(closes);
                registry.finalize(id);
            } else if (r.status == RoundRegistry.RoundStatus.Rejected && !r.settled) {
                // The first winner's claim settles the slashed bond.
                for (uint256 g = 1; g <= gameCount; ++g) {
                    if (
                        registry.gameRecord(g).roundId == id
                            && registry.gameRecord(g).outcome == RoundRegistry.GameOutcome.ChallengerWon
                    ) {
                        registry.claimGame(g);
                        break;
                    }
                }
                assertTrue(registry.round(id).settled, "a rejected round settles at its first claim");
            }
        }
        vm.revertToState(snapshot);
        vm.warp(now_);
    }

    /// The registry's open-game counters match the unresolved games, and every unresolved game
    /// has a proper interval whose phase matches its width.
    function invariant_gamesConsistent() public view {
        uint256 open;
        for (uint256 id = 1; id <= game.gameCount(); ++id) {
            BisectionGame.GameView memory g = game.game(id);
            if (uint8(g.status) >= uint8(BisectionGame.GameStatus.AggregatorWon)) continue;
            ++open;
            assertLt(g.lo, g.hi, "lo < hi");
            assertEq(
                g.status == BisectionGame.GameStatus.AwaitingLeaf, g.hi == g.lo + 1, "leaf iff unit interval"
            );
            RoundRegistry.RoundView memory r = registry.round(g.roundId);
            assertTrue(
                r.status == RoundRegistry.RoundStatus.Posted
                    || r.status == RoundRegistry.RoundStatus.Rejected,
                "open games only on posted or rejected rounds"
            );
        }
        uint256 counted;
        for (uint256 id = 1; id <= registry.roundCount(); ++id) {
            counted += registry.round(id).openGames;
        }
        assertEq(counted, open, "open games");
    }

    /// A finalized round never had a game won by a challenger; a rejected one did.
    function invariant_finalizedRoundsHaveNoChallengerWin() public view {
        for (uint256 id = 1; id <= game.gameCount(); ++id) {
            BisectionGame.GameView memory g = game.game(id);
            if (g.status == BisectionGame.GameStatus.ChallengerWon) {
                assertTrue(registry.round(g.roundId).status == RoundRegistry.RoundStatus.Rejected, "rejected");
            }
        }
    }

    /// At the end of every run, everything is played out and withdrawn: only burnt ether is
    /// left in the registry, the model holds nothing, and every honest actor has at least what
    /// it started with in its wallet.
    function afterInvariant() public {
        handler.settleEverything();
        assertEq(handler.ghostHeld(), 0, "nothing held");
        assertEq(_credits(), 0, "everything withdrawn");
        assertEq(address(registry).balance, registry.burnt(), "only burnt ether is left");
        address[] memory honest = handler.honestActors();
        for (uint256 k; k < honest.length; ++k) {
            assertGe(honest[k].balance, FUNDS, vm.toString(honest[k]));
        }
        invariant_bondsConserved();
    }
}
