//! `aggregator run`: the aggregator as a long-lived daemon over any [`Chain`], structured as
//! op-challenger is: a **monitor** finds the rounds this account aggregates (and remembers how
//! far each got in the [`Store`]), a **scheduler** gives every active round one turn per tick
//! (bounded concurrency), and each round's turn drives its phase: answer availability
//! challenges on the uploads held, challenge the updates nobody uploaded, aggregate and post
//! once the participant set is frozen, then discover and defend every game with the
//! role-agnostic player, finalise, and withdraw what was won.
//!
//! Every decision is taken from the chain's state at that tick and the store, never from
//! memory alone: killed at any moment and restarted on the same store, the daemon recomputes
//! its trace from the stored uploads and carries on.

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::Address;
use arbiter::LeafProver;
use contracts::Chain;
use contracts::{Deployment, RoundView};
use daemon::{Metrics, RoundRole, Store};
use protocol::{RoundStatus, Turn, settle_unanswered};
use tokio::sync::watch;
use tracing::{info, warn};

use crate::{Aggregator, AggregatorError, Result, RoundDefence};

/// How the daemon paces itself.
#[derive(Debug, Clone, Copy)]
pub struct DaemonPolicy {
    /// Wall time between two ticks.
    pub poll: Duration,
    /// Chain seconds after the commit phase closes before updates nobody uploaded are
    /// challenged (clients upload after committing).
    pub upload_grace: u64,
    /// Rounds handled concurrently.
    pub max_concurrent_rounds: usize,
}

impl Default for DaemonPolicy {
    fn default() -> Self {
        Self {
            poll: Duration::from_secs(2),
            upload_grace: 120,
            max_concurrent_rounds: 8,
        }
    }
}

/// The aggregator daemon.
pub struct AggregatorDaemon<C> {
    aggregator: Aggregator<C>,
    store: Arc<Store>,
    prover: Arc<LeafProver>,
    metrics: Metrics,
    policy: DaemonPolicy,
}

impl<C> std::fmt::Debug for AggregatorDaemon<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AggregatorDaemon")
            .field("account", &self.aggregator.account)
            .finish_non_exhaustive()
    }
}

/// Phases recorded in the store.
const COMMITTING: &str = "committing";
const POSTED: &str = "posted";
const DONE: &str = "done";

impl<C: Chain + 'static> AggregatorDaemon<C> {
    /// A daemon acting as `aggregator`, with its `store`, proving with `prover`.
    #[must_use]
    pub fn new(
        aggregator: Aggregator<C>,
        store: Arc<Store>,
        prover: Arc<LeafProver>,
        metrics: Metrics,
        policy: DaemonPolicy,
    ) -> Self {
        Self {
            aggregator,
            store,
            prover,
            metrics,
            policy,
        }
    }

    /// Runs until `shutdown` turns true; a tick in progress is finished first (graceful).
    ///
    /// # Errors
    /// Only the store failing; chain and protocol failures are logged, counted and retried at
    /// the next tick.
    pub async fn run(self, shutdown: watch::Receiver<bool>) -> Result<()> {
        daemon::run_rounds(&self, shutdown).await
    }
}

impl<C: Chain + 'static> RoundRole for AggregatorDaemon<C> {
    type Chain = C;
    type Memory = RoundDefence<C>;
    type Error = AggregatorError;

    fn name(&self) -> &'static str {
        "aggregator"
    }
    fn deployment(&self) -> &Deployment<C> {
        &self.aggregator.deployment
    }
    fn account(&self) -> Address {
        self.aggregator.account
    }
    fn store(&self) -> &Store {
        &self.store
    }
    fn metrics(&self) -> &Metrics {
        &self.metrics
    }
    fn poll(&self) -> Duration {
        self.policy.poll
    }
    fn max_concurrent_rounds(&self) -> usize {
        self.policy.max_concurrent_rounds
    }
    /// The rounds that name this account as their aggregator.
    fn follows(&self, view: &RoundView) -> Option<&'static str> {
        (view.aggregator == self.aggregator.account).then_some(COMMITTING)
    }
    async fn turn(
        &self,
        round: u64,
        phase: &str,
        defence: &mut Option<RoundDefence<C>>,
    ) -> Result<()> {
        self.round_turn(round, phase, defence).await
    }
    fn is_fatal(e: &AggregatorError) -> bool {
        matches!(
            e,
            AggregatorError::Daemon(daemon::DaemonError::Store { .. }) | AggregatorError::Fatal(_)
        )
    }
}

