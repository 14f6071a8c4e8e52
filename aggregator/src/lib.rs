//! The aggregator: answers availability challenges on the updates its clients uploaded, runs
//! the aggregation in the step VM over the participant set the chain froze, posts the
//! Merkle-committed result with its bond (bound to the inputs it was computed over), discovers
//! every dispute of its result by itself and defends them all concurrently (with the
//! role-agnostic game player of the `protocol` crate), and finalises.

pub mod cli;
mod error;
pub mod service;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256};
use alloy::sol_types::SolInterface;
use arbiter::{LeafProver, Role};
use contracts::registry::RoundRegistry::RoundRegistryErrors;
use contracts::{Chain, ChainError, Deployment, TxReceipt};
use protocol::{
    GamePlayer, Turn, UpdateSource, answer_challenges, challenge_unavailable, gather_updates,
    pending_inputs, round_inputs,
};
use step_vm::{Honest, Tamper, Trace, hex_digest};
use tracing::{info, instrument, warn};

pub use error::{AggregatorError, Result};
pub use service::AggregatorDaemon;

/// A result computed over the chain's frozen inputs, ready to post.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The round.
    pub round: u64,
    /// The executed program (result, commitments, states on demand).
    pub trace: Arc<Trace>,
    /// Time spent aggregating and committing (excluding input checks).
    pub aggregate_time: Duration,
}

impl Prepared {
    /// The config hash of the inputs the result was computed over.
    #[must_use]
    pub fn config_hash(&self) -> B256 {
        B256::from(self.trace.context().config_hash())
    }
}

/// A posted result.
#[derive(Debug, Clone)]
pub struct Posted {
    /// The executed program (result, commitments, states on demand).
    pub trace: Arc<Trace>,
    /// The `postResult` receipt.
    pub receipt: TxReceipt,
    /// Time spent aggregating and committing (excluding input checks and the transaction).
    pub aggregate_time: Duration,
}

/// An aggregator acting from one account.
#[derive(Debug)]
pub struct Aggregator<C> {
    deployment: Deployment<C>,
    account: Address,
    /// What passes through every step's writes: [`Honest`] in production; adversarial tests
    /// and simulations plug in a corrupting hook.
    tamper: Arc<dyn Tamper>,
}

impl<C: Chain> Aggregator<C> {
    /// An honest aggregator.
    #[must_use]
    pub fn new(deployment: Deployment<C>, account: Address) -> Self {
        Self {
            deployment,
            account,
            tamper: Arc::new(Honest),
        }
    }

    /// A dishonest aggregator whose execution passes through `tamper`.
    #[must_use]
    pub fn lying(deployment: Deployment<C>, account: Address, tamper: Arc<dyn Tamper>) -> Self {
        Self {
            deployment,
            account,
            tamper,
        }
    }

    /// The account it acts from.
    #[must_use]
    pub fn account(&self) -> Address {
        self.account
    }

    /// Reveals on chain every challenged segment of the updates it holds in `uploads`, so that
    /// no honest client is excluded for want of data. Returns the receipts.
    ///
    /// # Errors
    /// Chain access or a reverted reveal.
    pub async fn answer_availability(
        &self,
        round: u64,
        uploads: &dyn UpdateSource,
    ) -> Result<Vec<TxReceipt>> {
        Ok(answer_challenges(&self.deployment, self.account, uploads, round).await?)
    }

    /// Challenges the availability of every committed update it was not given (nor can fetch
    /// from reveals) while the availability phase is open, so that a client that commits and
    /// uploads nothing cannot stall the round. Returns the challenged client indices.
    ///
    /// # Errors
    /// Chain access or a reverted challenge.
    pub async fn challenge_unavailable(
        &self,
        round: u64,
        uploads: &dyn UpdateSource,
    ) -> Result<Vec<(u32, TxReceipt)>> {
        Ok(challenge_unavailable(&self.deployment, self.account, uploads, round).await?)
    }

