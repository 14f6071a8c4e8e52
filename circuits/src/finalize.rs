//! The `Finalize` step circuit: `out_l = floor((2·acc_l + W) / (2W))` for 32 lanes (division by
//! the total weight, rounding half up).
//!
//! | cells (per lane)            | constraint                                          |
//! |-----------------------------|-----------------------------------------------------|
//! | `ua = acc + 2^63`           | range 64 bits                                       |
//! | `uo = out + 2^31`           | range 32 bits                                       |
//! | `r`                         | range 33 bits                                       |
//! | `s = 2W − 1 − r`            | range 33 bits (⇔ `r < 2W`; fails for `W = 0`)       |
//! | `lhs = 2·ua + W − 2^64`     | `lhs = 2W·uo − 2^32·W + r` (⇔ `2acc + W = out·2W + r`) |
//! | `W`                         | range 32 bits; instance 0                           |
//! | packed `ua` (11), `uo` (5)  | instances 1..=16                                    |
//!
//! Both sides stay below 2^66 in magnitude, so equality in the field is integer equality, and
//! with `0 <= r < 2W` the quotient is unique: `out = floor((2acc + W) / 2W)`, step-vm's
//! round-half-up. A negative remainder would be the field element `r − |r|`, far above 2^33.
//!
//! Physical layout (pinned in `circuit_params`, `k = 13`): as `Accumulate`, one advice column
//! with in-column lookups, one fixed column (17 constants), one instance column of 17 rows.
//! 2,664 advice cells, 612 of them looked up.

use halo2_base::QuantumCell::Constant;
use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use halo2_base::gates::{GateInstructions, RangeChip, RangeInstructions};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use step_vm::{
    ACC_PACK, AccLeaf, LANES, StepKind, StepReads, StepWitness, VALUE_PACK, ValueLeaf, VmError,
    finalize,
};

use crate::gadgets::{load_limbs, offset_limb, pack, pow2, signed_fr};
use crate::prover::{StepCircuit, acc_of, first_mismatch, wrong_kind};
use crate::{CircuitError, Result};

/// Native reference of the circuit: step-vm's [`finalize`], refused for `W = 0` (no remainder
/// satisfies `0 <= r < 2W`; step-vm would divide by zero) and where a quotient leaves i32.
///
/// # Errors
/// [`CircuitError::Unsatisfiable`] with the reason.
pub fn finalize_reference(total_weight: u32, acc: &AccLeaf) -> Result<ValueLeaf> {
    let unsat = |reason: String| CircuitError::Unsatisfiable {
        kind: "Finalize",
        reason,
    };
    if total_weight == 0 {
        return Err(unsat("W is 0; the circuit requires 1 <= W < 2^32".into()));
    }
    finalize(acc, total_weight).map_err(|e| match e {
        VmError::Overflow { lane, value } => unsat(format!(
            "lane {lane}: the quotient {value} does not fit i32"
        )),
        other => unsat(other.to_string()),
    })
}

/// Raw cell values of a `Finalize` step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FinalizeAssignment {
    /// `W`.
    pub total_weight: Fr,
    /// `acc_l + 2^63`.
    pub acc: [Fr; LANES],
    /// `out_l + 2^31`.
    pub out: [Fr; LANES],
    /// `r_l = 2·acc_l + W − out_l·2W` (a field element; valid claims give `0 <= r < 2W`).
    pub remainder: [Fr; LANES],
}

impl FinalizeAssignment {
    /// The assignment of a step with these values; the remainder follows from the claim.
    #[must_use]
    pub fn new(total_weight: u32, acc: &AccLeaf, out: &ValueLeaf) -> Self {
        let w = i128::from(total_weight);
        let mut remainder = [Fr::from(0u64); LANES];
        for (r, (&a, &o)) in remainder.iter_mut().zip(acc.iter().zip(out)) {
            *r = signed_fr(2 * i128::from(a) + w - i128::from(o) * 2 * w);
        }
        Self {
            total_weight: Fr::from(u64::from(total_weight)),
            acc: acc.map(|v| offset_limb(v, 64)),
            out: out.map(|v| offset_limb(i64::from(v), 32)),
            remainder,
        }
    }
}

impl StepCircuit for FinalizeAssignment {
    const KIND: StepKind = StepKind::Finalize;

    fn of_witness(witness: &StepWitness) -> Result<Self> {
        // `SelectFinalize` is this relation over the pick count.
        let (StepReads::Finalize(reads) | StepReads::SelectFinalize(reads)) = &witness.reads else {
            return Err(wrong_kind(Self::KIND, witness));
        };
        let acc = acc_of(Self::KIND, &witness.pre)?;
        let computed = finalize_reference(reads.total_weight, &acc)?;
        first_mismatch(Self::KIND, "out", &reads.out, &computed)?;
        Ok(Self::new(reads.total_weight, &acc, &reads.out))
    }

    /// Assignment for key generation (weight 1, zeros).
    fn dummy() -> Self {
        Self::new(1, &[0; LANES], &[0; LANES])
    }

    fn synthesize(&self, builder: &mut BaseCircuitBuilder<Fr>, range: &RangeChip<Fr>) {
        let ctx = builder.main(0);
        let gate = range.gate();
        let w = ctx.load_witness(self.total_weight);
        range.range_check(ctx, w, 32);
        let two_w = gate.mul(ctx, w, Constant(Fr::from(2u64)));
        let two_w_minus_one = gate.sub(ctx, two_w, Constant(Fr::from(1u64)));
        let w_shift = gate.mul(ctx, w, Constant(pow2(32)));
        let ua = load_limbs(ctx, range, &self.acc, 64);
        let uo = load_limbs(ctx, range, &self.out, 32);
        let r = load_limbs(ctx, range, &self.remainder, 33);
        for l in 0..LANES {
            let s = gate.sub(ctx, two_w_minus_one, r[l]);
            range.range_check(ctx, s, 33);
            // lhs = 2·ua + W − 2^64
            let lhs = gate.mul_add(ctx, ua[l], Constant(Fr::from(2u64)), w);
            let lhs = gate.sub(ctx, lhs, Constant(pow2(64)));
            // rhs = 2W·uo + r − 2^32·W
            let rhs = gate.mul_add(ctx, two_w, uo[l], r[l]);
            let rhs = gate.sub(ctx, rhs, w_shift);
            ctx.constrain_equal(&lhs, &rhs);
        }
        let mut instances = vec![w];
        instances.extend(pack(ctx, range, &ua, ACC_PACK.bits, ACC_PACK.per_instance));
        instances.extend(pack(
            ctx,
            range,
            &uo,
            VALUE_PACK.bits,
            VALUE_PACK.per_instance,
        ));
        builder.assigned_instances = vec![instances];
    }
}
