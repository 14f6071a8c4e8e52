//! Data availability from a watcher's side (docs/ARCHITECTURE.md §8): obtain every committed
//! update off chain or from the segments revealed on chain, challenge the ones that cannot be
//! obtained before the availability deadline, answer challenges on data one holds, and settle
//! challenges nobody answered.
//!
//! All of it is role-agnostic: an honest aggregator answers challenges on the updates its
//! clients uploaded to it; a challenger challenges what it cannot fetch and rebuilds revealed
//! updates from the logs.

use std::collections::HashMap;
use std::sync::Mutex;

use alloy::primitives::{Address, B256, Bytes};
use alloy::sol_types::SolInterface;
use contracts::registry::RoundRegistry::RoundRegistryErrors;
use contracts::{Chain, ChainError, Deployment, TxReceipt};
use step_vm::{Update, segment_count};
use tracing::{info, warn};

use crate::{ProtocolError, Result, RoundInputs, RoundStatus};

/// Where a role gets client updates off chain (the aggregator's upload server, a file store,
/// a peer). What it returns is never trusted: every update is checked against its committed
/// root before use.
pub trait UpdateSource: Send + Sync {
    /// The update `client_index` published for `round`, if this source has it.
    fn fetch(&self, round: u64, client_index: u32) -> Option<Update>;
}

/// An in-process publication board: what clients published, by round and client index.
#[derive(Debug, Default)]
pub struct MemoryBoard {
    updates: Mutex<HashMap<(u64, u32), Update>>,
}

