//! Rebuilding a round's VM context from the chain, checked against the registry's own
//! commitments (lockstep lesson: the VM and the contracts must agree on every encoding).

use alloy::primitives::B256;
use contracts::{Chain, Deployment, RoundView};
use step_vm::{Participant, RoundContext, hex_digest};

use crate::{ChallengerError, Result};

/// The VM context of a posted round: the committed clients in index order, their weights and
/// roots. Fails if the registry's config hash differs from the VM's.
///
/// # Errors
/// The round is not posted yet, chain access fails, or the commitments are out of lockstep.
pub async fn round_context<C: Chain>(
    deployment: &Deployment<C>,
    round: u64,
) -> Result<RoundContext> {
    let view = deployment.round(round).await?;
    if view.configHash == B256::ZERO {
        return Err(ChallengerError::Round {
            round,
            message: "no result has been posted yet".into(),
        });
    }
    let ctx = context_of(deployment, round, &view).await?;
    check_config_hash(round, &ctx, &view)?;
    Ok(ctx)
}

/// Fails unless the registry's config hash (in `view`) is the one the VM derives for `ctx`:
/// the VM and the contracts are then out of lockstep (a deployment or version mismatch).
///
/// # Errors
/// [`ChallengerError::Lockstep`].
pub fn check_config_hash(round: u64, ctx: &RoundContext, view: &RoundView) -> Result<()> {
    if ctx.config_hash() == view.configHash.0 {
        return Ok(());
    }
    Err(ChallengerError::Lockstep {
        round,
        what: "config hash",
        on_chain: view.configHash.to_string(),
        derived: hex_digest(&ctx.config_hash()),
    })
}

/// The VM context formed by the clients that have committed so far (what the registry fixes
/// when the result is posted), without checking it against a posted config hash.
///
/// # Errors
/// No client has committed, or chain access fails.
pub async fn committed_context<C: Chain>(
    deployment: &Deployment<C>,
    round: u64,
) -> Result<RoundContext> {
    context_of(deployment, round, &deployment.round(round).await?).await
}

async fn context_of<C: Chain>(
    deployment: &Deployment<C>,
    round: u64,
    view: &RoundView,
) -> Result<RoundContext> {
    let mut participants = Vec::with_capacity(view.participants as usize);
    for index in 0..view.clientCount {
        let (root, weight) = deployment.commitment(round, index).await?;
        if root != B256::ZERO {
            participants.push(Participant {
                update_root: root.0,
                weight,
            });
        }
    }
    if participants.is_empty() {
        return Err(ChallengerError::Round {
            round,
            message: "no client has committed an update".into(),
        });
    }
    Ok(RoundContext::new(
        deployment.addresses().registry.0.0,
        round,
        view.dim as usize,
        participants,
    )?)
}
