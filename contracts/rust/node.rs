//! The low-level node interface the transaction manager drives: what an Ethereum node answers
//! over JSON-RPC (`eth_estimateGas`, `eth_getTransactionCount`, `eth_sendRawTransaction`,
//! `eth_getTransactionReceipt`, ...), with signing left to the backend.
//!
//! Two nodes implement it: [`RevmNode`](crate::RevmNode) (in-process, with a mempool) and
//! [`RpcNode`](crate::RpcNode) (alloy over JSON-RPC); [`FaultyNode`](crate::FaultyNode) wraps
//! either to inject transport faults in tests. [`TxManager`](crate::TxManager) turns any of them
//! into a [`Chain`](crate::Chain).

use std::future::Future;

use alloy::primitives::{Address, B256, Bytes, Log, U256};
use serde::{Deserialize, Serialize};

use crate::Result;
use crate::chain::{ChainLog, LogQuery};

/// A transaction as the manager hands it to a node: every field a signer needs, nothing
/// signed. The same request always signs to the same transaction hash.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TxRequest {
    /// Sender (an account the node can sign for).
    pub from: Address,
    /// Recipient; `None` deploys `data` as init code.
    pub to: Option<Address>,
    /// Calldata or init code.
    pub data: Bytes,
    /// Wei sent along.
    pub value: U256,
    /// Sender nonce.
    pub nonce: u64,
    /// Gas limit.
    pub gas_limit: u64,
    /// EIP-1559 fee cap per gas (wei).
    pub max_fee_per_gas: u128,
    /// EIP-1559 tip cap per gas (wei).
    pub max_priority_fee_per_gas: u128,
}

/// Which nonce of an account to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceTag {
    /// After the transactions mined so far.
    Latest,
    /// After the mined ones and the node's contiguous pending ones.
    Pending,
}

/// Fees the node suggests for the next block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeeSuggestion {
    /// Base fee of the next block (wei per gas).
    pub base_fee: u128,
    /// Tip the node suggests (wei per gas).
    pub priority_fee: u128,
}

/// A mined transaction's receipt.
#[derive(Debug, Clone)]
pub struct Receipt {
    /// Transaction hash.
    pub hash: B256,
    /// `true` if execution succeeded; a reverted transaction is mined too, with `false`.
    pub status: bool,
    /// Block the transaction is in.
    pub block_number: u64,
    /// Gas used.
    pub gas_used: u64,
    /// Logs emitted (none for a reverted transaction).
    pub logs: Vec<Log>,
    /// Address created, for a successful deployment.
    pub created: Option<Address>,
    /// Price paid per unit of gas (wei): base fee plus the tip paid.
    pub effective_gas_price: u128,
}

