//! Ingestion throughput against raw keccak on the same machine, in the same run: what an
//! aggregator or challenger pays to check every upload against its client's commitment.
//!
//! Three timings over the same `n` updates of `d` values (`4·n·d` bytes), each best of `reps`,
//! all on every core (rayon over participants):
//! - **raw keccak**: keccak-256 of each update's bytes as one message (the hash function's own
//!   speed: one permutation per 136-byte block);
//! - **value leaves**: the update tree's leaf hashes alone (`keccak(0x00 ‖ 128 bytes)` per
//!   32-value leaf: one permutation per 128 bytes of data);
//! - **ingestion**: `check_update_roots`, the whole update tree (leaves and inner nodes, one
//!   more permutation per leaf) compared with the committed roots.
//!
//! `cargo run --release -p step-vm --example ingest_bench -- [n] [d] [reps]` (default 100
//! 1048576 3); results in BENCHMARKS.md §1.

#![allow(clippy::print_stdout)]

use std::time::Instant;

use rayon::prelude::*;
use step_vm::{
    LANES, Participant, RoundConfig, RoundContext, Update, check_update_roots, keccak256,
    value_leaf_hash,
};

fn best_of<T>(reps: usize, mut f: impl FnMut() -> T) -> f64 {
    (0..reps)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<Result<_, _>>()?;
    let n = args.first().copied().unwrap_or(100);
    let dim = args.get(1).copied().unwrap_or(1 << 20);
    let reps = args.get(2).copied().unwrap_or(3).max(1);
    let updates: Vec<Update> = (0..n)
        .map(|c| {
            Update::from_fixed(
                (0..dim)
                    .map(|v| (v as i32).wrapping_mul(2_654_435_761_u32 as i32) ^ (c as i32))
                    .collect(),
            )
        })
        .collect();
    let bytes: Vec<Vec<u8>> = updates
        .iter()
        .map(|u| u.values().iter().flat_map(|v| v.to_be_bytes()).collect())
        .collect();
    let participants = updates
        .iter()
        .map(|u| Participant {
            update_root: u.root(),
            weight: 1,
        })
        .collect();
    let ctx = RoundContext::new(
        RoundConfig::fedavg(1, [1; 20], 1, [0; 32], dim),
        participants,
    )?;
    let mb = (4 * n * dim) as f64 / 1e6;

    let raw = best_of(reps, || {
        bytes
            .par_iter()
            .map(|b| keccak256(&[b]))
            .collect::<Vec<_>>()
    });
    let leaves = best_of(reps, || {
        updates
            .par_iter()
            .map(|u| {
                (0..dim.div_ceil(LANES))
                    .map(|j| value_leaf_hash(&u.leaf(j)))
                    .collect::<Vec<_>>()
            })
            .collect::<Vec<_>>()
    });
    let ingest = best_of(reps, || {
        check_update_roots(&ctx, &updates).expect("roots match")
    });
    println!(
        "n = {n}, d = {dim} ({mb:.0} MB), best of {reps}, {} threads",
        rayon::current_num_threads()
    );
    println!("| pass | time | throughput | share of raw keccak |");
    println!("|---|---|---|---|");
    for (name, t) in [
        ("raw keccak (one message per update)", raw),
        ("value-leaf hashes only", leaves),
        ("ingestion: whole update trees vs committed roots", ingest),
    ] {
        println!(
            "| {name} | {t:.3} s | {:.0} MB/s | {:.0}% |",
            mb / t,
            100.0 * raw / t
        );
    }
    Ok(())
}
