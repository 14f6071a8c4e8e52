// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {valueAt, wordAt} from "./PackedInstances.sol";

/// @title MockOrderVerifier
/// @notice Stands in for the generated Rank, TrimSum or TrimEmit verifier in tests, as
///         `MockStepVerifier` does for FedAvg's kinds: instead of checking a proof it decodes the
///         public inputs with plain shifts (independently of the checkers' packing) and
///         re-executes the step in Solidity (step-vm `kinds/order.rs`, the relations of
///         circuits `order.rs`), accepting iff the relation holds, the pre-register has the
///         widths the circuits range-check, and the "proof" is the agreed placeholder. So a
///         wrong packing, instance order or a false claim fails as it would against the real
///         verifier; its gas is the "re-execute the step in Solidity" figure.
contract MockOrderVerifier {
    /// The placeholder every accepted proof must equal (`MockStepVerifier.PROOF`).
    bytes public constant PROOF = "mock-step-proof";
    uint8 public constant RANK = 2;
    uint8 public constant TRIM_SUM = 3;
    uint8 public constant TRIM_EMIT = 4;

    /// The step kind this verifier checks (2 Rank, 3 TrimSum, 4 TrimEmit).
    uint8 public immutable kind;

    constructor(uint8 kind_) {
        require(kind_ >= RANK && kind_ <= TRIM_EMIT, "mock order verifier: kind");
        kind = kind_;
    }

    /// A register decoded by field.
    struct Reg {
        int256[32] lo;
        int256[32] hi;
        int256[32] c1;
        int256[32] c2;
        int256[32] sum;
    }

    fallback(bytes calldata input) external returns (bytes memory) {
        uint256 count = kind == RANK ? 63 : kind == TRIM_SUM ? 59 : 34;
        require(input.length == 32 * count + PROOF.length, "mock order verifier: calldata length");
        require(keccak256(input[32 * count:]) == keccak256(PROOF), "mock order verifier: bad proof");
        uint256[] memory w =
            abi.decode(abi.encodePacked(uint256(0x20), count, input[:32 * count]), (uint256[]));
        if (kind == RANK) _rank(w);
        else if (kind == TRIM_SUM) _trimSum(w);
        else _trimEmit(w);
        return "";
    }

    /// Instances [B, L, R1, R2, x (5), pre (27), post (27)].
    function _rank(uint256[] memory w) private pure {
        uint256 b = w[0];
        require(b != 0 && b <= 1 << 31 && b & (b - 1) == 0, "mock order verifier: B");
        require(w[1] <= 1, "mock order verifier: L");
        bool last = w[1] == 1;
        (int256 r1, int256 r2, int256 bit) = (int256(w[2]), int256(w[3]), int256(b));
        Reg memory pre = _reg(w, 9);
        Reg memory post = _reg(w, 36);
        for (uint256 l; l < 32; ++l) {
            int256 u = valueAt(w, 4, l) + 2 ** 31;
            int256 c1 = pre.c1[l] + (u < pre.lo[l] + bit ? int256(1) : int256(0));
            int256 c2 = pre.c2[l] + (u < pre.hi[l] + bit ? int256(1) : int256(0));
            int256 lo = pre.lo[l];
            int256 hi = pre.hi[l];
            if (last) {
                if (c1 <= r1) lo += bit;
                if (c2 <= r2) hi += bit;
                (c1, c2) = (0, 0);
            }
            require(
                post.lo[l] == lo && post.hi[l] == hi && post.c1[l] == c1 && post.c2[l] == c2
                    && post.sum[l] == pre.sum[l],
                "mock order verifier: rank relation"
            );
        }
    }

    /// Instances [x (5), pre (27), post (27)].
    function _trimSum(uint256[] memory w) private pure {
        Reg memory pre = _reg(w, 5);
        Reg memory post = _reg(w, 32);
        for (uint256 l; l < 32; ++l) {
            int256 x = valueAt(w, 0, l);
            int256 u = x + 2 ** 31;
            int256 c1 = pre.c1[l] + (u <= pre.lo[l] ? int256(1) : int256(0));
            int256 c2 = pre.c2[l] + (u < pre.hi[l] ? int256(1) : int256(0));
            int256 sum = pre.sum[l] + (pre.lo[l] < u && u < pre.hi[l] ? x : int256(0));
            require(
                post.lo[l] == pre.lo[l] && post.hi[l] == pre.hi[l] && post.c1[l] == c1 && post.c2[l] == c2
                    && post.sum[l] == sum,
                "mock order verifier: trim-sum relation"
            );
        }
    }

    /// Instances [n, k, pre (27), out (5)].
    function _trimEmit(uint256[] memory w) private pure {
        int256 n = int256(w[0]);
        int256 k = int256(w[1]);
        int256 m = n - 2 * k;
        require(n >= 1 && n <= 255 && m >= 1, "mock order verifier: n, k");
        Reg memory pre = _reg(w, 2);
        for (uint256 l; l < 32; ++l) {
            int256 xl = pre.lo[l] - 2 ** 31;
            int256 xh = pre.hi[l] - 2 ** 31;
            int256 s = pre.lo[l] == pre.hi[l]
                ? m * xl
                : pre.sum[l] + (pre.c1[l] - k) * xl + (n - k - pre.c2[l]) * xh;
            int256 num = 2 * s + m;
            int256 q = num / (2 * m);
            if (num % (2 * m) != 0 && num < 0) q -= 1;
            require(valueAt(w, 29, l) == q, "mock order verifier: trim-emit relation");
        }
    }

    /// The register packed from instance `first` on, its widths checked as the circuits do.
    function _reg(uint256[] memory w, uint256 first) private pure returns (Reg memory r) {
        for (uint256 l; l < 32; ++l) {
            r.lo[l] = wordAt(w, first, l);
            r.hi[l] = wordAt(w, first, 32 + l);
            r.c1[l] = wordAt(w, first, 64 + l);
            r.c2[l] = wordAt(w, first, 96 + l);
            r.sum[l] = wordAt(w, first, 128 + l);
            require(
                r.lo[l] >= 0 && r.lo[l] < 2 ** 33 && r.hi[l] >= 0 && r.hi[l] < 2 ** 33, "mock: lo/hi range"
            );
            require(r.c1[l] >= 0 && r.c1[l] < 2 ** 9 && r.c2[l] >= 0 && r.c2[l] < 2 ** 9, "mock: count range");
        }
    }
}
