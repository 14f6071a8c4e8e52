// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Fixture} from "./base/Fixture.sol";
import {RoundRegistry} from "../src/RoundRegistry.sol";

/// Replays the Rust-generated data-availability vector (`test/vectors/segments.json`, written by
/// `tests/tests/segments.rs` from `step-vm`): an update of 16,484 values in three segments (two
/// full, one partial), each revealed with the Rust segment layout and path. The registry must
/// accept every one against the root Rust computed, and the client must stay in the round.
contract SegmentVectorsTest is Fixture {
    string internal json;

    function _segment(uint256 s) internal view returns (bytes memory values, bytes32[] memory path) {
        string memory key = string.concat(".segments[", vm.toString(s), "]");
        values = vm.parseJsonBytes(json, string.concat(key, ".values"));
        path = vm.parseJsonBytes32Array(json, string.concat(key, ".path"));
    }

    function _round() internal returns (uint256 id) {
        json = vm.readFile(string.concat(vm.projectRoot(), "/test/vectors/segments.json"));
        uint32 dim = uint32(vm.parseJsonUint(json, ".dim"));
        id = _open(2, dim);
        _commitRoot(id, 0, vm.parseJsonBytes32(json, ".root"), 5);
        _commit(id, 1, 2);
        _challengeAvailability(id, 0, challenger);
    }

    function test_segmentVector_rustReveals_openTheRustRoot() public {
        uint256 id = _round();
        assertEq(registry.round(id).segments, 3, "three segments, as in Rust");
        for (uint256 s; s < 3; ++s) {
            (bytes memory values, bytes32[] memory path) = _segment(s);
            vm.prank(outsider);
            registry.revealSegment(id, 0, uint32(s), values, path);
            assertTrue(registry.isRevealed(id, 0, uint32(s)));
        }
        (RoundRegistry.Availability memory a, bool excluded) = registry.availability(id, 0);
        assertTrue(a.settled, "resolved by the last segment");
        assertFalse(excluded, "the client stays in");
    }

    function test_segmentVector_tamperedValue_reverts() public {
        uint256 id = _round();
        (bytes memory values, bytes32[] memory path) = _segment(1);
        values[values.length - 1] ^= 0x01;
        vm.prank(outsider);
        vm.expectPartialRevert(RoundRegistry.BadReveal.selector);
        registry.revealSegment(id, 0, 1, values, path);
    }

    function test_segmentVector_wrongSegmentIndex_reverts() public {
        uint256 id = _round();
        (bytes memory values, bytes32[] memory path) = _segment(0);
        vm.prank(outsider);
        // Segment 1 is a full segment too: same lengths, another place in the tree.
        vm.expectPartialRevert(RoundRegistry.BadReveal.selector);
        registry.revealSegment(id, 0, 1, values, path);
    }
}