impl<C: Chain + 'static> AggregatorDaemon<C> {
    async fn round_turn(
        &self,
        round: u64,
        phase: &str,
        defence: &mut Option<RoundDefence<C>>,
    ) -> Result<()> {
        let d = &self.aggregator.deployment;
        let view = d.round(round).await?;
        let status = RoundStatus::of(round, &view)?;
        let now = d.chain().timestamp().await?;
        match status {
            RoundStatus::Committing => {
                let store: &Store = &self.store;
                for r in self.aggregator.answer_availability(round, store).await? {
                    info!(round, gas = r.gas_used, "revealed a challenged segment");
                }
                let closed = view
                    .availabilityDeadline
                    .saturating_sub(d.params().availability_window);
                if now >= closed + self.policy.upload_grace && now < view.availabilityDeadline {
                    for (client, _) in self.aggregator.challenge_unavailable(round, store).await? {
                        warn!(
                            round,
                            client,
                            "no upload from a committed client; challenged its availability"
                        );
                        self.metrics.availability_challenges.inc();
                    }
                }
                if now >= view.postDeadline {
                    d.expire_round(self.aggregator.account, round).await?;
                    return Ok(());
                }
                if now >= view.postOpensAt {
                    settle_unanswered(d, self.aggregator.account, round).await?;
                    let started = std::time::Instant::now();
                    let posted = self.aggregator.aggregate_and_post(round, store).await?;
                    self.metrics
                        .execute_seconds
                        .observe(started.elapsed().as_secs_f64());
                    info!(round, gas = posted.receipt.gas_used, root = %step_vm::hex_digest(&posted.trace.output_root()), "result posted");
                    self.store.set_phase(round, POSTED)?;
                    *defence = Some(self.aggregator.defence(
                        round,
                        posted.trace,
                        Arc::clone(&self.prover),
                    ));
                }
            }
            RoundStatus::Posted | RoundStatus::Rejected => {
                self.defend(round, defence).await?;
                let window_over = now >= view.postedAt + d.params().challenge_window;
                if status == RoundStatus::Posted && window_over && view.openGames == 0 {
                    self.aggregator.finalize(round).await?;
                    info!(round, "round finalised");
                } else if status == RoundStatus::Rejected
                    && defence.as_ref().is_none_or(RoundDefence::all_resolved)
                {
                    self.finish(round, "rejected").await?;
                }
            }
            RoundStatus::Finalized => {
                if phase == POSTED && defence.is_none() {
                    // Restarted after the post: games may still need claiming; nothing to move.
                }
                self.finish(round, "finalized").await?;
            }
            RoundStatus::Expired => self.finish(round, "expired").await?,
        }
        Ok(())
    }

    /// One move in every game of the round (rebuilding the trace from the stored uploads
    /// after a restart).
    async fn defend(&self, round: u64, defence: &mut Option<RoundDefence<C>>) -> Result<()> {
        if defence.is_none() {
            info!(round, "rebuilding the posted trace from the stored uploads");
            let trace = self.aggregator.recover(round, &*self.store).await?;
            *defence = Some(
                self.aggregator
                    .defence(round, trace, Arc::clone(&self.prover)),
            );
        }
        let Some(defence) = defence.as_mut() else {
            return Ok(());
        };
        let known = defence.games().len();
        for (game, turn) in defence.step().await {
            match turn {
                Ok(Turn::Moved { action, prove, .. }) => {
                    self.metrics
                        .moves
                        .get_or_create(&Metrics::label("action", action))
                        .inc();
                    if let Some(p) = prove {
                        self.metrics.proof_seconds.observe(p.as_secs_f64());
                    }
                }
                Ok(Turn::Resolved { aggregator_won }) => {
                    self.store.add_game(game, round)?;
                    self.store
                        .set_game_outcome(game, if aggregator_won { "won" } else { "lost" })?;
                }
                Ok(Turn::Waiting | Turn::CannotProve { .. }) => {}
                Err(e) => {
                    self.metrics.rpc_errors.inc();
                    warn!(round, game, error = %e, "move failed; retried next tick");
                }
            }
        }
        for game in defence.games().into_iter().skip(known) {
            self.store.add_game(game, round)?;
            self.metrics
                .disputes
                .get_or_create(&Metrics::label("role", "defended"))
                .inc();
        }
        for (game, won) in defence.outcomes() {
            if self
                .store
                .games(round)?
                .iter()
                .any(|(g, o)| g == game && o.is_none())
            {
                self.metrics
                    .games_ended
                    .get_or_create(&Metrics::label(
                        "outcome",
                        if *won { "won" } else { "lost" },
                    ))
                    .inc();
            }
        }
        Ok(())
    }

    /// Withdraws what the round credited and stops following it.
    async fn finish(&self, round: u64, status: &str) -> Result<()> {
        let d = &self.aggregator.deployment;
        if !d.credit(self.aggregator.account).await?.is_zero() {
            let r = self.aggregator.withdraw().await?;
            info!(round, gas = r.gas_used, "withdrew credited bonds");
        }
        self.store.set_phase(round, DONE)?;
        self.metrics
            .rounds_ended
            .get_or_create(&Metrics::label("status", status))
            .inc();
        info!(round, status, "round ended");
        Ok(())
    }
}
