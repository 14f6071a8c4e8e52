//! `devnet`: a local network in one command (see the crate docs).

use clap::Parser;
use eyre::WrapErr as _;

#[derive(Debug, Parser)]
#[command(
    name = "devnet",
    version,
    about = "Deploy the contracts on the embedded chain, run an honest and a lying aggregator daemon, a challenger daemon and clients uploading real model files, and play an honest and a dishonest round end to end"
)]
struct Cli {
    #[command(flatten)]
    args: devnet::DevnetArgs,
    /// Print one JSON object instead of the human summary.
    #[arg(long)]
    json: bool,
    /// Log line format on stderr.
    #[arg(long, value_enum, default_value_t = daemon::logging::LogFormat::Human)]
    log_format: daemon::logging::LogFormat,
}

#[tokio::main]
async fn main() -> eyre::Result<()> {
    let cli = Cli::parse();
    daemon::logging::init(cli.log_format);
    let report = devnet::run(cli.args).await?;
    let out = if cli.json {
        serde_json::to_string_pretty(&report).wrap_err("encoding the report")?
    } else {
        let mut lines = vec![format!(
            "devnet on {}: {} clients, d = {}, keys in {:.1} s, {:.1} s in all",
            report.chain, report.clients, report.dim, report.keygen_seconds, report.wall_seconds
        )];
        for r in &report.rounds {
            lines.push(format!(
                "  round {} ({} aggregator): {} with {} participants, {} game(s), {:.1} s wall, {} s chain",
                r.round, r.aggregator, r.status, r.participants, r.games, r.wall_seconds, r.chain_seconds
            ));
        }
        lines.push(format!(
            "  tampered uploads refused: {}; challenger restarts: {}; challenger net: {} wei",
            report.uploads_refused, report.challenger_restarts, report.challenger_net_wei
        ));
        lines.join("\n")
    };
    #[allow(clippy::print_stdout)]
    {
        println!("{out}");
    }
    Ok(())
}
