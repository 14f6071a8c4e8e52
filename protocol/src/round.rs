//! Rebuilding a round's VM context from the chain, checked against the registry's own
//! commitments (lockstep lesson: the VM and the contracts must agree on every encoding).

use alloy::primitives::B256;
use contracts::{Chain, Deployment, RoundView, expected_verifiers_hash};
use step_vm::{Participant, RoundConfig, RoundContext, Rule, hex_digest};

use crate::{ProtocolError, Result};

/// A round's life-cycle status, as the registry's `RoundRegistry.RoundStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoundStatus {
    /// Clients commit; updates can be challenged for availability and revealed.
    Committing,
    /// A result is posted and can be challenged.
    Posted,
    /// The result is final.
    Finalized,
    /// The result was proven wrong.
    Rejected,
    /// No result was posted in time.
    Expired,
}

impl RoundStatus {
    /// The status of a round view.
    ///
    /// # Errors
    /// A status code this build does not know (a contract version mismatch), or an unknown
    /// round (code 0).
    pub fn of(round: u64, view: &RoundView) -> Result<Self> {
        Ok(match view.status {
            1 => Self::Committing,
            2 => Self::Posted,
            3 => Self::Finalized,
            4 => Self::Rejected,
            5 => Self::Expired,
            0 => {
                return Err(ProtocolError::Round {
                    round,
                    message: "no such round".into(),
                });
            }
            other => {
                return Err(ProtocolError::Lockstep {
                    round,
                    what: "round status code",
                    on_chain: other.to_string(),
                    derived: "1..=5".into(),
                });
            }
        })
    }
}

/// The inputs of a round as the chain fixes them: the VM context and, for each participant,
/// its index in the round's client list.
#[derive(Debug, Clone)]
pub struct RoundInputs {
    /// The VM context (participants in client-index order, config hash).
    pub ctx: RoundContext,
    /// Client index of each participant.
    pub clients: Vec<u32>,
}

/// The inputs of a posted round. Fails if the registry's config hash differs from the VM's.
///
/// # Errors
/// The round is not posted yet, chain access fails, or the commitments are out of lockstep.
pub async fn round_inputs<C: Chain>(deployment: &Deployment<C>, round: u64) -> Result<RoundInputs> {
    let view = deployment.round(round).await?;
    if view.configHash == B256::ZERO {
        return Err(ProtocolError::Round {
            round,
            message: "no result has been posted yet".into(),
        });
    }
    let inputs = inputs_of(deployment, round, &view).await?;
    check_config_hash(round, &inputs.ctx, view.configHash)?;
    Ok(inputs)
}

/// The inputs `postResult` would fix now (the committed clients not excluded so far), checked
/// against the registry's own `pendingConfig`. Final once the availability phase is over;
/// before that, a commit or reveal landing between the reads is detected (the chain's config
/// hash changed meanwhile) and the inputs are read again.
///
/// # Errors
/// No participant, the round is not committing, chain access, or a lockstep failure.
pub async fn pending_inputs<C: Chain>(
    deployment: &Deployment<C>,
    round: u64,
) -> Result<RoundInputs> {
    const ATTEMPTS: usize = 3;
    let mut before = deployment.pending_config(round).await?.0;
    for _ in 0..ATTEMPTS {
        let view = deployment.round(round).await?;
        let inputs = inputs_of(deployment, round, &view).await?;
        let after = deployment.pending_config(round).await?.0;
        if after == before {
            check_config_hash(round, &inputs.ctx, after)?;
            return Ok(inputs);
        }
        before = after;
    }
    Err(ProtocolError::Round {
        round,
        message: format!("the participant set kept changing over {ATTEMPTS} reads"),
    })
}

/// Fails unless `on_chain` is the config hash the VM derives for `ctx`: the VM and the
/// contracts are then out of lockstep (a deployment or version mismatch).
///
/// # Errors
/// [`ProtocolError::Lockstep`].
pub fn check_config_hash(round: u64, ctx: &RoundContext, on_chain: B256) -> Result<()> {
    if ctx.config_hash() == on_chain.0 {
        return Ok(());
    }
    Err(ProtocolError::Lockstep {
        round,
        what: "config hash",
        on_chain: on_chain.to_string(),
        derived: hex_digest(&ctx.config_hash()),
    })
}

/// What the round's semantics depend on besides its participants, read from the chain; the
/// deployed step verifiers must be the ones this build proves for.
///
/// # Errors
/// An unknown rule, verifiers other than this build's, or chain access.
pub async fn round_config<C: Chain>(
    deployment: &Deployment<C>,
    round: u64,
    view: &RoundView,
) -> Result<RoundConfig> {
    let verifiers_hash = deployment.verifiers_hash().await?;
    let expected = expected_verifiers_hash();
    if verifiers_hash != expected {
        return Err(ProtocolError::Lockstep {
            round,
            what: "step verifiers hash (the deployed verifiers are not this build's)",
            on_chain: verifiers_hash.to_string(),
            derived: expected.to_string(),
        });
    }
    let params = deployment.rule_params(round).await?;
    let rule = Rule::decode(view.rule, &params).map_err(|e| ProtocolError::Round {
        round,
        message: format!("rule {} is not one this build runs: {e}", view.rule),
    })?;
    if view.ruleParamsHash.0 != rule.params_hash() {
        return Err(ProtocolError::Lockstep {
            round,
            what: "rule parameters hash",
            on_chain: view.ruleParamsHash.to_string(),
            derived: hex_digest(&rule.params_hash()),
        });
    }
    Ok(RoundConfig {
        chain_id: deployment.chain().chain_id().await?,
        registry: deployment.addresses().registry.0.0,
        round_id: round,
        rule,
        verifiers_hash: verifiers_hash.0,
        dim: view.dim as usize,
    })
}

async fn inputs_of<C: Chain>(
    deployment: &Deployment<C>,
    round: u64,
    view: &RoundView,
) -> Result<RoundInputs> {
    let config = round_config(deployment, round, view).await?;
    let mut participants = Vec::with_capacity(view.committedCount as usize);
    let mut clients = Vec::with_capacity(view.committedCount as usize);
    for index in 0..view.clientCount {
        let (root, weight) = deployment.commitment(round, index).await?;
        if root == B256::ZERO {
            continue;
        }
        let (_, excluded) = deployment.availability(round, index).await?;
        if !excluded {
            participants.push(Participant {
                update_root: root.0,
                weight,
            });
            clients.push(index);
        }
    }
    if participants.is_empty() {
        return Err(ProtocolError::Round {
            round,
            message: "no committed update is available to aggregate".into(),
        });
    }
    Ok(RoundInputs {
        ctx: RoundContext::new(config, participants)?,
        clients,
    })
}
