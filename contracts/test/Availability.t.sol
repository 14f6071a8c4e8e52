// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Fixture} from "./base/Fixture.sol";
import {Ref} from "./base/Reference.sol";
import {Updates} from "./base/Updates.sol";
import {RoundRegistry} from "../src/RoundRegistry.sol";

/// Data availability: client deposits, availability challenges, on-chain reveals of real
/// update data (trees built with the reference hashes), exclusion of withheld updates,
/// settlement, deposit release and round expiry.
contract AvailabilityTest is Fixture {
    bytes32 internal constant OUT = keccak256("output root");
    /// 8,192 · 2 + 100 values: 516 leaves, depth 10, three segments, the last one 4 leaves.
    uint32 internal constant BIG_DIM = 8192 * 2 + 100;
    uint32 internal constant SMALL_DIM = 200;

    /// Opens a round of `count` clients of `dim` values; client 0 commits the real update of
    /// `seed` (returned with its leaf hashes), the others placeholder roots.
    function _roundWithRealUpdate(uint256 count, uint32 dim, uint256 seed)
        internal
        returns (uint256 id, int32[] memory v, bytes32[] memory hashes)
    {
        id = _open(count, dim);
        v = Updates.values(seed, dim);
        hashes = Updates.leafHashes(v);
        _commitRoot(id, 0, Ref.root(hashes), 3);
        for (uint256 k = 1; k < count; ++k) {
            _commit(id, k, uint32(k + 1));
        }
    }

    function _availability(uint256 id, uint256 k)
        internal
        view
        returns (RoundRegistry.Availability memory a, bool excluded)
    {
        return registry.availability(id, uint32(k));
    }

    /// The input root of the given clients (their `_updateRoot`s, weight k+1), with client 0's
    /// real root if listed first and `root0` is nonzero.
    function _inputRoot(uint256 id, uint256[] memory clients_, bytes32 root0)
        internal
        pure
        returns (bytes32)
    {
        bytes32[] memory leaves = new bytes32[](clients_.length);
        for (uint256 i; i < clients_.length; ++i) {
            uint256 k = clients_[i];
            bytes32 root = k == 0 && root0 != bytes32(0) ? root0 : _updateRoot(id, k);
            leaves[i] = Ref.participantLeaf(root, k == 0 && root0 != bytes32(0) ? 3 : uint32(k + 1));
        }
        return Ref.root(leaves);
    }

    /// Reference fold of a subtree root up a path (bit l of index: right child at level l).
    function _fold(bytes32 node, uint256 index, bytes32[] memory path) internal pure returns (bytes32) {
        for (uint256 l; l < path.length; ++l) {
            node = (index >> l) & 1 == 0 ? Ref.node(node, path[l]) : Ref.node(path[l], node);
        }
        return node;
    }

    // ------------------------------------------------------------ withheld data

    /// A challenged update nobody reveals: the client drops out of the participant set; the
    /// settlement pays the challenger its bond back plus its challenge's metered cost from the
    /// client's deposit and burns the rest of the deposit; the others get their deposits back
    /// and the round is posted without the client.
    function test_availability_withheldUpdate_clientExcluded() public {
        vm.fee(7 gwei);
        uint256 id = _open(3, 100);
        for (uint256 k; k < 3; ++k) {
            _commit(id, k, uint32(k + 1));
        }
        vm.expectEmit(true, true, true, true, address(registry));
        emit RoundRegistry.AvailabilityChallenged(id, 1, challenger, uint64(block.timestamp) + RESOLVE_WINDOW);
        vm.prank(challenger);
        uint256 g0 = gasleft();
        registry.challengeAvailability{value: DA_BOND}(id, 1);
        uint256 used = g0 - gasleft();
        (RoundRegistry.Availability memory a, bool excluded) = _availability(id, 1);
        assertEq(a.challenger, challenger);
        assertEq(a.bondLeft, DA_BOND);
        assertEq(a.revealed, 0);
        assertFalse(a.settled);
        assertTrue(excluded, "excluded unless revealed");
        uint256 cost = a.challengeCost;
        assertGt(cost, 0, "metered at the base fee");
        assertEq(cost % 7 gwei, 0);
        assertLe(cost, used * 7 gwei, "called by a contract: at most the call's own gas");
        (,, uint32 n,) = registry.pendingConfig(id);
        assertEq(n, 2, "the pending set already leaves the client out");

        _toPostPhase(id);
        uint256 burnt0 = registry.burnt();
        vm.expectEmit(true, true, false, true, address(registry));
        emit RoundRegistry.ClientExcluded(id, 1, DEPOSIT - cost);
        vm.prank(outsider);
        registry.settleAvailability(id, 1);
        depositOut[id][1] = true;
        assertEq(registry.credit(challenger), DA_BOND + cost, "bond + cost");
        assertEq(registry.burnt() - burnt0, DEPOSIT - cost, "the rest of the deposit is burnt");
        assertEq(registry.credit(_client(1)), 0);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.DepositNotReleasable.selector, id, 1));
        registry.releaseDeposit(id, 1);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.NothingToSettle.selector, id, 1));
        registry.settleAvailability(id, 1);
        _release(id, 0);
        _release(id, 2);
        assertEq(registry.credit(_client(0)), DEPOSIT);
        assertEq(registry.credit(_client(2)), DEPOSIT);

        _post(id, OUT);
        uint256[] memory kept = new uint256[](2);
        (kept[0], kept[1]) = (0, 2);
        RoundRegistry.RoundView memory r = registry.round(id);
        assertEq(r.participants, 2);
        assertEq(r.totalWeight, 1 + 3);
        assertEq(r.inputRoot, _inputRoot(id, kept, bytes32(0)));
        _assertConserved();
    }

    /// A random root opens to nothing: no reveal can answer the challenge, the client is
    /// excluded, and the round still completes without it; afterwards only burnt ether is left.
    function test_availability_unprovableRoot_clientExcluded() public {
        uint256 id = _open(2, SMALL_DIM);
        _commitRoot(id, 0, keccak256("a root of nothing"), 5);
        _commit(id, 1, 2);
        _challengeAvailability(id, 0, challenger);
        // The best a client can do is reveal some real data: it does not open the root.
        int32[] memory v = Updates.values(9, SMALL_DIM);
        bytes32[] memory hashes = Updates.leafHashes(v);
        (bytes memory data, bytes32[] memory path) = Updates.reveal(v, hashes, 0);
        vm.prank(_client(0));
        vm.expectRevert(
            abi.encodeWithSelector(
                RoundRegistry.BadReveal.selector, keccak256("a root of nothing"), Ref.root(hashes)
            )
        );
        registry.revealSegment(id, 0, 0, data, path);

        _toPostPhase(id);
        (, bool excluded) = _availability(id, 0);
        assertTrue(excluded);
        _settleAvailability(id, 0);
        assertEq(registry.credit(challenger), DA_BOND + DEPOSIT * 0, "no base fee: bond back, no cost");
        assertEq(registry.burnt(), DEPOSIT);
        _release(id, 1);
        _post(id, OUT);
        assertEq(registry.round(id).participants, 1);
        vm.warp(block.timestamp + WINDOW);
        registry.finalize(id);
        _assertConserved();
        address[3] memory payees = [challenger, _client(1), aggregator];
        for (uint256 k; k < payees.length; ++k) {
            vm.prank(payees[k]);
            registry.withdraw();
        }
        assertEq(address(registry).balance, registry.burnt(), "nothing stuck");
    }

    /// Every client withheld: nobody is left to aggregate, so the round cannot be posted; it
    /// expires, and every bond is settled.
    function test_availability_everyClientExcluded_roundExpires() public {
        uint256 id = _open(2, 10);
        _commit(id, 0, 1);
        _commit(id, 1, 1);
        _challengeAvailability(id, 0, challenger);
        _challengeAvailability(id, 1, challenger2);
        _toPostPhase(id);
        vm.prank(aggregator);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.NoParticipants.selector, id));
        registry.postResult{value: AGG_BOND}(id, OUT, bytes32(0));
        vm.warp(registry.round(id).postDeadline);
        registry.expireRound(id);
        _settleAvailability(id, 0);
        _settleAvailability(id, 1);
        assertEq(registry.credit(challenger), DA_BOND);
        assertEq(registry.credit(challenger2), DA_BOND);
        assertEq(registry.burnt(), 2 * DEPOSIT);
        _assertConserved();
    }

    // ------------------------------------------------------------ real reveals

    /// A three-segment update (two full 256-leaf segments of 32 KiB and a last one of 4 leaves,
    /// 400 bytes), revealed by three different accounts in any order; the last reveal resolves
    /// the challenge and returns the bond; the client stays in with its root.
    function test_availability_revealedUpdate_resolvesChallenge() public {
        (uint256 id, int32[] memory v, bytes32[] memory hashes) = _roundWithRealUpdate(2, BIG_DIM, 21);
        assertEq(registry.round(id).segments, 3);
        assertEq(registry.depositFor(BIG_DIM), 3 * DEPOSIT);
        _challengeAvailability(id, 0, challenger);
        assertEq(registry.availabilityBondFor(BIG_DIM), 3 * DA_BOND);

        (bytes memory last, bytes32[] memory lastPath) = Updates.reveal(v, hashes, 2);
        assertEq(last.length, 400);
        assertEq(lastPath.length, 2);
        vm.expectEmit(true, true, false, true, address(registry));
        emit RoundRegistry.SegmentRevealed(id, 0, 2, outsider, last);
        vm.prank(outsider);
        registry.revealSegment(id, 0, 2, last, lastPath);
        assertTrue(registry.isRevealed(id, 0, 2));
        assertFalse(registry.isRevealed(id, 0, 0));
        (RoundRegistry.Availability memory a, bool excluded) = _availability(id, 0);
        assertEq(a.revealed, 1);
        assertTrue(excluded, "not every segment yet");

        (bytes memory first,) = Updates.reveal(v, hashes, 0);
        assertEq(first.length, 32_768, "a full segment: 8,192 values");
        _reveal(id, 0, v, hashes, 0, _client(0));
        vm.expectEmit(true, true, false, true, address(registry));
        emit RoundRegistry.AvailabilityResolved(id, 0);
        _reveal(id, 0, v, hashes, 1, challenger2);
        (a, excluded) = _availability(id, 0);
        assertEq(a.revealed, 3);
        assertTrue(a.settled);
        assertFalse(excluded);
        assertEq(registry.credit(challenger), 3 * DA_BOND, "no base fee: the whole bond returns");
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.AlreadyRevealed.selector, id, 0, 1));
        _reveal(id, 0, v, hashes, 1, outsider);

        _toPostPhase(id);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.NothingToSettle.selector, id, 0));
        registry.settleAvailability(id, 0);
        _release(id, 0);
        assertEq(registry.credit(_client(0)), 3 * DEPOSIT);
        _post(id, OUT);
        uint256[] memory all = new uint256[](2);
        (all[0], all[1]) = (0, 1);
        assertEq(registry.round(id).participants, 2);
        assertEq(registry.round(id).inputRoot, _inputRoot(id, all, Ref.root(hashes)));
        _assertConserved();
    }

    /// A one-segment update (200 values: 7 leaves, the last one 8 values, in an 8-leaf tree):
    /// the segment is the whole tree, its path empty.
    function test_availability_revealedSmallUpdate_resolvesChallenge() public {
        (uint256 id, int32[] memory v, bytes32[] memory hashes) = _roundWithRealUpdate(1, SMALL_DIM, 5);
        _challengeAvailability(id, 0, challenger);
        (bytes memory data, bytes32[] memory path) = Updates.reveal(v, hashes, 0);
        assertEq(data.length, 800);
        assertEq(path.length, 0);
        vm.expectEmit(true, true, false, true, address(registry));
        emit RoundRegistry.AvailabilityResolved(id, 0);
        vm.prank(outsider);
        registry.revealSegment(id, 0, 0, data, path);
        (RoundRegistry.Availability memory a, bool excluded) = _availability(id, 0);
        assertTrue(a.settled);
        assertFalse(excluded);
        assertEq(registry.credit(challenger), DA_BOND);
        _post(id, OUT);
        assertEq(registry.round(id).participants, 1);
        _assertConserved();
    }

    /// The smallest update: one value.
    function test_availability_oneValueUpdate_revealed() public {
        (uint256 id, int32[] memory v, bytes32[] memory hashes) = _roundWithRealUpdate(1, 1, 6);
        _challengeAvailability(id, 0, challenger);
        _reveal(id, 0, v, hashes, 0, outsider);
        (, bool excluded) = _availability(id, 0);
        assertFalse(excluded);
    }

    /// One value off by one in any segment: the reveal opens the root of that other update
    /// (computed by the reference tree with the one leaf changed), not the committed one.
    function test_revealSegment_wrongValues_reverts() public {
        (uint256 id, int32[] memory v, bytes32[] memory hashes) = _roundWithRealUpdate(1, BIG_DIM, 22);
        _challengeAvailability(id, 0, challenger);
        bytes32 root = Ref.root(hashes);
        for (uint256 s; s < 3; ++s) {
            (bytes memory data, bytes32[] memory path) = Updates.reveal(v, hashes, s);
            uint256 d = 8192 * s + 37;
            int32 saved = v[d];
            v[d] = saved == type(int32).max ? saved - 1 : saved + 1;
            bytes32[] memory other = new bytes32[](hashes.length);
            for (uint256 j; j < hashes.length; ++j) {
                other[j] = hashes[j];
            }
            other[d / 32] = Ref.valueLeafHash(Updates.leaf(v, d / 32));
            (bytes memory wrong,) = Updates.reveal(v, other, s);
            v[d] = saved;
            vm.prank(outsider);
            vm.expectRevert(abi.encodeWithSelector(RoundRegistry.BadReveal.selector, root, Ref.root(other)));
            registry.revealSegment(id, 0, uint32(s), wrong, path);
            // The right values under another segment's index do not open the root either.
            if (s == 0) {
                vm.prank(outsider);
                vm.expectRevert();
                registry.revealSegment(id, 0, 1, data, path);
            }
        }
        (RoundRegistry.Availability memory a,) = _availability(id, 0);
        assertEq(a.revealed, 0);
    }

    function test_revealSegment_wrongPath_reverts() public {
        (uint256 id, int32[] memory v, bytes32[] memory hashes) = _roundWithRealUpdate(1, BIG_DIM, 23);
        _challengeAvailability(id, 0, challenger);
        (bytes memory data, bytes32[] memory path) = Updates.reveal(v, hashes, 2);
        bytes32[] memory segLeaves = new bytes32[](256);
        for (uint256 k; k < 4; ++k) {
            segLeaves[k] = hashes[512 + k];
        }
        bytes32 subtree = Ref.root(segLeaves);
        assertEq(_fold(subtree, 2, path), Ref.root(hashes), "reference fold");
        for (uint256 l; l < path.length; ++l) {
            bytes32 saved = path[l];
            path[l] = keccak256(abi.encode("not the sibling", l));
            bytes32 actual = _fold(subtree, 2, path);
            vm.prank(outsider);
            vm.expectRevert(
                abi.encodeWithSelector(RoundRegistry.BadReveal.selector, Ref.root(hashes), actual)
            );
            registry.revealSegment(id, 0, 2, data, path);
            path[l] = saved;
        }
        // Siblings in the wrong order.
        (path[0], path[1]) = (path[1], path[0]);
        vm.prank(outsider);
        vm.expectRevert(
            abi.encodeWithSelector(
                RoundRegistry.BadReveal.selector, Ref.root(hashes), _fold(subtree, 2, path)
            )
        );
        registry.revealSegment(id, 0, 2, data, path);
    }

    function test_revealSegment_wrongLength_reverts() public {
        (uint256 id, int32[] memory v, bytes32[] memory hashes) = _roundWithRealUpdate(1, BIG_DIM, 24);
        _challengeAvailability(id, 0, challenger);
        (bytes memory data, bytes32[] memory path) = Updates.reveal(v, hashes, 2);
        // One value short (the last leaf is partial: a short reveal must not be zero-padded).
        bytes memory short = new bytes(396);
        for (uint256 k; k < 396; ++k) {
            short[k] = data[k];
        }
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.BadLength.selector, "values", 400, 396));
        registry.revealSegment(id, 0, 2, short, path);
        // One value too many, even a zero one (the padding is not part of the data).
        bytes memory long = bytes.concat(data, hex"00000000");
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.BadLength.selector, "values", 400, 404));
        registry.revealSegment(id, 0, 2, long, path);
        // A path one sibling short or long.
        bytes32[] memory p1 = new bytes32[](1);
        p1[0] = path[0];
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.BadLength.selector, "path", 2, 1));
        registry.revealSegment(id, 0, 2, data, p1);
        bytes32[] memory p3 = new bytes32[](3);
        (p3[0], p3[1], p3[2]) = (path[0], path[1], bytes32(0));
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.BadLength.selector, "path", 2, 3));
        registry.revealSegment(id, 0, 2, data, p3);
        // A full segment's length is 32 KiB.
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.BadLength.selector, "values", 32_768, 400));
        registry.revealSegment(id, 0, 0, data, path);
    }

    function test_revealSegment_segmentOutOfRange_reverts() public {
        (uint256 id, int32[] memory v, bytes32[] memory hashes) = _roundWithRealUpdate(1, SMALL_DIM, 25);
        _challengeAvailability(id, 0, challenger);
        (bytes memory data, bytes32[] memory path) = Updates.reveal(v, hashes, 0);
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.InvalidSegment.selector, 1, 1));
        registry.revealSegment(id, 0, 1, data, path);
    }

    function test_revealSegment_notChallenged_reverts() public {
        (uint256 id, int32[] memory v, bytes32[] memory hashes) = _roundWithRealUpdate(2, SMALL_DIM, 26);
        (bytes memory data, bytes32[] memory path) = Updates.reveal(v, hashes, 0);
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.NotChallenged.selector, id, 0));
        registry.revealSegment(id, 0, 0, data, path);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.InvalidClientIndex.selector, 2, 2));
        registry.revealSegment(id, 2, 0, data, path);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.UnknownRound.selector, 9));
        registry.revealSegment(9, 0, 0, data, path);
    }

    /// A challenge must be answered within `resolveWindow` of it: a reveal at `resolveBy` is
    /// too late, the second before is in time.
    function test_revealSegment_afterResolveBy_reverts() public {
        (uint256 id, int32[] memory v, bytes32[] memory hashes) = _roundWithRealUpdate(1, SMALL_DIM, 27);
        vm.warp(block.timestamp + 60);
        _challengeAvailability(id, 0, challenger);
        (RoundRegistry.Availability memory a,) = _availability(id, 0);
        assertEq(a.resolveBy, block.timestamp + RESOLVE_WINDOW);
        assertLe(a.resolveBy, registry.round(id).postOpensAt, "answered before the set freezes");
        (bytes memory data, bytes32[] memory path) = Updates.reveal(v, hashes, 0);
        vm.warp(a.resolveBy);
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.RevealClosed.selector, id, 0, a.resolveBy));
        registry.revealSegment(id, 0, 0, data, path);
        vm.warp(a.resolveBy - 1);
        vm.prank(outsider);
        registry.revealSegment(id, 0, 0, data, path);
    }

    // ------------------------------------------------------------ challengeAvailability

    function test_challengeAvailability_afterDeadline_reverts() public {
        uint256 id = _open(2, 10);
        _commit(id, 0, 1);
        _commit(id, 1, 1);
        uint64 deadline = registry.round(id).availabilityDeadline;
        vm.warp(deadline);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.AvailabilityClosed.selector, id, deadline));
        registry.challengeAvailability{value: DA_BOND}(id, 0);
        vm.warp(deadline - 1);
        _challengeAvailability(id, 0, challenger);
    }

    function test_challengeAvailability_twice_reverts() public {
        uint256 id = _open(2, 10);
        _commit(id, 0, 1);
        _challengeAvailability(id, 0, challenger);
        vm.prank(challenger2);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.AlreadyChallengedUpdate.selector, id, 0));
        registry.challengeAvailability{value: DA_BOND}(id, 0);
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.AlreadyChallengedUpdate.selector, id, 0));
        registry.challengeAvailability{value: DA_BOND}(id, 0);
    }

    function test_challengeAvailability_invalidTargets_revert() public {
        uint256 id = _open(2, BIG_DIM);
        _commit(id, 0, 1);
        vm.startPrank(challenger);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.NotCommitted.selector, id, 1));
        registry.challengeAvailability{value: 3 * DA_BOND}(id, 1);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.InvalidClientIndex.selector, 2, 2));
        registry.challengeAvailability{value: 3 * DA_BOND}(id, 2);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.WrongBond.selector, DA_BOND, 3 * DA_BOND));
        registry.challengeAvailability{value: DA_BOND}(id, 0);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.UnknownRound.selector, 5));
        registry.challengeAvailability{value: 3 * DA_BOND}(5, 0);
        vm.stopPrank();
    }

    function test_challengeAvailability_postedRound_reverts() public {
        uint256 id = _posted(1, 10, OUT);
        vm.prank(challenger);
        vm.expectRevert(
            abi.encodeWithSelector(
                RoundRegistry.WrongRoundStatus.selector, id, RoundRegistry.RoundStatus.Posted
            )
        );
        registry.challengeAvailability{value: DA_BOND}(id, 0);
    }

    /// A challenge made during the commit phase, before the last commit closes it early: its
    /// reveal window still ends before the post phase opens.
    function test_challengeAvailability_beforeLastCommit_answeredBeforePost() public {
        uint256 id = _open(2, 10);
        _commit(id, 0, 1);
        vm.warp(block.timestamp + COMMIT_PERIOD - 10);
        _challengeAvailability(id, 0, challenger);
        _commit(id, 1, 1); // closes the commit phase now
        (RoundRegistry.Availability memory a,) = _availability(id, 0);
        RoundRegistry.RoundView memory r = registry.round(id);
        assertEq(r.availabilityDeadline, block.timestamp + AVAILABILITY_WINDOW);
        assertLe(a.resolveBy, r.postOpensAt);
    }

    // ------------------------------------------------------------ metered refunds

    /// A revealer is refunded from the challenger's bond what its reveal burnt at the base fee
    /// (never the priority fee), and never more than the transaction could have cost: a full
    /// 32 KiB segment sent straight from an EOA is priced by EIP-7623's calldata floor.
    function test_revealSegment_refund_boundedByGasUsed() public {
        uint256 baseFee = 30 gwei;
        (uint256 id, int32[] memory v, bytes32[] memory hashes) = _roundWithRealUpdate(1, BIG_DIM, 28);
        _challengeAvailability(id, 0, challenger);
        vm.fee(baseFee);
        vm.txGasPrice(100 gwei);
        uint256 refunds;
        for (uint256 s; s < 3; ++s) {
            // Segment 1 comes through a contract (msg.sender != tx.origin), the others
            // straight from an EOA.
            refunds += _revealMetered(id, v, hashes, s, s == 1 ? outsider : _client(0), s != 1, baseFee);
        }
        (RoundRegistry.Availability memory a,) = _availability(id, 0);
        assertTrue(a.settled);
        assertEq(registry.credit(challenger), 3 * DA_BOND - refunds, "the rest of the bond returns");
        _assertConserved();
    }

    /// Reveals segment `s` as `revealer` and checks its refund against the gas it used.
    function _revealMetered(
        uint256 id,
        int32[] memory v,
        bytes32[] memory hashes,
        uint256 s,
        address revealer,
        bool fromEoa,
        uint256 baseFee
    ) internal returns (uint256 refund) {
        (bytes memory data, bytes32[] memory path) = Updates.reveal(v, hashes, s);
        bytes memory cd = abi.encodeCall(RoundRegistry.revealSegment, (id, 0, uint32(s), data, path));
        uint256 before = registry.credit(revealer);
        if (fromEoa) vm.prank(revealer, revealer);
        else vm.prank(revealer);
        uint256 g0 = gasleft();
        registry.revealSegment(id, 0, uint32(s), data, path);
        uint256 used = g0 - gasleft();
        refund = registry.credit(revealer) - before;
        assertGt(refund, 0, "refunded");
        assertEq(refund % baseFee, 0, "priced at the base fee");
        if (!fromEoa) {
            assertLe(refund, used * baseFee, "at most the call's own gas");
        } else {
            (uint256 z, uint256 nz) = Updates.countBytes(cd);
            assertLe(refund, Updates.chargedGas(cd, used) * baseFee, "at most the whole transaction");
            assertGe(refund, (21_000 + 10 * (z + 4 * nz)) * baseFee, "at least the calldata floor");
        }
    }

    /// An EIP-7702 delegated EOA reveals with 60 KB of padding appended to the calldata, built in
    /// memory by its code: the padding is not credited (it would cost the revealer ~200k gas of
    /// memory and be credited 2.4M gas under the calldata floor, draining the bond).
    function test_revealSegment_delegatedEoaPaddedCalldata_notCredited() public {
        uint256 baseFee = 30 gwei;
        (uint256 id, int32[] memory v, bytes32[] memory hashes) = _roundWithRealUpdate(1, SMALL_DIM, 34);
        _challengeAvailability(id, 0, challenger);
        (bytes memory data, bytes32[] memory path) = Updates.reveal(v, hashes, 0);
        bytes memory padded = bytes.concat(
            abi.encodeCall(RoundRegistry.revealSegment, (id, 0, 0, data, path)), new bytes(60_000)
        );
        for (uint256 k = padded.length - 60_000; k < padded.length; ++k) {
            padded[k] = 0xff;
        }
        address eoa = address(0x7702);
        vm.etch(eoa, abi.encodePacked(hex"ef0100", address(this)));
        vm.fee(baseFee);
        vm.prank(eoa, eoa);
        uint256 g0 = gasleft();
        (bool ok,) = address(registry).call(padded);
        uint256 used = g0 - gasleft();
        assertTrue(ok, "the padded reveal is accepted");
        uint256 refund = registry.credit(eoa);
        assertGt(refund, 0);
        assertLe(refund, used * baseFee, "execution only");
    }

    /// A plain EOA may pad its own calldata too, but the padding is its own: only the call's
    /// canonical ABI length is credited, so it cannot spend the challenger's bond on gas it
    /// burns itself.
    function test_revealSegment_paddedCalldataFromEoa_paddingNotCredited() public {
        uint256 baseFee = 30 gwei;
        (uint256 id, int32[] memory v, bytes32[] memory hashes) = _roundWithRealUpdate(1, SMALL_DIM, 35);
        _challengeAvailability(id, 0, challenger);
        (bytes memory data, bytes32[] memory path) = Updates.reveal(v, hashes, 0);
        bytes memory canonical = abi.encodeCall(RoundRegistry.revealSegment, (id, 0, 0, data, path));
        bytes memory padded = bytes.concat(canonical, new bytes(2_000));
        for (uint256 k = canonical.length; k < padded.length; ++k) {
            padded[k] = 0xff;
        }
        vm.fee(baseFee);
        vm.prank(outsider, outsider);
        uint256 g0 = gasleft();
        (bool ok,) = address(registry).call(padded);
        uint256 used = g0 - gasleft();
        assertTrue(ok);
        uint256 refund = registry.credit(outsider);
        assertGt(refund, 0);
        assertLe(refund, Updates.chargedGas(canonical, used) * baseFee, "at most the canonical transaction");
        // The 2,000 padding bytes (16 gas each, at least 32,000 gas) are not in the refund.
        assertLe(refund + 32_000 * baseFee, Updates.chargedGas(padded, used) * baseFee, "padding not credited");
    }

    /// At an absurd base fee a reveal costs more than the bond: the refund stops at the bond.
    function test_revealSegment_refundCappedAtBond() public {
        (uint256 id, int32[] memory v, bytes32[] memory hashes) = _roundWithRealUpdate(1, SMALL_DIM, 29);
        _challengeAvailability(id, 0, challenger);
        vm.fee(10_000_000 gwei);
        _reveal(id, 0, v, hashes, 0, outsider);
        assertEq(registry.credit(outsider), DA_BOND);
        assertEq(registry.credit(challenger), 0);
        _assertConserved();
    }

    /// One of three segments revealed, then nothing: the client is excluded; the challenger's
    /// bond paid that revealer, and the settlement makes the challenger whole from the deposit
    /// (its bond left, what it paid out, its challenge's cost) and burns the rest.
    function test_settleAvailability_partialReveal_challengerCompensated() public {
        uint256 baseFee = 1 gwei;
        vm.fee(baseFee);
        (uint256 id, int32[] memory v, bytes32[] memory hashes) = _roundWithRealUpdate(2, BIG_DIM, 30);
        _challengeAvailability(id, 0, challenger);
        _reveal(id, 0, v, hashes, 1, outsider);
        uint256 refund = registry.credit(outsider);
        assertGt(refund, 0);
        (RoundRegistry.Availability memory a, bool excluded) = _availability(id, 0);
        assertEq(a.bondLeft, 3 * DA_BOND - refund);
        assertTrue(excluded);
        _toPostPhase(id);
        uint256 owed = a.challengeCost + refund;
        assertLt(owed, 3 * DEPOSIT, "covered by the deposit");
        vm.prank(outsider);
        registry.settleAvailability(id, 0);
        depositOut[id][0] = true;
        assertEq(registry.credit(challenger), a.bondLeft + owed, "whole: 3 bonds + cost");
        assertEq(registry.credit(challenger), 3 * DA_BOND + a.challengeCost);
        assertEq(registry.burnt(), 3 * DEPOSIT - owed);
        _assertConserved();
    }

    /// When what the challenger is owed exceeds the deposit, the whole deposit goes to it and
    /// nothing is burnt.
    function test_settleAvailability_owedAboveDeposit_wholeDepositPaid() public {
        (uint256 id, int32[] memory v, bytes32[] memory hashes) = _roundWithRealUpdate(1, BIG_DIM, 31);
        _challengeAvailability(id, 0, challenger);
        vm.fee(1_000 gwei); // a 32 KiB reveal (~1.4M gas) costs ~1.4 ether, above 3 deposits
        _reveal(id, 0, v, hashes, 0, outsider);
        vm.fee(0);
        uint256 refund = registry.credit(outsider);
        assertGt(refund, 3 * DEPOSIT);
        _toPostPhase(id);
        _settleAvailability(id, 0);
        assertEq(registry.credit(challenger), 3 * DA_BOND - refund + 3 * DEPOSIT);
        assertEq(registry.burnt(), 0);
        _assertConserved();
    }

    // ------------------------------------------------------------ settle and release

    function test_settleAvailability_invalid_reverts() public {
        (uint256 id, int32[] memory v, bytes32[] memory hashes) = _roundWithRealUpdate(3, SMALL_DIM, 32);
        _challengeAvailability(id, 0, challenger);
        _challengeAvailability(id, 1, challenger2);
        uint64 opensAt = registry.round(id).postOpensAt;
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.AvailabilityOpen.selector, id, opensAt));
        registry.settleAvailability(id, 1);
        _reveal(id, 0, v, hashes, 0, outsider);
        vm.warp(opensAt);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.NothingToSettle.selector, id, 0));
        registry.settleAvailability(id, 0); // answered
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.NothingToSettle.selector, id, 2));
        registry.settleAvailability(id, 2); // never challenged
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.InvalidClientIndex.selector, 3, 3));
        registry.settleAvailability(id, 3);
        _settleAvailability(id, 1);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.NothingToSettle.selector, id, 1));
        registry.settleAvailability(id, 1); // twice
        _assertConserved();
    }

    function test_releaseDeposit_invalid_reverts() public {
        uint256 id = _open(3, 10);
        _commit(id, 0, 1);
        _commit(id, 1, 1);
        _challengeAvailability(id, 1, challenger);
        uint64 opensAt = registry.round(id).postOpensAt;
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.AvailabilityOpen.selector, id, opensAt));
        registry.releaseDeposit(id, 0);
        vm.warp(opensAt);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.DepositNotReleasable.selector, id, 2));
        registry.releaseDeposit(id, 2); // never committed
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.DepositNotReleasable.selector, id, 1));
        registry.releaseDeposit(id, 1); // excluded
        _release(id, 0);
        vm.expectRevert(abi.encodeWithSelector(RoundRegistry.DepositNotReleasable.selector, id, 0));
        registry.releaseDeposit(id, 0); // twice
        // Anyone may release; the deposit goes to the client.
        assertEq(registry.credit(_client(0)), DEPOSIT);
        _assertConserved();
    }

    // ------------------------------------------------------------ expiry

    /// The aggregator never posts: after the post deadline the round expires, and every
    /// deposit and availability bond is still there to claim. Once everyone has claimed and
    /// withdrawn, only the burnt ether (an excluded client's deposit) is left.
    function test_expireRound_unposted_everyBondReturned() public {
        (uint256 id, int32[] memory v, bytes32[] memory hashes) = _roundWithRealUpdate(3, SMALL_DIM, 33);
        _challengeAvailability(id, 0, challenger); // answered
        _challengeAvailability(id, 1, challenger2); // withheld
        _reveal(id, 0, v, hashes, 0, outsider);
        uint64 deadline = registry.round(id).postDeadline;
        vm.warp(deadline);
        vm.expectEmit(true, false, false, true, address(registry));
        emit RoundRegistry.RoundExpired(id);
        registry.expireRound(id);
        assertTrue(_status(id) == RoundRegistry.RoundStatus.Expired);
        _release(id, 0);
        _release(id, 2);
        _settleAvailability(id, 1);
        assertEq(registry.credit(_client(0)), DEPOSIT);
        assertEq(registry.credit(_client(2)), DEPOSIT);
        assertEq(registry.credit(challenger), DA_BOND);
        assertEq(registry.credit(challenger2), DA_BOND);
        assertEq(registry.burnt(), DEPOSIT);
        _assertConserved();
        address[4] memory payees = [_client(0), _client(2), challenger, challenger2];
        for (uint256 k; k < payees.length; ++k) {
            vm.prank(payees[k]);
            registry.withdraw();
        }
        assertEq(address(registry).balance, DEPOSIT, "only the burnt deposit is left");
        assertEq(address(registry).balance, registry.burnt());
    }
}
