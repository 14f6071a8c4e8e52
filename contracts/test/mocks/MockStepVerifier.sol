// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// @title MockStepVerifier
/// @notice Stands in for a generated Halo2 verifier in tests: instead of checking a proof it
///         checks the statement itself. It decodes the public inputs with plain arithmetic
///         (independent of the arbiter's slicing), and accepts iff the step relation holds and
///         the "proof" is the agreed placeholder. So a wrong packing, a wrong instance order or
///         a false claim all fail, as they would against the real verifier.
contract MockStepVerifier {
    /// The placeholder every accepted proof must equal.
    bytes public constant PROOF = "mock-step-proof";

    bool public immutable isFinalize;

    constructor(bool isFinalize_) {
        isFinalize = isFinalize_;
    }

    fallback(bytes calldata input) external returns (bytes memory) {
        uint256 count = isFinalize ? 17 : 28;
        require(input.length == 32 * count + PROOF.length, "mock verifier: calldata length");
        require(keccak256(input[32 * count:]) == keccak256(PROOF), "mock verifier: bad proof");
        uint256[] memory w =
            abi.decode(abi.encodePacked(uint256(0x20), count, input[:32 * count]), (uint256[]));
        if (isFinalize) {
            uint256 total = w[0];
            require(total >= 1 && total < 2 ** 32, "mock verifier: W");
            for (uint256 l; l < 32; ++l) {
                int256 a = _lane(w, 1, 3, 64, l);
                int256 o = _lane(w, 12, 7, 32, l);
                int256 num = 2 * a + int256(total);
                int256 den = 2 * int256(total);
                int256 q = num / den;
                if (num % den != 0 && num < 0) q -= 1;
                require(o == q, "mock verifier: finalize relation");
            }
        } else {
            uint256 weight = w[0];
            require(weight >= 1 && weight < 2 ** 32, "mock verifier: w");
            for (uint256 l; l < 32; ++l) {
                int256 x = _lane(w, 1, 7, 32, l);
                int256 a = _lane(w, 6, 3, 64, l);
                int256 b = _lane(w, 17, 3, 64, l);
                require(b == a + int256(weight) * x, "mock verifier: accumulate relation");
            }
        }
        return "";
    }

    /// Lane `l` of a leaf packed `per` values per instance from instance `first` on.
    function _lane(uint256[] memory w, uint256 first, uint256 per, uint256 bits, uint256 l)
        private
        pure
        returns (int256)
    {
        uint256 t = l / per;
        uint256 inGroup = t == 31 / per ? 32 - per * t : per;
        uint256 pos = inGroup - 1 - (l % per);
        uint256 limb = (w[first + t] / 2 ** (bits * pos)) % 2 ** bits;
        return int256(limb) - int256(2 ** (bits - 1));
    }
}

/// @title GasBurningVerifier
/// @notice A verifier that burns every unit of gas it is given, as a snark-verifier verifier
///         does on an invalid curve point.
contract GasBurningVerifier {
    fallback(bytes calldata) external returns (bytes memory) {
        assembly {
            for {} 1 {} {}
        }
        return "";
    }
}

/// @title AcceptingVerifier
/// @notice Accepts anything (for tests that only need code at the verifier address).
contract AcceptingVerifier {
    fallback(bytes calldata) external returns (bytes memory) {
        return "";
    }
}
