//! Committed FedAvg execution against the same aggregation without commitments.
//!
//! `cargo bench -p step-vm --bench aggregation`; results and ratios are in BENCHMARKS.md.

use criterion::{BatchSize, Criterion, criterion_main};
use step_vm::{Participant, RoundContext, Trace, Update, check_update_roots, fedavg_native};

fn round(n: usize, dim: usize) -> (RoundContext, Vec<Update>) {
    let updates: Vec<Update> = (0..n)
        .map(|c| {
            Update::from_fixed(
                (0..dim)
                    .map(|v| {
                        i32::try_from((v * 7919 + c * 104_729) % 2_000_001).unwrap_or(0) - 1_000_000
                    })
                    .collect(),
            )
        })
        .collect();
    let participants = updates
        .iter()
        .enumerate()
        .map(|(c, u)| Participant {
            update_root: u.root(),
            weight: u32::try_from(c).unwrap_or(0) + 1,
        })
        .collect();
    (
        RoundContext::new(
            step_vm::RoundConfig::fedavg(1, [1; 20], 1, [0; 32], dim),
            participants,
        )
        .expect("valid round"),
        updates,
    )
}

fn bench(c: &mut Criterion) {
    for (n, dim) in [(8, 4096), (16, 1 << 20)] {
        let (ctx, updates) = round(n, dim);
        let mut g = c.benchmark_group(format!("fedavg_n{n}_d{dim}"));
        g.sample_size(10);
        g.bench_function("native (no commitments)", |b| {
            b.iter(|| fedavg_native(&ctx, &updates).expect("aggregates"))
        });
        g.bench_function("committed (output tree)", |b| {
            b.iter_batched(
                || updates.clone(),
                |u| Trace::execute(ctx.clone(), u).expect("aggregates"),
                BatchSize::LargeInput,
            );
        });
        g.bench_function("ingestion (check update roots)", |b| {
            b.iter(|| check_update_roots(&ctx, &updates).expect("roots match"))
        });
        let trace = Trace::execute(ctx.clone(), updates.clone()).expect("aggregates");
        let mid = trace.steps() / 2 + 3;
        g.bench_function("state hash on demand (one step)", |b| {
            b.iter(|| trace.state_hash(mid).expect("in range"))
        });
        g.bench_function("step witness on demand", |b| {
            b.iter(|| trace.witness(mid).expect("in range"))
        });
        g.finish();
    }
}

#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::bench);
}
use group::benches;
criterion_main!(benches);
