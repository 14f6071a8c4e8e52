//! `Accumulate`: `acc' = acc + w_i · x` for participant `i`'s value leaf `j`.

use crate::kinds::{ClientRead, Kind, StepKind, StepPosition};
use crate::{
    AccLeaf, Instance, Result, RoundContext, State, ValueLeaf, pack_acc_leaf, pack_value_leaf,
    scalar_instance,
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

/// The `Accumulate` kind (FedAvg): reads participant `i = col`'s leaf `j = row`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Accumulate;

impl Kind for Accumulate {
    const KIND: StepKind = StepKind::Accumulate;
    type Reads = ClientRead;

    fn instances(reads: &ClientRead, pre: &State, post: &State) -> Result<Vec<Instance>> {
        Ok(accumulate_instances(
            reads.weight,
            &reads.values(),
            &pre.acc()?,
            &post.acc()?,
        ))
    }

    fn check(
        ctx: &RoundContext,
        position: &StepPosition,
        reads: &ClientRead,
        pre: &State,
    ) -> Result<State> {
        reads.check(ctx, position.col, position.row)?;
        Ok(pre.next(accumulate(&pre.acc()?, reads.weight, &reads.values()).to_vec()))
    }
}
