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

use alloy::primitives::Address;
use contracts::Chain;
use contracts::{Deployment, RoundView};
use daemon::{Core, Metrics, RoundRole, Store};
use protocol::{RoundStatus, Turn, settle_unanswered};
use tokio::sync::watch;
use tracing::{info, warn};

use crate::{Aggregator, AggregatorError, Result, RoundDefence};

/// The aggregator daemon.
pub struct AggregatorDaemon<C> {
    aggregator: Aggregator<C>,
    core: Core,
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
    /// A daemon acting as `aggregator` with its store, keys, metrics and pacing.
    #[must_use]
    pub fn new(aggregator: Aggregator<C>, core: Core) -> Self {
        Self { aggregator, core }
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
    fn core(&self) -> &Core {
        &self.core
    }
    /// The rounds that name this account as their aggregator.
    fn follows(&self, view: &RoundView) -> Option<&'static str> {
        (view.aggregator == self.aggregator.account).then_some(COMMITTING)
    }
    async fn turn(
        &self,
        round: u64,
        _phase: &str,
        defence: &mut Option<RoundDefence<C>>,
    ) -> Result<()> {
        self.round_turn(round, defence).await
    }
    fn is_fatal(e: &AggregatorError) -> bool {
        matches!(
            e,
            AggregatorError::Daemon(daemon::DaemonError::Store { .. }) | AggregatorError::Fatal(_)
        )
    }
}

impl<C: Chain + 'static> AggregatorDaemon<C> {
    /// The round's turn: what to do is read from the chain's status alone (the recorded phase
    /// only tells the loop which rounds are still active).
    async fn round_turn(&self, round: u64, defence: &mut Option<RoundDefence<C>>) -> Result<()> {
        let d = &self.aggregator.deployment;
        let view = d.round(round).await?;
        let status = RoundStatus::of(round, &view)?;
        let now = d.chain().timestamp().await?;
        match status {
            RoundStatus::Committing => {
                let store: &Store = &self.core.store;
                for r in self.aggregator.answer_availability(round, store).await? {
                    info!(round, gas = r.gas_used, "revealed a challenged segment");
                }
                let closed = view
                    .availabilityDeadline
                    .saturating_sub(d.params().availability_window);
                if now >= closed + self.core.pacing.upload_grace && now < view.availabilityDeadline
                {
                    for (client, _) in self.aggregator.challenge_unavailable(round, store).await? {
                        warn!(
                            round,
                            client,
                            "no upload from a committed client; challenged its availability"
                        );
                        self.core.metrics.availability_challenges.inc();
                    }
                }
                if now >= view.postDeadline {
                    d.expire_round(self.aggregator.account, round).await?;
                    return Ok(());
                }
                if now >= view.postOpensAt {
                    settle_unanswered(d, self.aggregator.account, round).await?;
                    let started = std::time::Instant::now();
                    let pb = daemon::spinner(format!("round {round}: aggregating"));
                    let posted = self.aggregator.aggregate_and_post(round, store).await;
                    pb.finish_and_clear();
                    let posted = posted?;
                    self.core
                        .metrics
                        .execute_seconds
                        .observe(started.elapsed().as_secs_f64());
                    info!(round, gas = posted.receipt.gas_used, root = %step_vm::hex_digest(&posted.trace.output_root()), "result posted");
                    self.core.store.set_phase(round, POSTED)?;
                    *defence = Some(self.aggregator.defence(
                        round,
                        posted.trace,
                        Arc::clone(&self.core.prover),
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
            RoundStatus::Finalized => self.finish(round, "finalized").await?,
            RoundStatus::Expired => self.finish(round, "expired").await?,
        }
        Ok(())
    }

    /// One move in every game of the round (rebuilding the trace from the stored uploads
    /// after a restart).
    async fn defend(&self, round: u64, defence: &mut Option<RoundDefence<C>>) -> Result<()> {
        if defence.is_none() {
            info!(round, "rebuilding the posted trace from the stored uploads");
            let trace = self.aggregator.recover(round, &*self.core.store).await?;
            *defence = Some(
                self.aggregator
                    .defence(round, trace, Arc::clone(&self.core.prover)),
            );
        }
        let Some(defence) = defence.as_mut() else {
            return Ok(());
        };
        let known = defence.games().len();
        for (game, turn) in defence.step().await {
            match turn {
                Ok(turn @ Turn::Moved { .. }) => self.core.metrics.count_move(&turn),
                Ok(Turn::Resolved { aggregator_won }) => {
                    let outcome = if aggregator_won { "won" } else { "lost" };
                    self.core.store.add_game(game, round)?;
                    if self.core.store.game_outcome(game)?.is_none() {
                        self.core.metrics.count_game_end(outcome);
                    }
                    self.core.store.set_game_outcome(game, outcome)?;
                }
                Ok(Turn::Waiting | Turn::CannotProve { .. }) => {}
                Err(e) => {
                    self.core.metrics.rpc_errors.inc();
                    warn!(round, game, error = %e, "move failed; retried next tick");
                }
            }
        }
        for game in defence.games().into_iter().skip(known) {
            self.core.store.add_game(game, round)?;
            self.core
                .metrics
                .disputes
                .get_or_create(&Metrics::label("role", "defended"))
                .inc();
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
        self.core.store.set_phase(round, DONE)?;
        self.core
            .metrics
            .rounds_ended
            .get_or_create(&Metrics::label("status", status))
            .inc();
        info!(round, status, "round ended");
        Ok(())
    }
}
