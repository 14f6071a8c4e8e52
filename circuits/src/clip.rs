//! The clipping prologue's circuits (docs/design/clipping.md): `Norm` and `Scale`. The `Clip`
//! kind has none of its own: its steps are proven by the base kind's circuit over the clipped
//! values ([`step_vm::StepWitness::proven`]).
//!
//! **Norm** — `t = lo + Σ_l x_l²`, `lo' = t mod 2^40`, `hi' = hi + floor(t / 2^40)`:
//!
//! | cells                         | constraint                                        |
//! |-------------------------------|---------------------------------------------------|
//! | `ux_l = x_l + 2^31`           | range 32 bits; packed into instances 0..=4        |
//! | `lo`, `lo'`                   | range 40 bits; instances 5, 7                     |
//! | `hi`                          | range 52 bits; instance 6                         |
//! | `q`                           | range 30 bits                                     |
//! | `lo + Σ (ux_l − 2^31)² = lo' + 2^40·q`, `hi' = hi + q` | instance 8 is `hi'`      |
//!
//! Every term is below 2^68, so the field equations are the integer ones, and with `lo' < 2^40`
//! the split of `t` is unique.
//!
//! **Scale** — `N = lo + hi·2^40`, `r = isqrt(N)`, `s = 2^32` if `r <= τ` else
//! `floor(τ·2^32 / r)`:
//!
//! | cells                               | constraint                                  |
//! |-------------------------------------|---------------------------------------------|
//! | `lo` (40 bits), `hi` (52), `τ` (32) | instances 0, 1, 2                           |
//! | `r`                                 | range 47 bits                               |
//! | `N − r²`, `(r+1)² − 1 − N`          | range 94 bits each (⇔ `r = isqrt(N)`)       |
//! | `g = [τ < r]`                       | `is_less_than` over 47 bits                 |
//! | `d = g ? r : 1`, `q` (64), `rem` (47) | `τ·2^32 = q·d + rem`, `d − 1 − rem` range 47 bits |
//! | `s = g ? q : 2^32`                  | instance 3                                  |
//!
//! All magnitudes stay below 2^96; `r < 2^47` because `N < 2^93`. With `r` pinned by the two
//! range checks and `0 <= rem < d` the quotient is unique, so `s` is exactly step-vm's
//! `clip_scale(isqrt(N), τ)`.

use halo2_base::QuantumCell::Constant;
use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use halo2_base::gates::{GateInstructions, RangeChip, RangeInstructions};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::halo2_proofs::halo2curves::ff::PrimeField;
use step_vm::{
    LANES, NORM_LIMB_BITS, NORM_WORDS, StepKind, StepReads, StepWitness, VALUE_PACK, ValueLeaf,
    norm_register, norm_step, norm_total, scale_step,
};

use crate::gadgets::{load_limbs, offset_limb, pack, pow2};
use crate::prover::{StepCircuit, wrong_kind};
use crate::{CircuitError, Result};

/// Bits of the norm register's carry word: `hi < 2^51` for every model (`2^23` leaves).
const HI_BITS: usize = 52;
/// Bits of `r = isqrt(N)` for `N < 2^93`.
const ROOT_BITS: usize = 47;

fn register(kind: StepKind, state: &step_vm::State) -> Result<[i64; NORM_WORDS]> {
    let reg = norm_register(state).map_err(|source| CircuitError::BadWitness {
        kind: kind.name(),
        source,
    })?;
    if reg[0] >= 1 << NORM_LIMB_BITS || reg[1] >= 1 << HI_BITS {
        return Err(CircuitError::Unsatisfiable {
            kind: kind.name(),
            reason: format!("norm register {reg:?} outside lo < 2^40, hi < 2^52"),
        });
    }
    Ok(reg)
}

fn mismatch(kind: StepKind, name: &'static str, claimed: i64, computed: i64) -> Result<()> {
    if claimed == computed {
        return Ok(());
    }
    Err(CircuitError::ClaimMismatch {
        kind: kind.name(),
        register: name,
        lane: 0,
        claimed,
        computed: i128::from(computed),
    })
}

