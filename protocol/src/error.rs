//! The crate's error type.

use thiserror::Error;

/// Result alias for this crate.
pub type Result<T, E = ProtocolError> = std::result::Result<T, E>;

/// Failures of reading a round, of data availability, and of playing a game (either role).
#[derive(Debug, Error)]
pub enum ProtocolError {
    /// Chain access failed or a transaction reverted.
    #[error(transparent)]
    Chain(#[from] contracts::ChainError),
    /// The VM rejected the inputs.
    #[error(transparent)]
    Vm(#[from] step_vm::VmError),
    /// Solver or prover failure.
    #[error(transparent)]
    Arbiter(#[from] arbiter::ArbiterError),
    /// The round on chain is not in a state this action needs.
    #[error("round {round}: {message}")]
    Round {
        /// Round id.
        round: u64,
        /// What is wrong.
        message: String,
    },
    /// A participant's update can be obtained neither off chain nor from on-chain reveals.
    #[error("round {round}: update of client {client} is unavailable: {reason}")]
    Unavailable {
        /// Round id.
        round: u64,
        /// Client index.
        client: u32,
        /// Why.
        reason: String,
    },
    /// The segments revealed on chain for a client do not rebuild its committed update.
    #[error(
        "round {round}: the segments revealed for client {client} do not rebuild its update: {source}"
    )]
    Segments {
        /// Round id.
        round: u64,
        /// Client index.
        client: u32,
        /// What is wrong with them.
        #[source]
        source: step_vm::VmError,
    },
    /// The chain's commitments disagree with what the VM derives from the same data: the
    /// VM and the contracts are out of lockstep (a deployment or version mismatch).
    #[error("round {round}: on-chain {what} is {on_chain}, the VM derives {derived}")]
    Lockstep {
        /// Round id.
        round: u64,
        /// Which commitment.
        what: &'static str,
        /// The chain's value.
        on_chain: String,
        /// The VM's value.
        derived: String,
    },
}

impl ProtocolError {
    /// Whether retrying later can succeed.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Chain(e) if e.is_transient())
    }
}
