//! A local network in one command (`cargo run -p devnet`): deploys the contracts on the
//! embedded in-process revm chain, starts an honest aggregator daemon, a lying one and a
//! challenger daemon (the same daemon code `aggregator run` and `challenger run` use, each
//! with its SQLite store and the aggregators with their HTTP data-availability servers),
//! writes one safetensors model update per client, and plays two rounds end to end:
//!
//! 1. **honest**: every client reads its file, quantizes it, commits and uploads (one of them
//!    first uploads a tampered update, which the server refuses); the challenger fetches every
//!    update, re-executes, agrees and stays silent; the aggregator finalises (with
//!    `--kill before-post` it is killed before posting and restarted on its store).
//! 2. **dishonest**: the lying aggregator corrupts one step; the challenger disputes, the two
//!    daemons bisect to that step, the challenger proves it and the round is rejected; with
//!    `--kill mid-bisection|mid-proof|before-claim` the challenger is killed there and
//!    restarted on its store.
//!
//! A clock task advances the chain's time (`--speed` chain seconds per wall second), since
//! neither the in-process chain nor Anvil moves its clock by itself.
//!
//! With `--anvil PATH` the same two rounds run over JSON-RPC against a local Anvil, every role
//! a **separate process** ([`processes`]): the devnet binary re-executes itself as
//! `devnet aggregator deploy|open-round|run`, `devnet challenger run` and
//! `devnet fl-client submit` (the same command lines as the `aggregator`, `challenger` and
//! `fl-client` binaries), and `--kill` SIGKILLs the process.

mod embedded;
mod models;
mod processes;
mod rounds;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arbiter::LeafProver;
use contracts::DeployParams;

pub use models::{ModelFiles, write_client_models};

