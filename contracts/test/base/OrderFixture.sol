// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {FedAvgFixture, MockStepVerifierProof} from "./FedAvgFixture.sol";
import {Ref} from "./Reference.sol";
import {OrderRef} from "./OrderReference.sol";
import {RankChecker} from "../../src/checkers/RankChecker.sol";
import {TrimSumChecker} from "../../src/checkers/TrimSumChecker.sol";
import {TrimEmitChecker} from "../../src/checkers/TrimEmitChecker.sol";

/// @title OrderFixture
/// @notice A complete Median or TrimmedMean round computed in Solidity with the reference
///         functions (`OrderRef`): the clients' updates and trees (in FedAvgFixture's storage,
///         so its output-tree helpers apply), the honest result by sorting, any state of the
///         program by replaying its row (`33n + 1` columns: 32 rank passes, the sum pass, the
///         emit) and the leaf of any step. Against the statement-checking mock verifiers this
///         exercises the real programs, checkers, arbiter, game and registry end to end.
abstract contract OrderFixture is FedAvgFixture {
    /// The round's rule (1 Median, 2 TrimmedMean) and parameters.
    uint8 internal rule;
    bytes internal ruleParams;
    /// Values trimmed at each end, computed here (not read from the program under test).
    uint256 internal trimK;

    /// Deterministic value of client c at coordinate d: few distinct values per coordinate
    /// (ties everywhere), now and then an extreme.
    function _orderValue(uint256 seed, uint256 c, uint256 d) internal pure returns (int32) {
        uint256 r = uint256(keccak256(abi.encode(seed, c, d)));
        if (r % 23 == 0) return type(int32).min;
        if (r % 29 == 0) return type(int32).max;
        return (int32(int256(r % 7)) - 3) * 65_536 + int32(int256(d % 5));
    }

    /// Opens a round of `n_` clients under `rule_` with `params_`, commits every client's update
    /// and computes the honest result by sorting each coordinate.
    function _buildOrderRound(uint8 rule_, bytes memory params_, uint256 n_, uint32 dim_, uint256 seed)
        internal
    {
        rule = rule_;
        ruleParams = params_;
        n = n_;
        dim = dim_;
        chunks = (uint256(dim_) + 31) / 32;
        trimK = rule_ == 1 ? (n_ - 1) / 2 : uint256(abi.decode(params_, (uint16))) * n_ / 10_000;
        roundId = registry.openRound(_clients(n_), dim_, aggregator, COMMIT_PERIOD, rule_, params_);
        for (uint256 c; c < n_; ++c) {
            uint32 w = uint32(1 + uint256(keccak256(abi.encode(seed, "w", c))) % 1000);
            weights.push(w);
            totalWeight += w;
            bytes32[] memory hashes = new bytes32[](chunks);
            for (uint256 j; j < chunks; ++j) {
                int32[32] memory v;
                for (uint256 l; l < 32; ++l) {
                    uint256 d = 32 * j + l;
                    if (d < dim_) v[l] = _orderValue(seed, c, d);
                }
                leafOf[c][j] = v;
                hashes[j] = Ref.valueLeafHash(v);
            }
            bytes32 root = Ref.root(hashes);
            updateRoots.push(root);
            participantLeaves.push(Ref.participantLeaf(root, w));
            _commitRoot(roundId, c, root, w);
        }
        int32[] memory column = new int32[](n_);
        for (uint256 j; j < chunks; ++j) {
            int32[32] memory out;
            for (uint256 l; l < 32; ++l) {
                for (uint256 c; c < n_; ++c) {
                    column[c] = leafOf[c][j][l];
                }
                out[l] = OrderRef.sortedMean(column, trimK);
            }
            outputOf[j] = out;
            claimedOutputOf[j] = out;
        }
    }

    /// Columns of a row: 32 rank passes and the sum pass of n steps each, then the emit.
    function _perRow() internal view returns (uint256) {
        return 33 * n + 1;
    }

    function _orderSteps() internal view returns (uint64) {
        return uint64(chunks * _perRow());
    }

    /// Applies column `col` (< 33n) of row j to `r`, in place.
    function _applyStep(int64[160] memory r, uint256 j, uint256 col) internal view {
        uint256 i = col % n;
        if (col < 32 * n) OrderRef.rankStep(r, leafOf[i][j], col / n, i == n - 1, trimK, n - 1 - trimK);
        else OrderRef.trimSumStep(r, leafOf[i][j]);
    }

    /// The register after the first `cols` columns (<= 33n) of row j.
    function _orderRegister(uint256 j, uint256 cols) internal view returns (int64[160] memory r) {
        for (uint256 col; col < cols; ++col) {
            _applyStep(r, j, col);
        }
    }

    /// Commitment of state s of the honest trace (claimed = false) or of the trace a dishonest
    /// aggregator with tampered outputs would claim (claimed = true).
    function _orderStateHash(uint256 s, bool claimed) internal view returns (bytes32) {
        uint256 j = s / _perRow();
        int64[160] memory r;
        if (j < chunks) r = _orderRegister(j, s % _perRow());
        return Ref.stateHash(configHash, s, OrderRef.hash(r), _outputRoot(j, claimed));
    }

    /// Path of participant i's value leaf j in its update root.
    function _valuesPath(uint256 i, uint256 j) internal view returns (bytes32[] memory) {
        bytes32[] memory hashes = new bytes32[](chunks);
        for (uint256 t; t < chunks; ++t) {
            hashes[t] = Ref.valueLeafHash(leafOf[i][t]);
        }
        return Ref.proof(hashes, j);
    }

    /// The honest leaf of the Rank or TrimSum step at column `col` of row j, from its
    /// pre-register `pre` (left unchanged).
    function _clientLeafFrom(int64[160] memory pre, uint256 j, uint256 col)
        internal
        view
        returns (RankChecker.RankLeaf memory leaf)
    {
        require(col < 33 * n, "not a Rank or TrimSum step");
        uint256 i = col % n;
        leaf.register = OrderRef.encode(pre);
        leaf.outputRoot = _outputRoot(j, false);
        leaf.updateRoot = updateRoots[i];
        leaf.weight = weights[i];
        leaf.inputPath = Ref.proof(participantLeaves, i);
        leaf.values = Ref.encodeValues(leafOf[i][j]);
        leaf.valuesPath = _valuesPath(i, j);
        int64[160] memory post = _copy(pre);
        _applyStep(post, j, col);
        leaf.registerOut = OrderRef.encode(post);
        leaf.proof = MockStepVerifierProof.PROOF;
    }

    function _copy(int64[160] memory r) internal pure returns (int64[160] memory c) {
        for (uint256 w; w < 160; ++w) {
            c[w] = r[w];
        }
    }

    /// The honest Rank leaf of step s (s must be a Rank step).
    function _rankLeaf(uint256 s) internal view returns (RankChecker.RankLeaf memory) {
        (uint256 j, uint256 col) = (s / _perRow(), s % _perRow());
        require(col < 32 * n, "not a Rank step");
        return _clientLeafFrom(_orderRegister(j, col), j, col);
    }

    /// The honest TrimSum leaf of step s (s must be a TrimSum step): the Rank leaf's fields.
    function _trimSumLeaf(uint256 s) internal view returns (TrimSumChecker.TrimSumLeaf memory leaf) {
        (uint256 j, uint256 col) = (s / _perRow(), s % _perRow());
        require(col >= 32 * n && col < 33 * n, "not a TrimSum step");
        RankChecker.RankLeaf memory r = _clientLeafFrom(_orderRegister(j, col), j, col);
        leaf = TrimSumChecker.TrimSumLeaf({
            register: r.register,
            outputRoot: r.outputRoot,
            updateRoot: r.updateRoot,
            weight: r.weight,
            inputPath: r.inputPath,
            values: r.values,
            valuesPath: r.valuesPath,
            registerOut: r.registerOut,
            proof: r.proof
        });
    }

    /// The honest TrimEmit leaf of step s (s must be a TrimEmit step).
    function _trimEmitLeaf(uint256 s) internal view returns (TrimEmitChecker.TrimEmitLeaf memory leaf) {
        (uint256 j, uint256 col) = (s / _perRow(), s % _perRow());
        require(col == 33 * n, "not a TrimEmit step");
        leaf.register = OrderRef.encode(_orderRegister(j, col));
        leaf.outputRoot = _outputRoot(j, false);
        leaf.values = Ref.encodeValues(outputOf[j]);
        leaf.outputPath = _outputPath(j, j);
        leaf.proof = MockStepVerifierProof.PROOF;
    }

    /// The honest leaf of step s as `proveLeaf` and `postState` take it.
    function _orderLeafInput(uint256 s) internal view returns (bytes memory) {
        uint256 col = s % _perRow();
        if (col < 32 * n) return abi.encode(_rankLeaf(s));
        if (col < 33 * n) return abi.encode(_trimSumLeaf(s));
        return abi.encode(_trimEmitLeaf(s));
    }
}
