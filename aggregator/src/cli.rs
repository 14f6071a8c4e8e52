//! The `aggregator` command line: `run` (the daemon), `deploy` (the contracts, writing the
//! deployment file) and `open-round`. Settings come from defaults, a TOML file (`--config`),
//! `FL_*` environment variables and flags, in that order of precedence (lowest first); an
//! invalid one is refused with its name.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use alloy::primitives::Address;
use contracts::{Chain, DeployParams, Deployment};
use daemon::config::{
    ChainConfig, DaemonSettings, DeploymentFile, ResolvedSettings, RuleArgs, read_toml,
};
use daemon::logging::LogFormat;
use daemon::{DaService, DaemonError};
use serde::Deserialize;
use tracing::info;

use crate::{Aggregator, AggregatorDaemon, Result};

/// The aggregator: aggregates rounds in the step VM, posts the committed result with a bond,
/// serves its clients' updates, and defends every dispute.
#[derive(Debug, clap::Parser)]
#[command(name = "aggregator", version)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Log line format on stderr (`RUST_LOG` filters; default `info`).
    #[arg(long = "log-format", value_enum, global = true, env = "FL_LOG_FORMAT", default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
}

/// The aggregator's commands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Run the daemon: follow this account's rounds, accept uploads, post, defend, finalise.
    Run(RunArgs),
    /// Deploy the contracts and write the deployment file the other commands read.
    Deploy(DeployArgs),
    /// Open a round with this account (or `--aggregator`) as its aggregator.
    OpenRound(OpenRoundArgs),
}

/// `aggregator run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// TOML file with `[chain]`, `[daemon]` and `[aggregator]` sections (keys as the flags,
    /// with `_`; see the README's example).
    #[arg(long, env = "FL_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Chain connection.
    #[command(flatten)]
    pub chain: ChainConfig,
    /// Settings every daemon has.
    #[command(flatten)]
    pub daemon: DaemonSettings,
    /// The aggregator's own settings.
    #[command(flatten)]
    pub settings: Settings,
    /// TEST ONLY (builds with the `adversary` feature): corrupt this step of every round, to
    /// be caught by a challenger.
    #[cfg(feature = "adversary")]
    #[arg(long = "adversary.corrupt-step", hide = true, value_name = "STEP")]
    pub corrupt_step: Option<u64>,
}

/// The aggregator's own settings (flags, `FL_*` variables, or the `[aggregator]` section).
#[derive(Debug, Clone, Default, clap::Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address of the data-availability HTTP API, with `/metrics` and `/healthz` (default
    /// 127.0.0.1:7070).
    #[arg(long = "http.listen", env = "FL_HTTP_LISTEN", value_name = "ADDR")]
    pub http_listen: Option<SocketAddr>,
}

/// The config file of `aggregator run`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default)]
    chain: ChainConfig,
    #[serde(default)]
    daemon: DaemonSettings,
    #[serde(default)]
    aggregator: Settings,
}

/// `aggregator run`'s settings after layering and validation.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// Chain connection.
    pub chain: ChainConfig,
    /// Settings every daemon has.
    pub daemon: ResolvedSettings,
    /// HTTP API address.
    pub http_listen: SocketAddr,
}

impl RunArgs {
    /// Layers the flags and environment over the config file and the defaults, and validates.
    ///
    /// # Errors
    /// The file cannot be read, or a setting is invalid (named).
    pub fn resolve(&self) -> Result<Resolved> {
        let file: FileConfig = match &self.config {
            Some(path) => read_toml(path)?,
            None => FileConfig::default(),
        };
        let chain = self.chain.clone().or(file.chain);
        chain.validate()?;
        Ok(Resolved {
            chain,
            daemon: self.daemon.clone().or(file.daemon).resolve("aggregator")?,
            http_listen: self
                .settings
                .http_listen
                .or(file.aggregator.http_listen)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 7070))),
        })
    }
}

