//! The honest path of every rule against Flower's NumPy aggregation (`scripts/bench-peers.sh`
//! runs both on the same data and prints the table of BENCHMARKS.md §6).
//!
//! Writes the round's updates as `updates.npy` (float32 `(n, d)`, every value exactly a Q15.16
//! fixed-point value, so both sides aggregate the same numbers) and `weights.npy` (int64), times
//! each rule's committed execution (`Trace::execute`: the aggregation, the output leaves and
//! the output Merkle tree — everything needed to post; the clipped rules clip at the median of
//! the clients' norms) and the ingestion check, and writes the fixed-point results
//! (`out_<rule>.npy`, float32 of the Q15.16 values) and `rust.json`.
//!
//! The distance family (Krum, Multi-Krum keeping `n - f`, Bulyan, all with `f` Byzantine
//! participants tolerated) is timed the same way, each rule computing its own distance matrix
//! (as each Flower call does), through their committed program (`Trace::execute`); and once
//! more as the three results of one round sharing one matrix (`Distances::compute` then
//! `distance_native_with`).
//!
//! `cargo run --release -p step-vm --example peer_bench -- <out dir> [n] [dim] [reps] [beta_bps] [f]`

#![allow(clippy::print_stdout)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use step_vm::{
    Distances, Participant, RoundConfig, RoundContext, Rule, Selection, Trace, Update,
    check_update_roots, distance_native_with,
};

/// A `.npy` (format 1.0) header for a C-order array of `descr` with `shape`.
fn npy_header(descr: &str, shape: &[usize]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(ToString::to_string).collect();
    let shape = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    // magic (6) + version (2) + header length (2) + dict + '\n', padded to 64 bytes.
    let unpadded = 10 + dict.len() + 1;
    dict.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    dict.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend(
        u16::try_from(dict.len())
            .expect("short header")
            .to_le_bytes(),
    );
    out.extend(dict.as_bytes());
    out
}

fn write_f32(
    path: &Path,
    shape: &[usize],
    values: impl Iterator<Item = f32>,
) -> std::io::Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    f.write_all(&npy_header("<f4", shape))?;
    for v in values {
        f.write_all(&v.to_le_bytes())?;
    }
    f.flush()
}

/// Q15.16 to f32: exact for |x| < 2^24 (the generated values stay below 2^21).
#[allow(clippy::cast_precision_loss)]
fn real(x: i32) -> f32 {
    x as f32 / 65_536.0
}

/// Deterministic client updates around a shared direction, within ±16 (|x| < 2^21).
fn updates(n: usize, dim: usize) -> Vec<Update> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let direction: Vec<i64> = (0..dim)
        .map(|_| (next() % 131_072) as i64 - 65_536)
        .collect();
    (0..n)
        .map(|_| {
            Update::from_fixed(
                direction
                    .iter()
                    .map(|&d| {
                        let noise = (next() % 65_536) as i64 - 32_768;
                        i32::try_from(d + noise).expect("small")
                    })
                    .collect(),
            )
        })
        .collect()
}

fn best_of<T>(reps: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    best_of_with(reps, || (), |()| f())
}

/// Best time of `f` over `reps` runs, each on a fresh input from `setup` (not timed); the
/// previous result is dropped outside the timed region too.
fn best_of_with<I, T>(
    reps: usize,
    mut setup: impl FnMut() -> I,
    mut f: impl FnMut(I) -> T,
) -> (f64, T) {
    let mut best = f64::INFINITY;
    let mut last = None;
    for _ in 0..reps {
        let input = setup();
        let t = Instant::now();
        let out = f(input);
        best = best.min(t.elapsed().as_secs_f64());
        last = Some(out);
    }
    (best, last.expect("at least one repetition"))
}

