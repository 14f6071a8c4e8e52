//! The crate's error type.

use thiserror::Error;

/// Result alias for this crate.
pub type Result<T, E = ArbiterError> = std::result::Result<T, E>;

/// Failures of the solver and the leaf prover.
#[derive(Debug, Error)]
pub enum ArbiterError {
    /// The VM could not produce a state or witness.
    #[error(transparent)]
    Vm(#[from] step_vm::VmError),
    /// The game is in a shape no valid game reaches (e.g. an interval outside the trace).
    #[error("inconsistent game state: {0}")]
    InconsistentGame(String),
}