/// Runs a command.
///
/// # Errors
/// What the command failed at, naming the setting, file or transaction.
pub async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Run(args) => run_daemon(args).await,
        Command::Deploy(args) => deploy(args).await,
        Command::OpenRound(args) => open_round(args).await,
    }
}

async fn run_daemon(args: RunArgs) -> Result<()> {
    let cfg = args.resolve()?;
    let started = daemon::start("aggregator", &cfg.chain, &cfg.daemon).await?;
    let service = DaService::new(
        started.deployment.clone(),
        Arc::clone(&started.core.store),
        started.core.metrics.clone(),
    );
    let (addr, server) = daemon::serve(
        service.router(),
        cfg.http_listen,
        daemon::until_true(started.shutdown.clone()),
    )
    .await?;
    info!(%addr, "data-availability API listening (uploads, updates, /metrics, /healthz)");
    let (deployment, account) = (started.deployment, started.account);
    #[cfg(feature = "adversary")]
    let aggregator = match args.corrupt_step {
        Some(step) => {
            tracing::warn!(
                step,
                "ADVERSARY BUILD: this aggregator corrupts a step of every round it aggregates"
            );
            Aggregator::lying(
                deployment,
                account,
                Arc::new(step_vm::Fault::output(step, 0, 3)),
            )
        }
        None => Aggregator::new(deployment, account),
    };
    #[cfg(not(feature = "adversary"))]
    let aggregator = Aggregator::new(deployment, account);
    AggregatorDaemon::new(aggregator, started.core)
        .run(started.shutdown)
        .await?;
    let _ = server.await;
    if let Some(t) = started.metrics_server {
        let _ = t.await;
    }
    Ok(())
}

/// `aggregator deploy`.
#[derive(Debug, clap::Args)]
pub struct DeployArgs {
    /// Chain connection; `--chain.deployment` (or `FL_CHAIN_DEPLOYMENT`) names the file to
    /// write, unless `--out` does.
    #[command(flatten)]
    pub chain: ChainConfig,
    /// Where to write the deployment file (default: `--chain.deployment`, else
    /// `deployment.json`).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Deployment parameters as JSON (bonds in wei, windows in seconds; every field of
    /// `DeployParams`); default: the built-in defaults.
    #[arg(long, value_name = "FILE")]
    pub params: Option<PathBuf>,
    /// Print one JSON object instead of the human summary.
    #[arg(long)]
    pub json: bool,
}

async fn deploy(args: DeployArgs) -> Result<()> {
    let params: DeployParams = match &args.params {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| DaemonError::Io {
                path: path.display().to_string(),
                source,
            })?;
            serde_json::from_str(&text)
                .map_err(|e| DaemonError::config("params", format!("{}: {e}", path.display())))?
        }
        None => DeployParams::default(),
    };
    let out = args
        .out
        .clone()
        .or_else(|| args.chain.deployment.clone())
        .unwrap_or_else(|| "deployment.json".into());
    let (chain, _) = args.chain.connect()?;
    let chain_id = chain.chain_id().await?;
    let (deployment, gas) = Deployment::deploy(chain, params).await?;
    let file = DeploymentFile {
        chain_id,
        addresses: deployment.addresses(),
        params,
    };
    file.write(&out)?;
    let total: u64 = gas.iter().map(|g| g.gas).sum();
    let out = if args.json {
        serde_json::json!({ "deployment": out.display().to_string(), "file": file, "gas": gas, "total_gas": total }).to_string()
    } else {
        format!(
            "deployed on chain {chain_id}: registry {}, game {}, arbiter {} ({} transactions, {total} gas); wrote {}",
            file.addresses.registry,
            file.addresses.game,
            file.addresses.arbiter,
            gas.len(),
            out.display()
        )
    };
    print_line(&out);
    Ok(())
}

