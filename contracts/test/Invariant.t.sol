// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "./base/Test.sol";
import {Vm} from "./base/Vm.sol";
import {RoundRegistry} from "../src/RoundRegistry.sol";
import {BisectionGame} from "../src/BisectionGame.sol";
import {ILeafArbiter} from "../src/interfaces/ILeafArbiter.sol";
import {MockArbiter} from "./mocks/MockArbiter.sol";

/// Drives the registry and the game through random sequences of every action. Each action
/// picks a target that makes it likely to succeed; a failing action is swallowed (the runner
/// does not fail on reverts), so only the invariants judge.
contract BondHandler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    RoundRegistry public immutable registry;
    BisectionGame public immutable game;
    MockArbiter public immutable arbiter;
    uint256 public immutable aggBond;
    uint256 public immutable chBond;

    address[] public aggregators;
    address[] public challengers;
    address[] public clients;

    /// How many times each action succeeded (for the summary).
    mapping(bytes32 => uint256) public calls;

    constructor(RoundRegistry registry_, BisectionGame game_, MockArbiter arbiter_) {
        registry = registry_;
        game = game_;
        arbiter = arbiter_;
        aggBond = registry_.aggregatorBond();
        chBond = registry_.challengerBond();
        aggregators = [address(0xA1), address(0xA2)];
        challengers = [address(0xC1), address(0xC2), address(0xC3), address(0xA2)];
        clients = [address(0x101), address(0x102), address(0x103), address(0x104)];
    }

    function actors() external view returns (address[] memory all) {
        all = new address[](aggregators.length + challengers.length);
        for (uint256 k; k < aggregators.length; ++k) {
            all[k] = aggregators[k];
        }
        // 0xA2 is both an aggregator and a challenger; list it once.
        uint256 m = aggregators.length;
        for (uint256 k; k < challengers.length; ++k) {
            if (challengers[k] != address(0xA2)) all[m++] = challengers[k];
        }
        assembly {
            mstore(all, m)
        }
    }

    function _pick(address[] storage list, uint256 seed) internal view returns (address) {
        return list[seed % list.length];
    }

    function _round(uint256 seed) internal view returns (uint256) {
        uint256 count = registry.roundCount();
        return count == 0 ? 0 : 1 + seed % count;
    }

    function _game(uint256 seed) internal view returns (uint256) {
        uint256 count = game.gameCount();
        return count == 0 ? 0 : 1 + seed % count;
    }

    // ------------------------------------------------------------ actions

    function openAndCommit(uint256 seed, uint8 commits, uint32 dim) external {
        uint256 count = 1 + seed % clients.length;
        address[] memory list = new address[](count);
        for (uint256 k; k < count; ++k) {
            list[k] = clients[k];
        }
        dim = uint32(1 + dim % 300);
        uint256 id = registry.openRound(list, dim, _pick(aggregators, seed >> 8), 1 hours);
        for (uint256 k; k < count; ++k) {
            if ((commits >> k) & 1 == 1 || k == 0) {
                vm.prank(list[k]);
                registry.commitUpdate(
                    id, uint32(k), keccak256(abi.encode(id, k)), uint32(1 + (seed >> (16 + k)) % 50)
                );
            }
        }
        ++calls["open"];
    }

    function post(uint256 seed, bytes32 root) external {
        uint256 id = _round(seed);
        if (id == 0) return;
        RoundRegistry.RoundView memory r = registry.round(id);
        if (r.status != RoundRegistry.RoundStatus.Committing) return;
        if (block.timestamp < r.commitDeadline && r.committedCount < r.clientCount) {
            vm.warp(r.commitDeadline);
        }
        if (root == bytes32(0)) root = keccak256("out");
        vm.prank(r.aggregator);
        try registry.postResult{value: aggBond}(id, root) {
            ++calls["post"];
        } catch {}
    }

    function challenge(uint256 seed, uint256 who) external {
        uint256 id = _round(seed);
        if (id == 0) return;
        vm.prank(_pick(challengers, who));
        try registry.challenge{value: chBond}(id) {
            ++calls["challenge"];
        } catch {}
    }

    function bisect(uint256 seed, bytes32 hMid) external {
        uint256 id = _game(seed);
        if (id == 0) return;
        BisectionGame.GameView memory g = game.game(id);
        vm.prank(g.aggregator);
        try game.bisect(id, g.lo, g.hi, g.hHi, hMid) {
            ++calls["bisect"];
        } catch {}
    }

    function respond(uint256 seed, bool agree) external {
        uint256 id = _game(seed);
        if (id == 0) return;
        BisectionGame.GameView memory g = game.game(id);
        vm.prank(g.challenger);
        try game.respond(id, g.lo + (g.hi - g.lo) / 2, g.pendingMid, agree) {
            ++calls["respond"];
        } catch {}
    }

    function proveLeaf(uint256 seed, bool aggregatorRight) external {
        uint256 id = _game(seed);
        if (id == 0) return;
        BisectionGame.GameView memory g = game.game(id);
        arbiter.setAnswer(aggregatorRight ? g.hHi : keccak256(abi.encode(g.hHi)));
        ILeafArbiter.LeafInput memory leaf;
        try game.proveLeaf(id, leaf) {
            ++calls["proveLeaf"];
        } catch {}
    }

    function timeout(uint256 seed) external {
        uint256 id = _game(seed);
        if (id == 0) return;
        try game.timeout(id) {
            ++calls["timeout"];
        } catch {}
    }

    function finalize(uint256 seed) external {
        uint256 id = _round(seed);
        if (id == 0) return;
        try registry.finalize(id) {
            ++calls["finalize"];
        } catch {}
    }

    function withdraw(uint256 who) external {
        address[] memory all = this.actors();
        address a = all[who % all.length];
        vm.prank(a);
        try registry.withdraw() {
            ++calls["withdraw"];
        } catch {}
    }

    function warp(uint32 secs) external {
        vm.warp(block.timestamp + secs % 2 days);
        ++calls["warp"];
    }
}

