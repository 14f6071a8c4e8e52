//! The crate's error type.

use thiserror::Error;

/// Result alias for this crate.
pub type Result<T, E = AggregatorError> = std::result::Result<T, E>;

/// Failures of the aggregator.
#[derive(Debug, Error)]
pub enum AggregatorError {
    /// Chain access failed or a transaction reverted.
    #[error(transparent)]
    Chain(#[from] contracts::ChainError),
    /// The VM rejected the inputs (dimension, roots, ...).
    #[error(transparent)]
    Vm(#[from] step_vm::VmError),
    /// The chain's participant set changed between reading it and posting (a racing commit
    /// or reveal, or a reorg): the post reverted instead of making a wrong claim.
    #[error(
        "round {round}: the inputs changed before the post landed (posted config {posted}, chain's {actual}); re-read and post again"
    )]
    StaleInputs {
        /// Round id.
        round: u64,
        /// Config hash the post named.
        posted: alloy::primitives::B256,
        /// The chain's config hash.
        actual: alloy::primitives::B256,
    },
    /// Reading the round, data availability, a VM/registry lockstep mismatch, or playing a
    /// game failed.
    #[error(transparent)]
    Protocol(#[from] protocol::ProtocolError),
    /// The daemon's store, HTTP server or configuration failed.
    #[error(transparent)]
    Daemon(#[from] daemon::DaemonError),
    /// The daemon cannot go on (its store failed).
    #[error("aggregator daemon stopped: {0}")]
    Fatal(String),
}

impl AggregatorError {
    /// Whether retrying later can succeed (stale inputs: re-read and post again).
    #[must_use]
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Chain(e) => e.is_transient(),
            Self::Protocol(e) => e.is_transient(),
            Self::StaleInputs { .. } => true,
            Self::Vm(_) | Self::Daemon(_) | Self::Fatal(_) => false,
        }
    }
}
