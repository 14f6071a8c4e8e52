// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Commitments} from "../lib/Commitments.sol";
import {IStepChecker} from "../interfaces/IStepChecker.sol";
import {IRuleProgram} from "../interfaces/IRuleProgram.sol";
import {CheckerBase} from "./CheckerBase.sol";

/// @title ClipChecker
/// @notice Checks a Clip step (docs/design/clipping.md, kind 7): step k = P + b of a clipped
///         rule runs its base program's step b over the clipped values. It has no circuit or
///         verifier of its own: it binds the base step's pre-state to the scales root the
///         prologue wrote, opens the scale of the participant the base step reads, and hands
///         the base step, with that scale, to the base kind's checker (whose proof is over the
///         clipped values). States P < k < T are keccak(0x05 ‖ h^base_{k-P} ‖ scalesRoot); state
///         P is the prologue's last, state T the base program's last, unwrapped.
/// @dev `verifier()` is `address(0)`: the arbiter's verifiers hash takes bytes32(0) for this
///      kind (the base kinds' verifiers are bound at their own kinds). The base checkers, kinds
///      0 to count - 1 (at most 5: Accumulate, Finalize, Rank, TrimSum, TrimEmit), are fixed at
///      deployment. The step's kind parameters (`ClipStep`) come from the clipped program
///      through the arbiter, which trusts its program table; called directly, this contract only
///      computes what such parameters imply.
contract ClipChecker is CheckerBase {
    /// @notice What the clipped program says of base step b, passed as
    ///         `kindParams = abi.encode(step)`.
    /// @dev `baseKind` and `baseKindParams` are the base program's `stepAt(baseParams, n, dim,
    ///      b)`; `first` is b == 0, `last` is k + 1 == T; `reads` and `participant` the base
    ///      program's `participantAt(baseParams, n, dim, b)`.
    struct ClipStep {
        uint8 baseKind;
        uint64 baseStep;
        bool first;
        bool last;
        bool reads;
        uint256 participant;
        bytes baseKindParams;
        address baseProgram;
        bytes baseParams;
    }

    /// @notice A Clip leaf, passed as `abi.encode(leaf)`.
    /// @dev `basePre` is the base program's pre-state h^base_b (unwrapped), `scalesRoot` the
    ///      root of the scales tree the prologue wrote. When the base step reads a participant,
    ///      `scale` is that participant's scale (at most 2^32) and `scalePath` its leaf's
    ///      opening in `scalesRoot` (depth ceil(log2 n)); else both are zero and empty.
    ///      `baseLeaf` is the base kind's own leaf (`abi.encode(<base kind's leaf struct>)`,
    ///      its values the committed ones).
    struct ClipLeaf {
        bytes32 basePre;
        bytes32 scalesRoot;
        uint64 scale;
        bytes32[] scalePath;
        bytes baseLeaf;
    }

    /// @notice Largest number of base kinds (kind ids 0 to 4).
    uint256 public constant MAX_BASE_KINDS = 5;

    // ---------------------------------------------------------------- errors
    // NonCanonicalLeaf, BadLength, PreStateMismatch and BadOpening: `CheckerBase`.

    /// @notice At the first base step, `basePre` is not the base program's initial state.
    error BaseInitialStateMismatch(bytes32 expected, bytes32 actual);
    /// @notice A base step that reads no participant came with a nonzero scale.
    error UnexpectedScale(uint256 scale);
    /// @notice No base checker has this kind id.
    error UnknownBaseKind(uint8 kind);
    /// @notice The table of base checkers is empty or longer than `MAX_BASE_KINDS`.
    error BadBaseTable(uint256 size);
    /// @notice A base checker address has no code.
    error NoCode(address target);

    // ---------------------------------------------------------------- state

    /// @notice Number of base checkers (base kind ids are 0..baseKindCount-1).
    uint256 public immutable baseKindCount;
    // The base checkers by kind id (immutables: no storage read per step).
    IStepChecker private immutable _base0;
    IStepChecker private immutable _base1;
    IStepChecker private immutable _base2;
    IStepChecker private immutable _base3;
    IStepChecker private immutable _base4;

    /// @param baseCheckers_ The base kinds' checkers, index = kind id (1 to 5 of them, each with
    ///        code): [AccumulateChecker, FinalizeChecker, RankChecker, TrimSumChecker,
    ///        TrimEmitChecker] in the deployment.
    constructor(address[] memory baseCheckers_) {
        uint256 count = baseCheckers_.length;
        if (count == 0 || count > MAX_BASE_KINDS) revert BadBaseTable(count);
        address[MAX_BASE_KINDS] memory table;
        for (uint256 k; k < count; ++k) {
            if (baseCheckers_[k].code.length == 0) revert NoCode(baseCheckers_[k]);
            table[k] = baseCheckers_[k];
        }
        baseKindCount = count;
        (_base0, _base1, _base2, _base3, _base4) =
        (
            IStepChecker(table[0]),
            IStepChecker(table[1]),
            IStepChecker(table[2]),
            IStepChecker(table[3]),
            IStepChecker(table[4])
        );
    }

    /// @inheritdoc IStepChecker
    /// @dev The leaf stays in calldata: its layout is checked to be exactly the canonical
    ///      encoding (`_clipLeaf`), and the base leaf is forwarded as a slice of it.
    function postState(StepContext calldata s, bytes32 hPre, bytes calldata leaf)
        external
        view
        returns (bytes32)
    {
        ClipStep calldata c = _clipStep(s.kindParams);
        IStepChecker base = baseChecker(c.baseKind);
        ClipLeaf calldata l = _clipLeaf(leaf);
        bytes32 scalesRoot = l.scalesRoot;

        // 1. The pre-state: the prologue's last state at the first base step (whose base
        //    pre-state is the base program's initial state), else the wrapped base state.
        _requireClipPreState(s, c, hPre, l.basePre, scalesRoot);

        // 2. The read participant's scale, appended to the base kind's parameters.
        bytes memory kindParams = _baseKindParams(s.n, c, l);

        // 3. The base step, at its own index and (the program's) position.
        StepContext memory b = StepContext({
            configHash: s.configHash,
            inputRoot: s.inputRoot,
            n: s.n,
            dim: s.dim,
            totalWeight: s.totalWeight,
            step: c.baseStep,
            row: s.row,
            col: s.col,
            kindParams: kindParams
        });
        bytes32 post = base.postState(b, l.basePre, l.baseLeaf);

        // 4. Bound to the scales until the last step, whose state is the base program's final.
        return c.last ? post : Commitments.clippedStateHash(post, scalesRoot);
    }

    /// @notice The checker of base kind `kind`; reverts `UnknownBaseKind(kind)` past the table.
    /// @param kind The base step kind id.
    /// @return The checker.
    function baseChecker(uint8 kind) public view returns (IStepChecker) {
        if (kind >= baseKindCount) revert UnknownBaseKind(kind);
        if (kind == 0) return _base0;
        if (kind == 1) return _base1;
        if (kind == 2) return _base2;
        if (kind == 3) return _base3;
        return _base4;
    }

    /// @inheritdoc IStepChecker
    /// @dev No verifier of its own: the base kind's checker calls the base kind's verifier.
    function verifier() external pure returns (address) {
        return address(0);
    }

    /// Reverts `PreStateMismatch` unless `hPre` is the step's pre-state: at the first base step
    /// the prologue's last state stateHash(configHash, step, ZERO_NORM_HASH, scalesRoot), with
    /// `basePre` the base program's initial state (else `BaseInitialStateMismatch`); after it,
    /// keccak(0x05 ‖ basePre ‖ scalesRoot).
    function _requireClipPreState(
        StepContext calldata s,
        ClipStep calldata c,
        bytes32 hPre,
        bytes32 basePre,
        bytes32 scalesRoot
    ) private view {
        bytes32 pre;
        if (c.first) {
            pre = Commitments.stateHash(s.configHash, s.step, Commitments.ZERO_NORM_HASH, scalesRoot);
            if (pre != hPre) revert PreStateMismatch(hPre, pre);
            bytes32 initial = IRuleProgram(c.baseProgram).initialState(s.configHash, c.baseParams, s.n, s.dim);
            if (basePre != initial) revert BaseInitialStateMismatch(initial, basePre);
        } else {
            pre = Commitments.clippedStateHash(basePre, scalesRoot);
            if (pre != hPre) revert PreStateMismatch(hPre, pre);
        }
    }

    /// The base kind's parameters: `baseKindParams ‖ abi.encode(uint256 scale)` when the base
    /// step reads a participant, after checking its scale (at most 2^32) and the scale's
    /// opening at that participant in the scales root (a path of depth ceil(log2 n)); else
    /// `baseKindParams`, the leaf's scale 0 and its path empty.
    function _baseKindParams(uint256 n, ClipStep calldata c, ClipLeaf calldata l)
        private
        pure
        returns (bytes memory)
    {
        uint256 scale = _scaleWord(l);
        bytes32[] calldata path = l.scalePath;
        if (!c.reads) {
            if (scale != 0) revert UnexpectedScale(scale);
            if (path.length != 0) revert BadLength("scalePath", 0, path.length);
            return c.baseKindParams;
        }
        uint256 depth = Commitments.depthFor(n);
        if (path.length != depth) revert BadLength("scalePath", depth, path.length);
        Commitments.requireScale(scale);
        // At most 2^32, checked above.
        // forge-lint: disable-next-line(unsafe-typecast)
        bytes32 root = Commitments.foldPath(Commitments.scaleLeafHash(uint64(scale)), c.participant, path);
        if (root != l.scalesRoot) revert BadOpening("scales", l.scalesRoot, root);
        return abi.encodePacked(c.baseKindParams, scale);
    }

    /// The leaf's `scale` head word as it is (a word above 2^64 - 1 fails the range checks
    /// that follow).
    function _scaleWord(ClipLeaf calldata l) private pure returns (uint256 scale) {
        assembly ("memory-safe") {
            scale := calldataload(add(l, 64))
        }
    }

    /// The step's `ClipStep`, read in place from `kindParams = abi.encode(step)` (the clipped
    /// program's encoding; the arbiter passes what its program returned).
    function _clipStep(bytes calldata kindParams) private pure returns (ClipStep calldata c) {
        assembly ("memory-safe") {
            c := add(kindParams.offset, calldataload(kindParams.offset))
        }
    }

    /// The leaf as a calldata struct, after checking that it is exactly the canonical
    /// `abi.encode(ClipLeaf)`: the struct's offset word 0x20, the five head words, `scalePath`
    /// at tuple offset 0xa0 and `baseLeaf` right after it, and the length the two tails imply.
    /// Every field then lies inside `leaf`, and nobody can pad it.
    function _clipLeaf(bytes calldata leaf) private pure returns (ClipLeaf calldata l) {
        uint256 len = leaf.length;
        // The struct's offset word, 5 head words, the two tails' length words.
        if (len < 32 + 5 * 32 + 2 * 32) revert NonCanonicalLeaf(0, len);
        uint256 p;
        uint256 outer;
        uint256 pathOffset;
        uint256 baseOffset;
        uint256 pathLength;
        assembly ("memory-safe") {
            p := leaf.offset
            outer := calldataload(p)
            pathOffset := calldataload(add(p, 128))
            baseOffset := calldataload(add(p, 160))
            pathLength := calldataload(add(p, 192))
        }
        // The tuple starts at byte 32; its tails at 32 + their offsets.
        if (outer != 32 || pathOffset != 5 * 32 || pathLength > len / 32) revert NonCanonicalLeaf(0, len);
        if (baseOffset != 5 * 32 + 32 + 32 * pathLength || 32 + baseOffset + 32 > len) {
            revert NonCanonicalLeaf(0, len);
        }
        uint256 baseLength;
        assembly ("memory-safe") {
            baseLength := calldataload(add(p, add(32, baseOffset)))
        }
        if (baseLength > len) revert NonCanonicalLeaf(0, len);
        uint256 canonical = 32 + baseOffset + _abiBytes(baseLength);
        if (len != canonical) revert NonCanonicalLeaf(canonical, len);
        assembly ("memory-safe") {
            l := add(p, 32)
        }
    }

    /// @notice The bytes `postState` (and `BisectionGame.proveLeaf`) take for `leaf`:
    ///         `abi.encode(leaf)`. Declares the leaf struct in this contract's ABI.
    /// @param leaf The leaf.
    /// @return Its encoding.
    function encodeLeaf(ClipLeaf calldata leaf) external pure returns (bytes memory) {
        return abi.encode(leaf);
    }

    /// @notice The kind parameters of a Clip step: `abi.encode(step)`. Declares the struct in
    ///         this contract's ABI.
    /// @param step The step.
    /// @return Its encoding.
    function encodeStep(ClipStep calldata step) external pure returns (bytes memory) {
        return abi.encode(step);
    }

    /// @inheritdoc IStepChecker
    function name() external pure returns (string memory) {
        return "Clip";
    }
}
