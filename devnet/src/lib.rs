//! A local network in one command (`cargo run -p devnet`): deploys the contracts on the
//! embedded in-process revm chain, starts an honest aggregator daemon, a lying one and a
//! challenger daemon (the same daemon code `aggregator run` and `challenger run` use, each
//! with its SQLite store and the aggregators with their HTTP data-availability servers),
//! writes one safetensors model update per client, and plays two rounds end to end:
//!
//! 1. **honest**: every client reads its file, quantizes it, commits and uploads (one of them
//!    first uploads a tampered update, which the server refuses); the challenger fetches every
//!    update, re-executes, agrees and stays silent; the aggregator finalises.
//! 2. **dishonest**: the lying aggregator corrupts one step; the challenger disputes, the two
//!    daemons bisect to that step, the challenger proves it and the round is rejected; with
//!    `--restart-challenger` the challenger is killed mid-game and restarted on its store.
//!
//! A clock task advances the chain's time (`--speed` chain seconds per wall second), since
//! the in-process chain's clock only moves on request.

mod models;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aggregator::{Aggregator, AggregatorDaemon};
use alloy::primitives::{Address, U256};
use arbiter::LeafProver;
use challenger::{Challenger, ChallengerDaemon};
use circuits::Srs;
use contracts::{Chain, DeployParams, Deployment, InProcessChain};
use daemon::{Binding, DaService, Metrics, Store};
use protocol::RoundStatus;
use step_vm::{Fault, LANES, Rule};
use tokio::sync::watch;
use tracing::{info, warn};

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
    /// Kill the challenger daemon mid-game and restart it on its store.
    #[arg(long)]
    pub restart_challenger: bool,
    /// Wall-clock limit for the whole run, in seconds.
    #[arg(long, default_value_t = 600)]
    pub timeout: u64,
    /// Seed of the model files.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

