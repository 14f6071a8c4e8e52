//! The dispute cost table of BENCHMARKS.md §7: per rule at n = 8, 64, 255 and d = 1,048,576,
//! the program length `T`, the moves of one game, the honest party's total gas and the worst
//! case time to resolution at the default clocks.
//!
//! Per-action gas is **measured**: every rule's disputes are played on the in-process chain
//! (n = 4, d = 200 — Krum and Multi-Krum n = 5 and Bulyan n = 7, their smallest rounds with
//! f = 1 — one game per
//! step kind, the leaf proven with the real verifier), and the
//! table combines those figures with the game's move count at the target size (one `bisect`
//! and one `respond` per halving of `[0, T]`, then one leaf; the calldata of a leaf grows by
//! 32 bytes per tree level, < 1% of its gas, measured in BENCHMARKS.md §3). Worst-case time is
//! ARCHITECTURE §7's bound: `challengeWindow + 2·clock + 2·(ceil(log2 T) + 1)·extension`.
//!
//! `cargo run -p sim --example dispute_costs` (gas does not depend on the build profile)

#![allow(clippy::print_stdout)]

use std::collections::BTreeMap;

use clap::Parser;
use contracts::DeployParams;
use sim::{ScenarioReport, SimArgs};
use step_vm::{Base, Rule, Selection};

/// One scenario at the measuring size (`clients` clients), with `extra` flags.
async fn play(
    prover: &std::sync::Arc<arbiter::LeafProver>,
    clients: &str,
    name: &str,
    extra: &[&str],
) -> ScenarioReport {
    let mut argv = vec![
        "sim",
        "--clients",
        clients,
        "--dim",
        "200",
        "--json",
        "--scenario",
        name,
    ];
    argv.extend_from_slice(extra);
    let mut report = sim::run_with_prover(
        SimArgs::parse_from(argv),
        std::sync::Arc::clone(prover),
        0.0,
    )
    .await
    .expect("simulation runs");
    report.scenarios.remove(0)
}

fn mean(rep: &ScenarioReport, action: &str) -> u64 {
    rep.gas
        .get(action)
        .map_or(0, |g| g.total / u64::from(g.calls.max(1)))
}

/// Which step of a kind a lying aggregator corrupts: a fixed step, or (the distance family,
/// whose small corruptions may not change the pick) the first step of the kind whose
/// corruption changes the result.
#[derive(Clone, Copy)]
enum Corrupt {
    Step(u64),
    Kind(&'static str),
}

use Corrupt::{Kind, Step};

/// A rule to measure: its label, its `sim` flags, the rule, its measuring client count and a
/// step of each of its kinds (at that size and d = 200), named as the leaf table names it.
type RuleCase = (
    &'static str,
    &'static [&'static str],
    Rule,
    &'static str,
    &'static [(&'static str, Corrupt)],
);

