// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Commitments} from "./lib/Commitments.sol";
import {IRoundRegistry} from "./interfaces/IRoundRegistry.sol";
import {IBisectionGame} from "./interfaces/IBisectionGame.sol";

/// @title RoundRegistry
/// @notice Federated-learning rounds: the client list, the clients' update commitments, the
///         aggregator's bonded result, the challenge window, finalisation, and every bond as a
///         pull payment (docs/ARCHITECTURE.md §3, §6).
/// @dev Bond accounting invariant: the balance always equals the sum of `credit` plus, per
///      round, the aggregator bond while the round is Posted and one challenger bond per open
///      game.
contract RoundRegistry is IRoundRegistry {
    // ---------------------------------------------------------------- types

    /// @notice Life cycle of a round.
    enum RoundStatus {
        None,
        Committing,
        Posted,
        Finalized,
        Rejected
    }

    /// @notice A client's commitment to its update.
    struct Commitment {
        bytes32 root;
        uint32 weight;
    }

    /// @notice A round as the `round` view returns it.
    struct RoundView {
        RoundStatus status;
        address aggregator;
        uint32 dim;
        uint32 chunks;
        uint64 commitDeadline;
        uint32 clientCount;
        uint32 committedCount;
        uint32 participants;
        uint64 totalWeight;
        bytes32 inputRoot;
        bytes32 configHash;
        bytes32 outputRoot;
        uint64 postedAt;
        uint32 openGames;
    }

    struct Round {
        RoundStatus status;
        address aggregator;
        uint32 dim;
        uint32 committedCount;
        uint64 commitDeadline;
        uint64 postedAt;
        uint64 totalWeight;
        uint32 participants;
        uint32 openGames;
        bytes32 inputRoot;
        bytes32 configHash;
        bytes32 outputRoot;
        address[] clients;
        mapping(uint256 clientIndex => Commitment) commitments;
        mapping(address challenger => bool) challenged;
    }

    // ---------------------------------------------------------------- events

    /// @notice The game contract was set.
    event GameSet(address indexed game);
    /// @notice A round was opened.
    event RoundOpened(
        uint256 indexed roundId,
        address indexed aggregator,
        uint32 dim,
        uint32 clientCount,
        uint64 commitDeadline
    );
    /// @notice A client committed to its update.
    event UpdateCommitted(
        uint256 indexed roundId,
        uint32 indexed clientIndex,
        address indexed client,
        bytes32 updateRoot,
        uint32 weight
    );
    /// @notice The aggregator posted its result and bond.
    event ResultPosted(
        uint256 indexed roundId,
        bytes32 outputRoot,
        bytes32 inputRoot,
        bytes32 configHash,
        uint32 participants,
        uint64 totalWeight
    );
    /// @notice A challenger bonded a dispute of the round's result.
    event Challenged(uint256 indexed roundId, uint256 indexed gameId, address indexed challenger);
    /// @notice A game of the round was settled.
    event GameSettled(uint256 indexed roundId, uint256 indexed gameId, bool aggregatorWon);
    /// @notice The round's result was proven wrong.
    event RoundRejected(uint256 indexed roundId, uint256 indexed gameId, address indexed challenger);
    /// @notice The round's result became final.
    event RoundFinalized(uint256 indexed roundId, bytes32 outputRoot);
    /// @notice `amount` became withdrawable by `account`.
    event Credited(address indexed account, uint256 amount);
    /// @notice `account` withdrew `amount`.
    event Withdrawn(address indexed account, uint256 amount);

    // ---------------------------------------------------------------- errors

    /// @notice The caller may not do this.
    error Unauthorized(address caller);
    /// @notice The game contract was already set.
    error GameAlreadySet();
    /// @notice The game contract is not set yet.
    error GameNotSet();
    /// @notice An address that must be nonzero is zero.
    error ZeroAddress();
    /// @notice Client count outside 1..=255.
    error InvalidClientCount(uint256 count);
    /// @notice Client `index` is the zero address.
    error ZeroClient(uint256 index);
    /// @notice `client` appears twice in the client list.
    error DuplicateClient(address client);
    /// @notice Model dimension outside 1..=2^28.
    error InvalidDim(uint256 dim);
    /// @notice Commit period zero or past the end of time.
    error InvalidCommitPeriod(uint64 commitPeriod);
    /// @notice No such round.
    error UnknownRound(uint256 roundId);
    /// @notice The round is not in the status this action needs.
    error WrongRoundStatus(uint256 roundId, RoundStatus status);
    /// @notice The client index is not below the client count.
    error InvalidClientIndex(uint32 clientIndex, uint256 clientCount);
    /// @notice The commit deadline has passed.
    error CommitClosed(uint256 roundId, uint64 deadline);
    /// @notice This client already committed.
    error AlreadyCommitted(uint256 roundId, uint32 clientIndex);
    /// @notice Update roots must be nonzero.
    error ZeroUpdateRoot();
    /// @notice Weights must be at least 1.
    error ZeroWeight();
    /// @notice Output roots must be nonzero.
    error ZeroOutputRoot();
    /// @notice The sent value is not the required bond.
    error WrongBond(uint256 sent, uint256 required);
    /// @notice Not every client committed and the deadline has not passed.
    error CommitPhaseOpen(uint256 roundId, uint64 deadline);
    /// @notice The deadline passed without a single commitment.
    error NoCommitments(uint256 roundId);
    /// @notice W = Σ w_i exceeds 2^32 - 1.
    error TotalWeightTooLarge(uint256 totalWeight);
    /// @notice The challenge window has closed.
    error ChallengeWindowClosed(uint256 roundId, uint256 closesAt);
    /// @notice The challenge window is still open.
    error ChallengeWindowOpen(uint256 roundId, uint256 closesAt);
    /// @notice The aggregator cannot challenge its own result.
    error SelfChallenge();
    /// @notice This challenger already has a game for this round.
    error AlreadyChallenged(uint256 roundId, address challenger);
    /// @notice Games of the round are still open.
    error GamesOpen(uint256 roundId, uint32 openGames);
    /// @notice Nothing to withdraw.
    error NothingToWithdraw();
    /// @notice The payout call failed.
    error WithdrawFailed(address account, uint256 amount);

    // ---------------------------------------------------------------- state

    /// @notice Bond the aggregator posts with a result.
    uint256 public immutable aggregatorBond;
    /// @notice Bond a challenger posts per game.
    uint256 public immutable challengerBond;
    /// @notice Seconds after posting during which the result can be challenged.
    uint64 public immutable challengeWindow;
    /// @notice The account allowed to set the game contract (once).
    address public immutable deployer;

    /// @notice The bisection game contract.
    address public game;
    /// @notice Number of rounds opened; round ids are 1..=roundCount.
    uint256 public roundCount;
    /// @notice Withdrawable balance per account.
    mapping(address account => uint256 amount) public credit;

    mapping(uint256 roundId => Round) private _rounds;

    /// @param aggregatorBond_ Bond the aggregator posts with a result.
    /// @param challengerBond_ Bond a challenger posts per game.
    /// @param challengeWindow_ Seconds after posting during which a challenge is accepted.
    constructor(uint256 aggregatorBond_, uint256 challengerBond_, uint64 challengeWindow_) {
        aggregatorBond = aggregatorBond_;
        challengerBond = challengerBond_;
        challengeWindow = challengeWindow_;
        deployer = msg.sender;
    }

    // ---------------------------------------------------------------- setup

    /// @notice Sets the bisection game contract; deployer only, once. The game is deployed
    ///         after the registry because it needs the registry's address.
    /// @param game_ The game contract.
    function setGame(address game_) external {
        if (msg.sender != deployer) revert Unauthorized(msg.sender);
        if (game != address(0)) revert GameAlreadySet();
        if (game_ == address(0)) revert ZeroAddress();
        game = game_;
        emit GameSet(game_);
    }

    // ---------------------------------------------------------------- round life cycle

    /// @notice Opens a round. Anyone may open one; the designated aggregator alone may post
    ///         its result.
    /// @param clients The clients in index order (1..=255, nonzero, distinct).
    /// @param dim The model dimension (1..=2^28).
    /// @param aggregator The designated aggregator (nonzero).
    /// @param commitPeriod Seconds from now during which clients may commit (at least 1).
    /// @return roundId The new round's id (from 1).
    function openRound(address[] calldata clients, uint32 dim, address aggregator, uint64 commitPeriod)
        external
        returns (uint256 roundId)
    {
        uint256 count = clients.length;
        if (count == 0 || count > Commitments.MAX_CLIENTS) revert InvalidClientCount(count);
        if (dim == 0 || dim > Commitments.MAX_DIM) revert InvalidDim(dim);
        if (aggregator == address(0)) revert ZeroAddress();
        if (commitPeriod == 0 || block.timestamp + commitPeriod > type(uint64).max) {
            revert InvalidCommitPeriod(commitPeriod);
        }
        // Checked just above: the sum fits 64 bits.
        // forge-lint: disable-next-line(unsafe-typecast)
        uint64 deadline = uint64(block.timestamp) + commitPeriod;
        _requireDistinct(clients);

        roundId = ++roundCount;
        Round storage r = _rounds[roundId];
        r.status = RoundStatus.Committing;
        r.aggregator = aggregator;
        r.dim = dim;
        r.commitDeadline = deadline;
        r.clients = clients;
        // At most 255 clients.
        // forge-lint: disable-next-line(unsafe-typecast)
        emit RoundOpened(roundId, aggregator, dim, uint32(count), deadline);
    }

    /// @notice Commits the caller's update: the root of its value-leaf tree and its weight.
    /// @param roundId The round.
    /// @param clientIndex The caller's index in the round's client list.
    /// @param updateRoot Root of the complete tree over the update's C value leaves (nonzero).
    /// @param weight The FedAvg weight (example count), at least 1.
    function commitUpdate(uint256 roundId, uint32 clientIndex, bytes32 updateRoot, uint32 weight) external {
        Round storage r = _round(roundId);
        if (r.status != RoundStatus.Committing) revert WrongRoundStatus(roundId, r.status);
        if (block.timestamp >= r.commitDeadline) revert CommitClosed(roundId, r.commitDeadline);
        if (clientIndex >= r.clients.length) revert InvalidClientIndex(clientIndex, r.clients.length);
        if (msg.sender != r.clients[clientIndex]) revert Unauthorized(msg.sender);
        Commitment storage c = r.commitments[clientIndex];
        if (c.root != bytes32(0)) revert AlreadyCommitted(roundId, clientIndex);
        if (updateRoot == bytes32(0)) revert ZeroUpdateRoot();
        if (weight == 0) revert ZeroWeight();
        c.root = updateRoot;
        c.weight = weight;
        ++r.committedCount;
        emit UpdateCommitted(roundId, clientIndex, msg.sender, updateRoot, weight);
    }

    /// @notice Posts the aggregated result with the aggregator bond. Allowed once every client
    ///         committed, or after the commit deadline with at least one commitment. Fixes the
    ///         participants (the committed clients in index order), n, W, the input root and
    ///         the config hash.
    /// @param roundId The round.
    /// @param outputRoot Root of the complete tree over the C output value leaves (nonzero).
    function postResult(uint256 roundId, bytes32 outputRoot) external payable {
        Round storage r = _round(roundId);
        if (r.status != RoundStatus.Committing) revert WrongRoundStatus(roundId, r.status);
        if (msg.sender != r.aggregator) revert Unauthorized(msg.sender);
        if (msg.value != aggregatorBond) revert WrongBond(msg.value, aggregatorBond);
        if (outputRoot == bytes32(0)) revert ZeroOutputRoot();
        uint256 clientCount = r.clients.length;
        uint256 n = r.committedCount;
        if (n < clientCount && block.timestamp < r.commitDeadline) {
            revert CommitPhaseOpen(roundId, r.commitDeadline);
        }
        if (n == 0) revert NoCommitments(roundId);

        bytes32[] memory leaves = new bytes32[](n);
        uint256 totalWeight;
        uint256 p;
        for (uint256 c; c < clientCount && p < n; ++c) {
            Commitment storage cm = r.commitments[c];
            bytes32 root = cm.root;
            if (root != bytes32(0)) {
                uint32 w = cm.weight;
                leaves[p++] = Commitments.participantLeafHash(root, w);
                totalWeight += w;
            }
        }
        if (totalWeight > type(uint32).max) revert TotalWeightTooLarge(totalWeight);
        bytes32 inputRoot = Commitments.rootOf(leaves);
        bytes32 configHash = Commitments.configHash(address(this), roundId, inputRoot, n, r.dim, totalWeight);

        r.status = RoundStatus.Posted;
        // n <= 255 and W < 2^32 (checked above); timestamps fit 64 bits.
        // forge-lint: disable-next-item(unsafe-typecast)
        (r.participants, r.totalWeight, r.postedAt) =
        (uint32(n), uint64(totalWeight), uint64(block.timestamp));
        r.inputRoot = inputRoot;
        r.configHash = configHash;
        r.outputRoot = outputRoot;
        emit ResultPosted(roundId, outputRoot, inputRoot, configHash, r.participants, r.totalWeight);
    }

    /// @notice Disputes the round's result with the challenger bond and opens a bisection game
    ///         over the whole program: h0 (zero register, empty output root) against hT (zero
    ///         register, posted output root), T = C·(n+1) steps.
    /// @param roundId The round.
    /// @return gameId The game opened in the game contract.
    function challenge(uint256 roundId) external payable returns (uint256 gameId) {
        Round storage r = _round(roundId);
        if (r.status != RoundStatus.Posted) revert WrongRoundStatus(roundId, r.status);
        address game_ = game;
        if (game_ == address(0)) revert GameNotSet();
        uint256 closesAt = uint256(r.postedAt) + challengeWindow;
        if (block.timestamp >= closesAt) revert ChallengeWindowClosed(roundId, closesAt);
        if (msg.value != challengerBond) revert WrongBond(msg.value, challengerBond);
        address aggregator = r.aggregator;
        if (msg.sender == aggregator) revert SelfChallenge();
        if (r.challenged[msg.sender]) revert AlreadyChallenged(roundId, msg.sender);

        r.challenged[msg.sender] = true;
        ++r.openGames;
        (bytes32 h0, bytes32 hT, uint64 t) = _endpoints(r);
        gameId = IBisectionGame(game_).open(roundId, aggregator, msg.sender, h0, hT, t);
        emit Challenged(roundId, gameId, msg.sender);
    }

    /// @notice Makes the round's result final once the challenge window has passed with no open
    ///         game, and credits the aggregator its bond back. Anyone may call it.
    /// @param roundId The round.
    function finalize(uint256 roundId) external {
        Round storage r = _round(roundId);
        if (r.status != RoundStatus.Posted) revert WrongRoundStatus(roundId, r.status);
        uint256 closesAt = uint256(r.postedAt) + challengeWindow;
        if (block.timestamp < closesAt) revert ChallengeWindowOpen(roundId, closesAt);
        if (r.openGames != 0) revert GamesOpen(roundId, r.openGames);
        r.status = RoundStatus.Finalized;
        emit RoundFinalized(roundId, r.outputRoot);
        _credit(r.aggregator, aggregatorBond);
    }

    /// @inheritdoc IRoundRegistry
    /// @dev The winner receives the loser's bond. A challenger win rejects a Posted round and
    ///      also returns the challenger's bond; once a round is Rejected, every other game of
    ///      it just returns its challenger's bond, whoever won.
    function resolveGame(
        uint256 gameId,
        uint256 roundId,
        address aggregator,
        address challenger,
        bool aggregatorWon
    ) external {
        if (msg.sender != game) revert Unauthorized(msg.sender);
        Round storage r = _round(roundId);
        --r.openGames;
        emit GameSettled(roundId, gameId, aggregatorWon);
        if (r.status == RoundStatus.Rejected) {
            _credit(challenger, challengerBond);
        } else if (aggregatorWon) {
            _credit(aggregator, challengerBond);
        } else {
            r.status = RoundStatus.Rejected;
            emit RoundRejected(roundId, gameId, challenger);
            _credit(challenger, challengerBond + aggregatorBond);
        }
    }

    /// @notice Pays out the caller's whole credit.
    function withdraw() external {
        uint256 amount = credit[msg.sender];
        if (amount == 0) revert NothingToWithdraw();
        credit[msg.sender] = 0;
        emit Withdrawn(msg.sender, amount);
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert WithdrawFailed(msg.sender, amount);
    }

    // ---------------------------------------------------------------- views

    /// @notice A round's public state.
    /// @param roundId The round.
    /// @return v The round (all zero with status None for an unknown id).
    function round(uint256 roundId) external view returns (RoundView memory v) {
        Round storage r = _rounds[roundId];
        v.status = r.status;
        v.aggregator = r.aggregator;
        v.dim = r.dim;
        // dim <= 2^28, so at most 2^23 chunks.
        // forge-lint: disable-next-line(unsafe-typecast)
        v.chunks = uint32(Commitments.chunkCount(r.dim));
        v.commitDeadline = r.commitDeadline;
        // At most 255 clients.
        // forge-lint: disable-next-line(unsafe-typecast)
        v.clientCount = uint32(r.clients.length);
        v.committedCount = r.committedCount;
        v.participants = r.participants;
        v.totalWeight = r.totalWeight;
        v.inputRoot = r.inputRoot;
        v.configHash = r.configHash;
        v.outputRoot = r.outputRoot;
        v.postedAt = r.postedAt;
        v.openGames = r.openGames;
    }

    /// @notice The round's client list, in index order.
    /// @param roundId The round.
    /// @return The clients.
    function clients(uint256 roundId) external view returns (address[] memory) {
        return _round(roundId).clients;
    }

    /// @notice A client's commitment (zero if it has not committed).
    /// @param roundId The round.
    /// @param clientIndex The client's index.
    /// @return root The update root.
    /// @return weight The weight.
    function commitment(uint256 roundId, uint32 clientIndex)
        external
        view
        returns (bytes32 root, uint32 weight)
    {
        Round storage r = _round(roundId);
        if (clientIndex >= r.clients.length) revert InvalidClientIndex(clientIndex, r.clients.length);
        Commitment storage c = r.commitments[clientIndex];
        return (c.root, c.weight);
    }

    /// @inheritdoc IRoundRegistry
    function stepContext(uint256 roundId)
        external
        view
        returns (bytes32 configHash, bytes32 inputRoot, uint32 n, uint32 dim, uint64 totalWeight)
    {
        Round storage r = _posted(roundId);
        return (r.configHash, r.inputRoot, r.participants, r.dim, r.totalWeight);
    }

    /// @notice h0: the commitment of state 0 (zero register, empty output root).
    /// @param roundId A round with a posted result.
    /// @return The commitment.
    function initialState(uint256 roundId) external view returns (bytes32) {
        (bytes32 h0,,) = _endpoints(_posted(roundId));
        return h0;
    }

    /// @notice hT: the aggregator's claimed final state (zero register, posted output root).
    /// @param roundId A round with a posted result.
    /// @return The commitment.
    function finalState(uint256 roundId) external view returns (bytes32) {
        (, bytes32 hT,) = _endpoints(_posted(roundId));
        return hT;
    }

    /// @notice T = C·(n+1): the number of steps of the round's program.
    /// @param roundId A round with a posted result.
    /// @return The step count.
    function steps(uint256 roundId) external view returns (uint64) {
        (,, uint64 t) = _endpoints(_posted(roundId));
        return t;
    }

    /// @notice Whether `challenger` already has a game for the round.
    /// @param roundId The round.
    /// @param challenger The account.
    /// @return Whether it challenged.
    function hasChallenged(uint256 roundId, address challenger) external view returns (bool) {
        return _rounds[roundId].challenged[challenger];
    }

    // ---------------------------------------------------------------- internals

    function _round(uint256 roundId) private view returns (Round storage r) {
        r = _rounds[roundId];
        if (r.status == RoundStatus.None) revert UnknownRound(roundId);
    }

    /// A round whose participants are fixed (Posted, Finalized or Rejected).
    function _posted(uint256 roundId) private view returns (Round storage r) {
        r = _round(roundId);
        if (r.status == RoundStatus.Committing) revert WrongRoundStatus(roundId, r.status);
    }

    function _endpoints(Round storage r) private view returns (bytes32 h0, bytes32 hT, uint64 t) {
        uint256 chunks = Commitments.chunkCount(r.dim);
        // C <= 2^23 and n + 1 <= 256: T < 2^31.
        // forge-lint: disable-next-line(unsafe-typecast)
        t = uint64(chunks * (uint256(r.participants) + 1));
        bytes32 config = r.configHash;
        h0 = Commitments.stateHash(
            config, 0, Commitments.ZERO_ACC_HASH, Commitments.emptyRoot(Commitments.depthFor(chunks))
        );
        hT = Commitments.stateHash(config, t, Commitments.ZERO_ACC_HASH, r.outputRoot);
    }

    function _credit(address account, uint256 amount) private {
        credit[account] += amount;
        emit Credited(account, amount);
    }

    /// Rejects zero and duplicate addresses with an open-addressing hash set in memory
    /// (512 slots for at most 255 keys): linear time instead of the quadratic pairwise check.
    function _requireDistinct(address[] calldata list) private pure {
        uint256[] memory table = new uint256[](512);
        for (uint256 k; k < list.length; ++k) {
            uint256 key = uint160(list[k]);
            if (key == 0) revert ZeroClient(k);
            uint256 slot = key & 511;
            while (true) {
                uint256 held = table[slot];
                if (held == 0) break;
                if (held == key) revert DuplicateClient(list[k]);
                slot = (slot + 1) & 511;
            }
            table[slot] = key;
        }
    }
}
