//! The crate's error type.

use alloy::primitives::{Address, Bytes};
use thiserror::Error;

/// Result alias for this crate.
pub type Result<T, E = ChainError> = std::result::Result<T, E>;

/// Failures of chain access. A revert is data about the transaction (with its decoded reason);
/// transport and node failures are infrastructure errors.
#[derive(Debug, Error)]
pub enum ChainError {
    /// The transaction or call reverted.
    #[error("{action} reverted: {reason}")]
    Reverted {
        /// What was attempted (`postResult`, `bisect`, ...).
        action: String,
        /// Decoded custom error or revert string, or the raw data in hex.
        reason: String,
        /// Raw revert data.
        data: Bytes,
    },
    /// The transaction halted (out of gas, invalid opcode, ...).
    #[error("{action} halted: {reason}")]
    Halted {
        /// What was attempted.
        action: String,
        /// The halt reason.
        reason: String,
    },
    /// The account is not one this chain can sign for.
    #[error("no key for account {0}; use one of the chain's funded accounts")]
    UnknownAccount(Address),
    /// The in-process EVM rejected the transaction before executing it.
    #[error("in-process EVM error during {action}: {message}")]
    Evm {
        /// What was attempted.
        action: String,
        /// The EVM's message.
        message: String,
    },
    /// JSON-RPC transport or node error.
    #[error("JSON-RPC error during {action}: {source}")]
    Rpc {
        /// What was attempted.
        action: String,
        /// The transport error.
        #[source]
        source: alloy::transports::TransportError,
    },
    /// Waiting for a receipt failed.
    #[error("waiting for the receipt of {action} failed: {source}")]
    Pending {
        /// What was attempted.
        action: String,
        /// The underlying error.
        #[source]
        source: alloy::providers::PendingTransactionError,
    },
    /// A local Anvil node could not be started.
    #[error("could not start anvil at {path}: {source}")]
    Anvil {
        /// The binary tried.
        path: String,
        /// The underlying error.
        #[source]
        source: alloy::node_bindings::NodeError,
    },
    /// A return value or event did not decode.
    #[error("could not decode {what}: {source}")]
    Decode {
        /// What was decoded.
        what: String,
        /// The decoder's error.
        #[source]
        source: alloy::sol_types::Error,
    },
    /// An expected event was missing from a receipt.
    #[error("{action} succeeded but emitted no {event} event")]
    MissingEvent {
        /// What was attempted.
        action: String,
        /// The event expected.
        event: &'static str,
    },
    /// The chain connection is misconfigured (URL, keys, mnemonic).
    #[error("chain configuration: {0}")]
    Config(String),
    /// The node answered something no healthy node answers.
    #[error("unexpected node response to {action}: {message}")]
    Node {
        /// What was asked.
        action: &'static str,
        /// What was wrong.
        message: String,
    },
}

impl ChainError {
    /// Whether retrying the same action can succeed (transport trouble), as opposed to a
    /// definite answer from the chain.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Rpc { .. } | Self::Pending { .. })
    }
}