fn word(v: i64) -> Fr {
    // Non-negative words (checked by `register`).
    #[allow(clippy::cast_sign_loss)]
    Fr::from(v as u64)
}

/// Cell values of a `Norm` step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NormAssignment {
    /// `x_l + 2^31`.
    pub x: [Fr; LANES],
    /// `lo`, `hi`.
    pub pre: [Fr; NORM_WORDS],
    /// `lo'`, `hi'`.
    pub post: [Fr; NORM_WORDS],
    /// The carry `q = hi' − hi`.
    pub carry: Fr,
}

impl NormAssignment {
    /// The assignment of a step with these values (the carry follows from the claim).
    #[must_use]
    pub fn new(x: &ValueLeaf, pre: [i64; NORM_WORDS], post: [i64; NORM_WORDS]) -> Self {
        Self {
            x: x.map(|v| offset_limb(i64::from(v), 32)),
            pre: pre.map(word),
            post: post.map(word),
            carry: word(post[1].wrapping_sub(pre[1])),
        }
    }
}

impl StepCircuit for NormAssignment {
    const KIND: StepKind = StepKind::Norm;

    fn of_witness(witness: &StepWitness) -> Result<Self> {
        let StepReads::Norm(read) = &witness.reads else {
            return Err(wrong_kind(Self::KIND, witness));
        };
        let pre = register(Self::KIND, &witness.pre)?;
        let post = register(Self::KIND, &witness.post)?;
        let computed = norm_step(pre, &read.x);
        mismatch(Self::KIND, "lo'", post[0], computed[0])?;
        mismatch(Self::KIND, "hi'", post[1], computed[1])?;
        Ok(Self::new(&read.x, pre, post))
    }

    fn dummy() -> Self {
        Self::new(&[0; LANES], [0; NORM_WORDS], [0; NORM_WORDS])
    }

    fn synthesize(&self, builder: &mut BaseCircuitBuilder<Fr>, range: &RangeChip<Fr>) {
        let ctx = builder.main(0);
        let gate = range.gate();
        let ux = load_limbs(ctx, range, &self.x, 32);
        let [lo, hi] = self.pre.map(|v| ctx.load_witness(v));
        let [lo_out, hi_out] = self.post.map(|v| ctx.load_witness(v));
        let q = ctx.load_witness(self.carry);
        range.range_check(ctx, lo, NORM_LIMB_BITS as usize);
        range.range_check(ctx, hi, HI_BITS);
        range.range_check(ctx, lo_out, NORM_LIMB_BITS as usize);
        range.range_check(ctx, q, 30);
        let mut t = lo;
        for u in &ux {
            let x = gate.sub(ctx, *u, Constant(pow2(31)));
            t = gate.mul_add(ctx, x, x, t);
        }
        let split = gate.mul_add(ctx, q, Constant(pow2(NORM_LIMB_BITS)), lo_out);
        ctx.constrain_equal(&t, &split);
        let carried = gate.add(ctx, hi, q);
        ctx.constrain_equal(&carried, &hi_out);
        let mut instances = pack(ctx, range, &ux, VALUE_PACK.bits, VALUE_PACK.per_instance);
        instances.extend([lo, hi, lo_out, hi_out]);
        builder.assigned_instances = vec![instances];
    }
}

/// Cell values of a `Scale` step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScaleAssignment {
    /// `lo`, `hi`.
    pub register: [Fr; NORM_WORDS],
    /// `τ`.
    pub threshold: Fr,
    /// `r = isqrt(N)`.
    pub root: Fr,
    /// `q = floor(τ·2^32 / d)`, `d = r` if clipped else 1.
    pub quotient: Fr,
    /// `τ·2^32 − q·d`.
    pub remainder: Fr,
    /// The claimed scale (an instance).
    pub scale: Fr,
}

