// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {FedAvgFixture} from "./base/FedAvgFixture.sol";
import {BisectionGame} from "../src/BisectionGame.sol";
import {RoundRegistry} from "../src/RoundRegistry.sol";
import {StepChecker} from "../src/checkers/StepChecker.sol";
import {FinalizeChecker} from "../src/checkers/FinalizeChecker.sol";

/// Whole disputes through the real registry, game and arbiter: honest and dishonest
/// aggregators against honest and lying challengers, played down to the leaf and settled with
/// (mock-verified) step proofs. The rules: the correct result always wins; an honest aggregator
/// ends with its bond back plus every beaten challenger's; a winning challenger gets its bond
/// back plus its metered cost from the slashed bond, whose remainder is burnt.
contract DisputeTest is FedAvgFixture {
    /// Claims of a dishonest aggregator from state `from` on: garbage (it cannot prove them).
    uint256 internal garbageFrom = type(uint256).max;
    bool internal tamperedOutputs;

    function setUp() public override {
        super.setUp();
        _buildRound(3, 100, 7); // C = 4, T = 16
    }

    /// What the aggregator claims for state k.
    function _claim(uint256 k) internal view returns (bytes32) {
        if (k >= garbageFrom && k < _steps()) return keccak256(abi.encode("garbage", k));
        return _stateHash(k, tamperedOutputs);
    }

    /// Plays the game with the aggregator claiming `_claim` and the challenger agreeing iff the
    /// claim is honest (honest = true) or following `lies` bits (honest = false).
    function _play(uint256 gameId, bool honestChallenger, uint256 lies) internal returns (uint256 rounds) {
        while (game.game(gameId).status == BisectionGame.GameStatus.AwaitingMid) {
            BisectionGame.GameView memory g = game.game(gameId);
            uint64 mid = g.lo + (g.hi - g.lo) / 2;
            bytes32 hMid = _claim(mid);
            vm.prank(aggregator);
            game.bisect(gameId, g.lo, g.hi, g.hHi, hMid);
            bool agree = honestChallenger ? hMid == _stateHash(mid, false) : (lies >> rounds) & 1 == 1;
            vm.prank(g.challenger);
            game.respond(gameId, mid, hMid, agree);
            ++rounds;
        }
    }

    function _settle(uint256 gameId) internal {
        BisectionGame.GameView memory g = game.game(gameId);
        bytes memory leaf = _leafInput(g.lo);
        vm.prank(g.hHi == _stateHash(g.lo + 1, false) ? aggregator : g.challenger);
        game.proveLeaf(gameId, leaf);
    }

    // ------------------------------------------------------------ dishonest aggregator

    /// Chunk 2's posted output is off by one in one lane: the game narrows to chunk 2's
    /// Finalize step, where the true output root differs from the claim.
    function test_dispute_wrongOutput_challengerWinsAtFinalizeStep() public {
        claimedOutputOf[2][5] = outputOf[2][5] + 1;
        tamperedOutputs = true;
        _postClaimed();
        uint256 gameId = _challenge(roundId, challenger);
        _play(gameId, true, 0);
        BisectionGame.GameView memory g = game.game(gameId);
        assertEq(g.lo, 2 * 4 + 3, "the Finalize step of chunk 2");
        assertEq(g.hLo, _stateHash(g.lo, false), "agreed pre-state is the true one");

        // The aggregator cannot prove its claim: the arbiter computes the true post-state.
        FinalizeChecker.FinalizeLeaf memory leaf = _finLeaf(g.lo);
        bytes32 truth = arbiter.postState(roundId, g.lo, g.hLo, abi.encode(leaf));
        assertEq(truth, _stateHash(g.lo + 1, false));
        assertTrue(truth != g.hHi);
        // Nor can it sneak its wrong output through: the step proof of a false output fails.
        leaf.values = abi.encodePacked(claimedOutputOfBytes(2));
        vm.expectRevert(abi.encodeWithSelector(StepChecker.ProofRejected.selector, address(finVerifier)));
        game.proveLeaf(gameId, abi.encode(leaf));

        _settle(gameId);
        assertTrue(game.game(gameId).status == BisectionGame.GameStatus.ChallengerWon);
        assertTrue(_status(roundId) == RoundRegistry.RoundStatus.Rejected);
        // No base fee: the challenger's cost is zero, so the whole slashed bond is burnt and the
        // challenger gets exactly its bond back.
        _assertConserved();
        _claimGame(gameId);
        assertTrue(registry.round(roundId).settled);
        assertEq(registry.burnt(), AGG_BOND);
        assertEq(registry.credit(challenger), CH_BOND);
        assertEq(registry.credit(aggregator), 0);
        _assertConserved();
    }

    function claimedOutputOfBytes(uint256 j) internal view returns (bytes memory b) {
        for (uint256 l; l < 32; ++l) {
            b = abi.encodePacked(b, claimedOutputOf[j][l]);
        }
    }

    /// Whatever state the aggregator's claims first go wrong at, the honest challenger pins
    /// the first wrong step and wins it.
    function testFuzz_dispute_firstWrongClaimAnywhere_challengerWins(uint256 from) public {
        garbageFrom = bound(from, 1, _steps() - 1);
        claimedOutputOf[0][0] = outputOf[0][0] - 1; // the posted root is wrong too
        tamperedOutputs = true;
        _postClaimed();
        uint256 gameId = _challenge(roundId, challenger);
        uint256 rounds = _play(gameId, true, 0);
        assertLe(rounds, 4);
        BisectionGame.GameView memory g = game.game(gameId);
        assertEq(g.hLo, _stateHash(g.lo, false));
        assertTrue(g.hHi != _stateHash(g.hi, false));
        _settle(gameId);
        assertTrue(game.game(gameId).status == BisectionGame.GameStatus.ChallengerWon);
        _assertConserved();
    }

    // ------------------------------------------------------------ honest aggregator

    /// A challenger who disputes a correct result loses wherever it steers the game.
    function testFuzz_dispute_honestAggregator_winsAnyLeaf(uint256 lies) public {
        _postHonest();
        uint256 gameId = _challenge(roundId, challenger);
        _play(gameId, false, lies);
        BisectionGame.GameView memory g = game.game(gameId);
        _settle(gameId);
        assertTrue(game.game(gameId).status == BisectionGame.GameStatus.AggregatorWon);
        assertTrue(_status(roundId) == RoundRegistry.RoundStatus.Posted);
        assertEq(registry.credit(aggregator), 0, "the beaten bond is held until finalisation");
        _assertConserved();
        vm.warp(uint256(registry.round(roundId).postedAt) + WINDOW + g.moves);
        registry.finalize(roundId);
        assertEq(registry.credit(aggregator), CH_BOND + AGG_BOND);
        _assertConserved();
    }

    /// Two honest challengers of a wrong result, with a nonzero base fee: the first wins at the
    /// leaf and rejects the round; the aggregator abandons the second game, which its
    /// challenger wins by timeout. Both get their bond back plus their metered cost; the
    /// aggregator gets nothing and the rest of its bond is burnt; once everyone withdraws,
    /// only the burnt ether is left.
    function test_dispute_twoHonestChallengers_bothMadeWhole() public {
        vm.fee(20 gwei);
        claimedOutputOf[3][31] = outputOf[3][31] + 7;
        tamperedOutputs = true;
        _postClaimed();
        uint256 g1 = _challenge(roundId, challenger);
        uint256 g2 = _challenge(roundId, challenger2);
        _play(g1, true, 0);
        _settle(g1);
        assertTrue(_status(roundId) == RoundRegistry.RoundStatus.Rejected);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.GamesOpen.selector, roundId, 1));
        registry.claimGame(g1);
        // The aggregator abandons the second game; its challenger claims the timeout itself.
        vm.warp(block.timestamp + CLOCK);
        vm.prank(challenger2);
        game.timeout(g2);
        assertEq(registry.round(roundId).openGames, 0);
        uint256 cost1 = _cost(g1);
        uint256 cost2 = _cost(g2);
        assertGt(game.challengerCost(g1), 0, "metered: responses, leaf");
        assertGt(game.challengerCost(g2), 0, "metered: timeout");
        assertGt(registry.gameRecord(g1).cost, 0, "metered: the challenge");
        assertEq(cost1 % 20 gwei, 0, "priced at the base fee");
        assertEq(registry.claimable(g1), CH_BOND + cost1);
        _assertConserved();
        _claimGame(g1);
        _claimGame(g2);
        assertTrue(registry.round(roundId).settled);
        assertEq(registry.credit(challenger), CH_BOND + cost1);
        assertEq(registry.credit(challenger2), CH_BOND + cost2);
        assertEq(registry.credit(aggregator), 0);
        assertEq(registry.burnt(), AGG_BOND - cost1 - cost2);
        _assertConserved();
        vm.prank(challenger2);
        registry.withdraw();
        vm.prank(challenger);
        registry.withdraw();
        for (uint256 c; c < n; ++c) {
            _release(roundId, c);
            vm.prank(_client(c));
            registry.withdraw();
        }
        assertEq(address(registry).balance, registry.burnt(), "only the burnt ether is left");
    }

    /// Eight lying challengers dispute an honest result at once, each steering its game its own
    /// way; moves interleave across the games. Half are beaten at the leaf, half stop answering
    /// and time out. The round finalises and the aggregator gets its bond plus all eight bonds;
    /// no liar gets anything back, whatever it burnt on gas.
    function test_eightConcurrentLyingChallengers_allLose_roundFinalizes() public {
        vm.fee(3 gwei);
        _postHonest();
        uint256[8] memory ids;
        for (uint256 k; k < 8; ++k) {
            address liar = address(uint160(0xBAD0 + k));
            extraActors.push(liar);
            vm.deal(liar, 1 ether);
            ids[k] = _challenge(roundId, liar);
        }
        assertEq(registry.round(roundId).openGames, 8);
        // Round-robin: one bisection and one (lying) response per game per pass; odd games'
        // challengers walk away after the first pass.
        bool moved = true;
        for (uint256 pass; moved; ++pass) {
            moved = false;
            for (uint256 k; k < 8; ++k) {
                BisectionGame.GameView memory g = game.game(ids[k]);
                if (g.status != BisectionGame.GameStatus.AwaitingMid) continue;
                if (k % 2 == 1 && pass > 0) continue;
                uint64 mid = g.lo + (g.hi - g.lo) / 2;
                bytes32 hMid = _stateHash(mid, false);
                vm.prank(aggregator);
                game.bisect(ids[k], g.lo, g.hi, g.hHi, hMid);
                moved = true;
                if (k % 2 == 1) continue; // no answer
                bool agree = uint256(keccak256(abi.encode(k, pass))) % 2 == 1;
                vm.prank(g.challenger);
                game.respond(ids[k], mid, hMid, agree);
            }
        }
        for (uint256 k; k < 8; k += 2) {
            assertTrue(game.game(ids[k]).status == BisectionGame.GameStatus.AwaitingLeaf);
            _settle(ids[k]);
        }
        vm.warp(block.timestamp + CLOCK);
        for (uint256 k = 1; k < 8; k += 2) {
            assertTrue(game.game(ids[k]).status == BisectionGame.GameStatus.AwaitingResponse);
            game.timeout(ids[k]);
        }
        for (uint256 k; k < 8; ++k) {
            assertTrue(game.game(ids[k]).status == BisectionGame.GameStatus.AggregatorWon, "every liar loses");
            assertTrue(registry.gameRecord(ids[k]).outcome == RoundRegistry.GameOutcome.AggregatorWon);
        }
        assertTrue(_status(roundId) == RoundRegistry.RoundStatus.Posted);
        assertEq(registry.round(roundId).openGames, 0);
        _assertConserved();
        vm.warp(uint256(registry.round(roundId).postedAt) + WINDOW);
        registry.finalize(roundId);
        assertTrue(_status(roundId) == RoundRegistry.RoundStatus.Finalized);
        assertEq(registry.credit(aggregator), AGG_BOND + 8 * CH_BOND);
        for (uint256 k; k < 8; ++k) {
            assertEq(registry.credit(extraActors[k]), 0, "no liar is refunded");
            assertEq(registry.claimable(ids[k]), 0);
        }
        assertEq(registry.burnt(), 0);
        _assertConserved();
    }
}
