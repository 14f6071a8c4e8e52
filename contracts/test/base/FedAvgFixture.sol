// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Fixture} from "./Fixture.sol";
import {Ref} from "./Reference.sol";
import {AccumulateChecker} from "../../src/checkers/AccumulateChecker.sol";
import {FinalizeChecker} from "../../src/checkers/FinalizeChecker.sol";

/// @title FedAvgFixture
/// @notice A complete FedAvg round computed in Solidity with the reference functions: the
///         clients' updates, their trees, the honest trace (every state and its commitment)
///         and the leaf input of any step. Against the statement-checking mock verifiers this
///         exercises the real arbiter, game and registry end to end.
abstract contract FedAvgFixture is Fixture {
    uint256 internal roundId;
    uint256 internal n;
    uint32 internal dim;
    uint256 internal chunks;
    uint32[] internal weights;
    uint256 internal totalWeight;
    bytes32[] internal updateRoots;
    bytes32[] internal participantLeaves;
    /// Client c's leaf j.
    mapping(uint256 => mapping(uint256 => int32[32])) internal leafOf;
    /// Honest output leaf j.
    mapping(uint256 => int32[32]) internal outputOf;
    /// A dishonest aggregator's output leaf j (equal to the honest one unless tampered).
    mapping(uint256 => int32[32]) internal claimedOutputOf;

    /// Deterministic value of client c at coordinate d: mixed signs, up to ±2^20, with some
    /// extreme values to exercise the sign handling.
    function _value(uint256 seed, uint256 c, uint256 d) internal pure returns (int32) {
        uint256 r = uint256(keccak256(abi.encode(seed, c, d)));
        if (r % 17 == 0) return type(int32).min;
        if (r % 19 == 0) return type(int32).max;
        return int32(int256(r % (1 << 21)) - int256(1 << 20));
    }

    /// Opens the round, commits every client's update and computes the honest result.
    function _buildRound(uint256 n_, uint32 dim_, uint256 seed) internal {
        n = n_;
        dim = dim_;
        chunks = (uint256(dim_) + 31) / 32;
        roundId = _open(n_, dim_);
        for (uint256 c; c < n_; ++c) {
            uint32 w = uint32(1 + uint256(keccak256(abi.encode(seed, "w", c))) % 1000);
            weights.push(w);
            totalWeight += w;
            bytes32[] memory hashes = new bytes32[](chunks);
            for (uint256 j; j < chunks; ++j) {
                int32[32] memory v;
                for (uint256 l; l < 32; ++l) {
                    uint256 d = 32 * j + l;
                    if (d < dim_) v[l] = _value(seed, c, d);
                }
                leafOf[c][j] = v;
                hashes[j] = Ref.valueLeafHash(v);
            }
            bytes32 root = Ref.root(hashes);
            updateRoots.push(root);
            participantLeaves.push(Ref.participantLeaf(root, w));
            _commitRoot(roundId, c, root, w);
        }
        for (uint256 j; j < chunks; ++j) {
            int64[32] memory acc = _register(j, n_);
            int32[32] memory out;
            for (uint256 l; l < 32; ++l) {
                out[l] = int32(Ref.finalizeLane(acc[l], totalWeight));
            }
            outputOf[j] = out;
            claimedOutputOf[j] = out;
        }
    }

    /// The register after accumulating participants 0..i-1 of chunk j.
    function _register(uint256 j, uint256 i) internal view returns (int64[32] memory acc) {
        for (uint256 c; c < i; ++c) {
            int32[32] memory x = leafOf[c][j];
            for (uint256 l; l < 32; ++l) {
                acc[l] += int64(uint64(weights[c])) * int64(x[l]);
            }
        }
    }

    /// Root of the output tree with chunks below `written` finalised.
    function _outputRoot(uint256 written, bool claimed) internal view returns (bytes32) {
        bytes32[] memory hashes = new bytes32[](chunks);
        for (uint256 j; j < written && j < chunks; ++j) {
            hashes[j] = Ref.valueLeafHash(claimed ? claimedOutputOf[j] : outputOf[j]);
        }
        return Ref.root(hashes);
    }

    function _outputPath(uint256 written, uint256 j) internal view returns (bytes32[] memory) {
        bytes32[] memory hashes = new bytes32[](chunks);
        for (uint256 k; k < written && k < chunks; ++k) {
            hashes[k] = Ref.valueLeafHash(outputOf[k]);
        }
        return Ref.proof(hashes, j);
    }

    /// The round's config hash, cached when the result is posted (so that building a state
    /// commitment makes no external call that `vm.expectRevert` could pick up).
    bytes32 internal configHash;

    function _config() internal view returns (bytes32) {
        return configHash;
    }

    function _steps() internal view returns (uint64) {
        return uint64(chunks * (n + 1));
    }

    /// Commitment of state k of the honest trace (claimed = false) or of the trace a
    /// dishonest aggregator with tampered outputs would claim (claimed = true).
    function _stateHash(uint256 k, bool claimed) internal view returns (bytes32) {
        uint256 j = k / (n + 1);
        uint256 i = k % (n + 1);
        int64[32] memory acc = j < chunks ? _register(j, i) : _register(0, 0);
        return Ref.stateHash(_config(), k, Ref.accHash(acc), _outputRoot(j, claimed));
    }

    /// Whether step k is an Accumulate step (else the Finalize step of its chunk).
    function _isAccumulate(uint256 k) internal view returns (bool) {
        return k % (n + 1) < n;
    }

    /// The honest Accumulate leaf of step k (k must be an Accumulate step).
    function _accLeaf(uint256 k) internal view returns (AccumulateChecker.AccumulateLeaf memory leaf) {
        uint256 j = k / (n + 1);
        uint256 i = k % (n + 1);
        require(i < n, "not an Accumulate step");
        leaf.acc = Ref.encodeAcc(_register(j, i));
        leaf.outputRoot = _outputRoot(j, false);
        leaf.updateRoot = updateRoots[i];
        leaf.weight = weights[i];
        leaf.inputPath = Ref.proof(participantLeaves, i);
        leaf.values = Ref.encodeValues(leafOf[i][j]);
        bytes32[] memory hashes = new bytes32[](chunks);
        for (uint256 t; t < chunks; ++t) {
            hashes[t] = Ref.valueLeafHash(leafOf[i][t]);
        }
        leaf.valuesPath = Ref.proof(hashes, j);
        leaf.accOut = Ref.encodeAcc(_register(j, i + 1));
        leaf.proof = MockStepVerifierProof.PROOF;
    }

    /// The honest Finalize leaf of step k (k must be a Finalize step).
    function _finLeaf(uint256 k) internal view returns (FinalizeChecker.FinalizeLeaf memory leaf) {
        uint256 j = k / (n + 1);
        require(k % (n + 1) == n, "not a Finalize step");
        leaf.acc = Ref.encodeAcc(_register(j, n));
        leaf.outputRoot = _outputRoot(j, false);
        leaf.values = Ref.encodeValues(outputOf[j]);
        leaf.outputPath = _outputPath(j, j);
        leaf.proof = MockStepVerifierProof.PROOF;
    }

    /// The honest leaf of step k as `proveLeaf` and `postState` take it: `abi.encode` of the
    /// step kind's leaf struct.
    function _leafInput(uint256 k) internal view returns (bytes memory) {
        return _isAccumulate(k) ? abi.encode(_accLeaf(k)) : abi.encode(_finLeaf(k));
    }

    function _postHonest() internal {
        _post(roundId, _outputRoot(chunks, false));
        configHash = registry.round(roundId).configHash;
    }

    function _postClaimed() internal {
        _post(roundId, _outputRoot(chunks, true));
        configHash = registry.round(roundId).configHash;
    }
}

/// The placeholder proof the mock verifiers accept.
library MockStepVerifierProof {
    bytes internal constant PROOF = "mock-step-proof";
}