    /// Rebuilds the trace of a round it already posted (after a restart), over the inputs the
    /// chain fixed, to defend it.
    ///
    /// # Errors
    /// The round is not posted, a participant's data unavailable, chain access, or lockstep.
    pub async fn recover(&self, round: u64, uploads: &dyn UpdateSource) -> Result<Arc<Trace>> {
        let inputs = round_inputs(&self.deployment, round).await?;
        let updates = gather_updates(&self.deployment, uploads, round, &inputs).await?;
        Ok(Arc::new(Trace::execute_with(
            inputs.ctx,
            updates,
            Arc::clone(&self.tamper),
        )?))
    }

    /// Aggregates the round over the participants the chain fixes now (final once the
    /// availability phase is over), with their updates from `uploads` or from on-chain reveals,
    /// each checked against its committed root.
    ///
    /// # Errors
    /// A participant's data unavailable, chain access, or a VM/registry lockstep failure.
    #[instrument(skip_all, fields(round))]
    pub async fn prepare(&self, round: u64, uploads: &dyn UpdateSource) -> Result<Prepared> {
        let inputs = pending_inputs(&self.deployment, round).await?;
        let updates = gather_updates(&self.deployment, uploads, round, &inputs).await?;
        let started = Instant::now();
        let trace = Trace::execute_with(inputs.ctx, updates, Arc::clone(&self.tamper))?;
        let aggregate_time = started.elapsed();
        info!(
            round,
            root = hex_digest(&trace.output_root()),
            participants = trace.context().participants().len(),
            steps = trace.steps(),
            ms = aggregate_time.as_millis(),
            "aggregated"
        );
        Ok(Prepared {
            round,
            trace: Arc::new(trace),
            aggregate_time,
        })
    }

    /// Posts a prepared result with the bond, naming the config hash it was computed over.
    ///
    /// # Errors
    /// [`AggregatorError::StaleInputs`] if the chain's inputs changed since `prepare` (the
    /// post reverted; nothing is at stake), or any other revert or chain failure.
    pub async fn post(&self, prepared: &Prepared) -> Result<Posted> {
        let round = prepared.round;
        let receipt = self
            .deployment
            .post_result(
                self.account,
                round,
                B256::from(prepared.trace.output_root()),
                prepared.config_hash(),
            )
            .await
            .map_err(|e| stale_inputs(round, e))?;
        Ok(Posted {
            trace: Arc::clone(&prepared.trace),
            receipt,
            aggregate_time: prepared.aggregate_time,
        })
    }

    /// Prepares and posts; if the inputs changed in between (the post reverted with a config
    /// mismatch), prepares again over the new inputs and posts once more.
    ///
    /// # Errors
    /// As [`Self::prepare`] and [`Self::post`].
    pub async fn aggregate_and_post(
        &self,
        round: u64,
        uploads: &dyn UpdateSource,
    ) -> Result<Posted> {
        let prepared = self.prepare(round, uploads).await?;
        match self.post(&prepared).await {
            Err(AggregatorError::StaleInputs { .. }) => {
                warn!(
                    round,
                    "inputs changed before the post landed; aggregating again"
                );
                let prepared = self.prepare(round, uploads).await?;
                self.post(&prepared).await
            }
            other => other,
        }
    }

    /// The defence of `trace`'s result in every game opened on `round`.
    #[must_use]
    pub fn defence(
        &self,
        round: u64,
        trace: Arc<Trace>,
        prover: Arc<LeafProver>,
    ) -> RoundDefence<C> {
        RoundDefence {
            deployment: self.deployment.clone(),
            account: self.account,
            round,
            trace,
            prover,
            players: BTreeMap::new(),
            outcomes: BTreeMap::new(),
        }
    }

    /// Finalises `round` once its window has passed with no open game.
    ///
    /// # Errors
    /// The window is still open, a game is open, or chain access fails.
    pub async fn finalize(&self, round: u64) -> Result<TxReceipt> {
        Ok(self.deployment.finalize(self.account, round).await?)
    }

