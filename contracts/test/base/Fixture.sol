// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Test} from "./Test.sol";
import {Ref} from "./Reference.sol";
import {RoundRegistry} from "../../src/RoundRegistry.sol";
import {BisectionGame} from "../../src/BisectionGame.sol";
import {LeafArbiter} from "../../src/LeafArbiter.sol";
import {MockStepVerifier} from "../mocks/MockStepVerifier.sol";

/// @title Fixture
/// @notice The deployed system (registry, game, arbiter with statement-checking mock verifiers)
///         and helpers to drive rounds, for the registry, arbiter and integration tests.
abstract contract Fixture is Test {
    uint256 internal constant AGG_BOND = 1 ether;
    uint256 internal constant CH_BOND = 0.25 ether;
    uint64 internal constant WINDOW = 1 days;
    uint64 internal constant CLOCK = 2 hours;
    uint64 internal constant EXTENSION = 10 minutes;
    uint64 internal constant COMMIT_PERIOD = 1 hours;
    uint256 internal constant GAS_CAP = 2_000_000;

    RoundRegistry internal registry;
    BisectionGame internal game;
    LeafArbiter internal arbiter;
    MockStepVerifier internal accVerifier;
    MockStepVerifier internal finVerifier;

    address internal aggregator = address(0xA66);
    address internal challenger = address(0xC0FFEE);
    address internal challenger2 = address(0xC0FFEE2);
    address internal outsider = address(0x0DD);

    function setUp() public virtual {
        vm.warp(1_700_000_000);
        registry = new RoundRegistry(AGG_BOND, CH_BOND, WINDOW);
        accVerifier = new MockStepVerifier(false);
        finVerifier = new MockStepVerifier(true);
        arbiter = new LeafArbiter(address(registry), address(accVerifier), address(finVerifier), GAS_CAP);
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
        roundId = registry.openRound(_clients(count), dim, aggregator, COMMIT_PERIOD);
    }

    function _updateRoot(uint256 roundId, uint256 k) internal pure returns (bytes32) {
        return keccak256(abi.encode("update", roundId, k));
    }

    function _commit(uint256 roundId, uint256 k, uint32 weight) internal {
        vm.prank(_client(k));
        registry.commitUpdate(roundId, uint32(k), _updateRoot(roundId, k), weight);
    }

    /// Opens a round of `count` clients, all commit with weight k+1, the aggregator posts `outputRoot`.
    function _posted(uint256 count, uint32 dim, bytes32 outputRoot) internal returns (uint256 roundId) {
        roundId = _open(count, dim);
        for (uint256 k; k < count; ++k) {
            _commit(roundId, k, uint32(k + 1));
        }
        vm.prank(aggregator);
        registry.postResult{value: AGG_BOND}(roundId, outputRoot);
    }

    function _challenge(uint256 roundId, address who) internal returns (uint256 gameId) {
        vm.prank(who);
        gameId = registry.challenge{value: CH_BOND}(roundId);
    }

    function _status(uint256 roundId) internal view returns (RoundRegistry.RoundStatus) {
        return registry.round(roundId).status;
    }

    /// Sum of the bonds the registry must still hold (posted rounds' aggregator bonds and open
    /// games' challenger bonds).
    function _heldBonds() internal view returns (uint256 held) {
        uint256 count = registry.roundCount();
        for (uint256 id = 1; id <= count; ++id) {
            RoundRegistry.RoundView memory r = registry.round(id);
            if (r.status == RoundRegistry.RoundStatus.Posted) held += AGG_BOND;
            held += uint256(r.openGames) * CH_BOND;
        }
    }

    function _refRoot(bytes32[] memory leaves) internal pure returns (bytes32) {
        return Ref.root(leaves);
    }
}
