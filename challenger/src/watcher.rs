//! Watching a posted result: re-execute, compare, dispute.

use std::sync::Arc;

use alloy::primitives::Address;
use contracts::{Chain, Deployment, TxReceipt};
use step_vm::{Honest, Tamper, Trace, hex_digest};
use tracing::{info, warn};

use protocol::{UpdateSource, gather_updates, round_inputs};

use crate::Result;

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
    pub(crate) deployment: Deployment<C>,
    pub(crate) account: Address,
    /// What passes through every step's writes: [`Honest`] for an honest challenger; a
    /// corrupting hook makes a lying one, for adversarial tests of the aggregator's defence.
    tamper: Arc<dyn Tamper>,
}

impl<C: Chain> Challenger<C> {
    /// An honest challenger.
    #[must_use]
    pub fn new(deployment: Deployment<C>, account: Address) -> Self {
        Self {
            deployment,
            account,
            tamper: Arc::new(Honest),
        }
    }

    /// A dishonest challenger whose execution passes through `tamper`.
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

    /// Re-executes round `round` over the participants the chain fixed, with their updates
    /// from `source` or from on-chain reveals (each checked against its committed root), and
    /// compares with the posted output root.
    ///
    /// # Errors
    /// A participant's data unavailable, chain access, lockstep failures.
    pub async fn check(
        &self,
        round: u64,
        source: &dyn UpdateSource,
    ) -> Result<(Verdict, Arc<Trace>)> {
        let inputs = round_inputs(&self.deployment, round).await?;
        let updates = gather_updates(&self.deployment, source, round, &inputs).await?;
        let trace = Trace::execute_with(inputs.ctx, updates, Arc::clone(&self.tamper))?;
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
        let (game, receipt) = self.deployment.challenge(self.account, round).await?;
        info!(round, game, gas = receipt.gas_used, "dispute opened");
        Ok((game, receipt))
    }
}
