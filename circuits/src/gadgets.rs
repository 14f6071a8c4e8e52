//! Shared gadgets: offset limbs and big-endian packing into public instances.
//!
//! A signed `b`-bit value `v` is carried as the limb `v + 2^(b-1)`, range-checked to `b` bits;
//! a group of limbs `l_0..l_{m-1}` is exposed as the instance `Σ l_t · 2^(b·(m-1-t))`, exactly
//! step-vm's `pack_value_leaf` / `pack_acc_leaf`. Because every limb is range-checked, a group
//! is below `2^224 < r`, so equality with the public instance in the field is equality of the
//! integers, and one instance value has exactly one limb decomposition.

use halo2_base::AssignedValue;
use halo2_base::Context;
use halo2_base::QuantumCell::Constant;
use halo2_base::gates::{GateInstructions, RangeChip, RangeInstructions};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::halo2_proofs::halo2curves::ff::{Field, PrimeField};
use step_vm::{Instance, LANES};

use crate::{CircuitError, Result};

/// `2^n` as a field element.
pub(crate) fn pow2(n: u32) -> Fr {
    Fr::from(2u64).pow_vartime([u64::from(n)])
}

/// A signed integer as a field element (negative values wrap to `r - |v|`).
pub(crate) fn signed_fr(v: i128) -> Fr {
    let magnitude = Fr::from_u128(v.unsigned_abs());
    if v < 0 { -magnitude } else { magnitude }
}

/// Converts a public input as step-vm encodes it (32 bytes, big-endian) to a field element.
///
/// # Errors
/// [`CircuitError::InstanceNotInField`] if the integer is not below the BN254 scalar modulus
/// `r`: the EVM verifier would silently reduce it (so `x + r` would pass for `x`), which is
/// why the arbiter contract requires every input `< r` and this conversion does too. Honest
/// instances are below 2^224 by construction.
pub fn instance_to_fr(index: usize, instance: &Instance) -> Result<Fr> {
    let mut le = *instance;
    le.reverse();
    Option::from(Fr::from_repr(le)).ok_or(CircuitError::InstanceNotInField { index })
}

/// The 32-byte big-endian encoding of a field element (the verifier's calldata word).
#[must_use]
pub fn fr_to_instance(value: &Fr) -> Instance {
    let mut be = value.to_repr();
    be.reverse();
    be
}

/// Offset limb of a signed `bits`-bit value: `v + 2^(bits-1)`, in `[0, 2^bits)` for every
/// `v` of that width.
pub(crate) fn offset_limb(v: i64, bits: u32) -> Fr {
    signed_fr(i128::from(v) + (1i128 << (bits - 1)))
}

/// Loads 32 limbs and range-checks each to `bits`.
pub(crate) fn load_limbs(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    limbs: &[Fr; LANES],
    bits: usize,
) -> Vec<AssignedValue<Fr>> {
    limbs
        .iter()
        .map(|l| {
            let cell = ctx.load_witness(*l);
            range.range_check(ctx, cell, bits);
            cell
        })
        .collect()
}

/// Packs limbs into instances, `per` limbs of `bits` bits each, big-endian within a group.
pub(crate) fn pack(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    limbs: &[AssignedValue<Fr>],
    bits: u32,
    per: usize,
) -> Vec<AssignedValue<Fr>> {
    limbs
        .chunks(per)
        .map(|group| {
            let m = u32::try_from(group.len()).unwrap_or(u32::MAX);
            let coeffs: Vec<_> = (0..m).map(|t| Constant(pow2(bits * (m - 1 - t)))).collect();
            range
                .gate()
                .inner_product(ctx, group.iter().copied(), coeffs)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_conversion_round_trips_and_rejects_non_canonical_values() {
        let mut word = [0u8; 32];
        word[4] = 0xab;
        word[31] = 7;
        let fr = instance_to_fr(0, &word).unwrap();
        assert_eq!(fr_to_instance(&fr), word);
        // r itself (big-endian) is not a field element; r - 1 is.
        let r_minus_one = fr_to_instance(&-Fr::ONE);
        assert!(instance_to_fr(3, &r_minus_one).is_ok());
        let mut r = r_minus_one;
        r[31] += 1;
        assert!(matches!(
            instance_to_fr(3, &r),
            Err(CircuitError::InstanceNotInField { index: 3 })
        ));
        assert!(instance_to_fr(0, &[0xff; 32]).is_err());
    }

    #[test]
    fn offset_limbs_flip_the_sign_bit() {
        assert_eq!(offset_limb(i64::from(i32::MIN), 32), Fr::ZERO);
        assert_eq!(offset_limb(-1, 32), Fr::from(0x7fff_ffffu64));
        assert_eq!(offset_limb(i64::MAX, 64), Fr::from(u64::MAX));
        assert_eq!(signed_fr(-5), -Fr::from(5u64));
        assert_eq!(pow2(64), Fr::from_u128(1 << 64));
    }
}
