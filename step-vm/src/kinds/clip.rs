//! `Clip`: a base program's step run under a clipped rule (docs/design/clipping.md). It has no
//! circuit or verifier of its own: it binds the base step's states to the scales root the
//! prologue wrote, opens the scales of the participants the base step reads, and hands the base
//! step, with those scales, to the base kind (whose circuit proves it over the clipped values).

use crate::clip::UNIT_SCALE;
use crate::hash::{clipped_state_hash, scale_leaf_hash};
use crate::kinds::norm::zero_norm;
use crate::kinds::{ClientRead, StepPosition, StepReads, StepWitness, bad_opening};
use crate::{Digest, Instance, Result, RoundContext, State, VmError, fold_path};

/// What a `Clip` step reads: the base program's step (its own position, pre- and post-state
/// and reads; a participant read carries the participant's scale) and the scales it is bound
/// to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClipReads {
    /// The base step, as the base program sees it (base-local step index, unwrapped states).
    pub base: Box<StepWitness>,
    /// The commitment of the base step's pre-state (`base.pre`, unwrapped).
    pub base_pre: Digest,
    /// Root of the scales tree the prologue wrote.
    pub scales_root: Digest,
    /// Openings of the scale leaves of the participants the base step reads, in the order
    /// of [`StepReads::client_reads`]: none, one, or a `Distance` step's two.
    pub scale_paths: Vec<Vec<Digest>>,
    /// Whether this is the base program's first step (its pre-state is the prologue's last).
    pub first: bool,
    /// Whether this is the program's last step (its post-state is the base's, unwrapped).
    pub last: bool,
}

impl ClipReads {
    /// The scales of the participants the base step reads, in the order of
    /// [`StepReads::client_reads`] (what the clip leaf carries beside `scale_paths`).
    #[must_use]
    pub fn scales(&self) -> Vec<u64> {
        self.base
            .reads
            .client_reads()
            .iter()
            .map(|r| r.scale)
            .collect()
    }

    /// Public inputs: the base kind's, over the clipped values.
    ///
    /// # Errors
    /// As the base kind's.
    pub fn instances(&self) -> Result<Vec<Instance>> {
        self.base.instances()
    }

    /// Native mirror of `ClipChecker`: the pre-state binding, the scale opening, then the base
    /// kind's check; returns the post-state (wrapped unless last).
    ///
    /// # Errors
    /// [`VmError::InvalidRound`] naming what does not verify.
    pub fn check(&self, ctx: &RoundContext, position: &StepPosition, pre: &State) -> Result<State> {
        let base = &self.base;
        if (base.position.row, base.position.col) != (position.row, position.col) {
            return Err(VmError::InvalidRound {
                field: "base position",
                expected: format!("({}, {})", position.row, position.col),
                actual: format!("({}, {})", base.position.row, base.position.col),
            });
        }
        let config_hash = ctx.config_hash();
        let bound = self.base_pre == base.pre.commitment(&config_hash)
            && if self.first {
                pre.wrap.is_none()
                    && pre.register == zero_norm()
                    && pre.regions == [self.scales_root]
                    && base.pre
                        == ctx
                            .config()
                            .rule
                            .base()
                            .program()
                            .initial_state(ctx.shape())
            } else {
                pre.commitment(&config_hash)
                    == clipped_state_hash(&self.base_pre, &self.scales_root)
            };
        if !bound {
            return Err(VmError::InvalidRound {
                field: "pre-state",
                expected: "the agreed state, bound to the scales root".into(),
                actual: "another state".into(),
            });
        }
        let reads = self.base.reads.client_reads();
        if reads.len() != self.scale_paths.len() {
            return Err(bad_opening("scale_paths"));
        }
        for (read, path) in reads.iter().zip(&self.scale_paths) {
            if read.scale > UNIT_SCALE {
                return Err(VmError::InvalidRound {
                    field: "scale",
                    expected: "at most 2^32".into(),
                    actual: read.scale.to_string(),
                });
            }
            let leaf = scale_leaf_hash(read.scale);
            if fold_path(leaf, read.participant as u64, path) != self.scales_root {
                return Err(bad_opening("scale_paths"));
            }
        }
        let mut post = base.reads.check(ctx, &base.position, &base.pre)?;
        if !self.last {
            post.wrap = Some(self.scales_root);
        }
        Ok(post)
    }
}

impl StepReads {
    /// Every participant read of the step, in order: none, one, or a `Distance` step's two.
    #[must_use]
    pub fn client_reads(&self) -> Vec<&ClientRead> {
        match self {
            Self::Distance(r) => vec![&r.a, &r.b],
            other => other.client_read().into_iter().collect(),
        }
    }

    /// Mutable access to every participant read (see [`StepReads::client_reads`]).
    pub fn client_reads_mut(&mut self) -> Vec<&mut ClientRead> {
        match self {
            Self::Distance(r) => vec![&mut r.a, &mut r.b],
            other => other.client_read_mut().into_iter().collect(),
        }
    }

    /// The participant read of a step that streams a participant's leaf.
    #[must_use]
    pub fn client_read(&self) -> Option<&ClientRead> {
        match self {
            Self::Accumulate(r) | Self::TrimSum(r) | Self::Norm(r) => Some(r),
            Self::Rank(r) => Some(&r.read),
            Self::SelectAccumulate(r) => Some(&r.read),
            Self::SelectRank(r) | Self::CloseRank(r) | Self::CloseSum(r) => Some(&r.read),
            // A `Distance` step reads two participants: see `client_reads`.
            Self::Finalize(_)
            | Self::TrimEmit(_)
            | Self::Scale(_)
            | Self::Clip(_)
            | Self::Distance(_)
            | Self::ScoreRank(_)
            | Self::ScoreSum(_)
            | Self::Pick(_)
            | Self::SelectFinalize(_)
            | Self::CloseEmit(_) => None,
        }
    }

    /// Mutable access to the participant read (see [`StepReads::client_read`]).
    pub fn client_read_mut(&mut self) -> Option<&mut ClientRead> {
        match self {
            Self::Accumulate(r) | Self::TrimSum(r) | Self::Norm(r) => Some(r),
            Self::Rank(r) => Some(&mut r.read),
            Self::SelectAccumulate(r) => Some(&mut r.read),
            Self::SelectRank(r) | Self::CloseRank(r) | Self::CloseSum(r) => Some(&mut r.read),
            Self::Finalize(_)
            | Self::TrimEmit(_)
            | Self::Scale(_)
            | Self::Clip(_)
            | Self::Distance(_)
            | Self::ScoreRank(_)
            | Self::ScoreSum(_)
            | Self::Pick(_)
            | Self::SelectFinalize(_)
            | Self::CloseEmit(_) => None,
        }
    }
}
