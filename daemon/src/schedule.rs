//! The parts of a role daemon's loop that do not depend on the role: finding new rounds, and
//! giving every active round one turn per tick with bounded concurrency.

use std::collections::BTreeMap;
use std::future::Future;

use contracts::{Chain, Deployment};
use futures::StreamExt as _;

use crate::{Result, Store};

/// The store cursor holding the next round id to look at.
const NEXT_ROUND: &str = "next_round";

/// Rounds opened since the last call (from the store's cursor up to the registry's
/// `roundCount`), each recorded with phase `first_phase` when `follow` accepts its view; returns
/// the ids newly followed. The cursor moves past each round as it is read, so a restart never
/// reads a round twice nor skips one.
///
/// # Errors
/// Chain access or the store.
pub async fn follow_new_rounds<C: Chain>(
    deployment: &Deployment<C>,
    store: &Store,
    first_phase: &str,
    follow: impl Fn(&contracts::RoundView) -> bool,
) -> std::result::Result<Vec<u64>, FollowError> {
    let count = deployment.round_count().await?;
    let mut next = store.cursor(NEXT_ROUND)?.max(1);
    let mut new = Vec::new();
    while next <= count {
        let view = deployment.round(next).await?;
        if follow(&view) && store.phase(next)?.is_none() {
            store.set_phase(next, first_phase)?;
            new.push(next);
        }
        next += 1;
        store.set_cursor(NEXT_ROUND, next)?;
    }
    Ok(new)
}

/// Why following new rounds failed: the chain (retry next tick) or the store (fatal).
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    /// Chain access.
    #[error(transparent)]
    Chain(#[from] contracts::ChainError),
    /// The store.
    #[error(transparent)]
    Store(#[from] crate::DaemonError),
}

/// One turn for each of the store's active rounds, at most `limit` at once. Each round's
/// in-memory state `M` (a trace, a defence) is taken out of `memory` for its turn and put back
/// after it; returns each round's result.
///
/// # Errors
/// Reading the active rounds from the store.
pub async fn round_turns<M, E, F, Fut>(
    store: &Store,
    memory: &mut BTreeMap<u64, M>,
    limit: usize,
    turn: F,
) -> Result<Vec<(u64, std::result::Result<(), E>)>>
where
    F: Fn(u64, String, Option<M>) -> Fut,
    Fut: Future<Output = (Option<M>, std::result::Result<(), E>)>,
{
    let tasks: Vec<_> = store
        .active_rounds()?
        .into_iter()
        .map(|(round, phase)| (round, phase, memory.remove(&round)))
        .collect();
    let done: Vec<_> = futures::stream::iter(tasks)
        .map(|(round, phase, state)| {
            let fut = turn(round, phase, state);
            async move { (round, fut.await) }
        })
        .buffer_unordered(limit.max(1))
        .collect()
        .await;
    Ok(done
        .into_iter()
        .map(|(round, (state, result))| {
            if let Some(s) = state {
                memory.insert(round, s);
            }
            (round, result)
        })
        .collect())
}
