//! L2 norm clipping arithmetic, pinned for the clipped rules (docs/design/rules-as-plugins.md):
//! the exact squared norm, the integer square root, the scale and the clipped value. Every
//! function is exact integer arithmetic, so the VM, the circuits and the checkers can agree on
//! every bit.
//!
//! For an update `x` (Q15.16 integers) and a threshold `C` (Q15.16, at least 1):
//! `‖x‖ = isqrt(Σ x²)` in Q15.16 units (floor); `s = 2^32` (no change) if `‖x‖ <= C` — which
//! covers the zero norm — else `floor(C · 2^32 / ‖x‖)`; `x' = floor((x · s + 2^31) / 2^32)`
//! (round half up).

use crate::{Result, VmError};

/// The scale that leaves an update unchanged: `1.0` in Q0.32.
pub const UNIT_SCALE: u64 = 1 << 32;

/// `Σ x²`, exact: each square is below 2^62 and a model has at most 2^28 values, so the sum is
/// below 2^90.
#[must_use]
pub fn norm_squared(values: &[i32]) -> u128 {
    // At most 2^31 squares per pass keep both halves' sums below 2^64.
    values
        .chunks(1 << 31)
        .map(|part| {
            let (lo, hi) = square_halves(part);
            u128::from(lo) + (u128::from(hi) << 32)
        })
        .sum()
}

/// The sums of the low and the high 32 bits of every square: two `u64` accumulators the
/// compiler vectorises (a 32x32->64 multiply per lane), exact for up to 2^32 values (passes of 2^31).
#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512vl+avx512dq",
    "x86_64+avx2",
    "x86_64+sse4.1"
))]
fn square_halves(values: &[i32]) -> (u64, u64) {
    let (mut lo, mut hi) = (0u64, 0u64);
    for &x in values {
        let a = u64::from(x.unsigned_abs());
        let square = a * a;
        lo = lo.wrapping_add(square & 0xffff_ffff);
        hi = hi.wrapping_add(square >> 32);
    }
    (lo, hi)
}

/// `values` clipped by `scale` (`clip_value` of each), written to `out`.
///
/// # Panics
/// If the slices differ in length.
pub fn clip_values(values: &[i32], scale: u64, out: &mut [i32]) {
    assert_eq!(values.len(), out.len(), "clip_values: lengths differ");
    clip_kernel(values, scale.min(UNIT_SCALE), out);
}

/// `x' = (x·s + 2^31) >> 32` in `i64`: exact, since `|x·s| <= 2^31·2^32 = 2^63` and the only
/// product reaching 2^63 in magnitude is `i32::MIN · 2^32 = i64::MIN`, to which 2^31 is added.
#[multiversion::multiversion(targets(
    "x86_64+avx512f+avx512vl+avx512dq",
    "x86_64+avx2",
    "x86_64+sse4.1"
))]
fn clip_kernel(values: &[i32], scale: u64, out: &mut [i32]) {
    // scale <= 2^32 (clip_values clamps it).
    #[allow(clippy::cast_possible_wrap)]
    let s = scale as i64;
    for (o, &x) in out.iter_mut().zip(values) {
        // |x'| <= |x|: the result fits i32.
        #[allow(clippy::cast_possible_truncation)]
        {
            *o = ((i64::from(x) * s + (1 << 31)) >> 32) as i32;
        }
    }
}

/// `‖x‖` in Q15.16 units: `floor(sqrt(Σ x²))`, below 2^45.
#[must_use]
pub fn norm(values: &[i32]) -> u64 {
    // isqrt(N) < 2^45 for N < 2^90: the conversion never fails.
    u64::try_from(norm_squared(values).isqrt()).unwrap_or(u64::MAX)
}

/// The scale `s` of an update of norm `norm` under threshold `threshold`, in Q0.32.
///
/// # Errors
/// [`VmError::InvalidRuleParams`] for a zero threshold (every nonzero update would vanish).
pub fn clip_scale(norm: u64, threshold: u32) -> Result<u64> {
    if threshold == 0 {
        return Err(VmError::InvalidRuleParams {
            rule: "Clipped",
            param: "threshold",
            bound: "at least 1 (Q15.16, i.e. 2^-16); got 0".into(),
        });
    }
    if norm <= u64::from(threshold) {
        return Ok(UNIT_SCALE);
    }
    // threshold < norm, so the quotient is below 2^32.
    Ok((u64::from(threshold) << 32) / norm)
}

