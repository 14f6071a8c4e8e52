//! The crate's error type.

use thiserror::Error;

/// Result alias for this crate.
pub type Result<T, E = CircuitError> = std::result::Result<T, E>;

/// Failures of setup and proving.
#[derive(Debug, Error)]
pub enum CircuitError {
    /// The witness contradicts the step's semantics: no valid proof exists.
    #[error("{kind} step witness is not satisfiable: {reason}")]
    Unsatisfiable {
        /// Step kind.
        kind: &'static str,
        /// What contradicts.
        reason: String,
    },
    /// A witness of one kind was given to the prover of another.
    #[error("a {actual} witness was given to the {expected} prover")]
    WrongKind {
        /// Prover kind.
        expected: &'static str,
        /// Witness kind.
        actual: &'static str,
    },
    /// halo2 key generation or proving failed.
    #[error("halo2 {stage} failed: {message}")]
    Halo2 {
        /// keygen, prove or verify.
        stage: &'static str,
        /// halo2's message.
        message: String,
    },
    /// A proof did not verify.
    #[error("{kind} proof does not verify against the verifying key")]
    InvalidProof {
        /// Step kind.
        kind: &'static str,
    },
    /// The ceremony file could not be read or is too small.
    #[error("SRS file {path}: {message}")]
    Srs {
        /// File.
        path: String,
        /// What is wrong.
        message: String,
    },
}
