//! One participant's value leaf with its openings: what the kinds that stream the
//! participants' data read (`Accumulate`, `Rank`, `TrimSum`, `Norm`). Under a clipped rule the
//! read also carries the participant's clipping scale: the opened leaf is the committed one,
//! the values the step computes with are the clipped ones ([`ClientRead::values`]).

use crate::kinds::bad_opening;
use crate::{
    Digest, Result, RoundContext, UNIT_SCALE, ValueLeaf, VmError, clip_value, fold_path,
    participant_leaf_hash, value_leaf_hash,
};

/// Participant `i`'s value leaf `j`, with the opening of its participant leaf in the input
/// tree and of the value leaf in its update tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRead {
    /// Participant index `i`.
    pub participant: usize,
    /// Its committed update root.
    pub update_root: Digest,
    /// Its weight.
    pub weight: u32,
    /// Path of participant leaf `i` in the input tree.
    pub input_path: Vec<Digest>,
    /// Index `j` of the value leaf read.
    pub leaf: usize,
    /// Value leaf `j` of the update.
    pub x: ValueLeaf,
    /// Path of leaf `j` in the update tree.
    pub value_path: Vec<Digest>,
    /// The participant's clipping scale in Q0.32 ([`UNIT_SCALE`] outside clipped rules).
    pub scale: u64,
}

impl ClientRead {
    /// The read of participant `i`'s leaf `j` of `update` (participant `i`'s) in the round.
    #[must_use]
    pub fn of(ctx: &RoundContext, update: &crate::Update, i: usize, j: usize) -> Self {
        let p = ctx.participants()[i];
        Self {
            participant: i,
            update_root: p.update_root,
            weight: p.weight,
            input_path: ctx.input_tree().proof(i),
            leaf: j,
            x: update.leaf(j),
            value_path: update.tree().proof(j),
            scale: UNIT_SCALE,
        }
    }

    /// The values the step computes with: the opened leaf scaled by [`ClientRead::scale`]
    /// (`clip_value`; the leaf itself at the unit scale).
    #[must_use]
    pub fn values(&self) -> ValueLeaf {
        if self.scale == UNIT_SCALE {
            return self.x;
        }
        self.x.map(|v| clip_value(v, self.scale))
    }

    /// Checks that this is participant `participant`'s leaf `row`: both openings lead to the
    /// committed roots (as the checker contracts do).
    ///
    /// # Errors
    /// [`VmError::InvalidRound`] naming the opening that does not verify.
    pub fn check(&self, ctx: &RoundContext, participant: usize, row: usize) -> Result<()> {
        if self.participant != participant {
            return Err(VmError::InvalidRound {
                field: "participant",
                expected: participant.to_string(),
                actual: self.participant.to_string(),
            });
        }
        let leaf = participant_leaf_hash(&self.update_root, self.weight);
        if fold_path(leaf, participant as u64, &self.input_path) != ctx.input_tree().root() {
            return Err(bad_opening("input_path"));
        }
        if fold_path(value_leaf_hash(&self.x), row as u64, &self.value_path) != self.update_root {
            return Err(bad_opening("value_path"));
        }
        Ok(())
    }
}
