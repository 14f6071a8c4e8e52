//! Halo2 circuits (KZG over BN254, via halo2-base / halo2-axiom) proving one step of the
//! step VM, with the EVM verifier generator.
//!
//! One circuit per step kind ([`step_vm::StepKind`]); each proves the step's *arithmetic* over
//! public inputs that are the step's packed reads and writes (ARCHITECTURE §5):
//!
//! | kind | relation | public inputs |
//! |---|---|---|
//! | `Accumulate` | `acc'_l = acc_l + w·x_l` | `w`, `x` (5), `acc` (11), `acc'` (11) |
//! | `Finalize` | `2·acc_l + W = out_l·2W + r_l`, `0 <= r_l < 2W` | `W`, `acc` (11), `out` (5) |
//! | `Rank`, `TrimSum`, `TrimEmit` | the radix search, the trimmed sum, the rounded mean (`order`) | see `order` |
//! | `Norm` | `lo + Σ x² = lo' + 2^40·q`, `hi' = hi + q` | `x` (5), `lo`, `hi`, `lo'`, `hi'` |
//! | `Scale` | `r = isqrt(lo + 2^40·hi)`, `s = r <= τ ? 2^32 : floor(τ·2^32 / r)` | `lo`, `hi`, `τ`, `s` |
//! | `Distance`, `ScoreRank`, `ScoreSum`, `Pick` | a pair's squared distance, the radix search for Krum score thresholds, the scores, the lowest-score scan (`select`) | see `select` |
//! | `CloseRank`, `CloseSum`, `CloseEmit` | Bulyan's trim: the radix search for the `β`-th closeness to the median, the sums below it, the rounded mean (`close`) | see `close` |
//!
//! The distance family's averaging kinds (`SelectAccumulate`, `SelectFinalize`) are proven by
//! the `Accumulate` and `Finalize` circuits, Bulyan's `SelectRank` by `Rank`'s
//! ([`step_vm::StepKind::circuit`]).
//!
//! `Clip` steps (a base kind's step under a clipped rule) have no circuit of their own: the base
//! kind's circuit proves them over the clipped values.
//!
//! **Why the arithmetic is in the circuit and the hashing on-chain.** The leaf arbiter contract
//! already has every value in calldata: it checks the pre-state preimage and the Merkle openings
//! with keccak (~10k gas per opening) and packs the values into the public inputs with shifts
//! and a XOR mask. The circuit then only has to prove the 32-lane arithmetic and the range
//! checks, ~2.5k cells at `k = 13`. Hashing in the circuit instead would take Poseidon (~2.3k
//! cells per permutation, `k = 17`, 7–14 s per proof in FIELD-NOTES §2) or keccak (far more),
//! and the contract would still have to bind those hashes to the keccak state commitments. The
//! verifier's cost stays ~300k gas whatever a step computes.
//!
//! **Soundness in one line per circuit.** Every value is carried as an offset limb (sign bit
//! flipped) and range-checked to its width, so the field equations equal the integer ones
//! (all magnitudes are below 2^98) and the big-endian packing into instances is injective.
//!
//! **Errors, never panics, never invalid proofs.** A native reference sits beside each circuit
//! ([`accumulate_reference`], [`finalize_reference`], step-vm's functions plus the circuit's
//! extra conditions); [`StepProver::prove`] refuses a witness the reference contradicts
//! ([`CircuitError::ClaimMismatch`] names the lane) and verifies every proof natively before
//! returning it.
//!
//! **Reproducible keys.** The configuration is pinned ([`circuit_params`]), the layout does not
//! depend on the witness, and the development SRS comes from a fixed public seed
//! ([`Srs::insecure_dev`], INSECURE: for development and tests only). The verifying keys'
//! fingerprints are pinned in `circuits/keys/`, the generated verifiers in
//! `contracts/src/generated/`; `cargo run -p circuits --bin keygen -- --check` and the tests
//! catch any drift.
//!
//! Pure: no network, no async; the one file access is [`Srs::read`] (a ceremony file named by
//! a binary's `--srs` flag).

mod accumulate;
mod clip;
mod close;
mod error;
mod finalize;
mod gadgets;
mod order;
mod prover;
mod select;
mod srs;

pub use accumulate::{AccumulateAssignment, accumulate_reference};
pub use clip::{NormAssignment, ScaleAssignment};
pub use close::{CloseEmitAssignment, CloseRankAssignment, CloseSumAssignment};
pub use error::{CircuitError, Result};
pub use finalize::{FinalizeAssignment, finalize_reference};
pub use gadgets::{fr_to_instance, instance_to_fr};
pub use order::{RankAssignment, TrimEmitAssignment, TrimSumAssignment};
pub use prover::{LayoutStats, StepProof, StepProver, circuit_params, layout_stats};
pub use select::{DistanceAssignment, PickAssignment, ScoreRankAssignment, ScoreSumAssignment};
pub use srs::{DEV_SRS_SEED, K, Srs};

/// Re-exported field and curve types.
pub use halo2_base::halo2_proofs::halo2curves::bn256::Fr;

#[cfg(test)]
mod clip_tests;
#[cfg(test)]
mod order_tests;
#[cfg(test)]
mod select_tests;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;
