// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {FedAvgFixture} from "./base/FedAvgFixture.sol";
import {RoundRegistry} from "../src/RoundRegistry.sol";
import {BisectionGame} from "../src/BisectionGame.sol";
import {LeafArbiter} from "../src/LeafArbiter.sol";
import {AcceptingVerifier} from "./mocks/MockStepVerifier.sol";

/// Canonical scenarios for gas figures (`forge test --match-path test/Gas.t.sol --gas-report`,
/// and the scaling numbers printed with -vv). The verifiers accept everything here, so
/// `proveLeaf` shows the arbiter's and game's own cost; a real snark-verifier verifier adds
/// its verification (~310k gas measured for a comparable circuit, FIELD-NOTES §2b).
contract GasTest is FedAvgFixture {
    function setUp() public override {
        super.setUp();
        AcceptingVerifier yes = new AcceptingVerifier();
        registry = new RoundRegistry(AGG_BOND, CH_BOND, WINDOW);
        arbiter = new LeafArbiter(address(registry), address(yes), address(yes), GAS_CAP);
        game = new BisectionGame(address(registry), address(arbiter), CLOCK, EXTENSION);
        registry.setGame(address(game));
    }

    /// One round of 3 clients and 100 values (C = 4, T = 16), challenged twice: one game
    /// played down to an Accumulate leaf and proven, the other abandoned by its challenger and
    /// timed out; then the round is finalised and the aggregator withdraws.
    function test_gas_canonicalDispute() public {
        _buildRound(3, 100, 11);
        _postHonest();
        uint256 g1 = _challenge(roundId, challenger);
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
        BisectionGame.GameView memory other = game.game(g2);
        vm.prank(aggregator);
        game.bisect(g2, other.lo, other.hi, other.hHi, _stateHash(8, false));
        vm.warp(block.timestamp + CLOCK); // challenger2 never answers
        game.timeout(g2);
        vm.warp(uint256(registry.round(roundId).postedAt) + WINDOW);
        registry.finalize(roundId);
        vm.prank(aggregator);
        registry.withdraw();
    }

    /// A Finalize leaf (step 3 finalises chunk 0).
    function test_gas_finalizeLeaf() public {
        _buildRound(3, 100, 12);
        _postHonest();
        uint256 g1 = _challenge(roundId, challenger);
        while (game.game(g1).status == BisectionGame.GameStatus.AwaitingMid) {
            BisectionGame.GameView memory g = game.game(g1);
            uint64 mid = g.lo + (g.hi - g.lo) / 2;
            vm.prank(aggregator);
            game.bisect(g1, g.lo, g.hi, g.hHi, _stateHash(mid, false));
            vm.prank(challenger);
            game.respond(g1, mid, _stateHash(mid, false), mid <= 3);
        }
        assertEq(game.game(g1).lo, 3);
        game.proveLeaf(g1, _leafInput(3));
    }

    /// How openRound and postResult scale with the number of clients (printed with -vv).
    function test_gas_scaling() public {
        uint256[4] memory sizes = [uint256(1), 16, 64, 255];
        for (uint256 s; s < sizes.length; ++s) {
            address[] memory list = new address[](sizes[s]);
            for (uint256 k; k < sizes[s]; ++k) {
                list[k] = address(uint160(0x77_0000 + 1000 * s + k));
            }
            uint256 before = gasleft();
            uint256 id = registry.openRound(list, 1 << 20, aggregator, COMMIT_PERIOD);
            emit log_named_uint(
                string.concat("openRound, clients = ", vm.toString(sizes[s])), before - gasleft()
            );
            for (uint256 k; k < sizes[s]; ++k) {
                vm.prank(list[k]);
                registry.commitUpdate(id, uint32(k), keccak256(abi.encode(k)), 1);
            }
            vm.prank(aggregator);
            before = gasleft();
            registry.postResult{value: AGG_BOND}(id, keccak256("out"));
            emit log_named_uint(
                string.concat("postResult, participants = ", vm.toString(sizes[s])), before - gasleft()
            );
        }
    }
}
