//! `Finalize`: output leaf `j` = `round_half_up(acc / W)`, register reset to zero.

use crate::kinds::{Kind, StepKind, StepPosition, bad_opening};
use crate::{
    AccLeaf, Digest, Instance, LANES, Result, RoundContext, State, ValueLeaf, VmError, fold_path,
    pack_acc_leaf, pack_value_leaf, scalar_instance, value_leaf_hash, zero_acc,
};

/// `out_l = floor((2·acc_l + W) / (2W))`: division by the total weight, rounding half up
/// (toward +∞). Computed in `i128`, so it is exact for every register value.
///
/// # Errors
/// [`VmError::Overflow`] if a result does not fit `i32` (never for an honestly accumulated
/// register, whose quotient is a weighted mean of `i32` values).
pub fn finalize(acc: &AccLeaf, total_weight: u32) -> Result<ValueLeaf> {
    let w = i128::from(total_weight);
    let w64 = i64::from(total_weight);
    let mut out = [0i32; LANES];
    for (lane, (o, &a)) in out.iter_mut().zip(acc).enumerate() {
        // Same quotient in i64 when 2·a + W cannot overflow (every realistic register); the
        // i128 path covers the rest of the range.
        let q = if a.unsigned_abs() < 1 << 61 {
            i128::from((2 * a + w64).div_euclid(2 * w64))
        } else {
            (2 * i128::from(a) + w).div_euclid(2 * w)
        };
        *o = i32::try_from(q).map_err(|_| VmError::Overflow { lane, value: q })?;
    }
    Ok(out)
}

/// Instances of a `Finalize` step: `[W, acc(11), out(5)]`.
#[must_use]
pub fn finalize_instances(total_weight: u32, acc: &AccLeaf, out: &ValueLeaf) -> Vec<Instance> {
    let mut v = vec![scalar_instance(u64::from(total_weight))];
    v.extend(pack_acc_leaf(acc));
    v.extend(pack_value_leaf(out));
    v
}

/// What a `Finalize` step reads and writes: the output leaf `j` it writes, with the opening of
/// the (still zero) leaf `j` in the pre-state's output tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinalizeReads {
    /// `W`.
    pub total_weight: u32,
    /// The output leaf written.
    pub out: ValueLeaf,
    /// Path of output leaf `j` in the pre-state output tree.
    pub output_path: Vec<Digest>,
}

/// The `Finalize` kind (FedAvg): writes output leaf `j = row` from the accumulator.
#[derive(Debug, Clone, Copy, Default)]
pub struct Finalize;

impl Kind for Finalize {
    const KIND: StepKind = StepKind::Finalize;
    type Reads = FinalizeReads;

    fn instances(reads: &FinalizeReads, pre: &State, _post: &State) -> Result<Vec<Instance>> {
        Ok(finalize_instances(
            reads.total_weight,
            &pre.acc()?,
            &reads.out,
        ))
    }

    fn check(
        ctx: &RoundContext,
        position: &StepPosition,
        reads: &FinalizeReads,
        pre: &State,
    ) -> Result<State> {
        if reads.total_weight != ctx.total_weight() {
            return Err(VmError::InvalidRound {
                field: "total_weight",
                expected: ctx.total_weight().to_string(),
                actual: reads.total_weight.to_string(),
            });
        }
        let out = finalize(&pre.acc()?, reads.total_weight)?;
        Ok(State::new(
            pre.step + 1,
            zero_acc().to_vec(),
            vec![write_output(position.row, &reads.output_path, &out, pre)?],
        ))
    }
}

/// Output root after writing `out` at leaf `row`, after checking that `path` opens a still
/// zero leaf `row` in the pre-state's output region (region 0).
pub(crate) fn write_output(
    row: usize,
    path: &[Digest],
    out: &ValueLeaf,
    pre: &State,
) -> Result<Digest> {
    let row = row as u64;
    if fold_path([0; 32], row, path) != pre.region(0)? {
        return Err(bad_opening("output_path"));
    }
    Ok(fold_path(value_leaf_hash(out), row, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finalize_rounds_half_up() {
        let mut acc = [0i64; LANES];
        acc[0] = 5; // 5/2 = 2.5 -> 3
        acc[1] = -5; // -2.5 -> -2
        acc[2] = 7; // 3.5 -> 4
        acc[3] = -7; // -3.5 -> -3
        acc[4] = 6; // 3
        let out = finalize(&acc, 2).unwrap();
        assert_eq!(out[..5], [3, -2, 4, -3, 3]);
    }

    #[test]
    fn finalize_extremes_fit_i32() {
        let w = u32::MAX;
        let acc = [i64::from(w) * i64::from(i32::MIN); LANES];
        assert_eq!(finalize(&acc, w).unwrap(), [i32::MIN; LANES]);
        let acc = [i64::from(w) * i64::from(i32::MAX); LANES];
        assert_eq!(finalize(&acc, w).unwrap(), [i32::MAX; LANES]);
        let acc = [i64::MAX; LANES];
        assert!(matches!(
            finalize(&acc, 1),
            Err(VmError::Overflow { lane: 0, .. })
        ));
    }
}