impl ScaleAssignment {
    /// The assignment of a step with these values (root, quotient and remainder follow).
    #[must_use]
    pub fn new(register: [i64; NORM_WORDS], threshold: u32, scale: u64) -> Self {
        let r = norm_total(register).isqrt();
        let clipped = r > u128::from(threshold);
        let d = if clipped { r } else { 1 };
        let numerator = u128::from(threshold) << 32;
        Self {
            register: register.map(word),
            threshold: Fr::from(u64::from(threshold)),
            root: Fr::from_u128(r),
            quotient: Fr::from_u128(numerator / d),
            remainder: Fr::from_u128(numerator % d),
            scale: Fr::from(scale),
        }
    }
}

impl StepCircuit for ScaleAssignment {
    const KIND: StepKind = StepKind::Scale;

    fn of_witness(witness: &StepWitness) -> Result<Self> {
        let StepReads::Scale(reads) = &witness.reads else {
            return Err(wrong_kind(Self::KIND, witness));
        };
        let reg = register(Self::KIND, &witness.pre)?;
        let computed =
            scale_step(reg, reads.threshold).map_err(|e| CircuitError::Unsatisfiable {
                kind: Self::KIND.name(),
                reason: e.to_string(),
            })?;
        let as_i64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        mismatch(Self::KIND, "s", as_i64(reads.scale), as_i64(computed))?;
        Ok(Self::new(reg, reads.threshold, reads.scale))
    }

    fn dummy() -> Self {
        Self::new([0; NORM_WORDS], 1, step_vm::UNIT_SCALE)
    }

    fn synthesize(&self, builder: &mut BaseCircuitBuilder<Fr>, range: &RangeChip<Fr>) {
        let ctx = builder.main(0);
        let gate = range.gate();
        let [lo, hi] = self.register.map(|v| ctx.load_witness(v));
        let tau = ctx.load_witness(self.threshold);
        range.range_check(ctx, lo, NORM_LIMB_BITS as usize);
        range.range_check(ctx, hi, HI_BITS);
        range.range_check(ctx, tau, 32);
        let n = gate.mul_add(ctx, hi, Constant(pow2(NORM_LIMB_BITS)), lo);
        // r = isqrt(N): r² <= N <= (r+1)² − 1.
        let r = ctx.load_witness(self.root);
        range.range_check(ctx, r, ROOT_BITS);
        let r2 = gate.mul(ctx, r, r);
        let below = gate.sub(ctx, n, r2);
        range.range_check(ctx, below, 2 * ROOT_BITS);
        let r1 = gate.add(ctx, r, Constant(Fr::from(1u64)));
        let r1_sq = gate.mul(ctx, r1, r1);
        let above = gate.sub(ctx, r1_sq, n);
        let above = gate.sub(ctx, above, Constant(Fr::from(1u64)));
        range.range_check(ctx, above, 2 * ROOT_BITS);
        // g = [τ < r]; d = g ? r : 1; τ·2^32 = q·d + rem, 0 <= rem < d.
        let g = range.is_less_than(ctx, tau, r, ROOT_BITS);
        let d = gate.select(ctx, r, Constant(Fr::from(1u64)), g);
        let q = ctx.load_witness(self.quotient);
        let rem = ctx.load_witness(self.remainder);
        range.range_check(ctx, q, 64);
        range.range_check(ctx, rem, ROOT_BITS);
        let numerator = gate.mul(ctx, tau, Constant(pow2(32)));
        let divided = gate.mul_add(ctx, q, d, rem);
        ctx.constrain_equal(&numerator, &divided);
        let slack = gate.sub(ctx, d, rem);
        let slack = gate.sub(ctx, slack, Constant(Fr::from(1u64)));
        range.range_check(ctx, slack, ROOT_BITS);
        let s = gate.select(ctx, q, Constant(pow2(32)), g);
        builder.assigned_instances = vec![vec![lo, hi, tau, s]];
    }
}
