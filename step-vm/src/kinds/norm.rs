//! `Norm` and `Scale`: the prologue a clipped rule runs before its base program
//! (docs/design/clipping.md). Row `i` of the prologue streams participant `i`'s `C` value
//! leaves through `Norm` steps, which accumulate `Σ x²` in a two-word register (a 40-bit low
//! limb `lo` and a carry `hi`: `N = lo + hi·2^40`, exact below 2^90), then its `Scale` step
//! takes `r = isqrt(N)`, writes the scale `s_i` (`clip_scale`) as leaf `i` of the scales tree
//! and clears the register.

use crate::clip::{UNIT_SCALE, clip_scale};
use crate::hash::scale_leaf_hash;
use crate::kinds::{ClientRead, Kind, StepKind, StepPosition, bad_opening};
use crate::{
    Digest, Instance, Result, RoundContext, State, ValueLeaf, VmError, fold_path, pack_value_leaf,
    scalar_instance,
};

/// Bits of the norm register's low limb.
pub const NORM_LIMB_BITS: u32 = 40;
/// Words of the norm register: `lo`, `hi`.
pub const NORM_WORDS: usize = 2;

/// The zero norm register (every prologue row starts and ends with it).
#[must_use]
pub fn zero_norm() -> Vec<i64> {
    vec![0; NORM_WORDS]
}

/// The norm register of a state: `[lo, hi]`, both non-negative (as the checkers require).
///
/// # Errors
/// [`VmError::InvalidRound`] for a register of another shape or a negative word.
pub fn norm_register(state: &State) -> Result<[i64; NORM_WORDS]> {
    match state.register.as_slice() {
        &[lo, hi] if lo >= 0 && hi >= 0 => Ok([lo, hi]),
        other => Err(VmError::InvalidRound {
            field: "norm register",
            expected: "two non-negative words (lo, hi)".into(),
            actual: format!("{other:?}"),
        }),
    }
}

/// One `Norm` step: `t = lo + Σ_l x_l²`, `lo' = t mod 2^40`, `hi' = hi + floor(t / 2^40)`.
/// Exact for every reachable register (`hi < 2^51`); wrapping only so that an unreachable one
/// cannot panic.
#[must_use]
pub fn norm_step(reg: [i64; NORM_WORDS], x: &ValueLeaf) -> [i64; NORM_WORDS] {
    let squares: u128 = x.iter().map(|&v| u128::from(v.unsigned_abs()).pow(2)).sum();
    // lo >= 0 on every reachable register; reading the word as unsigned keeps an unreachable
    // one defined (and the sum below 2^65 + 2^67).
    #[allow(clippy::cast_sign_loss)]
    let t = u128::from(reg[0] as u64) + squares;
    let mask = (1u128 << NORM_LIMB_BITS) - 1;
    // Both fit: lo' < 2^40, the carry < 2^29.
    #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
    [
        (t & mask) as i64,
        reg[1].wrapping_add((t >> NORM_LIMB_BITS) as i64),
    ]
}

/// `N = lo + hi·2^40` of a norm register. Every reachable register has non-negative words
/// (the checkers refuse others); a corrupted one's words are read as unsigned 64-bit
/// integers, so that a liar's execution stays defined (`N < 2^105`).
#[must_use]
pub fn norm_total(reg: [i64; NORM_WORDS]) -> u128 {
    #[allow(clippy::cast_sign_loss)]
    let (lo, hi) = (u128::from(reg[0] as u64), u128::from(reg[1] as u64));
    lo + (hi << NORM_LIMB_BITS)
}

/// The norm register holding `N` exactly (`N < 2^90`): the inverse of [`norm_total`], what
/// the `Norm` steps of a row leave behind.
#[must_use]
pub fn norm_register_of(n: u128) -> [i64; NORM_WORDS] {
    // lo < 2^40, hi < 2^50.
    #[allow(clippy::cast_possible_truncation)]
    [
        (n & ((1 << NORM_LIMB_BITS) - 1)) as i64,
        (n >> NORM_LIMB_BITS) as i64,
    ]
}

/// The `Scale` step's function: `s = clip_scale(isqrt(N), τ)` (total: see [`norm_total`]).
///
/// # Errors
/// [`VmError::InvalidRuleParams`] for a zero threshold.
pub fn scale_step(reg: [i64; NORM_WORDS], threshold: u32) -> Result<u64> {
    let r = norm_total(reg).isqrt();
    clip_scale(u64::try_from(r).unwrap_or(u64::MAX), threshold)
}

