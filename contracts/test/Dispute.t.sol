// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {FedAvgFixture} from "./base/FedAvgFixture.sol";
import {BisectionGame} from "../src/BisectionGame.sol";
import {LeafArbiter} from "../src/LeafArbiter.sol";
import {RoundRegistry} from "../src/RoundRegistry.sol";
import {ILeafArbiter} from "../src/interfaces/ILeafArbiter.sol";

/// Whole disputes through the real registry, game and arbiter: honest and dishonest
/// aggregators against honest and lying challengers, played down to the leaf and settled with
/// (mock-verified) step proofs. The rules: the correct result always wins, and the honest party
/// ends with its bond back plus the loser's.
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
            vm.prank(challenger);
            game.respond(gameId, mid, hMid, agree);
            ++rounds;
        }
    }

    function _settle(uint256 gameId) internal {
        BisectionGame.GameView memory g = game.game(gameId);
        ILeafArbiter.LeafInput memory leaf = _leafInput(g.lo);
        vm.prank(g.hHi == _stateHash(g.lo + 1, false) ? aggregator : challenger);
        game.proveLeaf(gameId, leaf);
    }

    function _assertConserved() internal view {
        uint256 credits =
            registry.credit(aggregator) + registry.credit(challenger) + registry.credit(challenger2);
        assertEq(address(registry).balance, credits + _heldBonds(), "bonds conserved");
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
        ILeafArbiter.LeafInput memory leaf = _leafInput(g.lo);
        bytes32 truth = arbiter.postState(roundId, g.lo, g.hLo, leaf);
        assertEq(truth, _stateHash(g.lo + 1, false));
        assertTrue(truth != g.hHi);
        // Nor can it sneak its wrong output through: the step proof of a false output fails.
        leaf.values = abi.encodePacked(claimedOutputOfBytes(2));
        vm.expectRevert(
            abi.encodeWithSelector(LeafArbiter.ProofRejected.selector, LeafArbiter.StepKind.Finalize)
        );
        game.proveLeaf(gameId, leaf);

        _settle(gameId);
        assertTrue(game.game(gameId).status == BisectionGame.GameStatus.ChallengerWon);
        assertTrue(_status(roundId) == RoundRegistry.RoundStatus.Rejected);
        assertEq(registry.credit(challenger), CH_BOND + AGG_BOND);
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
        assertEq(registry.credit(aggregator), CH_BOND);
        vm.warp(uint256(registry.round(roundId).postedAt) + WINDOW + g.moves);
        registry.finalize(roundId);
        assertEq(registry.credit(aggregator), CH_BOND + AGG_BOND);
        _assertConserved();
    }

    /// Two challengers: the first wins and rejects the round; the second gets its bond back.
    function test_dispute_twoChallengers_secondRefundedAfterRejection() public {
        claimedOutputOf[3][31] = outputOf[3][31] + 7;
        tamperedOutputs = true;
        _postClaimed();
        uint256 g1 = _challenge(roundId, challenger);
        uint256 g2 = _challenge(roundId, challenger2);
        _play(g1, true, 0);
        _settle(g1);
        assertTrue(_status(roundId) == RoundRegistry.RoundStatus.Rejected);
        // The aggregator abandons the second game.
        vm.warp(block.timestamp + CLOCK);
        game.timeout(g2);
        assertEq(registry.credit(challenger), CH_BOND + AGG_BOND);
        assertEq(registry.credit(challenger2), CH_BOND);
        assertEq(registry.round(roundId).openGames, 0);
        _assertConserved();
        vm.prank(challenger2);
        registry.withdraw();
        vm.prank(challenger);
        registry.withdraw();
        assertEq(address(registry).balance, 0);
    }
}
