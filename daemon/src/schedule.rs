//! The parts of a role daemon's loop that do not depend on the role: finding new rounds,
//! giving every active round one turn per tick with bounded concurrency, counting and
//! retrying failures, the balance gauges, and stopping on the shutdown flag. A role supplies
//! its decisions as a [`RoundRole`]; [`run_rounds`] drives it.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::Address;
use arbiter::LeafProver;
use contracts::{Chain, Deployment, RoundView};
use futures::StreamExt as _;
use tokio::sync::watch;
use tracing::{info, warn};

use crate::{DaemonError, Metrics, Result, Store, ether};

/// How a role daemon paces itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pacing {
    /// Wall time between two ticks.
    pub poll: Duration,
    /// Chain seconds after a round's commit phase before an update nobody serves is
    /// challenged for availability (clients upload after committing).
    pub upload_grace: u64,
    /// Rounds handled concurrently (re-executions, games, proofs).
    pub max_concurrent_rounds: usize,
}

impl Default for Pacing {
    fn default() -> Self {
        Self {
            poll: Duration::from_secs(2),
            upload_grace: 120,
            max_concurrent_rounds: 8,
        }
    }
}

/// What every role daemon holds besides its role: its store, proving keys, metrics and
/// pacing.
#[derive(Debug, Clone)]
pub struct Core {
    /// The database.
    pub store: Arc<Store>,
    /// The proving keys.
    pub prover: Arc<LeafProver>,
    /// The metrics.
    pub metrics: Metrics,
    /// The pacing.
    pub pacing: Pacing,
}

/// A role's decisions about its rounds; the loop around them is [`run_rounds`].
pub trait RoundRole: Sync {
    /// The chain.
    type Chain: Chain + 'static;
    /// What the role keeps in memory per round between ticks (a trace, a defence); rebuilt
    /// from the chain and the store after a restart.
    type Memory: Send;
    /// The role's error.
    type Error: std::fmt::Display + From<DaemonError> + From<contracts::ChainError> + Send;

    /// `aggregator` or `challenger`, for logs.
    fn name(&self) -> &'static str;
    /// The deployment it acts on.
    fn deployment(&self) -> &Deployment<Self::Chain>;
    /// The account it acts from.
    fn account(&self) -> Address;
    /// Its store, keys, metrics and pacing.
    fn core(&self) -> &Core;
    /// Whether it follows a newly opened round, and the phase it records for it.
    fn follows(&self, view: &RoundView) -> Option<&'static str>;
    /// One turn for `round`, recorded in `phase`.
    fn turn(
        &self,
        round: u64,
        phase: &str,
        memory: &mut Option<Self::Memory>,
    ) -> impl Future<Output = std::result::Result<(), Self::Error>> + Send;
    /// Whether `e` must stop the daemon (its store failed) rather than be retried.
    fn is_fatal(e: &Self::Error) -> bool;
}

/// Runs `role` until `shutdown` turns true; a tick in progress is finished first.
///
/// # Errors
/// The first fatal error (the store failing); every other failure is logged, counted in
/// `rpc_errors` and retried at the next tick.
pub async fn run_rounds<R: RoundRole>(
    role: &R,
    mut shutdown: watch::Receiver<bool>,
) -> std::result::Result<(), R::Error> {
    info!(account = %role.account(), "{} daemon started", role.name());
    let mut memory: BTreeMap<u64, R::Memory> = BTreeMap::new();
    loop {
        if *shutdown.borrow() {
            break;
        }
        tick(role, &mut memory).await?;
        tokio::select! {
            () = tokio::time::sleep(role.core().pacing.poll) => {}
            _ = shutdown.changed() => {}
        }
    }
    info!("{} daemon stopped", role.name());
    Ok(())
}

