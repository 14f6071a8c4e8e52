//! Taking part in a round: commit the update's root and weight on chain, then upload the
//! update to the aggregator's data-availability server, which checks it against that
//! commitment.

use alloy::primitives::{Address, B256};
use contracts::{Chain, Deployment};
use daemon::DaClient;
use step_vm::{Update, hex_digest};
use tracing::info;

use crate::{ClientError, Result};

/// What [`submit`] did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Submitted {
    /// The round.
    pub round: u64,
    /// The client's index in the round's client list.
    pub client_index: u32,
    /// The committed update root.
    pub update_root: String,
    /// Gas of the commit (`None` if the same root was already committed).
    pub commit_gas: Option<u64>,
}

/// Commits `update` with `weight` for `account` in `round` (unless the same root is already
/// committed: a retry after a crash), then uploads it to the server at `aggregator_url`.
///
/// # Errors
/// The account is not one of the round's clients, it already committed another root, the
/// commit reverts, or the server refuses the upload (with its reason).
pub async fn submit<C: Chain>(
    deployment: &Deployment<C>,
    account: Address,
    round: u64,
    update: &Update,
    weight: u32,
    aggregator_url: &str,
) -> Result<Submitted> {
    let clients = deployment.clients(round).await.map_err(chain)?;
    let index = clients
        .iter()
        .position(|c| *c == account)
        .ok_or_else(|| ClientError::Round {
            round,
            message: format!(
                "account {account} is not one of the round's {} clients",
                clients.len()
            ),
        })?;
    let index = u32::try_from(index).map_err(|_| ClientError::Round {
        round,
        message: "client index does not fit u32".into(),
    })?;
    let root = update.root();
    let (committed, _) = deployment.commitment(round, index).await.map_err(chain)?;
    let commit_gas = if committed == B256::ZERO {
        let r = deployment
            .commit_update(account, round, index, B256::from(root), weight)
            .await
            .map_err(chain)?;
        info!(
            round,
            client = index,
            root = hex_digest(&root),
            gas = r.gas_used,
            "committed"
        );
        Some(r.gas_used)
    } else if committed.0 == root {
        None
    } else {
        return Err(ClientError::Round {
            round,
            message: format!(
                "client {index} already committed {committed}, not this update's root {}",
                hex_digest(&root)
            ),
        });
    };
    DaClient::new()
        .upload(aggregator_url, round, index, update)
        .await
        .map_err(|e| ClientError::Upload(e.to_string()))?;
    info!(round, client = index, url = aggregator_url, "uploaded");
    Ok(Submitted {
        round,
        client_index: index,
        update_root: hex_digest(&root),
        commit_gas,
    })
}

fn chain(e: contracts::ChainError) -> ClientError {
    ClientError::Chain(e.to_string())
}
