// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// @title MockSelectionVerifier
/// @notice Stands in for the distance family's generated verifiers (Distance, ScoreRank,
///         ScoreSum, Pick) in tests: instead of checking a proof it re-executes the step from
///         its public inputs in Solidity, and accepts iff the relation holds and the "proof" is
///         the agreed placeholder. It is the "Solidity re-execution" baseline of BENCHMARKS §7:
///         what settling the step would cost without a proof. Slots are decoded with plain
///         arithmetic (two 104-bit slots per input, `a·2^104 + b`), independent of the
///         checkers' slicing.
contract MockSelectionVerifier {
    /// The placeholder every accepted proof must equal.
    bytes public constant PROOF = "mock-step-proof";

    uint256 private constant SLOT = 2 ** 104;

    /// 8 Distance, 9 ScoreRank, 10 ScoreSum, 11 Pick.
    uint8 public immutable kind;

    constructor(uint8 kind_) {
        require(kind_ >= 8 && kind_ <= 11, "mock verifier: kind");
        kind = kind_;
    }

    fallback(bytes calldata input) external returns (bytes memory) {
        uint256 count = kind == 8 ? 11 : kind == 9 ? 31 : kind == 10 ? 33 : 7;
        require(input.length == 32 * count + PROOF.length, "mock verifier: calldata length");
        require(keccak256(input[32 * count:]) == keccak256(PROOF), "mock verifier: bad proof");
        uint256[] memory w = abi.decode(abi.encodePacked(uint256(0x20), count, input[:32 * count]), (uint256[]));
        if (kind == 8) _distance(w);
        else if (kind == 9) _scoreRank(w);
        else if (kind == 10) _scoreSum(w);
        else _pick(w);
        return "";
    }

    /// acc' = acc + Σ_l (xa_l - xb_l)².
    function _distance(uint256[] memory w) private pure {
        uint256 total = w[10] / SLOT;
        for (uint256 l; l < 32; ++l) {
            int256 d = _lane(w, 0, l) - _lane(w, 5, l);
            total += uint256(d * d);
        }
        require(total == w[10] % SLOT, "mock verifier: distance relation");
    }

    /// Per lane c' = c + [v < p + B]; at the last column p' = p + B where c' <= rank, c' = 0.
    function _scoreRank(uint256[] memory w) private pure {
        (uint256 bit, bool last, uint256 rank) = (w[0], w[1] == 1, w[2]);
        require(w[1] <= 1, "mock verifier: last");
        for (uint256 l; l < 8; ++l) {
            uint256 v = _slot(w, 3, l);
            uint256 prefix = _slot(w, 7, l);
            uint256 count = _slot(w, 7, 8 + l) + (v < prefix + bit ? 1 : 0);
            if (last) {
                if (count <= rank) prefix += bit;
                count = 0;
            }
            require(_slot(w, 19, l) == prefix, "mock verifier: prefix'");
            require(_slot(w, 19, 8 + l) == count, "mock verifier: count'");
            require(_slot(w, 19, 16 + l) == _slot(w, 7, 16 + l), "mock verifier: sum'");
        }
    }

    /// Per lane c' = c + [v < t], s' = s + v·[v < t], score = s' + (rank + 1 - c')·t.
    function _scoreSum(uint256[] memory w) private pure {
        uint256 rank = w[0];
        for (uint256 l; l < 8; ++l) {
            uint256 v = _slot(w, 1, l);
            uint256 t = _slot(w, 5, l);
            bool below = v < t;
            uint256 count = _slot(w, 5, 8 + l) + (below ? 1 : 0);
            uint256 sum = _slot(w, 5, 16 + l) + (below ? v : 0);
            require(_slot(w, 17, l) == t, "mock verifier: t'");
            require(_slot(w, 17, 8 + l) == count, "mock verifier: count'");
            require(_slot(w, 17, 16 + l) == sum, "mock verifier: sum'");
            require(count <= rank + 1, "mock verifier: count");
            require(_slot(w, 29, l) == sum + (rank + 1 - count) * t, "mock verifier: score");
        }
    }

    /// Lanes in order: v < (found = 0 ? 2^104 - 1 : best) takes (v, base + l + 1).
    function _pick(uint256[] memory w) private pure {
        uint256 base = w[0];
        (uint256 best, uint256 found) = (w[1] / SLOT, w[1] % SLOT);
        for (uint256 l; l < 8; ++l) {
            uint256 v = _slot(w, 2, l);
            if (v < (found == 0 ? SLOT - 1 : best)) (best, found) = (v, base + l + 1);
        }
        require(w[6] == best * SLOT + found, "mock verifier: pick relation");
    }

    /// Slot `s` of the slots packed two per instance from instance `first` on.
    function _slot(uint256[] memory w, uint256 first, uint256 s) private pure returns (uint256) {
        uint256 word = w[first + s / 2];
        return s % 2 == 0 ? word / SLOT : word % SLOT;
    }

    /// Lane `l` of a value leaf packed 7 int32 offset limbs per instance from `first` on.
    function _lane(uint256[] memory w, uint256 first, uint256 l) private pure returns (int256) {
        uint256 t = l / 7;
        uint256 inGroup = t == 4 ? 4 : 7;
        uint256 pos = inGroup - 1 - (l % 7);
        uint256 limb = (w[first + t] / 2 ** (32 * pos)) % 2 ** 32;
        return int256(limb) - int256(2 ** 31);
    }
}
