//! Step kinds: what one step reads and writes, its native semantics and its public inputs.
//!
//! Each kind is one module here (its reads with their Merkle openings, its step function, the
//! packing of its public inputs and the native mirror of its on-chain checker), one circuit in
//! the `circuits` crate, and one checker contract plus one generated verifier on chain. Rules
//! (`crate::rules`) are programs over these kinds; a kind knows nothing of the rules using it.
//!
//! Adding a kind: a module here implementing [`Kind`], a variant in [`StepKind`] and
//! [`StepReads`], its circuit, and its checker contract.

mod accumulate;
mod client;
mod clip;
mod close;
mod distance;
mod finalize;
mod norm;
mod order;
mod select;

pub use accumulate::{Accumulate, accumulate, accumulate_instances};
pub use client::ClientRead;
pub use clip::ClipReads;
pub use close::{
    CLOSE_PASSES, COUNT_BASE, CloseEmit, CloseEmitReads, CloseRank, CloseSum, SelectRank,
    TrimReads, close_emit, close_rank_step, close_sum_step, close_sum_twice, closeness,
    select_values,
};
pub use distance::{
    Distance, DistanceOpening, DistanceReads, SCORE_LANES, distance_blocks, distance_leaf_index,
    distance_step, pair_at, pair_count, pair_index, write_distance,
};
pub use finalize::{Finalize, FinalizeReads, finalize, finalize_instances};
pub use norm::{
    NORM_LIMB_BITS, NORM_WORDS, Norm, Scale, ScaleReads, norm_register, norm_register_of,
    norm_step, norm_total, scale_step, zero_norm,
};
pub use order::{
    EmitReads, RANK_PASSES, Rank, RankReads, STAT_FIELDS, STAT_PACK, STAT_WORDS, StatRegister,
    TrimEmit, TrimSum, mean_half_up, offset, rank_step, trim_emit, trim_sum_step, trimmed_sum,
};
pub use select::{
    Pick, PickReads, PickRegister, SCORE_PASSES, SLOT_MAX, ScoreRank, ScoreReads, ScoreRegister,
    ScoreSum, SelectAccumulate, SelectFinalize, SelectReads, SelectionOpening, block_scores,
    pick_step, score_rank_step, score_sum_step,
};

use crate::{Digest, Instance, Result, RoundContext, State, VmError};

/// The kinds of step; each has its own circuit, checker contract and verifier. The
/// discriminant is the kind's on-chain id (its index in the arbiter's checker table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[repr(u8)]
pub enum StepKind {
    /// `acc' = acc + w_i · x` for participant `i`'s leaf `j`.
    Accumulate = 0,
    /// Output leaf `j` = `round_half_up(acc / W)`; `acc' = 0`.
    Finalize = 1,
    /// One participant's leaf in one pass of the radix search for two order statistics.
    Rank = 2,
    /// One participant's leaf in the sum pass between the two order statistics.
    TrimSum = 3,
    /// Output leaf `j` = the rounded mean of ranks `k..n-k-1`; register reset.
    TrimEmit = 4,
    /// `Σ x²` of one participant's leaf added to the clipping prologue's norm register.
    Norm = 5,
    /// A participant's clipping scale from its squared norm, written to the scales tree.
    Scale = 6,
    /// A base program's step under a clipped rule: bound to the scales, proven by the base
    /// kind's circuit over the clipped values. No circuit or verifier of its own.
    Clip = 7,
    /// One chunk of one pair's squared distance; the pair's last chunk writes it into the
    /// distance matrix (the distance family, docs/design/distance-family.md).
    Distance = 8,
    /// One column of one pass of the radix search for a block's Krum score thresholds.
    ScoreRank = 9,
    /// One column of the sum pass below the thresholds; the last writes the block's scores.
    ScoreSum = 10,
    /// One block of a scan for the lowest score not yet picked; the last marks the pick.
    Pick = 11,
    /// `acc' = acc + flag_i · x` for participant `i`'s leaf `j` (`Accumulate`'s relation, the
    /// weight being the participant's pick flag).
    SelectAccumulate = 12,
    /// Output leaf `j` = `round_half_up(acc / m')` (`Finalize`'s relation over the `m'` picks).
    SelectFinalize = 13,
    /// Bulyan's trim: one column of one pass of the radix search for the median bounds of the
    /// picked values (`Rank`'s relation over the values, `i32::MAX` for an unpicked one).
    SelectRank = 14,
    /// One column of one pass of the radix search for the `β`-th closeness to the median.
    CloseRank = 15,
    /// One column of the sum pass over the values closer to the median than that.
    CloseSum = 16,
    /// Output leaf `j` = the rounded mean of the `β` closest values; register reset.
    CloseEmit = 17,
}

