//! Step kinds: what one step reads and writes, its native semantics and its public inputs.
//!
//! Each kind is one module here (its reads with their Merkle openings, its step function, the
//! packing of its public inputs and the native mirror of its on-chain checker), one circuit in
//! the `circuits` crate, and one checker contract plus one generated verifier on chain. Rules
//! (`crate::rules`) are programs over these kinds; a kind knows nothing of the rules using it.
//!
//! Adding a kind: a module here implementing [`KindReads`], a variant in [`StepKind`] and
//! [`StepReads`], its circuit, and its checker contract.

mod accumulate;
mod finalize;

pub use accumulate::{AccumulateReads, accumulate, accumulate_instances};
pub use finalize::{FinalizeReads, finalize, finalize_instances};

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
}

impl StepKind {
    /// All kinds, in id order (the order of the arbiter's checker table and of the verifiers
    /// hash).
    pub const ALL: [StepKind; 2] = [StepKind::Accumulate, StepKind::Finalize];

    /// Name used for files and contracts (`AccumulateVerifier`, `AccumulateChecker`, ...).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Accumulate => "Accumulate",
            Self::Finalize => "Finalize",
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

/// What a step kind implements on the VM side.
pub trait KindReads {
    /// The kind these reads belong to.
    const KIND: StepKind;

    /// Public inputs of the step proof, in circuit order.
    ///
    /// # Errors
    /// A state whose register does not have this kind's shape.
    fn instances(&self, pre: &State, post: &State) -> Result<Vec<Instance>>;

    /// Native mirror of the kind's on-chain checker: verifies the openings against `pre` and
    /// the round, and returns the post-state the step function (not a claim) yields.
    ///
    /// # Errors
    /// [`VmError::InvalidRound`] naming the opening that does not verify.
    fn check(&self, ctx: &RoundContext, position: &StepPosition, pre: &State) -> Result<State>;
}

/// The reads (with their openings) and writes of one step, per kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepReads {
    /// An `Accumulate` step.
    Accumulate(AccumulateReads),
    /// A `Finalize` step.
    Finalize(FinalizeReads),
}

impl StepReads {
    /// The kind of these reads.
    #[must_use]
    pub fn kind(&self) -> StepKind {
        match self {
            Self::Accumulate(_) => AccumulateReads::KIND,
            Self::Finalize(_) => FinalizeReads::KIND,
        }
    }

    /// See [`KindReads::instances`].
    ///
    /// # Errors
    /// As [`KindReads::instances`].
    pub fn instances(&self, pre: &State, post: &State) -> Result<Vec<Instance>> {
        match self {
            Self::Accumulate(r) => r.instances(pre, post),
            Self::Finalize(r) => r.instances(pre, post),
        }
    }

    /// See [`KindReads::check`].
    ///
    /// # Errors
    /// As [`KindReads::check`].
    pub fn check(&self, ctx: &RoundContext, position: &StepPosition, pre: &State) -> Result<State> {
        match self {
            Self::Accumulate(r) => r.check(ctx, position, pre),
            Self::Finalize(r) => r.check(ctx, position, pre),
        }
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