contract BondInvariantTest is Test {
    uint256 internal constant AGG_BOND = 1 ether;
    uint256 internal constant CH_BOND = 0.3 ether;
    uint256 internal constant FUNDS = 1_000 ether;

    RoundRegistry internal registry;
    BisectionGame internal game;
    MockArbiter internal arbiter;
    BondHandler internal handler;
    uint256 internal totalEther;

    function setUp() public {
        vm.warp(1_700_000_000);
        registry = new RoundRegistry(AGG_BOND, CH_BOND, 1 days);
        arbiter = new MockArbiter();
        game = new BisectionGame(address(registry), address(arbiter), 3 hours, 20 minutes);
        registry.setGame(address(game));
        handler = new BondHandler(registry, game, arbiter);
        address[] memory all = handler.actors();
        for (uint256 k; k < all.length; ++k) {
            vm.deal(all[k], FUNDS);
            totalEther += FUNDS;
        }
        targetContract(address(handler));
    }

    function _heldBonds() internal view returns (uint256 held) {
        for (uint256 id = 1; id <= registry.roundCount(); ++id) {
            RoundRegistry.RoundView memory r = registry.round(id);
            if (r.status == RoundRegistry.RoundStatus.Posted) held += AGG_BOND;
            held += uint256(r.openGames) * CH_BOND;
        }
    }

    /// The registry holds exactly the credited withdrawals plus the bonds still at stake.
    function invariant_bondsConserved() public view {
        address[] memory all = handler.actors();
        uint256 credits;
        for (uint256 k; k < all.length; ++k) {
            credits += registry.credit(all[k]);
        }
        assertEq(address(registry).balance, credits + _heldBonds(), "registry balance");
    }

    /// No ether is created or lost: actors plus the registry always hold the initial funds.
    function invariant_etherConserved() public view {
        address[] memory all = handler.actors();
        uint256 sum = address(registry).balance;
        for (uint256 k; k < all.length; ++k) {
            sum += all[k].balance;
        }
        assertEq(sum, totalEther, "total ether");
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
}
