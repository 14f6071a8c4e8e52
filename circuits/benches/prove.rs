//! Step proving: key generation, proving and native verification per step kind, with the
//! native execution of the same step (the VM's `checked_post_commitment`) as the in-run
//! baseline. `cargo bench -p circuits --bench prove`; results in BENCHMARKS.md.

use circuits::{Srs, StepProver};
use criterion::{Criterion, criterion_main};
use step_vm::{Participant, RoundConfig, RoundContext, Rule, StepKind, Trace, Update};

/// A round of `n` participants and 256 values under `rule`.
fn round_of(rule: Rule, n: i32) -> (RoundContext, Trace) {
    let updates: Vec<Update> = (0..n)
        .map(|k| Update::from_fixed((0..256).map(|v| v * 977 - k * 31_337).collect()))
        .collect();
    let participants = updates
        .iter()
        .map(|u| Participant {
            update_root: u.root(),
            weight: 100,
        })
        .collect();
    let config = RoundConfig {
        rule,
        ..RoundConfig::fedavg(1, [1; 20], 1, [0; 32], 256)
    };
    let ctx = RoundContext::new(config, participants).expect("valid round");
    let trace = Trace::execute(ctx.clone(), updates).expect("executes");
    (ctx, trace)
}

/// A round of 4 participants and 256 values under `rule`.
fn round(rule: Rule) -> (RoundContext, Trace) {
    round_of(rule, 4)
}

/// The first step of `kind` that ends its row in `trace` (a write, a pass's decision, a
/// pick): the heaviest step of its kind.
fn row_end(trace: &Trace, kind: StepKind) -> u64 {
    let ctx = trace.context();
    (0..trace.steps())
        .find(|&k| {
            let (pos, next) = (ctx.position(k), ctx.position(k + 1));
            pos.kind == kind && (next.kind != kind || next.row != pos.row)
        })
        .expect("the program has the kind")
}

fn bench(c: &mut Criterion) {
    let fedavg = round(Rule::FedAvg);
    // Multi-Krum over 5 participants (f = 1, m' = 2): every distance-family kind.
    let krum = round_of(
        Rule::Distance(step_vm::Selection::MultiKrum { f: 1, keep: 2 }),
        5,
    );
    // Bulyan over 7 participants (f = 1): the trim kinds.
    let bulyan = round_of(Rule::Distance(step_vm::Selection::Bulyan { f: 1 }), 7);
    let median = round(Rule::Median);
    // Clipping at 2^-16: every update is scaled (n = 4, C = 8: prologue rows of 9 steps).
    let clipped = round(Rule::Clipped {
        threshold: 1,
        base: step_vm::Base::Median,
    });
    let srs = Srs::insecure_dev();
    let mut g = c.benchmark_group("step_proof");
    g.sample_size(10);
    // One step of each kind: FedAvg's from a FedAvg round, the order-statistic kinds from a
    // median round (n = 4: 133 steps per row; 127 = the last rank step of pass 31), the
    // clipping kinds from a clipped median round.
    let distance_family = [
        StepKind::Distance,
        StepKind::ScoreRank,
        StepKind::ScoreSum,
        StepKind::Pick,
        StepKind::SelectAccumulate,
        StepKind::SelectFinalize,
    ]
    .map(|kind| (kind, row_end(&krum.1, kind)));
    let trim = [
        StepKind::SelectRank,
        StepKind::CloseRank,
        StepKind::CloseSum,
        StepKind::CloseEmit,
    ]
    .map(|kind| (kind, row_end(&bulyan.1, kind)));
    for (kind, step) in [
        (StepKind::Accumulate, 1u64),
        (StepKind::Finalize, 4),
        (StepKind::Rank, 127),
        (StepKind::TrimSum, 129),
        (StepKind::TrimEmit, 132),
        (StepKind::Norm, 9 + 3),
        (StepKind::Scale, 9 + 8),
    ]
    .into_iter()
    .chain(distance_family)
    .chain(trim)
    {
        let (ctx, trace) = match kind {
            StepKind::Accumulate | StepKind::Finalize => &fedavg,
            StepKind::Norm | StepKind::Scale => &clipped,
            StepKind::Rank | StepKind::TrimSum | StepKind::TrimEmit => &median,
            StepKind::SelectRank
            | StepKind::CloseRank
            | StepKind::CloseSum
            | StepKind::CloseEmit => &bulyan,
            _ => &krum,
        };
        let witness = trace.witness(step).expect("in range");
        assert_eq!(witness.kind(), kind);
        g.bench_function(format!("{} native step (baseline)", kind.name()), |b| {
            b.iter(|| witness.checked_post_commitment(ctx).expect("checks"));
        });
        // The averaging kinds are proven by FedAvg's circuits (`StepKind::circuit`).
        let circuit = kind.circuit().expect("a proven kind");
        g.bench_function(format!("{} keygen", kind.name()), |b| {
            b.iter(|| StepProver::setup(circuit, &srs).expect("keygen"))
        });
        let prover = StepProver::setup(circuit, &srs).expect("keygen");
        g.bench_function(format!("{} prove", kind.name()), |b| {
            b.iter(|| prover.prove(&witness).expect("proves"))
        });
        let proof = prover.prove(&witness).expect("proves");
        g.bench_function(format!("{} verify (native)", kind.name()), |b| {
            b.iter(|| prover.verify(&proof).expect("verifies"))
        });
    }
    g.finish();
}

#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::bench);
}
use group::benches;
criterion_main!(benches);