impl MemoryBoard {
    /// An empty board.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Publishes (or replaces) a client's update for a round.
    pub fn publish(&self, round: u64, client_index: u32, update: Update) {
        self.lock().insert((round, client_index), update);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(u64, u32), Update>> {
        self.updates
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl UpdateSource for MemoryBoard {
    fn fetch(&self, round: u64, client_index: u32) -> Option<Update> {
        self.lock().get(&(round, client_index)).cloned()
    }
}

/// An update from `source` that matches the committed `root` (and dimension).
fn fetch_matching(
    source: &dyn UpdateSource,
    round: u64,
    client_index: u32,
    root: &B256,
    dim: usize,
) -> Option<Update> {
    let update = source.fetch(round, client_index)?;
    if update.dim() != dim {
        warn!(
            round,
            client_index,
            dim = update.dim(),
            expected = dim,
            "off-chain update has the wrong dimension; ignored"
        );
        return None;
    }
    if update.root() != root.0 {
        warn!(
            round,
            client_index, "off-chain update does not hash to the committed root; ignored"
        );
        return None;
    }
    Some(update)
}

/// A committed client's update as a watcher can obtain it: from `source` if it matches the
/// committed `root` (and the round's `dim`), else rebuilt from every segment revealed on chain
/// (checked against `root` too). `None` if neither. The update is hashed once, here: callers
/// need not check it against its root again.
///
/// # Errors
/// Chain access, or revealed data that does not rebuild the committed update (the registry
/// checked each segment, so that means a lockstep failure).
pub async fn obtain_update<C: Chain>(
    deployment: &Deployment<C>,
    source: &dyn UpdateSource,
    round: u64,
    client_index: u32,
    root: B256,
    dim: usize,
) -> Result<Option<Update>> {
    if let Some(u) = fetch_matching(source, round, client_index, &root, dim) {
        return Ok(Some(u));
    }
    let segments = deployment.revealed_segments(round, client_index).await?;
    if segments.len() < segment_count(dim) {
        return Ok(None);
    }
    Update::from_segments(dim, &root.0, &segments)
        .map(Some)
        .map_err(|source| ProtocolError::Segments {
            round,
            client: client_index,
            source,
        })
}

/// Challenges the availability of every committed update that cannot be obtained (off chain
/// or from reveals) and is not challenged yet, while the availability phase is open. Returns
/// the challenged client indices with their receipts.
///
/// # Errors
/// Chain access or a reverted challenge.
pub async fn challenge_unavailable<C: Chain>(
    deployment: &Deployment<C>,
    account: Address,
    source: &dyn UpdateSource,
    round: u64,
) -> Result<Vec<(u32, TxReceipt)>> {
    let view = deployment.round(round).await?;
    let now = deployment.chain().timestamp().await?;
    if RoundStatus::of(round, &view)? != RoundStatus::Committing || now >= view.availabilityDeadline
    {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for index in 0..view.clientCount {
        let (root, _) = deployment.commitment(round, index).await?;
        if root == B256::ZERO {
            continue;
        }
        let (a, _) = deployment.availability(round, index).await?;
        if a.challenger != Address::ZERO {
            continue;
        }
        if obtain_update(deployment, source, round, index, root, view.dim as usize)
            .await?
            .is_some()
        {
            continue;
        }
        warn!(
            round,
            client = index,
            "update unavailable; challenging its availability"
        );
        let receipt = deployment
            .challenge_availability(account, round, index)
            .await?;
        out.push((index, receipt));
    }
    Ok(out)
}

/// Reveals, for every challenged and unanswered update that `source` holds, each segment not
/// revealed yet (what an honest aggregator does for its clients' uploads, or a watcher for the
/// data it holds). Another party revealing the same segment first, or the window closing
/// before a reveal lands, skips that segment; any other failure is logged and the next client
/// is tried, so one failure never leaves the other clients' data unrevealed. Returns the
/// receipts.
///
/// # Errors
/// Chain access while reading the round.
pub async fn answer_challenges<C: Chain>(
    deployment: &Deployment<C>,
    account: Address,
    source: &dyn UpdateSource,
    round: u64,
) -> Result<Vec<TxReceipt>> {
    let view = deployment.round(round).await?;
    if RoundStatus::of(round, &view)? != RoundStatus::Committing {
        return Ok(Vec::new());
    }
    let now = deployment.chain().timestamp().await?;
    let dim = view.dim as usize;
    let mut out = Vec::new();
    for index in 0..view.clientCount {
        let (a, _) = deployment.availability(round, index).await?;
        if a.challenger == Address::ZERO || a.settled || now >= a.resolveBy {
            continue;
        }
        let (root, _) = deployment.commitment(round, index).await?;
        let Some(update) = fetch_matching(source, round, index, &root, dim) else {
            continue;
        };
        if let Err(e) = reveal_missing(deployment, account, round, index, &update, &mut out).await {
            warn!(round, client = index, error = %e, "could not reveal a challenged update");
        }
    }
    Ok(out)
}

/// Reveals every segment of `update` not on chain yet, pushing the receipts into `out`.
async fn reveal_missing<C: Chain>(
    deployment: &Deployment<C>,
    account: Address,
    round: u64,
    index: u32,
    update: &Update,
    out: &mut Vec<TxReceipt>,
) -> Result<()> {
    let tree = update.tree();
    let count = u32::try_from(segment_count(update.dim())).map_err(|_| ProtocolError::Round {
        round,
        message: format!("an update of {} values has too many segments", update.dim()),
    })?;
    for segment in 0..count {
        if deployment.is_revealed(round, index, segment).await? {
            continue;
        }
        let reveal = update.segment_reveal(&tree, segment as usize)?;
        match deployment
            .reveal_segment(
                account,
                round,
                index,
                segment,
                Bytes::from(reveal.values),
                reveal.path.iter().map(|d| B256::from(*d)).collect(),
            )
            .await
        {
            Ok(receipt) => {
                info!(
                    round,
                    client = index,
                    segment,
                    gas = receipt.gas_used,
                    "revealed a challenged segment"
                );
                out.push(receipt);
            }
            Err(ChainError::Reverted { data, .. })
                if matches!(
                    RoundRegistryErrors::abi_decode(&data),
                    Ok(RoundRegistryErrors::AlreadyRevealed(_)
                        | RoundRegistryErrors::RevealClosed(_))
                ) =>
            {
                info!(
                    round,
                    client = index,
                    segment,
                    "segment revealed by another party, or the window closed"
                );
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Settles every availability challenge of `round` that went unanswered, once the phase is
/// over (the challengers get their bonds and costs back; the clients are out). Anyone may do
/// it. Returns the settled client indices with their receipts.
///
/// # Errors
/// Chain access or a reverted settlement.
pub async fn settle_unanswered<C: Chain>(
    deployment: &Deployment<C>,
    account: Address,
    round: u64,
) -> Result<Vec<(u32, TxReceipt)>> {
    let view = deployment.round(round).await?;
    if deployment.chain().timestamp().await? < view.postOpensAt {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for index in 0..view.clientCount {
        let (a, excluded) = deployment.availability(round, index).await?;
        if excluded && !a.settled {
            let receipt = deployment
                .settle_availability(account, round, index)
                .await?;
            info!(
                round,
                client = index,
                "unanswered availability challenge settled; client excluded"
            );
            out.push((index, receipt));
        }
    }
    Ok(out)
}

/// Every participant's update, in participant order, from `source` or from reveals, each
/// checked against its committed root (as the round's context holds it).
///
/// # Errors
/// A participant whose data cannot be obtained (it should have been challenged during the
/// availability phase), or chain access.
pub async fn gather_updates<C: Chain>(
    deployment: &Deployment<C>,
    source: &dyn UpdateSource,
    round: u64,
    inputs: &RoundInputs,
) -> Result<Vec<Update>> {
    let ctx = &inputs.ctx;
    let mut updates = Vec::with_capacity(inputs.clients.len());
    for (&client, p) in inputs.clients.iter().zip(ctx.participants()) {
        let root = B256::from(p.update_root);
        match obtain_update(deployment, source, round, client, root, ctx.dim()).await? {
            Some(u) => updates.push(u),
            None => {
                return Err(ProtocolError::Unavailable {
                    round,
                    client,
                    reason: "not offered off chain, not revealed on chain, and not excluded".into(),
                });
            }
        }
    }
    Ok(updates)
}
