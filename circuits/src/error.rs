//! The crate's error type.

use thiserror::Error;

/// Result alias for this crate.
pub type Result<T, E = CircuitError> = std::result::Result<T, E>;

/// Failures of setup, proving and verification.
#[derive(Debug, Error)]
pub enum CircuitError {
    /// The claimed post-state differs from what the step computes in one lane: no valid proof
    /// exists (a dishonest trace at its corrupted step).
    #[error(
        "{kind} step: lane {lane} of {register} is claimed as {claimed}, the step computes {computed}; no proof of this claim exists"
    )]
    ClaimMismatch {
        /// Step kind.
        kind: &'static str,
        /// `acc'` (Accumulate) or `out` (Finalize).
        register: &'static str,
        /// First lane that differs.
        lane: usize,
        /// The witness's claim.
        claimed: i64,
        /// What the step yields.
        computed: i128,
    },
    /// The witness contradicts the step's semantics in a way no lane comparison expresses
    /// (a zero total weight, an accumulator leaving the i64 range, a finalised value leaving
    /// i32): no valid proof exists.
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
    /// A public input is not a canonical field element (`>= r`).
    #[error(
        "public input {index} is not below the BN254 scalar modulus r; honest instances are below 2^224"
    )]
    InstanceNotInField {
        /// Position among the proof's public inputs.
        index: usize,
    },
    /// halo2 key generation or proving failed.
    #[error("halo2 {stage} failed")]
    Halo2 {
        /// keygen or prove.
        stage: &'static str,
        /// halo2's error.
        #[source]
        source: halo2_base::halo2_proofs::plonk::Error,
    },
    /// A proof did not verify.
    #[error("{kind} proof does not verify against the verifying key")]
    InvalidProof {
        /// Step kind.
        kind: &'static str,
    },
    /// The ceremony file could not be read or does not parse as halo2 KZG params.
    #[error("SRS file {path}: cannot read halo2 KZG params (k, 2^k G1, 2^k Lagrange G1, g2, s·g2)")]
    SrsRead {
        /// File.
        path: String,
        /// The I/O or decoding error.
        #[source]
        source: std::io::Error,
    },
    /// The ceremony file parses but is unusable.
    #[error("SRS file {path}: {field} is {actual}, expected {expected}")]
    SrsInvalid {
        /// File.
        path: String,
        /// What is wrong.
        field: &'static str,
        /// What is required.
        expected: String,
        /// What the file has.
        actual: String,
    },
    /// A witness whose states do not have the kind's shape (e.g. a register of the wrong
    /// width), so no assignment can be made from it.
    #[error("{kind} step witness is malformed")]
    BadWitness {
        /// Step kind.
        kind: &'static str,
        /// What step-vm found wrong.
        #[source]
        source: step_vm::VmError,
    },
    /// The generated Solidity no longer has the shape the post-processing expects (a
    /// snark-verifier upgrade changed its template).
    #[error(
        "the generated Solidity verifier does not contain `{expected}` exactly once; update circuits' post-processing"
    )]
    SolidityTemplate {
        /// The text looked for.
        expected: &'static str,
    },
}
