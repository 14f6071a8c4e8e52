// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "./base/Test.sol";
import {BisectionGame} from "../src/BisectionGame.sol";
import {MockArbiter} from "./mocks/MockArbiter.sol";
import {Updates} from "./base/Updates.sol";

/// Game tests with this contract standing in for the registry (it opens games and receives
/// `resolveGame`) and a mock arbiter whose answer the test sets.
contract BisectionGameTest is Test {
    uint64 internal constant CLOCK = 1 hours;
    uint64 internal constant EXTENSION = 5 minutes;
    uint256 internal constant ROUND = 77;

    BisectionGame internal game;
    MockArbiter internal arbiter;

    address internal aggregator = address(0xA66);
    address internal challenger = address(0xC0FFEE);
    address internal outsider = address(0x0DD);

    bytes32 internal constant H0 = keccak256("h0");
    bytes32 internal constant HT = keccak256("hT");

    // What resolveGame was told.
    uint256 internal resolvedCount;
    uint256 internal resolvedGame;
    uint256 internal resolvedRound;
    address internal resolvedAggregator;
    address internal resolvedChallenger;
    bool internal resolvedAggregatorWon;

    function setUp() public {
        vm.warp(1_700_000_000);
        arbiter = new MockArbiter();
        game = new BisectionGame(address(this), address(arbiter), CLOCK, EXTENSION);
    }

    /// The registry callback.
    function resolveGame(uint256 gameId, uint256 roundId, address agg, address ch, bool aggregatorWon)
        external
    {
        require(msg.sender == address(game), "only game");
        ++resolvedCount;
        (resolvedGame, resolvedRound, resolvedAggregator, resolvedChallenger, resolvedAggregatorWon) =
        (gameId, roundId, agg, ch, aggregatorWon);
    }

    // ------------------------------------------------------------ helpers

    function _open(uint64 steps) internal returns (uint256) {
        return game.open(ROUND, aggregator, challenger, H0, HT, steps);
    }

    /// The honest aggregator's commitment of state k in these tests.
    function _h(uint256 gameId, uint64 k) internal pure returns (bytes32) {
        return keccak256(abi.encode("state", gameId, k));
    }

    function _bisect(uint256 gameId, bytes32 hMid) internal returns (uint64 mid) {
        BisectionGame.GameView memory g = game.game(gameId);
        mid = g.lo + (g.hi - g.lo) / 2;
        vm.prank(aggregator);
        game.bisect(gameId, g.lo, g.hi, g.hHi, hMid);
    }

    function _respond(uint256 gameId, bool agree) internal {
        BisectionGame.GameView memory g = game.game(gameId);
        vm.prank(challenger);
        game.respond(gameId, g.lo + (g.hi - g.lo) / 2, g.pendingMid, agree);
    }

    /// Plays `choices` (bit r = agree in round r) until the leaf; returns the number of rounds.
    function _playDown(uint256 gameId, uint256 choices) internal returns (uint256 rounds) {
        while (game.game(gameId).status == BisectionGame.GameStatus.AwaitingMid) {
            BisectionGame.GameView memory before = game.game(gameId);
            uint64 mid = _bisect(gameId, _h(gameId, before.lo + (before.hi - before.lo) / 2));
            bool agree = (choices >> rounds) & 1 == 1;
            _respond(gameId, agree);
            BisectionGame.GameView memory g = game.game(gameId);
            assertLt(g.lo, g.hi, "lo < hi");
            if (agree) {
                assertEq(g.lo, mid);
                assertEq(g.hi, before.hi);
                assertEq(g.hLo, _h(gameId, mid));
                assertEq(g.hHi, before.hHi);
            } else {
                assertEq(g.lo, before.lo);
                assertEq(g.hi, mid);
                assertEq(g.hLo, before.hLo);
                assertEq(g.hHi, _h(gameId, mid));
            }
            ++rounds;
        }
    }

    function _ceilLog2(uint256 x) internal pure returns (uint256 r) {
        while ((uint256(1) << r) < x) ++r;
    }

    function _noLeaf() internal pure returns (bytes memory leaf) {}

    // ------------------------------------------------------------ constructor and open

    function test_constructor_zeroAddresses_revert() public {
        vm.expectRevert(BisectionGame.ZeroAddress.selector);
        new BisectionGame(address(0), address(arbiter), CLOCK, EXTENSION);
        vm.expectRevert(BisectionGame.ZeroAddress.selector);
        new BisectionGame(address(this), address(0), CLOCK, EXTENSION);
    }

    function test_constructor_invalidClock_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(BisectionGame.InvalidClock.selector, 0, 0));
        new BisectionGame(address(this), address(arbiter), 0, 0);
        vm.expectRevert(abi.encodeWithSelector(BisectionGame.InvalidClock.selector, 60, 61));
        new BisectionGame(address(this), address(arbiter), 60, 61);
    }

    function test_constructor_storesParameters() public view {
        assertEq(game.registry(), address(this));
        assertEq(game.arbiter(), address(arbiter));
        assertEq(uint256(game.clock()), CLOCK);
        assertEq(uint256(game.extension()), EXTENSION);
    }

    function test_open_happyPath() public {
        vm.expectEmit(true, true, false, true, address(game));
        emit BisectionGame.GameOpened(1, ROUND, aggregator, challenger, 10, H0, HT);
        uint256 id = _open(10);
        assertEq(id, 1);
        assertEq(game.gameCount(), 1);
        BisectionGame.GameView memory g = game.game(id);
        assertEq(g.roundId, ROUND);
        assertEq(g.aggregator, aggregator);
        assertEq(g.challenger, challenger);
        assertEq(g.lo, 0);
        assertEq(g.hi, 10);
        assertEq(g.hLo, H0);
        assertEq(g.hHi, HT);
        assertEq(g.pendingMid, bytes32(0));
        assertTrue(g.status == BisectionGame.GameStatus.AwaitingMid);
        assertEq(g.aggregatorClock, CLOCK);
        assertEq(g.challengerClock, CLOCK);
        assertEq(g.lastMoveAt, block.timestamp);
        assertEq(g.moves, 0);
        assertTrue(game.sideToMove(id) == BisectionGame.Side.Aggregator);
        assertEq(_open(3), 2);
    }

    function test_open_oneStep_startsAtLeaf() public {
        uint256 id = _open(1);
        assertTrue(game.game(id).status == BisectionGame.GameStatus.AwaitingLeaf);
        assertTrue(game.sideToMove(id) == BisectionGame.Side.Aggregator);
    }

    function test_open_notRegistry_reverts() public {
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(BisectionGame.Unauthorized.selector, outsider));
        game.open(ROUND, aggregator, challenger, H0, HT, 10);
    }

    function test_open_zeroSteps_reverts() public {
        vm.expectRevert(BisectionGame.NoSteps.selector);
        _open(0);
    }

    function test_views_unknownGame_revert() public {
        vm.expectRevert(abi.encodeWithSelector(BisectionGame.UnknownGame.selector, 5));
        game.game(5);
        vm.expectRevert(abi.encodeWithSelector(BisectionGame.UnknownGame.selector, 5));
        game.challengerCost(5);
        vm.expectRevert(abi.encodeWithSelector(BisectionGame.UnknownGame.selector, 5));
        game.sideToMove(5);
        vm.expectRevert(abi.encodeWithSelector(BisectionGame.UnknownGame.selector, 5));
        game.remainingTime(5, true);
        vm.expectRevert(abi.encodeWithSelector(BisectionGame.UnknownGame.selector, 5));
        game.timeout(5);
    }

    // ------------------------------------------------------------ bisect

    function test_bisect_happyPath() public {
        uint256 id = _open(10);
        vm.warp(block.timestamp + 100);
        vm.expectEmit(true, false, false, true, address(game));
        emit BisectionGame.Bisected(id, 0, 10, 5, keccak256("m"));
        vm.prank(aggregator);
        game.bisect(id, 0, 10, HT, keccak256("m"));
        BisectionGame.GameView memory g = game.game(id);
        assertEq(g.pendingMid, keccak256("m"));
        assertTrue(g.status == BisectionGame.GameStatus.AwaitingResponse);
        assertEq(g.aggregatorClock, CLOCK - 100);
        assertEq(g.challengerClock, CLOCK);
        assertEq(g.lastMoveAt, block.timestamp);
        assertEq(g.moves, 1);
        assertTrue(game.sideToMove(id) == BisectionGame.Side.Challenger);
    }

    function test_bisect_notAggregator_reverts() public {
        uint256 id = _open(10);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(BisectionGame.Unauthorized.selector, challenger));
        game.bisect(id, 0, 10, HT, keccak256("m"));
    }

    function test_bisect_unknownGame_reverts() public {
        vm.prank(aggregator);
        vm.expectRevert(abi.encodeWithSelector(BisectionGame.UnknownGame.selector, 1));
        game.bisect(1, 0, 10, HT, keccak256("m"));
    }

    function test_bisect_wrongStatus_reverts() public {
        uint256 id = _open(10);
        _bisect(id, keccak256("m"));
        vm.prank(aggregator);
        vm.expectRevert(
            abi.encodeWithSelector(
                BisectionGame.WrongStatus.selector, id, BisectionGame.GameStatus.AwaitingResponse
            )
        );
        game.bisect(id, 0, 10, HT, keccak256("m2"));
    }

    function test_bisect_wrongLo_reverts() public {
        uint256 id = _open(10);
        vm.prank(aggregator);
        vm.expectRevert(abi.encodeWithSelector(BisectionGame.StaleMove.selector, id));
        game.bisect(id, 1, 10, HT, keccak256("m"));
    }

    function test_bisect_wrongHi_reverts() public {
        uint256 id = _open(10);
        vm.prank(aggregator);
        vm.expectRevert(abi.encodeWithSelector(BisectionGame.StaleMove.selector, id));
        game.bisect(id, 0, 9, HT, keccak256("m"));
    }

    function test_bisect_wrongClaim_reverts() public {
        uint256 id = _open(10);
        vm.prank(aggregator);
        vm.expectRevert(abi.encodeWithSelector(BisectionGame.StaleMove.selector, id));
        game.bisect(id, 0, 10, keccak256("not the claim"), keccak256("m"));
    }

    /// A bisect prepared for an interval the game has since left (a reorg, a race) is refused.
    function test_bisect_staleIntervalAfterResponse_reverts() public {
        uint256 id = _open(16);
        _bisect(id, _h(id, 8));
        _respond(id, false); // now [0, 8], hHi = h(8)
        vm.prank(aggregator);
        vm.expectRevert(abi.encodeWithSelector(BisectionGame.StaleMove.selector, id));
        game.bisect(id, 0, 16, HT, keccak256("old"));
        vm.prank(aggregator);
        vm.expectRevert(abi.encodeWithSelector(BisectionGame.StaleMove.selector, id));
        game.bisect(id, 0, 8, HT, keccak256("old claim")); // right interval, stale claim
        vm.prank(aggregator);
        game.bisect(id, 0, 8, _h(id, 8), _h(id, 4));
    }

    function test_bisect_clockExpired_reverts() public {
        uint256 id = _open(10);
        vm.warp(block.timestamp + CLOCK);
        vm.prank(aggregator);
        vm.expectRevert(
            abi.encodeWithSelector(BisectionGame.ClockExpired.selector, id, BisectionGame.Side.Aggregator)
        );
        game.bisect(id, 0, 10, HT, keccak256("m"));
    }

    function test_bisect_lastSecond_succeeds() public {
        uint256 id = _open(10);
        vm.warp(block.timestamp + CLOCK - 1);
        _bisect(id, keccak256("m"));
        assertEq(game.game(id).aggregatorClock, 1);
    }

    function test_bisect_afterResolution_reverts() public {
        uint256 id = _open(10);
        vm.warp(block.timestamp + CLOCK);
        game.timeout(id);
        vm.prank(aggregator);
        vm.expectRevert(
            abi.encodeWithSelector(
                BisectionGame.WrongStatus.selector, id, BisectionGame.GameStatus.ChallengerWon
            )
        );
        game.bisect(id, 0, 10, HT, keccak256("m"));
    }

    // ------------------------------------------------------------ respond

    function test_respond_agree_movesLo() public {
        uint256 id = _open(10);
        _bisect(id, keccak256("m5"));
        vm.warp(block.timestamp + 30);
        vm.expectEmit(true, false, false, true, address(game));
        emit BisectionGame.Responded(id, 5, keccak256("m5"), true, 5, 10);
        vm.prank(challenger);
        game.respond(id, 5, keccak256("m5"), true);
        BisectionGame.GameView memory g = game.game(id);
        assertEq(g.lo, 5);
        assertEq(g.hi, 10);
        assertEq(g.hLo, keccak256("m5"));
        assertEq(g.hHi, HT);
        assertEq(g.pendingMid, bytes32(0));
        assertTrue(g.status == BisectionGame.GameStatus.AwaitingMid);
        assertEq(g.challengerClock, CLOCK - 30);
        assertEq(g.moves, 2);
    }

    function test_respond_disagree_movesHi() public {
        uint256 id = _open(10);
        _bisect(id, keccak256("m5"));
        vm.prank(challenger);
        game.respond(id, 5, keccak256("m5"), false);
        BisectionGame.GameView memory g = game.game(id);
        assertEq(g.lo, 0);
        assertEq(g.hi, 5);
        assertEq(g.hLo, H0);
        assertEq(g.hHi, keccak256("m5"));
    }

    function test_respond_notChallenger_reverts() public {
        uint256 id = _open(10);
        _bisect(id, keccak256("m5"));
        vm.prank(aggregator);
        vm.expectRevert(abi.encodeWithSelector(BisectionGame.Unauthorized.selector, aggregator));
        game.respond(id, 5, keccak256("m5"), true);
    }

    function test_respond_wrongStatus_reverts() public {
        uint256 id = _open(10);
        vm.prank(challenger);
        vm.expectRevert(
            abi.encodeWithSelector(
                BisectionGame.WrongStatus.selector, id, BisectionGame.GameStatus.AwaitingMid
            )
        );
        game.respond(id, 5, keccak256("m5"), true);
    }

    function test_respond_wrongMid_reverts() public {
        uint256 id = _open(10);
        _bisect(id, keccak256("m5"));
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(BisectionGame.StaleMove.selector, id));
        game.respond(id, 4, keccak256("m5"), true);
    }

    function test_respond_wrongClaim_reverts() public {
        uint256 id = _open(10);
        _bisect(id, keccak256("m5"));
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(BisectionGame.StaleMove.selector, id));
        game.respond(id, 5, keccak256("another claim"), true);
    }

    /// An "agree" prepared for an earlier claim at the same midpoint cannot be replayed.
    function test_respond_staleClaimFromEarlierRound_reverts() public {
        uint256 id = _open(4);
        _bisect(id, _h(id, 2));
        _respond(id, true); // [2, 4]
        _bisect(id, _h(id, 3));
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(BisectionGame.StaleMove.selector, id));
        game.respond(id, 2, _h(id, 2), true); // the old midpoint and claim
    }

    function test_respond_clockExpired_reverts() public {
        uint256 id = _open(10);
        _bisect(id, keccak256("m5"));
        vm.warp(block.timestamp + CLOCK);
        vm.prank(challenger);
        vm.expectRevert(
            abi.encodeWithSelector(BisectionGame.ClockExpired.selector, id, BisectionGame.Side.Challenger)
        );
        game.respond(id, 5, keccak256("m5"), true);
    }

    // ------------------------------------------------------------ down to the leaf

    function test_bisection_intervalShapes_reachLeafInCeilLog2Rounds() public {
        uint64[14] memory shapes = [uint64(2), 3, 4, 5, 6, 7, 8, 9, 31, 32, 33, 1000, 1 << 20, (1 << 31) - 1];
        uint256[3] memory patterns = [uint256(0), type(uint256).max, 0x5555555555555555];
        for (uint256 s; s < shapes.length; ++s) {
            for (uint256 p; p < patterns.length; ++p) {
                uint256 id = _open(shapes[s]);
                uint256 rounds = _playDown(id, patterns[p]);
                BisectionGame.GameView memory g = game.game(id);
                assertTrue(g.status == BisectionGame.GameStatus.AwaitingLeaf, "at leaf");
                assertEq(g.hi, g.lo + 1, "unit interval");
                assertLe(rounds, _ceilLog2(shapes[s]), "rounds");
                assertEq(g.moves, 2 * rounds);
                if (patterns[p] == 0) assertEq(g.lo, 0, "always disagree ends at 0");
                if (patterns[p] == type(uint256).max) assertEq(g.hi, shapes[s], "always agree ends at T");
            }
        }
    }

    function testFuzz_bisection_anyChoices_reachLeaf(uint64 steps, uint256 choices) public {
        steps = uint64(bound(steps, 2, type(uint64).max));
        uint256 id = _open(steps);
        uint256 rounds = _playDown(id, choices);
        BisectionGame.GameView memory g = game.game(id);
        assertTrue(g.status == BisectionGame.GameStatus.AwaitingLeaf);
        assertEq(g.hi, g.lo + 1);
        assertLe(rounds, _ceilLog2(steps));
        assertLe(g.hi, steps);
        // The interval is where the choices say it is: hLo is h0 or an agreed claim, hHi is hT
        // or a disputed claim.
        assertEq(g.hLo, g.lo == 0 ? H0 : _h(id, g.lo));
        assertEq(g.hHi, g.hi == steps ? HT : _h(id, g.hi));
    }

    // ------------------------------------------------------------ clocks

    function test_clocks_chargeOnlyTheMover() public {
        uint256 id = _open(100);
        vm.warp(block.timestamp + 100);
        assertEq(game.remainingTime(id, true), CLOCK - 100);
        assertEq(game.remainingTime(id, false), CLOCK);
        _bisect(id, keccak256("m"));
        vm.warp(block.timestamp + 250);
        assertEq(game.remainingTime(id, true), CLOCK - 100);
        assertEq(game.remainingTime(id, false), CLOCK - 250);
        _respond(id, true);
        BisectionGame.GameView memory g = game.game(id);
        assertEq(g.aggregatorClock, CLOCK - 100);
        assertEq(g.challengerClock, CLOCK - 250);
        vm.warp(block.timestamp + CLOCK);
        assertEq(game.remainingTime(id, true), 0, "saturates at zero");
    }

    /// A side whose clock is almost gone gets `extension` after its opponent moves, so the
    /// opponent cannot win by moving at the last second.
    function test_extension_topsUpOpponentBelowExtension() public {
        uint256 id = _open(1000);
        _bisect(id, keccak256("a"));
        vm.warp(block.timestamp + CLOCK - 60); // challenger leaves itself 60 s
        _respond(id, true);
        assertEq(game.game(id).challengerClock, 60);
        vm.warp(block.timestamp + CLOCK - 1); // aggregator replies at its last second
        _bisect(id, keccak256("b"));
        BisectionGame.GameView memory g = game.game(id);
        assertEq(g.aggregatorClock, 1);
        assertEq(g.challengerClock, EXTENSION, "challenger topped up to the extension");
        vm.warp(block.timestamp + EXTENSION - 1);
        _respond(id, false); // still in time thanks to the extension
        assertEq(game.game(id).aggregatorClock, EXTENSION, "aggregator topped up too");
        assertEq(game.game(id).challengerClock, 1);
    }

    /// Both sides stalling as long as they can (every move at its last second, then the
    /// aggregator letting its clock run out at the leaf): the game still ends within
    /// 2·clock + moves·extension, so a challenge delays finality by a bounded time.
    function testFuzz_gameDuration_boundedWhenBothSidesStall(uint64 steps, uint256 choices) public {
        steps = uint64(bound(steps, 2, 1 << 40));
        uint256 id = _open(steps);
        uint256 start = block.timestamp;
        uint256 rounds;
        while (game.game(id).status == BisectionGame.GameStatus.AwaitingMid) {
            vm.warp(block.timestamp + game.remainingTime(id, true) - 1);
            _bisect(id, keccak256(abi.encode(rounds)));
            vm.warp(block.timestamp + game.remainingTime(id, false) - 1);
            _respond(id, (choices >> rounds) & 1 == 1);
            ++rounds;
        }
        vm.warp(block.timestamp + game.remainingTime(id, true));
        game.timeout(id);
        uint256 moves = game.game(id).moves;
        assertEq(moves, 2 * rounds);
        assertLe(block.timestamp - start, 2 * uint256(CLOCK) + moves * EXTENSION, "duration bound");
    }

    function test_extension_doesNotLowerAClockAboveIt() public {
        uint256 id = _open(1000);
        _bisect(id, keccak256("a"));
        assertEq(game.game(id).challengerClock, CLOCK);
        _respond(id, true);
        assertEq(game.game(id).aggregatorClock, CLOCK);
    }

    // ------------------------------------------------------------ timeout

    function test_timeout_aggregatorToMove_challengerWins() public {
        uint256 id = _open(10);
        vm.warp(block.timestamp + CLOCK);
        vm.expectEmit(true, true, false, true, address(game));
        emit BisectionGame.GameResolved(id, ROUND, false, BisectionGame.Resolution.Timeout);
        vm.prank(outsider);
        game.timeout(id);
        BisectionGame.GameView memory g = game.game(id);
        assertTrue(g.status == BisectionGame.GameStatus.ChallengerWon);
        assertEq(g.aggregatorClock, 0);
        assertTrue(game.sideToMove(id) == BisectionGame.Side.None);
        assertEq(resolvedCount, 1);
        assertEq(resolvedGame, id);
        assertEq(resolvedRound, ROUND);
        assertEq(resolvedAggregator, aggregator);
        assertEq(resolvedChallenger, challenger);
        assertFalse(resolvedAggregatorWon);
        assertEq(game.challengerCost(id), 0, "no base fee, no cost");
    }

    function test_timeout_challengerToMove_aggregatorWins() public {
        uint256 id = _open(10);
        _bisect(id, keccak256("m"));
        vm.warp(block.timestamp + CLOCK);
        game.timeout(id);
        assertTrue(game.game(id).status == BisectionGame.GameStatus.AggregatorWon);
        assertEq(game.game(id).challengerClock, 0);
        assertTrue(resolvedAggregatorWon);
    }

    function test_timeout_atLeaf_aggregatorBearsBurden() public {
        uint256 id = _open(2);
        _bisect(id, keccak256("m"));
        _respond(id, true);
        assertTrue(game.game(id).status == BisectionGame.GameStatus.AwaitingLeaf);
        assertTrue(game.sideToMove(id) == BisectionGame.Side.Aggregator);
        vm.warp(block.timestamp + CLOCK);
        game.timeout(id);
        assertTrue(game.game(id).status == BisectionGame.GameStatus.ChallengerWon);
    }

    function test_timeout_clockNotExpired_reverts() public {
        uint256 id = _open(10);
        vm.warp(block.timestamp + CLOCK - 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                BisectionGame.ClockNotExpired.selector, id, BisectionGame.Side.Aggregator, 1
            )
        );
        game.timeout(id);
    }

    function test_timeout_resolvedGame_reverts() public {
        uint256 id = _open(10);
        vm.warp(block.timestamp + CLOCK);
        game.timeout(id);
        vm.expectRevert(
            abi.encodeWithSelector(
                BisectionGame.WrongStatus.selector, id, BisectionGame.GameStatus.ChallengerWon
            )
        );
        game.timeout(id);
        assertEq(resolvedCount, 1);
    }

    // ------------------------------------------------------------ proveLeaf

    function _toLeaf(uint64 steps, uint256 choices) internal returns (uint256 id) {
        id = _open(steps);
        _playDown(id, choices);
    }

    function test_proveLeaf_trueClaim_aggregatorWins() public {
        uint256 id = _toLeaf(9, 0x2);
        BisectionGame.GameView memory g = game.game(id);
        arbiter.expectQuery(ROUND, g.lo, g.hLo);
        arbiter.setAnswer(g.hHi);
        vm.expectEmit(true, false, false, true, address(game));
        emit BisectionGame.LeafProven(id, g.lo, g.hHi, g.hHi);
        vm.prank(outsider);
        game.proveLeaf(id, _noLeaf());
        assertTrue(game.game(id).status == BisectionGame.GameStatus.AggregatorWon);
        assertTrue(resolvedAggregatorWon);
        assertEq(game.game(id).moves, g.moves + 1);
    }

    function test_proveLeaf_falseClaim_challengerWins() public {
        uint256 id = _toLeaf(9, 0x5);
        BisectionGame.GameView memory g = game.game(id);
        arbiter.expectQuery(ROUND, g.lo, g.hLo);
        arbiter.setAnswer(keccak256("the true state"));
        vm.prank(challenger);
        game.proveLeaf(id, _noLeaf());
        assertTrue(game.game(id).status == BisectionGame.GameStatus.ChallengerWon);
        assertFalse(resolvedAggregatorWon);
    }

    function test_proveLeaf_oneStepGame() public {
        uint256 id = _open(1);
        arbiter.expectQuery(ROUND, 0, H0);
        arbiter.setAnswer(HT);
        game.proveLeaf(id, _noLeaf());
        assertTrue(game.game(id).status == BisectionGame.GameStatus.AggregatorWon);
    }

    function test_proveLeaf_notAtLeaf_reverts() public {
        uint256 id = _open(10);
        vm.expectRevert(
            abi.encodeWithSelector(
                BisectionGame.WrongStatus.selector, id, BisectionGame.GameStatus.AwaitingMid
            )
        );
        game.proveLeaf(id, _noLeaf());
    }

    function test_proveLeaf_arbiterRejects_revertsAndDecidesNothing() public {
        uint256 id = _toLeaf(4, 0);
        arbiter.setRejects(true);
        vm.expectRevert(MockArbiter.ArbiterRejects.selector);
        game.proveLeaf(id, _noLeaf());
        assertTrue(game.game(id).status == BisectionGame.GameStatus.AwaitingLeaf);
        assertEq(resolvedCount, 0);
    }

    /// Once the aggregator's clock has run out it cannot win by proving; the challenger still can.
    function test_proveLeaf_aggregatorClockExpired_timeoutRuleApplies() public {
        uint256 id = _toLeaf(4, 0);
        BisectionGame.GameView memory g = game.game(id);
        vm.warp(block.timestamp + g.aggregatorClock);
        arbiter.setAnswer(g.hHi);
        vm.expectRevert(
            abi.encodeWithSelector(BisectionGame.ClockExpired.selector, id, BisectionGame.Side.Aggregator)
        );
        game.proveLeaf(id, _noLeaf());
        arbiter.setAnswer(keccak256("the true state"));
        game.proveLeaf(id, _noLeaf());
        assertTrue(game.game(id).status == BisectionGame.GameStatus.ChallengerWon);
    }

    function test_proveLeaf_twice_reverts() public {
        uint256 id = _open(1);
        arbiter.setAnswer(HT);
        game.proveLeaf(id, _noLeaf());
        vm.expectRevert(
            abi.encodeWithSelector(
                BisectionGame.WrongStatus.selector, id, BisectionGame.GameStatus.AggregatorWon
            )
        );
        game.proveLeaf(id, _noLeaf());
        assertEq(resolvedCount, 1);
    }

    /// Games are independent: moves in one never touch another.
    function test_games_areIndependent() public {
        uint256 a = _open(8);
        uint256 b = game.open(ROUND + 1, outsider, challenger, keccak256("x"), keccak256("y"), 8);
        _bisect(a, keccak256("m"));
        BisectionGame.GameView memory gb = game.game(b);
        assertTrue(gb.status == BisectionGame.GameStatus.AwaitingMid);
        assertEq(gb.aggregator, outsider);
        vm.prank(aggregator);
        vm.expectRevert(abi.encodeWithSelector(BisectionGame.Unauthorized.selector, aggregator));
        game.bisect(b, 0, 8, keccak256("y"), keccak256("m"));
    }

    // ------------------------------------------------------------ metered challenger cost

    uint256 internal constant BASE_FEE = 10 gwei;

    function test_respond_baseFee_meteredIntoChallengerCost() public {
        vm.fee(BASE_FEE);
        vm.txGasPrice(3 * BASE_FEE); // the priority fee is never counted
        uint256 id = _open(10);
        _bisect(id, keccak256("m5"));
        assertEq(game.game(id).challengerCost, 0, "the aggregator's moves are not the challenger's cost");
        vm.prank(challenger);
        uint256 g0 = gasleft();
        game.respond(id, 5, keccak256("m5"), true);
        uint256 used = g0 - gasleft();
        uint256 cost = game.game(id).challengerCost;
        assertGt(cost, 0);
        assertEq(cost % BASE_FEE, 0, "priced at the base fee");
        // Called by a contract (msg.sender != tx.origin): execution only, which the call used.
        assertLe(cost, used * BASE_FEE, "at most what the call burnt");
        _bisect(id, keccak256("m7"));
        assertEq(game.game(id).challengerCost, cost, "bisect adds nothing");
        _respond(id, false);
        assertGt(game.game(id).challengerCost, cost, "each response adds its cost");
    }

    /// A response sent straight from the challenger's EOA is charged the intrinsic 21,000 and
    /// its calldata too, and never more than the whole transaction.
    function test_respond_fromEoa_countsIntrinsicAndCalldata() public {
        vm.fee(BASE_FEE);
        uint256 id = _open(10);
        _bisect(id, keccak256("m5"));
        bytes memory cd = abi.encodeCall(BisectionGame.respond, (id, 5, keccak256("m5"), true));
        vm.prank(challenger, challenger);
        uint256 g0 = gasleft();
        game.respond(id, 5, keccak256("m5"), true);
        uint256 used = g0 - gasleft();
        uint256 charged = game.game(id).challengerCost / BASE_FEE;
        (uint256 z, uint256 nz) = Updates.countBytes(cd);
        assertGe(charged, 21_000 + 4 * z + 16 * nz, "intrinsic and calldata counted");
        assertLe(charged, Updates.chargedGas(cd, used), "never above the whole transaction");
    }

    /// The meter prices its own final write of the challenger's cost as on chain, where each
    /// move is a transaction of its own and the slot is clean (2,900 gas). A forge test is one
    /// transaction: the responses already wrote the slot, so the write costs 100 here.
    uint256 internal constant DIRTY_SLOT_DISCOUNT = 2_900 - 100;

    /// A leaf sent straight from the challenger's EOA is charged with its calldata.
    function test_proveLeaf_fromEoa_countsLeafCalldata() public {
        vm.fee(BASE_FEE);
        uint256 id = _toLeaf(4, 0x1);
        uint256 before = game.game(id).challengerCost;
        arbiter.setAnswer(keccak256("the true state"));
        bytes memory leaf = _filled(3_520, 0xab); // the size of the largest FedAvg leaf
        bytes memory cd = abi.encodeCall(BisectionGame.proveLeaf, (id, leaf));
        vm.prank(challenger, challenger);
        uint256 g0 = gasleft();
        game.proveLeaf(id, leaf);
        uint256 used = g0 - gasleft();
        uint256 charged = (game.game(id).challengerCost - before) / BASE_FEE;
        (uint256 z, uint256 nz) = Updates.countBytes(cd);
        assertGe(charged, 21_000 + 4 * z + 16 * nz, "intrinsic and the whole leaf counted");
        assertLe(
            charged, Updates.chargedGas(cd, used + DIRTY_SLOT_DISCOUNT), "never above the whole transaction"
        );
    }

    /// A leaf longer than MAX_LEAF_BYTES is counted only up to it: the rest is the sender's
    /// own padding, credited to nobody.
    function test_proveLeaf_fromEoa_leafCountedAtMostMaxLeafBytes() public {
        vm.fee(BASE_FEE);
        uint256 id = _toLeaf(4, 0x1);
        uint256 before = game.game(id).challengerCost;
        arbiter.setAnswer(keccak256("the true state"));
        uint256 max = game.MAX_LEAF_BYTES();
        bytes memory leaf = _filled(max + 4_096, 0xff);
        bytes memory cd = abi.encodeCall(BisectionGame.proveLeaf, (id, leaf));
        vm.prank(challenger, challenger);
        uint256 g0 = gasleft();
        game.proveLeaf(id, leaf);
        uint256 used = g0 - gasleft();
        uint256 charged = (game.game(id).challengerCost - before) / BASE_FEE;
        // The canonical calldata of a MAX_LEAF_BYTES leaf: selector, id, offset, length, data.
        bytes memory counted = new bytes(4 + 3 * 32 + max);
        for (uint256 k; k < counted.length; ++k) {
            counted[k] = cd[k];
        }
        assertLe(
            charged,
            Updates.chargedGas(counted, used + DIRTY_SLOT_DISCOUNT),
            "at most MAX_LEAF_BYTES of leaf counted"
        );
        (uint256 z, uint256 nz) = Updates.countBytes(counted);
        assertGe(charged, 21_000 + 4 * z + 16 * nz, "MAX_LEAF_BYTES of leaf counted");
    }

    function _filled(uint256 length, bytes1 value) internal pure returns (bytes memory b) {
        b = new bytes(length);
        for (uint256 k; k < length; ++k) {
            b[k] = value;
        }
    }

    function test_challengerCost_zeroBaseFee_isZero() public {
        uint256 id = _open(4);
        _bisect(id, keccak256("m"));
        _respond(id, true);
        _bisect(id, keccak256("m2"));
        _respond(id, true);
        arbiter.setAnswer(keccak256("truth"));
        vm.prank(challenger);
        game.proveLeaf(id, _noLeaf());
        assertEq(game.game(id).challengerCost, 0);
        assertEq(game.challengerCost(id), 0);
    }

    /// The challenger's own timeout claim is its cost; the registry reads the total.
    function test_timeout_byChallenger_meteredAndReported() public {
        vm.fee(BASE_FEE);
        uint256 id = _open(10);
        _bisect(id, keccak256("m5"));
        _respond(id, true);
        uint256 before = game.game(id).challengerCost;
        vm.warp(block.timestamp + CLOCK);
        vm.prank(challenger);
        game.timeout(id);
        uint256 cost = game.game(id).challengerCost;
        assertGt(cost, before, "the timeout claim is metered");
        assertFalse(resolvedAggregatorWon);
        assertEq(game.challengerCost(id), cost, "what the registry reads");
    }

    /// Anyone may claim a timeout or prove a leaf; only the challenger's own transactions are
    /// its cost.
    function test_timeout_byOutsider_notMetered() public {
        vm.fee(BASE_FEE);
        uint256 id = _open(10);
        vm.warp(block.timestamp + CLOCK);
        vm.prank(outsider);
        game.timeout(id);
        assertEq(game.challengerCost(id), 0);
    }

    function test_proveLeaf_byChallenger_meteredAndReported() public {
        vm.fee(BASE_FEE);
        uint256 id = _toLeaf(4, 0x1);
        uint256 before = game.game(id).challengerCost;
        assertGt(before, 0, "two responses");
        arbiter.setAnswer(keccak256("the true state"));
        vm.prank(challenger);
        game.proveLeaf(id, _noLeaf());
        uint256 cost = game.game(id).challengerCost;
        assertGt(cost, before);
        assertEq(game.challengerCost(id), cost);
    }

    function test_proveLeaf_byAggregatorOrOutsider_notMetered() public {
        vm.fee(BASE_FEE);
        uint256 a = _toLeaf(4, 0x1);
        uint256 b = _toLeaf(4, 0x2);
        uint256 costA = game.game(a).challengerCost;
        uint256 costB = game.game(b).challengerCost;
        arbiter.setAnswer(game.game(a).hHi);
        vm.prank(aggregator);
        game.proveLeaf(a, _noLeaf());
        assertEq(game.game(a).challengerCost, costA);
        arbiter.setAnswer(keccak256("the true state"));
        vm.prank(outsider);
        game.proveLeaf(b, _noLeaf());
        assertEq(game.game(b).challengerCost, costB);
    }
}
