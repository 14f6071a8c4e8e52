//! The crate's error type.

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{Address, B256, Bytes};
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
    /// The node refused a transaction before including it.
    #[error(
        "{action}: the node refused the transaction of {account} with nonce {nonce} ({kind}): {message}"
    )]
    TxRejected {
        /// What was attempted.
        action: String,
        /// Sender.
        account: Address,
        /// Nonce of the refused transaction.
        nonce: u64,
        /// Why, classified.
        kind: TxRejection,
        /// The node's own words.
        message: String,
    },
    /// A request to the node did not answer in time.
    #[error("{action} timed out after {after:?}")]
    Timeout {
        /// What was asked.
        action: String,
        /// How long the manager waited.
        after: Duration,
    },
    /// A transaction was submitted and re-submitted with higher fees, and never mined.
    #[error(
        "{action}: the transaction of {account} with nonce {nonce} was not mined after {submissions} submissions (last {last_hash}, max fee {max_fee_per_gas} wei); raise TxPolicy::max_fee_per_gas or max_fee_bumps"
    )]
    NotMined {
        /// What was attempted.
        action: String,
        /// Sender.
        account: Address,
        /// Nonce the transaction holds.
        nonce: u64,
        /// Submissions made (the first and every fee bump).
        submissions: u32,
        /// Hash of the last submission.
        last_hash: B256,
        /// Fee cap of the last submission (wei per gas; `u64` keeps the error small, and no
        /// policy cap reaches 2^64 wei).
        max_fee_per_gas: u64,
    },
    /// The same transaction (same sender, recipient, data and value) was already in flight,
    /// and it failed; this caller waited for it instead of sending another.
    #[error("{action}: the identical transaction already in flight failed: {source}")]
    InFlightFailed {
        /// What was attempted.
        action: String,
        /// The failure of the transaction waited for.
        #[source]
        source: Arc<ChainError>,
    },
    /// The transaction journal could not be read or written.
    #[error("transaction journal: {operation} failed: {source}")]
    Journal {
        /// What was attempted (`record_submitted`, `in_flight`, ...).
        operation: &'static str,
        /// The storage error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A transaction policy field is out of range.
    #[error("TxPolicy::{field} = {value} is invalid: expected {expected}")]
    InvalidPolicy {
        /// The field.
        field: &'static str,
        /// Its value.
        value: String,
        /// What it must be.
        expected: &'static str,
    },
}

/// Why a node refused a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxRejection {
    /// The account has already used this nonce.
    NonceTooLow,
    /// The node already holds this exact transaction.
    AlreadyKnown,
    /// A pending transaction with this nonce has fees the new one does not exceed enough.
    ReplacementUnderpriced,
    /// The fee cap is below the base fee.
    FeeCapTooLow,
    /// The sender cannot pay for gas and value.
    InsufficientFunds,
    /// Any other refusal.
    Other,
}

impl std::fmt::Display for TxRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::NonceTooLow => "nonce too low",
            Self::AlreadyKnown => "already known",
            Self::ReplacementUnderpriced => "replacement transaction underpriced",
            Self::FeeCapTooLow => "max fee per gas less than block base fee",
            Self::InsufficientFunds => "insufficient funds for gas * price + value",
            Self::Other => "refused",
        })
    }
}

impl TxRejection {
    /// Classifies a node's error message (geth, reth and Anvil wordings).
    #[must_use]
    pub fn classify(message: &str) -> Option<Self> {
        let m = message.to_ascii_lowercase();
        if m.contains("nonce too low") || m.contains("nonce has already been used") {
            Some(Self::NonceTooLow)
        } else if m.contains("already known") || m.contains("already imported") {
            Some(Self::AlreadyKnown)
        } else if m.contains("underpriced") {
            Some(Self::ReplacementUnderpriced)
        } else if m.contains("less than block base fee") || m.contains("fee cap less than") {
            Some(Self::FeeCapTooLow)
        } else if m.contains("insufficient funds") {
            Some(Self::InsufficientFunds)
        } else {
            None
        }
    }
}

impl ChainError {
    /// Whether retrying the same action can succeed (transport trouble), as opposed to a
    /// definite answer from the chain.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Rpc { .. } | Self::Pending { .. } | Self::Timeout { .. }
        )
    }

    /// The same error naming `action` instead (a node names the RPC method; the manager
    /// names what the caller attempted).
    #[must_use]
    pub fn for_action(self, action: &str) -> Self {
        match self {
            Self::Reverted { reason, data, .. } => Self::Reverted {
                action: action.to_owned(),
                reason,
                data,
            },
            Self::Halted { reason, .. } => Self::Halted {
                action: action.to_owned(),
                reason,
            },
            other => other,
        }
    }

    /// A copy for a second caller that waited for the same transaction: reverts are copied as
    /// they are (callers match on them), anything else is wrapped.
    #[must_use]
    pub fn shared(self: &Arc<Self>, action: &str) -> Self {
        match &**self {
            Self::Reverted { reason, data, .. } => Self::Reverted {
                action: action.to_owned(),
                reason: reason.clone(),
                data: data.clone(),
            },
            _ => Self::InFlightFailed {
                action: action.to_owned(),
                source: Arc::clone(self),
            },
        }
    }
}
