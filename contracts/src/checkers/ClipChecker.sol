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
///         prologue wrote, opens the scales of the participants the base step reads (none, one,
///         or a Distance step's two), and hands the base step, with those scales, to the base
///         kind's checker (whose proof is over the clipped values). States P < k < T are
///         keccak(0x05 ‖ h^base_{k-P} ‖ scalesRoot); state P is the prologue's last, state T the
///         base program's last, unwrapped.
/// @dev `verifier()` is `address(0)`: the arbiter's verifiers hash takes bytes32(0) for this
///      kind (the base kinds' verifiers are bound at their own kinds). The base checkers, by
///      kind id (at most 18: Accumulate .. TrimEmit, 0-4, and the distance family's, 8-17; the
///      clipping kinds 5-7 are no base), are fixed at deployment. The step's kind parameters
///      (`ClipStep`) come from the clipped program through the arbiter, which trusts its program
///      table; called directly, this contract only computes what such parameters imply.
contract ClipChecker is CheckerBase {
    /// @notice What the clipped program says of base step b, passed as
    ///         `kindParams = abi.encode(step)`.
    /// @dev `baseKind` and `baseKindParams` are the base program's `stepAt(baseParams, n, dim,
    ///      b)`; `first` is b == 0, `last` is k + 1 == T; `participants` the base program's
    ///      `stepView(baseParams, n, dim, b).participants`.
    struct ClipStep {
        uint8 baseKind;
        uint64 baseStep;
        bool first;
        bool last;
        uint256[] participants;
        bytes baseKindParams;
        address baseProgram;
        bytes baseParams;
    }

    /// @notice A Clip leaf, passed as `abi.encode(leaf)`.
    /// @dev `basePre` is the base program's pre-state h^base_b (unwrapped), `scalesRoot` the
    ///      root of the scales tree the prologue wrote. `scales` holds one scale (at most 2^32)
    ///      per participant the base step reads, in `ClipStep.participants`' order, and
    ///      `scalePaths` their leaves' openings in `scalesRoot`, one after the other (depth
    ///      ceil(log2 n) each); both are empty when it reads none. `baseLeaf` is the base kind's
    ///      own leaf (`abi.encode(<base kind's leaf struct>)`, its values the committed ones).
    struct ClipLeaf {
        bytes32 basePre;
        bytes32 scalesRoot;
        uint64[] scales;
        bytes32[] scalePaths;
        bytes baseLeaf;
    }

    /// @notice Largest number of entries in the base table (kind ids 0 to 17).
    uint256 public constant MAX_BASE_KINDS = 18;

    // ---------------------------------------------------------------- errors
    // NonCanonicalLeaf, BadLength, PreStateMismatch and BadOpening: `CheckerBase`.

    /// @notice At the first base step, `basePre` is not the base program's initial state.
    error BaseInitialStateMismatch(bytes32 expected, bytes32 actual);
    /// @notice No base checker has this kind id.
    error UnknownBaseKind(uint8 kind);
    /// @notice The table of base checkers is empty or longer than `MAX_BASE_KINDS`.
    error BadBaseTable(uint256 size);
    /// @notice A base checker address has no code.
    error NoCode(address target);

    // ---------------------------------------------------------------- state

    /// @notice Number of entries in the base table (kind ids 0..baseKindCount-1; a zero entry
    ///         is no base kind).
    uint256 public immutable baseKindCount;
    // The base checkers by kind id (immutables: no storage read per step).
    IStepChecker private immutable _base0;
    IStepChecker private immutable _base1;
    IStepChecker private immutable _base2;
    IStepChecker private immutable _base3;
    IStepChecker private immutable _base4;
    IStepChecker private immutable _base5;
    IStepChecker private immutable _base6;
    IStepChecker private immutable _base7;
    IStepChecker private immutable _base8;
    IStepChecker private immutable _base9;
    IStepChecker private immutable _base10;
    IStepChecker private immutable _base11;
    IStepChecker private immutable _base12;
    IStepChecker private immutable _base13;
    IStepChecker private immutable _base14;
    IStepChecker private immutable _base15;
    IStepChecker private immutable _base16;
    IStepChecker private immutable _base17;

    /// @param baseCheckers_ The base kinds' checkers, index = kind id (1 to 18 entries, each
    ///        with code, or zero for a kind that is no base): in the deployment [Accumulate,
    ///        Finalize, Rank, TrimSum, TrimEmit, 0, 0, 0, Distance, ..., CloseEmit].
    constructor(address[] memory baseCheckers_) {
        uint256 count = baseCheckers_.length;
        if (count == 0 || count > MAX_BASE_KINDS) revert BadBaseTable(count);
        address[MAX_BASE_KINDS] memory t;
        for (uint256 k; k < count; ++k) {
            if (baseCheckers_[k] != address(0) && baseCheckers_[k].code.length == 0) {
                revert NoCode(baseCheckers_[k]);
            }
            t[k] = baseCheckers_[k];
        }
        baseKindCount = count;
        (_base0, _base1, _base2, _base3, _base4, _base5) =
        (
            IStepChecker(t[0]),
            IStepChecker(t[1]),
            IStepChecker(t[2]),
            IStepChecker(t[3]),
            IStepChecker(t[4]),
            IStepChecker(t[5])
        );
        (_base6, _base7, _base8, _base9, _base10, _base11) =
        (
            IStepChecker(t[6]),
            IStepChecker(t[7]),
            IStepChecker(t[8]),
            IStepChecker(t[9]),
            IStepChecker(t[10]),
            IStepChecker(t[11])
        );
        (_base12, _base13, _base14, _base15, _base16, _base17) =
        (
            IStepChecker(t[12]),
            IStepChecker(t[13]),
            IStepChecker(t[14]),
            IStepChecker(t[15]),
            IStepChecker(t[16]),
            IStepChecker(t[17])
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

        // 2. The read participants' scales, appended to the base kind's parameters.
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
    /// @return c The checker.
    function baseChecker(uint8 kind) public view returns (IStepChecker c) {
        if (kind >= baseKindCount) revert UnknownBaseKind(kind);
        c = kind < 9 ? _low(kind) : _high(kind);
        if (address(c) == address(0)) revert UnknownBaseKind(kind);
    }

    /// Table entries 0-8.
    function _low(uint8 kind) private view returns (IStepChecker) {
        if (kind < 4) {
            if (kind < 2) return kind == 0 ? _base0 : _base1;
            return kind == 2 ? _base2 : _base3;
        }
        if (kind < 6) return kind == 4 ? _base4 : _base5;
        if (kind < 8) return kind == 6 ? _base6 : _base7;
        return _base8;
    }

    /// Table entries 9-17.
    function _high(uint8 kind) private view returns (IStepChecker) {
        if (kind < 13) {
            if (kind < 11) return kind == 9 ? _base9 : _base10;
            return kind == 11 ? _base11 : _base12;
        }
        if (kind < 15) return kind == 13 ? _base13 : _base14;
        if (kind < 17) return kind == 15 ? _base15 : _base16;
        return _base17;
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

    /// The base kind's parameters: `baseKindParams ‖ abi.encode(uint256 s_0) ‖ ...`, one scale
    /// per participant the base step reads, after checking each scale (at most 2^32) and its
    /// opening at that participant in the scales root (a path of depth ceil(log2 n)); the
    /// base's own `baseKindParams` when it reads none (the leaf's scales and paths empty).
    function _baseKindParams(uint256 n, ClipStep calldata c, ClipLeaf calldata l)
        private
        pure
        returns (bytes memory params)
    {
        uint256 count = c.participants.length;
        if (l.scales.length != count) revert BadLength("scales", count, l.scales.length);
        uint256 depth = count == 0 ? 0 : Commitments.depthFor(n);
        bytes32[] calldata paths = l.scalePaths;
        if (paths.length != count * depth) revert BadLength("scalePaths", count * depth, paths.length);
        params = c.baseKindParams;
        for (uint256 k; k < count; ++k) {
            uint256 scale = _scaleWord(l, k);
            Commitments.requireScale(scale);
            // At most 2^32, checked above.
            // forge-lint: disable-next-line(unsafe-typecast)
            bytes32 leafHash = Commitments.scaleLeafHash(uint64(scale));
            bytes32 root = Commitments.foldPath(leafHash, c.participants[k], paths[k * depth:(k + 1) * depth]);
            if (root != l.scalesRoot) revert BadOpening("scales", l.scalesRoot, root);
            params = abi.encodePacked(params, scale);
        }
    }

    /// The leaf's scale `k` word as it is (a word above 2^64 - 1 fails the range check that
    /// follows).
    function _scaleWord(ClipLeaf calldata l, uint256 k) private pure returns (uint256 scale) {
        uint64[] calldata scales = l.scales;
        assembly ("memory-safe") {
            scale := calldataload(add(scales.offset, mul(k, 32)))
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
    /// `abi.encode(ClipLeaf)`: the struct's offset word 0x20, the five head words, the tails
    /// `scales`, `scalePaths` and `baseLeaf` in order right after the head and each other, and
    /// the length the three tails imply. Every field then lies inside `leaf`, and nobody can
    /// pad it.
    function _clipLeaf(bytes calldata leaf) private pure returns (ClipLeaf calldata l) {
        uint256 len = leaf.length;
        // The struct's offset word, 5 head words, the three tails' length words.
        if (len < 32 + 5 * 32 + 3 * 32) revert NonCanonicalLeaf(0, len);
        uint256 p;
        uint256 outer;
        uint256 scalesOffset;
        uint256 pathsOffset;
        uint256 baseOffset;
        uint256 scalesLength;
        assembly ("memory-safe") {
            p := leaf.offset
            outer := calldataload(p)
            scalesOffset := calldataload(add(p, 96))
            pathsOffset := calldataload(add(p, 128))
            baseOffset := calldataload(add(p, 160))
            scalesLength := calldataload(add(p, 192))
        }
        // The tuple starts at byte 32; its tails at 32 + their offsets.
        if (outer != 32 || scalesOffset != 5 * 32 || scalesLength > len / 32) {
            revert NonCanonicalLeaf(0, len);
        }
        if (pathsOffset != scalesOffset + 32 + 32 * scalesLength || 32 + pathsOffset + 32 > len) {
            revert NonCanonicalLeaf(0, len);
        }
        uint256 pathsLength;
        assembly ("memory-safe") {
            pathsLength := calldataload(add(p, add(32, pathsOffset)))
        }
        if (pathsLength > len / 32) revert NonCanonicalLeaf(0, len);
        if (baseOffset != pathsOffset + 32 + 32 * pathsLength || 32 + baseOffset + 32 > len) {
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
