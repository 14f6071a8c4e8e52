//! Upload ingestion over HTTP against raw keccak on the same machine, in the same run: what
//! the aggregator's data-availability server sustains when `n` clients upload `d`-value
//! updates at once (each hashed leaf by leaf as its bytes arrive, checked against the
//! client's on-chain commitment, stored in SQLite).
//!
//! Passes, each best of `reps`, over the same `4·n·d` bytes:
//! - **raw keccak**: keccak-256 of each update's bytes as one message, on every core (rayon);
//! - **digest**: [`daemon::UpdateDigest`] over each update in 64 KiB pieces, on every core:
//!   the server's hashing without the network and the store;
//! - **HTTP ingestion**: `n` concurrent `PUT`s to the server on loopback, each accepted
//!   (stored anew in a fresh round, so nothing is skipped as already held).
//!
//! `cargo run --release -p daemon --example upload_bench -- [n] [d] [reps]` (default 16
//! 1048576 3); results in BENCHMARKS.md §1.

#![allow(clippy::print_stdout)]

use std::sync::Arc;
use std::time::Instant;

use alloy::primitives::{Address, B256};
use contracts::{Chain, DeployParams, Deployment, InProcessChain};
use daemon::{Binding, DaClient, DaService, Metrics, Store, UpdateDigest};
use rayon::prelude::*;
use step_vm::{Rule, Update, keccak256};

fn best<T>(reps: usize, mut f: impl FnMut() -> T) -> f64 {
    (0..reps)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<Result<_, _>>()?;
    let n = args.first().copied().unwrap_or(16);
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
    let bytes: Vec<Vec<u8>> = updates.iter().map(daemon::wire::encode).collect();
    let total = (4 * n * dim) as f64;

    let raw = best(reps, || {
        bytes
            .par_iter()
            .map(|b| keccak256(&[b]))
            .collect::<Vec<_>>()
    });
    let digest = best(reps, || {
        bytes
            .par_iter()
            .map(|b| {
                let mut d = UpdateDigest::new(dim);
                for piece in b.chunks(64 << 10) {
                    d.update(piece, "bench").expect("fits");
                }
                d.finish("bench").expect("complete").1
            })
            .collect::<Vec<_>>()
    });

    let chain = Arc::new(InProcessChain::new(2 + n));
    let a = chain.accounts().to_vec();
    let (d, _) = Deployment::deploy(Arc::clone(&chain), DeployParams::default()).await?;
    let clients: Vec<Address> = a[2..].to_vec();
    let dir = tempfile::tempdir()?;
    let store = Arc::new(Store::open(
        &dir.path().join("bench.sqlite"),
        &Binding {
            role: "aggregator".into(),
            chain_id: chain.chain_id().await?,
            registry: d.addresses().registry,
            account: a[1],
        },
    )?);
    let service = DaService::new(d.clone(), store, Metrics::new("aggregator"));
    let (addr, _) = daemon::serve(
        service.router(),
        "127.0.0.1:0".parse()?,
        std::future::pending(),
    )
    .await?;
    let base = format!("http://{addr}");
    let rule = Rule::FedAvg;
    let mut http = f64::INFINITY;
    for _ in 0..reps {
        let (round, _) = d
            .open_round(
                a[0],
                clients.clone(),
                u32::try_from(dim)?,
                a[1],
                600,
                (rule.id(), rule.params().into()),
            )
            .await?;
        for (i, u) in updates.iter().enumerate() {
            d.commit_update(
                clients[i],
                round,
                u32::try_from(i)?,
                B256::from(u.root()),
                1,
            )
            .await?;
        }
        let client = DaClient::new();
        let t = Instant::now();
        let uploads = updates.iter().enumerate().map(|(i, u)| {
            let (client, base) = (client.clone(), base.clone());
            async move {
                client
                    .upload(&base, round, u32::try_from(i).expect("small"), u)
                    .await
            }
        });
        for r in futures::future::join_all(uploads).await {
            r?;
        }
        http = http.min(t.elapsed().as_secs_f64());
    }

    let mb = |s: f64| total / s / 1e6;
    println!(
        "n = {n}, d = {dim}: {:.0} MB, best of {reps}, {} threads",
        total / 1e6,
        rayon::current_num_threads()
    );
    println!("| pass | time | throughput | share of raw keccak |");
    println!("|---|---|---|---|");
    for (name, s) in [
        ("raw keccak (one message per update)", raw),
        ("UpdateDigest (leaf by leaf, tree folded)", digest),
        ("HTTP ingestion (PUT, checked, stored)", http),
    ] {
        println!(
            "| {name} | {s:.3} s | {:.0} MB/s | {:.0}% |",
            mb(s),
            100.0 * raw / s
        );
    }
    Ok(())
}