fn register_instances(reg: [i64; NORM_WORDS]) -> impl Iterator<Item = Instance> {
    // Non-negative words.
    #[allow(clippy::cast_sign_loss)]
    reg.into_iter().map(|w| scalar_instance(w as u64))
}

/// The `Norm` kind: column `c < C` of prologue row `i` reads participant `i`'s leaf `c`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Norm;

impl Kind for Norm {
    const KIND: StepKind = StepKind::Norm;
    type Reads = ClientRead;

    /// `[x(5), lo, hi, lo', hi']`.
    fn instances(reads: &ClientRead, pre: &State, post: &State) -> Result<Vec<Instance>> {
        let mut v = pack_value_leaf(&reads.x);
        v.extend(register_instances(norm_register(pre)?));
        v.extend(register_instances(norm_register(post)?));
        Ok(v)
    }

    fn check(
        ctx: &RoundContext,
        position: &StepPosition,
        reads: &ClientRead,
        pre: &State,
    ) -> Result<State> {
        if reads.scale != UNIT_SCALE {
            return Err(VmError::InvalidRound {
                field: "scale",
                expected: "the unit scale (Norm reads the committed values)".into(),
                actual: reads.scale.to_string(),
            });
        }
        reads.check(ctx, position.row, position.col)?;
        Ok(pre.next(norm_step(norm_register(pre)?, &reads.x).to_vec()))
    }
}

/// What a `Scale` step reads and writes: the threshold, the scale it writes and the opening of
/// the (still zero) scale leaf `i` in the pre-state's scales tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaleReads {
    /// The round's threshold `τ` (Q15.16).
    pub threshold: u32,
    /// The scale written (Q0.32).
    pub scale: u64,
    /// Path of scale leaf `i` in the pre-state's scales tree.
    pub scales_path: Vec<Digest>,
}

/// The `Scale` kind: column `C` of prologue row `i` writes participant `i`'s scale.
#[derive(Debug, Clone, Copy, Default)]
pub struct Scale;

impl Kind for Scale {
    const KIND: StepKind = StepKind::Scale;
    type Reads = ScaleReads;

    /// `[lo, hi, τ, s]`.
    fn instances(reads: &ScaleReads, pre: &State, _post: &State) -> Result<Vec<Instance>> {
        let mut v: Vec<Instance> = register_instances(norm_register(pre)?).collect();
        v.push(scalar_instance(u64::from(reads.threshold)));
        v.push(scalar_instance(reads.scale));
        Ok(v)
    }

    fn check(
        ctx: &RoundContext,
        position: &StepPosition,
        reads: &ScaleReads,
        pre: &State,
    ) -> Result<State> {
        let expected = ctx.config().rule.threshold();
        if expected != Some(reads.threshold) {
            return Err(VmError::InvalidRound {
                field: "threshold",
                expected: format!("{expected:?}"),
                actual: reads.threshold.to_string(),
            });
        }
        let scale = scale_step(norm_register(pre)?, reads.threshold)?;
        let i = position.row as u64;
        if fold_path([0; 32], i, &reads.scales_path) != pre.region(0)? {
            return Err(bad_opening("scales_path"));
        }
        let root = fold_path(scale_leaf_hash(scale), i, &reads.scales_path);
        Ok(State::new(pre.step + 1, zero_norm(), vec![root]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limbs_carry_exactly_up_to_the_largest_model() {
        let big = [i32::MIN; 32];
        let mut reg = [0i64; 2];
        let steps = 1u128 << 12;
        for _ in 0..steps {
            reg = norm_step(reg, &big);
        }
        assert_eq!(norm_total(reg), steps * 32 * (1u128 << 62));
        assert!(reg[0] < 1 << NORM_LIMB_BITS);
        // The largest register a model of 2^23 leaves reaches: hi < 2^51.
        let max = (1u128 << 23) * 32 * (1u128 << 62);
        assert!(max >> NORM_LIMB_BITS < 1 << 51);
    }

    #[test]
    fn scale_is_unit_at_and_below_the_threshold_and_for_the_zero_norm() {
        assert_eq!(scale_step([0, 0], 1).unwrap(), UNIT_SCALE);
        // N = (5·2^16)^2: r = 5·2^16.
        let n = (5u128 << 16).pow(2);
        let reg = norm_register_of(n);
        assert_eq!(norm_total(reg), n);
        assert_eq!(scale_step(reg, 5 << 16).unwrap(), UNIT_SCALE);
        assert_eq!(
            scale_step(reg, (5 << 16) - 1).unwrap(),
            (((5u64 << 16) - 1) << 32) / (5 << 16)
        );
        assert!(scale_step(reg, 0).is_err());
    }
}
