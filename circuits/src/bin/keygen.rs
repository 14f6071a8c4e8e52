//! `keygen`: regenerates the step circuits' Solidity verifiers and pinned verifying-key
//! fingerprints, reproducibly, from the development SRS (INSECURE, fixed seed) or a ceremony
//! file. `--check` regenerates in memory and fails if the files on disk differ.

use std::path::PathBuf;
use std::time::Instant;

use circuits::{Srs, StepProver, layout_stats};
use clap::Parser;
use eyre::{WrapErr, bail};
use step_vm::StepKind;

/// Generate the step verifiers and key fingerprints.
#[derive(Debug, Parser)]
#[command(name = "keygen", about)]
struct Args {
    /// Directory of the generated Solidity verifiers.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../contracts/src/generated"))]
    out: PathBuf,
    /// Directory of the pinned verifying-key fingerprints.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/keys"))]
    keys: PathBuf,
    /// A KZG ceremony file in halo2 params format (default: the INSECURE development SRS).
    #[arg(long)]
    srs: Option<PathBuf>,
    /// Do not write: exit non-zero if the files on disk differ from a fresh generation.
    #[arg(long)]
    check: bool,
}

fn main() -> eyre::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let srs = match &args.srs {
        Some(path) => Srs::read(path)?,
        None => {
            eprintln!(
                "WARNING: INSECURE development SRS (fixed public seed {:#x}): anyone can forge proofs \
                 against these verifiers. For development and tests only; pass --srs <ceremony file> \
                 for a deployment.",
                circuits::DEV_SRS_SEED
            );
            Srs::insecure_dev()
        }
    };
    let mut stale = Vec::new();
    for kind in StepKind::PROVEN {
        let started = Instant::now();
        let prover = StepProver::setup(kind, &srs)?;
        let keygen = started.elapsed();
        let files = [
            (
                args.out.join(format!("{}Verifier.sol", kind.name())),
                prover.solidity_verifier()?,
            ),
            (
                args.keys.join(format!("{}.vk.keccak", kind.name())),
                format!("{}\n", prover.vk_fingerprint()),
            ),
        ];
        for (path, content) in &files {
            if args.check {
                let on_disk = std::fs::read_to_string(path).unwrap_or_default();
                if on_disk != *content {
                    stale.push(path.display().to_string());
                }
            } else {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)
                        .wrap_err_with(|| format!("creating {}", dir.display()))?;
                }
                std::fs::write(path, content)
                    .wrap_err_with(|| format!("writing {}", path.display()))?;
            }
        }
        let stats = layout_stats(kind);
        eprintln!(
            "{:<10} k = {}  advice columns {:?}  advice cells {} (lookups {})  instances {}  keygen {:.2} s  Solidity {} bytes  vk {}",
            kind.name(),
            prover.config().k,
            prover.config().num_advice_per_phase,
            stats.advice_cells,
            stats.lookup_cells,
            prover.num_instances(),
            keygen.as_secs_f64(),
            files[0].1.len(),
            prover.vk_fingerprint()
        );
    }
    if !stale.is_empty() {
        bail!(
            "generated files are stale (run `cargo run -p circuits --bin keygen`): {}",
            stale.join(", ")
        );
    }
    Ok(())
}
