// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Commitments} from "../lib/Commitments.sol";
import {TxGas} from "../lib/TxGas.sol";
import {IStepChecker} from "../interfaces/IStepChecker.sol";
import {IRuleProgram} from "../interfaces/IRuleProgram.sol";

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
contract ClipChecker is IStepChecker {
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
    // The first four have the signatures (so the selectors) of `StepChecker`'s.

    /// @notice The leaf's length is not the canonical ABI length of its decoded fields.
    error NonCanonicalLeaf(uint256 expected, uint256 actual);
    /// @notice A field has the wrong length (elements of a path).
    error BadLength(string field, uint256 expected, uint256 actual);
    /// @notice keccak(0x05 ‖ basePre ‖ scalesRoot) (or, at the first base step, the prologue's
    ///         last state) != hPre.
    error PreStateMismatch(bytes32 expected, bytes32 actual);
    /// @notice The scale's opening does not lead to the scales root.
    error BadOpening(string tree, bytes32 expectedRoot, bytes32 actualRoot);
    /// @notice At the first base step, `basePre` is not the base program's initial state.
    error BaseInitialStateMismatch(bytes32 expected, bytes32 actual);
    /// @notice A base step that reads no participant came with a nonzero scale.
    error UnexpectedScale(uint64 scale);
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

    /// @param baseCheckers The base kinds' checkers, index = kind id (1 to 5 of them, each with
    ///        code): [AccumulateChecker, FinalizeChecker, RankChecker, TrimSumChecker,
    ///        TrimEmitChecker] in the deployment.
    constructor(address[] memory baseCheckers) {
        uint256 count = baseCheckers.length;
        if (count == 0 || count > MAX_BASE_KINDS) revert BadBaseTable(count);
        address[MAX_BASE_KINDS] memory table;
        for (uint256 k; k < count; ++k) {
            if (baseCheckers[k].code.length == 0) revert NoCode(baseCheckers[k]);
            table[k] = baseCheckers[k];
        }
        baseKindCount = count;
        (_base0, _base1, _base2, _base3, _base4) = (
            IStepChecker(table[0]),
            IStepChecker(table[1]),
            IStepChecker(table[2]),
            IStepChecker(table[3]),
            IStepChecker(table[4])
        );
    }

    /// @inheritdoc IStepChecker
    function postState(StepContext calldata s, bytes32 hPre, bytes calldata leaf)
        external
        view
        returns (bytes32)
    {
        ClipStep memory c = abi.decode(s.kindParams, (ClipStep));
        IStepChecker base = baseChecker(c.baseKind);
        ClipLeaf memory l = abi.decode(leaf, (ClipLeaf));
        uint256 canonical = _canonicalLength(l);
        if (leaf.length != canonical) revert NonCanonicalLeaf(canonical, leaf.length);

        // 1. The pre-state: the prologue's last state at the first base step (whose base
        //    pre-state is the base program's initial state), else the wrapped base state.
        bytes32 pre;
        if (c.first) {
            pre = Commitments.stateHash(s.configHash, s.step, Commitments.ZERO_NORM_HASH, l.scalesRoot);
            if (pre != hPre) revert PreStateMismatch(hPre, pre);
            bytes32 initial = IRuleProgram(c.baseProgram).initialState(s.configHash, c.baseParams, s.n, s.dim);
            if (l.basePre != initial) revert BaseInitialStateMismatch(initial, l.basePre);
        } else {
            pre = Commitments.clippedStateHash(l.basePre, l.scalesRoot);
            if (pre != hPre) revert PreStateMismatch(hPre, pre);
        }

        // 2. The read participant's scale, appended to the base kind's parameters.
        bytes memory kindParams;
        if (c.reads) {
            uint256 depth = Commitments.depthFor(s.n);
            if (l.scalePath.length != depth) revert BadLength("scalePath", depth, l.scalePath.length);
            Commitments.requireScale(l.scale);
            bytes32 root = Commitments.foldPathMem(Commitments.scaleLeafHash(l.scale), c.participant, l.scalePath);
            if (root != l.scalesRoot) revert BadOpening("scales", l.scalesRoot, root);
            kindParams = abi.encodePacked(c.baseKindParams, uint256(l.scale));
        } else {
            if (l.scale != 0) revert UnexpectedScale(l.scale);
            if (l.scalePath.length != 0) revert BadLength("scalePath", 0, l.scalePath.length);
            kindParams = c.baseKindParams;
        }

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
        return c.last ? post : Commitments.clippedStateHash(post, l.scalesRoot);
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

    /// The canonical length of `abi.encode(leaf)`: the struct's offset word, five head words,
    /// then the tails of scalePath and baseLeaf.
    function _canonicalLength(ClipLeaf memory l) private pure returns (uint256) {
        return 32 + 5 * 32 + 32 + 32 * l.scalePath.length + TxGas.abiBytes(l.baseLeaf.length);
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
