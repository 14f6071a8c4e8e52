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
    /// Reading the round, a VM/registry lockstep mismatch, or playing a game failed.
    #[error(transparent)]
    Game(#[from] challenger::ChallengerError),
}
