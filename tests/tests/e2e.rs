//! The full flow on the in-process revm chain (and, when ANVIL_BIN is set, on Anvil), one
//! simulation scenario per test: deploy, open a round, commit with deposits, settle data
//! availability, aggregate, post bound to the inputs, re-execute, dispute, bisect, prove,
//! resolve, distribute bonds. Each protocol-hardening finding has a test named after it.

use alloy::primitives::U256;
use clap::Parser;
use contracts::{BASE_FEE, DeployParams};
use sim::{Outcome, ScenarioReport, SimArgs, parse_signed, run_with_prover};

const CLIENTS: &str = "4";
const DIM: &str = "200"; // 7 chunks, T = 7 * 5 = 35 steps
const STEPS: u64 = 35;
/// Gas an honest winner burns that no one refunds: its final `withdraw` (one per account,
/// batching any number of credits) and at most 2,500 gas of dispatch per metered transaction
/// (tests/tests/metering.rs), for up to 16 transactions.
const UNREFUNDED_GAS: i128 = 31_000 + 16 * 2_500;

/// The simulation's arguments for `scenarios` at this file's size, plus `extra` flags.
fn args(scenarios: &[&str], extra: &[&str]) -> SimArgs {
    let mut argv = vec!["sim", "--clients", CLIENTS, "--dim", DIM, "--json"];
    for s in scenarios {
        argv.extend(["--scenario", s]);
    }
    argv.extend_from_slice(extra);
    SimArgs::parse_from(argv)
}

async fn scenario(name: &str, extra: &[&str]) -> ScenarioReport {
    let mut report = run_with_prover(args(&[name], extra), fl_tests::prover(), 0.0)
        .await
        .expect("simulation runs");
    assert_eq!(report.scenarios.len(), 1);
    report.scenarios.remove(0)
}

fn wei(map: &std::collections::BTreeMap<String, String>, role: &str) -> i128 {
    parse_signed(
        map.get(role)
            .unwrap_or_else(|| panic!("no entry for {role}: {map:?}")),
    )
    .expect("signed decimal")
}

fn params() -> DeployParams {
    DeployParams::default()
}

fn as_i128(v: U256) -> i128 {
    i128::try_from(v).expect("fits i128")
}

fn assert_bounded_game(rep: &ScenarioReport, games: u32) {
    // 2 moves per halving plus the leaf proof, per game.
    let depth = u32::from(64 - u8::try_from((STEPS - 1).leading_zeros()).unwrap());
    assert!(
        rep.moves <= games * (2 * depth + 1),
        "{} moves for {games} games of {STEPS} steps",
        rep.moves
    );
    assert!(
        rep.gas.contains_key("proveLeaf"),
        "the game ended by a leaf proof: {:?}",
        rep.gas.keys()
    );
}

/// An honest winner is made whole: its bond back and every metered gas cost, short of at most
/// `UNREFUNDED_GAS`.
fn assert_made_whole(rep: &ScenarioReport, role: &str) {
    let net = wei(&rep.net_wei, role);
    assert!(
        net >= -UNREFUNDED_GAS * i128::from(BASE_FEE),
        "{role} ends {net} wei out of pocket (fees {})",
        rep.fees_wei[role]
    );
}

