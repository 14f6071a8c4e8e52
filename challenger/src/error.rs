//! The crate's error type.

use thiserror::Error;

/// Result alias for this crate.
pub type Result<T, E = ChallengerError> = std::result::Result<T, E>;

/// Failures of the challenger.
#[derive(Debug, Error)]
pub enum ChallengerError {
    /// Reading the round, data availability or playing a game failed.
    #[error(transparent)]
    Protocol(#[from] protocol::ProtocolError),
    /// Chain access failed or a transaction reverted.
    #[error(transparent)]
    Chain(#[from] contracts::ChainError),
    /// The VM rejected the inputs.
    #[error(transparent)]
    Vm(#[from] step_vm::VmError),
    /// The daemon's store or data-availability transport failed.
    #[error(transparent)]
    Daemon(#[from] daemon::DaemonError),
    /// The daemon cannot go on (its store failed).
    #[error("challenger daemon stopped: {0}")]
    Fatal(String),
}

impl ChallengerError {
    /// Whether retrying later can succeed.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Chain(e) => e.is_transient(),
            Self::Protocol(e) => e.is_transient(),
            _ => false,
        }
    }
}
