//! Shared gadgets: offset limbs and big-endian packing into public instances.
//!
//! A signed `b`-bit value `v` is carried as the limb `v + 2^(b-1)`, range-checked to `b` bits;
//! a group of limbs `l_0..l_{m-1}` is exposed as the instance `Σ l_t · 2^(b·(m-1-t))`, exactly
//! step-vm's `pack_value_leaf` / `pack_acc_leaf`.

use halo2_base::AssignedValue;
use halo2_base::Context;
use halo2_base::QuantumCell::Constant;
use halo2_base::gates::{GateInstructions, RangeChip, RangeInstructions};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::utils::biguint_to_fe;
use num_bigint::BigUint;
use step_vm::{Instance, LANES};

/// `2^n` as a field element.
pub(crate) fn pow2(n: u32) -> Fr {
    biguint_to_fe(&(BigUint::from(1u8) << n))
}

/// Converts a 32-byte big-endian instance to a field element (instances are < 2^224 < r).
#[must_use]
pub fn instance_to_fr(instance: &Instance) -> Fr {
    biguint_to_fe(&BigUint::from_bytes_be(instance))
}

/// Offset limb of a signed value: `v + 2^(bits-1)` as a field element.
pub(crate) fn offset_limb(v: i64, bits: u32) -> Fr {
    let shifted = i128::from(v) + (1i128 << (bits - 1));
    biguint_to_fe(&BigUint::from(u128::try_from(shifted).unwrap_or(0)))
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
            let m = group.len() as u32;
            let coeffs: Vec<_> = (0..m).map(|t| Constant(pow2(bits * (m - 1 - t)))).collect();
            range
                .gate()
                .inner_product(ctx, group.iter().copied(), coeffs)
        })
        .collect()
}
