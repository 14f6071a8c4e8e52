// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Commitments} from "../lib/Commitments.sol";
import {IRuleProgram} from "../interfaces/IRuleProgram.sol";
import {Decimal} from "../lib/Decimal.sol";

/// @title SelectedProgram
/// @notice The distance family's schedule (step-vm `rules/selected`,
///         docs/design/distance-family.md) for Krum (rule 6), Multi-Krum (rule 7) and Bulyan
///         (rule 8): the squared distance of every pair, rounds of Krum scores and picks, then
///         the unweighted mean of the picked updates (Krum, Multi-Krum) or, per coordinate, the
///         mean of the β picked values closest to their median (Bulyan), rounded half up.
///
///         With C = ceil(dim/32) chunks, B = ceil(n/8) blocks, P = n(n-1)/2 pairs, R rounds of
///         K picks (Krum 1 × 1, Multi-Krum 1 × m', Bulyan θ = n - 2f rounds of 1):
///         - steps [0, P·C): Distance (kind 8), row = pair p (colexicographic:
///           p = b(b-1)/2 + a, a < b), col = chunk;
///         - then R rounds, each of B blocks of 93n scoring steps (ScoreRank, kind 9, for column
///           c < 92n: pass c / n, bit 91 - c/n, over column j = c mod n; ScoreSum, kind 10, for
///           92n <= c < 93n; row = round·B + block) and K picks of B steps (Pick, kind 11,
///           row = round·K + pick, col = block); round t's threshold rank is
///           neighbours(n - t, f);
///         - then C rows: n + 1 steps of SelectAccumulate (kind 12) and SelectFinalize (kind 13
///           at col = n); or Bulyan's 66n + 1 trim steps: SelectRank (14) for col < 32n,
///           CloseRank (15) for col < 65n, CloseSum (16) for col < 66n, CloseEmit (17) at 66n.
///         States are keccak(abi.encode(configHash, step, registerHash, outputRoot,
///         distanceRoot, selectionRoot)); state 0 has the first phase's zero register and three
///         empty trees, state T the last phase's zero register, the output root and two zero
///         roots (the last step clears the working memory).
/// @dev Parameters: Krum and Bulyan `abi.encode(uint8 f)`, Multi-Krum `abi.encode(uint8 f,
///      uint8 keep)`, canonical. `validate` requires n >= 2f + 3 (Bulyan n >= 4f + 3) and
///      1 <= keep <= n - f for the client count n; a smaller participant set runs with f
///      clamped to (n-3)/2 (Bulyan (n-3)/4; 0 below 3) and keep to [1, n - f] (step-vm
///      `Selection::effective`), so withholding never bricks a round.
contract SelectedProgram is IRuleProgram {
    /// @notice Krum's rule id.
    uint8 public constant KRUM = 6;
    /// @notice Multi-Krum's rule id.
    uint8 public constant MULTI_KRUM = 7;
    /// @notice Bulyan's rule id.
    uint8 public constant BULYAN = 8;
    /// @notice Rank passes of Bulyan's median bounds, and closeness passes (e < 2^33).
    uint256 public constant RANK_PASSES = 32;
    uint256 public constant CLOSE_PASSES = 33;
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
    uint8 private constant KIND_SELECT_RANK = 14;
    uint8 private constant KIND_CLOSE_RANK = 15;
    uint8 private constant KIND_CLOSE_SUM = 16;
    uint8 private constant KIND_CLOSE_EMIT = 17;

    // Register lengths of the phases (the next phase's zero register, in `kindParams`).
    uint256 private constant DISTANCE_REGISTER = 13;
    uint256 private constant SCORE_REGISTER = 312;
    uint256 private constant PICK_REGISTER = 26;

    /// @notice This program's rule id (6, 7 or 8).
    uint8 public immutable RULE;

    /// @notice The rule id is not one this program runs.
    error UnknownSelection(uint8 rule);

    /// @notice A round's schedule.
    struct Plan {
        uint256 n;
        uint256 chunks;
        uint256 blocks;
        uint256 f;
        /// Picks per round K.
        uint256 picks;
        /// Rounds R.
        uint256 rounds;
        /// Bulyan: the last phase is the trim.
        bool trims;
    }

    /// @param rule_ KRUM, MULTI_KRUM or BULYAN.
    constructor(uint8 rule_) {
        if (rule_ != KRUM && rule_ != MULTI_KRUM && rule_ != BULYAN) revert UnknownSelection(rule_);
        RULE = rule_;
    }

    // ---------------------------------------------------------------- parameters

    /// @notice The parameters: f, and Multi-Krum's keep (Krum: 1); reverts
    ///         `InvalidRuleParams` unless `params` is the canonical encoding.
    /// @param params The rule's parameters.
    /// @return f The tolerated Byzantine count.
    /// @return keep The participants averaged.
    function decode(bytes calldata params) public view returns (uint256 f, uint256 keep) {
        uint256 words = RULE == MULTI_KRUM ? 2 : 1;
        if (params.length != 32 * words) {
            revert InvalidRuleParams(
                RULE,
                string.concat(
                    RULE != MULTI_KRUM
                        ? "params must be abi.encode(uint8 f), 32 bytes; got "
                        : "params must be abi.encode(uint8 f, uint8 keep), 64 bytes; got ",
                    Decimal.format(params.length),
                    " bytes"
                )
            );
        }
        f = uint256(bytes32(params[0:32]));
        keep = RULE == MULTI_KRUM ? uint256(bytes32(params[32:64])) : 1;
        if (f > type(uint8).max || keep > type(uint8).max) {
            revert InvalidRuleParams(RULE, "f and keep must be canonical abi.encode(uint8) words");
        }
    }

    /// @inheritdoc IRuleProgram
    function validate(bytes calldata params, uint256 n, uint256 dim) external view {
        dim;
        (uint256 f, uint256 keep) = decode(params);
        uint256 factor = RULE == BULYAN ? 4 : 2;
        if (n < factor * f + 3) {
            revert InvalidRuleParams(
                RULE,
                string.concat(
                    "f must be at most (n - 3) / ",
                    Decimal.format(factor),
                    " for n = ",
                    Decimal.format(n),
                    RULE == BULYAN
                        ? " clients (n >= 4f + 3: beta = n - 4f >= 3 values per coordinate); got "
                        : " clients (n >= 2f + 3: n - f - 2 >= f + 1 neighbours); got ",
                    Decimal.format(f)
                )
            );
        }
        if (keep == 0 || keep > n - f) {
            revert InvalidRuleParams(
                RULE,
                string.concat(
                    "keep must be between 1 and n - f = ", Decimal.format(n - f), "; got ", Decimal.format(keep)
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
        bool bulyan = RULE == BULYAN;
        uint256 most = n < 3 ? 0 : (n - 3) / (bulyan ? 4 : 2);
        if (f > most) f = most;
        uint256 maxKeep = n - f;
        if (keep > maxKeep) keep = maxKeep;
        if (keep == 0) keep = 1;
        p = Plan({
            n: n,
            chunks: Commitments.chunkCount(dim),
            blocks: (n + SCORE_LANES - 1) / SCORE_LANES,
            f: f,
            picks: bulyan ? 1 : keep,
            rounds: bulyan ? n - 2 * f : 1,
            trims: bulyan
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
        return _stepAt(p, step);
    }

    /// Step `step` (below T) of plan `p`.
    function _stepAt(Plan memory p, uint256 step)
        private
        pure
        returns (uint8 kind, uint256 row, uint256 col, bytes memory kindParams)
    {
        uint256 n = p.n;
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
        uint256 roundSteps = _roundSteps(p);
        if (k < p.rounds * roundSteps) return _selectionStep(p, k / roundSteps, k % roundSteps);
        return _lastPhaseStep(p, k - p.rounds * roundSteps);
    }

    /// Steps of one round: B blocks of 93n scoring steps, then K picks of B steps.
    function _roundSteps(Plan memory p) private pure returns (uint256) {
        return p.blocks * (SCORE_PASSES + 1) * p.n + p.picks * p.blocks;
    }

    /// Step `r` of round `t`: a scoring step, or a pick.
    function _selectionStep(Plan memory p, uint256 t, uint256 r)
        private
        pure
        returns (uint8 kind, uint256 row, uint256 col, bytes memory kindParams)
    {
        uint256 n = p.n;
        uint256 blockLen = (SCORE_PASSES + 1) * n;
        if (r < p.blocks * blockLen) {
            uint256 b = r / blockLen;
            (row, col) = (t * p.blocks + b, r % blockLen);
            uint256 rank = neighbours(n - t, p.f);
            if (col < SCORE_PASSES * n) {
                kindParams = abi.encode(col % n, b, SCORE_PASSES - 1 - col / n, rank, uint256(0));
                return (KIND_SCORE_RANK, row, col, kindParams);
            }
            uint256 j = col - SCORE_PASSES * n;
            uint256 next;
            if (j + 1 == n) next = b + 1 < p.blocks ? SCORE_REGISTER : PICK_REGISTER;
            return (KIND_SCORE_SUM, row, col, abi.encode(j, b, uint256(0), rank, next));
        }
        uint256 q = r - p.blocks * blockLen;
        uint256 u = q / p.blocks;
        (row, col) = (t * p.picks + u, q % p.blocks);
        uint256 pickNext;
        if (col + 1 == p.blocks) {
            if (u + 1 < p.picks) pickNext = PICK_REGISTER;
            else if (t + 1 < p.rounds) pickNext = SCORE_REGISTER;
            else pickNext = _lastRegister(p);
        }
        return (KIND_PICK, row, col, abi.encode(pickNext));
    }

    /// The last phase's register length: the accumulator (256) or the order register (800).
    function _lastRegister(Plan memory p) private pure returns (uint256) {
        return p.trims ? Commitments.STAT_BYTES : Commitments.ACC_BYTES;
    }

    /// Columns of a last-phase row: n + 1, or Bulyan's 66n + 1.
    function _lastRowLen(Plan memory p) private pure returns (uint256) {
        return p.trims ? (RANK_PASSES + CLOSE_PASSES + 1) * p.n + 1 : p.n + 1;
    }

    /// Step `k` of the last phase.
    function _lastPhaseStep(Plan memory p, uint256 k)
        private
        pure
        returns (uint8 kind, uint256 row, uint256 col, bytes memory kindParams)
    {
        uint256 n = p.n;
        uint256 per = _lastRowLen(p);
        (row, col) = (k / per, k % per);
        if (!p.trims) {
            if (col < n) return (KIND_SELECT_ACCUMULATE, row, col, "");
            return (KIND_SELECT_FINALIZE, row, col, abi.encode(p.rounds * p.picks));
        }
        uint256 theta = p.rounds;
        uint256 beta = theta - 2 * p.f;
        if (col < RANK_PASSES * n) {
            return (KIND_SELECT_RANK, row, col, abi.encode((theta - 1) / 2, theta / 2));
        }
        if (col < (RANK_PASSES + CLOSE_PASSES) * n) return (KIND_CLOSE_RANK, row, col, abi.encode(beta - 1));
        if (col < per - 1) return (KIND_CLOSE_SUM, row, col, "");
        return (KIND_CLOSE_EMIT, row, col, abi.encode(beta));
    }

    /// @inheritdoc IRuleProgram
    /// @dev A Distance step reads its pair (a, b); a last-phase step reading a value leaf
    ///      (SelectAccumulate, SelectRank, CloseRank, CloseSum) participant `col mod n`.
    function stepView(bytes calldata params, uint256 n, uint256 dim, uint64 step)
        external
        view
        returns (StepView memory v)
    {
        Plan memory p = plan(params, n, dim);
        v.steps = _steps(p);
        if (step >= v.steps) revert StepOutOfRange(step, v.steps);
        (v.kind, v.row, v.col, v.kindParams) = _stepAt(p, step);
        if (v.kind == KIND_DISTANCE) {
            // The pair, as `_stepAt` encoded it (a, b, next).
            v.participants = new uint256[](2);
            (v.participants[0], v.participants[1],) = abi.decode(v.kindParams, (uint256, uint256, uint256));
        } else if (
            v.kind == KIND_SELECT_ACCUMULATE || v.kind == KIND_SELECT_RANK || v.kind == KIND_CLOSE_RANK
                || v.kind == KIND_CLOSE_SUM
        ) {
            v.participants = new uint256[](1);
            v.participants[0] = v.col % n;
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
        Plan memory p = plan(params, n, dim);
        bytes32 zero = p.trims ? Commitments.ZERO_STAT_HASH : Commitments.ZERO_ACC_HASH;
        return Commitments.stateHash3(configHash, _steps(p), zero, outputRoot, 0, 0);
    }

    /// @inheritdoc IRuleProgram
    function name() external view returns (string memory) {
        if (RULE == KRUM) return "Krum";
        return RULE == MULTI_KRUM ? "MultiKrum" : "Bulyan";
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

    /// T = P·C + R·(B·93n + K·B) + C·(last row).
    function _steps(Plan memory p) private pure returns (uint64) {
        uint256 t = _pairs(p.n) * p.chunks + p.rounds * _roundSteps(p) + p.chunks * _lastRowLen(p);
        if (t > type(uint64).max) revert ProgramTooLong(t);
        // Checked just above.
        // forge-lint: disable-next-line(unsafe-typecast)
        return uint64(t);
    }

    /// floor(sqrt(x)) by Newton's method, from 2^ceil(bits(x)/2) >= sqrt(x): the iterates
    /// decrease to floor(sqrt(x)) and stop there (a start at x took ~20 iterations at n = 255).
    function _isqrt(uint256 x) private pure returns (uint256 y) {
        if (x == 0) return 0;
        // depthFor(x + 1) is the bit length of x (x < 2^255 here: a pair index times 8).
        y = uint256(1) << ((Commitments.depthFor(x + 1) + 1) / 2);
        uint256 z = (x / y + y) / 2;
        while (z < y) {
            y = z;
            z = (x / z + z) / 2;
        }
    }
}
