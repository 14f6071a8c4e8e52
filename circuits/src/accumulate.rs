//! The `Accumulate` step circuit: `acc'_l = acc_l + w · x_l` for 32 lanes.
//!
//! | cells (per lane)                | constraint                                  |
//! |---------------------------------|---------------------------------------------|
//! | `ux = x + 2^31`                 | range 32 bits (lookup, 12-bit limbs)        |
//! | `ua = acc + 2^63`               | range 64 bits                               |
//! | `ub = acc' + 2^63`              | range 64 bits                               |
//! | `t = w·ux + ua`, `s = w·2^31`   | `ub = t − s` (⇔ `acc' = acc + w·x`)         |
//! | `w`                             | range 32 bits; instance 0                   |
//! | packed `ux` (5), `ua` (11), `ub` (11) | instances 1..=27                      |
//!
//! All magnitudes stay below 2^97, far under the field modulus, so the field equation is the
//! integer equation. The range checks make the packing injective: without the 64-bit check on
//! `ub`, a prover could move 1 out of lane 0's limb and 2^64 into lane 1's and claim a
//! different `acc'` with the same instances (`tests::accumulate_rejects_limbs_that_carry_*`).
//!
//! Physical layout (pinned in `circuit_params`, `k = 13`): one advice column holding every
//! cell above in halo2-base's vertical gate `q·(a + b·c − d)` over four rows, with the range
//! lookups (12-bit table) enabled on that same column by a selector; one fixed column for the
//! 16 constants; one instance column of 28 rows. 2,315 advice cells, 580 of them looked up,
//! in 8,192 rows.

use halo2_base::QuantumCell::Constant;
use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use halo2_base::gates::{GateInstructions, RangeChip, RangeInstructions};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use step_vm::{
    ACC_PACK, AccLeaf, LANES, StepKind, StepReads, StepWitness, VALUE_PACK, ValueLeaf, accumulate,
};

use crate::gadgets::{load_limbs, offset_limb, pack, pow2};
use crate::prover::{StepCircuit, acc_of, first_mismatch, wrong_kind};
use crate::{CircuitError, Result};

/// Native reference of the circuit: step-vm's [`accumulate`], refused where the exact sum
/// leaves the i64 range (step-vm wraps there so that an unreachable state cannot panic; the
/// circuit's 64-bit range check on `acc'` has no solution).
///
/// # Errors
/// [`CircuitError::Unsatisfiable`] naming the first lane whose exact sum overflows.
pub fn accumulate_reference(weight: u32, x: &ValueLeaf, acc: &AccLeaf) -> Result<AccLeaf> {
    for (lane, (&a, &v)) in acc.iter().zip(x).enumerate() {
        let exact = i128::from(a) + i128::from(weight) * i128::from(v);
        if i64::try_from(exact).is_err() {
            return Err(CircuitError::Unsatisfiable {
                kind: "Accumulate",
                reason: format!("lane {lane}: acc + w·x = {exact} does not fit i64"),
            });
        }
    }
    Ok(accumulate(acc, weight, x))
}

/// Raw cell values of an `Accumulate` step (offset limbs), from a witness or, in negative
/// tests, tampered by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccumulateAssignment {
    /// `w`.
    pub weight: Fr,
    /// `x_l + 2^31`.
    pub x: [Fr; LANES],
    /// `acc_l + 2^63`.
    pub acc: [Fr; LANES],
    /// `acc'_l + 2^63`.
    pub acc_out: [Fr; LANES],
}

impl AccumulateAssignment {
    /// The assignment of a step with these values.
    #[must_use]
    pub fn new(weight: u32, x: &ValueLeaf, acc: &AccLeaf, acc_out: &AccLeaf) -> Self {
        Self {
            weight: Fr::from(u64::from(weight)),
            x: x.map(|v| offset_limb(i64::from(v), 32)),
            acc: acc.map(|v| offset_limb(v, 64)),
            acc_out: acc_out.map(|v| offset_limb(v, 64)),
        }
    }
}

impl StepCircuit for AccumulateAssignment {
    const KIND: StepKind = StepKind::Accumulate;

    fn of_witness(witness: &StepWitness) -> Result<Self> {
        // `SelectAccumulate` is this relation with the pick flag as the weight.
        let (weight, read) = match &witness.reads {
            StepReads::Accumulate(read) => (read.weight, read),
            StepReads::SelectAccumulate(reads) => (reads.weight(), &reads.read),
            _ => return Err(wrong_kind(Self::KIND, witness)),
        };
        let acc = acc_of(Self::KIND, &witness.pre)?;
        let acc_out = acc_of(Self::KIND, &witness.post)?;
        let x = read.values();
        let computed = accumulate_reference(weight, &x, &acc)?;
        first_mismatch(Self::KIND, "acc'", &acc_out, &computed)?;
        Ok(Self::new(weight, &x, &acc, &acc_out))
    }

    /// All-zero assignment (weight 1): the layout does not depend on values.
    fn dummy() -> Self {
        Self::new(1, &[0; LANES], &[0; LANES], &[0; LANES])
    }

    fn synthesize(&self, builder: &mut BaseCircuitBuilder<Fr>, range: &RangeChip<Fr>) {
        let ctx = builder.main(0);
        let gate = range.gate();
        let w = ctx.load_witness(self.weight);
        range.range_check(ctx, w, 32);
        let ux = load_limbs(ctx, range, &self.x, 32);
        let ua = load_limbs(ctx, range, &self.acc, 64);
        let ub = load_limbs(ctx, range, &self.acc_out, 64);
        let w_offset = gate.mul(ctx, w, Constant(pow2(31)));
        for l in 0..LANES {
            let t = gate.mul_add(ctx, w, ux[l], ua[l]);
            let expected = gate.sub(ctx, t, w_offset);
            ctx.constrain_equal(&expected, &ub[l]);
        }
        let mut instances = vec![w];
        instances.extend(pack(
            ctx,
            range,
            &ux,
            VALUE_PACK.bits,
            VALUE_PACK.per_instance,
        ));
        instances.extend(pack(ctx, range, &ua, ACC_PACK.bits, ACC_PACK.per_instance));
        instances.extend(pack(ctx, range, &ub, ACC_PACK.bits, ACC_PACK.per_instance));
        builder.assigned_instances = vec![instances];
    }
}
