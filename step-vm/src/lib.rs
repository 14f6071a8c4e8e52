//! Deterministic fixed-point step VM for federated-learning aggregation.
//!
//! The aggregation rule (weighted FedAvg for now) is a program of small **steps**; each step
//! reads a bounded number of values (one 32-lane leaf plus a 32-lane register) and writes one
//! leaf or the register, so a single step fits a small Halo2 circuit and one transaction's
//! calldata. Every state between steps has a keccak commitment that the contracts can recompute
//! (see `docs/ARCHITECTURE.md` for the byte-level specification).
//!
//! The honest path never hashes intermediate states: [`Trace::execute`] computes the result natively
//! (exact `i64` sums per chunk, chunks in parallel) and commits only the output tree. A
//! [`Trace`] rebuilds the state at any step index on demand, for disputes, in
//! `O(n·LANES + log C)`.
//!
//! This crate is pure: no I/O, no async, no network.

mod error;
mod fixed;
mod hash;
mod merkle;
mod pack;
mod program;
mod round;
mod segment;
mod state;
mod trace;

pub use error::{Result, VmError};
pub use fixed::{
    FRAC_BITS, LANES, MAX_DIM, MAX_PARTICIPANTS, MAX_WEIGHT, Update, chunk_count, to_fixed,
};
pub use hash::{
    Digest, Keccak, acc_hash, hex_digest, keccak256, node_hash, participant_leaf_hash,
    value_leaf_hash,
};
pub use merkle::{CompleteTree, empty_root, fold_path, zero_hashes};
pub use pack::{
    ACC_PACK, Instance, VALUE_PACK, accumulate_instances, finalize_instances, pack_acc_leaf,
    pack_value_leaf,
};
pub use program::{AccLeaf, StepKind, StepPosition, ValueLeaf, accumulate, finalize, zero_acc};
pub use round::{Participant, RoundConfig, RoundContext, Rule, config_hash};
pub use segment::{
    SEGMENT_DEPTH, SegmentLayout, SegmentReveal, segment_count, segment_layout, segment_root,
};
pub use state::{State, state_hash};
pub use trace::{Fault, StepInput, StepWitness, Trace, check_update_roots, fedavg_native};
