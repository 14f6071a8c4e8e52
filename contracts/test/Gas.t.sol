// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {ClippedFixture} from "./base/ClippedFixture.sol";
import {Updates} from "./base/Updates.sol";
import {RoundRegistry} from "../src/RoundRegistry.sol";
import {BisectionGame} from "../src/BisectionGame.sol";
import {AcceptingVerifier} from "./mocks/MockStepVerifier.sol";

/// Canonical scenarios for gas figures (`forge test --match-path test/Gas.t.sol --gas-report`,
/// and the per-action numbers printed with -vv). The verifiers accept everything here, so
/// `proveLeaf` shows the arbiter's and game's own cost; a real snark-verifier verifier adds
/// its verification (~310k gas measured for a comparable circuit, FIELD-NOTES §2b).
/// @dev A printed figure is the gas of the call's frame (`vm.lastCallGas`): the callee's
///      execution inside one forge transaction, so an account or slot the test touched before
///      is warm. It excludes the 21,000 intrinsic gas and the calldata gas; where calldata
///      matters (reveals) the charge EIP-7623 would put on the whole transaction is printed
///      beside it ("... tx total"). `forge test --isolate --gas-report` runs every call as a
///      transaction of its own (cold accesses, intrinsic gas and calldata included).
contract GasTest is ClippedFixture {
    function setUp() public override {
        super.setUp();
        AcceptingVerifier yes = new AcceptingVerifier();
        registry = new RoundRegistry(_params());
        arbiter = _arbiterWith(address(registry), _seven(address(yes)), GAS_CAP);
        game = new BisectionGame(address(registry), address(arbiter), CLOCK, EXTENSION);
        registry.setGame(address(game));
    }

    /// Logs the gas of the last call (the callee's frame, as forge measures it).
    function _log(string memory what) internal {
        emit log_named_uint(what, vm.lastCallGas().gasTotalUsed);
    }

    /// The calldata of client 0's reveal of segment `s`.
    function _revealCalldata(uint256 id, int32[] memory v, bytes32[] memory hashes, uint256 s)
        internal
        pure
        returns (bytes memory)
    {
        (bytes memory data, bytes32[] memory path) = Updates.reveal(v, hashes, s);
        return abi.encodeCall(RoundRegistry.revealSegment, (id, 0, uint32(s), data, path));
    }

    /// Sends a reveal's calldata, encoded beforehand (encoding 32 KiB in this contract's large
    /// memory would be counted otherwise), by client 0; logs its execution and the whole
    /// transaction's charge.
    function _logReveal(string memory what, bytes memory cd) internal {
        vm.prank(_client(0));
        (bool ok,) = address(registry).call(cd);
        uint256 used = vm.lastCallGas().gasTotalUsed;
        assertTrue(ok, what);
        emit log_named_uint(what, used);
        emit log_named_uint("  ... tx total (21k + calldata, EIP-7623)", Updates.chargedGas(cd, used));
    }

    /// Plays game `gameId` with honest claims, the challenger agreeing iff `agreeUpTo` >= mid;
    /// logs the first bisect and respond.
    function _playTo(uint256 gameId, uint64 agreeUpTo, bool log) internal {
        while (game.game(gameId).status == BisectionGame.GameStatus.AwaitingMid) {
            BisectionGame.GameView memory g = game.game(gameId);
            uint64 mid = g.lo + (g.hi - g.lo) / 2;
            bytes32 hMid = _stateHash(mid, false);
            vm.prank(aggregator);
            game.bisect(gameId, g.lo, g.hi, g.hHi, hMid);
            if (log) _log("bisect");
            vm.prank(g.challenger);
            game.respond(gameId, mid, hMid, mid <= agreeUpTo);
            if (log) _log("respond");
            log = false;
        }
    }

    /// One round of 3 clients and 100 values (C = 4, T = 16), challenged twice: one game
    /// played down to an Accumulate leaf and proven, the other abandoned by its challenger and
    /// timed out; then the round is finalised (the aggregator collects both beaten bonds) and
    /// the aggregator withdraws.
    function test_gas_canonicalDispute() public {
        _buildRound(3, 100, 11);
        _postHonest();
        vm.prank(challenger);
        uint256 g1 = registry.challenge{value: CH_BOND}(roundId);
        _log("challenge (opens a game)");
        uint256 g2 = _challenge(roundId, challenger2);
        // Challenger disagrees, agrees, disagrees, agrees: ends on step 5 (Accumulate, chunk 1).
        bool[4] memory agree = [false, true, false, true];
        for (uint256 r; r < 4; ++r) {
            BisectionGame.GameView memory g = game.game(g1);
            uint64 mid = g.lo + (g.hi - g.lo) / 2;
            bytes32 hMid = _stateHash(mid, false);
            vm.prank(aggregator);
            game.bisect(g1, g.lo, g.hi, g.hHi, hMid);
            vm.prank(challenger);
            game.respond(g1, mid, hMid, agree[r]);
        }
        BisectionGame.GameView memory leafGame = game.game(g1);
        assertTrue(leafGame.status == BisectionGame.GameStatus.AwaitingLeaf);
        vm.prank(aggregator);
        game.proveLeaf(g1, _leafInput(leafGame.lo));
        _log("proveLeaf, Accumulate, aggregator wins (resolve: bond held)");
        BisectionGame.GameView memory other = game.game(g2);
        vm.prank(aggregator);
        game.bisect(g2, other.lo, other.hi, other.hHi, _stateHash(8, false));
        vm.warp(block.timestamp + CLOCK); // challenger2 never answers
        game.timeout(g2);
        _log("timeout, aggregator wins (resolve: bond held)");
        vm.warp(uint256(registry.round(roundId).postedAt) + WINDOW);
        registry.finalize(roundId);
        _log("finalize (aggregator bond + 2 beaten bonds)");
        vm.prank(aggregator);
        registry.withdraw();
        _log("withdraw");
        assertEq(aggregator.balance, 100 ether + 2 * CH_BOND);
    }

    /// A Finalize leaf (step 3 finalises chunk 0).
    function test_gas_finalizeLeaf() public {
        _buildRound(3, 100, 12);
        _postHonest();
        uint256 g1 = _challenge(roundId, challenger);
        _playTo(g1, 3, true);
        assertEq(game.game(g1).lo, 3);
        game.proveLeaf(g1, _leafInput(3));
        _log("proveLeaf, Finalize, aggregator wins");
    }

    /// Halo2 leaf vs re-executing the step in Solidity (BENCHMARKS.md): the same two leaves
    /// proven through checkers whose "verifiers" are the statement-checking mocks, which
    /// re-check the step's arithmetic in Solidity from the instances instead of a proof.
    function test_gas_solidityReexecutionLeaves() public {
        registry = new RoundRegistry(_params());
        arbiter = _arbiterWith(address(registry), address(accVerifier), address(finVerifier), GAS_CAP);
        game = new BisectionGame(address(registry), address(arbiter), CLOCK, EXTENSION);
        registry.setGame(address(game));
        _buildRound(3, 100, 14);
        _postHonest();
        uint256 g1 = _challenge(roundId, challenger);
        uint256 g2 = _challenge(roundId, challenger2);
        _playTo(g1, 1, false);
        _playTo(g2, 3, false);
        assertEq(game.game(g1).lo, 1);
        assertEq(game.game(g2).lo, 3);
        game.proveLeaf(g1, _leafInput(1));
        _log("proveLeaf, Accumulate, re-executed in Solidity (mock verifier)");
        game.proveLeaf(g2, _leafInput(3));
        _log("proveLeaf, Finalize, re-executed in Solidity (mock verifier)");
        assertTrue(game.game(g1).status == BisectionGame.GameStatus.AggregatorWon);
        assertTrue(game.game(g2).status == BisectionGame.GameStatus.AggregatorWon);
    }

    /// Plays game `gameId` of an order-statistic round with honest claims, the challenger
    /// agreeing iff mid <= `target`, so that the game ends at step `target`.
    function _playOrderTo(uint256 gameId, uint256 target) internal {
        while (game.game(gameId).status == BisectionGame.GameStatus.AwaitingMid) {
            BisectionGame.GameView memory g = game.game(gameId);
            uint64 mid = g.lo + (g.hi - g.lo) / 2;
            bytes32 hMid = _orderStateHash(mid, false);
            vm.prank(aggregator);
            game.bisect(gameId, g.lo, g.hi, g.hHi, hMid);
            vm.prank(g.challenger);
            game.respond(gameId, mid, hMid, mid <= target);
        }
        assertEq(game.game(gameId).lo, target);
    }

    /// A Median round of 3 clients and 100 values (C = 4, 100 columns a row, T = 400): one
    /// game per order-statistic kind, played to a Rank step (row 1, pass 5, the last
    /// participant: it applies the pass's decision), a TrimSum step and the row's TrimEmit
    /// step, each proven; `postState` of the same leaves logged too.
    function _orderLeaves(string memory how) internal {
        _buildOrderRound(1, "", 3, 100, 21);
        _postHonest();
        uint256[3] memory targets = [uint256(117), 197, 199];
        string[3] memory names = ["Rank", "TrimSum", "TrimEmit"];
        address[3] memory who = [challenger, challenger2, outsider];
        for (uint256 t; t < 3; ++t) {
            bytes memory leaf = _orderLeafInput(targets[t]);
            bytes32 pre = _orderStateHash(targets[t], false);
            arbiter.postState(roundId, uint64(targets[t]), pre, leaf);
            _log(string.concat("postState, ", names[t], ", ", how));
            uint256 gameId = _challenge(roundId, who[t]);
            _playOrderTo(gameId, targets[t]);
            vm.prank(aggregator);
            game.proveLeaf(gameId, leaf);
            _log(string.concat("proveLeaf, ", names[t], ", ", how));
            assertTrue(game.game(gameId).status == BisectionGame.GameStatus.AggregatorWon);
        }
    }

    /// The order-statistic leaves with verifiers that accept everything: the game, the tables,
    /// the program's schedule and the checker's own work (decoding, preimage, openings, the
    /// register's packing).
    function test_gas_orderLeaves() public {
        _orderLeaves("accepting verifier");
    }

    /// Halo2 leaf vs re-executing the step in Solidity: the same leaves through checkers whose
    /// "verifiers" are the statement-checking mocks (`MockOrderVerifier`), which decode the
    /// instances and re-run the Rank / TrimSum / TrimEmit relation in Solidity.
    function test_gas_orderSolidityReexecutionLeaves() public {
        _reexecutingArbiter();
        _orderLeaves("re-executed in Solidity (mock verifier)");
    }

    /// A clipped round of 3 clients and 100 values (C = 4, prologue P = 15): one game per
    /// clipped kind, each proven by the aggregator, `postState` of the same leaves logged too.
    /// Over FedAvg (T_b = 16): a Norm step (participant 1, clipped, leaf 1), its Scale step, the
    /// Clip of its Accumulate in row 1 and the Clip of row 1's Finalize. Over the median
    /// (T_b = 400): the Clips of the Rank, TrimSum and TrimEmit steps `_orderLeaves` proves.
    function _clippedLeaves(uint8 baseRule, string memory how) internal {
        _buildClippedRound(baseRule, "", 1 << 18, 3, 100, 22);
        _postHonest();
        assertLt(scales[1], 1 << 32, "participant 1 is clipped");
        uint256[4] memory targets =
            baseRule == 0 ? [uint256(6), 9, 15 + 5, 15 + 7] : [uint256(15 + 117), 15 + 197, 15 + 199, 0];
        string[4] memory names = baseRule == 0
            ? ["Norm", "Scale", "Clip(Accumulate)", "Clip(Finalize)"]
            : ["Clip(Rank)", "Clip(TrimSum)", "Clip(TrimEmit)", ""];
        address[4] memory who = [challenger, challenger2, outsider, address(0xC0FFEE3)];
        for (uint256 t; t < (baseRule == 0 ? 4 : 3); ++t) {
            bytes memory leaf = _clippedLeafInput(targets[t]);
            bytes32 pre = _clippedStateHash(targets[t], false);
            arbiter.postState(roundId, uint64(targets[t]), pre, leaf);
            _log(string.concat("postState, ", names[t], ", ", how));
            vm.deal(who[t], 10 ether);
            uint256 gameId = _challenge(roundId, who[t]);
            while (game.game(gameId).status == BisectionGame.GameStatus.AwaitingMid) {
                BisectionGame.GameView memory g = game.game(gameId);
                uint64 mid = g.lo + (g.hi - g.lo) / 2;
                bytes32 hMid = _clippedStateHash(mid, false);
                vm.prank(aggregator);
                game.bisect(gameId, g.lo, g.hi, g.hHi, hMid);
                vm.prank(g.challenger);
                game.respond(gameId, mid, hMid, mid <= targets[t]);
            }
            assertEq(game.game(gameId).lo, targets[t]);
            vm.prank(aggregator);
            game.proveLeaf(gameId, leaf);
            _log(string.concat("proveLeaf, ", names[t], ", ", how));
            assertTrue(game.game(gameId).status == BisectionGame.GameStatus.AggregatorWon);
        }
    }

    /// The clipped kinds with verifiers that accept everything.
    function test_gas_clippedFedAvgLeaves() public {
        _clippedLeaves(0, "accepting verifier");
    }

    function test_gas_clippedMedianLeaves() public {
        _clippedLeaves(1, "accepting verifier");
    }

    function _reexecutingArbiter() internal {
        registry = new RoundRegistry(_params());
        arbiter = _arbiterWith(address(registry), address(accVerifier), address(finVerifier), GAS_CAP);
        game = new BisectionGame(address(registry), address(arbiter), CLOCK, EXTENSION);
        registry.setGame(address(game));
    }

    /// The clipped kinds with the statement-checking mocks (`MockNormVerifier` for Norm and
    /// Scale, the base kinds' mocks under a Clip): re-executing each step in Solidity.
    function test_gas_clippedFedAvgSolidityReexecutionLeaves() public {
        _reexecutingArbiter();
        _clippedLeaves(0, "re-executed in Solidity (mock verifier)");
    }

    function test_gas_clippedMedianSolidityReexecutionLeaves() public {
        _reexecutingArbiter();
        _clippedLeaves(1, "re-executed in Solidity (mock verifier)");
    }

    /// A wrong result challenged twice, with a base fee so the costs are metered: the first
    /// game is won at the leaf (rejects the round), the second by timeout; the first claim
    /// settles the slashed bond, the last burns what is left of the pool.
    function test_gas_rejectedRound() public {
        vm.fee(10 gwei);
        _buildRound(3, 100, 13);
        claimedOutputOf[1][0] = outputOf[1][0] + 1;
        _postClaimed();
        uint256 g1 = _challenge(roundId, challenger);
        uint256 g2 = _challenge(roundId, challenger2);
        // The first wrong state is 2·4 (the claimed output root after chunk 1): play towards it.
        while (game.game(g1).status == BisectionGame.GameStatus.AwaitingMid) {
            BisectionGame.GameView memory g = game.game(g1);
            uint64 mid = g.lo + (g.hi - g.lo) / 2;
            bytes32 hMid = _stateHash(mid, true);
            vm.prank(aggregator);
            game.bisect(g1, g.lo, g.hi, g.hHi, hMid);
            vm.prank(challenger);
            game.respond(g1, mid, hMid, hMid == _stateHash(mid, false));
        }
        BisectionGame.GameView memory leafGame = game.game(g1);
        vm.prank(challenger);
        game.proveLeaf(g1, _leafInput(leafGame.lo));
        _log("proveLeaf, challenger wins (resolve: rejects the round)");
        vm.warp(block.timestamp + CLOCK);
        vm.prank(challenger2);
        game.timeout(g2);
        _log("timeout, challenger wins, last game (resolve)");
        registry.claimGame(g1);
        _log("claimGame (first: settles the slashed bond)");
        registry.claimGame(g2);
        _log("claimGame (last: burns what is left of the pool)");
        _assertConserved();
    }

    /// Availability: a challenge of a three-segment update (8192·2 + 100 values) answered with
    /// a full 256-leaf segment (32 KiB), another full one and the partial last one; a challenge
    /// of a one-segment update (200 values) answered; a challenge left unanswered and settled;
    /// the deposits released; an unposted round expired.
    function test_gas_availability() public {
        uint32 bigDim = 8192 * 2 + 100;
        uint256 id = _open(3, bigDim);
        int32[] memory v = Updates.values(1, bigDim);
        bytes32[] memory hashes = Updates.leafHashes(v);
        uint256 deposit = registry.depositFor(bigDim);
        bytes32 root = _refRoot(hashes);
        vm.deal(_client(0), deposit);
        vm.prank(_client(0));
        registry.commitUpdate{value: deposit}(id, 0, root, 7);
        _log("commitUpdate (first, with deposit)");
        _commit(id, 1, 3);
        vm.deal(_client(2), deposit);
        vm.prank(_client(2));
        registry.commitUpdate{value: deposit}(id, 2, keccak256("withheld"), 5);
        _log("commitUpdate (last: closes the commit phase)");

        uint256 bond = registry.availabilityBondFor(bigDim);
        vm.prank(challenger);
        registry.challengeAvailability{value: bond}(id, 0);
        _log("challengeAvailability");
        _challengeAvailability(id, 2, challenger2);

        string[3] memory names = [
            "revealSegment, full 256-leaf segment (32 KiB), exec",
            "revealSegment, second full segment, exec",
            "revealSegment, last segment (4 leaves, 400 bytes), exec"
        ];
        for (uint256 s; s < 3; ++s) {
            _logReveal(names[s], _revealCalldata(id, v, hashes, s));
        }
        _toPostPhase(id);
        registry.settleAvailability(id, 2);
        _log("settleAvailability (client excluded)");
        registry.releaseDeposit(id, 0);
        _log("releaseDeposit");
        (depositOut[id][0], depositOut[id][2]) = (true, true);
        vm.warp(registry.round(id).postDeadline);
        registry.expireRound(id);
        _log("expireRound");

        // A one-segment update of 200 values (7 leaves, 800 bytes).
        uint256 small = _open(1, 200);
        int32[] memory w = Updates.values(2, 200);
        bytes32[] memory wh = Updates.leafHashes(w);
        _commitRoot(small, 0, _refRoot(wh), 1);
        _challengeAvailability(small, 0, challenger);
        _logReveal(
            "revealSegment, one-segment update (200 values, 800 bytes), exec",
            _revealCalldata(small, w, wh, 0)
        );
        _assertConserved();
    }

    /// How openRound, commitUpdate and postResult scale with the number of clients (printed
    /// with -vv); postResult hashes the participant tree and the config.
    function test_gas_scaling() public {
        uint256[5] memory sizes = [uint256(1), 8, 16, 64, 255];
        for (uint256 s; s < sizes.length; ++s) {
            address[] memory list = new address[](sizes[s]);
            for (uint256 k; k < sizes[s]; ++k) {
                list[k] = address(uint160(0x77_0000 + 1000 * s + k));
            }
            uint256 id = registry.openRound(list, 1 << 20, aggregator, COMMIT_PERIOD, 0, "");
            _log(string.concat("openRound, clients = ", vm.toString(sizes[s])));
            uint256 deposit = registry.depositFor(1 << 20);
            for (uint256 k; k < sizes[s]; ++k) {
                vm.deal(list[k], deposit);
                vm.prank(list[k]);
                registry.commitUpdate{value: deposit}(id, uint32(k), keccak256(abi.encode(k)), 1);
                if (k + 1 == sizes[s] && sizes[s] > 1) {
                    _log(string.concat("commitUpdate (last of ", vm.toString(sizes[s]), ")"));
                }
            }
            _toPostPhase(id);
            (bytes32 config,,,) = registry.pendingConfig(id);
            _log(string.concat("pendingConfig (view), participants = ", vm.toString(sizes[s])));
            vm.prank(aggregator);
            registry.postResult{value: AGG_BOND}(id, keccak256("out"), config);
            _log(string.concat("postResult, participants = ", vm.toString(sizes[s])));
        }
    }
}
