//! `fl-client`: the client's side of a round, from a model file.
//!
//! `fl-client inspect <FILE>` reads a model update (safetensors, `.npy`, `.npz`), quantizes it
//! to the step VM's fixed point and prints its tensors (canonical order, shapes, element
//! types), the values saturated, and the update root a client commits on chain (`--json` for
//! scripts).

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use eyre::WrapErr as _;

#[derive(Debug, Parser)]
#[command(
    name = "fl-client",
    version,
    about = "The FL client's side of a round, from a model file"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Read a model update, quantize it and print its commitment.
    Inspect {
        /// The model file: `.safetensors` (float32, float16, bfloat16), `.npy` or `.npz`
        /// (float32, float16). Tensors are taken in name order, each row-major.
        file: PathBuf,
        /// Print one JSON object instead of the human summary.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> eyre::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    match Cli::parse().command {
        Command::Inspect { file, json } => inspect(&file, json),
    }
}

fn inspect(file: &std::path::Path, json: bool) -> eyre::Result<()> {
    let model = client::read_model(file)?;
    let quantized = client::quantize(&model)?;
    let root = format!("0x{}", hex::encode(quantized.update.root()));
    let tensors: Vec<serde_json::Value> = model
        .tensors
        .iter()
        .zip(&quantized.saturated)
        .map(|(t, s)| serde_json::json!({ "tensor": t, "saturated": s }))
        .collect();
    let out = if json {
        serde_json::to_string(&serde_json::json!({
            "file": file.display().to_string(),
            "dim": model.values.len(),
            "tensors": tensors,
            "saturated": quantized.saturated_total(),
            "update_root": root,
        }))
        .wrap_err("encoding the summary")?
    } else {
        let mut lines = vec![format!(
            "{}: {} tensors, {} values, {} saturated",
            file.display(),
            model.tensors.len(),
            model.values.len(),
            quantized.saturated_total()
        )];
        for (t, s) in model.tensors.iter().zip(&quantized.saturated) {
            lines.push(format!(
                "  {:<40} {:?} {:?} at {} ({} saturated)",
                t.name, t.dtype, t.shape, t.offset, s
            ));
        }
        lines.push(format!("update root {root}"));
        lines.join("\n")
    };
    #[allow(clippy::print_stdout)]
    {
        println!("{out}");
    }
    Ok(())
}