/// One pass: follow new rounds, give every active round its turn, update the gauges.
///
/// # Errors
/// A fatal error.
pub async fn tick<R: RoundRole>(
    role: &R,
    memory: &mut BTreeMap<u64, R::Memory>,
) -> std::result::Result<(), R::Error> {
    let core = role.core();
    let retry = |what: &str, e: R::Error| -> std::result::Result<(), R::Error> {
        if R::is_fatal(&e) {
            return Err(e);
        }
        core.metrics.rpc_errors.inc();
        warn!(error = %e, "{what} failed; retrying at the next tick");
        Ok(())
    };
    match follow_new_rounds(role.deployment(), &core.store, |v| role.follows(v)).await {
        Ok(new) => {
            for round in new {
                info!(round, "following a new round");
                core.metrics.rounds_seen.inc();
            }
        }
        Err(FollowError::Store(e)) => return Err(e.into()),
        Err(FollowError::Chain(e)) => retry("following new rounds", e.into())?,
    }
    let results = round_turns(
        &core.store,
        memory,
        core.pacing.max_concurrent_rounds,
        |round, phase, state| async move {
            let mut state = state;
            let r = role.turn(round, &phase, &mut state).await;
            (state, r)
        },
    )
    .await?;
    for (round, r) in results {
        if let Err(e) = r {
            retry(&format!("round {round}"), e)?;
        }
    }
    let (d, me) = (role.deployment(), role.account());
    if let Ok(b) = d.chain().balance(me).await {
        core.metrics.balance_ether.set(ether(b));
    }
    if let Ok(c) = d.credit(me).await {
        core.metrics.credit_ether.set(ether(c));
    }
    Ok(())
}

/// The store cursor holding the next round id to look at.
const NEXT_ROUND: &str = "next_round";

/// Rounds opened since the last call (from the store's cursor up to the registry's
/// `roundCount`), each recorded with the phase `follow` gives its view (unless it gives
/// `None`); returns the ids newly followed. The cursor moves past each round as it is read, so
/// a restart never reads a round twice nor skips one.
///
/// # Errors
/// Chain access or the store.
pub async fn follow_new_rounds<C: Chain>(
    deployment: &Deployment<C>,
    store: &Store,
    follow: impl Fn(&RoundView) -> Option<&'static str>,
) -> std::result::Result<Vec<u64>, FollowError> {
    let count = deployment.round_count().await?;
    let mut next = store.cursor(NEXT_ROUND)?.max(1);
    let mut new = Vec::new();
    while next <= count {
        let view = deployment.round(next).await?;
        if let Some(phase) = follow(&view)
            && store.phase(next)?.is_none()
        {
            store.set_phase(next, phase)?;
            new.push(next);
        }
        next += 1;
        store.set_cursor(NEXT_ROUND, next)?;
    }
    Ok(new)
}

/// Why following new rounds failed: the chain (retry next tick) or the store (fatal).
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    /// Chain access.
    #[error(transparent)]
    Chain(#[from] contracts::ChainError),
    /// The store.
    #[error(transparent)]
    Store(#[from] crate::DaemonError),
}

/// One turn for each of the store's active rounds, at most `limit` at once. Each round's
/// in-memory state `M` (a trace, a defence) is taken out of `memory` for its turn and put back
/// after it; returns each round's result.
///
/// # Errors
/// Reading the active rounds from the store.
pub async fn round_turns<M, E, F, Fut>(
    store: &Store,
    memory: &mut BTreeMap<u64, M>,
    limit: usize,
    turn: F,
) -> Result<Vec<(u64, std::result::Result<(), E>)>>
where
    F: Fn(u64, String, Option<M>) -> Fut,
    Fut: Future<Output = (Option<M>, std::result::Result<(), E>)>,
{
    let tasks: Vec<_> = store
        .active_rounds()?
        .into_iter()
        .map(|(round, phase)| (round, phase, memory.remove(&round)))
        .collect();
    let done: Vec<_> = futures::stream::iter(tasks)
        .map(|(round, phase, state)| {
            let fut = turn(round, phase, state);
            async move { (round, fut.await) }
        })
        .buffer_unordered(limit.max(1))
        .collect()
        .await;
    Ok(done
        .into_iter()
        .map(|(round, (state, result))| {
            if let Some(s) = state {
                memory.insert(round, s);
            }
            (round, result)
        })
        .collect())
}
