// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Fixture} from "./base/Fixture.sol";
import {Ref} from "./base/Reference.sol";
import {RoundRegistry} from "../src/RoundRegistry.sol";
import {BisectionGame} from "../src/BisectionGame.sol";
import {LeafArbiter} from "../src/LeafArbiter.sol";
import {Commitments} from "../src/lib/Commitments.sol";
import {IRoundRegistry} from "../src/interfaces/IRoundRegistry.sol";
import {AcceptingVerifier} from "./mocks/MockStepVerifier.sol";

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

    function setUp() public override {
        super.setUp();
        // Clients that call the registry directly (not through `_commit`) can pay a deposit.
        for (uint256 k; k < 5; ++k) {
            vm.deal(_client(k), 1 ether);
        }
    }

    // ------------------------------------------------------------ constructor, setGame

    function test_constructor_storesParameters() public view {
        assertEq(registry.aggregatorBond(), AGG_BOND);
        assertEq(registry.challengerBond(), CH_BOND);
        assertEq(registry.clientDeposit(), DEPOSIT);
        assertEq(registry.availabilityBond(), DA_BOND);
        assertEq(uint256(registry.challengeWindow()), WINDOW);
        assertEq(uint256(registry.availabilityWindow()), AVAILABILITY_WINDOW);
        assertEq(uint256(registry.resolveWindow()), RESOLVE_WINDOW);
        assertEq(uint256(registry.postWindow()), POST_WINDOW);
        assertEq(uint256(registry.burnBps()), BURN_BPS);
        assertEq(registry.deployer(), address(this));
        assertEq(registry.game(), address(game));
        assertEq(registry.roundCount(), 0);
        assertEq(registry.burnt(), 0);
    }

    function _expectInvalidParams(RoundRegistry.Params memory p, string memory field) internal {
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.InvalidParams.selector, field));
        new RoundRegistry(p);
    }

    function test_constructor_invalidParams_revert() public {
        RoundRegistry.Params memory p = _params();
        p.aggregatorBond = 0;
        _expectInvalidParams(p, "aggregatorBond");
        p = _params();
        p.challengerBond = 0;
        _expectInvalidParams(p, "challengerBond");
        p = _params();
        p.availabilityBond = 0;
        _expectInvalidParams(p, "availabilityBond");
        p = _params();
        p.challengeWindow = 0;
        _expectInvalidParams(p, "challengeWindow");
        p = _params();
        p.availabilityWindow = 0;
        _expectInvalidParams(p, "availabilityWindow");
        p = _params();
        p.resolveWindow = 0;
        _expectInvalidParams(p, "resolveWindow");
        p = _params();
        p.postWindow = 0;
        _expectInvalidParams(p, "postWindow");
        p = _params();
        p.burnBps = 10_001;
        _expectInvalidParams(p, "burnBps");
    }

    /// A zero client deposit and a burn share of 0 or 100 % are valid deployments.
    function test_constructor_edgeParams_succeed() public {
        RoundRegistry.Params memory p = _params();
        p.clientDeposit = 0;
        p.burnBps = 10_000;
        assertEq(new RoundRegistry(p).burnBps(), 10_000);
        p.burnBps = 0;
        assertEq(new RoundRegistry(p).depositFor(1 << 28), 0);
    }

    /// The registry reads the verifiers' binding from the game's arbiter: the codehashes of the
    /// step verifiers, in step-kind order (zero for Clip, which has none).
    function test_setGame_readsVerifiersHashFromArbiter() public {
        bytes32 expected = keccak256(
            abi.encodePacked(
                address(accVerifier).codehash,
                address(finVerifier).codehash,
                address(rankVerifier).codehash,
                address(trimSumVerifier).codehash,
                address(trimEmitVerifier).codehash,
                address(normVerifier).codehash,
                address(scaleVerifier).codehash,
                bytes32(0)
            )
        );
        assertEq(arbiter.stepVerifiersHash(), expected);
        assertEq(registry.verifiersHash(), expected);
        RoundRegistry r = new RoundRegistry(_params());
        vm.expectEmit(true, false, false, true, address(r));
        emit RoundRegistry.GameSet(address(game), expected);
        r.setGame(address(game));
        assertEq(r.game(), address(game));
        assertEq(r.arbiter(), address(arbiter), "the game's arbiter is kept");
        assertEq(r.verifiersHash(), expected);
    }

    function test_setGame_notDeployer_reverts() public {
        RoundRegistry r = new RoundRegistry(_params());
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.Unauthorized.selector, outsider));
        r.setGame(address(game));
    }

    function test_setGame_twice_reverts() public {
        vm.expectRevert(RoundRegistry.GameAlreadySet.selector);
        registry.setGame(address(0x1234));
    }

    function test_setGame_zero_reverts() public {
        RoundRegistry r = new RoundRegistry(_params());
        vm.expectRevert(RoundRegistry.ZeroAddress.selector);
        r.setGame(address(0));
    }

    // ------------------------------------------------------------ openRound

    function test_openRound_happyPath() public {
        address[] memory list = _clients(3);
        vm.expectEmit(true, true, false, true, address(registry));
        emit RoundRegistry.RoundOpened(
            1, aggregator, 100, 3, uint64(block.timestamp) + COMMIT_PERIOD, 0, keccak256("")
        );
        uint256 id = registry.openRound(list, 100, aggregator, COMMIT_PERIOD, 0, "");
        assertEq(id, 1);
        assertEq(registry.roundCount(), 1);
        RoundRegistry.RoundView memory r = registry.round(id);
        assertTrue(r.status == RoundRegistry.RoundStatus.Committing);
        assertEq(r.aggregator, aggregator);
        assertEq(r.dim, 100);
        assertEq(r.chunks, 4);
        assertEq(r.segments, 1);
        assertEq(r.rule, 0);
        assertEq(r.ruleParamsHash, keccak256(""));
        assertEq(r.commitDeadline, block.timestamp + COMMIT_PERIOD);
        assertEq(r.availabilityDeadline, r.commitDeadline + AVAILABILITY_WINDOW);
        assertEq(r.postOpensAt, r.availabilityDeadline + RESOLVE_WINDOW);
        assertEq(r.postDeadline, r.postOpensAt + POST_WINDOW);
        assertEq(r.clientCount, 3);
        assertEq(r.committedCount, 0);
        assertEq(r.participants, 0);
        assertEq(r.postedAt, 0);
        assertFalse(r.settled);
        address[] memory stored = registry.clients(id);
        assertEq(stored.length, 3);
        for (uint256 k; k < 3; ++k) {
            assertEq(stored[k], list[k]);
        }
        assertEq(registry.openRound(list, 1, aggregator, 1, 0, ""), 2, "ids increase");
    }

    function test_openRound_maxClientsAndMaxDim_succeeds() public {
        uint256 id = registry.openRound(_clients(255), uint32(1 << 28), aggregator, COMMIT_PERIOD, 0, "");
        RoundRegistry.RoundView memory r = registry.round(id);
        assertEq(r.clientCount, 255);
        assertEq(r.chunks, 1 << 23);
        assertEq(r.segments, 1 << 15);
    }

    function test_openRound_noClients_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.InvalidClientCount.selector, 0));
        registry.openRound(new address[](0), 10, aggregator, COMMIT_PERIOD, 0, "");
    }

    function test_openRound_tooManyClients_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.InvalidClientCount.selector, 256));
        registry.openRound(_clients(256), 10, aggregator, COMMIT_PERIOD, 0, "");
    }

    function test_openRound_zeroClient_reverts() public {
        address[] memory list = _clients(4);
        list[2] = address(0);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.ZeroClient.selector, 2));
        registry.openRound(list, 10, aggregator, COMMIT_PERIOD, 0, "");
    }

    function test_openRound_duplicateClient_reverts() public {
        address[] memory list = _clients(5);
        list[4] = list[1];
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.DuplicateClient.selector, list[1]));
        registry.openRound(list, 10, aggregator, COMMIT_PERIOD, 0, "");
    }

    /// Addresses that share their low 9 bits collide in the hash set; distinct ones must pass
    /// and a real duplicate behind a collision chain must still be found.
    function test_openRound_hashSetCollisions_handled() public {
        address[] memory list = new address[](4);
        for (uint256 k; k < 4; ++k) {
            list[k] = address(uint160((k + 1) << 9 | 0x1ff));
        }
        registry.openRound(list, 10, aggregator, COMMIT_PERIOD, 0, "");
        list[3] = list[0];
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.DuplicateClient.selector, list[0]));
        registry.openRound(list, 10, aggregator, COMMIT_PERIOD, 0, "");
    }

    function testFuzz_openRound_duplicateAnywhere_reverts(uint256 count, uint256 a, uint256 b) public {
        count = bound(count, 2, 60);
        a = bound(a, 0, count - 1);
        b = bound(b, 0, count - 1);
        vm.assume(a != b);
        address[] memory list = _clients(count);
        list[b] = list[a];
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.DuplicateClient.selector, list[a]));
        registry.openRound(list, 10, aggregator, COMMIT_PERIOD, 0, "");
    }

    function test_openRound_zeroDim_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.InvalidDim.selector, 0));
        registry.openRound(_clients(1), 0, aggregator, COMMIT_PERIOD, 0, "");
    }

    function test_openRound_dimTooLarge_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.InvalidDim.selector, (1 << 28) + 1));
        registry.openRound(_clients(1), uint32((1 << 28) + 1), aggregator, COMMIT_PERIOD, 0, "");
    }

    function test_openRound_zeroAggregator_reverts() public {
        vm.expectRevert(RoundRegistry.ZeroAddress.selector);
        registry.openRound(_clients(1), 10, address(0), COMMIT_PERIOD, 0, "");
    }

    function test_openRound_zeroCommitPeriod_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.InvalidCommitPeriod.selector, 0));
        registry.openRound(_clients(1), 10, aggregator, 0, 0, "");
    }

    function test_openRound_commitPeriodOverflow_reverts() public {
        uint64 p = type(uint64).max;
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.InvalidCommitPeriod.selector, p));
        registry.openRound(_clients(1), 10, aggregator, p, 0, "");
    }

    /// Rules 0, 1, 2 are the deployment's (FedAvg, Median, TrimmedMean); 3 is past its table.
    function test_openRound_unknownRule_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.UnknownRule.selector, 6));
        registry.openRound(_clients(1), 10, aggregator, COMMIT_PERIOD, 6, "");
    }

    /// The refusal comes from the FedAvg program, through the arbiter's table.
    function test_openRound_fedAvgWithParams_reverts() public {
        vm.expectRevert(
            abi.encodeWithSelector(RoundRegistry.InvalidRuleParams.selector, 0, "FedAvg takes no parameters")
        );
        registry.openRound(_clients(1), 10, aggregator, COMMIT_PERIOD, 0, hex"00");
    }

    function test_openRound_paramsTooLong_reverts() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                RoundRegistry.InvalidRuleParams.selector, 0, "params longer than 256 bytes"
            )
        );
        registry.openRound(_clients(1), 10, aggregator, COMMIT_PERIOD, 0, new bytes(257));
    }

    function test_openRound_fedAvg_storesNoParams() public {
        uint256 id = _open(1, 10);
        assertEq(registry.ruleParams(id), "");
        assertEq(registry.round(id).ruleParamsHash, keccak256(""));
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.UnknownRound.selector, 9));
        registry.ruleParams(9);
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
        assertEq(address(registry).balance, DEPOSIT, "the deposit is held");
        _assertConserved();
    }

    /// The deposit and the availability bond are per 256-leaf data segment of the model.
    function test_depositFor_scalesWithSegments() public view {
        assertEq(registry.depositFor(1), DEPOSIT);
        assertEq(registry.depositFor(8192), DEPOSIT, "one full segment");
        assertEq(registry.depositFor(8193), 2 * DEPOSIT, "one leaf into the second");
        assertEq(registry.depositFor(8192 * 2 + 100), 3 * DEPOSIT);
        assertEq(registry.depositFor(1 << 28), (1 << 15) * DEPOSIT);
        assertEq(registry.availabilityBondFor(200), DA_BOND);
        assertEq(registry.availabilityBondFor(8192 * 2 + 100), 3 * DA_BOND);
    }

    function test_commitUpdate_wrongDeposit_reverts() public {
        uint256 id = _open(3, 8193); // two segments
        vm.deal(_client(0), 1 ether);
        vm.startPrank(_client(0));
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.WrongBond.selector, 0, 2 * DEPOSIT));
        registry.commitUpdate(id, 0, keccak256("x"), 1);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.WrongBond.selector, DEPOSIT, 2 * DEPOSIT));
        registry.commitUpdate{value: DEPOSIT}(id, 0, keccak256("x"), 1);
        vm.expectRevert(
            abi.encodeWithSelector(RoundRegistry.WrongBond.selector, 2 * DEPOSIT + 1, 2 * DEPOSIT)
        );
        registry.commitUpdate{value: 2 * DEPOSIT + 1}(id, 0, keccak256("x"), 1);
        registry.commitUpdate{value: 2 * DEPOSIT}(id, 0, keccak256("x"), 1);
        vm.stopPrank();
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
        registry.commitUpdate{value: DEPOSIT}(id, 1, keccak256("x"), 1);
    }

    function test_commitUpdate_indexOutOfRange_reverts() public {
        uint256 id = _open(3, 64);
        vm.prank(_client(0));
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.InvalidClientIndex.selector, 3, 3));
        registry.commitUpdate{value: DEPOSIT}(id, 3, keccak256("x"), 1);
    }

    function test_commitUpdate_atDeadline_reverts() public {
        uint256 id = _open(3, 64);
        uint64 deadline = registry.round(id).commitDeadline;
        vm.warp(deadline - 1);
        _commit(id, 0, 1); // last second is fine
        vm.warp(deadline);
        vm.deal(_client(1), DEPOSIT);
        vm.prank(_client(1));
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.CommitClosed.selector, id, deadline));
        registry.commitUpdate{value: DEPOSIT}(id, 1, keccak256("x"), 1);
    }

    /// The last commit closes the commit phase at once: the availability window (and so every
    /// later phase) starts from it, not from the commit deadline.
    function test_commitUpdate_lastCommit_closesCommitPhaseEarly() public {
        uint256 id = _open(2, 64);
        _commit(id, 0, 1);
        RoundRegistry.RoundView memory r = registry.round(id);
        assertEq(r.availabilityDeadline, r.commitDeadline + AVAILABILITY_WINDOW, "open until the deadline");
        vm.warp(block.timestamp + 600);
        _commit(id, 1, 1);
        r = registry.round(id);
        assertEq(r.availabilityDeadline, block.timestamp + AVAILABILITY_WINDOW, "closed by the last commit");
        assertEq(r.postOpensAt, block.timestamp + AVAILABILITY_WINDOW + RESOLVE_WINDOW);
        assertEq(r.postDeadline, r.postOpensAt + POST_WINDOW);
        assertLt(r.postOpensAt, r.commitDeadline + AVAILABILITY_WINDOW + RESOLVE_WINDOW);
    }

    function test_commitUpdate_twice_reverts() public {
        uint256 id = _open(3, 64);
        _commit(id, 0, 1);
        vm.prank(_client(0));
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.AlreadyCommitted.selector, id, 0));
        registry.commitUpdate{value: DEPOSIT}(id, 0, keccak256("other"), 2);
    }

    function test_commitUpdate_zeroRoot_reverts() public {
        uint256 id = _open(3, 64);
        vm.prank(_client(0));
        vm.expectRevert(RoundRegistry.ZeroUpdateRoot.selector);
        registry.commitUpdate{value: DEPOSIT}(id, 0, bytes32(0), 1);
    }

    function test_commitUpdate_zeroWeight_reverts() public {
        uint256 id = _open(3, 64);
        uint32 max = registry.MAX_WEIGHT();
        vm.prank(_client(0));
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.InvalidWeight.selector, 0, max));
        registry.commitUpdate{value: DEPOSIT}(id, 0, keccak256("x"), 0);
    }

    /// 255 · MAX_WEIGHT = 2^32 - 1: one more and a full round could overflow W.
    function test_commitUpdate_weightAboveMax_reverts() public {
        uint32 max = registry.MAX_WEIGHT();
        assertEq(max, 16_843_009);
        assertEq(uint256(max) * 255, type(uint32).max);
        uint256 id = _open(3, 64);
        vm.deal(_client(0), DEPOSIT);
        vm.prank(_client(0));
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.InvalidWeight.selector, max + 1, max));
        registry.commitUpdate{value: DEPOSIT}(id, 0, keccak256("x"), max + 1);
        vm.prank(_client(0));
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.InvalidWeight.selector, type(uint32).max, max));
        registry.commitUpdate{value: DEPOSIT}(id, 0, keccak256("x"), type(uint32).max);
        _commit(id, 0, max);
        (, uint32 w) = registry.commitment(id, 0);
        assertEq(w, max);
    }

    function test_commitUpdate_afterPost_reverts() public {
        uint256 id = _posted(2, 64, OUT);
        vm.prank(_client(0));
        vm.expectRevert(
            abi.encodeWithSelector(
                RoundRegistry.WrongRoundStatus.selector, id, RoundRegistry.RoundStatus.Posted
            )
        );
        registry.commitUpdate{value: DEPOSIT}(id, 0, keccak256("x"), 1);
    }

    // ------------------------------------------------------------ config hash

    /// The config input of round `id` of this registry, built by hand.
    function _configInput(uint256 id, bytes32 inputRoot, uint256 n, uint256 dim, uint256 w)
        internal
        view
        returns (Commitments.ConfigInput memory)
    {
        return Commitments.ConfigInput({
            chainId: block.chainid,
            registry: address(registry),
            roundId: id,
            rule: 0,
            ruleParamsHash: keccak256(""),
            verifiersHash: registry.verifiersHash(),
            inputRoot: inputRoot,
            participants: n,
            dim: dim,
            totalWeight: w
        });
    }

    /// The config hash spelled out: ten 32-byte words.
    function _expectedConfig(uint256 id, bytes32 inputRoot, uint256 n, uint256 dim, uint256 w)
        internal
        view
        returns (bytes32)
    {
        return keccak256(
            abi.encode(
                block.chainid,
                address(registry),
                id,
                uint256(0),
                keccak256(""),
                registry.verifiersHash(),
                inputRoot,
                n,
                dim,
                w
            )
        );
    }

    function _inputRoot(uint256 id, uint256[] memory committed, uint32[] memory ws)
        internal
        pure
        returns (bytes32)
    {
        bytes32[] memory leaves = new bytes32[](committed.length);
        for (uint256 k; k < committed.length; ++k) {
            leaves[k] = Ref.participantLeaf(_updateRoot(id, committed[k]), ws[k]);
        }
        return Ref.root(leaves);
    }

    function test_pendingConfig_matchesHandBuiltConfigInput() public {
        uint256 id = _open(3, 100);
        _commit(id, 0, 4);
        _commit(id, 2, 9);
        uint256[] memory committed = new uint256[](2);
        (committed[0], committed[1]) = (0, 2);
        uint32[] memory ws = new uint32[](2);
        (ws[0], ws[1]) = (4, 9);
        bytes32 inputRoot = _inputRoot(id, committed, ws);
        (bytes32 config, bytes32 root, uint32 n, uint64 w) = registry.pendingConfig(id);
        assertEq(root, inputRoot);
        assertEq(n, 2);
        assertEq(w, 13);
        assertEq(config, Commitments.configHash(_configInput(id, inputRoot, 2, 100, 13)), "library");
        assertEq(config, _expectedConfig(id, inputRoot, 2, 100, 13), "spelled out");
    }

    /// The same round on another chain has another config hash: a result (and every state
    /// commitment of its trace) cannot be replayed across chains.
    function test_configHash_bindsChainId() public {
        uint256 id = _open(1, 10);
        _commit(id, 0, 1);
        (bytes32 here, bytes32 inputRoot,,) = registry.pendingConfig(id);
        vm.chainId(block.chainid + 1);
        (bytes32 there,,,) = registry.pendingConfig(id);
        assertNotEq(there, here);
        assertEq(there, Commitments.configHash(_configInput(id, inputRoot, 1, 10, 1)));
        _toPostPhase(id);
        vm.prank(aggregator);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.ConfigMismatch.selector, here, there));
        registry.postResult{value: AGG_BOND}(id, OUT, here);
    }

    /// The rule, its parameters and the step verifiers' code are all in the hash: changing any
    /// one field of the input changes it.
    function test_configHash_bindsRuleParamsAndVerifiers() public {
        uint256 id = _open(1, 10);
        _commit(id, 0, 1);
        (bytes32 config, bytes32 inputRoot,,) = registry.pendingConfig(id);
        Commitments.ConfigInput memory c = _configInput(id, inputRoot, 1, 10, 1);
        assertEq(Commitments.configHash(c), config);
        c.rule = 1;
        assertNotEq(Commitments.configHash(c), config);
        c = _configInput(id, inputRoot, 1, 10, 1);
        c.ruleParamsHash = keccak256(hex"00");
        assertNotEq(Commitments.configHash(c), config);
        c = _configInput(id, inputRoot, 1, 10, 1);
        c.verifiersHash = keccak256("other verifiers");
        assertNotEq(Commitments.configHash(c), config);

        // A registry whose arbiter runs other verifiers fixes another verifiers hash.
        AcceptingVerifier yes = new AcceptingVerifier();
        RoundRegistry other = new RoundRegistry(_params());
        LeafArbiter lax = _arbiterWith(address(other), _seven(address(yes)), GAS_CAP);
        other.setGame(address(new BisectionGame(address(other), address(lax), CLOCK, EXTENSION)));
        bytes32 yesHash = address(yes).codehash;
        assertEq(
            other.verifiersHash(),
            keccak256(abi.encode(yesHash, yesHash, yesHash, yesHash, yesHash, yesHash, yesHash, bytes32(0)))
        );
        assertNotEq(other.verifiersHash(), registry.verifiersHash());
    }

    // ------------------------------------------------------------ postResult

    function test_postResult_allCommitted_fixesInputs() public {
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
        _toPostPhase(id);
        vm.expectEmit(true, false, false, true, address(registry));
        emit RoundRegistry.ResultPosted(id, OUT, inputRoot, config, 3, 6);
        vm.prank(aggregator);
        registry.postResult{value: AGG_BOND}(id, OUT, config);

        RoundRegistry.RoundView memory r = registry.round(id);
        assertTrue(r.status == RoundRegistry.RoundStatus.Posted);
        assertEq(r.participants, 3);
        assertEq(r.totalWeight, 6);
        assertEq(r.inputRoot, inputRoot);
        assertEq(r.configHash, config);
        assertEq(r.outputRoot, OUT);
        assertEq(r.postedAt, block.timestamp);
        IRoundRegistry.ProgramContext memory ctx = registry.stepContext(id);
        assertEq(ctx.configHash, config);
        assertEq(ctx.inputRoot, inputRoot);
        assertEq(ctx.n, 3);
        assertEq(ctx.dim, 100);
        assertEq(ctx.totalWeight, 6);
        assertEq(ctx.rule, 0);
        assertEq(ctx.ruleParams, "");
        assertEq(address(registry).balance, AGG_BOND + 3 * DEPOSIT);
        _assertConserved();
    }

    /// Participants are the committed clients in index order, whatever the arrival order.
    function test_postResult_partialAfterDeadline_participantsInIndexOrder() public {
        uint256 id = _open(5, 40);
        _commit(id, 3, 7);
        _commit(id, 1, 5);
        _post(id, OUT);
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

    /// A commit lands after the aggregator read the pending config (it raced the aggregator's
    /// computation): the post names the stale config and reverts, so the aggregator is never
    /// bonded to a result over inputs it did not see; nothing moves; a fresh post succeeds.
    function test_postResult_staleConfigHash_reverts() public {
        uint256 id = _open(3, 100);
        _commit(id, 0, 1);
        _commit(id, 1, 2);
        (bytes32 stale,,,) = registry.pendingConfig(id);
        _commit(id, 2, 3); // the last commit lands
        (bytes32 fresh,,,) = registry.pendingConfig(id);
        assertNotEq(fresh, stale);
        _toPostPhase(id);
        uint256 aggregatorBalance = aggregator.balance;
        uint256 registryBalance = address(registry).balance;
        vm.prank(aggregator);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.ConfigMismatch.selector, stale, fresh));
        registry.postResult{value: AGG_BOND}(id, OUT, stale);
        assertTrue(_status(id) == RoundRegistry.RoundStatus.Committing, "nothing posted");
        assertEq(aggregator.balance, aggregatorBalance, "no bond taken");
        assertEq(address(registry).balance, registryBalance);
        assertEq(registry.burnt(), 0, "nobody slashed");
        assertEq(registry.credit(aggregator), 0);

        vm.prank(aggregator);
        registry.postResult{value: AGG_BOND}(id, OUT, fresh);
        assertEq(registry.round(id).configHash, fresh);
        assertEq(registry.round(id).participants, 3);
        _assertConserved();
    }

    function test_postResult_wrongConfigHash_reverts() public {
        uint256 id = _open(1, 10);
        _commit(id, 0, 1);
        _toPostPhase(id);
        (bytes32 config,,,) = registry.pendingConfig(id);
        vm.prank(aggregator);
        vm.expectRevert(
            abi.encodeWithSelector(RoundRegistry.ConfigMismatch.selector, keccak256("guess"), config)
        );
        registry.postResult{value: AGG_BOND}(id, OUT, keccak256("guess"));
    }

    function test_postResult_notAggregator_reverts() public {
        uint256 id = _open(1, 10);
        _commit(id, 0, 1);
        _toPostPhase(id);
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.Unauthorized.selector, outsider));
        registry.postResult{value: AGG_BOND}(id, OUT, bytes32(0));
    }

    function test_postResult_wrongBond_reverts() public {
        uint256 id = _open(1, 10);
        _commit(id, 0, 1);
        _toPostPhase(id);
        (bytes32 config,,,) = registry.pendingConfig(id);
        vm.startPrank(aggregator);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.WrongBond.selector, AGG_BOND - 1, AGG_BOND));
        registry.postResult{value: AGG_BOND - 1}(id, OUT, config);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.WrongBond.selector, AGG_BOND + 1, AGG_BOND));
        registry.postResult{value: AGG_BOND + 1}(id, OUT, config);
        vm.stopPrank();
    }

    function test_postResult_zeroOutputRoot_reverts() public {
        uint256 id = _open(1, 10);
        _commit(id, 0, 1);
        _toPostPhase(id);
        (bytes32 config,,,) = registry.pendingConfig(id);
        vm.prank(aggregator);
        vm.expectRevert(RoundRegistry.ZeroOutputRoot.selector);
        registry.postResult{value: AGG_BOND}(id, bytes32(0), config);
    }

    /// Until the availability phase (challenges and their reveal windows) is over the set can
    /// still change: no post, even with every client committed.
    function test_postResult_beforePostOpens_reverts() public {
        uint256 id = _open(2, 10);
        _commit(id, 0, 1);
        _commit(id, 1, 1);
        uint64 opensAt = registry.round(id).postOpensAt;
        (bytes32 config,,,) = registry.pendingConfig(id);
        bytes memory err = abi.encodeWithSelector(RoundRegistry.AvailabilityOpen.selector, id, opensAt);
        vm.prank(aggregator);
        vm.expectRevert(err);
        registry.postResult{value: AGG_BOND}(id, OUT, config);
        vm.warp(opensAt - 1);
        vm.prank(aggregator);
        vm.expectRevert(err);
        registry.postResult{value: AGG_BOND}(id, OUT, config);
        vm.warp(opensAt);
        vm.prank(aggregator);
        registry.postResult{value: AGG_BOND}(id, OUT, config);
    }

    function test_postResult_atPostDeadline_reverts() public {
        uint256 id = _open(1, 10);
        _commit(id, 0, 1);
        uint64 deadline = registry.round(id).postDeadline;
        (bytes32 config,,,) = registry.pendingConfig(id);
        vm.warp(deadline);
        vm.prank(aggregator);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.PostClosed.selector, id, deadline));
        registry.postResult{value: AGG_BOND}(id, OUT, config);
        vm.warp(deadline - 1); // the last second is fine
        vm.prank(aggregator);
        registry.postResult{value: AGG_BOND}(id, OUT, config);
    }

    function test_postResult_noCommitments_reverts() public {
        uint256 id = _open(2, 10);
        _toPostPhase(id);
        vm.prank(aggregator);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.NoParticipants.selector, id));
        registry.postResult{value: AGG_BOND}(id, OUT, bytes32(0));
    }

    function test_postResult_twice_reverts() public {
        uint256 id = _posted(1, 10, OUT);
        vm.prank(aggregator);
        vm.expectRevert(
            abi.encodeWithSelector(
                RoundRegistry.WrongRoundStatus.selector, id, RoundRegistry.RoundStatus.Posted
            )
        );
        registry.postResult{value: AGG_BOND}(id, OUT, bytes32(0));
    }

    function test_postResult_unknownRound_reverts() public {
        vm.prank(aggregator);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.UnknownRound.selector, 1));
        registry.postResult{value: AGG_BOND}(1, OUT, bytes32(0));
    }

    /// 255 clients all at MAX_WEIGHT: W = 2^32 - 1 exactly, the largest W the VM accepts.
    function test_postResult_maxWeights_cannotOverflow() public {
        uint256 id = _open(255, 10);
        uint32 max = registry.MAX_WEIGHT();
        for (uint256 k; k < 255; ++k) {
            _commit(id, k, max);
        }
        _post(id, OUT);
        assertEq(registry.round(id).totalWeight, type(uint32).max);
        assertEq(registry.stepContext(id).totalWeight, type(uint32).max);
    }

    function test_postResult_255Participants_succeeds() public {
        uint256 id = _open(255, 64);
        for (uint256 k; k < 255; ++k) {
            _commit(id, k, 1);
        }
        _post(id, OUT);
        assertEq(registry.round(id).participants, 255);
        assertEq(registry.steps(id), 2 * 256);
    }

    function test_pendingConfig_afterPost_reverts() public {
        uint256 id = _posted(1, 10, OUT);
        vm.expectRevert(
            abi.encodeWithSelector(
                RoundRegistry.WrongRoundStatus.selector, id, RoundRegistry.RoundStatus.Posted
            )
        );
        registry.pendingConfig(id);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.UnknownRound.selector, 5));
        registry.pendingConfig(5);
    }

    // ------------------------------------------------------------ expireRound

    function test_expireRound_afterPostDeadline_expires() public {
        uint256 id = _open(2, 10);
        _commit(id, 0, 1);
        uint64 deadline = registry.round(id).postDeadline;
        vm.warp(deadline - 1);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.PostOpen.selector, id, deadline));
        registry.expireRound(id);
        vm.warp(deadline);
        vm.expectEmit(true, false, false, true, address(registry));
        emit RoundRegistry.RoundExpired(id);
        vm.prank(outsider);
        registry.expireRound(id);
        assertTrue(_status(id) == RoundRegistry.RoundStatus.Expired);
        bytes memory expired = abi.encodeWithSelector(
            RoundRegistry.WrongRoundStatus.selector, id, RoundRegistry.RoundStatus.Expired
        );
        vm.expectRevert(expired);
        registry.expireRound(id);
        vm.prank(aggregator);
        vm.expectRevert(expired);
        registry.postResult{value: AGG_BOND}(id, OUT, bytes32(0));
        vm.expectRevert(expired);
        registry.stepContext(id);
        vm.expectRevert(expired);
        registry.pendingConfig(id);
        // The client's deposit is still there to take back.
        _release(id, 0);
        assertEq(registry.credit(_client(0)), DEPOSIT);
        _assertConserved();
    }

    /// A round nobody committed to expires too (nothing could ever be posted for it).
    function test_expireRound_noCommits_expires() public {
        uint256 id = _open(3, 10);
        vm.warp(registry.round(id).postDeadline);
        registry.expireRound(id);
        assertTrue(_status(id) == RoundRegistry.RoundStatus.Expired);
        assertEq(address(registry).balance, 0);
    }

    function test_expireRound_posted_reverts() public {
        uint256 id = _posted(1, 10, OUT);
        vm.warp(block.timestamp + POST_WINDOW + WINDOW);
        vm.expectRevert(
            abi.encodeWithSelector(
                RoundRegistry.WrongRoundStatus.selector, id, RoundRegistry.RoundStatus.Posted
            )
        );
        registry.expireRound(id);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.UnknownRound.selector, 9));
        registry.expireRound(9);
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
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.InvalidClientIndex.selector, 1, 1));
        registry.availability(id, 1);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.UnknownRound.selector, 7));
        registry.clients(7);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.UnknownRound.selector, 7));
        registry.availability(7, 0);
    }

    function test_round_unknownId_isAllZero() public view {
        RoundRegistry.RoundView memory r = registry.round(42);
        assertTrue(r.status == RoundRegistry.RoundStatus.None);
        assertEq(r.aggregator, address(0));
        assertEq(r.postDeadline, 0);
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
        RoundRegistry.GameRecord memory rec = registry.gameRecord(gameId);
        assertEq(rec.roundId, id);
        assertEq(rec.challenger, challenger);
        assertTrue(rec.outcome == RoundRegistry.GameOutcome.Open);
        assertEq(rec.cost, 0, "no base fee, no cost");
        assertEq(address(registry).balance, AGG_BOND + CH_BOND + 2 * DEPOSIT);
        assertEq(_challenge(id, challenger2), 2);
        assertEq(registry.round(id).openGames, 2);
        _assertConserved();
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

    /// No round before the game (and so the step verifiers the config hash binds) is set.
    function test_openRound_gameNotSet_reverts() public {
        RoundRegistry r = new RoundRegistry(_params());
        vm.expectRevert(RoundRegistry.GameNotSet.selector);
        r.openRound(_clients(1), 10, aggregator, COMMIT_PERIOD, 0, "");
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
        assertTrue(registry.round(id).settled);
        assertEq(registry.credit(aggregator), AGG_BOND);
        _assertConserved();
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

    /// A beaten challenger's bond is held, not credited: the aggregator gets it with its own
    /// bond when the round finalises.
    function test_resolveGame_aggregatorWins_bondHeldUntilFinalize() public {
        uint256 id = _posted(1, 10, OUT);
        uint256 gameId = _aggregatorWinsByTimeout(id, challenger);
        assertTrue(registry.gameRecord(gameId).outcome == RoundRegistry.GameOutcome.AggregatorWon);
        assertEq(registry.credit(aggregator), 0, "held until the round is final");
        assertEq(registry.credit(challenger), 0);
        assertTrue(_status(id) == RoundRegistry.RoundStatus.Posted);
        assertEq(registry.round(id).openGames, 0);
        _assertConserved();
        vm.warp(registry.round(id).postedAt + WINDOW);
        registry.finalize(id);
        assertEq(registry.credit(aggregator), CH_BOND + AGG_BOND);
        assertEq(registry.credit(challenger), 0);
        assertEq(address(registry).balance, AGG_BOND + CH_BOND + DEPOSIT);
        _assertConserved();
    }

    /// A challenger win rejects the round at once; other games play on, and nothing is paid
    /// until the last of them ends.
    function test_resolveGame_challengerWins_rejectsRound() public {
        uint256 id = _posted(1, 10, OUT);
        _challenge(id, challenger2); // a second game, still open
        uint256 g1 = _challenge(id, challenger);
        vm.warp(block.timestamp + CLOCK);
        vm.expectEmit(true, true, true, true, address(registry));
        emit RoundRegistry.RoundRejected(id, g1, challenger);
        game.timeout(g1);
        assertTrue(_status(id) == RoundRegistry.RoundStatus.Rejected);
        assertTrue(registry.gameRecord(g1).outcome == RoundRegistry.GameOutcome.ChallengerWon);
        assertFalse(registry.round(id).settled);
        assertEq(registry.credit(challenger), 0);
        assertEq(registry.credit(aggregator), 0);
        assertEq(registry.claimable(g1), 0, "not before every game has ended");
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.GamesOpen.selector, id, 1));
        registry.claimGame(g1);
        assertEq(registry.round(id).openGames, 1);
        _assertConserved();
    }

    /// Once every game of a rejected round has ended, the first claim settles the slashed
    /// bond: `burnBps` of it is burnt, the rest pays winners' metered costs and what the last
    /// claim leaves of it is burnt too. With no base fee the costs are zero: the whole bond is
    /// burnt and the winner gets exactly its bond back.
    function test_claimGame_onlyWinner_settlesAndBurnsSlashedBond() public {
        uint256 id = _posted(1, 10, OUT);
        uint256 g1 = _challengerWinsByTimeout(id, challenger);
        assertFalse(registry.round(id).settled, "settled by the first claim");
        assertEq(registry.burnt(), 0);
        assertEq(registry.claimable(g1), CH_BOND);
        uint256 burn = (AGG_BOND * BURN_BPS) / 10_000;
        vm.expectEmit(true, false, false, true, address(registry));
        emit RoundRegistry.RejectionSettled(id, AGG_BOND - burn, burn);
        vm.expectEmit(true, true, false, true, address(registry));
        emit RoundRegistry.GamePaid(g1, challenger, 0);
        vm.expectEmit(true, false, false, true, address(registry));
        emit RoundRegistry.Credited(challenger, CH_BOND);
        _claimGame(g1);
        assertTrue(registry.round(id).settled);
        assertEq(registry.burnt(), AGG_BOND, "the whole slashed bond");
        assertEq(registry.credit(challenger), CH_BOND);
        assertTrue(registry.gameRecord(g1).outcome == RoundRegistry.GameOutcome.Paid);
        assertEq(registry.claimable(g1), 0);
        assertEq(registry.credit(aggregator), 0);
        _assertConserved();
    }

    /// Once a round is rejected, a game its challenger then loses forfeits the bond, which is
    /// burnt with the slashed bond (never refunded, never paid to the slashed aggregator).
    function test_resolveGame_afterRejection_loserBondBurnt() public {
        uint256 id = _posted(1, 10, OUT);
        uint256 g2 = _challenge(id, challenger2);
        bytes32 hT = game.game(g2).hHi;
        vm.prank(aggregator);
        game.bisect(g2, 0, 2, hT, keccak256("mid")); // challenger2 to move
        uint256 g1 = _challengerWinsByTimeout(id, challenger); // rejects; its clock started later
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.GamesOpen.selector, id, 1));
        registry.claimGame(g1);
        vm.warp(block.timestamp + CLOCK);
        game.timeout(g2); // challenger2 ran out: the aggregator "wins"
        assertTrue(game.game(g2).status == BisectionGame.GameStatus.AggregatorWon);
        assertEq(registry.round(id).openGames, 0);
        _assertConserved();
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.NothingToClaim.selector, g2));
        registry.claimGame(g2);
        uint256 burn = (AGG_BOND * BURN_BPS) / 10_000;
        vm.expectEmit(true, false, false, true, address(registry));
        emit RoundRegistry.RejectionSettled(id, AGG_BOND - burn, burn + CH_BOND);
        _claimGame(g1);
        assertTrue(registry.round(id).settled);
        assertEq(registry.burnt(), AGG_BOND + CH_BOND);
        assertEq(registry.credit(challenger), CH_BOND);
        assertEq(registry.credit(challenger2), 0);
        assertEq(registry.credit(aggregator), 0);
        assertEq(address(registry).balance, AGG_BOND + 2 * CH_BOND + DEPOSIT);
        _assertConserved();
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
        _release(id, 0);
        vm.prank(_client(0));
        registry.withdraw();
        assertEq(address(registry).balance, 0);
    }

    function test_withdraw_nothing_reverts() public {
        vm.prank(outsider);
        vm.expectRevert(RoundRegistry.NothingToWithdraw.selector);
        registry.withdraw();
    }

    function _postAs(address poster, uint256 id) internal {
        _toPostPhase(id);
        (bytes32 config,,,) = registry.pendingConfig(id);
        vm.deal(poster, AGG_BOND);
        vm.prank(poster);
        registry.postResult{value: AGG_BOND}(id, OUT, config);
    }

    function test_withdraw_refusingPayee_revertsAndKeepsCredit() public {
        Refuser payee = new Refuser();
        uint256 id = registry.openRound(_clients(1), 10, address(payee), COMMIT_PERIOD, 0, "");
        _commit(id, 0, 1);
        _postAs(address(payee), id);
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
        uint256 id = registry.openRound(_clients(1), 10, address(payee), COMMIT_PERIOD, 0, "");
        _commit(id, 0, 1);
        _postAs(address(payee), id);
        // Another account's credit sits in the registry too.
        uint256 id2 = _posted(1, 10, OUT);
        vm.warp(block.timestamp + WINDOW);
        registry.finalize(id);
        registry.finalize(id2);
        payee.withdraw();
        assertEq(payee.reentries(), 1);
        assertFalse(payee.innerSucceeded());
        assertEq(address(payee).balance, AGG_BOND);
        assertEq(address(registry).balance, AGG_BOND + 2 * DEPOSIT);
        assertEq(registry.credit(aggregator), AGG_BOND);
    }
}