impl StepKind {
    /// All kinds, in id order (the order of the arbiter's checker table and of the verifiers
    /// hash).
    pub const ALL: [StepKind; 18] = [
        StepKind::Accumulate,
        StepKind::Finalize,
        StepKind::Rank,
        StepKind::TrimSum,
        StepKind::TrimEmit,
        StepKind::Norm,
        StepKind::Scale,
        StepKind::Clip,
        StepKind::Distance,
        StepKind::ScoreRank,
        StepKind::ScoreSum,
        StepKind::Pick,
        StepKind::SelectAccumulate,
        StepKind::SelectFinalize,
        StepKind::SelectRank,
        StepKind::CloseRank,
        StepKind::CloseSum,
        StepKind::CloseEmit,
    ];

    /// The kinds with a circuit (and a generated verifier) of their own, in id order.
    pub const PROVEN: [StepKind; 14] = [
        StepKind::Accumulate,
        StepKind::Finalize,
        StepKind::Rank,
        StepKind::TrimSum,
        StepKind::TrimEmit,
        StepKind::Norm,
        StepKind::Scale,
        StepKind::Distance,
        StepKind::ScoreRank,
        StepKind::ScoreSum,
        StepKind::Pick,
        StepKind::CloseRank,
        StepKind::CloseSum,
        StepKind::CloseEmit,
    ];

    /// The kind whose circuit and verifier prove this kind's steps: the kind itself, or for
    /// the distance family's averaging kinds FedAvg's (`SelectAccumulate` is `Accumulate`'s
    /// relation with the pick flag as the weight, `SelectFinalize` is `Finalize`'s with the
    /// pick count as the total); `None` for `Clip`, whose steps are proven by their base
    /// kind's.
    #[must_use]
    pub const fn circuit(self) -> Option<StepKind> {
        match self {
            Self::Clip => None,
            Self::SelectAccumulate => Some(Self::Accumulate),
            Self::SelectFinalize => Some(Self::Finalize),
            Self::SelectRank => Some(Self::Rank),
            other => Some(other),
        }
    }

    /// Whether the kind's checker calls a verifier (every kind but `Clip`).
    #[must_use]
    pub const fn has_verifier(self) -> bool {
        self.circuit().is_some()
    }

    /// Name used for files and contracts (`AccumulateVerifier`, `AccumulateChecker`, ...).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Accumulate => "Accumulate",
            Self::Finalize => "Finalize",
            Self::Rank => "Rank",
            Self::TrimSum => "TrimSum",
            Self::TrimEmit => "TrimEmit",
            Self::Norm => "Norm",
            Self::Scale => "Scale",
            Self::Clip => "Clip",
            Self::Distance => "Distance",
            Self::ScoreRank => "ScoreRank",
            Self::ScoreSum => "ScoreSum",
            Self::Pick => "Pick",
            Self::SelectAccumulate => "SelectAccumulate",
            Self::SelectFinalize => "SelectFinalize",
            Self::SelectRank => "SelectRank",
            Self::CloseRank => "CloseRank",
            Self::CloseSum => "CloseSum",
            Self::CloseEmit => "CloseEmit",
        }
    }

    /// The on-chain id.
    #[must_use]
    pub const fn id(self) -> u8 {
        self as u8
    }
}

/// Where step `k` sits in its rule's program: the program is a grid of rows (a register is
/// reset at each row's start, the row's last step writes one memory leaf) and columns. For
/// FedAvg a row is an output chunk and column `i < n` accumulates participant `i`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepPosition {
    /// Row (FedAvg: the output chunk).
    pub row: usize,
    /// Column within the row (FedAvg: the participant, `n` for the finalising step).
    pub col: usize,
    /// The step's kind.
    pub kind: StepKind,
}

/// What a step kind implements on the VM side: its reads (with their openings and the public
/// scalars the checker derives from the round), its public inputs and the native mirror of its
/// checker contract.
pub trait Kind {
    /// The kind's id.
    const KIND: StepKind;
    /// What one step of this kind reads (and writes, besides the register).
    type Reads;

    /// Public inputs of the step proof, in circuit order.
    ///
    /// # Errors
    /// A state whose register does not have this kind's shape.
    fn instances(reads: &Self::Reads, pre: &State, post: &State) -> Result<Vec<Instance>>;

