//! Watching a posted result: re-execute, compare, dispute.

use std::sync::Arc;

use alloy::primitives::Address;
use contracts::{Chain, Deployment, TxReceipt};
use step_vm::{Fault, Trace, Update, check_update_roots, hex_digest};
use tracing::{info, warn};

use crate::{ChallengerError, Result, round_context};

/// The challenger's conclusion about a posted result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Re-execution gives the posted output root.
    Agree,
    /// Re-execution gives another output root.
    Disagree {
        /// The posted root.
        posted: String,
        /// The root the challenger computes.
        computed: String,
    },
}

/// A challenger acting from one account.
#[derive(Debug)]
pub struct Challenger<C> {
    deployment: Deployment<C>,
    account: Address,
    /// Deliberate error in the challenger's own execution, for adversarial tests of the
    /// aggregator's defence (a lying challenger). `None` for an honest challenger.
    fault: Option<Fault>,
}

impl<C: Chain> Challenger<C> {
    /// An honest challenger.
    #[must_use]
    pub fn new(deployment: Deployment<C>, account: Address) -> Self {
        Self {
            deployment,
            account,
            fault: None,
        }
    }

    /// A dishonest challenger whose execution is corrupted by `fault`.
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

    /// Re-executes round `round` from the clients' update data (checked against their on-chain
    /// roots) and compares with the posted output root.
    ///
    /// # Errors
    /// Update data that does not match the commitments, chain access, lockstep failures.
    pub async fn check(&self, round: u64, updates: Vec<Update>) -> Result<(Verdict, Arc<Trace>)> {
        let ctx = round_context(&self.deployment, round).await?;
        check_update_roots(&ctx, &updates)?;
        let trace = Trace::execute_as(ctx, updates, self.fault)?;
        let posted = self.deployment.round(round).await?.outputRoot;
        let verdict = if posted.0 == trace.output_root() {
            info!(round, root = %posted, "re-execution agrees with the posted result");
            Verdict::Agree
        } else {
            warn!(round, posted = %posted, computed = hex_digest(&trace.output_root()), "posted result differs from re-execution");
            Verdict::Disagree {
                posted: posted.to_string(),
                computed: hex_digest(&trace.output_root()),
            }
        };
        Ok((verdict, Arc::new(trace)))
    }

    /// Opens a dispute (posting the challenger bond); returns the game id.
    ///
    /// # Errors
    /// The window is closed, the round is not disputable, or chain access fails.
    pub async fn challenge(&self, round: u64) -> Result<(u64, TxReceipt)> {
        let (game, receipt) = self
            .deployment
            .challenge(self.account, round)
            .await
            .map_err(|e| match e {
                contracts::ChainError::Reverted { reason, .. } => ChallengerError::Round {
                    round,
                    message: format!("cannot challenge: {reason}"),
                },
                other => other.into(),
            })?;
        info!(round, game, gas = receipt.gas_used, "dispute opened");
        Ok((game, receipt))
    }
}