/// A node the transaction manager drives. Every method is one request to the node; retries,
/// nonces, fees and waiting are the manager's business.
pub trait Node: Send + Sync + 'static {
    /// Accounts the node can sign for; the first one deploys.
    fn accounts(&self) -> &[Address];

    /// Human-readable name of the backend.
    fn name(&self) -> String;

    /// EIP-155 chain id.
    fn chain_id(&self) -> impl Future<Output = Result<u64>> + Send;

    /// Number of the latest block.
    fn block_number(&self) -> impl Future<Output = Result<u64>> + Send;

    /// Timestamp of the latest block.
    fn timestamp(&self) -> impl Future<Output = Result<u64>> + Send;

    /// Moves the clock forward by `secs` seconds (development nodes only).
    fn advance_time(&self, secs: u64) -> impl Future<Output = Result<()>> + Send;

    /// Balance of an account.
    fn balance(&self, account: Address) -> impl Future<Output = Result<U256>> + Send;

    /// A read-only call against the latest state.
    fn call(
        &self,
        action: &str,
        to: Address,
        data: Bytes,
    ) -> impl Future<Output = Result<Bytes>> + Send;

    /// Logs matching `query`, oldest first.
    fn logs(&self, query: LogQuery) -> impl Future<Output = Result<Vec<ChainLog>>> + Send;

    /// Gas the request needs against the latest state (its nonce and fees are ignored). A
    /// revert is [`ChainError::Reverted`](crate::ChainError::Reverted) with the decoded reason.
    fn estimate_gas(&self, request: &TxRequest) -> impl Future<Output = Result<u64>> + Send;

    /// Nonce of `account`.
    fn nonce(&self, account: Address, tag: NonceTag) -> impl Future<Output = Result<u64>> + Send;

    /// Fees for the next block.
    fn fees(&self) -> impl Future<Output = Result<FeeSuggestion>> + Send;

    /// Hash `request` has once signed (signing is deterministic).
    fn tx_hash(&self, request: &TxRequest) -> impl Future<Output = Result<B256>> + Send;

    /// Signs and submits `request`; returns its hash. A refusal by the node is
    /// [`ChainError::TxRejected`](crate::ChainError::TxRejected).
    fn submit(&self, request: &TxRequest) -> impl Future<Output = Result<B256>> + Send;

    /// Receipt of a transaction, `None` while it is not mined (or unknown).
    fn receipt(&self, hash: B256) -> impl Future<Output = Result<Option<Receipt>>> + Send;

    /// Revert data of `request` re-executed at the state of `block` (the block it reverted
    /// in), if the node can tell.
    fn replay(
        &self,
        request: &TxRequest,
        block: u64,
    ) -> impl Future<Output = Result<Option<Bytes>>> + Send;
}

/// A shared node is a node (two managers over one chain, as two processes would be).
impl<N: Node> Node for std::sync::Arc<N> {
    fn accounts(&self) -> &[Address] {
        (**self).accounts()
    }

    fn name(&self) -> String {
        (**self).name()
    }

    fn chain_id(&self) -> impl Future<Output = Result<u64>> + Send {
        (**self).chain_id()
    }

    fn block_number(&self) -> impl Future<Output = Result<u64>> + Send {
        (**self).block_number()
    }

    fn timestamp(&self) -> impl Future<Output = Result<u64>> + Send {
        (**self).timestamp()
    }

    fn advance_time(&self, secs: u64) -> impl Future<Output = Result<()>> + Send {
        (**self).advance_time(secs)
    }

    fn balance(&self, account: Address) -> impl Future<Output = Result<U256>> + Send {
        (**self).balance(account)
    }

    fn call(
        &self,
        action: &str,
        to: Address,
        data: Bytes,
    ) -> impl Future<Output = Result<Bytes>> + Send {
        (**self).call(action, to, data)
    }

    fn logs(&self, query: LogQuery) -> impl Future<Output = Result<Vec<ChainLog>>> + Send {
        (**self).logs(query)
    }

    fn estimate_gas(&self, request: &TxRequest) -> impl Future<Output = Result<u64>> + Send {
        (**self).estimate_gas(request)
    }

    fn nonce(&self, account: Address, tag: NonceTag) -> impl Future<Output = Result<u64>> + Send {
        (**self).nonce(account, tag)
    }

    fn fees(&self) -> impl Future<Output = Result<FeeSuggestion>> + Send {
        (**self).fees()
    }

    fn tx_hash(&self, request: &TxRequest) -> impl Future<Output = Result<B256>> + Send {
        (**self).tx_hash(request)
    }

    fn submit(&self, request: &TxRequest) -> impl Future<Output = Result<B256>> + Send {
        (**self).submit(request)
    }

    fn receipt(&self, hash: B256) -> impl Future<Output = Result<Option<Receipt>>> + Send {
        (**self).receipt(hash)
    }

    fn replay(
        &self,
        request: &TxRequest,
        block: u64,
    ) -> impl Future<Output = Result<Option<Bytes>>> + Send {
        (**self).replay(request, block)
    }
}