/// `x' = floor((x · s + 2^31) / 2^32)`: the value scaled by `s <= 2^32`, rounded half up.
/// `|x'| <= |x|`, so it fits `i32`.
#[must_use]
pub fn clip_value(x: i32, scale: u64) -> i32 {
    let scaled = (i128::from(x) * i128::from(scale.min(UNIT_SCALE)) + (1 << 31)) >> 32;
    // |scaled| <= |x| + 1/2 rounded: within i32 for s <= 2^32.
    i32::try_from(scaled).unwrap_or(if x < 0 { i32::MIN } else { i32::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_zero_norm_and_norms_up_to_the_threshold_are_left_unchanged() {
        assert_eq!(norm(&[0; 100]), 0);
        assert_eq!(clip_scale(0, 1).unwrap(), UNIT_SCALE);
        assert_eq!(clip_scale(65_536, 65_536).unwrap(), UNIT_SCALE);
        assert!(clip_scale(65_537, 65_536).unwrap() < UNIT_SCALE);
        for x in [i32::MIN, -3, 0, 7, i32::MAX] {
            assert_eq!(clip_value(x, UNIT_SCALE), x);
        }
    }

    #[test]
    fn a_zero_threshold_is_refused_naming_the_parameter() {
        assert!(matches!(
            clip_scale(5, 0),
            Err(VmError::InvalidRuleParams {
                param: "threshold",
                ..
            })
        ));
    }

    #[test]
    fn norms_are_exact_floor_square_roots_up_to_the_largest_model() {
        // 3-4-5 in Q15.16 units.
        assert_eq!(norm(&[3 << 16, 4 << 16]), 5 << 16);
        // The largest sum: 2^28 values of magnitude 2^31.
        let n = (1u128 << 28) * (1u128 << 62);
        let r = n.isqrt();
        assert!(r * r <= n && (r + 1) * (r + 1) > n);
        assert_eq!(r, 1 << 45);
        assert_eq!(norm(&[i32::MIN; 4]), 1 << 32);
    }

    #[test]
    fn clipping_scales_the_norm_down_to_the_threshold_within_rounding() {
        let x: Vec<i32> = (0..1000).map(|v| (v * 7919 % 20_001) - 10_000).collect();
        let before = norm(&x);
        let threshold = u32::try_from(before / 3).unwrap(); // well below ‖x‖
        let s = clip_scale(before, threshold).unwrap();
        assert!(s < UNIT_SCALE);
        let clipped: Vec<i32> = x.iter().map(|&v| clip_value(v, s)).collect();
        let after = norm(&clipped);
        // Each value moves by at most half a unit: the norm by at most sqrt(d)/2.
        assert!(after <= u64::from(threshold) + 16, "{after} > {threshold}");
        assert!(after + 16 >= u64::from(threshold) - 1);
    }

    #[test]
    fn the_vector_kernels_agree_with_the_scalar_definitions() {
        let values: Vec<i32> = (0..10_000)
            .map(|v: i32| v.wrapping_mul(2_654_435_761_u32 as i32))
            .chain([i32::MIN, i32::MAX, 0, -1, 1])
            .collect();
        let exact: u128 = values
            .iter()
            .map(|&x| u128::from(x.unsigned_abs()).pow(2))
            .sum();
        assert_eq!(norm_squared(&values), exact);
        for scale in [0, 1, 12_345_678, UNIT_SCALE / 2, UNIT_SCALE - 1, UNIT_SCALE] {
            let mut out = vec![0; values.len()];
            clip_values(&values, scale, &mut out);
            let expected: Vec<i32> = values.iter().map(|&x| clip_value(x, scale)).collect();
            assert_eq!(out, expected, "scale {scale}");
        }
    }

    #[test]
    fn clipped_values_round_half_up() {
        let half = UNIT_SCALE / 2;
        assert_eq!(clip_value(3, half), 2); // 1.5 -> 2
        assert_eq!(clip_value(-3, half), -1); // -1.5 -> -1
        assert_eq!(clip_value(4, half), 2);
        assert_eq!(clip_value(i32::MIN, half), i32::MIN / 2);
    }
}