/// The slashed aggregator and its sybil together lose the whole bond and more (their gas):
/// nothing of the slashed bond flows back to them.
fn assert_aggregator_recovers_nothing(rep: &ScenarioReport) {
    let coalition = wei(&rep.net_wei, "aggregator") + wei(&rep.net_wei, "sybil");
    assert!(
        coalition <= -as_i128(params().aggregator_bond),
        "aggregator and sybil end at {coalition} wei, better than losing the bond"
    );
    // What the sybil got back beyond its bond is at most what it burnt in base fee.
    let sybil_gain = wei(&rep.bond_net_wei, "sybil");
    let sybil_fees: i128 = rep.fees_wei["sybil"].parse().unwrap();
    assert!(
        sybil_gain <= sybil_fees,
        "the sybil got {sybil_gain} wei, more than the {sybil_fees} it burnt"
    );
    let burnt: U256 = rep.burnt_wei.parse().unwrap();
    let share = params().aggregator_bond * U256::from(params().burn_bps) / U256::from(10_000u64);
    assert!(burnt >= share, "burnt {burnt} < the burn share {share}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn honest_round_finalizes_and_returns_the_bond() {
    let rep = scenario("honest", &[]).await;
    assert_eq!(rep.outcome, Outcome::Finalized);
    assert_eq!(rep.moves, 0);
    assert_eq!(rep.participants, 4);
    assert_eq!(rep.bond_net_wei["aggregator"], "+0");
    assert_eq!(rep.bond_net_wei["clients"], "+0", "every deposit came back");
    assert!(rep.gas.contains_key("finalize"));
    // The --json schema scripts rely on.
    let json = serde_json::to_value(&rep).expect("serialises");
    for field in [
        "name",
        "outcome",
        "moves",
        "gas",
        "prove_seconds",
        "wall_seconds",
        "participants",
        "excluded_clients",
        "net_wei",
        "burnt_wei",
    ] {
        assert!(
            json.get(field).is_some(),
            "--json scenario lacks `{field}`: {json}"
        );
    }
    assert_eq!(json["outcome"], "finalized");
    assert!(
        json["gas"]["postResult"]["total"]
            .as_u64()
            .is_some_and(|g| g > 21_000)
    );
}

async fn aggregator_corrupts(step: u64) {
    let rep = scenario("aggregator-lies", &["--corrupt-step", &step.to_string()]).await;
    assert_eq!(rep.outcome, Outcome::AggregatorSlashed);
    assert_eq!(rep.corrupted_step, Some(step));
    assert_eq!(
        rep.disputed_step,
        Some(step),
        "the game narrows to exactly the corrupted step"
    );
    assert_made_whole(&rep, "challenger");
    assert_bounded_game(&rep, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aggregator_corrupting_the_first_step_is_slashed() {
    aggregator_corrupts(0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aggregator_corrupting_a_middle_step_is_slashed() {
    aggregator_corrupts(17).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aggregator_corrupting_a_finalize_step_is_slashed() {
    aggregator_corrupts(9).await; // slot 4 of chunk 1: a Finalize step
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aggregator_corrupting_the_last_step_is_slashed() {
    aggregator_corrupts(STEPS - 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lying_challenger_is_slashed() {
    let rep = scenario("challenger-lies", &[]).await;
    assert_eq!(rep.outcome, Outcome::ChallengerSlashed);
    assert_eq!(rep.disputed_step, rep.corrupted_step);
    assert_eq!(
        wei(&rep.bond_net_wei, "aggregator"),
        as_i128(params().challenger_bond),
        "the aggregator gets its bond back plus the losing challenger's"
    );
    assert_bounded_game(&rep, 1);
}

// ---------------------------------------------------------------- finding 1: data availability

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn withheld_update_is_challenged_not_revealed_and_the_client_excluded_before_posting() {
    let rep = scenario("withheld-update", &[]).await;
    assert_eq!(rep.outcome, Outcome::Finalized);
    assert_eq!(rep.excluded_clients, [0]);
    assert_eq!(
        rep.participants, 3,
        "the round went on without the withholding client"
    );
    assert!(rep.gas.contains_key("challengeAvailability"));
    assert!(!rep.gas.contains_key("revealSegment"));
    // The availability challenger is made whole from the withholding client's deposit.
    assert_made_whole(&rep, "challenger");
    assert!(
        wei(&rep.bond_net_wei, "clients") < 0,
        "the withholder lost its deposit"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revealed_update_resolves_the_challenge_and_the_round_proceeds() {
    let rep = scenario("revealed-update", &[]).await;
    assert_eq!(rep.outcome, Outcome::Finalized);
    assert!(rep.excluded_clients.is_empty());
    assert_eq!(rep.participants, 4, "the revealed client stays in");
    assert_eq!(rep.gas["revealSegment"].calls, 1, "d = 200 is one segment");
    // The revealer's gas is refunded from the challenger's bond (the fisherman's dilemma:
    // a challenger of data that turns out available pays for its publication).
    let refund = wei(&rep.bond_net_wei, "aggregator");
    assert!(refund > 0);
    assert_eq!(wei(&rep.bond_net_wei, "challenger"), -refund);
}

// ---------------------------------------------------------------- finding 2: sybil challengers

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_challenge_by_the_aggregator_returns_none_of_its_bond() {
    let rep = scenario("self-challenge", &[]).await;
    assert_eq!(rep.outcome, Outcome::AggregatorSlashed);
    assert_eq!(rep.games, 2);
    // The honest challenger won its game by proving the corrupted step, the sybil by timeout.
    assert_eq!(rep.gas["proveLeaf"].calls, 1);
    assert!(rep.gas.contains_key("timeout"));
    assert_eq!(rep.disputed_step, rep.corrupted_step);
    assert_aggregator_recovers_nothing(&rep);
    assert_made_whole(&rep, "challenger");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copied_leaf_returns_none_of_the_bond() {
    let rep = scenario("copied-leaf", &[]).await;
    assert_eq!(rep.outcome, Outcome::AggregatorSlashed);
    assert_eq!(
        rep.gas["proveLeaf"].calls, 2,
        "the sybil and the honest challenger both prove"
    );
    assert_eq!(rep.disputed_step, rep.corrupted_step);
    assert_aggregator_recovers_nothing(&rep);
    assert_made_whole(&rep, "challenger");
}

// ---------------------------------------------------------------- finding 3: bound posts

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_racing_the_post_reverts_the_post_instead_of_slashing() {
    let rep = scenario("racing-commit", &[]).await;
    assert_eq!(rep.stale_posts, 1, "the post over stale inputs reverted");
    assert_eq!(rep.outcome, Outcome::Finalized);
    assert_eq!(rep.participants, 4, "the re-post covers the late commit");
    assert_eq!(rep.bond_net_wei["aggregator"], "+0", "nothing was slashed");
}

// ---------------------------------------------------------------- finding 4: bricking

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weight_overflow_round_completes_without_the_bad_client() {
    let rep = scenario("weight-overflow", &[]).await;
    assert_eq!(rep.outcome, Outcome::Finalized);
    assert_eq!(rep.participants, 3);
    assert_eq!(
        rep.gas["commitUpdate"].calls, 3,
        "both overflowing commits were refused; MAX_WEIGHT was accepted"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unprovable_root_round_completes_without_the_bad_client() {
    let rep = scenario("unprovable-root", &[]).await;
    assert_eq!(rep.outcome, Outcome::Finalized);
    // The client's own data (of another dimension) cannot open its root: the registry refuses
    // the reveal, and the client is excluded.
    assert_eq!(rep.refused_reveals, 1);
    assert_eq!(rep.excluded_clients, [0]);
    assert_eq!(rep.participants, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unposted_round_expires_with_every_bond_returned() {
    let rep = scenario("unposted-round", &[]).await;
    assert_eq!(rep.outcome, Outcome::Expired);
    assert!(rep.gas.contains_key("expireRound"));
    // After the expiry, the three honest clients take their deposits back; the withholding
    // client's deposit pays its challenger, who gets its availability bond back and is made
    // whole.
    assert_eq!(rep.gas["releaseDeposit"].calls, 3);
    assert_eq!(rep.excluded_clients, [0]);
    assert_eq!(
        wei(&rep.bond_net_wei, "clients"),
        -as_i128(params().client_deposit),
        "only the withholder's deposit is gone"
    );
    assert_made_whole(&rep, "challenger");
}

// ---------------------------------------------------------------- finding 5: many challengers

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_concurrent_lying_challengers_all_lose_and_the_round_finalizes() {
    let rep = scenario("many-challengers", &[]).await;
    assert_eq!(rep.outcome, Outcome::ChallengerSlashed);
    assert_eq!(rep.games, 8);
    assert_eq!(rep.gas["proveLeaf"].calls, 8, "every game ended at a leaf");
    assert_eq!(
        wei(&rep.bond_net_wei, "aggregator"),
        8 * as_i128(params().challenger_bond),
        "the aggregator collects every losing bond"
    );
    assert_eq!(
        wei(&rep.bond_net_wei, "liars"),
        -8 * as_i128(params().challenger_bond),
        "no losing challenger is refunded"
    );
    assert_bounded_game(&rep, 8);
    // The aggregator moved in every game in every round: eight games took no more rounds of
    // moves (blocks) than one game needs.
    let one_game = 2 * u32::from(64 - u8::try_from((STEPS - 1).leading_zeros()).unwrap()) + 2;
    assert!(
        rep.game_rounds <= one_game,
        "{} rounds of moves for 8 games; one game needs at most {one_game}",
        rep.game_rounds
    );
    // Finality does not grow with the number of games: they run concurrently, each bounded by
    // both chess clocks plus one extension per move (docs/ARCHITECTURE.md §7).
    let p = params();
    let depth = u64::from(64 - (STEPS - 1).leading_zeros());
    let bound = p.challenge_window + 2 * p.clock + 2 * (depth + 1) * p.extension;
    let finality = rep.finality_seconds.expect("the round finalised");
    assert!(
        finality <= bound,
        "finality after {finality} s with 8 games, bound {bound} s"
    );
}

/// Scenarios against a real node over JSON-RPC (logs, reverts and time travel through Anvil).
/// Needs Anvil from npm (`scripts/setup.sh` installs it; `scripts/test.sh` runs this test).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs ANVIL_BIN (run scripts/test.sh, which installs Anvil from npm)"]
async fn full_flow_on_anvil() {
    let anvil = std::env::var("ANVIL_BIN").expect("ANVIL_BIN must point at the anvil binary");
    let scenarios = [
        "honest",
        "aggregator-lies",
        "challenger-lies",
        "withheld-update",
        "revealed-update",
        "racing-commit",
    ];
    let report = run_with_prover(
        args(&scenarios, &["--anvil", &anvil]),
        fl_tests::prover(),
        0.0,
    )
    .await
    .expect("simulation runs on anvil");
    let outcomes: Vec<Outcome> = report.scenarios.iter().map(|s| s.outcome).collect();
    assert_eq!(
        outcomes,
        [
            Outcome::Finalized,
            Outcome::AggregatorSlashed,
            Outcome::ChallengerSlashed,
            Outcome::Finalized,
            Outcome::Finalized,
            Outcome::Finalized,
        ]
    );
    assert_eq!(report.scenarios[3].excluded_clients, [0]);
    assert_eq!(report.scenarios[5].stale_posts, 1);
    assert!(report.chain.starts_with("json-rpc"));
}
