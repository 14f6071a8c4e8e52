// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {valueAt, wordAt} from "./PackedInstances.sol";

/// @title MockCloseVerifier
/// @notice Stands in for Bulyan's trim verifiers (CloseRank, CloseSum, CloseEmit) in tests:
///         instead of checking a proof it re-executes the step from its public inputs in
///         Solidity, and accepts iff the relation holds and the "proof" is the agreed
///         placeholder: the "Solidity re-execution" baseline of BENCHMARKS §7. The register is
///         decoded with plain arithmetic (40-bit offset limbs, 6 per input), independent of the
///         checkers' slicing.
contract MockCloseVerifier {
    /// The placeholder every accepted proof must equal.
    bytes public constant PROOF = "mock-step-proof";

    /// 15 CloseRank, 16 CloseSum, 17 CloseEmit.
    uint8 public immutable kind;

    constructor(uint8 kind_) {
        require(kind_ >= 15 && kind_ <= 17, "mock verifier: kind");
        kind = kind_;
    }

    fallback(bytes calldata input) external returns (bytes memory) {
        uint256 count = kind == 15 ? 63 : kind == 16 ? 60 : 33;
        require(input.length == 32 * count + PROOF.length, "mock verifier: calldata length");
        require(keccak256(input[32 * count:]) == keccak256(PROOF), "mock verifier: bad proof");
        uint256[] memory w = abi.decode(abi.encodePacked(uint256(0x20), count, input[:32 * count]), (uint256[]));
        if (kind == 15) _closeRank(w);
        else if (kind == 16) _closeSum(w);
        else _closeEmit(w);
        return "";
    }

    /// count' = count + flag·[e < r + B]; at the last column r' = r + B where count' <= rank.
    function _closeRank(uint256[] memory w) private pure {
        (int256 bit, bool last, int256 rank, bool flag) = (int256(w[0]), w[1] == 1, int256(w[2]), w[3] == 1);
        for (uint256 l; l < 32; ++l) {
            int256 u = valueAt(w, 4, l) + 2 ** 31;
            (int256 lo, int256 hi, int256 r, int256 c) =
                (wordAt(w, 9, l), wordAt(w, 9, 32 + l), wordAt(w, 9, 64 + l), wordAt(w, 9, 96 + l));
            if (flag && _abs(2 * u - lo - hi) < r + bit) ++c;
            if (last) {
                if (c <= rank) r += bit;
                c = 0;
            }
            require(wordAt(w, 36, l) == lo && wordAt(w, 36, 32 + l) == hi, "mock verifier: bounds'");
            require(wordAt(w, 36, 64 + l) == r, "mock verifier: r'");
            require(wordAt(w, 36, 96 + l) == c, "mock verifier: count'");
            require(wordAt(w, 36, 128 + l) == wordAt(w, 9, 128 + l), "mock verifier: sum'");
        }
    }

    /// c' = c + flag·([e < r] + 256·[e = r]·[2u < lo + hi]), sum' = sum + flag·[e < r]·x.
    function _closeSum(uint256[] memory w) private pure {
        bool flag = w[0] == 1;
        for (uint256 l; l < 32; ++l) {
            int256 x = valueAt(w, 1, l);
            int256 u = x + 2 ** 31;
            (int256 lo, int256 hi, int256 r, int256 c) =
                (wordAt(w, 6, l), wordAt(w, 6, 32 + l), wordAt(w, 6, 64 + l), wordAt(w, 6, 96 + l));
            int256 sum = wordAt(w, 6, 128 + l);
            int256 e = _abs(2 * u - lo - hi);
            if (flag && e < r) {
                c += 1;
                sum += x;
            } else if (flag && e == r && 2 * u < lo + hi) {
                c += 256;
            }
            require(wordAt(w, 33, 96 + l) == c, "mock verifier: counts'");
            require(wordAt(w, 33, 128 + l) == sum, "mock verifier: sum'");
            require(wordAt(w, 33, 64 + l) == r, "mock verifier: r'");
        }
    }

    /// out = floor((2·sum + take·(M − r) + (need − take)·(M + r) + β) / 2β).
    function _closeEmit(uint256[] memory w) private pure {
        int256 beta = int256(w[0]);
        require(beta >= 1, "mock verifier: beta");
        for (uint256 l; l < 32; ++l) {
            int256 m = wordAt(w, 1, l) + wordAt(w, 1, 32 + l) - 2 ** 32;
            int256 r = wordAt(w, 1, 64 + l);
            int256 c = wordAt(w, 1, 96 + l);
            int256 need = beta - c % 256;
            int256 below = c / 256;
            int256 take = below < need ? below : need;
            int256 twice = 2 * wordAt(w, 1, 128 + l) + take * (m - r) + (need - take) * (m + r);
            int256 num = twice + beta;
            int256 q = num / (2 * beta);
            if (num % (2 * beta) != 0 && num < 0) q -= 1;
            require(valueAt(w, 28, l) == q, "mock verifier: close emit relation");
        }
    }

    function _abs(int256 v) private pure returns (int256) {
        return v < 0 ? -v : v;
    }
}
