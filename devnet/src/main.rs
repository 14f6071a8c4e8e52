//! `devnet`: a local network in one command (see the crate docs). The hidden subcommands
//! `aggregator`, `challenger` and `fl-client` are the roles' command lines, for the processes
//! `devnet --anvil` starts.

use clap::Parser;
use eyre::WrapErr as _;

#[derive(Debug, Parser)]
#[command(
    name = "devnet",
    version,
    args_conflicts_with_subcommands = true,
    about = "Deploy the contracts, run an honest and a lying aggregator daemon, a challenger daemon and clients uploading real model files, and play an honest and a dishonest round end to end (on the embedded chain; with --anvil, over JSON-RPC with every role a separate process)"
)]
struct Cli {
    #[command(subcommand)]
    role: Option<Role>,
    #[command(flatten)]
    args: devnet::DevnetArgs,
    /// Print one JSON object instead of the human summary.
    #[arg(long)]
    json: bool,
    /// Log line format on stderr.
    #[arg(long, value_enum, global = true, env = "FL_LOG_FORMAT", default_value_t = daemon::logging::LogFormat::Human)]
    log_format: daemon::logging::LogFormat,
}

#[derive(Debug, clap::Subcommand)]
enum Role {
    /// The `aggregator` command line.
    #[command(hide = true)]
    Aggregator {
        #[command(subcommand)]
        command: aggregator::cli::Command,
    },
    /// The `challenger` command line.
    #[command(hide = true)]
    Challenger {
        #[command(subcommand)]
        command: challenger::cli::Command,
    },
    /// The `fl-client` command line.
    #[command(hide = true, name = "fl-client")]
    FlClient {
        #[command(subcommand)]
        command: client::cli::Command,
    },
}

#[tokio::main]
async fn main() -> eyre::Result<()> {
    let cli = Cli::parse();
    daemon::logging::init(cli.log_format);
    match cli.role {
        Some(Role::Aggregator { command }) => {
            return Ok(aggregator::cli::run(aggregator::cli::Cli {
                command,
                log_format: cli.log_format,
            })
            .await?);
        }
        Some(Role::Challenger { command }) => {
            return Ok(challenger::cli::run(challenger::cli::Cli {
                command,
                log_format: cli.log_format,
            })
            .await?);
        }
        Some(Role::FlClient { command }) => {
            return Ok(client::cli::run(client::cli::Cli { command }).await?);
        }
        None => {}
    }
    let report = devnet::run(cli.args).await?;
    let out = if cli.json {
        serde_json::to_string_pretty(&report).wrap_err("encoding the report")?
    } else {
        let mut lines = vec![format!(
            "devnet on {}: {} clients, d = {}, daemons ready in {:.1} s, {:.1} s in all",
            report.chain, report.clients, report.dim, report.keygen_seconds, report.wall_seconds
        )];
        for r in &report.rounds {
            lines.push(format!(
                "  round {} ({} aggregator): {} with {} participants, {} game(s), {:.1} s wall, {} s chain",
                r.round, r.aggregator, r.status, r.participants, r.games, r.wall_seconds, r.chain_seconds
            ));
        }
        lines.push(format!(
            "  tampered uploads refused: {}; daemons killed and restarted at: {:?}; challenger net: {} wei",
            report.uploads_refused, report.kills, report.challenger_net_wei
        ));
        lines.join("\n")
    };
    #[allow(clippy::print_stdout)]
    {
        println!("{out}");
    }
    Ok(())
}
