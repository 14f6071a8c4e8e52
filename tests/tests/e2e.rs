//! The full flow on the in-process revm chain (and, when ANVIL_BIN is set, on Anvil):
//! deploy, open a round, commit, aggregate, post, re-execute, dispute, bisect, prove, resolve.

use clap::Parser;
use sim::{Outcome, ScenarioReport, SimArgs, run_with_prover};

const CLIENTS: &str = "4";
const DIM: &str = "200"; // 7 chunks, T = 7 * 5 = 35 steps
const STEPS: u64 = 35;

async fn scenario(extra: &[&str]) -> ScenarioReport {
    let mut argv = vec!["sim", "--clients", CLIENTS, "--dim", DIM, "--json"];
    argv.extend_from_slice(extra);
    let args = SimArgs::parse_from(argv);
    let mut report = run_with_prover(args, fl_tests::prover(), 0.0)
        .await
        .expect("simulation runs");
    assert_eq!(report.scenarios.len(), 1);
    report.scenarios.remove(0)
}

fn assert_bounded_game(rep: &ScenarioReport) {
    // 2 moves per halving plus the leaf proof.
    let depth = u64::from(64 - (STEPS - 1).leading_zeros());
    assert!(
        u64::from(rep.moves) <= 2 * depth + 1,
        "{} moves for {STEPS} steps",
        rep.moves
    );
    assert!(
        rep.gas.contains_key("proveLeaf"),
        "the game ended by a leaf proof: {:?}",
        rep.gas.keys()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn honest_round_finalizes_and_returns_the_bond() {
    let rep = scenario(&["--scenario", "honest"]).await;
    assert_eq!(rep.outcome, Outcome::Finalized);
    assert_eq!(rep.moves, 0);
    assert_eq!(rep.bond_net_wei["aggregator"], "+0");
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
    let rep = scenario(&[
        "--scenario",
        "aggregator-lies",
        "--corrupt-step",
        &step.to_string(),
    ])
    .await;
    assert_eq!(rep.outcome, Outcome::AggregatorSlashed);
    assert_eq!(rep.corrupted_step, Some(step));
    assert_eq!(
        rep.disputed_step,
        Some(step),
        "the game narrows to exactly the corrupted step"
    );
    assert!(rep.bond_net_wei["challenger"].starts_with('+'));
    assert_bounded_game(&rep);
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
    let rep = scenario(&["--scenario", "challenger-lies"]).await;
    assert_eq!(rep.outcome, Outcome::ChallengerSlashed);
    assert_eq!(rep.disputed_step, rep.corrupted_step);
    assert!(rep.bond_net_wei["aggregator"].starts_with('+'));
    assert_bounded_game(&rep);
}

/// The same three scenarios against a real node over JSON-RPC. Needs Anvil from npm
/// (`scripts/setup.sh` installs it; `scripts/test.sh` runs this test).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs ANVIL_BIN (run scripts/test.sh, which installs Anvil from npm)"]
async fn full_flow_on_anvil() {
    let anvil = std::env::var("ANVIL_BIN").expect("ANVIL_BIN must point at the anvil binary");
    let args = SimArgs::parse_from([
        "sim",
        "--clients",
        CLIENTS,
        "--dim",
        DIM,
        "--json",
        "--anvil",
        &anvil,
    ]);
    let report = run_with_prover(args, fl_tests::prover(), 0.0)
        .await
        .expect("simulation runs on anvil");
    let outcomes: Vec<Outcome> = report.scenarios.iter().map(|s| s.outcome).collect();
    assert_eq!(
        outcomes,
        [
            Outcome::Finalized,
            Outcome::AggregatorSlashed,
            Outcome::ChallengerSlashed
        ]
    );
    assert!(report.chain.starts_with("json-rpc"));
}
