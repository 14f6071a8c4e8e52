//! The aggregator: runs the aggregation in the step VM over the clients' committed updates,
//! posts the Merkle-committed result with its bond, defends it in any dispute (with the
//! role-agnostic game player of the challenger crate), and finalises.

mod error;

use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256};
use arbiter::{LeafProver, Role};
use challenger::{GamePlayer, check_config_hash, committed_context};
use contracts::{Chain, Deployment, TxReceipt};
use step_vm::{Fault, Trace, Update, check_update_roots, hex_digest};
use tracing::{info, instrument};

pub use error::{AggregatorError, Result};

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
    /// Deliberate error in the aggregator's execution, for adversarial tests and simulations.
    fault: Option<Fault>,
}

impl<C: Chain> Aggregator<C> {
    /// An honest aggregator.
    #[must_use]
    pub fn new(deployment: Deployment<C>, account: Address) -> Self {
        Self {
            deployment,
            account,
            fault: None,
        }
    }

    /// A dishonest aggregator that corrupts one step.
    #[must_use]
    pub fn lying(deployment: Deployment<C>, account: Address, fault: Fault) -> Self {
        Self {
            deployment,
            account,
            fault: Some(fault),
        }
    }

    /// The account it acts from.
    #[must_use]
    pub fn account(&self) -> Address {
        self.account
    }

    /// Aggregates the committed updates of `round` and posts the output root with the bond.
    ///
    /// `updates` are the committed clients' updates in client-index order; each is checked
    /// against its on-chain root before use.
    ///
    /// # Errors
    /// Data that does not match the commitments, a round not ready for posting, chain access,
    /// or a registry whose commitments disagree with the VM's.
    #[instrument(skip_all, fields(round))]
    pub async fn aggregate_and_post(&self, round: u64, updates: Vec<Update>) -> Result<Posted> {
        let ctx = committed_context(&self.deployment, round).await?;
        check_update_roots(&ctx, &updates)?;
        let started = Instant::now();
        let trace = Trace::execute_as(ctx.clone(), updates, self.fault)?;
        let aggregate_time = started.elapsed();
        let root = trace.output_root();
        info!(
            round,
            root = hex_digest(&root),
            steps = trace.steps(),
            ms = aggregate_time.as_millis(),
            "aggregated"
        );
        let receipt = self
            .deployment
            .post_result(self.account, round, B256::from(root))
            .await?;
        // Lockstep: the registry must derive the same configuration.
        let view = self.deployment.round(round).await?;
        check_config_hash(round, &ctx, &view)?;
        Ok(Posted {
            trace: Arc::new(trace),
            receipt,
            aggregate_time,
        })
    }

    /// The player that defends `trace`'s claims in `game`.
    #[must_use]
    pub fn defender(&self, game: u64, trace: Arc<Trace>, prover: Arc<LeafProver>) -> GamePlayer<C> {
        GamePlayer::new(
            self.deployment.clone(),
            self.account,
            Role::Aggregator,
            game,
            trace,
            prover,
        )
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
