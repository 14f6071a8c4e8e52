//! `challenger run`: the challenger as a long-lived daemon over any [`Chain`], structured as
//! op-challenger is: a **monitor** follows every round of the registry, a **scheduler** gives
//! each active round one turn per tick with bounded concurrency, and each round's turn does
//! what its phase needs: fetch every committed update from the data-availability servers
//! (challenging the availability of what nobody serves), re-execute a posted result, stay
//! silent when it agrees, open a game when it does not, play it to the end with the
//! role-agnostic player, claim, and withdraw.
//!
//! Decisions come from the chain and the [`Store`] at each tick: killed at any moment and
//! restarted, the daemon re-executes from the stored updates, finds its own game on chain, and
//! plays on from the game's current position.

use std::sync::Arc;
use std::time::Instant;

use alloy::primitives::Address;
use alloy::primitives::B256;
use arbiter::Role;
use contracts::RoundView;
use contracts::{Chain, Deployment};
use daemon::{Core, DaClient, Metrics, RoundRole, Store};
use protocol::{GamePlayer, RoundStatus, Turn, answer_challenges};
use step_vm::Trace;
use tokio::sync::watch;
use tracing::{info, warn};

use crate::{Challenger, ChallengerError, Result, Verdict};

/// Phases recorded in the store.
const WATCHING: &str = "watching";
const AGREED: &str = "agreed";
const DISPUTING: &str = "disputing";
const DONE: &str = "done";

/// The challenger daemon.
pub struct ChallengerDaemon<C> {
    challenger: Challenger<C>,
    core: Core,
    /// Base URLs of data-availability servers (the aggregators', any mirror).
    sources: Vec<String>,
    da: DaClient,
}

impl<C> std::fmt::Debug for ChallengerDaemon<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChallengerDaemon")
            .field("account", &self.challenger.account)
            .field("sources", &self.sources)
            .finish_non_exhaustive()
    }
}

impl<C: Chain + 'static> ChallengerDaemon<C> {
    /// A daemon acting as `challenger` with its store, keys, metrics and pacing, fetching
    /// updates from the data-availability servers at `sources`.
    #[must_use]
    pub fn new(challenger: Challenger<C>, core: Core, sources: Vec<String>) -> Self {
        Self {
            challenger,
            core,
            sources,
            da: DaClient::new(),
        }
    }

    /// Runs until `shutdown` turns true; a tick in progress is finished first (graceful).
    ///
    /// # Errors
    /// Only the store failing; chain and protocol failures are logged, counted and retried.
    pub async fn run(self, shutdown: watch::Receiver<bool>) -> Result<()> {
        info!(sources = ?self.sources, "data-availability sources");
        daemon::run_rounds(&self, shutdown).await
    }
}

impl<C: Chain + 'static> RoundRole for ChallengerDaemon<C> {
    type Chain = C;
    type Memory = Arc<Trace>;
    type Error = ChallengerError;

    fn name(&self) -> &'static str {
        "challenger"
    }
    fn deployment(&self) -> &Deployment<C> {
        &self.challenger.deployment
    }
    fn account(&self) -> Address {
        self.challenger.account
    }
    fn core(&self) -> &Core {
        &self.core
    }
    /// Every round.
    fn follows(&self, _: &RoundView) -> Option<&'static str> {
        Some(WATCHING)
    }
    async fn turn(&self, round: u64, phase: &str, trace: &mut Option<Arc<Trace>>) -> Result<()> {
        self.round_turn(round, phase, trace).await
    }
    fn is_fatal(e: &ChallengerError) -> bool {
        matches!(
            e,
            ChallengerError::Daemon(daemon::DaemonError::Store { .. }) | ChallengerError::Fatal(_)
        )
    }
}