    /// Withdraws credited bonds.
    ///
    /// # Errors
    /// Nothing to withdraw, or chain access fails.
    pub async fn withdraw(&self) -> Result<TxReceipt> {
        Ok(self.deployment.withdraw(self.account).await?)
    }
}

/// A reverted post whose reason is `ConfigMismatch` becomes [`AggregatorError::StaleInputs`].
fn stale_inputs(round: u64, e: ChainError) -> AggregatorError {
    if let ChainError::Reverted { data, .. } = &e
        && let Ok(RoundRegistryErrors::ConfigMismatch(m)) = RoundRegistryErrors::abi_decode(data)
    {
        return AggregatorError::StaleInputs {
            round,
            posted: m.posted,
            actual: m.actual,
        };
    }
    e.into()
}

/// The aggregator's side of every game on one round: discovers games from the chain's
/// `Challenged` logs (no one has to tell it) and moves in all of them concurrently.
pub struct RoundDefence<C> {
    deployment: Deployment<C>,
    account: Address,
    round: u64,
    trace: Arc<Trace>,
    prover: Arc<LeafProver>,
    players: BTreeMap<u64, GamePlayer<C>>,
    outcomes: BTreeMap<u64, bool>,
}

impl<C> std::fmt::Debug for RoundDefence<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoundDefence")
            .field("round", &self.round)
            .field("games", &self.players.keys().collect::<Vec<_>>())
            .field("outcomes", &self.outcomes)
            .finish_non_exhaustive()
    }
}

impl<C: Chain> RoundDefence<C> {
    /// Picks up games opened since the last call; returns the new game ids.
    ///
    /// # Errors
    /// Chain access.
    pub async fn discover(&mut self) -> protocol::Result<Vec<u64>> {
        let mut new = Vec::new();
        for (game, challenger) in self.deployment.challenged_games(self.round).await? {
            if self.players.contains_key(&game) {
                continue;
            }
            info!(round = self.round, game, %challenger, "defending a new game");
            self.players.insert(
                game,
                GamePlayer::new(
                    self.deployment.clone(),
                    self.account,
                    Role::Aggregator,
                    game,
                    Arc::clone(&self.trace),
                    Arc::clone(&self.prover),
                ),
            );
            new.push(game);
        }
        Ok(new)
    }

    /// Discovers new games, then makes at most one move in every unresolved game, all games
    /// concurrently. Each game's turn stands alone: a failed move (a revert, a transport error)
    /// is that game's result and never keeps the other games from moving; a failed discovery
    /// is logged and retried at the next step while the known games move on.
    pub async fn step(&mut self) -> Vec<(u64, protocol::Result<Turn>)> {
        if let Err(e) = self.discover().await {
            warn!(round = self.round, error = %e, "could not read the round's games; retrying at the next step");
        }
        let pending: Vec<(u64, &GamePlayer<C>)> = self
            .players
            .iter()
            .filter(|(g, _)| !self.outcomes.contains_key(g))
            .map(|(g, p)| (*g, p))
            .collect();
        let turns = futures::future::join_all(
            pending
                .into_iter()
                .map(|(g, p)| async move { (g, p.step().await) }),
        )
        .await;
        for (game, turn) in &turns {
            match turn {
                Ok(Turn::Resolved { aggregator_won }) => {
                    self.outcomes.insert(*game, *aggregator_won);
                }
                Err(e) => {
                    warn!(round = self.round, game, error = %e, "move failed; the game is retried at the next step")
                }
                Ok(_) => {}
            }
        }
        turns
    }

    /// Games seen so far.
    #[must_use]
    pub fn games(&self) -> Vec<u64> {
        self.players.keys().copied().collect()
    }

    /// Resolved games and whether the aggregator won each.
    #[must_use]
    pub fn outcomes(&self) -> &BTreeMap<u64, bool> {
        &self.outcomes
    }

    /// Whether every game seen so far is resolved.
    #[must_use]
    pub fn all_resolved(&self) -> bool {
        self.outcomes.len() == self.players.len()
    }
}
