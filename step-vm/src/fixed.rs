//! The fixed-point number format and model updates.
//!
//! A value is an `i32` with 16 fractional bits (Q15.16). Conversion from floating point rounds
//! half to even and rejects NaN, ±Inf and out-of-range values: an update that cannot be
//! represented exactly-as-specified is refused, never clamped.

use crate::error::{Result, VmError};

/// Fractional bits of the fixed-point format.
pub const FRAC_BITS: u32 = 16;
/// Values per Merkle leaf and per step.
pub const LANES: usize = 32;
/// Largest model dimension a round may have (mirrors the registry's limit).
pub const MAX_DIM: usize = 1 << 28;
/// Largest number of participants in a round (mirrors the registry's limit).
pub const MAX_PARTICIPANTS: usize = 255;

/// Largest weight a client may commit: `255 · MAX_WEIGHT = 2^32 - 1`, so no set of
/// participants can overflow the total weight `W` (nor, with |x| < 2^31, an `i64` partial sum).
pub const MAX_WEIGHT: u32 = 16_843_009;

/// One 32-lane leaf of fixed-point values.
pub type ValueLeaf = [i32; LANES];
/// The 32-lane accumulator register.
pub type AccLeaf = [i64; LANES];

/// The all-zero accumulator register.
#[must_use]
pub const fn zero_acc() -> AccLeaf {
    [0; LANES]
}

/// Number of 32-lane chunks needed for a model of `dim` values.
#[must_use]
pub fn chunk_count(dim: usize) -> usize {
    dim.div_ceil(LANES)
}

/// Converts one real value to fixed point: `round_half_even(v · 2^16)`.
///
/// # Errors
/// [`VmError::NotFinite`] for NaN/±Inf, [`VmError::OutOfRange`] outside `[-2^15, 2^15)`.
pub fn to_fixed(index: usize, v: f64) -> Result<i32> {
    if !v.is_finite() {
        return Err(VmError::NotFinite {
            index,
            value: v.to_string(),
        });
    }
    let scaled = (v * f64::from(1u32 << FRAC_BITS)).round_ties_even();
    if scaled < f64::from(i32::MIN) || scaled > f64::from(i32::MAX) {
        return Err(VmError::OutOfRange { index, value: v });
    }
    // In range and integral: the cast is exact.
    #[allow(clippy::cast_possible_truncation)]
    Ok(scaled as i32)
}

/// One client's model update in fixed point.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Update {
    values: Vec<i32>,
}

impl Update {
    /// Wraps fixed-point values.
    #[must_use]
    pub fn from_fixed(values: Vec<i32>) -> Self {
        Self { values }
    }

    /// Converts real values (see [`to_fixed`]).
    ///
    /// # Errors
    /// The first value that is not finite or out of range.
    pub fn from_f32(values: &[f32]) -> Result<Self> {
        let values = values
            .iter()
            .enumerate()
            .map(|(i, &v)| to_fixed(i, f64::from(v)))
            .collect::<Result<_>>()?;
        Ok(Self { values })
    }

    /// The fixed-point values.
    #[must_use]
    pub fn values(&self) -> &[i32] {
        &self.values
    }

    /// Number of values.
    #[must_use]
    pub fn dim(&self) -> usize {
        self.values.len()
    }

    /// Chunk `j` as a leaf, zero-padded past the end of the model.
    #[must_use]
    pub fn leaf(&self, j: usize) -> [i32; LANES] {
        leaf_of(&self.values, j)
    }

    /// The Merkle root the client commits on-chain.
    #[must_use]
    pub fn root(&self) -> crate::Digest {
        self.tree().root()
    }

    /// The complete Merkle tree over this update's leaves.
    #[must_use]
    pub fn tree(&self) -> crate::CompleteTree {
        use rayon::prelude::*;
        let leaves: Vec<_> = (0..chunk_count(self.dim()))
            .into_par_iter()
            .map(|j| crate::value_leaf_hash(&self.leaf(j)))
            .collect();
        crate::CompleteTree::new(&leaves)
    }
}

/// Chunk `j` of a value vector, zero-padded.
pub(crate) fn leaf_of(values: &[i32], j: usize) -> [i32; LANES] {
    let mut leaf = [0i32; LANES];
    let start = j * LANES;
    if start < values.len() {
        let end = (start + LANES).min(values.len());
        leaf[..end - start].copy_from_slice(&values[start..end]);
    }
    leaf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_fixed_rounds_half_to_even() {
        let ulp = 1.0 / 65536.0;
        assert_eq!(to_fixed(0, 0.5 * ulp).unwrap(), 0);
        assert_eq!(to_fixed(0, 1.5 * ulp).unwrap(), 2);
        assert_eq!(to_fixed(0, -0.5 * ulp).unwrap(), 0);
        assert_eq!(to_fixed(0, -1.5 * ulp).unwrap(), -2);
        assert_eq!(to_fixed(0, 1.0).unwrap(), 65536);
    }

    #[test]
    fn to_fixed_rejects_non_finite_and_out_of_range() {
        assert!(matches!(
            to_fixed(3, f64::NAN),
            Err(VmError::NotFinite { index: 3, .. })
        ));
        assert!(matches!(
            to_fixed(0, f64::INFINITY),
            Err(VmError::NotFinite { .. })
        ));
        assert!(matches!(
            to_fixed(0, 32768.0),
            Err(VmError::OutOfRange { .. })
        ));
        assert_eq!(to_fixed(0, -32768.0).unwrap(), i32::MIN);
    }

    #[test]
    fn leaves_are_zero_padded() {
        let u = Update::from_fixed((1..=40).collect());
        assert_eq!(u.leaf(1)[..8], [33, 34, 35, 36, 37, 38, 39, 40]);
        assert!(u.leaf(1)[8..].iter().all(|&v| v == 0));
        assert_eq!(u.leaf(5), [0; LANES]);
    }
}
