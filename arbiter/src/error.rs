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
    /// The own trace's post-state for this step is not what the step computes, so no valid
    /// proof of it exists (a dishonest trace at its corrupted step).
    #[error(
        "step {step}: the claimed post-state is not what the step computes; it cannot be proven"
    )]
    ClaimNotProvable {
        /// The step.
        step: u64,
    },
    /// Proving failed.
    #[error(transparent)]
    Circuit(#[from] circuits::CircuitError),
    /// The game is in a shape no valid game reaches (e.g. an interval outside the trace).
    #[error("inconsistent game state: {0}")]
    InconsistentGame(String),
}
