//! The `aggregator` command line: `run` (the daemon), `deploy` (the contracts, writing the
//! deployment file) and `open-round`. Settings come from defaults, a TOML file (`--config`),
//! `FL_*` environment variables and flags, in that order of precedence (lowest first); an
//! invalid one is refused with its name.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::Address;
use arbiter::LeafProver;
use contracts::{Chain, DeployParams, Deployment};
use daemon::config::{ChainConfig, DeploymentFile, RuleArgs, read_toml};
use daemon::logging::LogFormat;
use daemon::{Binding, DaService, DaemonError, Metrics, Store};
use serde::Deserialize;
use tracing::info;

use crate::{Aggregator, AggregatorDaemon, DaemonPolicy, Result};

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
    /// TOML file with `[chain]` and `[aggregator]` sections (keys as the flags, with `_`).
    #[arg(long, env = "FL_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Chain connection.
    #[command(flatten)]
    pub chain: ChainConfig,
    /// The daemon's own settings.
    #[command(flatten)]
    pub settings: Settings,
    /// TEST ONLY (builds with the `adversary` feature): corrupt this step of every round, to
    /// be caught by a challenger.
    #[cfg(feature = "adversary")]
    #[arg(long = "adversary.corrupt-step", hide = true, value_name = "STEP")]
    pub corrupt_step: Option<u64>,
}

/// Settings of `aggregator run` (flags, `FL_*` variables, or the `[aggregator]` section).
#[derive(Debug, Clone, Default, clap::Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Directory of the daemon's database (default `./aggregator-data`).
    #[arg(long = "data-dir", env = "FL_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address of the data-availability HTTP API, with `/metrics` (default 127.0.0.1:7070).
    #[arg(long = "http.listen", env = "FL_HTTP_LISTEN", value_name = "ADDR")]
    pub http_listen: Option<SocketAddr>,
    /// A separate address serving only `/metrics` (optional).
    #[arg(
        long = "metrics.listen",
        env = "FL_METRICS_LISTEN",
        value_name = "ADDR"
    )]
    pub metrics_listen: Option<SocketAddr>,
    /// Milliseconds between two passes over the rounds (default 2000, at least 10).
    #[arg(long = "poll-ms", env = "FL_POLL_MS", value_name = "MS")]
    pub poll_ms: Option<u64>,
    /// Chain seconds after a round's commit phase before updates nobody uploaded are
    /// challenged for availability (default 120).
    #[arg(long = "upload-grace", env = "FL_UPLOAD_GRACE", value_name = "SECONDS")]
    pub upload_grace: Option<u64>,
    /// Rounds handled concurrently (default 8, at least 1).
    #[arg(
        long = "max-concurrent-rounds",
        env = "FL_MAX_CONCURRENT_ROUNDS",
        value_name = "N"
    )]
    pub max_concurrent_rounds: Option<usize>,
    /// KZG ceremony file (halo2 params format); default: the INSECURE development setup.
    #[arg(long = "srs", env = "FL_SRS", value_name = "FILE")]
    pub srs: Option<PathBuf>,
}

/// The config file of `aggregator run`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default)]
    chain: ChainConfig,
    #[serde(default)]
    aggregator: Settings,
}

