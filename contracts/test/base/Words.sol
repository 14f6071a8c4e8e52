// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// Reading and patching whole 32-byte words of an encoded leaf, for the tests that move its
/// offsets and lengths (non-canonical layouts) or read them.
library Words {
    /// The word at byte `pos` of `data`.
    function wordAt(bytes memory data, uint256 pos) internal pure returns (uint256 w) {
        assembly ("memory-safe") {
            w := mload(add(add(data, 32), pos))
        }
    }

    /// Sets the word at byte `pos` of `data` to `w`, in place.
    function setWord(bytes memory data, uint256 pos, uint256 w) internal pure {
        assembly ("memory-safe") {
            mstore(add(add(data, 32), pos), w)
        }
    }

    /// A copy of `data` with the word at byte `pos` set to `w`.
    function withWord(bytes memory data, uint256 pos, uint256 w) internal pure returns (bytes memory out) {
        out = bytes.concat(data);
        setWord(out, pos, w);
    }

    /// The first `n` bytes of `data` (a truncated leaf), a copy.
    function prefix(bytes memory data, uint256 n) internal pure returns (bytes memory out) {
        out = new bytes(n);
        for (uint256 k; k < n; ++k) {
            out[k] = data[k];
        }
    }
}
