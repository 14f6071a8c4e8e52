//! Quantizing a model to the step VM's Q15.16 fixed point, saturating out-of-range values.

use step_vm::{FRAC_BITS, Update};

use crate::{ClientError, Model, Result};

/// A quantized model update, with what quantizing it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quantized {
    /// The fixed-point update.
    pub update: Update,
    /// Values saturated to the Q15.16 range, per tensor (in the model's tensor order).
    pub saturated: Vec<u64>,
}

impl Quantized {
    /// Total saturated values.
    #[must_use]
    pub fn saturated_total(&self) -> u64 {
        self.saturated.iter().sum()
    }
}

/// `round_half_even(v · 2^16)` for every value, saturated to `[i32::MIN, i32::MAX]` (values
/// outside `[-2^15, 2^15)`), as `step_vm::to_fixed` does for the values in range.
///
/// # Errors
/// [`ClientError::NotFinite`] naming the tensor and the value's index for NaN or ±Inf.
pub fn quantize(model: &Model) -> Result<Quantized> {
    let scale = f64::from(1u32 << FRAC_BITS);
    let mut out = Vec::with_capacity(model.values.len());
    let mut saturated = Vec::with_capacity(model.tensors.len());
    for t in &model.tensors {
        let mut count = 0u64;
        for (index, &v) in model.values[t.offset..t.offset + t.len()]
            .iter()
            .enumerate()
        {
            if !v.is_finite() {
                return Err(ClientError::NotFinite {
                    path: model.path.clone(),
                    tensor: t.name.clone(),
                    index,
                    value: v.to_string(),
                });
            }
            let scaled = (f64::from(v) * scale).round_ties_even();
            let q = if scaled < f64::from(i32::MIN) {
                count += 1;
                i32::MIN
            } else if scaled > f64::from(i32::MAX) {
                count += 1;
                i32::MAX
            } else {
                // In range and integral: exact.
                #[allow(clippy::cast_possible_truncation)]
                {
                    scaled as i32
                }
            };
            out.push(q);
        }
        if count > 0 {
            tracing::warn!(tensor = %t.name, saturated = count, "values outside [-32768, 32768) saturated");
        }
        saturated.push(count);
    }
    Ok(Quantized {
        update: Update::from_fixed(out),
        saturated,
    })
}
