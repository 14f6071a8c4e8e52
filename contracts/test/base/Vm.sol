// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// @title Vm
/// @notice The subset of forge's cheatcodes this project's tests use. The npm `forge-std` does
///         not compile (it imports `ds-test`, which is not on npm), so the project carries its own
///         declarations; signatures are forge's, so the selectors match.
interface Vm {
    /// Gas of the last call (forge's `Vm.Gas`).
    struct Gas {
        uint64 gasLimit;
        uint64 gasTotalUsed;
        uint64 gasMemoryUsed;
        int64 gasRefunded;
        uint64 gasRemaining;
    }

    // Caller and environment.
    function prank(address sender) external;
    /// Sets `tx.origin` too: a direct call by an EOA (TxGas counts calldata only then).
    function prank(address sender, address origin) external;
    function startPrank(address sender) external;
    function startPrank(address sender, address origin) external;
    function stopPrank() external;
    function warp(uint256 timestamp) external;
    function roll(uint256 blockNumber) external;
    function chainId(uint256 newChainId) external;
    function fee(uint256 newBasefee) external;
    function txGasPrice(uint256 newGasPrice) external;
    function deal(address account, uint256 balance) external;
    function etch(address target, bytes calldata newRuntimeBytecode) external;
    function label(address account, string calldata name) external;
    function addr(uint256 privateKey) external pure returns (address);

    // Gas.
    function lastCallGas() external view returns (Gas memory gas);

    // Expectations.
    /// Expects the next call to revert with this custom error, whatever its arguments.
    function expectPartialRevert(bytes4 revertData) external;
    function expectRevert() external;
    function expectRevert(bytes calldata revertData) external;
    function expectRevert(bytes4 revertSelector) external;
    function expectEmit() external;
    function expectEmit(bool checkTopic1, bool checkTopic2, bool checkTopic3, bool checkData) external;
    function expectEmit(bool checkTopic1, bool checkTopic2, bool checkTopic3, bool checkData, address emitter)
        external;

    // State snapshots.
    function snapshotState() external returns (uint256 snapshotId);
    function revertToState(uint256 snapshotId) external returns (bool success);

    // Fuzzing.
    function assume(bool condition) external pure;

    // Files, JSON and environment.
    function readFile(string calldata path) external view returns (string memory);
    function exists(string calldata path) external view returns (bool);
    function projectRoot() external view returns (string memory);
    function parseJson(string calldata json, string calldata key) external pure returns (bytes memory);
    function parseJsonUint(string calldata json, string calldata key) external pure returns (uint256);
    function parseJsonInt(string calldata json, string calldata key) external pure returns (int256);
    function parseJsonBool(string calldata json, string calldata key) external pure returns (bool);
    function parseJsonAddress(string calldata json, string calldata key) external pure returns (address);
    function parseJsonBytes(string calldata json, string calldata key) external pure returns (bytes memory);
    function parseJsonBytes32(string calldata json, string calldata key) external pure returns (bytes32);
    function parseJsonString(string calldata json, string calldata key) external pure returns (string memory);
    function parseJsonUintArray(string calldata json, string calldata key)
        external
        pure
        returns (uint256[] memory);
    function parseJsonBytes32Array(string calldata json, string calldata key)
        external
        pure
        returns (bytes32[] memory);
    function parseJsonKeys(string calldata json, string calldata key) external pure returns (string[] memory);
    function keyExistsJson(string calldata json, string calldata key) external view returns (bool);
    function envOr(string calldata name, uint256 defaultValue) external view returns (uint256);
    function envOr(string calldata name, bool defaultValue) external view returns (bool);
    function envOr(string calldata name, string calldata defaultValue) external view returns (string memory);
    function toString(uint256 value) external pure returns (string memory);
    function toString(int256 value) external pure returns (string memory);
    function toString(bytes32 value) external pure returns (string memory);
    function toString(address value) external pure returns (string memory);

    // Artifacts.
    function deployCode(string calldata artifactPath) external returns (address deployed);
    function deployCode(string calldata artifactPath, bytes calldata constructorArgs)
        external
        returns (address deployed);
    function getCode(string calldata artifactPath) external view returns (bytes memory);
    function getDeployedCode(string calldata artifactPath) external view returns (bytes memory);
}
