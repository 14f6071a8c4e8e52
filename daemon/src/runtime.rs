//! What every role daemon does before its loop starts: attach to the deployment, open its
//! store, serve its metrics, make its proving keys, and listen for shutdown signals.

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::Address;
use arbiter::LeafProver;
use contracts::{Deployment, RpcChain};
use tokio::sync::watch;
use tracing::info;

use crate::config::{ChainConfig, DeploymentFile, ResolvedSettings};
use crate::{Binding, DaemonError, Metrics, Result, Store};

/// A daemon's started infrastructure.
#[derive(Debug)]
pub struct Started {
    /// The deployment, over the node.
    pub deployment: Deployment<RpcChain>,
    /// The account the daemon acts from.
    pub account: Address,
    /// Its store, keys, metrics and pacing.
    pub core: crate::Core,
    /// Turns true on SIGTERM / Ctrl-C.
    pub shutdown: watch::Receiver<bool>,
    /// The metrics server, if `metrics.listen` was given.
    pub metrics_server: Option<tokio::task::JoinHandle<()>>,
}

/// Attaches to the chain, opens `<data_dir>/<role>.sqlite`, starts the metrics server and the
/// signal listener, and generates the proving keys (with a spinner on a terminal).
///
/// # Errors
/// Configuration, the node, the store, the listener or key generation.
pub async fn start(
    role: &str,
    chain: &ChainConfig,
    settings: &ResolvedSettings,
) -> Result<Started> {
    let file = DeploymentFile::read(chain.deployment_path()?)?;
    let store = Arc::new(Store::open(
        &settings.data_dir.join(format!("{role}.sqlite")),
        &Binding {
            role: role.to_owned(),
            chain_id: file.chain_id,
            registry: file.addresses.registry,
            account: chain.signer()?.address(),
        },
    )?);
    // The store is the transaction journal: what was in flight when the daemon was killed is
    // waited for or rebroadcast, never sent a second time.
    let (deployment, account) = chain
        .attach_to(&file, Arc::clone(&store) as Arc<dyn contracts::TxJournal>)
        .await?;
    let metrics = Metrics::new(role);
    let shutdown = crate::shutdown_on_signals();
    let prover = Arc::new(prove_setup(settings.srs.as_deref())?);
    // Healthy only once the keys are ready.
    let metrics_server = match settings.metrics_listen {
        Some(listen) => {
            let (addr, task) = crate::serve(
                crate::http::metrics_router(metrics.clone()),
                listen,
                crate::until_true(shutdown.clone()),
            )
            .await?;
            info!(%addr, "metrics listening");
            Some(task)
        }
        None => None,
    };
    info!(%account, store = %settings.data_dir.display(), "{role} ready");
    Ok(Started {
        deployment,
        account,
        core: crate::Core {
            store,
            prover,
            metrics,
            pacing: settings.pacing,
        },
        shutdown,
        metrics_server,
    })
}

/// Generates the proving keys, with a spinner when stderr is a terminal.
///
/// # Errors
/// The ceremony file or key generation.
pub fn prove_setup(srs: Option<&std::path::Path>) -> Result<LeafProver> {
    let pb = spinner("generating the step circuits' proving keys");
    let prover = LeafProver::setup_from(srs)
        .map_err(|e| DaemonError::config("daemon.srs", e.to_string()))?;
    pb.finish_and_clear();
    Ok(prover)
}

/// A spinner on stderr for long work (key generation, aggregation, re-execution), drawn only
/// when stderr is a terminal; `finish_and_clear` it when done.
#[must_use]
pub fn spinner(message: impl Into<std::borrow::Cow<'static, str>>) -> indicatif::ProgressBar {
    let pb = indicatif::ProgressBar::new_spinner();
    pb.set_message(message);
    pb.enable_steady_tick(Duration::from_millis(120));
    pb
}