impl<C: Chain + 'static> ChallengerDaemon<C> {
    /// Fetches every committed update not held yet from the sources; returns how many are
    /// still missing.
    async fn fetch_missing(&self, round: u64, clients: u32, dim: usize) -> Result<usize> {
        let d = self.deployment();
        let held = self.core.store.held(round)?;
        let mut missing = 0;
        for client in 0..clients {
            let (root, _) = d.commitment(round, client).await?;
            if root == B256::ZERO || held.iter().any(|(c, r)| *c == client && *r == root.0) {
                continue;
            }
            let mut found = false;
            for source in &self.sources {
                match self.da.fetch(source, round, client, &root.0, dim).await {
                    Ok(Some(update)) => {
                        self.core
                            .store
                            .put_update(round, client, &root.0, &update, source)?;
                        self.core.metrics.updates_fetched.inc();
                        info!(round, client, source, "fetched and checked an update");
                        found = true;
                        break;
                    }
                    Ok(None) => {}
                    Err(e) => warn!(round, client, error = %e, "data-availability server failed"),
                }
            }
            if !found {
                missing += 1;
            }
        }
        Ok(missing)
    }

    async fn round_turn(
        &self,
        round: u64,
        phase: &str,
        trace: &mut Option<Arc<Trace>>,
    ) -> Result<()> {
        let d = self.deployment();
        let view = d.round(round).await?;
        let status = RoundStatus::of(round, &view)?;
        let now = d.chain().timestamp().await?;
        let store: &Store = &self.core.store;
        match status {
            RoundStatus::Committing => {
                let missing = self
                    .fetch_missing(round, view.clientCount, view.dim as usize)
                    .await?;
                answer_challenges(d, self.challenger.account, store, round).await?;
                let closed = view
                    .availabilityDeadline
                    .saturating_sub(d.params().availability_window);
                if missing > 0
                    && now >= closed + self.core.pacing.upload_grace
                    && now < view.availabilityDeadline
                {
                    for (client, _) in
                        protocol::challenge_unavailable(d, self.challenger.account, store, round)
                            .await?
                    {
                        warn!(
                            round,
                            client,
                            "no server has this committed update; challenged its availability"
                        );
                        self.core.metrics.availability_challenges.inc();
                    }
                }
            }
            RoundStatus::Posted if phase == WATCHING => {
                if now >= view.postedAt + d.params().challenge_window {
                    info!(
                        round,
                        "challenge window passed before the result was checked"
                    );
                    self.core.store.set_phase(round, DONE)?;
                    return Ok(());
                }
                self.fetch_missing(round, view.clientCount, view.dim as usize)
                    .await?;
                let started = Instant::now();
                let pb = daemon::spinner(format!("round {round}: re-executing the posted result"));
                let checked = self.challenger.check(round, store).await;
                pb.finish_and_clear();
                let (verdict, t) = checked?;
                self.core
                    .metrics
                    .execute_seconds
                    .observe(started.elapsed().as_secs_f64());
                *trace = Some(t);
                match verdict {
                    Verdict::Agree => self.core.store.set_phase(round, AGREED)?,
                    Verdict::Disagree { .. } => {
                        if !d.has_challenged(round, self.challenger.account).await? {
                            let (game, _) = self.challenger.challenge(round).await?;
                            self.core.store.add_game(game, round)?;
                            self.core
                                .metrics
                                .disputes
                                .get_or_create(&Metrics::label("role", "opened"))
                                .inc();
                        }
                        self.core.store.set_phase(round, DISPUTING)?;
                    }
                }
            }
            _ if phase == DISPUTING => self.play(round, trace).await?,
            RoundStatus::Posted => {}
            RoundStatus::Finalized | RoundStatus::Rejected | RoundStatus::Expired => {
                self.core.store.set_phase(round, DONE)?;
                info!(round, status = ?status, "round ended");
            }
        }
        Ok(())
    }

    /// One move in the daemon's own game of `round`; once it has ended, claims and
    /// withdraws.
    async fn play(&self, round: u64, trace: &mut Option<Arc<Trace>>) -> Result<()> {
        let d = self.deployment();
        let mut games = self.core.store.games(round)?;
        if games.is_empty() {
            // Killed between opening the game and recording it: find it on chain.
            for (game, by) in d.challenged_games(round).await? {
                if by == self.challenger.account {
                    self.core.store.add_game(game, round)?;
                }
            }
            games = self.core.store.games(round)?;
        }
        let mut open = 0;
        for (game, outcome) in games {
            match outcome.as_deref() {
                Some("claimed" | "lost") => continue,
                Some("won") => {
                    self.claim(game).await?;
                    continue;
                }
                _ => {}
            }
            open += 1;
            let t = match trace {
                Some(t) => Arc::clone(t),
                None => {
                    info!(
                        round,
                        "re-executing from the stored updates to resume the game"
                    );
                    let (_, t) = self.challenger.check(round, &*self.core.store).await?;
                    *trace = Some(Arc::clone(&t));
                    t
                }
            };
            let player = GamePlayer::new(
                d.clone(),
                self.challenger.account,
                Role::Challenger,
                game,
                t,
                Arc::clone(&self.core.prover),
            );
            match player.step().await? {
                turn @ Turn::Moved { .. } => self.core.metrics.count_move(&turn),
                Turn::Resolved { aggregator_won } => {
                    let outcome = if aggregator_won { "lost" } else { "won" };
                    info!(round, game, outcome, "game ended");
                    self.core.store.set_game_outcome(game, outcome)?;
                    self.core.metrics.count_game_end(outcome);
                }
                Turn::Waiting | Turn::CannotProve { .. } => {}
            }
        }
        if open == 0 {
            self.core.store.set_phase(round, DONE)?;
        }
        Ok(())
    }

    /// Claims a won game's payout (once the round has settled) and withdraws.
    async fn claim(&self, game: u64) -> Result<()> {
        let d = self.deployment();
        let record = d.game_record(game).await?;
        let round: u64 = record.roundId.saturating_to();
        if d.claimable(game).await?.is_zero() {
            // Not payable yet (other games of the round still running), or already paid.
            if d.round(round).await?.settled {
                self.core.store.set_game_outcome(game, "claimed")?;
            }
            return Ok(());
        }
        let r = d.claim_game(self.challenger.account, game).await?;
        info!(game, gas = r.gas_used, "claimed the game's payout");
        if !d.credit(self.challenger.account).await?.is_zero() {
            let r = d.withdraw(self.challenger.account).await?;
            info!(game, gas = r.gas_used, "withdrew");
        }
        self.core.store.set_game_outcome(game, "claimed")?;
        Ok(())
    }
}
