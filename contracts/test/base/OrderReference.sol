// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// @title OrderRef
/// @notice Plain reference of the order-statistic step kinds (step-vm `kinds/order.rs`) for
///         tests: the 160-word register as `int64[160]` (word f·32 + l is field f of lane l:
///         0 lo, 1 hi, 2 c1, 3 c2, 4 sum), the three step functions written lane by lane, the
///         register's encoding (160 five-byte offset limbs w + 2^39) and hash byte by byte,
///         and STAT_PACK with multiplication instead of slices. The contracts' optimised code
///         is checked against these.
library OrderRef {
    uint256 internal constant LANES = 32;
    uint256 internal constant WORDS = 160;
    uint256 internal constant LO = 0;
    uint256 internal constant HI = 32;
    uint256 internal constant C1 = 64;
    uint256 internal constant C2 = 96;
    uint256 internal constant SUM = 128;

    /// The offset limb u = x + 2^31 (unsigned order = signed order).
    function offset(int32 x) internal pure returns (int64) {
        return int64(x) + int64(1 << 31);
    }

    /// Rank pass `pass` (bit 31 - pass) over one participant's leaf, in place; `last` applies
    /// the pass's decision for ranks k1 and k2.
    function rankStep(
        int64[160] memory r,
        int32[32] memory x,
        uint256 pass,
        bool last,
        uint256 k1,
        uint256 k2
    ) internal pure {
        int64 bit = int64(int256(1 << (31 - pass)));
        for (uint256 l; l < LANES; ++l) {
            int64 u = offset(x[l]);
            if (u < r[LO + l] + bit) r[C1 + l] += 1;
            if (u < r[HI + l] + bit) r[C2 + l] += 1;
            if (last) {
                if (r[C1 + l] <= int64(int256(k1))) r[LO + l] += bit;
                if (r[C2 + l] <= int64(int256(k2))) r[HI + l] += bit;
                r[C1 + l] = 0;
                r[C2 + l] = 0;
            }
        }
    }

    /// The sum pass over one participant's leaf, in place.
    function trimSumStep(int64[160] memory r, int32[32] memory x) internal pure {
        for (uint256 l; l < LANES; ++l) {
            int64 u = offset(x[l]);
            if (u <= r[LO + l]) r[C1 + l] += 1;
            if (u < r[HI + l]) r[C2 + l] += 1;
            if (r[LO + l] < u && u < r[HI + l]) r[SUM + l] += int64(x[l]);
        }
    }

    /// Σ of the values of ranks k..n-k-1 of lane `l` from the sum pass's register.
    function trimmedSum(int64[160] memory r, uint256 l, uint256 n, uint256 k) internal pure returns (int256) {
        int256 xl = int256(r[LO + l]) - 2 ** 31;
        int256 xh = int256(r[HI + l]) - 2 ** 31;
        (int256 sn, int256 sk) = (int256(n), int256(k));
        if (r[LO + l] == r[HI + l]) return (sn - 2 * sk) * xl;
        return int256(r[SUM + l]) + (int256(r[C1 + l]) - sk) * xl + (sn - sk - int256(r[C2 + l])) * xh;
    }

    /// floor((2s + m) / (2m)): the mean rounded half up (toward +inf).
    function meanHalfUp(int256 s, int256 m) internal pure returns (int32) {
        int256 num = 2 * s + m;
        int256 den = 2 * m;
        int256 q = num / den;
        if (num % den != 0 && num < 0) q -= 1;
        return int32(q);
    }

    /// The output leaf the emit step writes.
    function trimEmit(int64[160] memory r, uint256 n, uint256 k)
        internal
        pure
        returns (int32[32] memory out)
    {
        for (uint256 l; l < LANES; ++l) {
            out[l] = meanHalfUp(trimmedSum(r, l, n, k), int256(n) - 2 * int256(k));
        }
    }

    /// The trimmed mean of `values` by sorting (insertion sort): the independent reference.
    function sortedMean(int32[] memory values, uint256 k) internal pure returns (int32) {
        uint256 n = values.length;
        int32[] memory s = new int32[](n);
        for (uint256 a; a < n; ++a) {
            int32 v = values[a];
            uint256 b = a;
            while (b > 0 && s[b - 1] > v) {
                s[b] = s[b - 1];
                --b;
            }
            s[b] = v;
        }
        int256 sum;
        for (uint256 a = k; a < n - k; ++a) {
            sum += s[a];
        }
        return meanHalfUp(sum, int256(n - 2 * k));
    }

    /// Bytes of an encoded register: 160 five-byte limbs.
    uint256 internal constant BYTES = 5 * WORDS;

    /// The offset limb of a word: w + 2^39, which must lie in [0, 2^40) (the register's words
    /// lie in [-2^39, 2^39); nothing else has an encoding).
    function limb(int64 w) internal pure returns (uint256) {
        int256 u = int256(w) + 2 ** 39;
        require(u >= 0 && u < 2 ** 40, "OrderRef: word outside [-2^39, 2^39)");
        return uint256(u);
    }

    /// 160 five-byte big-endian offset limbs w + 2^39, byte by byte by division.
    function encode(int64[160] memory r) internal pure returns (bytes memory b) {
        b = new bytes(BYTES);
        for (uint256 w; w < WORDS; ++w) {
            uint256 u = limb(r[w]);
            for (uint256 i; i < 5; ++i) {
                b[5 * w + i] = bytes1(uint8((u / 256 ** (4 - i)) % 256));
            }
        }
    }

    /// The register an encoding holds: word w = its limb - 2^39.
    function decode(bytes memory b) internal pure returns (int64[160] memory r) {
        require(b.length == BYTES, "OrderRef: register length");
        for (uint256 w; w < WORDS; ++w) {
            uint256 u;
            for (uint256 i; i < 5; ++i) {
                u = u * 256 + uint8(b[5 * w + i]);
            }
            r[w] = int64(int256(u) - 2 ** 39);
        }
    }

    /// keccak(0x03 ‖ 160 five-byte offset limbs).
    function hash(int64[160] memory r) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(bytes1(0x03), encode(r)));
    }

    /// STAT_PACK: 27 instances, groups of 6 words (4 in the last), each word offset by 2^39,
    /// concatenated big-endian, by multiplication. Words must lie in [-2^39, 2^39).
    function pack(int64[160] memory r) internal pure returns (uint256[] memory out) {
        out = new uint256[](27);
        for (uint256 w; w < WORDS; ++w) {
            uint256 t = w / 6;
            out[t] = out[t] * 2 ** 40 + limb(r[w]);
        }
    }
}