/// `aggregator run`'s settings after layering and validation.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// Chain connection.
    pub chain: ChainConfig,
    /// Database directory.
    pub data_dir: PathBuf,
    /// HTTP API address.
    pub http_listen: SocketAddr,
    /// Metrics-only address.
    pub metrics_listen: Option<SocketAddr>,
    /// Loop pacing.
    pub policy: DaemonPolicy,
    /// Ceremony file.
    pub srs: Option<PathBuf>,
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
        let s = self.settings.clone();
        let f = file.aggregator;
        let chain = self.chain.clone().or(file.chain);
        chain.rpc_url()?;
        chain.signer()?;
        chain.deployment_path()?;
        let poll_ms = s.poll_ms.or(f.poll_ms).unwrap_or(2_000);
        if poll_ms < 10 {
            return Err(DaemonError::config(
                "aggregator.poll_ms",
                format!("{poll_ms} is below 10"),
            )
            .into());
        }
        let max = s
            .max_concurrent_rounds
            .or(f.max_concurrent_rounds)
            .unwrap_or(8);
        if max == 0 {
            return Err(DaemonError::config(
                "aggregator.max_concurrent_rounds",
                "must be at least 1",
            )
            .into());
        }
        let srs = s.srs.or(f.srs);
        if let Some(p) = &srs
            && !p.is_file()
        {
            return Err(DaemonError::config(
                "aggregator.srs",
                format!("{} is not a readable file", p.display()),
            )
            .into());
        }
        Ok(Resolved {
            chain,
            data_dir: s
                .data_dir
                .or(f.data_dir)
                .unwrap_or_else(|| "aggregator-data".into()),
            http_listen: s
                .http_listen
                .or(f.http_listen)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 7070))),
            metrics_listen: s.metrics_listen.or(f.metrics_listen),
            policy: DaemonPolicy {
                poll: Duration::from_millis(poll_ms),
                upload_grace: s.upload_grace.or(f.upload_grace).unwrap_or(120),
                max_concurrent_rounds: max,
            },
            srs,
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
    let (deployment, account) = cfg.chain.attach().await?;
    let chain_id = deployment.chain().chain_id().await?;
    let store = Arc::new(Store::open(
        &cfg.data_dir.join("aggregator.sqlite"),
        &Binding {
            role: "aggregator".into(),
            chain_id,
            registry: deployment.addresses().registry,
            account,
        },
    )?);
    let metrics = Metrics::new("aggregator");
    let shutdown = daemon::shutdown_on_signals();
    let service = DaService::new(deployment.clone(), Arc::clone(&store), metrics.clone());
    let (addr, server) = daemon::serve(
        service.router(),
        cfg.http_listen,
        daemon::until_true(shutdown.clone()),
    )
    .await?;
    info!(%addr, "data-availability API listening (uploads, updates, /metrics, /healthz)");
    let metrics_server = match cfg.metrics_listen {
        Some(listen) => {
            let (addr, task) = daemon::serve(
                daemon::http::metrics_router(metrics.clone()),
                listen,
                daemon::until_true(shutdown.clone()),
            )
            .await?;
            info!(%addr, "metrics listening");
            Some(task)
        }
        None => None,
    };
    let prover = Arc::new(prove_setup(cfg.srs.as_deref())?);
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
    AggregatorDaemon::new(aggregator, store, prover, metrics, cfg.policy)
        .run(shutdown)
        .await?;
    let _ = server.await;
    if let Some(t) = metrics_server {
        let _ = t.await;
    }
    Ok(())
}

/// Generates the proving keys, with a spinner when stderr is a terminal.
///
/// # Errors
/// The ceremony file or key generation.
pub fn prove_setup(srs: Option<&std::path::Path>) -> Result<LeafProver> {
    let pb = indicatif::ProgressBar::new_spinner();
    pb.set_message("generating the step circuits' proving keys");
    pb.enable_steady_tick(Duration::from_millis(120));
    let prover = LeafProver::setup_from(srs).map_err(protocol::ProtocolError::from)?;
    pb.finish_and_clear();
    Ok(prover)
}

/// `aggregator deploy`.
#[derive(Debug, clap::Args)]
pub struct DeployArgs {
    /// Chain connection (the deployment file is the output here).
    #[command(flatten)]
    pub chain: ChainConfig,
    /// Where to write the deployment file.
    #[arg(long, default_value = "deployment.json", value_name = "FILE")]
    pub out: PathBuf,
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
    let (chain, _) = args.chain.connect()?;
    let chain_id = chain.chain_id().await?;
    let (deployment, gas) = Deployment::deploy(chain, params).await?;
    let file = DeploymentFile {
        chain_id,
        addresses: deployment.addresses(),
        params,
    };
    file.write(&args.out)?;
    let total: u64 = gas.iter().map(|g| g.gas).sum();
    let out = if args.json {
        serde_json::json!({ "deployment": args.out.display().to_string(), "file": file, "gas": gas, "total_gas": total }).to_string()
    } else {
        format!(
            "deployed on chain {chain_id}: registry {}, game {}, arbiter {} ({} transactions, {total} gas); wrote {}",
            file.addresses.registry,
            file.addresses.game,
            file.addresses.arbiter,
            gas.len(),
            args.out.display()
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
