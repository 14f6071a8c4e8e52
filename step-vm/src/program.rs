//! The FedAvg program: step positions, step kinds and the step functions themselves.

use crate::{LANES, Result, VmError};

/// One 32-lane leaf of fixed-point values.
pub type ValueLeaf = [i32; LANES];
/// The 32-lane accumulator register.
pub type AccLeaf = [i64; LANES];

/// The all-zero register.
#[must_use]
pub const fn zero_acc() -> AccLeaf {
    [0; LANES]
}

/// The kinds of step; each has its own circuit and verifier contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[repr(u8)]
pub enum StepKind {
    /// `acc' = acc + w_i · x` for participant `i`'s leaf `j`.
    Accumulate = 0,
    /// Output leaf `j` = `round_half_up(acc / W)`; `acc' = 0`.
    Finalize = 1,
}

impl StepKind {
    /// All kinds, in id order.
    pub const ALL: [StepKind; 2] = [StepKind::Accumulate, StepKind::Finalize];

    /// Name used for files and contracts (`AccumulateVerifier`, ...).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Accumulate => "Accumulate",
            Self::Finalize => "Finalize",
        }
    }
}

/// Where step `k` sits in the program: chunk `j = k / (n+1)`, slot `i = k mod (n+1)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepPosition {
    /// Output chunk the step works on.
    pub chunk: usize,
    /// Participant index for `Accumulate`, `n` for `Finalize`.
    pub slot: usize,
    /// The step's kind.
    pub kind: StepKind,
}

impl StepPosition {
    /// Decodes step `k` of a round with `n` participants.
    #[must_use]
    pub fn of(k: u64, participants: usize) -> Self {
        let per_chunk = participants as u64 + 1;
        #[allow(clippy::cast_possible_truncation)]
        let (chunk, slot) = ((k / per_chunk) as usize, (k % per_chunk) as usize);
        let kind = if slot < participants {
            StepKind::Accumulate
        } else {
            StepKind::Finalize
        };
        Self { chunk, slot, kind }
    }
}

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

/// `out_l = floor((2·acc_l + W) / (2W))`: division by the total weight, rounding half up
/// (toward +∞). Computed in `i128`, so it is exact for every register value.
///
/// # Errors
/// [`VmError::Overflow`] if a result does not fit `i32` (never for an honestly accumulated
/// register, whose quotient is a weighted mean of `i32` values).
pub fn finalize(acc: &AccLeaf, total_weight: u32) -> Result<ValueLeaf> {
    let w = i128::from(total_weight);
    let mut out = [0i32; LANES];
    for (lane, (o, &a)) in out.iter_mut().zip(acc).enumerate() {
        let q = (2 * i128::from(a) + w).div_euclid(2 * w);
        *o = i32::try_from(q).map_err(|_| VmError::Overflow { lane, value: q })?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_cycle_through_participants_then_finalize() {
        let p = StepPosition::of(0, 3);
        assert_eq!((p.chunk, p.slot, p.kind), (0, 0, StepKind::Accumulate));
        let p = StepPosition::of(3, 3);
        assert_eq!((p.chunk, p.slot, p.kind), (0, 3, StepKind::Finalize));
        let p = StepPosition::of(9, 3);
        assert_eq!((p.chunk, p.slot, p.kind), (2, 1, StepKind::Accumulate));
    }

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
