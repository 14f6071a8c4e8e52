//! The devnet in one process on the embedded in-process chain: the daemons as tasks, the
//! clients as library calls (the same code the binaries run).

use std::sync::Arc;
use std::time::{Duration, Instant};

use aggregator::{Aggregator, AggregatorDaemon};
use alloy::primitives::Address;
use arbiter::LeafProver;
use challenger::{Challenger, ChallengerDaemon};
use contracts::{Chain, Deployment, InProcessChain};
use daemon::{Binding, DaService, Metrics, Store};
use step_vm::{Fault, LANES, Rule};
use tokio::sync::watch;
use tracing::{info, warn};

use crate::rounds::{Clock, Opened, await_rounds, check_outcomes, signed};
use crate::{
    COMMIT_PERIOD, DevnetArgs, DevnetError, DevnetReport, POLL, Result, UPLOAD_GRACE, Victim,
    devnet_params, write_client_models,
};

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

/// Runs the devnet in this process.
#[allow(clippy::too_many_lines)]
pub(crate) async fn run(
    args: DevnetArgs,
    prover: Arc<LeafProver>,
    keygen_seconds: f64,
) -> Result<DevnetReport> {
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
    let clock = Clock::start(Arc::clone(&chain), args.speed);
    let (server_stop, _) = watch::channel(false);

    let chain_id = chain.chain_id().await?;
    let open_store = |name: &str, role: &str, account: Address| -> Result<Arc<Store>> {
        Ok(Arc::new(Store::open(
            &dir.join(format!("{name}.sqlite")),
            &Binding {
                role: role.to_owned(),
                chain_id,
                registry: deployment.addresses().registry,
                account,
            },
        )?))
    };

    // Two aggregators: an honest one and one that corrupts the middle step of its rounds.
    let rule = Rule::FedAvg;
    let steps = rule.steps(n, dim);
    #[allow(clippy::cast_possible_truncation)]
    let fault = Fault::output(steps / 2, (args.seed % LANES as u64) as usize, 3);
    let mut urls = Vec::new();
    let mut stores = Vec::new();
    for name in ["honest-aggregator", "lying-aggregator"] {
        let account = if name == "honest-aggregator" {
            honest
        } else {
            liar
        };
        let store = open_store(name, "aggregator", account)?;
        let service = DaService::new(
            deployment.clone(),
            Arc::clone(&store),
            Metrics::new("aggregator"),
        );
        // The HTTP servers outlive a killed daemon loop here (one process); `--anvil` kills
        // the whole process.
        let (addr, _) = daemon::serve(
            service.router(),
            std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            daemon::until_true(server_stop.subscribe()),
        )
        .await?;
        info!(name, url = %addr, "data-availability API listening");
        urls.push(format!("http://{addr}"));
        stores.push(store);
    }
    let core = |store: Arc<Store>, role: &str| daemon::Core {
        store,
        prover: Arc::clone(&prover),
        metrics: Metrics::new(role),
        pacing: daemon::Pacing {
            poll: POLL,
            upload_grace: UPLOAD_GRACE,
            max_concurrent_rounds: 4,
        },
    };
    let start_aggregator = |lying: bool| -> Running {
        let (account, store) = if lying {
            (liar, &stores[1])
        } else {
            (honest, &stores[0])
        };
        let agg = if lying {
            Aggregator::lying(deployment.clone(), account, Arc::new(fault))
        } else {
            Aggregator::new(deployment.clone(), account)
        };
        let d = AggregatorDaemon::new(agg, core(Arc::clone(store), "aggregator"));
        let (stop, rx) = watch::channel(false);
        let task = tokio::spawn(async move {
            if let Err(e) = d.run(rx).await {
                warn!(error = %e, "aggregator daemon failed");
            }
        });
        Running { stop, task }
    };
    let mut honest_daemon = start_aggregator(false);
    let liar_daemon = start_aggregator(true);

    let start_challenger = || -> Result<Running> {
        let store = open_store("challenger", "challenger", watcher)?;
        let d = ChallengerDaemon::new(
            Challenger::new(deployment.clone(), watcher),
            core(store, "challenger"),
            urls.clone(),
        );
        let (stop, rx) = watch::channel(false);
        let task = tokio::spawn(async move {
            if let Err(e) = d.run(rx).await {
                warn!(error = %e, "challenger daemon failed");
            }
        });
        Ok(Running { stop, task })
    };
    let mut challenger = start_challenger()?;
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
        rounds.push(Opened {
            round,
            kind,
            at: Instant::now(),
            chain_at: chain.timestamp().await?,
        });
    }
    let mut refused = 0;
    for (i, (path, &account)) in files.paths.iter().zip(&clients).enumerate() {
        let model = client::read_model(path)?;
        let quantized = client::quantize(&model)?;
        let weight = 100 + u32::try_from(i).unwrap_or(0) * 10;
        for (r, opened) in rounds.iter().enumerate() {
            client::submit(
                &deployment,
                account,
                opened.round,
                &quantized.update,
                weight,
                &urls[r],
            )
            .await?;
            if i == 0 && r == 0 {
                refused +=
                    crate::tampered_upload_refused(&urls[r], opened.round, &quantized.update)
                        .await?;
            }
        }
    }

    let mut kill = |victim: Victim| -> Result<()> {
        match victim {
            Victim::Challenger => {
                challenger.task.abort();
                challenger = start_challenger()?;
            }
            Victim::HonestAggregator => {
                honest_daemon.task.abort();
                honest_daemon = start_aggregator(false);
            }
        }
        info!(?victim, "daemon restarted on its store");
        Ok(())
    };
    let (reports, kills) = await_rounds(
        &deployment,
        &rounds,
        watcher,
        Duration::from_secs(args.timeout),
        &args.kill,
        &mut kill,
    )
    .await?;
    // Let the daemons take their last turn (withdrawals), then stop them gracefully.
    tokio::time::sleep(POLL * 5).await;
    challenger.stop().await;
    honest_daemon.stop().await;
    liar_daemon.stop().await;
    let _ = server_stop.send(true);
    clock.stop().await;
    check_outcomes(&reports)?;
    let after = chain.balance(watcher).await?;
    Ok(DevnetReport {
        chain: chain.name(),
        dim,
        clients: n,
        rounds: reports,
        uploads_refused: refused,
        kills,
        challenger_net_wei: signed(after, challenger_before),
        keygen_seconds,
        wall_seconds: started.elapsed().as_secs_f64(),
    })
}
