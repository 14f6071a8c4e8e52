// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {IBisectionGame} from "./interfaces/IBisectionGame.sol";
import {ILeafArbiter} from "./interfaces/ILeafArbiter.sol";
import {IRoundRegistry} from "./interfaces/IRoundRegistry.sol";
import {TxGas} from "./lib/TxGas.sol";

/// @title BisectionGame
/// @notice Two-party bisection over the step trace of a round's program (docs/ARCHITECTURE.md
///         §6). The interval [lo, hi] has hLo agreed and hHi claimed by the aggregator and
///         disputed by the challenger. The aggregator posts hMid for mid = lo + (hi-lo)/2, the
///         challenger agrees (lo = mid) or disagrees (hi = mid); at hi = lo + 1 a single step is
///         settled by the leaf arbiter with a step proof.
/// @dev Every move names the interval and claim (bisect) or the midpoint and its hash (respond)
///      it answers, so a move cannot be redirected to a different state of the game.
///      Chess clocks: each side has `clock` seconds in total, spent while it is the side to
///      move; after every move the opponent's remaining time is raised to at least
///      `extension`, so no claim is won at the last second. In the leaf phase the aggregator's
///      clock runs (burden of proof); the challenger may prove the leaf at any time.
///      The base fee the challenger burns on its own moves is metered (`TxGas`) and reported to
///      the registry at resolution, which makes a winning challenger whole from the slashed
///      bond.
contract BisectionGame is IBisectionGame {
    // ---------------------------------------------------------------- types

    /// @notice Phase of a game.
    enum GameStatus {
        AwaitingMid,
        AwaitingResponse,
        AwaitingLeaf,
        AggregatorWon,
        ChallengerWon
    }

    /// @notice Whose move it is.
    enum Side {
        None,
        Aggregator,
        Challenger
    }

    /// @notice How a game ended.
    enum Resolution {
        Leaf,
        Timeout
    }

    /// @notice A game as the `game` view returns it.
    struct GameView {
        uint256 roundId;
        address aggregator;
        address challenger;
        uint64 lo;
        uint64 hi;
        bytes32 hLo;
        bytes32 hHi;
        bytes32 pendingMid;
        GameStatus status;
        uint64 aggregatorClock;
        uint64 challengerClock;
        uint64 lastMoveAt;
        uint32 moves;
        uint256 challengerCost;
    }

    struct Game {
        uint256 roundId;
        address aggregator;
        uint64 lo;
        address challenger;
        uint64 hi;
        bytes32 hLo;
        bytes32 hHi;
        bytes32 pendingMid;
        GameStatus status;
        uint64 aggregatorClock;
        uint64 challengerClock;
        uint64 lastMoveAt;
        uint32 moves;
        uint256 challengerCost;
    }

    // ---------------------------------------------------------------- events

    /// @notice A game was opened over `steps` steps from agreed `h0` to claimed `hT`.
    event GameOpened(
        uint256 indexed gameId,
        uint256 indexed roundId,
        address aggregator,
        address challenger,
        uint64 steps,
        bytes32 h0,
        bytes32 hT
    );
    /// @notice The aggregator claimed `hMid` for state `mid` of interval [lo, hi].
    event Bisected(uint256 indexed gameId, uint64 lo, uint64 hi, uint64 mid, bytes32 hMid);
    /// @notice The challenger answered the claim for `mid`; the interval is now [lo, hi].
    event Responded(uint256 indexed gameId, uint64 mid, bytes32 hMid, bool agree, uint64 lo, uint64 hi);
    /// @notice The disputed step `lo` was settled: the true post-state is `hStar`.
    event LeafProven(uint256 indexed gameId, uint64 step, bytes32 hStar, bytes32 hHi);
    /// @notice The game ended.
    event GameResolved(uint256 indexed gameId, uint256 indexed roundId, bool aggregatorWon, Resolution how);

    // ---------------------------------------------------------------- errors

    /// @notice The caller may not do this.
    error Unauthorized(address caller);
    /// @notice An address that must be nonzero is zero, or has no code.
    error ZeroAddress();
    /// @notice The clock must be positive and the extension not longer than it.
    error InvalidClock(uint64 clock, uint64 extension);
    /// @notice A game needs at least one step.
    error NoSteps();
    /// @notice No such game.
    error UnknownGame(uint256 gameId);
    /// @notice The game is not in the phase this move needs.
    error WrongStatus(uint256 gameId, GameStatus status);
    /// @notice The move names an interval or claim that is not the game's current one.
    error StaleMove(uint256 gameId);
    /// @notice The mover's clock has run out.
    error ClockExpired(uint256 gameId, Side side);
    /// @notice The side to move still has time.
    error ClockNotExpired(uint256 gameId, Side side, uint64 remaining);

    // ---------------------------------------------------------------- state

    /// @notice The round registry (opens games, settles bonds).
    address public immutable registry;
    /// @notice The leaf arbiter.
    address public immutable arbiter;
    /// @notice Seconds each side may spend in total.
    uint64 public immutable clock;
    /// @notice Minimum time a side has after its opponent's move.
    uint64 public immutable extension;

    /// @notice Most bytes of a leaf whose calldata is credited to the challenger. The largest
    ///         canonical FedAvg leaf, an Accumulate leaf at dim = 2^28 (C = 2^23 chunks, paths
    ///         of 23) and n = 255 (paths of 8) with a 1,376-byte proof, is 3,520 bytes:
    ///         32 (offset) + 9·32 (heads) + 288 (acc) + 288 (inputPath) + 160 (values)
    ///         + 768 (valuesPath) + 288 (accOut) + 1,408 (proof); the Finalize leaf is 2,816.
    ///         The order-statistic leaves carry the 1,280-byte register instead: Rank and
    ///         TrimSum 5,568 bytes, TrimEmit 3,840. 16 KiB leaves room for future step kinds. The checkers accept only canonical
    ///         leaves of exact lengths, so the cap binds only a leaf no checker would accept.
    uint256 public constant MAX_LEAF_BYTES = 16_384;
    /// @notice Execution after the cost is measured besides the cost's own storage write
    ///         (the addition and the return); a lower bound.
    uint256 private constant METER_TAIL_GAS = 60;

    /// @notice Number of games opened; ids are 1..=gameCount.
    uint256 public gameCount;

    mapping(uint256 gameId => Game) private _games;

    /// @param registry_ The round registry.
    /// @param arbiter_ The leaf arbiter.
    /// @param clock_ Seconds each side may spend in total.
    /// @param extension_ Minimum time a side has after its opponent's move (at most `clock_`).
    constructor(address registry_, address arbiter_, uint64 clock_, uint64 extension_) {
        if (registry_ == address(0) || arbiter_ == address(0)) revert ZeroAddress();
        if (clock_ == 0 || extension_ > clock_) revert InvalidClock(clock_, extension_);
        registry = registry_;
        arbiter = arbiter_;
        clock = clock_;
        extension = extension_;
    }

    // ---------------------------------------------------------------- moves

    /// @inheritdoc IBisectionGame
    function open(
        uint256 roundId,
        address aggregator,
        address challenger,
        bytes32 h0,
        bytes32 hT,
        uint64 steps
    ) external returns (uint256 gameId) {
        if (msg.sender != registry) revert Unauthorized(msg.sender);
        if (steps == 0) revert NoSteps();
        gameId = ++gameCount;
        Game storage g = _games[gameId];
        g.roundId = roundId;
        g.aggregator = aggregator;
        g.challenger = challenger;
        g.hi = steps;
        g.hLo = h0;
        g.hHi = hT;
        g.status = steps == 1 ? GameStatus.AwaitingLeaf : GameStatus.AwaitingMid;
        g.aggregatorClock = clock;
        g.challengerClock = clock;
        g.lastMoveAt = uint64(block.timestamp);
        emit GameOpened(gameId, roundId, aggregator, challenger, steps, h0, hT);
    }

    /// @notice The aggregator claims `hMid` for the midpoint of the current interval.
    /// @param gameId The game.
    /// @param lo The current interval's start (binds the move).
    /// @param hi The current interval's end (binds the move).
    /// @param hHi The aggregator's current claim for `hi` (binds the move).
    /// @param hMid The aggregator's claim for state mid = lo + (hi-lo)/2.
    function bisect(uint256 gameId, uint64 lo, uint64 hi, bytes32 hHi, bytes32 hMid) external {
        Game storage g = _game(gameId);
        if (msg.sender != g.aggregator) revert Unauthorized(msg.sender);
        if (g.status != GameStatus.AwaitingMid) revert WrongStatus(gameId, g.status);
        if (lo != g.lo || hi != g.hi || hHi != g.hHi) revert StaleMove(gameId);
        _spend(gameId, g);
        g.pendingMid = hMid;
        g.status = GameStatus.AwaitingResponse;
        emit Bisected(gameId, lo, hi, lo + (hi - lo) / 2, hMid);
    }

    /// @notice The challenger agrees (the interval becomes [mid, hi]) or disagrees ([lo, mid])
    ///         with the pending claim.
    /// @param gameId The game.
    /// @param mid The pending midpoint (binds the move).
    /// @param hMid The pending claim for it (binds the move).
    /// @param agree Whether the challenger agrees that state `mid` is `hMid`.
    function respond(uint256 gameId, uint64 mid, bytes32 hMid, bool agree) external {
        uint256 gasAtEntry = gasleft();
        Game storage g = _game(gameId);
        if (msg.sender != g.challenger) revert Unauthorized(msg.sender);
        if (g.status != GameStatus.AwaitingResponse) revert WrongStatus(gameId, g.status);
        uint64 lo = g.lo;
        uint64 hi = g.hi;
        if (mid != lo + (hi - lo) / 2 || hMid != g.pendingMid) revert StaleMove(gameId);
        _spend(gameId, g);
        if (agree) {
            lo = mid;
            g.lo = mid;
            g.hLo = hMid;
        } else {
            hi = mid;
            g.hi = mid;
            g.hHi = hMid;
        }
        // pendingMid is left in place (only meaningful while AwaitingResponse): overwriting a
        // nonzero slot on the next bisect is ~17k gas cheaper than clearing and re-setting it.
        g.status = hi == lo + 1 ? GameStatus.AwaitingLeaf : GameStatus.AwaitingMid;
        emit Responded(gameId, mid, hMid, agree, lo, hi);
        _meterChallenger(g, gasAtEntry, 4 + 4 * 32);
    }

    /// @notice Settles the single disputed step: the arbiter computes the true post-state from
    ///         the agreed pre-state hLo and a step proof; the aggregator wins iff it equals hHi.
    ///         Anyone may submit. The aggregator bears the burden of proof: a proof that would
    ///         make it win is refused once its clock has run out (the timeout rule applies).
    /// @param gameId The game.
    /// @param leaf `abi.encode` of the step kind's leaf struct (the pre-state preimage, the
    ///        step's openings and its proof; see the kind's checker), forwarded to the arbiter.
    function proveLeaf(uint256 gameId, bytes calldata leaf) external {
        uint256 gasAtEntry = gasleft();
        Game storage g = _game(gameId);
        if (g.status != GameStatus.AwaitingLeaf) revert WrongStatus(gameId, g.status);
        bytes32 hStar = ILeafArbiter(arbiter).postState(g.roundId, g.lo, g.hLo, leaf);
        bool aggregatorWon = hStar == g.hHi;
        uint64 remaining = _remaining(g, true);
        if (aggregatorWon && remaining == 0) revert ClockExpired(gameId, Side.Aggregator);
        g.aggregatorClock = remaining;
        g.lastMoveAt = uint64(block.timestamp);
        ++g.moves;
        emit LeafProven(gameId, g.lo, hStar, g.hHi);
        _resolve(gameId, g, aggregatorWon, Resolution.Leaf);
        _meterChallenger(g, gasAtEntry, _leafCalldataLength(leaf.length));
    }

    /// @notice Ends a game whose side to move has run out of time; the other side wins.
    ///         Anyone may call it.
    /// @param gameId The game.
    function timeout(uint256 gameId) external {
        uint256 gasAtEntry = gasleft();
        Game storage g = _game(gameId);
        Side side = _sideToMove(g.status);
        if (side == Side.None) revert WrongStatus(gameId, g.status);
        bool aggregatorToMove = side == Side.Aggregator;
        uint64 remaining = _remaining(g, aggregatorToMove);
        if (remaining != 0) revert ClockNotExpired(gameId, side, remaining);
        if (aggregatorToMove) g.aggregatorClock = 0;
        else g.challengerClock = 0;
        g.lastMoveAt = uint64(block.timestamp);
        _resolve(gameId, g, !aggregatorToMove, Resolution.Timeout);
        _meterChallenger(g, gasAtEntry, 4 + 32);
    }

    // ---------------------------------------------------------------- views

    /// @notice A game's state; clocks are as of the last move (see `remainingTime`);
    ///         `pendingMid` is zero unless the game awaits the challenger's response.
    /// @param gameId The game.
    /// @return v The game.
    function game(uint256 gameId) external view returns (GameView memory v) {
        Game storage g = _game(gameId);
        v.roundId = g.roundId;
        v.aggregator = g.aggregator;
        v.challenger = g.challenger;
        v.lo = g.lo;
        v.hi = g.hi;
        v.hLo = g.hLo;
        v.hHi = g.hHi;
        if (g.status == GameStatus.AwaitingResponse) v.pendingMid = g.pendingMid;
        v.status = g.status;
        v.aggregatorClock = g.aggregatorClock;
        v.challengerClock = g.challengerClock;
        v.lastMoveAt = g.lastMoveAt;
        v.moves = g.moves;
        v.challengerCost = g.challengerCost;
    }

    /// @notice Whose move it is (None once the game is resolved).
    /// @param gameId The game.
    /// @return The side to move.
    function sideToMove(uint256 gameId) external view returns (Side) {
        return _sideToMove(_game(gameId).status);
    }

    /// @notice A side's remaining time now, counting the running clock of the side to move.
    /// @param gameId The game.
    /// @param aggregatorSide The aggregator's clock (true) or the challenger's (false).
    /// @return Seconds left (0 once run out).
    function remainingTime(uint256 gameId, bool aggregatorSide) external view returns (uint64) {
        return _remaining(_game(gameId), aggregatorSide);
    }

    // ---------------------------------------------------------------- internals

    function _game(uint256 gameId) private view returns (Game storage g) {
        g = _games[gameId];
        if (g.aggregator == address(0)) revert UnknownGame(gameId);
    }

    function _sideToMove(GameStatus status) private pure returns (Side) {
        if (status == GameStatus.AwaitingMid || status == GameStatus.AwaitingLeaf) return Side.Aggregator;
        if (status == GameStatus.AwaitingResponse) return Side.Challenger;
        return Side.None;
    }

    function _remaining(Game storage g, bool aggregatorSide) private view returns (uint64) {
        uint64 stored = aggregatorSide ? g.aggregatorClock : g.challengerClock;
        Side toMove = _sideToMove(g.status);
        bool running = aggregatorSide ? toMove == Side.Aggregator : toMove == Side.Challenger;
        if (!running) return stored;
        uint256 elapsed = block.timestamp - g.lastMoveAt;
        if (elapsed >= stored) return 0;
        // elapsed < stored, a uint64.
        // forge-lint: disable-next-line(unsafe-typecast)
        return stored - uint64(elapsed);
    }

    /// Charges the mover the time since the last move, then gives the opponent (the next side
    /// to move; moves alternate) at least `extension`.
    function _spend(uint256 gameId, Game storage g) private {
        bool aggregatorMoves = _sideToMove(g.status) == Side.Aggregator;
        uint64 remaining = _remaining(g, aggregatorMoves);
        if (remaining == 0) revert ClockExpired(gameId, aggregatorMoves ? Side.Aggregator : Side.Challenger);
        uint64 ext = extension;
        if (aggregatorMoves) {
            g.aggregatorClock = remaining;
            if (g.challengerClock < ext) g.challengerClock = ext;
        } else {
            g.challengerClock = remaining;
            if (g.aggregatorClock < ext) g.aggregatorClock = ext;
        }
        g.lastMoveAt = uint64(block.timestamp);
        ++g.moves;
    }

    /// Adds the current transaction's base-fee cost to the challenger's account when the
    /// challenger sends it (anyone may prove a leaf or claim a timeout; only the challenger's
    /// own moves are its cost). Runs last, after the resolution of a final move, so the whole
    /// transaction is measured but for the write of the cost itself, which is priced exactly.
    function _meterChallenger(Game storage g, uint256 gasAtEntry, uint256 calldataLength) private {
        if (msg.sender != g.challenger) return;
        uint256 prev = g.challengerCost;
        uint256 fee = block.basefee;
        // The write below costs what warmStoreGas says for the value it will store; the
        // value depends on that cost only through `fee`, so price the write with the value
        // as if the slot were nonzero after it (it is, whenever fee > 0).
        uint256 storeGas = fee == 0 ? 100 : TxGas.warmStoreGas(prev, prev + 1);
        g.challengerCost = prev + TxGas.baseFeeCost(gasAtEntry, storeGas + METER_TAIL_GAS, calldataLength);
    }

    /// The canonical ABI length of `proveLeaf(gameId, leaf)`: selector, the game id, the
    /// leaf's offset, then its length word and data padded to whole words; the leaf counted
    /// at most at `MAX_LEAF_BYTES` (the checker has already refused a non-canonical leaf).
    function _leafCalldataLength(uint256 leafLength) private pure returns (uint256) {
        uint256 counted = leafLength < MAX_LEAF_BYTES ? leafLength : MAX_LEAF_BYTES;
        return 4 + 2 * 32 + TxGas.abiBytes(counted);
    }

    /// @inheritdoc IBisectionGame
    function challengerCost(uint256 gameId) external view returns (uint256) {
        return _game(gameId).challengerCost;
    }

    function _resolve(uint256 gameId, Game storage g, bool aggregatorWon, Resolution how) private {
        g.status = aggregatorWon ? GameStatus.AggregatorWon : GameStatus.ChallengerWon;
        uint256 roundId = g.roundId;
        emit GameResolved(gameId, roundId, aggregatorWon, how);
        IRoundRegistry(registry).resolveGame(gameId, roundId, g.aggregator, g.challenger, aggregatorWon);
    }
}