    /// Native mirror of the kind's checker contract: verifies the reads against the round,
    /// the position and `pre`, and returns the post-state the step function (not a claim)
    /// yields.
    ///
    /// # Errors
    /// [`VmError::InvalidRound`] naming the read or opening that does not verify.
    fn check(
        ctx: &RoundContext,
        position: &StepPosition,
        reads: &Self::Reads,
        pre: &State,
    ) -> Result<State>;
}

/// The reads (with their openings) and writes of one step, per kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepReads {
    /// An `Accumulate` step.
    Accumulate(ClientRead),
    /// A `Finalize` step.
    Finalize(FinalizeReads),
    /// A `Rank` step.
    Rank(RankReads),
    /// A `TrimSum` step.
    TrimSum(ClientRead),
    /// A `TrimEmit` step.
    TrimEmit(EmitReads),
    /// A `Norm` step.
    Norm(ClientRead),
    /// A `Scale` step.
    Scale(ScaleReads),
    /// A `Clip` step.
    Clip(ClipReads),
    /// A `Distance` step.
    Distance(DistanceReads),
    /// A `ScoreRank` step.
    ScoreRank(ScoreReads),
    /// A `ScoreSum` step.
    ScoreSum(ScoreReads),
    /// A `Pick` step.
    Pick(PickReads),
    /// A `SelectAccumulate` step.
    SelectAccumulate(SelectReads),
    /// A `SelectFinalize` step.
    SelectFinalize(FinalizeReads),
    /// A `SelectRank` step.
    SelectRank(TrimReads),
    /// A `CloseRank` step.
    CloseRank(TrimReads),
    /// A `CloseSum` step.
    CloseSum(TrimReads),
    /// A `CloseEmit` step.
    CloseEmit(CloseEmitReads),
}

impl StepReads {
    /// The kind of these reads.
    #[must_use]
    pub fn kind(&self) -> StepKind {
        match self {
            Self::Accumulate(_) => Accumulate::KIND,
            Self::Finalize(_) => Finalize::KIND,
            Self::Rank(_) => Rank::KIND,
            Self::TrimSum(_) => TrimSum::KIND,
            Self::TrimEmit(_) => TrimEmit::KIND,
            Self::Norm(_) => Norm::KIND,
            Self::Scale(_) => Scale::KIND,
            Self::Clip(_) => StepKind::Clip,
            Self::Distance(_) => Distance::KIND,
            Self::ScoreRank(_) => ScoreRank::KIND,
            Self::ScoreSum(_) => ScoreSum::KIND,
            Self::Pick(_) => Pick::KIND,
            Self::SelectAccumulate(_) => SelectAccumulate::KIND,
            Self::SelectFinalize(_) => SelectFinalize::KIND,
            Self::SelectRank(_) => SelectRank::KIND,
            Self::CloseRank(_) => CloseRank::KIND,
            Self::CloseSum(_) => CloseSum::KIND,
            Self::CloseEmit(_) => CloseEmit::KIND,
        }
    }

    /// See [`Kind::instances`].
    ///
    /// # Errors
    /// As [`Kind::instances`].
    pub fn instances(&self, pre: &State, post: &State) -> Result<Vec<Instance>> {
        match self {
            Self::Accumulate(r) => Accumulate::instances(r, pre, post),
            Self::Finalize(r) => Finalize::instances(r, pre, post),
            Self::Rank(r) => Rank::instances(r, pre, post),
            Self::TrimSum(r) => TrimSum::instances(r, pre, post),
            Self::TrimEmit(r) => TrimEmit::instances(r, pre, post),
            Self::Norm(r) => Norm::instances(r, pre, post),
            Self::Scale(r) => Scale::instances(r, pre, post),
            Self::Clip(r) => r.instances(),
            Self::Distance(r) => Distance::instances(r, pre, post),
            Self::ScoreRank(r) => ScoreRank::instances(r, pre, post),
            Self::ScoreSum(r) => ScoreSum::instances(r, pre, post),
            Self::Pick(r) => Pick::instances(r, pre, post),
            Self::SelectAccumulate(r) => SelectAccumulate::instances(r, pre, post),
            Self::SelectFinalize(r) => SelectFinalize::instances(r, pre, post),
            Self::SelectRank(r) => SelectRank::instances(r, pre, post),
            Self::CloseRank(r) => CloseRank::instances(r, pre, post),
            Self::CloseSum(r) => CloseSum::instances(r, pre, post),
            Self::CloseEmit(r) => CloseEmit::instances(r, pre, post),
        }
    }

