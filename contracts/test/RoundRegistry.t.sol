// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Fixture} from "./base/Fixture.sol";
import {Ref} from "./base/Reference.sol";
import {RoundRegistry} from "../src/RoundRegistry.sol";
import {BisectionGame} from "../src/BisectionGame.sol";
import {Commitments} from "../src/lib/Commitments.sol";

/// A payee that refuses ether.
contract Refuser {
    function withdrawFrom(RoundRegistry r) external {
        r.withdraw();
    }

    receive() external payable {
        revert("no thanks");
    }
}

/// A payee that tries to withdraw again from inside the payout.
contract Reentrant {
    RoundRegistry internal immutable registry;
    uint256 public reentries;
    bool public innerSucceeded;

    constructor(RoundRegistry r) {
        registry = r;
    }

    function withdraw() external {
        registry.withdraw();
    }

    receive() external payable {
        ++reentries;
        try registry.withdraw() {
            innerSucceeded = true;
        } catch {}
    }
}

contract RoundRegistryTest is Fixture {
    bytes32 internal constant OUT = keccak256("output root");

    // ------------------------------------------------------------ constructor, setGame

    function test_constructor_storesParameters() public view {
        assertEq(registry.aggregatorBond(), AGG_BOND);
        assertEq(registry.challengerBond(), CH_BOND);
        assertEq(uint256(registry.challengeWindow()), WINDOW);
        assertEq(registry.deployer(), address(this));
        assertEq(registry.game(), address(game));
        assertEq(registry.roundCount(), 0);
    }

    function test_setGame_emitsAndStores() public {
        RoundRegistry r = new RoundRegistry(1, 1, 1);
        vm.expectEmit(true, false, false, true, address(r));
        emit RoundRegistry.GameSet(address(0x1234));
        r.setGame(address(0x1234));
        assertEq(r.game(), address(0x1234));
    }

    function test_setGame_notDeployer_reverts() public {
        RoundRegistry r = new RoundRegistry(1, 1, 1);
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.Unauthorized.selector, outsider));
        r.setGame(address(0x1234));
    }

    function test_setGame_twice_reverts() public {
        vm.expectRevert(RoundRegistry.GameAlreadySet.selector);
        registry.setGame(address(0x1234));
    }

    function test_setGame_zero_reverts() public {
        RoundRegistry r = new RoundRegistry(1, 1, 1);
        vm.expectRevert(RoundRegistry.ZeroAddress.selector);
        r.setGame(address(0));
    }

    // ------------------------------------------------------------ openRound

    function test_openRound_happyPath() public {
        address[] memory list = _clients(3);
        vm.expectEmit(true, true, false, true, address(registry));
        emit RoundRegistry.RoundOpened(1, aggregator, 100, 3, uint64(block.timestamp) + COMMIT_PERIOD);
        uint256 id = registry.openRound(list, 100, aggregator, COMMIT_PERIOD);
        assertEq(id, 1);
        assertEq(registry.roundCount(), 1);
        RoundRegistry.RoundView memory r = registry.round(id);
        assertTrue(r.status == RoundRegistry.RoundStatus.Committing);
        assertEq(r.aggregator, aggregator);
        assertEq(r.dim, 100);
        assertEq(r.chunks, 4);
        assertEq(r.commitDeadline, block.timestamp + COMMIT_PERIOD);
        assertEq(r.clientCount, 3);
        assertEq(r.committedCount, 0);
        assertEq(r.participants, 0);
        assertEq(r.postedAt, 0);
        address[] memory stored = registry.clients(id);
        assertEq(stored.length, 3);
        for (uint256 k; k < 3; ++k) {
            assertEq(stored[k], list[k]);
        }
        assertEq(registry.openRound(list, 1, aggregator, 1), 2, "ids increase");
    }

    function test_openRound_maxClientsAndMaxDim_succeeds() public {
        uint256 id = registry.openRound(_clients(255), uint32(1 << 28), aggregator, COMMIT_PERIOD);
        RoundRegistry.RoundView memory r = registry.round(id);
        assertEq(r.clientCount, 255);
        assertEq(r.chunks, 1 << 23);
    }

    function test_openRound_noClients_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.InvalidClientCount.selector, 0));
        registry.openRound(new address[](0), 10, aggregator, COMMIT_PERIOD);
    }

    function test_openRound_tooManyClients_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.InvalidClientCount.selector, 256));
        registry.openRound(_clients(256), 10, aggregator, COMMIT_PERIOD);
    }

    function test_openRound_zeroClient_reverts() public {
        address[] memory list = _clients(4);
        list[2] = address(0);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.ZeroClient.selector, 2));
        registry.openRound(list, 10, aggregator, COMMIT_PERIOD);
    }

    function test_openRound_duplicateClient_reverts() public {
        address[] memory list = _clients(5);
        list[4] = list[1];
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.DuplicateClient.selector, list[1]));
        registry.openRound(list, 10, aggregator, COMMIT_PERIOD);
    }

    /// Addresses that share their low 9 bits collide in the hash set; distinct ones must pass
    /// and a real duplicate behind a collision chain must still be found.
    function test_openRound_hashSetCollisions_handled() public {
        address[] memory list = new address[](4);
        for (uint256 k; k < 4; ++k) {
            list[k] = address(uint160((k + 1) << 9 | 0x1ff));
        }
        registry.openRound(list, 10, aggregator, COMMIT_PERIOD);
        list[3] = list[0];
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.DuplicateClient.selector, list[0]));
        registry.openRound(list, 10, aggregator, COMMIT_PERIOD);
    }

    function testFuzz_openRound_duplicateAnywhere_reverts(uint256 count, uint256 a, uint256 b) public {
        count = bound(count, 2, 60);
        a = bound(a, 0, count - 1);
        b = bound(b, 0, count - 1);
        vm.assume(a != b);
        address[] memory list = _clients(count);
        list[b] = list[a];
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.DuplicateClient.selector, list[a]));
        registry.openRound(list, 10, aggregator, COMMIT_PERIOD);
    }

    function test_openRound_zeroDim_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.InvalidDim.selector, 0));
        registry.openRound(_clients(1), 0, aggregator, COMMIT_PERIOD);
    }

    function test_openRound_dimTooLarge_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.InvalidDim.selector, (1 << 28) + 1));
        registry.openRound(_clients(1), uint32((1 << 28) + 1), aggregator, COMMIT_PERIOD);
    }

    function test_openRound_zeroAggregator_reverts() public {
        vm.expectRevert(RoundRegistry.ZeroAddress.selector);
        registry.openRound(_clients(1), 10, address(0), COMMIT_PERIOD);
    }

    function test_openRound_zeroCommitPeriod_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.InvalidCommitPeriod.selector, 0));
        registry.openRound(_clients(1), 10, aggregator, 0);
    }

    function test_openRound_commitPeriodOverflow_reverts() public {
        uint64 p = type(uint64).max;
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.InvalidCommitPeriod.selector, p));
        registry.openRound(_clients(1), 10, aggregator, p);
    }

    // ------------------------------------------------------------ commitUpdate

    function test_commitUpdate_happyPath() public {
        uint256 id = _open(3, 64);
        bytes32 root = _updateRoot(id, 1);
        vm.expectEmit(true, true, true, true, address(registry));
        emit RoundRegistry.UpdateCommitted(id, 1, _client(1), root, 42);
        _commit(id, 1, 42);
        (bytes32 r, uint32 w) = registry.commitment(id, 1);
        assertEq(r, root);
        assertEq(w, 42);
        (r, w) = registry.commitment(id, 0);
        assertEq(r, bytes32(0));
        assertEq(registry.round(id).committedCount, 1);
    }

    function test_commitUpdate_unknownRound_reverts() public {
        vm.prank(_client(0));
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.UnknownRound.selector, 9));
        registry.commitUpdate(9, 0, keccak256("x"), 1);
    }

    function test_commitUpdate_wrongSender_reverts() public {
        uint256 id = _open(3, 64);
        vm.prank(_client(2));
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.Unauthorized.selector, _client(2)));
        registry.commitUpdate(id, 1, keccak256("x"), 1);
    }

    function test_commitUpdate_indexOutOfRange_reverts() public {
        uint256 id = _open(3, 64);
        vm.prank(_client(0));
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.InvalidClientIndex.selector, 3, 3));
        registry.commitUpdate(id, 3, keccak256("x"), 1);
    }

    function test_commitUpdate_atDeadline_reverts() public {
        uint256 id = _open(3, 64);
        uint64 deadline = registry.round(id).commitDeadline;
        vm.warp(deadline - 1);
        _commit(id, 0, 1); // last second is fine
        vm.warp(deadline);
        vm.prank(_client(1));
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.CommitClosed.selector, id, deadline));
        registry.commitUpdate(id, 1, keccak256("x"), 1);
    }

    function test_commitUpdate_twice_reverts() public {
        uint256 id = _open(3, 64);
        _commit(id, 0, 1);
        vm.prank(_client(0));
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.AlreadyCommitted.selector, id, 0));
        registry.commitUpdate(id, 0, keccak256("other"), 2);
    }

    function test_commitUpdate_zeroRoot_reverts() public {
        uint256 id = _open(3, 64);
        vm.prank(_client(0));
        vm.expectRevert(RoundRegistry.ZeroUpdateRoot.selector);
        registry.commitUpdate(id, 0, bytes32(0), 1);
    }

    function test_commitUpdate_zeroWeight_reverts() public {
        uint256 id = _open(3, 64);
        vm.prank(_client(0));
        vm.expectRevert(RoundRegistry.ZeroWeight.selector);
        registry.commitUpdate(id, 0, keccak256("x"), 0);
    }

    function test_commitUpdate_afterPost_reverts() public {
        uint256 id = _posted(2, 64, OUT);
        vm.prank(_client(0));
        vm.expectRevert(
            abi.encodeWithSelector(
                RoundRegistry.WrongRoundStatus.selector, id, RoundRegistry.RoundStatus.Posted
            )
        );
        registry.commitUpdate(id, 0, keccak256("x"), 1);
    }

    // ------------------------------------------------------------ postResult

    function _expectedConfig(uint256 id, bytes32 inputRoot, uint256 n, uint256 dim, uint256 w)
        internal
        view
        returns (bytes32)
    {
        return keccak256(abi.encode(address(registry), id, inputRoot, n, dim, w));
    }

    function test_postResult_allCommitted_beforeDeadline() public {
        uint256 id = _open(3, 100);
        _commit(id, 0, 1);
        _commit(id, 1, 2);
        _commit(id, 2, 3);
        bytes32[] memory leaves = new bytes32[](3);
        for (uint256 k; k < 3; ++k) {
            leaves[k] = Ref.participantLeaf(_updateRoot(id, k), uint32(k + 1));
        }
        bytes32 inputRoot = Ref.root(leaves);
        bytes32 config = _expectedConfig(id, inputRoot, 3, 100, 6);
        vm.expectEmit(true, false, false, true, address(registry));
        emit RoundRegistry.ResultPosted(id, OUT, inputRoot, config, 3, 6);
        vm.prank(aggregator);
        registry.postResult{value: AGG_BOND}(id, OUT);

        RoundRegistry.RoundView memory r = registry.round(id);
        assertTrue(r.status == RoundRegistry.RoundStatus.Posted);
        assertEq(r.participants, 3);
        assertEq(r.totalWeight, 6);
        assertEq(r.inputRoot, inputRoot);
        assertEq(r.configHash, config);
        assertEq(r.outputRoot, OUT);
        assertEq(r.postedAt, block.timestamp);
        (bytes32 c, bytes32 ir, uint32 n, uint32 dim, uint64 w) = registry.stepContext(id);
        assertEq(c, config);
        assertEq(ir, inputRoot);
        assertEq(n, 3);
        assertEq(dim, 100);
        assertEq(w, 6);
        assertEq(address(registry).balance, AGG_BOND);
    }

    /// Participants are the committed clients in index order, whatever the arrival order.
    function test_postResult_partialAfterDeadline_participantsInIndexOrder() public {
        uint256 id = _open(5, 40);
        _commit(id, 3, 7);
        _commit(id, 1, 5);
        vm.warp(registry.round(id).commitDeadline);
        vm.prank(aggregator);
        registry.postResult{value: AGG_BOND}(id, OUT);
        bytes32[] memory leaves = new bytes32[](2);
        leaves[0] = Ref.participantLeaf(_updateRoot(id, 1), 5);
        leaves[1] = Ref.participantLeaf(_updateRoot(id, 3), 7);
        RoundRegistry.RoundView memory r = registry.round(id);
        assertEq(r.participants, 2);
        assertEq(r.totalWeight, 12);
        assertEq(r.inputRoot, Ref.root(leaves));
        assertEq(r.configHash, _expectedConfig(id, Ref.root(leaves), 2, 40, 12));
        assertEq(registry.steps(id), 2 * 3);
    }

    function test_postResult_notAggregator_reverts() public {
        uint256 id = _open(1, 10);
        _commit(id, 0, 1);
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.Unauthorized.selector, outsider));
        registry.postResult{value: AGG_BOND}(id, OUT);
    }

    function test_postResult_wrongBond_reverts() public {
        uint256 id = _open(1, 10);
        _commit(id, 0, 1);
        vm.startPrank(aggregator);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.WrongBond.selector, AGG_BOND - 1, AGG_BOND));
        registry.postResult{value: AGG_BOND - 1}(id, OUT);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.WrongBond.selector, AGG_BOND + 1, AGG_BOND));
        registry.postResult{value: AGG_BOND + 1}(id, OUT);
        vm.stopPrank();
    }

    function test_postResult_zeroOutputRoot_reverts() public {
        uint256 id = _open(1, 10);
        _commit(id, 0, 1);
        vm.prank(aggregator);
        vm.expectRevert(RoundRegistry.ZeroOutputRoot.selector);
        registry.postResult{value: AGG_BOND}(id, bytes32(0));
    }

    function test_postResult_commitPhaseOpen_reverts() public {
        uint256 id = _open(2, 10);
        _commit(id, 0, 1);
        uint64 deadline = registry.round(id).commitDeadline;
        vm.warp(deadline - 1);
        vm.prank(aggregator);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.CommitPhaseOpen.selector, id, deadline));
        registry.postResult{value: AGG_BOND}(id, OUT);
    }

    function test_postResult_noCommitments_reverts() public {
        uint256 id = _open(2, 10);
        vm.warp(registry.round(id).commitDeadline);
        vm.prank(aggregator);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.NoCommitments.selector, id));
        registry.postResult{value: AGG_BOND}(id, OUT);
    }

    function test_postResult_twice_reverts() public {
        uint256 id = _posted(1, 10, OUT);
        vm.prank(aggregator);
        vm.expectRevert(
            abi.encodeWithSelector(
                RoundRegistry.WrongRoundStatus.selector, id, RoundRegistry.RoundStatus.Posted
            )
        );
        registry.postResult{value: AGG_BOND}(id, OUT);
    }

    function test_postResult_unknownRound_reverts() public {
        vm.prank(aggregator);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.UnknownRound.selector, 1));
        registry.postResult{value: AGG_BOND}(1, OUT);
    }

    function test_postResult_totalWeightTooLarge_reverts() public {
        uint256 id = _open(2, 10);
        _commit(id, 0, type(uint32).max);
        _commit(id, 1, 1);
        vm.prank(aggregator);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.TotalWeightTooLarge.selector, uint256(1) << 32));
        registry.postResult{value: AGG_BOND}(id, OUT);
    }

    function test_postResult_maxTotalWeight_succeeds() public {
        uint256 id = _open(2, 10);
        _commit(id, 0, type(uint32).max - 1);
        _commit(id, 1, 1);
        vm.prank(aggregator);
        registry.postResult{value: AGG_BOND}(id, OUT);
        assertEq(registry.round(id).totalWeight, type(uint32).max);
    }

    function test_postResult_255Participants_succeeds() public {
        uint256 id = _open(255, 64);
        for (uint256 k; k < 255; ++k) {
            _commit(id, k, 1);
        }
        vm.prank(aggregator);
        registry.postResult{value: AGG_BOND}(id, OUT);
        assertEq(registry.round(id).participants, 255);
        assertEq(registry.steps(id), 2 * 256);
    }

    // ------------------------------------------------------------ derived states

    function test_endpoints_matchReference() public {
        uint256 id = _posted(3, 100, OUT); // C = 4, depth 2
        bytes32 config = registry.round(id).configHash;
        bytes32 zeroAcc = Ref.accHash(
            [
                int64(0),
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0
            ]
        );
        assertEq(registry.steps(id), 16);
        assertEq(registry.initialState(id), Ref.stateHash(config, 0, zeroAcc, Ref.root(new bytes32[](4))));
        assertEq(registry.finalState(id), Ref.stateHash(config, 16, zeroAcc, OUT));
    }

    function test_views_beforePost_revert() public {
        uint256 id = _open(1, 10);
        bytes memory err = abi.encodeWithSelector(
            RoundRegistry.WrongRoundStatus.selector, id, RoundRegistry.RoundStatus.Committing
        );
        vm.expectRevert(err);
        registry.stepContext(id);
        vm.expectRevert(err);
        registry.initialState(id);
        vm.expectRevert(err);
        registry.finalState(id);
        vm.expectRevert(err);
        registry.steps(id);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.UnknownRound.selector, 7));
        registry.steps(7);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.InvalidClientIndex.selector, 1, 1));
        registry.commitment(id, 1);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.UnknownRound.selector, 7));
        registry.clients(7);
    }

    function test_round_unknownId_isAllZero() public view {
        RoundRegistry.RoundView memory r = registry.round(42);
        assertTrue(r.status == RoundRegistry.RoundStatus.None);
        assertEq(r.aggregator, address(0));
    }

    // ------------------------------------------------------------ challenge

    function test_challenge_opensGameWithEndpoints() public {
        uint256 id = _posted(2, 70, OUT); // C = 3, T = 9
        vm.expectEmit(true, true, true, true, address(registry));
        emit RoundRegistry.Challenged(id, 1, challenger);
        uint256 gameId = _challenge(id, challenger);
        assertEq(gameId, 1);
        assertEq(registry.round(id).openGames, 1);
        assertTrue(registry.hasChallenged(id, challenger));
        BisectionGame.GameView memory g = game.game(gameId);
        assertEq(g.roundId, id);
        assertEq(g.aggregator, aggregator);
        assertEq(g.challenger, challenger);
        assertEq(g.lo, 0);
        assertEq(g.hi, 9);
        assertEq(g.hLo, registry.initialState(id));
        assertEq(g.hHi, registry.finalState(id));
        assertTrue(g.status == BisectionGame.GameStatus.AwaitingMid);
        assertEq(address(registry).balance, AGG_BOND + CH_BOND);
        assertEq(_challenge(id, challenger2), 2);
        assertEq(registry.round(id).openGames, 2);
    }

    function test_challenge_notPosted_reverts() public {
        uint256 id = _open(1, 10);
        vm.prank(challenger);
        vm.expectRevert(
            abi.encodeWithSelector(
                RoundRegistry.WrongRoundStatus.selector, id, RoundRegistry.RoundStatus.Committing
            )
        );
        registry.challenge{value: CH_BOND}(id);
    }

    function test_challenge_unknownRound_reverts() public {
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.UnknownRound.selector, 3));
        registry.challenge{value: CH_BOND}(3);
    }

    function test_challenge_windowBoundary() public {
        uint256 id = _posted(1, 10, OUT);
        uint256 closesAt = block.timestamp + WINDOW;
        vm.warp(closesAt - 1);
        _challenge(id, challenger);
        vm.warp(closesAt);
        vm.prank(challenger2);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.ChallengeWindowClosed.selector, id, closesAt));
        registry.challenge{value: CH_BOND}(id);
    }

    function test_challenge_wrongBond_reverts() public {
        uint256 id = _posted(1, 10, OUT);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.WrongBond.selector, 1, CH_BOND));
        registry.challenge{value: 1}(id);
    }

    function test_challenge_byAggregator_reverts() public {
        uint256 id = _posted(1, 10, OUT);
        vm.prank(aggregator);
        vm.expectRevert(RoundRegistry.SelfChallenge.selector);
        registry.challenge{value: CH_BOND}(id);
    }

    function test_challenge_twiceBySameChallenger_reverts() public {
        uint256 id = _posted(1, 10, OUT);
        _challenge(id, challenger);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.AlreadyChallenged.selector, id, challenger));
        registry.challenge{value: CH_BOND}(id);
    }

    function test_challenge_gameNotSet_reverts() public {
        RoundRegistry r = new RoundRegistry(AGG_BOND, CH_BOND, WINDOW);
        uint256 id = r.openRound(_clients(1), 10, aggregator, COMMIT_PERIOD);
        vm.prank(_client(0));
        r.commitUpdate(id, 0, keccak256("u"), 1);
        vm.prank(aggregator);
        r.postResult{value: AGG_BOND}(id, OUT);
        vm.prank(challenger);
        vm.expectRevert(RoundRegistry.GameNotSet.selector);
        r.challenge{value: CH_BOND}(id);
    }

    function test_challenge_rejectedRound_reverts() public {
        uint256 id = _posted(1, 10, OUT);
        _challengerWinsByTimeout(id, challenger);
        vm.prank(challenger2);
        vm.expectRevert(
            abi.encodeWithSelector(
                RoundRegistry.WrongRoundStatus.selector, id, RoundRegistry.RoundStatus.Rejected
            )
        );
        registry.challenge{value: CH_BOND}(id);
    }

    // ------------------------------------------------------------ finalize

    function test_finalize_afterWindow_creditsAggregator() public {
        uint256 id = _posted(1, 10, OUT);
        vm.warp(block.timestamp + WINDOW);
        vm.expectEmit(true, false, false, true, address(registry));
        emit RoundRegistry.RoundFinalized(id, OUT);
        vm.prank(outsider);
        registry.finalize(id);
        assertTrue(_status(id) == RoundRegistry.RoundStatus.Finalized);
        assertEq(registry.credit(aggregator), AGG_BOND);
    }

    function test_finalize_beforeWindow_reverts() public {
        uint256 id = _posted(1, 10, OUT);
        uint256 closesAt = block.timestamp + WINDOW;
        vm.warp(closesAt - 1);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.ChallengeWindowOpen.selector, id, closesAt));
        registry.finalize(id);
    }

    function test_finalize_openGame_reverts() public {
        uint256 id = _posted(1, 10, OUT);
        _challenge(id, challenger);
        vm.warp(block.timestamp + WINDOW);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.GamesOpen.selector, id, 1));
        registry.finalize(id);
    }

    function test_finalize_twice_reverts() public {
        uint256 id = _posted(1, 10, OUT);
        vm.warp(block.timestamp + WINDOW);
        registry.finalize(id);
        vm.expectRevert(
            abi.encodeWithSelector(
                RoundRegistry.WrongRoundStatus.selector, id, RoundRegistry.RoundStatus.Finalized
            )
        );
        registry.finalize(id);
    }

    function test_finalize_committing_reverts() public {
        uint256 id = _open(1, 10);
        vm.expectRevert(
            abi.encodeWithSelector(
                RoundRegistry.WrongRoundStatus.selector, id, RoundRegistry.RoundStatus.Committing
            )
        );
        registry.finalize(id);
    }

    function test_finalize_rejected_reverts() public {
        uint256 id = _posted(1, 10, OUT);
        _challengerWinsByTimeout(id, challenger);
        vm.warp(block.timestamp + WINDOW);
        vm.expectRevert(
            abi.encodeWithSelector(
                RoundRegistry.WrongRoundStatus.selector, id, RoundRegistry.RoundStatus.Rejected
            )
        );
        registry.finalize(id);
    }

    // ------------------------------------------------------------ resolveGame

    function _challengerWinsByTimeout(uint256 id, address who) internal returns (uint256 gameId) {
        gameId = _challenge(id, who);
        vm.warp(block.timestamp + CLOCK);
        game.timeout(gameId);
    }

    function _aggregatorWinsByTimeout(uint256 id, address who) internal returns (uint256 gameId) {
        gameId = _challenge(id, who);
        BisectionGame.GameView memory g = game.game(gameId);
        vm.prank(aggregator);
        game.bisect(gameId, g.lo, g.hi, g.hHi, keccak256("mid"));
        vm.warp(block.timestamp + CLOCK);
        game.timeout(gameId);
    }

    function test_resolveGame_onlyGame_reverts() public {
        uint256 id = _posted(1, 10, OUT);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.Unauthorized.selector, address(this)));
        registry.resolveGame(1, id, aggregator, challenger, false);
    }

    function test_resolveGame_aggregatorWins_getsChallengerBond() public {
        uint256 id = _posted(1, 10, OUT);
        _aggregatorWinsByTimeout(id, challenger);
        assertEq(registry.credit(aggregator), CH_BOND);
        assertEq(registry.credit(challenger), 0);
        assertTrue(_status(id) == RoundRegistry.RoundStatus.Posted);
        assertEq(registry.round(id).openGames, 0);
        vm.warp(registry.round(id).postedAt + WINDOW);
        registry.finalize(id);
        assertEq(registry.credit(aggregator), CH_BOND + AGG_BOND);
        assertEq(address(registry).balance, AGG_BOND + CH_BOND);
    }

    function test_resolveGame_challengerWins_rejectsRound() public {
        uint256 id = _posted(1, 10, OUT);
        _challenge(id, challenger2); // a second game, still open
        uint256 g1 = _challenge(id, challenger);
        vm.warp(block.timestamp + CLOCK);
        vm.expectEmit(true, true, true, true, address(registry));
        emit RoundRegistry.RoundRejected(id, g1, challenger);
        game.timeout(g1);
        assertTrue(_status(id) == RoundRegistry.RoundStatus.Rejected);
        assertEq(registry.credit(challenger), CH_BOND + AGG_BOND);
        assertEq(registry.credit(aggregator), 0);
        assertEq(registry.round(id).openGames, 1);
        assertEq(address(registry).balance, registry.credit(challenger) + _heldBonds());
    }

    /// Once a round is rejected, its other games only refund their challengers, whoever wins.
    function test_resolveGame_afterRejection_refundsChallengerWhoeverWins() public {
        uint256 id = _posted(1, 10, OUT);
        uint256 g2 = _challenge(id, challenger2);
        bytes32 hT = game.game(g2).hHi;
        vm.prank(aggregator);
        game.bisect(g2, 0, 2, hT, keccak256("mid")); // challenger2 to move
        _challengerWinsByTimeout(id, challenger); // rejects; its clock started later
        vm.warp(block.timestamp + CLOCK);
        game.timeout(g2); // challenger2 ran out: the aggregator "wins"
        assertTrue(game.game(g2).status == BisectionGame.GameStatus.AggregatorWon);
        assertEq(registry.credit(challenger2), CH_BOND);
        assertEq(registry.credit(aggregator), 0);
        assertEq(registry.round(id).openGames, 0);
        assertEq(address(registry).balance, AGG_BOND + 2 * CH_BOND);
    }

    // ------------------------------------------------------------ withdraw

    function test_withdraw_paysAndZeroes() public {
        uint256 id = _posted(1, 10, OUT);
        vm.warp(block.timestamp + WINDOW);
        registry.finalize(id);
        uint256 before = aggregator.balance;
        vm.expectEmit(true, false, false, true, address(registry));
        emit RoundRegistry.Withdrawn(aggregator, AGG_BOND);
        vm.prank(aggregator);
        registry.withdraw();
        assertEq(aggregator.balance, before + AGG_BOND);
        assertEq(registry.credit(aggregator), 0);
        assertEq(address(registry).balance, 0);
    }

    function test_withdraw_nothing_reverts() public {
        vm.prank(outsider);
        vm.expectRevert(RoundRegistry.NothingToWithdraw.selector);
        registry.withdraw();
    }

    function test_withdraw_refusingPayee_revertsAndKeepsCredit() public {
        Refuser payee = new Refuser();
        uint256 id = registry.openRound(_clients(1), 10, address(payee), COMMIT_PERIOD);
        _commit(id, 0, 1);
        vm.deal(address(payee), AGG_BOND);
        vm.prank(address(payee));
        registry.postResult{value: AGG_BOND}(id, OUT);
        vm.warp(block.timestamp + WINDOW);
        registry.finalize(id);
        vm.expectRevert(
            abi.encodeWithSelector(RoundRegistry.WithdrawFailed.selector, address(payee), AGG_BOND)
        );
        payee.withdrawFrom(registry);
        assertEq(registry.credit(address(payee)), AGG_BOND);
    }

    function test_withdraw_reentrancy_paysOnce() public {
        Reentrant payee = new Reentrant(registry);
        uint256 id = registry.openRound(_clients(1), 10, address(payee), COMMIT_PERIOD);
        _commit(id, 0, 1);
        vm.deal(address(payee), AGG_BOND);
        vm.prank(address(payee));
        registry.postResult{value: AGG_BOND}(id, OUT);
        // Another account's credit sits in the registry too.
        uint256 id2 = _posted(1, 10, OUT);
        vm.warp(block.timestamp + WINDOW);
        registry.finalize(id);
        registry.finalize(id2);
        payee.withdraw();
        assertEq(payee.reentries(), 1);
        assertFalse(payee.innerSucceeded());
        assertEq(address(payee).balance, AGG_BOND);
        assertEq(address(registry).balance, AGG_BOND);
        assertEq(registry.credit(aggregator), AGG_BOND);
    }
}
