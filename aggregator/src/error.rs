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
    /// Reading the round or playing a game failed.
    #[error(transparent)]
    Game(#[from] challenger::ChallengerError),
    /// The registry's config hash differs from the VM's: contracts and VM are out of lockstep.
    #[error("round {round}: on-chain config hash {on_chain}, the VM derives {derived}")]
    Lockstep {
        /// Round id.
        round: u64,
        /// Registry value.
        on_chain: String,
        /// VM value.
        derived: String,
    },
}