    /// See [`Kind::check`].
    ///
    /// # Errors
    /// As [`Kind::check`].
    pub fn check(&self, ctx: &RoundContext, position: &StepPosition, pre: &State) -> Result<State> {
        match self {
            Self::Accumulate(r) => Accumulate::check(ctx, position, r, pre),
            Self::Finalize(r) => Finalize::check(ctx, position, r, pre),
            Self::Rank(r) => Rank::check(ctx, position, r, pre),
            Self::TrimSum(r) => TrimSum::check(ctx, position, r, pre),
            Self::TrimEmit(r) => TrimEmit::check(ctx, position, r, pre),
            Self::Norm(r) => Norm::check(ctx, position, r, pre),
            Self::Scale(r) => Scale::check(ctx, position, r, pre),
            Self::Clip(r) => r.check(ctx, position, pre),
            Self::Distance(r) => Distance::check(ctx, position, r, pre),
            Self::ScoreRank(r) => ScoreRank::check(ctx, position, r, pre),
            Self::ScoreSum(r) => ScoreSum::check(ctx, position, r, pre),
            Self::Pick(r) => Pick::check(ctx, position, r, pre),
            Self::SelectAccumulate(r) => SelectAccumulate::check(ctx, position, r, pre),
            Self::SelectFinalize(r) => SelectFinalize::check(ctx, position, r, pre),
            Self::SelectRank(r) => SelectRank::check(ctx, position, r, pre),
            Self::CloseRank(r) => CloseRank::check(ctx, position, r, pre),
            Self::CloseSum(r) => CloseSum::check(ctx, position, r, pre),
            Self::CloseEmit(r) => CloseEmit::check(ctx, position, r, pre),
        }
    }
}

/// A scalar a step's reads carry, checked against the one the round and position imply.
///
/// # Errors
/// [`VmError::InvalidRound`] naming `field`, when they differ.
pub(crate) fn expect_field(field: &'static str, expected: u64, actual: u64) -> Result<()> {
    if expected == actual {
        Ok(())
    } else {
        Err(VmError::InvalidRound {
            field,
            expected: expected.to_string(),
            actual: actual.to_string(),
        })
    }
}

/// The error of an opening that does not lead to the committed root.
pub(crate) fn bad_opening(field: &'static str) -> VmError {
    VmError::InvalidRound {
        field,
        expected: "an opening that verifies against the pre-state".into(),
        actual: "a mismatching root".into(),
    }
}

/// Everything the circuit and the leaf checker need for one step: the pre-state preimage, the
/// step's reads with their Merkle openings, and the claimed post-state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepWitness {
    /// Step index `k` (pre-state `k`, post-state `k+1`).
    pub step: u64,
    /// Row, column and kind.
    pub position: StepPosition,
    /// State `k`.
    pub pre: State,
    /// State `k + 1` as the trace that made this witness has it.
    pub post: State,
    /// Reads and writes of the step.
    pub reads: StepReads,
}

impl StepWitness {
    /// The step's kind.
    #[must_use]
    pub fn kind(&self) -> StepKind {
        self.position.kind
    }

    /// The witness whose kind's circuit proves this step: the base step of a `Clip` step
    /// (its instances are this step's), this witness otherwise.
    #[must_use]
    pub fn proven(&self) -> &StepWitness {
        match &self.reads {
            StepReads::Clip(c) => c.base.proven(),
            _ => self,
        }
    }

    /// Public inputs of the step proof, in circuit order.
    ///
    /// # Errors
    /// A state whose register does not have the kind's shape.
    pub fn instances(&self) -> Result<Vec<Instance>> {
        self.reads.instances(&self.pre, &self.post)
    }

    /// The post-state commitment the on-chain check yields for this witness (openings checked
    /// against the pre-state, the step function applied): used to test the checker contracts
    /// and the circuits in lockstep, and by provers to refuse a claim before proving it.
    ///
    /// # Errors
    /// [`VmError::InvalidRound`] naming the opening that does not verify.
    pub fn checked_post_commitment(&self, ctx: &RoundContext) -> Result<Digest> {
        let post = self.reads.check(ctx, &self.position, &self.pre)?;
        Ok(post.commitment(&ctx.config_hash()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_ids_are_table_indices() {
        for (k, kind) in StepKind::ALL.iter().enumerate() {
            assert_eq!(usize::from(kind.id()), k, "{}", kind.name());
            let own = StepKind::PROVEN.contains(kind);
            assert_eq!(kind.circuit() == Some(*kind), own, "{}", kind.name());
            if let Some(circuit) = kind.circuit() {
                assert!(StepKind::PROVEN.contains(&circuit), "{}", kind.name());
            }
        }
    }
}
