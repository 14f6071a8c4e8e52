//! `Accumulate`: `acc' = acc + w_i · x` for participant `i`'s value leaf `j`.

use crate::kinds::{KindReads, StepKind, StepPosition, bad_opening};
use crate::{
    AccLeaf, Digest, Instance, Result, RoundContext, State, ValueLeaf, fold_path, pack_acc_leaf,
    pack_value_leaf, participant_leaf_hash, scalar_instance, value_leaf_hash,
};

/// `acc' = acc + w · x`, lane-wise. Exact: the round's total weight bound keeps every partial
/// sum below 2^63 in magnitude, so wrapping never happens on a reachable state; it is used only
/// so that an unreachable state cannot panic.
#[must_use]
pub fn accumulate(acc: &AccLeaf, weight: u32, x: &ValueLeaf) -> AccLeaf {
    let mut out = *acc;
    for (a, &v) in out.iter_mut().zip(x) {
        *a = a.wrapping_add(i64::from(weight) * i64::from(v));
    }
    out
}

/// Instances of an `Accumulate` step: `[w, x(5), acc(11), acc'(11)]`.
#[must_use]
pub fn accumulate_instances(
    weight: u32,
    x: &ValueLeaf,
    acc: &AccLeaf,
    acc_out: &AccLeaf,
) -> Vec<Instance> {
    let mut v = vec![scalar_instance(u64::from(weight))];
    v.extend(pack_value_leaf(x));
    v.extend(pack_acc_leaf(acc));
    v.extend(pack_acc_leaf(acc_out));
    v
}

/// What an `Accumulate` step reads: participant `i`'s input leaf and its value leaf `j`, each
/// with its opening.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccumulateReads {
    /// Participant index `i`.
    pub participant: usize,
    /// Its committed update root.
    pub update_root: Digest,
    /// Its weight.
    pub weight: u32,
    /// Path of participant leaf `i` in the input tree.
    pub input_path: Vec<Digest>,
    /// Value leaf `j` of the update.
    pub x: ValueLeaf,
    /// Path of leaf `j` in the update tree.
    pub value_path: Vec<Digest>,
}

impl KindReads for AccumulateReads {
    const KIND: StepKind = StepKind::Accumulate;

    fn instances(&self, pre: &State, post: &State) -> Result<Vec<Instance>> {
        Ok(accumulate_instances(
            self.weight,
            &self.x,
            &pre.acc()?,
            &post.acc()?,
        ))
    }

    fn check(&self, ctx: &RoundContext, position: &StepPosition, pre: &State) -> Result<State> {
        let leaf = participant_leaf_hash(&self.update_root, self.weight);
        if fold_path(leaf, position.col as u64, &self.input_path) != ctx.input_tree().root() {
            return Err(bad_opening("input_path"));
        }
        if fold_path(
            value_leaf_hash(&self.x),
            position.row as u64,
            &self.value_path,
        ) != self.update_root
        {
            return Err(bad_opening("value_path"));
        }
        Ok(State {
            step: pre.step + 1,
            register: accumulate(&pre.acc()?, self.weight, &self.x).to_vec(),
            regions: pre.regions.clone(),
        })
    }
}