impl DevnetArgs {
    fn validate(&self) -> Result<()> {
        if !(1..=64).contains(&self.clients) {
            return Err(DevnetError::Config(format!(
                "--clients {} must be in 1..=64",
                self.clients
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
    /// Times the challenger daemon was killed and restarted.
    pub challenger_restarts: usize,
    /// Net wei the challenger made (bonds and payouts minus fees).
    pub challenger_net_wei: String,
    /// Seconds spent generating proving keys.
    pub keygen_seconds: f64,
    /// Wall seconds of the whole run.
    pub wall_seconds: f64,
}

/// Deployment parameters of the devnet: the defaults with windows short enough to play a
/// round in chain minutes.
#[must_use]
pub fn devnet_params() -> DeployParams {
    DeployParams {
        availability_window: 120,
        resolve_window: 120,
        challenge_window: 900,
        post_window: 900,
        ..DeployParams::default()
    }
}

const COMMIT_PERIOD: u64 = 300;
const UPLOAD_GRACE: u64 = 30;
const POLL: Duration = Duration::from_millis(100);

/// A running daemon task and how to stop it.
struct Running {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Runs the devnet on the in-process chain, generating proving keys from the INSECURE
/// development SRS.
///
/// # Errors
/// Invalid arguments, or any failure of the network (reported with what failed).
pub async fn run(args: DevnetArgs) -> Result<DevnetReport> {
    args.validate()?;
    let started = Instant::now();
    let prover = Arc::new(LeafProver::setup(&Srs::insecure_dev())?);
    let keygen_seconds = started.elapsed().as_secs_f64();
    run_with_prover(args, prover, keygen_seconds).await
}

/// Like [`run`] with proving keys made beforehand.
///
/// # Errors
/// As [`run`].
#[allow(clippy::too_many_lines)]
pub async fn run_with_prover(
    args: DevnetArgs,
    prover: Arc<LeafProver>,
    keygen_seconds: f64,
) -> Result<DevnetReport> {
    args.validate()?;
    let started = Instant::now();
    let temp = tempfile::tempdir().map_err(|source| daemon::DaemonError::Io {
        path: "temporary directory".into(),
        source,
    })?;
    let dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| temp.path().to_owned());
    let files = write_client_models(&dir.join("models"), args.clients, args.seed)?;
    let dim = files.dim;

    let n = args.clients;
    let chain = Arc::new(InProcessChain::new(4 + n));
    let accounts = chain.accounts().to_vec();
    let (coordinator, honest, liar, watcher) = (accounts[0], accounts[1], accounts[2], accounts[3]);
    let clients: Vec<Address> = accounts[4..].to_vec();
    let (deployment, _) = Deployment::deploy(Arc::clone(&chain), devnet_params()).await?;
    info!(registry = %deployment.addresses().registry, "contracts deployed on the in-process chain");

    // The clock: the in-process chain's time moves only on request.
    let (clock_stop, mut clock_rx) = watch::channel(false);
    let clock_chain = Arc::clone(&chain);
    let step = (args.speed / 20).max(1);
    let clock = tokio::spawn(async move {
        loop {
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(50)) => {}
                _ = clock_rx.changed() => break,
            }
            if let Err(e) = clock_chain.advance_time(step).await {
                warn!(error = %e, "clock could not advance");
            }
        }
    });

    let chain_id = chain.chain_id().await?;
    let binding = |role: &str, account: Address| Binding {
        role: role.to_owned(),
        chain_id,
        registry: deployment.addresses().registry,
        account,
    };
    let open_store = |name: &str, role: &str, account: Address| -> Result<Arc<Store>> {
        Ok(Arc::new(Store::open(
            &dir.join(format!("{name}.sqlite")),
            &binding(role, account),
        )?))
    };

    // Two aggregators: an honest one and one that corrupts the middle step of its rounds.
    let rule = Rule::FedAvg;
    let steps = rule.steps(n, dim);
    let fault = Fault::output(steps / 2, (args.seed % LANES as u64) as usize, 3);
    let mut urls = Vec::new();
    let mut aggregators = Vec::new();
    for (name, account, lying) in [
        ("honest-aggregator", honest, false),
        ("lying-aggregator", liar, true),
    ] {
        let store = open_store(name, "aggregator", account)?;
        let metrics = Metrics::new("aggregator");
        let service = DaService::new(deployment.clone(), Arc::clone(&store), metrics.clone());
        let (stop, rx) = watch::channel(false);
        let mut http_rx = rx.clone();
        let (addr, _) = daemon::serve(
            service.router(),
            "127.0.0.1:0"
                .parse()
                .map_err(|e| DevnetError::Config(format!("{e}")))?,
            async move {
                let _ = http_rx.changed().await;
            },
        )
        .await?;
        urls.push(format!("http://{addr}"));
        let agg = if lying {
            Aggregator::lying(deployment.clone(), account, Arc::new(fault))
        } else {
            Aggregator::new(deployment.clone(), account)
        };
        let policy = aggregator::DaemonPolicy {
            poll: POLL,
            upload_grace: UPLOAD_GRACE,
            max_concurrent_rounds: 4,
        };
        let d = AggregatorDaemon::new(agg, store, Arc::clone(&prover), metrics.clone(), policy);
        let task = tokio::spawn(async move {
            if let Err(e) = d.run(rx).await {
                warn!(error = %e, "aggregator daemon failed");
            }
        });
        info!(name, url = %urls.last().map_or("", String::as_str), "aggregator daemon started");
        aggregators.push((Running { stop, task }, metrics));
    }

    let challenger_policy = challenger::DaemonPolicy {
        poll: POLL,
        upload_grace: UPLOAD_GRACE,
        max_concurrent_rounds: 4,
        sources: urls.clone(),
    };
    let start_challenger = |metrics: &Metrics| -> Result<Running> {
        let store = open_store("challenger", "challenger", watcher)?;
        let d = ChallengerDaemon::new(
            Challenger::new(deployment.clone(), watcher),
            store,
            Arc::clone(&prover),
            metrics.clone(),
            challenger_policy.clone(),
        );
        let (stop, rx) = watch::channel(false);
        let task = tokio::spawn(async move {
            if let Err(e) = d.run(rx).await {
                warn!(error = %e, "challenger daemon failed");
            }
        });
        Ok(Running { stop, task })
    };
    let challenger_metrics = Metrics::new("challenger");
    let mut challenger = start_challenger(&challenger_metrics)?;
    let challenger_before = chain.balance(watcher).await?;

    // Two rounds, one per aggregator; every client reads its file and submits to both.
    let dim32 = u32::try_from(dim).map_err(|_| DevnetError::Config("dim".into()))?;
    let mut rounds = Vec::new();
    for (kind, aggregator) in [("honest", honest), ("dishonest", liar)] {
        let (round, _) = deployment
            .open_round(
                coordinator,
                clients.clone(),
                dim32,
                aggregator,
                COMMIT_PERIOD,
                (rule.id(), rule.params().into()),
            )
            .await?;
        info!(round, kind, "round opened");
        rounds.push((round, kind, Instant::now(), chain.timestamp().await?));
    }
    let mut refused = 0;
    for (i, (path, &account)) in files.paths.iter().zip(&clients).enumerate() {
        let model = client::read_model(path)?;
        let quantized = client::quantize(&model)?;
        let weight = 100 + u32::try_from(i).unwrap_or(0) * 10;
        for (r, (round, _, _, _)) in rounds.iter().enumerate() {
            let url = &urls[r];
            if i == 0 && r == 0 {
                // A tampered upload: refused against the commitment, nothing else lost.
                client::submit(&deployment, account, *round, &quantized.update, weight, url)
                    .await?;
                let mut values = quantized.update.values().to_vec();
                values[0] = values[0].wrapping_add(1);
                let tampered = step_vm::Update::from_fixed(values);
                match daemon::DaClient::new()
                    .upload(url, *round, 0, &tampered)
                    .await
                {
                    Err(e) => {
                        info!(error = %e, "tampered upload refused, as it must be");
                        refused += 1;
                    }
                    Ok(()) => {
                        return Err(DevnetError::Violation(
                            "a tampered upload was accepted".into(),
                        ));
                    }
                }
                continue;
            }
            client::submit(&deployment, account, *round, &quantized.update, weight, url).await?;
        }
    }

    // Wait for both rounds to end (and the challenger to collect), restarting it mid-game if
    // asked.
    let deadline = Instant::now() + Duration::from_secs(args.timeout);
    let mut restarts = 0;
    let mut ended: Vec<Option<RoundReport>> = vec![None; rounds.len()];
    let challenger_store_path = dir.join("challenger.sqlite");
    loop {
        if Instant::now() > deadline {
            return Err(DevnetError::Violation(format!(
                "the rounds did not end within {} s (statuses: {:?})",
                args.timeout,
                ended.iter().map(Option::is_some).collect::<Vec<_>>()
            )));
        }
        if args.restart_challenger && restarts == 0 {
            let (round, ..) = rounds[1];
            for (game, by) in deployment.challenged_games(round).await? {
                if by == watcher && deployment.game(game).await?.lo > 0 {
                    warn!(game, "killing the challenger daemon mid-game");
                    challenger.task.abort();
                    let _ = (&mut challenger.task).await;
                    challenger = start_challenger(&challenger_metrics)?;
                    restarts += 1;
                    info!(store = %challenger_store_path.display(), "challenger daemon restarted on its store");
                    break;
                }
            }
        }
        for (slot, (round, kind, opened, opened_chain)) in ended.iter_mut().zip(&rounds) {
            if slot.is_some() {
                continue;
            }
            let view = deployment.round(*round).await?;
            let status = RoundStatus::of(*round, &view)?;
            let games = deployment.challenged_games(*round).await?;
            let all_paid =
                futures::future::join_all(games.iter().map(|(g, _)| deployment.claimable(*g)))
                    .await
                    .into_iter()
                    .all(|c| c.is_ok_and(|c| c.is_zero()));
            let over = match status {
                RoundStatus::Finalized | RoundStatus::Expired => true,
                RoundStatus::Rejected => view.settled && all_paid,
                _ => false,
            };
            if over {
                *slot = Some(RoundReport {
                    round: *round,
                    aggregator: kind,
                    status: format!("{status:?}"),
                    participants: view.participants,
                    games: games.len(),
                    wall_seconds: opened.elapsed().as_secs_f64(),
                    chain_seconds: chain.timestamp().await?.saturating_sub(*opened_chain),
                });
                info!(round, kind, status = ?status, "round ended");
            }
        }
        if ended.iter().all(Option::is_some) {
            break;
        }
        tokio::time::sleep(POLL).await;
    }
    // Let the daemons take their last turn (withdrawals), then stop them gracefully.
    tokio::time::sleep(POLL * 5).await;
    challenger.stop().await;
    for (r, _) in aggregators {
        r.stop().await;
    }
    let _ = clock_stop.send(true);
    let _ = clock.await;
    let after = chain.balance(watcher).await?;
    let rounds: Vec<RoundReport> = ended.into_iter().flatten().collect();
    for r in &rounds {
        let want = if r.aggregator == "honest" {
            "Finalized"
        } else {
            "Rejected"
        };
        if r.status != want {
            return Err(DevnetError::Violation(format!(
                "round {} ({} aggregator) ended {}, not {want}",
                r.round, r.aggregator, r.status
            )));
        }
    }
    Ok(DevnetReport {
        chain: chain.name(),
        dim,
        clients: n,
        rounds,
        uploads_refused: refused,
        challenger_restarts: restarts,
        challenger_net_wei: signed(after, challenger_before),
        keygen_seconds,
        wall_seconds: started.elapsed().as_secs_f64(),
    })
}

fn signed(after: U256, before: U256) -> String {
    if after >= before {
        (after - before).to_string()
    } else {
        format!("-{}", before - after)
    }
}
