// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {Commitments} from "./lib/Commitments.sol";
import {TxGas} from "./lib/TxGas.sol";
import {IRoundRegistry} from "./interfaces/IRoundRegistry.sol";
import {IBisectionGame} from "./interfaces/IBisectionGame.sol";
import {ILeafArbiter} from "./interfaces/ILeafArbiter.sol";
import {IRuleProgram} from "./interfaces/IRuleProgram.sol";

/// @title RoundRegistry
/// @notice Federated-learning rounds through their whole life cycle (docs/ARCHITECTURE.md §3,
///         §6, §7): the client list and the rule, the clients' deposited update commitments,
///         data-availability challenges answered by revealing the data on chain, the
///         aggregator's bonded result bound to the inputs it was computed over, disputes, and
///         the distribution of every bond as pull payments.
/// @dev Phases of a round (all windows are deployment parameters):
///        commit        [open, closed)            closed = commit deadline, or the last commit
///        availability  [commit, closed + aw)     anyone may challenge a committed update
///        resolve       challenge + rw            anyone may reveal the challenged segments
///        post          [closed + aw + rw, + pw)  the set is frozen; the aggregator posts
///        challenge     [posted, posted + cw)     bonded bisection games
///      A round never posted by `closed + aw + rw + pw` expires; every deposit and bond stays
///      claimable. Ether accounting invariant: balance = Σ credit + burnt + held, where held is
///      every bond and deposit not yet credited or burnt.
contract RoundRegistry is IRoundRegistry {
    // ---------------------------------------------------------------- types

    /// @notice Life cycle of a round.
    enum RoundStatus {
        None,
        Committing,
        Posted,
        Finalized,
        Rejected,
        Expired
    }

    /// @notice How a game of a round stands, as far as its bonds are concerned.
    enum GameOutcome {
        None,
        Open,
        AggregatorWon,
        ChallengerWon,
        Paid
    }

    /// @notice Deployment parameters.
    struct Params {
        /// Bond the aggregator posts with a result.
        uint256 aggregatorBond;
        /// Bond a challenger posts per game.
        uint256 challengerBond;
        /// Deposit a client posts with its commitment, per data segment of the round's model.
        uint256 clientDeposit;
        /// Bond of an availability challenge, per data segment of the round's model.
        uint256 availabilityBond;
        /// Seconds after posting during which the result can be challenged.
        uint64 challengeWindow;
        /// Seconds after the commit phase during which updates can be challenged for availability.
        uint64 availabilityWindow;
        /// Seconds a challenged update has to be revealed, plus `revealTimePerSegment` per
        /// data segment of the round's model.
        uint64 resolveWindow;
        /// Seconds added to the resolve window per data segment, so that a large update can be
        /// revealed in time (a full segment is ~1.2M gas: about one per block is realistic).
        uint64 revealTimePerSegment;
        /// Seconds the aggregator has to post once the participant set is frozen.
        uint64 postWindow;
        /// Share of a slashed aggregator bond always burnt, in basis points (at most 10,000).
        uint16 burnBps;
    }

    /// @notice A client's commitment to its update.
    struct Commitment {
        bytes32 root;
        uint32 weight;
        bool depositReleased;
    }

    /// @notice An availability challenge of one client's update.
    struct Availability {
        address challenger;
        uint64 resolveBy;
        uint32 revealed;
        bool settled;
        uint256 bondLeft;
        uint256 challengeCost;
    }

    /// @notice A round as the `round` view returns it.
    struct RoundView {
        RoundStatus status;
        address aggregator;
        uint32 dim;
        uint32 chunks;
        uint32 segments;
        uint8 rule;
        bytes32 ruleParamsHash;
        uint64 commitDeadline;
        uint64 availabilityDeadline;
        uint64 postOpensAt;
        uint64 postDeadline;
        uint32 clientCount;
        uint32 committedCount;
        uint32 participants;
        uint64 totalWeight;
        bytes32 inputRoot;
        bytes32 configHash;
        bytes32 outputRoot;
        uint64 postedAt;
        uint32 openGames;
        bool settled;
    }

    /// @notice The bond-relevant record of one game.
    struct GameRecord {
        uint256 roundId;
        address challenger;
        uint256 cost;
        GameOutcome outcome;
    }

    struct Round {
        RoundStatus status;
        address aggregator;
        uint32 dim;
        uint32 committedCount;
        uint8 rule;
        uint64 commitDeadline;
        uint64 closedAt;
        uint64 postedAt;
        uint64 totalWeight;
        uint32 participants;
        uint32 openGames;
        uint32 unpaidWinners;
        bool settled;
        bytes32 ruleParamsHash;
        bytes32 inputRoot;
        bytes32 configHash;
        bytes32 outputRoot;
        bytes ruleParams;
        uint256 forfeited;
        uint256 pool;
        uint256 poolPaid;
        address[] clients;
        mapping(uint256 clientIndex => Commitment) commitments;
        mapping(uint256 clientIndex => Availability) availability;
        mapping(uint256 clientIndex => mapping(uint256 segment => bool)) revealed;
        mapping(address challenger => bool) challenged;
    }

    // ---------------------------------------------------------------- events

    /// @notice The game contract was set; `verifiersHash` binds the step verifiers' code.
    event GameSet(address indexed game, bytes32 verifiersHash);
    /// @notice A round was opened.
    event RoundOpened(
        uint256 indexed roundId,
        address indexed aggregator,
        uint32 dim,
        uint32 clientCount,
        uint64 commitDeadline,
        uint8 rule,
        bytes32 ruleParamsHash
    );
    /// @notice A client committed to its update.
    event UpdateCommitted(
        uint256 indexed roundId,
        uint32 indexed clientIndex,
        address indexed client,
        bytes32 updateRoot,
        uint32 weight
    );
    /// @notice A client's update was challenged for availability.
    event AvailabilityChallenged(
        uint256 indexed roundId, uint32 indexed clientIndex, address indexed challenger, uint64 resolveBy
    );
    /// @notice One segment of a challenged update was published: `values` are its big-endian
    ///         int32 values (the update's values of leaves [segment·L, ...), unpadded).
    event SegmentRevealed(
        uint256 indexed roundId, uint32 indexed clientIndex, uint32 segment, address revealer, bytes values
    );
    /// @notice Every segment of a challenged update is published; the client stays in.
    event AvailabilityResolved(uint256 indexed roundId, uint32 indexed clientIndex);
    /// @notice A challenged update was not published in time; the client is out of the round.
    event ClientExcluded(uint256 indexed roundId, uint32 indexed clientIndex, uint256 depositBurnt);
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
    /// @notice Every game of a rejected round has ended: `pool` pays the winners' costs,
    ///         `burnt` is gone.
    event RejectionSettled(uint256 indexed roundId, uint256 pool, uint256 burnt);
    /// @notice A winning challenger was paid its bond and `costPaid` of its metered cost.
    event GamePaid(uint256 indexed gameId, address indexed challenger, uint256 costPaid);
    /// @notice The round's result became final.
    event RoundFinalized(uint256 indexed roundId, bytes32 outputRoot);
    /// @notice The round was never posted in time.
    event RoundExpired(uint256 indexed roundId);
    /// @notice `amount` became withdrawable by `account`.
    event Credited(address indexed account, uint256 amount);
    /// @notice `amount` was burnt (locked in this contract for good).
    event Burnt(uint256 amount);
    /// @notice `account` withdrew `amount`.
    event Withdrawn(address indexed account, uint256 amount);

    // ---------------------------------------------------------------- errors

    /// @notice The caller may not do this.
    error Unauthorized(address caller);
    /// @notice A deployment parameter is out of range.
    error InvalidParams(string field);
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
    /// @notice Unknown aggregation rule (raised by the arbiter's program table).
    error UnknownRule(uint8 rule);
    /// @notice The rule's parameters are invalid (too long here, or refused by the rule's
    ///         program); `reason` names the parameter and the bound.
    error InvalidRuleParams(uint8 rule, string reason);
    /// @notice No such round.
    error UnknownRound(uint256 roundId);
    /// @notice The round is not in the status this action needs.
    error WrongRoundStatus(uint256 roundId, RoundStatus status);
    /// @notice The client index is not below the client count.
    error InvalidClientIndex(uint32 clientIndex, uint256 clientCount);
    /// @notice The commit phase is over.
    error CommitClosed(uint256 roundId, uint64 closedAt);
    /// @notice This client already committed.
    error AlreadyCommitted(uint256 roundId, uint32 clientIndex);
    /// @notice This client has not committed.
    error NotCommitted(uint256 roundId, uint32 clientIndex);
    /// @notice Update roots must be nonzero.
    error ZeroUpdateRoot();
    /// @notice Weights must be in 1..=MAX_WEIGHT.
    error InvalidWeight(uint32 weight, uint32 max);
    /// @notice Output roots must be nonzero.
    error ZeroOutputRoot();
    /// @notice The sent value is not the required bond or deposit.
    error WrongBond(uint256 sent, uint256 required);
    /// @notice The availability phase is over.
    error AvailabilityClosed(uint256 roundId, uint64 closedAt);
    /// @notice The availability phase (challenges and reveals) is still running.
    error AvailabilityOpen(uint256 roundId, uint64 opensAt);
    /// @notice The client's update is already challenged.
    error AlreadyChallengedUpdate(uint256 roundId, uint32 clientIndex);
    /// @notice The client's update is not challenged.
    error NotChallenged(uint256 roundId, uint32 clientIndex);
    /// @notice The challenge's reveal window has closed.
    error RevealClosed(uint256 roundId, uint32 clientIndex, uint64 resolveBy);
    /// @notice The segment index is not below the segment count.
    error InvalidSegment(uint32 segment, uint256 segments);
    /// @notice The segment is already revealed.
    error AlreadyRevealed(uint256 roundId, uint32 clientIndex, uint32 segment);
    /// @notice A byte field has the wrong length.
    error BadLength(string field, uint256 expected, uint256 actual);
    /// @notice The revealed segment does not open the committed update root.
    error BadReveal(bytes32 expectedRoot, bytes32 actualRoot);
    /// @notice The client's challenge was answered, or it was already settled.
    error NothingToSettle(uint256 roundId, uint32 clientIndex);
    /// @notice The client's deposit was released already, or the client is excluded.
    error DepositNotReleasable(uint256 roundId, uint32 clientIndex);
    /// @notice The round's post deadline has passed.
    error PostClosed(uint256 roundId, uint64 postDeadline);
    /// @notice The round's post deadline has not passed.
    error PostOpen(uint256 roundId, uint64 postDeadline);
    /// @notice No committed update survived the availability phase.
    error NoParticipants(uint256 roundId);
    /// @notice The posted config hash is not the one of the round's frozen inputs.
    error ConfigMismatch(bytes32 posted, bytes32 actual);
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
    /// @notice The game has no payout to claim (not won by its challenger, already paid, or
    ///         its round not settled yet).
    error NothingToClaim(uint256 gameId);
    /// @notice Nothing to withdraw.
    error NothingToWithdraw();
    /// @notice The payout call failed.
    error WithdrawFailed(address account, uint256 amount);

    // ---------------------------------------------------------------- constants

    /// @notice Largest weight a client may commit: 255 · MAX_WEIGHT = 2^32 - 1, so no set of
    ///         participants can overflow W.
    uint32 public constant MAX_WEIGHT = 16_843_009;
    /// @notice Rule 0: weighted FedAvg (no parameters). Rules are the arbiter's programs
    ///         (the deployment's: 0 FedAvg, 1 Median, 2 TrimmedMean).
    uint8 public constant RULE_FEDAVG = 0;
    /// @notice Longest rule parameters a round may have (stored with the round).
    uint256 public constant MAX_RULE_PARAMS_BYTES = 256;
    /// @notice Gas of the first write of a storage slot not touched before in the transaction
    ///         (EIP-2929 cold access + EIP-2200 zero to nonzero): the write of a metered cost
    ///         into a fresh record, which happens after the measurement.
    uint256 private constant FRESH_STORE_GAS = 22_100;
    /// @notice An emitted `Credited` event (LOG2 with one data word, memory included); a
    ///         lower bound.
    uint256 private constant CREDIT_LOG_GAS = 1_400;
    /// @notice Canonical calldata of a call with one static argument (selector + a word).
    uint256 private constant CALL_1_ARG = 36;
    /// @notice Canonical calldata of a call with two static arguments.
    uint256 private constant CALL_2_ARGS = 68;

    // ---------------------------------------------------------------- state

    /// @notice Bond the aggregator posts with a result.
    uint256 public immutable aggregatorBond;
    /// @notice Bond a challenger posts per game.
    uint256 public immutable challengerBond;
    /// @notice Client deposit per data segment.
    uint256 public immutable clientDeposit;
    /// @notice Availability-challenge bond per data segment.
    uint256 public immutable availabilityBond;
    /// @notice Seconds after posting during which the result can be challenged.
    uint64 public immutable challengeWindow;
    /// @notice Seconds after the commit phase during which updates can be challenged.
    uint64 public immutable availabilityWindow;
    /// @notice Seconds a challenged update has to be revealed.
    uint64 public immutable resolveWindow;
    /// @notice Seconds added to the resolve window per data segment.
    uint64 public immutable revealTimePerSegment;
    /// @notice Seconds the aggregator has to post once the participant set is frozen.
    uint64 public immutable postWindow;
    /// @notice Share of a slashed aggregator bond always burnt (basis points).
    uint16 public immutable burnBps;
    /// @notice The account allowed to set the game contract (once).
    address public immutable deployer;

    /// @notice The bisection game contract.
    address public game;
    /// @notice The game's leaf arbiter, read at `setGame`: its program table defines the rules.
    address public arbiter;
    /// @notice keccak(abi.encodePacked(codehash of each step kind's verifier, in kind order)):
    ///         binds the verifying keys (`LeafArbiter.stepVerifiersHash`).
    bytes32 public verifiersHash;
    /// @notice Number of rounds opened; round ids are 1..=roundCount.
    uint256 public roundCount;
    /// @notice Withdrawable balance per account.
    mapping(address account => uint256 amount) public credit;
    /// @notice Ether burnt so far (kept here, withdrawable by nobody).
    uint256 public burnt;

    mapping(uint256 roundId => Round) private _rounds;
    mapping(uint256 gameId => GameRecord) private _games;

    /// @param p The deployment parameters.
    constructor(Params memory p) {
        if (p.aggregatorBond == 0) revert InvalidParams("aggregatorBond");
        if (p.challengerBond == 0) revert InvalidParams("challengerBond");
        if (p.availabilityBond == 0) revert InvalidParams("availabilityBond");
        if (p.challengeWindow == 0) revert InvalidParams("challengeWindow");
        if (p.availabilityWindow == 0) revert InvalidParams("availabilityWindow");
        if (p.resolveWindow == 0) revert InvalidParams("resolveWindow");
        if (p.postWindow == 0) revert InvalidParams("postWindow");
        if (p.burnBps > 10_000) revert InvalidParams("burnBps");
        aggregatorBond = p.aggregatorBond;
        challengerBond = p.challengerBond;
        clientDeposit = p.clientDeposit;
        availabilityBond = p.availabilityBond;
        challengeWindow = p.challengeWindow;
        availabilityWindow = p.availabilityWindow;
        resolveWindow = p.resolveWindow;
        revealTimePerSegment = p.revealTimePerSegment;
        postWindow = p.postWindow;
        burnBps = p.burnBps;
        deployer = msg.sender;
    }

    // ---------------------------------------------------------------- setup

    /// @notice Sets the bisection game contract; deployer only, once. The game is deployed
    ///         after the registry because it needs the registry's address. Keeps the game's
    ///         arbiter (whose programs define the rules) and reads the step verifiers'
    ///         binding from it.
    /// @param game_ The game contract.
    function setGame(address game_) external {
        if (msg.sender != deployer) revert Unauthorized(msg.sender);
        if (game != address(0)) revert GameAlreadySet();
        if (game_ == address(0)) revert ZeroAddress();
        game = game_;
        address arbiter_ = IBisectionGame(game_).arbiter();
        arbiter = arbiter_;
        bytes32 vh = ILeafArbiter(arbiter_).stepVerifiersHash();
        verifiersHash = vh;
        emit GameSet(game_, vh);
    }

    // ---------------------------------------------------------------- commit phase

    /// @notice Opens a round. Anyone may open one; the designated aggregator alone may post
    ///         its result.
    /// @param clients The clients in index order (1..=255, nonzero, distinct).
    /// @param dim The model dimension (1..=2^28).
    /// @param aggregator The designated aggregator (nonzero).
    /// @param commitPeriod Seconds from now during which clients may commit (at least 1).
    /// @param rule The aggregation rule: a rule id of the arbiter's program table
    ///        (`RULE_FEDAVG` = 0).
    /// @param ruleParams The rule's ABI-encoded parameters (at most `MAX_RULE_PARAMS_BYTES`;
    ///        empty for FedAvg), checked by the rule's program against the client count.
    /// @return roundId The new round's id (from 1).
    function openRound(
        address[] calldata clients,
        uint32 dim,
        address aggregator,
        uint64 commitPeriod,
        uint8 rule,
        bytes calldata ruleParams
    ) external returns (uint256 roundId) {
        uint256 count = clients.length;
        if (count == 0 || count > Commitments.MAX_CLIENTS) revert InvalidClientCount(count);
        if (dim == 0 || dim > Commitments.MAX_DIM) revert InvalidDim(dim);
        if (aggregator == address(0)) revert ZeroAddress();
        // The config hash binds the step verifiers, read from the game's arbiter at setGame.
        if (game == address(0)) revert GameNotSet();
        if (commitPeriod == 0 || commitPeriod > type(uint64).max - block.timestamp) {
            revert InvalidCommitPeriod(commitPeriod);
        }
        // Reverts UnknownRule past the arbiter's program table.
        IRuleProgram program = ILeafArbiter(arbiter).program(rule);
        if (ruleParams.length > MAX_RULE_PARAMS_BYTES) {
            revert InvalidRuleParams(rule, "params longer than 256 bytes");
        }
        // The participants are not known yet: the program validates against the client count.
        program.validate(ruleParams, count, dim);
        _requireDistinct(clients);

        roundId = ++roundCount;
        Round storage r = _rounds[roundId];
        r.status = RoundStatus.Committing;
        r.aggregator = aggregator;
        r.dim = dim;
        r.rule = rule;
        r.ruleParamsHash = keccak256(ruleParams);
        if (ruleParams.length != 0) r.ruleParams = ruleParams;
        // Checked above: no overflow.
        // forge-lint: disable-next-line(unsafe-typecast)
        r.commitDeadline = uint64(block.timestamp) + commitPeriod;
        r.clients = clients;
        // count <= 255.
        // forge-lint: disable-next-line(unsafe-typecast)
        emit RoundOpened(roundId, aggregator, dim, uint32(count), r.commitDeadline, rule, r.ruleParamsHash);
    }

    /// @notice Commits the caller's update: the root of its value-leaf tree and its weight,
    ///         with the client deposit (`clientDeposit` per data segment).
    /// @param roundId The round.
    /// @param clientIndex The caller's index in the round's client list.
    /// @param updateRoot Root of the complete tree over the update's C value leaves (nonzero).
    /// @param weight The FedAvg weight (example count), 1..=MAX_WEIGHT.
    function commitUpdate(uint256 roundId, uint32 clientIndex, bytes32 updateRoot, uint32 weight)
        external
        payable
    {
        Round storage r = _round(roundId);
        if (r.status != RoundStatus.Committing) revert WrongRoundStatus(roundId, r.status);
        uint64 closed = _closedAt(r);
        if (block.timestamp >= closed) revert CommitClosed(roundId, closed);
        uint256 clientCount = r.clients.length;
        if (clientIndex >= clientCount) revert InvalidClientIndex(clientIndex, clientCount);
        if (msg.sender != r.clients[clientIndex]) revert Unauthorized(msg.sender);
        Commitment storage c = r.commitments[clientIndex];
        if (c.root != bytes32(0)) revert AlreadyCommitted(roundId, clientIndex);
        if (updateRoot == bytes32(0)) revert ZeroUpdateRoot();
        if (weight == 0 || weight > MAX_WEIGHT) revert InvalidWeight(weight, MAX_WEIGHT);
        uint256 deposit = depositFor(r.dim);
        if (msg.value != deposit) revert WrongBond(msg.value, deposit);
        c.root = updateRoot;
        c.weight = weight;
        uint32 committed = ++r.committedCount;
        // The last commit closes the commit phase early: nothing can change the set after it.
        // forge-lint: disable-next-line(unsafe-typecast)
        if (committed == clientCount) r.closedAt = uint64(block.timestamp);
        emit UpdateCommitted(roundId, clientIndex, msg.sender, updateRoot, weight);
    }

    // ---------------------------------------------------------------- availability phase

    /// @notice Challenges the availability of a committed update, with `availabilityBond` per
    ///         data segment. Unless every segment is revealed within the round's resolve window
    ///         (`resolveWindowFor(dim)`), the client
    ///         is excluded from the round. Anyone may challenge, once per update.
    /// @param roundId The round.
    /// @param clientIndex The challenged client.
    function challengeAvailability(uint256 roundId, uint32 clientIndex) external payable {
        uint256 gasAtEntry = gasleft();
        Round storage r = _round(roundId);
        if (r.status != RoundStatus.Committing) revert WrongRoundStatus(roundId, r.status);
        uint64 deadline = _availabilityDeadline(r);
        if (block.timestamp >= deadline) revert AvailabilityClosed(roundId, deadline);
        if (clientIndex >= r.clients.length) revert InvalidClientIndex(clientIndex, r.clients.length);
        if (r.commitments[clientIndex].root == bytes32(0)) revert NotCommitted(roundId, clientIndex);
        Availability storage a = r.availability[clientIndex];
        if (a.challenger != address(0)) revert AlreadyChallengedUpdate(roundId, clientIndex);
        uint256 bond = availabilityBondFor(r.dim);
        if (msg.value != bond) revert WrongBond(msg.value, bond);
        a.challenger = msg.sender;
        // forge-lint: disable-next-line(unsafe-typecast)
        uint64 resolveBy = uint64(block.timestamp) + resolveWindowFor(r.dim);
        a.resolveBy = resolveBy;
        a.bondLeft = bond;
        emit AvailabilityChallenged(roundId, clientIndex, msg.sender, resolveBy);
        if (block.basefee != 0) {
            a.challengeCost = TxGas.baseFeeCost(gasAtEntry, FRESH_STORE_GAS, CALL_2_ARGS);
        }
    }

    /// @notice Publishes one segment of a challenged update. Anyone holding the data may do it;
    ///         the revealer's base-fee cost is refunded from the challenger's bond, and once the
    ///         last segment is out the rest of the bond returns to the challenger.
    /// @param roundId The round.
    /// @param clientIndex The challenged client.
    /// @param segment The segment (leaves [segment·L, (segment+1)·L) of the update tree, L =
    ///        min(256, 2^depth)).
    /// @param values The segment's values as big-endian int32, unpadded: exactly the update's
    ///        values of those leaves (fewer in the last segment).
    /// @param path Sibling hashes from the segment's subtree root up to the update root.
    function revealSegment(
        uint256 roundId,
        uint32 clientIndex,
        uint32 segment,
        bytes calldata values,
        bytes32[] calldata path
    ) external {
        uint256 gasAtEntry = gasleft();
        Round storage r = _round(roundId);
        if (r.status != RoundStatus.Committing) revert WrongRoundStatus(roundId, r.status);
        if (clientIndex >= r.clients.length) revert InvalidClientIndex(clientIndex, r.clients.length);
        Availability storage a = r.availability[clientIndex];
        if (a.challenger == address(0)) revert NotChallenged(roundId, clientIndex);
        if (block.timestamp >= a.resolveBy) revert RevealClosed(roundId, clientIndex, a.resolveBy);
        uint256 segments = _checkReveal(r, roundId, clientIndex, segment, values, path);
        r.revealed[clientIndex][segment] = true;
        uint32 revealed = ++a.revealed;
        emit SegmentRevealed(roundId, clientIndex, segment, msg.sender, values);
        // The canonical encoding: selector, five head words, then `values` and `path`.
        uint256 calldataLength = 4 + 5 * 32 + TxGas.abiBytes(values.length) + 32 + 32 * path.length;
        _payReveal(roundId, clientIndex, a, revealed == segments, gasAtEntry, calldataLength);
    }

    /// Checks a reveal against the layout and the committed root; returns the segment count.
    function _checkReveal(
        Round storage r,
        uint256 roundId,
        uint32 clientIndex,
        uint32 segment,
        bytes calldata values,
        bytes32[] calldata path
    ) private view returns (uint256 segments) {
        segments = Commitments.segmentCount(r.dim);
        if (segment >= segments) revert InvalidSegment(segment, segments);
        if (r.revealed[clientIndex][segment]) revert AlreadyRevealed(roundId, clientIndex, segment);
        (uint256 width,, uint256 leaves, uint256 valueBytes, uint256 pathLength) =
            Commitments.segmentLayout(r.dim, segment);
        if (values.length != valueBytes) revert BadLength("values", valueBytes, values.length);
        if (path.length != pathLength) revert BadLength("path", pathLength, path.length);
        bytes32 root = Commitments.segmentRoot(width, leaves, segment, values, path);
        bytes32 committed = r.commitments[clientIndex].root;
        if (root != committed) revert BadReveal(committed, root);
    }

    /// Refunds the revealer's metered cost from the challenger's bond; the last segment
    /// returns the rest of the bond to the challenger. Every write but the revealer's credit
    /// happens before the measurement; that one is priced exactly.
    function _payReveal(
        uint256 roundId,
        uint32 clientIndex,
        Availability storage a,
        bool last,
        uint256 gasAtEntry,
        uint256 calldataLength
    ) private {
        uint256 left = a.bondLeft;
        if (last) {
            a.settled = true;
            emit AvailabilityResolved(roundId, clientIndex);
        }
        // Still to run after the measurement: the bond write, the revealer's credit, and the
        // challenger's credit after the last segment, each with its event.
        uint256 prevCredit = credit[msg.sender];
        uint256 tail = 2_900 + TxGas.warmStoreGas(prevCredit, prevCredit + 1) + CREDIT_LOG_GAS;
        if (last) {
            uint256 challengerCredit = credit[a.challenger];
            tail += TxGas.warmStoreGas(challengerCredit, challengerCredit + 1) + CREDIT_LOG_GAS;
        }
        uint256 refund = TxGas.baseFeeCost(gasAtEntry, tail, calldataLength);
        if (refund > left) refund = left;
        left -= refund;
        // Stored before the credits: the remainder once the last segment is out, for the record.
        a.bondLeft = left;
        if (last && left != 0) _credit(a.challenger, left);
        if (refund != 0) _credit(msg.sender, refund);
    }

    /// @notice Settles a challenge that was not answered in time, once the availability phase
    ///         is over: the client is out of the round; the challenger gets the rest of its
    ///         bond back and, from the client's deposit, its challenge's base-fee cost and
    ///         whatever its bond paid to partial revealers; the rest of the deposit is burnt.
    ///         Anyone may call it.
    /// @param roundId The round.
    /// @param clientIndex The excluded client.
    function settleAvailability(uint256 roundId, uint32 clientIndex) external {
        uint256 gasAtEntry = gasleft();
        Round storage r = _round(roundId);
        _requireAvailabilityOver(roundId, r);
        if (clientIndex >= r.clients.length) revert InvalidClientIndex(clientIndex, r.clients.length);
        Availability storage a = r.availability[clientIndex];
        if (a.challenger == address(0) || a.settled) revert NothingToSettle(roundId, clientIndex);
        a.settled = true;
        r.commitments[clientIndex].depositReleased = true;
        uint256 deposit = depositFor(r.dim);
        // What the challenger is owed: its challenge's cost, what its bond paid to partial
        // revealers, and this settlement's cost when it sends it.
        uint256 owed = a.challengeCost + (availabilityBondFor(r.dim) - a.bondLeft);
        if (msg.sender == a.challenger) {
            // Still to run: the exclusion event, the credit and its event, and the burn (slot
            // and event) unless the deposit is used up before this settlement's own cost.
            uint256 prevCredit = credit[a.challenger];
            uint256 tail = TxGas.warmStoreGas(prevCredit, prevCredit + 1) + 2 * CREDIT_LOG_GAS;
            if (owed < deposit) {
                uint256 prevBurnt = burnt;
                tail += TxGas.warmStoreGas(prevBurnt, prevBurnt + 1) + CREDIT_LOG_GAS;
            }
            owed += TxGas.baseFeeCost(gasAtEntry, tail, CALL_2_ARGS);
        }
        uint256 compensation = owed < deposit ? owed : deposit;
        uint256 burn = deposit - compensation;
        emit ClientExcluded(roundId, clientIndex, burn);
        _burn(burn);
        _credit(a.challenger, a.bondLeft + compensation);
    }

    /// @notice Returns a client's deposit once the availability phase is over and its update
    ///         stayed in (never challenged, or fully revealed). Anyone may call it.
    /// @param roundId The round.
    /// @param clientIndex The client.
    function releaseDeposit(uint256 roundId, uint32 clientIndex) external {
        Round storage r = _round(roundId);
        _requireAvailabilityOver(roundId, r);
        if (clientIndex >= r.clients.length) revert InvalidClientIndex(clientIndex, r.clients.length);
        Commitment storage c = r.commitments[clientIndex];
        uint256 segments = Commitments.segmentCount(r.dim);
        if (c.root == bytes32(0) || c.depositReleased || _excluded(r, clientIndex, segments)) {
            revert DepositNotReleasable(roundId, clientIndex);
        }
        c.depositReleased = true;
        _credit(r.clients[clientIndex], depositFor(r.dim));
    }

    // ---------------------------------------------------------------- post phase

    /// @notice Posts the aggregated result with the aggregator bond, once the availability
    ///         phase is over and before the post deadline. The participants are the committed
    ///         clients whose updates stayed in, in index order; the post names the config hash
    ///         it was computed over and reverts unless it is the round's (a race or a reorg
    ///         turns into a revert, never into a slashable claim).
    /// @param roundId The round.
    /// @param outputRoot Root of the complete tree over the C output value leaves (nonzero).
    /// @param expectedConfigHash The config hash of the inputs the result was computed over.
    function postResult(uint256 roundId, bytes32 outputRoot, bytes32 expectedConfigHash) external payable {
        Round storage r = _round(roundId);
        if (r.status != RoundStatus.Committing) revert WrongRoundStatus(roundId, r.status);
        if (msg.sender != r.aggregator) revert Unauthorized(msg.sender);
        if (msg.value != aggregatorBond) revert WrongBond(msg.value, aggregatorBond);
        if (outputRoot == bytes32(0)) revert ZeroOutputRoot();
        _requireAvailabilityOver(roundId, r);
        uint64 postDeadline = _postDeadline(r);
        if (block.timestamp >= postDeadline) revert PostClosed(roundId, postDeadline);

        (bytes32 inputRoot, uint256 n, uint256 totalWeight) = _participantSet(r);
        if (n == 0) revert NoParticipants(roundId);
        bytes32 configHash = _configHash(roundId, r, inputRoot, n, totalWeight);
        if (configHash != expectedConfigHash) revert ConfigMismatch(expectedConfigHash, configHash);

        r.status = RoundStatus.Posted;
        // n <= 255 and W <= 255 · MAX_WEIGHT = 2^32 - 1; timestamps fit 64 bits.
        // forge-lint: disable-next-item(unsafe-typecast)
        (r.participants, r.totalWeight, r.postedAt) =
        (uint32(n), uint64(totalWeight), uint64(block.timestamp));
        r.inputRoot = inputRoot;
        r.configHash = configHash;
        r.outputRoot = outputRoot;
        emit ResultPosted(roundId, outputRoot, inputRoot, configHash, r.participants, r.totalWeight);
    }

    /// @notice Ends a round whose aggregator did not post by the post deadline. Anyone may call
    ///         it. Deposits and availability bonds stay claimable as for any round.
    /// @param roundId The round.
    function expireRound(uint256 roundId) external {
        Round storage r = _round(roundId);
        if (r.status != RoundStatus.Committing) revert WrongRoundStatus(roundId, r.status);
        uint64 postDeadline = _postDeadline(r);
        if (block.timestamp < postDeadline) revert PostOpen(roundId, postDeadline);
        r.status = RoundStatus.Expired;
        emit RoundExpired(roundId);
    }

    // ---------------------------------------------------------------- challenge phase

    /// @notice Disputes the round's result with the challenger bond and opens a bisection game
    ///         over the whole program of the round's rule: h0 against hT (derived from the
    ///         posted output root), T steps, all three from the rule's program.
    /// @param roundId The round.
    /// @return gameId The game opened in the game contract.
    function challenge(uint256 roundId) external payable returns (uint256 gameId) {
        uint256 gasAtEntry = gasleft();
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
        GameRecord storage g = _games[gameId];
        g.roundId = roundId;
        g.challenger = msg.sender;
        g.outcome = GameOutcome.Open;
        emit Challenged(roundId, gameId, msg.sender);
        if (block.basefee != 0) g.cost = TxGas.baseFeeCost(gasAtEntry, FRESH_STORE_GAS, CALL_1_ARG);
    }

    /// @notice Makes the round's result final once the challenge window has passed with no open
    ///         game, and credits the aggregator its bond back plus the bonds of the challengers
    ///         it beat. Anyone may call it.
    /// @param roundId The round.
    function finalize(uint256 roundId) external {
        Round storage r = _round(roundId);
        if (r.status != RoundStatus.Posted) revert WrongRoundStatus(roundId, r.status);
        uint256 closesAt = uint256(r.postedAt) + challengeWindow;
        if (block.timestamp < closesAt) revert ChallengeWindowOpen(roundId, closesAt);
        if (r.openGames != 0) revert GamesOpen(roundId, r.openGames);
        r.status = RoundStatus.Finalized;
        r.settled = true;
        emit RoundFinalized(roundId, r.outputRoot);
        uint256 forfeited = r.forfeited;
        r.forfeited = 0;
        _credit(r.aggregator, aggregatorBond + forfeited);
    }

    /// @inheritdoc IRoundRegistry
    /// @dev No bond moves here. A losing challenger's bond is held: the aggregator gets it if
    ///      the round finalises; it is burnt if the round is rejected, so a slashed aggregator
    ///      profits from no game. A challenger win rejects a posted round; the games still open
    ///      play on, and the slashed bond is split once they have all ended (`claimGame`).
    function resolveGame(
        uint256 gameId,
        uint256 roundId,
        address, /* aggregator */
        address challenger,
        bool aggregatorWon
    )
        external
    {
        if (msg.sender != game) revert Unauthorized(msg.sender);
        Round storage r = _round(roundId);
        GameRecord storage g = _games[gameId];
        --r.openGames;
        emit GameSettled(roundId, gameId, aggregatorWon);
        if (aggregatorWon) {
            g.outcome = GameOutcome.AggregatorWon;
            r.forfeited += challengerBond;
        } else {
            g.outcome = GameOutcome.ChallengerWon;
            ++r.unpaidWinners;
            if (r.status == RoundStatus.Posted) {
                r.status = RoundStatus.Rejected;
                emit RoundRejected(roundId, gameId, challenger);
            }
        }
    }

    /// @notice Pays a challenger that won its game of a rejected round, once every game of the
    ///         round has ended: its bond back plus its metered cost (the challenge, its own
    ///         moves, and this claim when it sends it), from the part of the slashed bond not
    ///         burnt, while that pool lasts. The first claim settles the round: `burnBps` of the
    ///         slashed bond and every losing challenger's bond are burnt; the last claim burns
    ///         what is left of the pool. Anyone may call it.
    /// @param gameId The game.
    function claimGame(uint256 gameId) external {
        uint256 gasAtEntry = gasleft();
        GameRecord storage g = _games[gameId];
        if (g.outcome != GameOutcome.ChallengerWon) revert NothingToClaim(gameId);
        uint256 roundId = g.roundId;
        Round storage r = _rounds[roundId];
        if (r.openGames != 0) revert GamesOpen(roundId, r.openGames);
        // Settling burns, and a slot written twice in one transaction costs only 100 gas
        // the second time: remember that for the final burn's price below.
        bool settlesNow = !r.settled;
        if (settlesNow) _settleRejected(roundId, r);
        g.outcome = GameOutcome.Paid;
        address challenger = g.challenger;
        uint256 cost = g.cost + IBisectionGame(game).challengerCost(gameId);
        bool last = --r.unpaidWinners == 0;
        uint256 paidBefore = r.poolPaid;
        uint256 available = r.pool - paidBefore;
        if (msg.sender == challenger) {
            // Still to run after the measurement: the pool write, the GamePaid event, the
            // final burn (slot and event) when this is the last claim, the credit and its
            // event. No write here clears a slot, so no refund lowers the real cost.
            uint256 prevCredit = credit[challenger];
            uint256 tail = TxGas.warmStoreGas(paidBefore, paidBefore + 1)
                + TxGas.warmStoreGas(prevCredit, prevCredit + 1) + 2 * CREDIT_LOG_GAS;
            // The final burn happens unless the pool is used up before this claim's own cost.
            if (last && cost < available) {
                uint256 prevBurnt = burnt;
                tail += (settlesNow ? 100 : TxGas.warmStoreGas(prevBurnt, prevBurnt + 1)) + CREDIT_LOG_GAS;
            }
            cost += TxGas.baseFeeCost(gasAtEntry, tail, CALL_1_ARG);
        }
        uint256 paid = cost < available ? cost : available;
        if (paid != 0) r.poolPaid = paidBefore + paid;
        emit GamePaid(gameId, challenger, paid);
        if (last) _burn(available - paid);
        _credit(challenger, challengerBond + paid);
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
        // forge-lint: disable-next-item(unsafe-typecast)
        v.chunks = uint32(Commitments.chunkCount(r.dim));
        v.segments = uint32(Commitments.segmentCount(r.dim));
        v.rule = r.rule;
        v.ruleParamsHash = r.ruleParamsHash;
        v.commitDeadline = r.commitDeadline;
        if (r.status != RoundStatus.None) {
            v.availabilityDeadline = _availabilityDeadline(r);
            v.postOpensAt = v.availabilityDeadline + resolveWindowFor(r.dim);
            v.postDeadline = v.postOpensAt + postWindow;
        }
        // At most 255 clients.
        v.clientCount = uint32(r.clients.length);
        v.committedCount = r.committedCount;
        v.participants = r.participants;
        v.totalWeight = r.totalWeight;
        v.inputRoot = r.inputRoot;
        v.configHash = r.configHash;
        v.outputRoot = r.outputRoot;
        v.postedAt = r.postedAt;
        v.openGames = r.openGames;
        v.settled = r.settled;
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

    /// @notice A client's availability challenge (zero challenger if none) and whether the
    ///         client is, or will be once the phase ends, excluded.
    /// @param roundId The round.
    /// @param clientIndex The client's index.
    /// @return a The challenge.
    /// @return excluded Challenged and not every segment revealed.
    function availability(uint256 roundId, uint32 clientIndex)
        external
        view
        returns (Availability memory a, bool excluded)
    {
        Round storage r = _round(roundId);
        if (clientIndex >= r.clients.length) revert InvalidClientIndex(clientIndex, r.clients.length);
        return (r.availability[clientIndex], _excluded(r, clientIndex, Commitments.segmentCount(r.dim)));
    }

    /// @notice Whether a segment of a client's update has been revealed.
    /// @param roundId The round.
    /// @param clientIndex The client's index.
    /// @param segment The segment.
    /// @return Whether it was revealed on chain.
    function isRevealed(uint256 roundId, uint32 clientIndex, uint32 segment) external view returns (bool) {
        return _rounds[roundId].revealed[clientIndex][segment];
    }

    /// @notice The bond record of a game.
    /// @param gameId The game.
    /// @return The record.
    function gameRecord(uint256 gameId) external view returns (GameRecord memory) {
        return _games[gameId];
    }

    /// @notice What a winning challenger of a rejected round whose games have all ended can
    ///         claim now, not counting the claim's own cost (0 if nothing).
    /// @param gameId The game.
    /// @return The bond plus the part of its metered cost the pool covers.
    function claimable(uint256 gameId) external view returns (uint256) {
        GameRecord storage g = _games[gameId];
        Round storage r = _rounds[g.roundId];
        if (g.outcome != GameOutcome.ChallengerWon || r.openGames != 0) return 0;
        uint256 pool = r.settled ? r.pool - r.poolPaid : aggregatorBond - (aggregatorBond * burnBps) / 10_000;
        uint256 cost = g.cost + IBisectionGame(game).challengerCost(gameId);
        return challengerBond + (cost < pool ? cost : pool);
    }

    /// @notice Seconds a challenged update of a round of `dim` values has to be revealed.
    /// @param dim The model dimension.
    /// @return `resolveWindow + revealTimePerSegment · segments(dim)`.
    function resolveWindowFor(uint256 dim) public view returns (uint64) {
        // segments <= 2^15 and both terms are uint64 parameters: the product fits in practice;
        // checked arithmetic reverts otherwise.
        // forge-lint: disable-next-line(unsafe-typecast)
        return resolveWindow + revealTimePerSegment * uint64(Commitments.segmentCount(dim));
    }

    /// @notice Deposit a client of a round of `dim` values posts.
    /// @param dim The model dimension.
    /// @return The deposit (wei).
    function depositFor(uint256 dim) public view returns (uint256) {
        return clientDeposit * Commitments.segmentCount(dim);
    }

    /// @notice Bond of an availability challenge in a round of `dim` values.
    /// @param dim The model dimension.
    /// @return The bond (wei).
    function availabilityBondFor(uint256 dim) public view returns (uint256) {
        return availabilityBond * Commitments.segmentCount(dim);
    }

    /// @notice What `postResult` would fix if called now: the config hash, input root, count
    ///         and total weight of the committed clients not excluded so far. Final once the
    ///         availability phase is over; before that, commits, challenges and reveals change it.
    /// @param roundId A round still in its commit or availability phase.
    /// @return configHash The config hash.
    /// @return inputRoot The input root.
    /// @return n The number of participants.
    /// @return totalWeight Their total weight.
    function pendingConfig(uint256 roundId)
        external
        view
        returns (bytes32 configHash, bytes32 inputRoot, uint32 n, uint64 totalWeight)
    {
        Round storage r = _round(roundId);
        if (r.status != RoundStatus.Committing) revert WrongRoundStatus(roundId, r.status);
        (bytes32 root, uint256 count, uint256 w) = _participantSet(r);
        // count <= 255, w <= 2^32 - 1.
        // forge-lint: disable-next-item(unsafe-typecast)
        return (_configHash(roundId, r, root, count, w), root, uint32(count), uint64(w));
    }

    /// @inheritdoc IRoundRegistry
    function stepContext(uint256 roundId) external view returns (ProgramContext memory c) {
        Round storage r = _posted(roundId);
        c.configHash = r.configHash;
        c.inputRoot = r.inputRoot;
        c.n = r.participants;
        c.dim = r.dim;
        c.totalWeight = r.totalWeight;
        c.rule = r.rule;
        c.ruleParams = _ruleParams(r);
    }

    /// @notice The round's rule parameters (empty for FedAvg); `ruleParamsHash` is their hash.
    /// @param roundId The round.
    /// @return The parameters.
    function ruleParams(uint256 roundId) external view returns (bytes memory) {
        return _ruleParams(_round(roundId));
    }

    /// @notice h0: the commitment of state 0, from the rule's program (FedAvg: zero register,
    ///         empty output root).
    /// @param roundId A round with a posted result.
    /// @return The commitment.
    function initialState(uint256 roundId) external view returns (bytes32) {
        (bytes32 h0,,) = _endpoints(_posted(roundId));
        return h0;
    }

    /// @notice hT: the aggregator's claimed final state, derived by the rule's program from the
    ///         posted output root (FedAvg: zero register, posted output root).
    /// @param roundId A round with a posted result.
    /// @return The commitment.
    function finalState(uint256 roundId) external view returns (bytes32) {
        (, bytes32 hT,) = _endpoints(_posted(roundId));
        return hT;
    }

    /// @notice T, the number of steps of the round's program (FedAvg: C·(n+1); Median and
    ///         TrimmedMean: C·(33n+1)).
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
        RoundStatus s = r.status;
        if (s == RoundStatus.Committing || s == RoundStatus.Expired) revert WrongRoundStatus(roundId, s);
    }

    function _closedAt(Round storage r) private view returns (uint64) {
        uint64 closed = r.closedAt;
        return closed != 0 ? closed : r.commitDeadline;
    }

    function _availabilityDeadline(Round storage r) private view returns (uint64) {
        return _closedAt(r) + availabilityWindow;
    }

    function _postDeadline(Round storage r) private view returns (uint64) {
        return _availabilityDeadline(r) + resolveWindowFor(r.dim) + postWindow;
    }

    /// Every challenge has been answered or has run out: the participant set is frozen.
    function _requireAvailabilityOver(uint256 roundId, Round storage r) private view {
        uint64 opensAt = _availabilityDeadline(r) + resolveWindowFor(r.dim);
        if (block.timestamp < opensAt) revert AvailabilityOpen(roundId, opensAt);
    }

    /// Challenged and not every one of the update's `segments` revealed (final once the
    /// availability phase is over). The caller computes `segments` once per round.
    function _excluded(Round storage r, uint256 clientIndex, uint256 segments) private view returns (bool) {
        Availability storage a = r.availability[clientIndex];
        return a.challenger != address(0) && a.revealed < segments;
    }

    /// The committed clients whose updates are not excluded, in index order: the input root
    /// over their participant leaves, their count and total weight.
    function _participantSet(Round storage r)
        private
        view
        returns (bytes32 inputRoot, uint256 n, uint256 totalWeight)
    {
        uint256 clientCount = r.clients.length;
        uint256 segments = Commitments.segmentCount(r.dim);
        bytes32[] memory leaves = new bytes32[](r.committedCount);
        for (uint256 c; c < clientCount; ++c) {
            Commitment storage cm = r.commitments[c];
            bytes32 root = cm.root;
            if (root != bytes32(0) && !_excluded(r, c, segments)) {
                uint32 w = cm.weight;
                leaves[n++] = Commitments.participantLeafHash(root, w);
                totalWeight += w;
            }
        }
        // Shrink the array in place to the participants (n <= committedCount).
        assembly ("memory-safe") {
            mstore(leaves, n)
        }
        inputRoot = Commitments.rootOf(leaves);
    }

    function _configHash(uint256 roundId, Round storage r, bytes32 inputRoot, uint256 n, uint256 totalWeight)
        private
        view
        returns (bytes32)
    {
        return Commitments.configHash(
            Commitments.ConfigInput({
                chainId: block.chainid,
                registry: address(this),
                roundId: roundId,
                rule: r.rule,
                ruleParamsHash: r.ruleParamsHash,
                verifiersHash: verifiersHash,
                inputRoot: inputRoot,
                participants: n,
                dim: r.dim,
                totalWeight: totalWeight
            })
        );
    }

    /// The round's rule parameters, in memory (one copy routine for every reader).
    function _ruleParams(Round storage r) private view returns (bytes memory) {
        return r.ruleParams;
    }

    /// h0, hT and T of a posted round, from its rule's program (validated at `openRound`, so
    /// it exists).
    function _endpoints(Round storage r) private view returns (bytes32 h0, bytes32 hT, uint64 t) {
        IRuleProgram program = ILeafArbiter(arbiter).program(r.rule);
        bytes memory params = _ruleParams(r);
        uint256 n = r.participants;
        uint256 dim = r.dim;
        bytes32 config = r.configHash;
        t = program.steps(params, n, dim);
        h0 = program.initialState(config, params, n, dim);
        hT = program.finalState(config, params, n, dim, r.outputRoot);
    }

    /// Splits the slashed bond once every game of a rejected round has ended: the burnt share
    /// and the losing challengers' bonds are burnt, the rest pays the winners' costs.
    function _settleRejected(uint256 roundId, Round storage r) private {
        uint256 bond = aggregatorBond;
        uint256 burn = (bond * burnBps) / 10_000;
        uint256 pool = bond - burn;
        // `forfeited` is left as it is (its bonds are burnt now; `settled` keeps it from being
        // counted again): clearing it would earn a refund the claim's metering would miss.
        burn += r.forfeited;
        r.pool = pool;
        r.settled = true;
        emit RejectionSettled(roundId, pool, burn);
        _burn(burn);
    }

    function _credit(address account, uint256 amount) private {
        credit[account] += amount;
        emit Credited(account, amount);
    }

    function _burn(uint256 amount) private {
        if (amount == 0) return;
        burnt += amount;
        emit Burnt(amount);
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