/// The best-of-`reps` time of a round's committed execution under `rule` (each run gets a
/// fresh copy of the inputs, made untimed: the execution takes them by value), and its trace.
fn committed(
    rule: Rule,
    dim: usize,
    participants: &[step_vm::Participant],
    updates: &[Update],
    reps: usize,
) -> Result<(f64, Trace), Box<dyn std::error::Error>> {
    let config = RoundConfig {
        rule,
        ..RoundConfig::fedavg(1, [1; 20], 1, [0; 32], dim)
    };
    let ctx = RoundContext::new(config, participants.to_vec())?;
    Ok(best_of_with(
        reps,
        || (ctx.clone(), updates.to_vec()),
        |(ctx, updates)| Trace::execute(ctx, updates).expect("aggregates"),
    ))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let out = PathBuf::from(
        args.get(1)
            .ok_or("usage: peer_bench <out dir> [n] [dim] [reps] [beta_bps] [f]")?,
    );
    let arg = |i: usize, default: usize| -> Result<usize, Box<dyn std::error::Error>> {
        Ok(args
            .get(i)
            .map(|s| s.parse())
            .transpose()?
            .unwrap_or(default))
    };
    let (n, dim, reps) = (arg(2, 100)?, arg(3, 1 << 20)?, arg(4, 3)?.max(1));
    let beta_bps = u16::try_from(arg(5, 1_000)?)?;
    let f = u8::try_from(arg(6, 24)?)?;
    std::fs::create_dir_all(&out)?;

    let updates = updates(n, dim);
    let weights: Vec<u32> = (0..n)
        .map(|c| 50 + u32::try_from(c * 37 % 200).unwrap_or(0))
        .collect();
    write_f32(
        &out.join("updates.npy"),
        &[n, dim],
        updates
            .iter()
            .flat_map(|u| u.values().iter().map(|&x| real(x))),
    )?;
    {
        let mut f = std::fs::File::create(out.join("weights.npy"))?;
        f.write_all(&npy_header("<i8", &[n]))?;
        for &w in &weights {
            f.write_all(&i64::from(w).to_le_bytes())?;
        }
    }
    let participants: Vec<Participant> = updates
        .iter()
        .zip(&weights)
        .map(|(u, &weight)| Participant {
            update_root: u.root(),
            weight,
        })
        .collect();

    // Clipping at the median of the clients' norms: half the updates are scaled down.
    let mut norms: Vec<u64> = updates.iter().map(|u| step_vm::norm(u.values())).collect();
    norms.sort_unstable();
    let threshold = u32::try_from(norms[n / 2])?;
    let bases = [
        step_vm::Base::FedAvg,
        step_vm::Base::Median,
        step_vm::Base::TrimmedMean { beta_bps },
    ];
    let rules = bases
        .map(step_vm::Base::rule)
        .into_iter()
        .chain(bases.map(|base| Rule::Clipped { threshold, base }));
    let mut entries = Vec::new();
    for rule in rules {
        let (seconds, trace) = committed(rule, dim, &participants, &updates, reps)?;
        let name = match rule {
            Rule::FedAvg => "fedavg",
            Rule::Median => "median",
            Rule::TrimmedMean { .. } => "trimmed_mean",
            Rule::Clipped { base, .. } => match base {
                step_vm::Base::FedAvg => "clipped_fedavg",
                step_vm::Base::Median => "clipped_median",
                step_vm::Base::TrimmedMean { .. } => "clipped_trimmed_mean",
                step_vm::Base::Distance(Selection::Krum { .. }) => "clipped_krum",
                step_vm::Base::Distance(Selection::MultiKrum { .. }) => "clipped_multi_krum",
                step_vm::Base::Distance(Selection::Bulyan { .. }) => "clipped_bulyan",
            },
            Rule::Distance(selection) => match selection {
                Selection::Krum { .. } => "krum",
                Selection::MultiKrum { .. } => "multi_krum",
                Selection::Bulyan { .. } => "bulyan",
            },
        };
        write_f32(
            &out.join(format!("out_{name}.npy")),
            &[dim],
            trace.output().iter().map(|&x| real(x)),
        )?;
        entries.push(format!(
            "\"{name}\": {{\"seconds\": {:.6}, \"root\": \"{}\"}}",
            seconds,
            step_vm::hex_digest(&trace.output_root())
        ));
        println!("{rule}: {seconds:.3} s (committed, best of {reps})");
    }
    // The distance family: the result and its commitment (the output tree's root, which is
    // the tree an update's root is built over).
    let keep = u8::try_from(n - usize::from(f))?;
    let selections = [
        ("krum", Selection::Krum { f }),
        ("multi_krum", Selection::MultiKrum { f, keep }),
        ("bulyan", Selection::Bulyan { f }),
    ];
    let mut roots = Vec::new();
    for (name, selection) in selections {
        // The committed program (`Trace::execute`, the aggregator's honest path).
        let (seconds, trace) = committed(
            Rule::Distance(selection),
            dim,
            &participants,
            &updates,
            reps,
        )?;
        let (values, root) = (trace.output().to_vec(), trace.output_root());
        write_f32(
            &out.join(format!("out_{name}.npy")),
            &[dim],
            values.iter().map(|&x| real(x)),
        )?;
        entries.push(format!(
            "\"{name}\": {{\"seconds\": {seconds:.6}, \"root\": \"{}\"}}",
            step_vm::hex_digest(&root)
        ));
        roots.push(root);
        println!("{selection:?}: {seconds:.3} s (committed, best of {reps})");
    }
    let (shared, shared_roots) = best_of(reps, || {
        let distances = Distances::compute(&updates).expect("one dimension");
        selections.map(|(_, selection)| {
            let values = distance_native_with(selection, &updates, &distances).expect("aggregates");
            Update::from_fixed(values).root()
        })
    });
    assert_eq!(
        shared_roots.as_slice(),
        roots.as_slice(),
        "sharing changes nothing"
    );
    let (distances_alone, _) = best_of(reps, || Distances::compute(&updates));
    println!(
        "the three sharing one distance matrix: {shared:.3} s (the matrix alone: {distances_alone:.3} s)"
    );
    let ctx = RoundContext::new(
        RoundConfig::fedavg(1, [1; 20], 1, [0; 32], dim),
        participants,
    )?;
    let (ingest, ()) = best_of(reps, || {
        check_update_roots(&ctx, &updates).expect("roots match")
    });
    // The threshold as a real number: exact in f64 (an integer below 2^32 over 2^16).
    let clip = f64::from(threshold) / 65_536.0;
    let (native, _) = best_of(reps, || {
        step_vm::fedavg_native(&ctx, &updates).expect("aggregates")
    });
    println!("FedAvg without commitments: {native:.3} s");
    std::fs::write(
        out.join("rust.json"),
        format!(
            "{{\"n\": {n}, \"dim\": {dim}, \"reps\": {reps}, \"beta_bps\": {beta_bps}, \"f\": {f}, \"keep\": {keep}, \"clip_norm\": {clip}, \"threads\": {}, \"ingestion_seconds\": {ingest:.6}, \"distance_family_shared_seconds\": {shared:.6}, \"distances_seconds\": {distances_alone:.6}, {}}}\n",
            rayon::current_num_threads(),
            entries.join(", ")
        ),
    )?;
    println!("ingestion (hash every update): {ingest:.3} s");
    Ok(())
}
