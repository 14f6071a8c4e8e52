// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Commitments} from "../lib/Commitments.sol";
import {IRuleProgram} from "../interfaces/IRuleProgram.sol";

/// @title SelectedProgram
/// @notice The distance family's schedule (step-vm `rules/selected`,
///         docs/design/distance-family.md) for Krum (rule 6) and Multi-Krum (rule 7): the
///         squared distance of every pair, Krum's scores, the picks, then the unweighted mean of
///         the picked updates, rounded half up.
///
///         With C = ceil(dim/32) chunks, B = ceil(n/8) blocks, P = n(n-1)/2 pairs and K picks
///         (Krum 1, Multi-Krum m'):
///         - steps [0, P·C): Distance (kind 8), row = pair p (colexicographic:
///           p = b(b-1)/2 + a, a < b), col = chunk;
///         - then B blocks of 93n scoring steps: ScoreRank (kind 9) for column c < 92n (pass
///           c / n, bit 91 - c/n, over column j = c mod n), ScoreSum (kind 10) for
///           92n <= c < 93n (j = c - 92n); row = block;
///         - then K picks of B steps: Pick (kind 11), row = pick, col = block;
///         - then C rows of n + 1 steps: SelectAccumulate (kind 12) for col < n, SelectFinalize
///           (kind 13) at col = n; row = chunk.
///         States are keccak(abi.encode(configHash, step, registerHash, outputRoot,
///         distanceRoot, selectionRoot)); state 0 has the first phase's zero register and three
///         empty trees, state T the zero accumulator, the output root and two zero roots (the
///         last step clears the working memory).
/// @dev Parameters: Krum `abi.encode(uint8 f)`, Multi-Krum `abi.encode(uint8 f, uint8 keep)`,
///      canonical. `validate` requires n >= 2f + 3 and 1 <= keep <= n - f for the client count
///      n; a smaller participant set runs with f clamped to (n-3)/2 (0 below 3) and keep to
///      [1, n - f] (step-vm `Selection::effective`), so withholding never bricks a round.
contract SelectedProgram is IRuleProgram {
    /// @notice Krum's rule id.
    uint8 public constant KRUM = 6;
    /// @notice Multi-Krum's rule id.
    uint8 public constant MULTI_KRUM = 7;
    /// @notice Radix passes of the score thresholds (D < 2^92).
    uint256 public constant SCORE_PASSES = 92;
    /// @notice Participants per block.
    uint256 public constant SCORE_LANES = 8;

    uint8 private constant KIND_DISTANCE = 8;
    uint8 private constant KIND_SCORE_RANK = 9;
    uint8 private constant KIND_SCORE_SUM = 10;
    uint8 private constant KIND_PICK = 11;
    uint8 private constant KIND_SELECT_ACCUMULATE = 12;
    uint8 private constant KIND_SELECT_FINALIZE = 13;

    // Register lengths of the phases (the next phase's zero register, in `kindParams`).
    uint256 private constant DISTANCE_REGISTER = 13;
    uint256 private constant SCORE_REGISTER = 312;
    uint256 private constant PICK_REGISTER = 26;

    /// @notice This program's rule id (6 or 7).
    uint8 public immutable rule;

    /// @notice The rule id is not one this program runs.
    error UnknownSelection(uint8 rule);

    /// @notice A round's schedule.
    struct Plan {
        uint256 n;
        uint256 chunks;
        uint256 blocks;
        uint256 f;
        uint256 picks;
    }

    /// @param rule_ KRUM or MULTI_KRUM.
    constructor(uint8 rule_) {
        if (rule_ != KRUM && rule_ != MULTI_KRUM) revert UnknownSelection(rule_);
        rule = rule_;
    }

    // ---------------------------------------------------------------- parameters

    /// @notice The parameters: f, and Multi-Krum's keep (Krum: 1); reverts
    ///         `InvalidRuleParams` unless `params` is the canonical encoding.
    /// @param params The rule's parameters.
    /// @return f The tolerated Byzantine count.
    /// @return keep The participants averaged.
    function decode(bytes calldata params) public view returns (uint256 f, uint256 keep) {
        uint256 words = rule == KRUM ? 1 : 2;
        if (params.length != 32 * words) {
            revert InvalidRuleParams(
                rule,
                string.concat(
                    rule == KRUM
                        ? "params must be abi.encode(uint8 f), 32 bytes; got "
                        : "params must be abi.encode(uint8 f, uint8 keep), 64 bytes; got ",
                    _decimal(params.length),
                    " bytes"
                )
            );
        }
        f = uint256(bytes32(params[0:32]));
        keep = rule == KRUM ? 1 : uint256(bytes32(params[32:64]));
        if (f > type(uint8).max || keep > type(uint8).max) {
            revert InvalidRuleParams(rule, "f and keep must be canonical abi.encode(uint8) words");
        }
    }

    /// @inheritdoc IRuleProgram
    function validate(bytes calldata params, uint256 n, uint256 dim) external view {
        dim;
        (uint256 f, uint256 keep) = decode(params);
        if (n < 2 * f + 3) {
            revert InvalidRuleParams(
                rule,
                string.concat(
                    "f must be at most (n - 3) / 2 for n = ",
                    _decimal(n),
                    " clients (n >= 2f + 3: n - f - 2 >= f + 1 neighbours); got ",
                    _decimal(f)
                )
            );
        }
        if (keep == 0 || keep > n - f) {
            revert InvalidRuleParams(
                rule,
                string.concat(
                    "keep must be between 1 and n - f = ", _decimal(n - f), "; got ", _decimal(keep)
                )
            );
        }
    }

    /// @notice The schedule of a round of `n` participants: the parameters clamped to n.
    /// @param params The rule's parameters.
    /// @param n Number of participants.
    /// @param dim Model dimension.
    /// @return p The plan.
    function plan(bytes calldata params, uint256 n, uint256 dim) public view returns (Plan memory p) {
        (uint256 f, uint256 keep) = decode(params);
        uint256 most = n < 3 ? 0 : (n - 3) / 2;
        if (f > most) f = most;
        uint256 maxKeep = n - f;
        if (keep > maxKeep) keep = maxKeep;
        if (keep == 0) keep = 1;
        p = Plan({
            n: n,
            chunks: Commitments.chunkCount(dim),
            blocks: (n + SCORE_LANES - 1) / SCORE_LANES,
            f: f,
            picks: keep
        });
    }

    // ---------------------------------------------------------------- schedule

    /// @inheritdoc IRuleProgram
    function steps(bytes calldata params, uint256 n, uint256 dim) external view returns (uint64) {
        return _steps(plan(params, n, dim));
    }

    /// @inheritdoc IRuleProgram
    function stepAt(bytes calldata params, uint256 n, uint256 dim, uint64 step)
        external
        view
        returns (uint8 kind, uint256 row, uint256 col, bytes memory kindParams)
    {
        Plan memory p = plan(params, n, dim);
        uint64 t = _steps(p);
        if (step >= t) revert StepOutOfRange(step, t);
        uint256 k = step;
        uint256 distanceSteps = _pairs(n) * p.chunks;
        if (k < distanceSteps) {
            (row, col) = (k / p.chunks, k % p.chunks);
            (uint256 a, uint256 b) = pairAt(row);
            uint256 next;
            if (col + 1 == p.chunks) next = row + 1 < _pairs(n) ? DISTANCE_REGISTER : SCORE_REGISTER;
            return (KIND_DISTANCE, row, col, abi.encode(a, b, next));
        }
        k -= distanceSteps;
        uint256 blockLen = (SCORE_PASSES + 1) * n;
        uint256 scoring = p.blocks * blockLen;
        if (k < scoring) {
            (row, col) = (k / blockLen, k % blockLen);
            uint256 rank = neighbours(n, p.f);
            if (col < SCORE_PASSES * n) {
                kindParams = abi.encode(col % n, row, SCORE_PASSES - 1 - col / n, rank, uint256(0));
                return (KIND_SCORE_RANK, row, col, kindParams);
            }
            uint256 j = col - SCORE_PASSES * n;
            uint256 next;
            if (j + 1 == n) next = row + 1 < p.blocks ? SCORE_REGISTER : PICK_REGISTER;
            return (KIND_SCORE_SUM, row, col, abi.encode(j, row, uint256(0), rank, next));
        }
        k -= scoring;
        uint256 pickSteps = p.picks * p.blocks;
        if (k < pickSteps) {
            (row, col) = (k / p.blocks, k % p.blocks);
            uint256 next;
            if (col + 1 == p.blocks) next = row + 1 < p.picks ? PICK_REGISTER : Commitments.ACC_BYTES;
            return (KIND_PICK, row, col, abi.encode(next));
        }
        k -= pickSteps;
        (row, col) = (k / (n + 1), k % (n + 1));
        if (col < n) return (KIND_SELECT_ACCUMULATE, row, col, "");
        return (KIND_SELECT_FINALIZE, row, col, abi.encode(p.picks));
    }

    /// @inheritdoc IRuleProgram
    /// @dev A Distance step reads two participants: this names the pair's first, a (the
    ///      second, b, is in `stepAt`'s kind parameters). The distance family is not wrapped by
    ///      clipping, the only reader of this view.
    function participantAt(bytes calldata params, uint256 n, uint256 dim, uint64 step)
        external
        view
        returns (bool reads, uint256 participant)
    {
        Plan memory p = plan(params, n, dim);
        uint64 t = _steps(p);
        if (step >= t) revert StepOutOfRange(step, t);
        uint256 distanceSteps = _pairs(n) * p.chunks;
        if (step < distanceSteps) {
            (uint256 a,) = pairAt(step / p.chunks);
            return (true, a);
        }
        uint256 averaging = t - p.chunks * (n + 1);
        if (step >= averaging) {
            uint256 col = (step - averaging) % (n + 1);
            if (col < n) return (true, col);
        }
    }

    /// @inheritdoc IRuleProgram
    function initialState(bytes32 configHash, bytes calldata params, uint256 n, uint256 dim)
        external
        view
        returns (bytes32)
    {
        Plan memory p = plan(params, n, dim);
        uint256 register = _pairs(n) > 0 ? DISTANCE_REGISTER : SCORE_REGISTER;
        return Commitments.stateHash3(
            configHash,
            0,
            Commitments.registerHashMem(new bytes(register)),
            Commitments.emptyRoot(Commitments.depthFor(p.chunks)),
            Commitments.emptyRoot(Commitments.depthFor(n * p.blocks)),
            Commitments.emptyRoot(Commitments.depthFor(p.blocks))
        );
    }

    /// @inheritdoc IRuleProgram
    function finalState(bytes32 configHash, bytes calldata params, uint256 n, uint256 dim, bytes32 outputRoot)
        external
        view
        returns (bytes32)
    {
        uint64 t = _steps(plan(params, n, dim));
        return Commitments.stateHash3(configHash, t, Commitments.ZERO_ACC_HASH, outputRoot, 0, 0);
    }

    /// @inheritdoc IRuleProgram
    function name() external view returns (string memory) {
        return rule == KRUM ? "Krum" : "MultiKrum";
    }

    // ---------------------------------------------------------------- arithmetic

    /// @notice The pair of index p in colexicographic order (step-vm `pair_at`):
    ///         b = ceil(isqrt(1 + 8p) / 2), the largest b with b(b-1)/2 <= p, and
    ///         a = p - b(b-1)/2.
    /// @param p The pair index.
    /// @return a The smaller member.
    /// @return b The larger member.
    function pairAt(uint256 p) public pure returns (uint256 a, uint256 b) {
        b = (_isqrt(1 + 8 * p) + 1) / 2;
        a = p - b * (b - 1) / 2;
    }

    /// @notice Krum's neighbour count among r members tolerating f:
    ///         min(max(1, r - f - 2), r - 1).
    /// @param r Members.
    /// @param f Tolerated Byzantine count.
    /// @return m The neighbour count (the threshold's rank).
    function neighbours(uint256 r, uint256 f) public pure returns (uint256 m) {
        m = r > f + 2 ? r - f - 2 : 0;
        if (m < 1) m = 1;
        if (m > r - 1) m = r == 0 ? 0 : r - 1;
    }

    function _pairs(uint256 n) private pure returns (uint256) {
        return n * (n == 0 ? 0 : n - 1) / 2;
    }

    /// T = P·C + B·93n + K·B + C·(n + 1).
    function _steps(Plan memory p) private pure returns (uint64) {
        uint256 t = _pairs(p.n) * p.chunks + p.blocks * (SCORE_PASSES + 1) * p.n + p.picks * p.blocks
            + p.chunks * (p.n + 1);
        if (t > type(uint64).max) revert ProgramTooLong(t);
        // Checked just above.
        // forge-lint: disable-next-line(unsafe-typecast)
        return uint64(t);
    }

    /// floor(sqrt(x)) by Newton's method.
    function _isqrt(uint256 x) private pure returns (uint256 y) {
        if (x == 0) return 0;
        y = x;
        uint256 z = (x + 1) / 2;
        while (z < y) {
            y = z;
            z = (x / z + z) / 2;
        }
    }

    /// `v` in decimal (for the reasons above).
    function _decimal(uint256 v) private pure returns (string memory) {
        if (v == 0) return "0";
        uint256 digits;
        for (uint256 x = v; x != 0; x /= 10) {
            ++digits;
        }
        bytes memory s = new bytes(digits);
        for (; v != 0; v /= 10) {
            // A digit is below 10.
            // forge-lint: disable-next-line(unsafe-typecast)
            s[--digits] = bytes1(uint8(48 + v % 10));
        }
        return string(s);
    }
}
