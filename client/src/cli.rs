//! The `fl-client` command line: the client's side of a round, from a model file.
//!
//! `fl-client submit <FILE> --round R --weight W --aggregator-url URL` commits and uploads it.
//! `fl-client inspect <FILE>` reads a model update (safetensors, `.npy`, `.npz`), quantizes it
//! to the step VM's fixed point and prints its tensors (canonical order, shapes, element
//! types), the values saturated, and the update root a client commits on chain (`--json` for
//! scripts).

use std::path::PathBuf;

use crate::{ClientError, Result};
use clap::{Parser, Subcommand};

/// The FL client's side of a round, from a model file.
#[derive(Debug, Parser)]
#[command(
    name = "fl-client",
    version,
    about = "The FL client's side of a round, from a model file"
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The client's commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read a model update, quantize it and print its commitment.
    Inspect {
        /// The model file: `.safetensors` (float32, float16, bfloat16), `.npy` or `.npz`
        /// (float32, float16). Tensors are taken in name order, each row-major.
        file: PathBuf,
        /// Print one JSON object instead of the human summary.
        #[arg(long)]
        json: bool,
    },
    /// Read a model update, commit its root and weight on chain, and upload it to the
    /// round's aggregator (which checks it against the commitment). Re-running after a crash
    /// skips the commit if the same root is already committed.
    Submit {
        /// The model file (as for `inspect`).
        file: PathBuf,
        /// The round.
        #[arg(long)]
        round: u64,
        /// The update's weight: the number of training examples (1..=16,843,009).
        #[arg(long)]
        weight: u32,
        /// Base URL of the aggregator's data-availability API.
        #[arg(long = "aggregator-url", env = "FL_AGGREGATOR_URL", value_name = "URL")]
        aggregator_url: String,
        /// Chain connection and deployment file.
        #[command(flatten)]
        chain: daemon::ChainConfig,
        /// Print one JSON object instead of the human summary.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a command; the result goes to stdout, logs to stderr.
///
/// # Errors
/// The file, the chain, or the upload, with what failed.
pub async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Inspect { file, json } => inspect(&file, json),
        Command::Submit {
            file,
            round,
            weight,
            aggregator_url,
            chain,
            json,
        } => {
            let model = crate::read_model(&file)?;
            let quantized = crate::quantize(&model)?;
            if quantized.saturated_total() > 0 {
                tracing::warn!(
                    saturated = quantized.saturated_total(),
                    "values outside [-32768, 32768) were saturated"
                );
            }
            let (deployment, account) = chain.attach().await?;
            let done = crate::submit(
                &deployment,
                account,
                round,
                &quantized.update,
                weight,
                &aggregator_url,
            )
            .await?;
            let out = if json {
                serde_json::to_string(&done)
                    .map_err(|e| ClientError::Upload(format!("encoding the summary: {e}")))?
            } else {
                format!(
                    "round {round}: client {} committed {} ({}) and uploaded {} values to {aggregator_url}",
                    done.client_index,
                    done.update_root,
                    done.commit_gas
                        .map_or_else(|| "already committed".to_owned(), |g| format!("{g} gas")),
                    model.values.len()
                )
            };
            #[allow(clippy::print_stdout)]
            {
                println!("{out}");
            }
            Ok(())
        }
    }
}

fn inspect(file: &std::path::Path, json: bool) -> Result<()> {
    let model = crate::read_model(file)?;
    let quantized = crate::quantize(&model)?;
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
        .map_err(|e| ClientError::Upload(format!("encoding the summary: {e}")))?
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
