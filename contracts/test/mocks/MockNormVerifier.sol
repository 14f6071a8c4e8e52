// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// @title MockNormVerifier
/// @notice Stands in for the generated Norm or Scale verifier in tests, as `MockStepVerifier`
///         does for FedAvg's kinds: instead of checking a proof it decodes the public inputs
///         with plain arithmetic (independently of the checkers' packing) and re-executes the
///         step in Solidity (docs/design/clipping.md), accepting iff the relation holds and the
///         "proof" is the agreed placeholder. So a wrong packing, instance order or a false
///         claim fails as it would against the real verifier; its gas is the "re-execute the
///         step in Solidity" figure.
contract MockNormVerifier {
    /// The placeholder every accepted proof must equal (`MockStepVerifier.PROOF`).
    bytes public constant PROOF = "mock-step-proof";
    uint8 public constant NORM = 5;
    uint8 public constant SCALE = 6;

    /// The step kind this verifier checks (5 Norm, 6 Scale).
    uint8 public immutable kind;

    constructor(uint8 kind_) {
        require(kind_ == NORM || kind_ == SCALE, "mock norm verifier: kind");
        kind = kind_;
    }

    fallback(bytes calldata input) external returns (bytes memory) {
        uint256 count = kind == NORM ? 9 : 4;
        require(input.length == 32 * count + PROOF.length, "mock norm verifier: calldata length");
        require(keccak256(input[32 * count:]) == keccak256(PROOF), "mock norm verifier: bad proof");
        uint256[] memory w =
            abi.decode(abi.encodePacked(uint256(0x20), count, input[:32 * count]), (uint256[]));
        if (kind == NORM) _norm(w);
        else _scale(w);
        return "";
    }

    /// Instances [x (5), lo, hi, lo', hi']: t = lo + Σ x², lo' = t mod 2^40,
    /// hi' = hi + floor(t / 2^40).
    function _norm(uint256[] memory w) private pure {
        for (uint256 t = 5; t < 9; ++t) {
            require(w[t] < 2 ** 63, "mock norm verifier: register word");
        }
        uint256 total = w[5];
        for (uint256 l; l < 32; ++l) {
            int256 x = _value(w, l);
            total += uint256(x * x);
        }
        require(w[7] == total % 2 ** 40, "mock norm verifier: lo'");
        require(w[8] == w[6] + total / 2 ** 40, "mock norm verifier: hi'");
    }

    /// Instances [lo, hi, τ, s]: r = isqrt(lo + hi·2^40), s = 2^32 if r <= τ else
    /// floor(τ·2^32 / r).
    function _scale(uint256[] memory w) private pure {
        require(w[0] < 2 ** 63 && w[1] < 2 ** 63, "mock scale verifier: register word");
        uint256 tau = w[2];
        require(tau >= 1 && tau < 2 ** 32, "mock scale verifier: threshold");
        uint256 r = _sqrtDigits(w[0] + w[1] * 2 ** 40);
        uint256 s = r <= tau ? 2 ** 32 : tau * 2 ** 32 / r;
        require(w[3] == s, "mock scale verifier: scale");
    }

    /// floor(sqrt(v)), one bit at a time from the top (independent of the fixture's Newton).
    function _sqrtDigits(uint256 v) private pure returns (uint256 r) {
        for (uint256 b = 2 ** 127; b != 0; b /= 2) {
            uint256 c = r + b;
            if (c * c <= v) r = c;
        }
    }

    /// Value `l` of a leaf packed 7 values of 32 bits per instance (4 in the 5th).
    function _value(uint256[] memory w, uint256 l) private pure returns (int256) {
        uint256 t = l / 7;
        uint256 inGroup = t == 4 ? 4 : 7;
        uint256 pos = inGroup - 1 - l % 7;
        return int256((w[t] >> (32 * pos)) & (2 ** 32 - 1)) - 2 ** 31;
    }
}
