//! Every step kind of every order-statistic rule, disputed end to end on the in-process chain:
//! a dishonest aggregator corrupts one step of that kind and the game ends at exactly that step
//! with a Halo2 proof verified on chain, the honest challenger winning; a lying challenger
//! against each rule loses to the aggregator's defence. (FedAvg's kinds: `e2e.rs`.)

use clap::Parser;
use sim::{Outcome, ScenarioReport, SimArgs, run_with_prover};
use step_vm::{Rule, StepKind};

const CLIENTS: usize = 4;
const DIM: usize = 200; // 7 chunks

async fn scenario(name: &str, rule: &[&str], extra: &[&str]) -> ScenarioReport {
    let clients = CLIENTS.to_string();
    let dim = DIM.to_string();
    let mut argv = vec![
        "sim",
        "--clients",
        &clients,
        "--dim",
        &dim,
        "--json",
        "--scenario",
        name,
    ];
    argv.extend_from_slice(rule);
    argv.extend_from_slice(extra);
    let mut report = run_with_prover(SimArgs::parse_from(argv), fl_tests::prover(), 0.0)
        .await
        .expect("simulation runs");
    report.scenarios.remove(0)
}

/// A step of `kind` in row 1 of the rule's program (n = 4: 133 steps per row).
fn step_of(kind: StepKind) -> u64 {
    let row = 133;
    match kind {
        // The last participant of pass 31: the pass's decision fixes the order statistic.
        StepKind::Rank => row + 127,
        StepKind::TrimSum => row + 129,
        StepKind::TrimEmit => row + 132,
        other => panic!("{other:?} is not an order-statistic kind"),
    }
}

async fn corrupted_step_is_the_disputed_one(rule: &[&str], expected: Rule, kind: StepKind) {
    let step = step_of(kind);
    let corrupt = step.to_string();
    let rep = scenario("aggregator-lies", rule, &["--corrupt-step", &corrupt]).await;
    assert_eq!(rep.steps, expected.steps(CLIENTS, DIM));
    assert_eq!(
        rep.outcome,
        Outcome::AggregatorSlashed,
        "{expected} {kind:?}"
    );
    assert_eq!(rep.corrupted_step, Some(step));
    assert_eq!(
        rep.disputed_step,
        Some(step),
        "{expected}: the game must end at the corrupted {kind:?} step"
    );
    assert!(rep.gas.contains_key("proveLeaf"), "settled by a leaf proof");
}

const MEDIAN: &[&str] = &["--rule", "median"];
const TRIMMED: &[&str] = &["--rule", "trimmed-mean", "--beta-bps", "2500"];
const TRIMMED_RULE: Rule = Rule::TrimmedMean { beta_bps: 2500 };

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn median_rank_step_corrupted_is_disputed_to_that_step() {
    corrupted_step_is_the_disputed_one(MEDIAN, Rule::Median, StepKind::Rank).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn median_sum_step_corrupted_is_disputed_to_that_step() {
    corrupted_step_is_the_disputed_one(MEDIAN, Rule::Median, StepKind::TrimSum).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn median_emit_step_corrupted_is_disputed_to_that_step() {
    corrupted_step_is_the_disputed_one(MEDIAN, Rule::Median, StepKind::TrimEmit).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trimmed_mean_rank_step_corrupted_is_disputed_to_that_step() {
    corrupted_step_is_the_disputed_one(TRIMMED, TRIMMED_RULE, StepKind::Rank).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trimmed_mean_sum_step_corrupted_is_disputed_to_that_step() {
    corrupted_step_is_the_disputed_one(TRIMMED, TRIMMED_RULE, StepKind::TrimSum).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trimmed_mean_emit_step_corrupted_is_disputed_to_that_step() {
    corrupted_step_is_the_disputed_one(TRIMMED, TRIMMED_RULE, StepKind::TrimEmit).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lying_challenger_loses_against_a_median_round() {
    let rep = scenario("challenger-lies", MEDIAN, &[]).await;
    assert_eq!(rep.outcome, Outcome::ChallengerSlashed);
    assert!(rep.gas.contains_key("proveLeaf"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lying_challenger_loses_against_a_trimmed_mean_round() {
    let rep = scenario("challenger-lies", TRIMMED, &[]).await;
    assert_eq!(rep.outcome, Outcome::ChallengerSlashed);
    assert!(rep.gas.contains_key("proveLeaf"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn honest_median_and_trimmed_mean_rounds_finalize() {
    for rule in [MEDIAN, TRIMMED] {
        let rep = scenario("honest", rule, &[]).await;
        assert_eq!(rep.outcome, Outcome::Finalized, "{rule:?}");
        assert_eq!(rep.moves, 0);
    }
}