/// Clipping threshold of the clipped cases: `--clip 0.8` in Q15.16.
const THRESHOLD: u32 = 52_429;
/// The clipping prologue at n = 4, d = 200: 4 rows of 7 Norm steps and a Scale step.
const PROLOGUE: u64 = 32;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let prover = std::sync::Arc::new(
        arbiter::LeafProver::setup(&circuits::Srs::insecure_dev()).expect("keygen"),
    );
    let clipped = |base| Rule::Clipped {
        threshold: THRESHOLD,
        base,
    };
    let distance_kinds: &[(&str, Corrupt)] = &[
        ("Distance", Kind("Distance")),
        ("ScoreRank", Kind("ScoreRank")),
        ("ScoreSum", Kind("ScoreSum")),
        ("Pick", Kind("Pick")),
        ("SelectAccumulate", Kind("SelectAccumulate")),
        ("SelectFinalize", Kind("SelectFinalize")),
    ];
    let bulyan_kinds: &[(&str, Corrupt)] = &[
        ("Distance", Kind("Distance")),
        ("ScoreRank", Kind("ScoreRank")),
        ("ScoreSum", Kind("ScoreSum")),
        ("Pick", Kind("Pick")),
        ("SelectRank", Kind("SelectRank")),
        ("CloseRank", Kind("CloseRank")),
        ("CloseSum", Kind("CloseSum")),
        ("CloseEmit", Kind("CloseEmit")),
    ];
    let rules: [RuleCase; 6] = [
        (
            "FedAvg",
            &["--rule", "fedavg"],
            Rule::FedAvg,
            "4",
            &[("Accumulate", Step(6)), ("Finalize", Step(9))],
        ),
        (
            "Median",
            &["--rule", "median"],
            Rule::Median,
            "4",
            &[
                ("Rank", Step(133 + 127)),
                ("TrimSum", Step(133 + 129)),
                ("TrimEmit", Step(133 + 132)),
            ],
        ),
        (
            "TrimmedMean β=0.25",
            &["--rule", "trimmed-mean", "--beta-bps", "2500"],
            Rule::TrimmedMean { beta_bps: 2500 },
            "4",
            &[
                ("Rank", Step(133 + 127)),
                ("TrimSum", Step(133 + 129)),
                ("TrimEmit", Step(133 + 132)),
            ],
        ),
        (
            "Clipped FedAvg",
            &["--rule", "fedavg", "--clip", "0.8"],
            clipped(Base::FedAvg),
            "4",
            &[
                ("Norm", Step(11)),
                ("Scale", Step(15)),
                ("Clip: Accumulate", Step(PROLOGUE + 7)),
                ("Clip: Finalize", Step(PROLOGUE + 9)),
            ],
        ),
        (
            "Clipped Median",
            &["--rule", "median", "--clip", "0.8"],
            clipped(Base::Median),
            "4",
            &[
                ("Norm", Step(11)),
                ("Scale", Step(15)),
                ("Clip: Rank", Step(PROLOGUE + 133 + 127)),
                ("Clip: TrimSum", Step(PROLOGUE + 133 + 129)),
                ("Clip: TrimEmit", Step(PROLOGUE + 133 + 132)),
            ],
        ),
        (
            "Clipped TrimmedMean β=0.25",
            &[
                "--rule",
                "trimmed-mean",
                "--beta-bps",
                "2500",
                "--clip",
                "0.8",
            ],
            clipped(Base::TrimmedMean { beta_bps: 2500 }),
            "4",
            &[
                ("Norm", Step(11)),
                ("Scale", Step(15)),
                ("Clip: Rank", Step(PROLOGUE + 133 + 127)),
                ("Clip: TrimSum", Step(PROLOGUE + 133 + 129)),
                ("Clip: TrimEmit", Step(PROLOGUE + 133 + 132)),
            ],
        ),
    ];
    let p = DeployParams::default();
    let rules = rules.into_iter().chain([
        (
            "Krum f=1",
            &["--rule", "krum", "--byzantine", "1"][..],
            Rule::Distance(Selection::Krum { f: 1 }),
            "5",
            distance_kinds,
        ),
        (
            "Multi-Krum f=1 m'=2",
            &["--rule", "multi-krum", "--byzantine", "1", "--keep", "2"][..],
            Rule::Distance(Selection::MultiKrum { f: 1, keep: 2 }),
            "5",
            distance_kinds,
        ),
        (
            "Bulyan f=1",
            &["--rule", "bulyan", "--byzantine", "1"][..],
            Rule::Distance(Selection::Bulyan { f: 1 }),
            "7",
            bulyan_kinds,
        ),
    ]);
    let mut leaf_gas: BTreeMap<&'static str, u64> = BTreeMap::new();
    println!(
        "| rule | n | T | moves | honest challenger gas | honest aggregator gas | worst-case resolution |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (label, flags, rule, clients, kinds) in rules {
        // Measure: a lying aggregator per kind (the honest challenger proves the leaf), and a
        // lying challenger (the aggregator bisects and proves).
        let mut worst_leaf = 0u64;
        let (mut challenge, mut respond, mut claim) = (0, 0, 0);
        for &(kind, corrupt) in kinds {
            let step;
            let mut extra = flags.to_vec();
            match corrupt {
                Step(k) => {
                    step = k.to_string();
                    extra.extend(["--corrupt-step", &step]);
                }
                Kind(name) => extra.extend(["--corrupt-kind", name]),
            }
            let rep = play(&prover, clients, "aggregator-lies", &extra).await;
            let leaf = mean(&rep, "proveLeaf");
            let worst = leaf_gas.entry(kind).or_default();
            *worst = (*worst).max(leaf);
            worst_leaf = worst_leaf.max(leaf);
            challenge = challenge.max(mean(&rep, "challenge"));
            respond = respond.max(mean(&rep, "respond"));
            claim = claim.max(mean(&rep, "claimGame"));
        }
        let liar = play(&prover, clients, "challenger-lies", flags).await;
        let bisect = mean(&liar, "bisect");
        let finalize = mean(&liar, "finalize");
        for n in [8usize, 64, 255] {
            let t = rule.steps(n, 1 << 20);
            let levels = u64::from(64 - (t - 1).leading_zeros());
            let moves = 2 * levels + 1;
            let challenger = challenge + levels * respond + worst_leaf + claim;
            let aggregator = levels * bisect + worst_leaf + finalize;
            let seconds = p.challenge_window + 2 * p.clock + 2 * (levels + 1) * p.extension;
            println!(
                "| {label} | {n} | {t} | {moves} | {challenger} | {aggregator} | {:.1} h |",
                seconds as f64 / 3600.0
            );
        }
    }
    println!("\nMeasured leaf (`proveLeaf` transaction, real verifier) per step kind:\n");
    println!("| kind | proveLeaf gas |");
    println!("|---|---|");
    for (kind, gas) in leaf_gas {
        println!("| {kind} | {gas} |");
    }
}
