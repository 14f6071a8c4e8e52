//! One interface to a chain, implemented once by the transaction manager
//! ([`TxManager`](crate::TxManager)) over either node: [`InProcessChain`](crate::InProcessChain)
//! (revm, the default) and [`RpcChain`](crate::RpcChain) (JSON-RPC, e.g. Anvil).
//!
//! The interface is deliberately raw (deploy, send, call, time); the typed contract API in
//! [`crate::deployment`] is written once on top of it with `sol!` call types, so both
//! backends run byte-identical transactions and report identical gas.

use std::future::Future;

use alloy::primitives::{Address, B256, Bytes, Log, U256};

use crate::Result;

/// Outcome of a successful transaction.
#[derive(Debug, Clone)]
pub struct TxReceipt {
    /// Gas used, as the receipt reports it.
    pub gas_used: u64,
    /// Logs emitted.
    pub logs: Vec<Log>,
    /// Address created, for a deployment.
    pub created: Option<Address>,
    /// Price paid per unit of gas (wei): base fee plus tip.
    pub effective_gas_price: u128,
}

impl TxReceipt {
    /// Wei the sender paid for gas.
    #[must_use]
    pub fn fee(&self) -> U256 {
        U256::from(self.gas_used) * U256::from(self.effective_gas_price)
    }
}

/// A log as read back from the chain, with the block it was emitted in.
#[derive(Debug, Clone)]
pub struct ChainLog {
    /// Block number.
    pub block_number: u64,
    /// The log.
    pub log: Log,
}

/// Which logs to read: one event of one contract, optionally filtered on its first and second
/// indexed arguments, from a block on.
#[derive(Debug, Clone, Copy)]
pub struct LogQuery {
    /// Emitting contract.
    pub address: Address,
    /// Event signature hash (topic 0).
    pub event: B256,
    /// First indexed argument (topic 1), if filtered.
    pub topic1: Option<B256>,
    /// Second indexed argument (topic 2), if filtered.
    pub topic2: Option<B256>,
    /// First block to read.
    pub from_block: u64,
}

/// A chain the system can deploy to, transact on and advance the clock of.
pub trait Chain: Send + Sync {
    /// Funded accounts this chain can sign for; the first one deploys.
    fn accounts(&self) -> &[Address];

    /// Human-readable name of the backend (`revm (in-process)`, `json-rpc http://...`).
    fn name(&self) -> String;

    /// Sends a transaction (`to = None` deploys `data` as init code) and returns once it is
    /// mined (and confirmed). A revert is an error carrying the revert data: at gas estimation
    /// nothing is sent; a transaction mined with status 0 is reported the same way. `action`
    /// names the transaction in errors.
    fn send(
        &self,
        action: &str,
        from: Address,
        to: Option<Address>,
        data: Bytes,
        value: U256,
    ) -> impl Future<Output = Result<TxReceipt>> + Send;

    /// Executes a read-only call against the latest state.
    fn call(
        &self,
        action: &str,
        to: Address,
        data: Bytes,
    ) -> impl Future<Output = Result<Bytes>> + Send;

    /// Timestamp of the latest block; the next transaction executes at or after it.
    fn timestamp(&self) -> impl Future<Output = Result<u64>> + Send;

    /// Moves the clock forward by `secs` seconds.
    fn advance_time(&self, secs: u64) -> impl Future<Output = Result<()>> + Send;

    /// Balance of an account.
    fn balance(&self, account: Address) -> impl Future<Output = Result<U256>> + Send;

    /// EIP-155 chain id.
    fn chain_id(&self) -> impl Future<Output = Result<u64>> + Send;

    /// Number of the latest block.
    fn block_number(&self) -> impl Future<Output = Result<u64>> + Send;

    /// Logs matching `query`, oldest first, up to the latest block.
    fn logs(&self, query: LogQuery) -> impl Future<Output = Result<Vec<ChainLog>>> + Send;
}
