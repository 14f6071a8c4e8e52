// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {FedAvgFixture} from "./base/FedAvgFixture.sol";
import {BisectionGame} from "../src/BisectionGame.sol";
import {RoundRegistry} from "../src/RoundRegistry.sol";

/// Where bonds go, in whole disputes through the real registry, game and arbiter (step proofs
/// checked by the statement-checking mock verifiers), with a base fee so costs are metered:
///   - a losing challenger's bond goes to the aggregator of a finalised round, or is burnt
///     with a rejected round's slashed bond; it is never refunded;
///   - a rejected round's slashed bond: `burnBps` of it is burnt, the rest pays the winners'
///     metered costs (each in the order they claim, while it lasts), what is left is burnt;
///   - so an aggregator that disputes its own wrong result through a sybil recovers at most
///     what the sybil put in and burnt on gas.
contract BondsTest is FedAvgFixture {
    uint256 internal constant BASE_FEE = 20 gwei;
    address internal sybil = address(0x5B11);

    function setUp() public override {
        super.setUp();
        extraActors.push(sybil);
        vm.deal(sybil, 10 ether);
        _buildRound(3, 100, 7); // C = 4, T = 16
    }

    /// The aggregator posts a result off by one in chunk 2 (its claims follow that trace).
    function _postWrong() internal {
        claimedOutputOf[2][5] = outputOf[2][5] + 1;
        _postClaimed();
    }

    /// Plays a game with the aggregator claiming its (claimed) trace and the challenger agreeing
    /// exactly with the true states: ends at the first wrong step, the Finalize of chunk 2.
    function _playHonestly(uint256 gameId) internal {
        while (game.game(gameId).status == BisectionGame.GameStatus.AwaitingMid) {
            BisectionGame.GameView memory g = game.game(gameId);
            uint64 mid = g.lo + (g.hi - g.lo) / 2;
            bytes32 hMid = _stateHash(mid, true);
            vm.prank(aggregator);
            game.bisect(gameId, g.lo, g.hi, g.hHi, hMid);
            vm.prank(g.challenger);
            game.respond(gameId, mid, hMid, hMid == _stateHash(mid, false));
        }
    }

    /// Plays a game with honest claims and a challenger answering `lies` bits.
    function _playLies(uint256 gameId, uint256 lies) internal {
        for (uint256 r; game.game(gameId).status == BisectionGame.GameStatus.AwaitingMid; ++r) {
            BisectionGame.GameView memory g = game.game(gameId);
            uint64 mid = g.lo + (g.hi - g.lo) / 2;
            bytes32 hMid = _stateHash(mid, false);
            vm.prank(aggregator);
            game.bisect(gameId, g.lo, g.hi, g.hHi, hMid);
            vm.prank(g.challenger);
            game.respond(gameId, mid, hMid, (lies >> r) & 1 == 1);
        }
    }

    /// `prover` submits the honest leaf of the game's disputed step.
    function _prove(uint256 gameId, address prover) internal {
        bytes memory leaf = _leafInput(game.game(gameId).lo);
        vm.prank(prover);
        game.proveLeaf(gameId, leaf);
    }

    /// The coalition (aggregator and sybil) never gets back more than the sybil put in plus
    /// what it burnt; at least `burnBps` of the slashed bond is burnt; the honest challenger
    /// gets its bond plus its metered cost.
    function _assertSybilRecoversNothing(uint256 sybilGame, uint256 honestGame) internal view {
        uint256 sybilCost = _cost(sybilGame);
        uint256 coalitionBack = registry.credit(aggregator) + registry.credit(sybil);
        assertEq(registry.credit(aggregator), 0, "the slashed aggregator gets nothing");
        assertLe(coalitionBack, CH_BOND + sybilCost, "at most the sybil's bond and its own burnt gas");
        assertGe(registry.burnt(), (AGG_BOND * BURN_BPS) / 10_000, "burnBps of the slashed bond is burnt");
        assertEq(registry.credit(challenger), CH_BOND + _cost(honestGame), "honest: bond + metered cost");
        assertEq(registry.burnt(), AGG_BOND - (coalitionBack - CH_BOND) - _cost(honestGame), "the rest burnt");
    }

    // ------------------------------------------------------------ sybils

    /// The aggregator's second address disputes its own wrong result and wins first (the
    /// aggregator lets it time out); the honest challenger, playing on, wins its game too.
    function test_selfChallenge_sybilWinsFirst_aggregatorRecoversNothing() public {
        vm.fee(BASE_FEE);
        _postWrong();
        uint256 gs = _challenge(roundId, sybil);
        uint256 gh = _challenge(roundId, challenger);
        _playHonestly(gh); // at the leaf; the challenger may prove at any time
        vm.warp(block.timestamp + CLOCK);
        vm.prank(sybil);
        game.timeout(gs); // the sybil wins first and rejects the round
        assertTrue(_status(roundId) == RoundRegistry.RoundStatus.Rejected);
        assertTrue(game.game(gh).status == BisectionGame.GameStatus.AwaitingLeaf, "the honest game plays on");
        _prove(gh, challenger);
        assertTrue(game.game(gh).status == BisectionGame.GameStatus.ChallengerWon);
        assertGt(_cost(gs), 0);
        assertGt(_cost(gh), _cost(gs), "the honest challenger played a whole game");
        _claimGame(gs); // the sybil claims first
        _claimGame(gh);
        _assertSybilRecoversNothing(gs, gh);
        _assertConserved();
    }

    /// The sybil copies the honest challenger's work: the aggregator plays the sybil's game to
    /// the same leaf, and the sybil proves the same leaf input there (and wins first).
    function test_copiedLeaf_aggregatorRecoversNothing() public {
        vm.fee(BASE_FEE);
        _postWrong();
        uint256 gh = _challenge(roundId, challenger);
        uint256 gs = _challenge(roundId, sybil);
        _playHonestly(gh);
        _playHonestly(gs);
        assertEq(game.game(gs).lo, game.game(gh).lo, "the same disputed step");
        assertEq(game.game(gs).lo, 2 * 4 + 3, "the Finalize of chunk 2");
        _prove(gs, sybil);
        _prove(gh, challenger);
        assertTrue(game.game(gs).status == BisectionGame.GameStatus.ChallengerWon);
        assertTrue(game.game(gh).status == BisectionGame.GameStatus.ChallengerWon);
        _claimGame(gs);
        _claimGame(gh);
        _assertSybilRecoversNothing(gs, gh);
        _assertConserved();
    }

    // ------------------------------------------------------------ losing challengers

    /// A beaten challenger is never refunded: in a finalised round its bond is the
    /// aggregator's; in a rejected round it is burnt with the slashed bond.
    function test_losingChallenger_neverRefunded() public {
        vm.fee(BASE_FEE);
        // Finalised round: a liar loses at the leaf.
        _postHonest();
        uint256 g1 = _challenge(roundId, challenger2);
        _playLies(g1, 0x5);
        _prove(g1, aggregator);
        assertTrue(game.game(g1).status == BisectionGame.GameStatus.AggregatorWon);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.NothingToClaim.selector, g1));
        registry.claimGame(g1);
        vm.warp(uint256(registry.round(roundId).postedAt) + WINDOW);
        registry.finalize(roundId);
        assertEq(registry.credit(aggregator), AGG_BOND + CH_BOND, "the beaten bond goes to the aggregator");
        assertEq(registry.credit(challenger2), 0);
        assertEq(registry.claimable(g1), 0);
        _assertConserved();

        // Rejected round: the honest challenger wins; a liar in the same round stops answering
        // and loses by timeout; its bond is burnt, not refunded.
        delete weights;
        delete updateRoots;
        delete participantLeaves;
        totalWeight = 0;
        _buildRound(3, 100, 8);
        _postWrong();
        uint256 gh = _challenge(roundId, challenger);
        uint256 gl = _challenge(roundId, challenger2);
        BisectionGame.GameView memory g = game.game(gl);
        vm.prank(aggregator);
        game.bisect(gl, g.lo, g.hi, g.hHi, _stateHash(g.lo + (g.hi - g.lo) / 2, true));
        _playHonestly(gh);
        _prove(gh, challenger);
        vm.warp(block.timestamp + CLOCK);
        game.timeout(gl);
        assertTrue(game.game(gl).status == BisectionGame.GameStatus.AggregatorWon, "the liar lost");
        uint256 burnt0 = registry.burnt();
        _claimGame(gh);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.NothingToClaim.selector, gl));
        registry.claimGame(gl);
        assertEq(registry.credit(challenger2), 0, "never refunded");
        assertEq(registry.credit(challenger), CH_BOND + _cost(gh));
        assertEq(registry.burnt() - burnt0, AGG_BOND - _cost(gh) + CH_BOND, "slashed bond and beaten bond");
        assertEq(registry.credit(aggregator), AGG_BOND + CH_BOND, "nothing more for the slashed aggregator");
        _assertConserved();
    }

    // ------------------------------------------------------------ the pool

    /// When the winners' costs exceed the pool (a base fee of 1,000 gwei), the pool pays them
    /// in the order they claim until it runs out; nothing is left to burn at the end but
    /// `burnBps` of the slashed bond.
    function test_claimGame_costsExceedPool_paidInClaimOrderUntilPoolRunsOut() public {
        vm.fee(1_000 gwei);
        _postWrong();
        uint256 g1 = _challenge(roundId, challenger);
        uint256 g2 = _challenge(roundId, challenger2);
        _playHonestly(g1);
        _prove(g1, challenger);
        vm.warp(block.timestamp + CLOCK);
        vm.prank(challenger2);
        game.timeout(g2);
        uint256 pool = _pool();
        uint256 cost1 = _cost(g1);
        uint256 cost2 = _cost(g2);
        assertGt(cost1 + cost2, pool, "the costs exceed the pool");
        assertLt(cost2, pool, "the second alone would fit");
        assertEq(registry.claimable(g2), CH_BOND + cost2);
        uint256 paid2 = _claimGame(g2);
        assertEq(paid2, cost2, "the first claim is paid in full");
        uint256 paid1 = _claimGame(g1);
        assertEq(paid1, pool - cost2, "the last one gets what is left");
        assertLt(paid1, cost1);
        assertEq(registry.burnt(), AGG_BOND - pool, "only burnBps is burnt");
        assertEq(registry.credit(aggregator), 0);
        _assertConserved();
    }

    /// A winner that claims itself is also refunded the claim's own metered cost.
    function test_claimGame_byWinner_claimCostMetered() public {
        vm.fee(BASE_FEE);
        _postWrong();
        uint256 g1 = _challenge(roundId, challenger);
        _playHonestly(g1);
        _prove(g1, challenger);
        uint256 cost = _cost(g1);
        vm.prank(challenger);
        uint256 g0 = gasleft();
        registry.claimGame(g1);
        uint256 used = g0 - gasleft();
        uint256 credited = registry.credit(challenger);
        assertGt(credited, CH_BOND + cost, "the claim is a cost too");
        assertLe(credited, CH_BOND + cost + used * BASE_FEE, "at most the claim's own gas");
        poolPaid[roundId] += credited - CH_BOND;
        _assertConserved();
    }

    function test_claimGame_invalid_reverts() public {
        _postWrong();
        uint256 g1 = _challenge(roundId, challenger);
        uint256 g2 = _challenge(roundId, challenger2);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.NothingToClaim.selector, g1));
        registry.claimGame(g1); // open
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.NothingToClaim.selector, 99));
        registry.claimGame(99); // no such game
        _playHonestly(g1);
        _prove(g1, challenger);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.GamesOpen.selector, roundId, 1));
        registry.claimGame(g1); // before the round's last game has ended
        assertEq(registry.claimable(g1), 0);
        // challenger2 lets its clock run out at its first response.
        BisectionGame.GameView memory g = game.game(g2);
        vm.prank(aggregator);
        game.bisect(g2, g.lo, g.hi, g.hHi, _stateHash(g.lo + (g.hi - g.lo) / 2, true));
        vm.warp(block.timestamp + CLOCK);
        game.timeout(g2);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.NothingToClaim.selector, g2));
        registry.claimGame(g2); // lost
        _claimGame(g1);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.NothingToClaim.selector, g1));
        registry.claimGame(g1); // twice
        _assertConserved();
    }
}
