//! Halo2 circuits (KZG over BN254, via halo2-base / halo2-axiom) proving one step of the
//! step VM, with the EVM verifier generator.
//!
//! One circuit per step kind ([`step_vm::StepKind`]); each proves the step's *arithmetic* over
//! public inputs that are the step's packed reads and writes (ARCHITECTURE §5). The hashing —
//! the pre-state preimage, the Merkle openings, the post-state commitment — stays on-chain in
//! keccak, where it costs ~10k gas per opening; in-circuit Poseidon measured ~35× more cells and
//! 7–14 s per proof (FIELD-NOTES §2), in-circuit keccak far more. So a proof costs a fraction
//! of a second and the on-chain verifier stays a fixed ~300k gas whatever the step computes.
//!
//! A native reference (step-vm's `accumulate`/`finalize`) sits beside each circuit; the prover
//! refuses a witness the reference contradicts, so an unsatisfiable claim is an error, never a
//! panic or an invalid proof.
//!
//! Pure: no I/O except reading a ceremony file on request ([`Srs::read`]).

mod accumulate;
mod error;
mod finalize;
mod gadgets;
mod prover;
mod srs;

pub use accumulate::AccumulateAssignment;
pub use error::{CircuitError, Result};
pub use finalize::FinalizeAssignment;
pub use gadgets::instance_to_fr;
pub use prover::{StepProof, StepProver, circuit_params};
pub use srs::{DEV_SRS_SEED, K, Srs};

/// Re-exported field and curve types.
pub use halo2_base::halo2_proofs::halo2curves::bn256::Fr;

#[cfg(test)]
mod tests;
