//! Every step kind of every order-statistic and clipped rule, disputed end to end on the
//! in-process chain: a dishonest aggregator corrupts one step of that kind and the game ends at
//! exactly that step with a Halo2 proof verified on chain, the honest challenger winning; a
//! lying challenger against each rule loses to the aggregator's defence. (FedAvg's kinds:
//! `e2e.rs`.)

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
    corrupted_step_at(rule, expected, kind, step_of(kind)).await;
}

async fn corrupted_step_at(rule: &[&str], expected: Rule, kind: StepKind, step: u64) {
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

// ---- norm clipping in front of each rule -------------------------------------------------

/// Clipping at norm 0.8: the synthetic updates (values within ±0.15, d = 200) have norms
/// around it, so some are clipped and some are not.
const CLIP: &[&str] = &["--clip", "0.8"];
const THRESHOLD: u32 = 52_429; // 0.8 · 2^16, rounded

/// The clipping prologue: 4 participants × (7 Norm steps + 1 Scale step).
const PROLOGUE: u64 = 4 * 8;

fn clipped(base: step_vm::Base) -> Rule {
    Rule::Clipped {
        threshold: THRESHOLD,
        base,
    }
}

/// Corrupts a Norm and a Scale step of participant 1, then each of `base_kinds` at `steps`
/// (base-program indices), each its own round, and expects every game to end at that step.
async fn every_clipped_kind_is_disputed_to_its_step(
    rule: &[&str],
    expected: Rule,
    base_kinds: &[(StepKind, u64)],
) {
    let argv: Vec<&str> = rule.iter().chain(CLIP).copied().collect();
    let prologue = [(StepKind::Norm, 8 + 3), (StepKind::Scale, 8 + 7)];
    for (kind, step) in prologue
        .into_iter()
        .chain(base_kinds.iter().map(|&(kind, b)| (kind, PROLOGUE + b)))
    {
        corrupted_step_at(&argv, expected, kind, step).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clipped_fedavg_every_kind_corrupted_is_disputed_to_that_step() {
    // FedAvg rows have n + 1 = 5 columns: row 1's Accumulate of participant 2 and its Finalize.
    every_clipped_kind_is_disputed_to_its_step(
        &[],
        clipped(step_vm::Base::FedAvg),
        &[(StepKind::Accumulate, 5 + 2), (StepKind::Finalize, 5 + 4)],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clipped_median_every_kind_corrupted_is_disputed_to_that_step() {
    every_clipped_kind_is_disputed_to_its_step(
        MEDIAN,
        clipped(step_vm::Base::Median),
        &[StepKind::Rank, StepKind::TrimSum, StepKind::TrimEmit].map(|k| (k, step_of(k))),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clipped_trimmed_mean_every_kind_corrupted_is_disputed_to_that_step() {
    every_clipped_kind_is_disputed_to_its_step(
        TRIMMED,
        clipped(step_vm::Base::TrimmedMean { beta_bps: 2500 }),
        &[StepKind::Rank, StepKind::TrimSum, StepKind::TrimEmit].map(|k| (k, step_of(k))),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lying_challengers_lose_and_honest_rounds_finalize_under_clipping() {
    for rule in [&[][..], MEDIAN, TRIMMED] {
        let argv: Vec<&str> = rule.iter().chain(CLIP).copied().collect();
        let rep = scenario("challenger-lies", &argv, &[]).await;
        assert_eq!(rep.outcome, Outcome::ChallengerSlashed, "{argv:?}");
        assert!(rep.gas.contains_key("proveLeaf"));
        let rep = scenario("honest", &argv, &[]).await;
        assert_eq!(rep.outcome, Outcome::Finalized, "{argv:?}");
    }
}