/// Errors of a devnet run.
#[derive(Debug, thiserror::Error)]
pub enum DevnetError {
    /// Invalid arguments.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Chain access.
    #[error(transparent)]
    Chain(#[from] contracts::ChainError),
    /// Daemon infrastructure.
    #[error(transparent)]
    Daemon(#[from] daemon::DaemonError),
    /// A client failed.
    #[error(transparent)]
    Client(#[from] client::ClientError),
    /// Prover set-up.
    #[error(transparent)]
    Arbiter(#[from] arbiter::ArbiterError),
    /// Circuit set-up.
    #[error(transparent)]
    Circuit(#[from] circuits::CircuitError),
    /// Reading a round.
    #[error(transparent)]
    Protocol(#[from] protocol::ProtocolError),
    /// A round did not end the way the protocol guarantees.
    #[error("{0}")]
    Violation(String),
}

/// Result alias.
pub type Result<T, E = DevnetError> = std::result::Result<T, E>;

/// Arguments of a devnet run.
#[derive(Debug, Clone, clap::Args)]
pub struct DevnetArgs {
    /// Clients taking part in each round.
    #[arg(long, default_value_t = 4)]
    pub clients: usize,
    /// Directory for the clients' model files and the daemons' stores (default: a fresh
    /// temporary directory, removed at the end).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Chain seconds that pass per wall-clock second.
    #[arg(long, default_value_t = 200)]
    pub speed: u64,
    /// Kill a daemon at this point and restart it on its store (repeatable; `--anvil`: a
    /// SIGKILL of its process). The run fails unless the honest side still wins.
    #[arg(long = "kill", value_enum, value_name = "POINT")]
    pub kill: Vec<KillPoint>,
    /// Wall-clock limit for the whole run, in seconds.
    #[arg(long, default_value_t = 600)]
    pub timeout: u64,
    /// Seed of the model files.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Run over JSON-RPC against an Anvil started from this binary (e.g.
    /// `contracts/node_modules/.bin/anvil` after `./scripts/setup.sh`), every role a separate
    /// process.
    #[arg(long, value_name = "PATH")]
    pub anvil: Option<PathBuf>,
    /// The executable the role processes run as (`<exe> aggregator run`, ...); default: this
    /// devnet binary. Tests pass the built devnet binary.
    #[arg(long, hide = true, value_name = "PATH")]
    pub exe: Option<PathBuf>,
}

impl DevnetArgs {
    fn validate(&self) -> Result<()> {
        if !(1..=64).contains(&self.clients) {
            return Err(DevnetError::Config(format!(
                "--clients {} must be in 1..=64",
                self.clients
            )));
        }
        if let Some(a) = &self.anvil
            && !a.is_file()
        {
            return Err(DevnetError::Config(format!(
                "--anvil {} is not a file (run ./scripts/setup.sh to install it)",
                a.display()
            )));
        }
        if !(1..=10_000).contains(&self.speed) {
            return Err(DevnetError::Config(format!(
                "--speed {} must be in 1..=10000 chain seconds per second",
                self.speed
            )));
        }
        Ok(())
    }
}

/// Where `--kill` kills a daemon (and restarts it on its store).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KillPoint {
    /// The honest aggregator, once every client has committed and before it posts.
    BeforePost,
    /// The challenger, once its game has bisected past its first position.
    MidBisection,
    /// The challenger, while the disputed step awaits its proof.
    MidProof,
    /// The challenger, once its game is won and its payout not claimed yet (best effort: the
    /// window is one tick).
    BeforeClaim,
}

/// Which daemon a [`KillPoint`] kills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Victim {
    /// The honest round's aggregator.
    HonestAggregator,
    /// The challenger.
    Challenger,
}

impl KillPoint {
    pub(crate) fn victim(self) -> Victim {
        match self {
            Self::BeforePost => Victim::HonestAggregator,
            Self::MidBisection | Self::MidProof | Self::BeforeClaim => Victim::Challenger,
        }
    }
}

/// How one round ended.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RoundReport {
    /// Round id.
    pub round: u64,
    /// `honest` or `dishonest`.
    pub aggregator: &'static str,
    /// Final status.
    pub status: String,
    /// Participants.
    pub participants: u32,
    /// Games played on it.
    pub games: usize,
    /// Wall seconds from opening to the final status.
    pub wall_seconds: f64,
    /// Chain seconds from opening to the final status.
    pub chain_seconds: u64,
}

/// What a devnet run did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DevnetReport {
    /// The chain backend.
    pub chain: String,
    /// The model dimension (values per update).
    pub dim: usize,
    /// Clients per round.
    pub clients: usize,
    /// The two rounds.
    pub rounds: Vec<RoundReport>,
    /// Uploads the aggregator refused (the tampered one).
    pub uploads_refused: usize,
    /// The kill points reached, in order (each daemon killed there and restarted).
    pub kills: Vec<KillPoint>,
    /// Net wei the challenger made (bonds and payouts minus fees).
    pub challenger_net_wei: String,
    /// Seconds until the daemons were ready: generating proving keys (with `--anvil`, until
    /// every role process answered its health check).
    pub keygen_seconds: f64,
    /// Wall seconds of the whole run.
    pub wall_seconds: f64,
}

/// Deployment parameters of the devnet: the defaults with windows short enough to play a
/// round in chain minutes, yet long enough (at the default speed) for a killed daemon to
/// restart, which regenerates its proving keys, and still post or challenge in time.
#[must_use]
pub fn devnet_params() -> DeployParams {
    DeployParams {
        availability_window: 120,
        resolve_window: 120,
        challenge_window: 1_800,
        post_window: 3_600,
        clock: 3_600,
        extension: 600,
        ..DeployParams::default()
    }
}

const COMMIT_PERIOD: u64 = 300;
const UPLOAD_GRACE: u64 = 30;
const POLL: Duration = Duration::from_millis(100);

/// Runs the devnet (on the in-process chain, or on Anvil with `--anvil`), generating proving
/// keys from the INSECURE development SRS.
///
/// # Errors
/// Invalid arguments, or any failure of the network (reported with what failed).
pub async fn run(args: DevnetArgs) -> Result<DevnetReport> {
    args.validate()?;
    if args.anvil.is_some() {
        // Each role process makes its own keys.
        return processes::run(args).await;
    }
    let started = Instant::now();
    let prover = Arc::new(LeafProver::setup(&circuits::Srs::insecure_dev())?);
    let keygen_seconds = started.elapsed().as_secs_f64();
    embedded::run(args, prover, keygen_seconds).await
}

/// Like [`run`] with proving keys made beforehand (ignored with `--anvil`, where every role
/// process makes its own).
///
/// # Errors
/// As [`run`].
pub async fn run_with_prover(
    args: DevnetArgs,
    prover: Arc<LeafProver>,
    keygen_seconds: f64,
) -> Result<DevnetReport> {
    args.validate()?;
    if args.anvil.is_some() {
        return processes::run(args).await;
    }
    embedded::run(args, prover, keygen_seconds).await
}

/// Uploads `update` with its first value changed, as client 0 of `round`, and returns 1 once
/// the server has refused it (nothing stored, nothing else lost).
///
/// # Errors
/// [`DevnetError::Violation`] if the server accepts it.
async fn tampered_upload_refused(url: &str, round: u64, update: &step_vm::Update) -> Result<usize> {
    let mut values = update.values().to_vec();
    values[0] = values[0].wrapping_add(1);
    let tampered = step_vm::Update::from_fixed(values);
    match daemon::DaClient::new()
        .upload(url, round, 0, &tampered)
        .await
    {
        Err(e) => {
            tracing::info!(error = %e, "tampered upload refused, as it must be");
            Ok(1)
        }
        Ok(()) => Err(DevnetError::Violation(
            "a tampered upload was accepted".into(),
        )),
    }
}