/// `aggregator open-round`.
#[derive(Debug, clap::Args)]
pub struct OpenRoundArgs {
    /// Chain connection and deployment file.
    #[command(flatten)]
    pub chain: ChainConfig,
    /// The clients' addresses, in client-index order (comma-separated).
    #[arg(long, value_delimiter = ',', required = true, value_name = "ADDR,...")]
    pub clients: Vec<Address>,
    /// Values per update (the model's dimension).
    #[arg(long)]
    pub dim: u32,
    /// The round's aggregator (default: this account).
    #[arg(long, value_name = "ADDR")]
    pub aggregator: Option<Address>,
    /// Seconds clients have to commit.
    #[arg(long = "commit-period", default_value_t = 600, value_name = "SECONDS")]
    pub commit_period: u64,
    /// The rule.
    #[command(flatten)]
    pub rule: RuleArgs,
    /// Print one JSON object instead of the round id.
    #[arg(long)]
    pub json: bool,
}

async fn open_round(args: OpenRoundArgs) -> Result<()> {
    args.rule
        .validate(args.clients.len())
        .map_err(|m| DaemonError::config("rule", m))?;
    let (deployment, account) = args.chain.attach().await?;
    let rule = args.rule.rule();
    let (round, receipt) = deployment
        .open_round(
            account,
            args.clients.clone(),
            args.dim,
            args.aggregator.unwrap_or(account),
            args.commit_period,
            (rule.id(), rule.params().into()),
        )
        .await?;
    let out = if args.json {
        serde_json::json!({ "round": round, "gas": receipt.gas_used, "rule": rule.to_string() })
            .to_string()
    } else {
        format!(
            "opened round {round} ({rule}, {} clients, dim {})",
            args.clients.len(),
            args.dim
        )
    };
    print_line(&out);
    Ok(())
}

/// The command's result on stdout (logs go to stderr).
fn print_line(line: &str) {
    #[allow(clippy::print_stdout)]
    {
        println!("{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    fn parse(args: &[&str]) -> RunArgs {
        let mut argv = vec!["aggregator", "run"];
        argv.extend_from_slice(args);
        match Cli::parse_from(argv).command {
            Command::Run(r) => r,
            other => panic!("{other:?}"),
        }
    }

    const KEY: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

    #[test]
    fn the_example_config_resolves_and_flags_override_it() {
        let example = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../docs/examples/aggregator.toml"
        );
        let r = parse(&[
            "--config",
            example,
            "--chain.private-key",
            KEY,
            "--poll-ms",
            "50",
        ])
        .resolve()
        .unwrap();
        assert_eq!(r.http_listen.to_string(), "127.0.0.1:7070");
        assert_eq!(r.daemon.pacing.poll, std::time::Duration::from_millis(50));
        assert_eq!(r.daemon.pacing.upload_grace, 120);
        assert_eq!(r.daemon.data_dir, PathBuf::from("aggregator-data"));
        assert_eq!(r.chain.rpc_url.as_deref(), Some("http://127.0.0.1:8545"));
    }

    #[test]
    fn invalid_settings_name_their_field() {
        let e = parse(&["--chain.private-key", KEY])
            .resolve()
            .unwrap_err()
            .to_string();
        assert!(e.contains("chain.rpc_url"), "{e}");
        let base = [
            "--chain.rpc-url",
            "http://x:1",
            "--chain.private-key",
            KEY,
            "--chain.deployment",
            "d.json",
        ];
        let with = |extra: &[&str]| {
            let mut a = base.to_vec();
            a.extend_from_slice(extra);
            parse(&a).resolve().unwrap_err().to_string()
        };
        assert!(with(&["--poll-ms", "1"]).contains("daemon.poll_ms"));
        assert!(with(&["--max-concurrent-rounds", "0"]).contains("daemon.max_concurrent_rounds"));
        assert!(with(&["--srs", "/nonexistent"]).contains("daemon.srs"));
        assert!(with(&["--chain.confirmations", "0"]).contains("chain.confirmations"));
    }
}
