//! Every step kind of Krum, Multi-Krum and Bulyan, disputed end to end on the in-process chain: a
//! dishonest aggregator corrupts the first step of that kind whose corruption changes the
//! result, and the game ends at exactly that step with a Halo2 proof verified on chain, the
//! honest challenger winning; a lying challenger against each rule loses to the aggregator's
//! defence, and honest rounds finalize. The same with norm clipping in front of each rule: every
//! base kind runs in `Clip` steps, a `Distance` step opening both participants' scales.

use clap::Parser;
use sim::{Outcome, ScenarioReport, SimArgs, run_with_prover};
use step_vm::{Base, Rule, Selection, StepKind};

const CLIENTS: usize = 5;
/// Bulyan with f = 1 needs n >= 4f + 3.
const BULYAN_CLIENTS: usize = 7;
const DIM: usize = 200; // 7 chunks

const KRUM: &[&str] = &["--rule", "krum", "--byzantine", "1"];
const MULTI_KRUM: &[&str] = &["--rule", "multi-krum", "--byzantine", "1", "--keep", "2"];
const BULYAN: &[&str] = &["--rule", "bulyan", "--byzantine", "1"];

/// Clipping at norm 0.8: the synthetic updates (values within ±0.15, d = 200) have norms
/// around it, so some are clipped and some are not.
const CLIP: &[&str] = &["--clip", "0.8"];
const THRESHOLD: u32 = 52_429; // 0.8 · 2^16, rounded

fn clipped(selection: Selection) -> Rule {
    Rule::Clipped {
        threshold: THRESHOLD,
        base: Base::Distance(selection),
    }
}

/// `rule`'s flags with `--clip 0.8`.
fn with_clip(rule: &[&'static str]) -> Vec<&'static str> {
    rule.iter().chain(CLIP).copied().collect()
}

/// The measuring size of a rule's flags: Bulyan's smallest round, or `CLIENTS`.
fn clients_of(rule: &[&str]) -> usize {
    if rule.contains(&"bulyan") {
        BULYAN_CLIENTS
    } else {
        CLIENTS
    }
}

async fn scenario(name: &str, rule: &[&str], extra: &[&str]) -> ScenarioReport {
    let clients = clients_of(rule).to_string();
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
    let mut report = run_with_prover(SimArgs::parse_from(&argv), fl_tests::prover(), 0.0)
        .await
        .unwrap_or_else(|e| panic!("{argv:?}: {e:?}"));
    report.scenarios.remove(0)
}

/// Corrupts the first visible step of each kind of the family (under `--clip`, the first
/// `Clip` step running it), each its own round, and expects every game to end at that step,
/// settled by a leaf proof.
async fn every_kind_is_disputed_to_its_step(rule: &[&str], expected: Rule) {
    let program = expected.program();
    let n = clients_of(rule);
    let shape = step_vm::Shape {
        participants: n,
        chunks: step_vm::chunk_count(DIM),
    };
    let last_phase: &[StepKind] = if rule.contains(&"bulyan") {
        &[
            StepKind::SelectRank,
            StepKind::CloseRank,
            StepKind::CloseSum,
            StepKind::CloseEmit,
        ]
    } else {
        &[StepKind::SelectAccumulate, StepKind::SelectFinalize]
    };
    for &kind in [
        StepKind::Distance,
        StepKind::ScoreRank,
        StepKind::ScoreSum,
        StepKind::Pick,
    ]
    .iter()
    .chain(last_phase)
    {
        let rep = scenario("aggregator-lies", rule, &["--corrupt-kind", kind.name()]).await;
        assert_eq!(rep.steps, expected.steps(n, DIM));
        assert_eq!(
            rep.outcome,
            Outcome::AggregatorSlashed,
            "{expected} {kind:?}"
        );
        let step = rep.corrupted_step.expect("a corrupted step");
        // Under clipping, a `Clip` step running `kind`.
        assert_eq!(program.inner_kind(shape, step), kind, "{expected}");
        assert_eq!(
            rep.disputed_step,
            Some(step),
            "{expected}: the game must end at the corrupted {kind:?} step"
        );
        assert!(rep.gas.contains_key("proveLeaf"), "settled by a leaf proof");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn krum_every_kind_corrupted_is_disputed_to_that_step() {
    every_kind_is_disputed_to_its_step(KRUM, Rule::Distance(Selection::Krum { f: 1 })).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_krum_every_kind_corrupted_is_disputed_to_that_step() {
    every_kind_is_disputed_to_its_step(
        MULTI_KRUM,
        Rule::Distance(Selection::MultiKrum { f: 1, keep: 2 }),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulyan_every_kind_corrupted_is_disputed_to_that_step() {
    every_kind_is_disputed_to_its_step(BULYAN, Rule::Distance(Selection::Bulyan { f: 1 })).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lying_challengers_lose_and_honest_rounds_finalize_under_the_distance_family() {
    for rule in [KRUM, MULTI_KRUM, BULYAN] {
        let rep = scenario("challenger-lies", rule, &[]).await;
        assert_eq!(rep.outcome, Outcome::ChallengerSlashed, "{rule:?}");
        assert!(rep.gas.contains_key("proveLeaf"));
        let rep = scenario("honest", rule, &[]).await;
        assert_eq!(rep.outcome, Outcome::Finalized, "{rule:?}");
        assert_eq!(rep.moves, 0);
    }
}

// ---- norm clipping in front of each rule -------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clipped_krum_every_kind_corrupted_is_disputed_to_that_step() {
    every_kind_is_disputed_to_its_step(&with_clip(KRUM), clipped(Selection::Krum { f: 1 })).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clipped_multi_krum_every_kind_corrupted_is_disputed_to_that_step() {
    every_kind_is_disputed_to_its_step(
        &with_clip(MULTI_KRUM),
        clipped(Selection::MultiKrum { f: 1, keep: 2 }),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clipped_bulyan_every_kind_corrupted_is_disputed_to_that_step() {
    every_kind_is_disputed_to_its_step(&with_clip(BULYAN), clipped(Selection::Bulyan { f: 1 }))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lying_challengers_lose_and_honest_rounds_finalize_under_the_clipped_distance_family() {
    for rule in [KRUM, MULTI_KRUM, BULYAN] {
        let argv = with_clip(rule);
        let rep = scenario("challenger-lies", &argv, &[]).await;
        assert_eq!(rep.outcome, Outcome::ChallengerSlashed, "{argv:?}");
        assert!(rep.gas.contains_key("proveLeaf"));
        let rep = scenario("honest", &argv, &[]).await;
        assert_eq!(rep.outcome, Outcome::Finalized, "{argv:?}");
        assert_eq!(rep.moves, 0);
    }
}
