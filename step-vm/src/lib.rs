//! Deterministic fixed-point step VM for federated-learning aggregation.
//!
//! An aggregation rule ([`Rule`], implemented as a [`Program`] in `rules/`) is a program of
//! small **steps** of a few kinds ([`StepKind`], one module each in `kinds/`); each step reads
//! a bounded number of values (a 32-lane leaf with its opening plus a small register) and
//! writes one leaf or the register, so a single step fits a small Halo2 circuit and one
//! transaction's calldata. Every state between steps has a keccak commitment that the contracts can recompute
//! (see `docs/ARCHITECTURE.md` for the byte-level specification).
//!
//! The honest path never hashes intermediate states: [`Trace::execute`] computes the result natively
//! (FedAvg: exact `i64` sums in cache-sized blocks; median and trimmed mean: selection per
//! lane; chunks in parallel; norm clipping in front of any of them: exact squared norms, then
//! the base rule on the clipped updates; Krum, Multi-Krum and Bulyan: one exact distance matrix
//! shared by every selection) and commits only the output tree. A [`Trace`] rebuilds
//! the state at any step index on demand, for disputes, by replaying one row of the program.
//!
//! Faults are not part of an execution: every step's writes pass through a [`Tamper`] hook,
//! [`Honest`] in production; the `adversary` feature adds a [`Fault`]-injecting one for tests
//! and simulations.
//!
//! This crate is pure: no I/O, no async, no network.

#[cfg(feature = "adversary")]
mod adversary;
mod clip;
mod distance;
mod error;
mod fixed;
mod hash;
mod kinds;
mod merkle;
mod pack;
mod round;
mod rules;
mod segment;
mod state;
mod tamper;
mod trace;

#[cfg(feature = "adversary")]
pub use adversary::{Cell, Fault};
pub use clip::{UNIT_SCALE, clip_scale, clip_value, clip_values, norm, norm_squared};
pub use distance::{Distances, Selection, distance_native, distance_native_with};
pub use error::{Result, VmError};
pub use fixed::{
    AccLeaf, FRAC_BITS, LANES, MAX_DIM, MAX_PARTICIPANTS, MAX_WEIGHT, Update, ValueLeaf,
    chunk_count, to_fixed, zero_acc,
};
pub use hash::{
    Digest, Keccak, clipped_state_hash, distance_leaf_hash, hex_digest, keccak256, node_hash,
    participant_leaf_hash, register_hash, scale_leaf_hash, selection_leaf_hash, value_leaf_hash,
};
pub use kinds::{
    Accumulate, CLOSE_PASSES, COUNT_BASE, ClientRead, ClipReads, CloseEmit, CloseEmitReads,
    CloseRank, CloseSum, Distance, DistanceOpening, DistanceReads, EmitReads, Finalize,
    FinalizeReads, Kind, NORM_LIMB_BITS, NORM_WORDS, Norm, Pick, PickReads, PickRegister,
    RANK_PASSES, Rank, RankReads, SCORE_LANES, SCORE_PASSES, SLOT_MAX, STAT_FIELDS, STAT_PACK,
    STAT_WORDS, Scale, ScaleReads, ScoreRank, ScoreReads, ScoreRegister, ScoreSum,
    SelectAccumulate, SelectFinalize, SelectRank, SelectReads, SelectionOpening, StatRegister,
    StepKind, StepPosition, StepReads, StepWitness, TrimEmit, TrimReads, TrimSum, accumulate,
    accumulate_instances, block_scores, close_emit, close_rank_step, close_sum_step,
    close_sum_twice, closeness, distance_blocks, distance_leaf_index, distance_step, finalize,
    finalize_instances, mean_half_up, norm_register, norm_register_of, norm_step, norm_total,
    offset, pair_at, pair_count, pair_index, pick_step, rank_step, scale_step, score_rank_step,
    score_sum_step, select_values, trim_emit, trim_sum_step, trimmed_sum, write_distance,
    zero_norm,
};
pub use merkle::{CompleteTree, empty_root, fold_path, zero_hashes};
pub use pack::{
    ACC_PACK, Instance, VALUE_PACK, pack_acc_leaf, pack_slots, pack_value_leaf, scalar_instance,
};
pub use round::{Participant, RoundConfig, RoundContext, config_hash};
pub use rules::{
    BPS, Base, Clipped, Execution, FedAvg, OrderMean, Program, Rule, Selected, SelectedPhase,
    SelectedPlan, Shape, fedavg_native, order_mean_native,
};
pub use segment::{
    SEGMENT_DEPTH, SegmentLayout, SegmentReveal, segment_count, segment_layout, segment_root,
};
pub use state::{
    RegisterLayout, SLOT_BYTES, State, slot_bytes, slot_value, slot_words, state_hash,
};
pub use tamper::{Honest, Tamper};
pub use trace::{Trace, check_update_roots};
