// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {OrderFixture} from "./OrderFixture.sol";
import {MockStepVerifierProof} from "./FedAvgFixture.sol";
import {Ref} from "./Reference.sol";
import {OrderRef} from "./OrderReference.sol";
import {ClipRef} from "./ClipReference.sol";
import {AccumulateChecker} from "../../src/checkers/AccumulateChecker.sol";
import {RankChecker} from "../../src/checkers/RankChecker.sol";
import {TrimSumChecker} from "../../src/checkers/TrimSumChecker.sol";
import {NormChecker} from "../../src/checkers/NormChecker.sol";
import {ScaleChecker} from "../../src/checkers/ScaleChecker.sol";
import {ClipChecker} from "../../src/checkers/ClipChecker.sol";

/// @title ClippedFixture
/// @notice A complete clipped round (rules 3, 4, 5: ClippedFedAvg, ClippedMedian,
///         ClippedTrimmedMean) computed in Solidity with the reference functions (`ClipRef`,
///         `Ref`, `OrderRef`): the clients' raw updates and trees, each participant's exact
///         squared norm, isqrt and scale, the clipped values (in FedAvgFixture's `leafOf`, so the
///         base rule's helpers compute the base trace over them), the honest result of the base
///         rule over the clipped values, every state of the program (the prologue's norm
///         registers and scales tree, the base states bound to the scales root, the base's final
///         state unwrapped) and the leaf of any step (Norm, Scale, Clip around the base kind's
///         leaf, whose values are the committed raw ones). Against the statement-checking mock
///         verifiers this exercises the real programs, checkers, arbiter, game and registry end
///         to end.
abstract contract ClippedFixture is OrderFixture {
    /// The base rule (0 FedAvg, 1 Median, 2 TrimmedMean), its parameters, the threshold.
    uint8 internal baseRule;
    bytes internal baseParams;
    uint32 internal threshold;
    /// Client c's committed (raw) leaf j; `leafOf` holds the clipped one.
    mapping(uint256 => mapping(uint256 => int32[32])) internal rawLeafOf;
    /// Participant c's exact squared norm and scale.
    uint256[] internal normSquared;
    uint256[] internal scales;

    /// Raw value of client c at coordinate d, by the client's profile (c mod 4): small values
    /// (never clipped at the thresholds the tests use), large values with int32 extremes
    /// (clipped hard), a zero update (zero norm, scale 2^32), tied order-statistic values
    /// (clipped mildly).
    function _rawValue(uint256 seed, uint256 c, uint256 d) internal pure returns (int32) {
        uint256 r = uint256(keccak256(abi.encode(seed, "raw", c, d)));
        uint256 profile = c % 4;
        if (profile == 0) return int32(int256(r % (1 << 13)) - (1 << 12));
        if (profile == 1) {
            if (r % 7 == 0) return type(int32).min;
            if (r % 11 == 0) return type(int32).max;
            return int32(int256(r % (1 << 21)) - (1 << 20));
        }
        if (profile == 2) return 0;
        return (int32(int256(r % 7)) - 3) * 65_536 + int32(int256(d % 5));
    }

    /// Opens a round of `n_` clients under the clipped rule over `baseRule_` (rule id + 3) with
    /// threshold `tau` and the base's `baseParams_`, commits every client's raw update, computes
    /// every scale and clipped value and the base rule's honest result over the clipped values.
    function _buildClippedRound(
        uint8 baseRule_,
        bytes memory baseParams_,
        uint32 tau,
        uint256 n_,
        uint32 dim_,
        uint256 seed
    ) internal {
        baseRule = baseRule_;
        baseParams = baseParams_;
        threshold = tau;
        rule = baseRule_ + 3;
        ruleParams = abi.encodePacked(abi.encode(uint256(tau)), baseParams_);
        n = n_;
        dim = dim_;
        chunks = (uint256(dim_) + 31) / 32;
        if (baseRule_ == 1) trimK = (n_ - 1) / 2;
        else if (baseRule_ == 2) trimK = uint256(abi.decode(baseParams_, (uint16))) * n_ / 10_000;
        roundId = registry.openRound(_clients(n_), dim_, aggregator, COMMIT_PERIOD, rule, ruleParams);
        for (uint256 c; c < n_; ++c) {
            uint32 w = uint32(1 + uint256(keccak256(abi.encode(seed, "w", c))) % 1000);
            weights.push(w);
            totalWeight += w;
            bytes32[] memory hashes = new bytes32[](chunks);
            uint256 sq;
            for (uint256 j; j < chunks; ++j) {
                int32[32] memory v;
                for (uint256 l; l < 32; ++l) {
                    uint256 d = 32 * j + l;
                    if (d < dim_) v[l] = _rawValue(seed, c, d);
                }
                rawLeafOf[c][j] = v;
                hashes[j] = Ref.valueLeafHash(v);
                sq += ClipRef.squares(v);
            }
            normSquared.push(sq);
            uint256 s = ClipRef.scaleOf(sq, tau);
            scales.push(s);
            for (uint256 j; j < chunks; ++j) {
                leafOf[c][j] = ClipRef.clipLeaf(rawLeafOf[c][j], s);
            }
            bytes32 root = Ref.root(hashes);
            updateRoots.push(root);
            participantLeaves.push(Ref.participantLeaf(root, w));
            _commitRoot(roundId, c, root, w);
        }
        int32[] memory column = new int32[](n_);
        for (uint256 j; j < chunks; ++j) {
            int32[32] memory out;
            if (baseRule_ == 0) {
                int64[32] memory acc = _register(j, n_);
                for (uint256 l; l < 32; ++l) {
                    out[l] = int32(Ref.finalizeLane(acc[l], totalWeight));
                }
            } else {
                for (uint256 l; l < 32; ++l) {
                    for (uint256 c; c < n_; ++c) {
                        column[c] = leafOf[c][j][l];
                    }
                    out[l] = OrderRef.sortedMean(column, trimK);
                }
            }
            outputOf[j] = out;
            claimedOutputOf[j] = out;
        }
    }

    // ------------------------------------------------------------ the schedule

    /// P = n·(C + 1).
    function _prologue() internal view returns (uint256) {
        return n * (chunks + 1);
    }

    /// T_b, the base program's steps.
    function _baseSteps() internal view returns (uint256) {
        return baseRule == 0 ? chunks * (n + 1) : chunks * (33 * n + 1);
    }

    /// T = P + T_b.
    function _clippedSteps() internal view returns (uint64) {
        return uint64(_prologue() + _baseSteps());
    }

    /// Whether base step b reads a participant, and whose (computed here, not by the programs).
    function _baseRead(uint256 b) internal view returns (bool reads, uint256 participant) {
        if (baseRule == 0) {
            uint256 col = b % (n + 1);
            return (col < n, col < n ? col : 0);
        }
        uint256 c = b % (33 * n + 1);
        return (c < 33 * n, c < 33 * n ? c % n : 0);
    }

    // ------------------------------------------------------------ states

    /// Σ x² over participant i's first `leaves` raw leaves.
    function _normAfter(uint256 i, uint256 leaves) internal view returns (uint256 sum) {
        for (uint256 j; j < leaves; ++j) {
            sum += ClipRef.squares(rawLeafOf[i][j]);
        }
    }

    /// The scales tree's leaves with participants below `written` written.
    function _scaleLeaves(uint256 written) internal view returns (bytes32[] memory leaves) {
        leaves = new bytes32[](n);
        for (uint256 c; c < written && c < n; ++c) {
            leaves[c] = ClipRef.scaleLeaf(scales[c]);
        }
    }

    function _scalesRoot(uint256 written) internal view returns (bytes32) {
        return Ref.root(_scaleLeaves(written));
    }

    /// State k <= P of the prologue: (config, k, norm register, scales root).
    function _prologueStateHash(uint256 k) internal view returns (bytes32) {
        uint256 i = k / (chunks + 1);
        uint256 c = k % (chunks + 1);
        uint256 sq = i < n ? _normAfter(i, c) : 0;
        return Ref.stateHash(configHash, k, ClipRef.normHash(sq), _scalesRoot(i));
    }

    /// The base program's state b (base-local index), honest or claimed.
    function _baseStateHash(uint256 b, bool claimed) internal view returns (bytes32) {
        return baseRule == 0 ? _stateHash(b, claimed) : _orderStateHash(b, claimed);
    }

    /// State k of the clipped program: the prologue's for k <= P, the base's bound to the
    /// scales root for P < k < T, the base's last unwrapped at T.
    function _clippedStateHash(uint256 k, bool claimed) internal view returns (bytes32) {
        uint256 p = _prologue();
        if (k <= p) return _prologueStateHash(k);
        if (k == _clippedSteps()) return _baseStateHash(k - p, claimed);
        return ClipRef.wrap(_baseStateHash(k - p, claimed), _scalesRoot(n));
    }

    // ------------------------------------------------------------ leaves

    /// Path of participant i's raw value leaf j in its update root.
    function _rawValuesPath(uint256 i, uint256 j) internal view returns (bytes32[] memory) {
        bytes32[] memory hashes = new bytes32[](chunks);
        for (uint256 t; t < chunks; ++t) {
            hashes[t] = Ref.valueLeafHash(rawLeafOf[i][t]);
        }
        return Ref.proof(hashes, j);
    }

    /// The honest Norm leaf of prologue step k (column < C of row i).
    function _normLeaf(uint256 k) internal view returns (NormChecker.NormLeaf memory l) {
        (uint256 i, uint256 c) = (k / (chunks + 1), k % (chunks + 1));
        require(k < _prologue() && c < chunks, "not a Norm step");
        l.register = ClipRef.encodeNorm(_normAfter(i, c));
        l.scalesRoot = _scalesRoot(i);
        l.updateRoot = updateRoots[i];
        l.weight = weights[i];
        l.inputPath = Ref.proof(participantLeaves, i);
        l.values = Ref.encodeValues(rawLeafOf[i][c]);
        l.valuesPath = _rawValuesPath(i, c);
        l.registerOut = ClipRef.encodeNorm(_normAfter(i, c + 1));
        l.proof = MockStepVerifierProof.PROOF;
    }

    /// The honest Scale leaf of prologue step k (column C of row i).
    function _scaleLeaf(uint256 k) internal view returns (ScaleChecker.ScaleLeaf memory l) {
        (uint256 i, uint256 c) = (k / (chunks + 1), k % (chunks + 1));
        require(k < _prologue() && c == chunks, "not a Scale step");
        l.register = ClipRef.encodeNorm(_normAfter(i, chunks));
        l.scalesRoot = _scalesRoot(i);
        l.values = abi.encodePacked(uint64(scales[i]));
        l.scalesPath = Ref.proof(_scaleLeaves(i), i);
        l.proof = MockStepVerifierProof.PROOF;
    }

    /// The base kind's honest leaf of base step b, with the committed (raw) values.
    function _baseLeafInput(uint256 b) internal view returns (bytes memory) {
        (bool reads, uint256 i) = _baseRead(b);
        if (baseRule == 0) {
            if (!reads) return abi.encode(_finLeaf(b));
            AccumulateChecker.AccumulateLeaf memory a = _accLeaf(b);
            uint256 j = b / (n + 1);
            a.values = Ref.encodeValues(rawLeafOf[i][j]);
            a.valuesPath = _rawValuesPath(i, j);
            return abi.encode(a);
        }
        if (!reads) return abi.encode(_trimEmitLeaf(b));
        uint256 row = b / _perRow();
        if (b % _perRow() < 32 * n) {
            RankChecker.RankLeaf memory r = _rankLeaf(b);
            (r.values, r.valuesPath) = (Ref.encodeValues(rawLeafOf[i][row]), _rawValuesPath(i, row));
            return abi.encode(r);
        }
        TrimSumChecker.TrimSumLeaf memory t = _trimSumLeaf(b);
        (t.values, t.valuesPath) = (Ref.encodeValues(rawLeafOf[i][row]), _rawValuesPath(i, row));
        return abi.encode(t);
    }

    /// The Clip leaf of step k = P + b around `baseLeaf` from the base pre-state `basePre`:
    /// the scales root, and the read participant's scale with its opening (none for a step
    /// reading no participant).
    function _clipLeafFrom(uint256 k, bytes32 basePre, bytes memory baseLeaf)
        internal
        view
        returns (ClipChecker.ClipLeaf memory l)
    {
        (bool reads, uint256 i) = _baseRead(k - _prologue());
        l.basePre = basePre;
        l.scalesRoot = _scalesRoot(n);
        if (reads) {
            l.scales = new uint64[](1);
            l.scales[0] = uint64(scales[i]);
            l.scalePaths = Ref.proof(_scaleLeaves(n), i);
        }
        l.baseLeaf = baseLeaf;
    }

    /// The honest Clip leaf of step k >= P.
    function _clipLeaf(uint256 k) internal view returns (ClipChecker.ClipLeaf memory) {
        uint256 b = k - _prologue();
        return _clipLeafFrom(k, _baseStateHash(b, false), _baseLeafInput(b));
    }

    /// The honest leaf of step k as `proveLeaf` and `postState` take it.
    function _clippedLeafInput(uint256 k) internal view returns (bytes memory) {
        if (k >= _prologue()) return abi.encode(_clipLeaf(k));
        if (k % (chunks + 1) < chunks) return abi.encode(_normLeaf(k));
        return abi.encode(_scaleLeaf(k));
    }

    /// The base program's parameters of the round's rule (for the checkers' expectations).
    function _baseProgram() internal view returns (address) {
        if (baseRule == 0) return address(fedAvg);
        if (baseRule == 1) return address(median);
        return address(trimmedMean);
    }
}
