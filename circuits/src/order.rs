//! The order-statistic step circuits (median and trimmed mean, step-vm's `kinds::order`):
//! `Rank`, `TrimSum`, `TrimEmit`.
//!
//! The register (5 fields × 32 lanes) is carried as 40-bit offset limbs `word + 2^39`, packed
//! 6 to an instance like step-vm's `STAT_PACK`. On loading, each field's *real* value is
//! range-checked to its honest width, which both bounds every comparison below (so
//! `is_less_than` is sound) and keeps the packing injective:
//!
//! | field | real value checked to | why |
//! |---|---|---|
//! | `lo`, `hi` | `[0, 2^33)` | offsets `u` of values are below 2^32; `prefix + 2^b < 2^33` |
//! | `c1`, `c2` | `[0, 2^9)` | counts of at most 255 participants |
//! | `sum` | limb in `[0, 2^40)` | `|Σ x| < 255 · 2^31 < 2^39` |
//!
//! The post-state register is computed in the circuit from the pre-state and the read, never
//! witnessed: the public post limbs are that computation's result (the running sum's limb is
//! range-checked again, the other fields are bounded by construction).
//!
//! | kind | relation per lane | public inputs |
//! |---|---|---|
//! | `Rank` | `c1' = c1 + [u < lo + B]`, `c2' = c2 + [u < hi + B]`; if `L`: `lo' = lo + B·[c1' <= R1]`, `hi' = hi + B·[c2' <= R2]`, counts reset | `B = 2^b`, `L`, `R1 = k`, `R2 = n-k-1`, `x` (5), pre (27), post (27) |
//! | `TrimSum` | `c1' = c1 + [u <= lo]`, `c2' = c2 + [u < hi]`, `sum' = sum + x·[lo < u < hi]` | `x` (5), pre (27), post (27) |
//! | `TrimEmit` | `s = m·x_lo` if `lo = hi`, else `sum + (c1-k)·x_lo + (n-k-c2)·x_hi`; `2s + m = out·2m + r`, `0 <= r < 2m`, `m = n-2k >= 1` | `n`, `k`, pre (27), `out` (5) |
//!
//! where `u = x + 2^31` is the value's offset limb (its 32-bit range check doubles as the
//! comparison bound). Every magnitude stays below 2^50, so field equalities are integer ones.

use halo2_base::AssignedValue;
use halo2_base::Context;
use halo2_base::QuantumCell::Constant;
use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use halo2_base::gates::{GateInstructions, RangeChip, RangeInstructions};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use step_vm::{
    LANES, STAT_PACK, StatRegister, StepKind, StepReads, StepWitness, VALUE_PACK, ValueLeaf,
    rank_step, trim_emit, trim_sum_step,
};

use crate::gadgets::{load_limbs, offset_limb, pack, pow2, signed_fr};
use crate::prover::{StepCircuit, first_mismatch, wrong_kind};
use crate::{CircuitError, Result};

/// Bits of the honest range of `lo`/`hi` (offset values, plus one search bit).
const BOUND_BITS: u32 = 33;
/// Bits of the honest range of a counter.
const COUNT_BITS: u32 = 9;

/// The honest widths of the order-statistic register's fields `lo`, `hi`, `c1`, `c2` (the
/// sum's 40-bit limb is checked separately).
pub(crate) const ORDER_WIDTHS: [u32; 4] = [BOUND_BITS, BOUND_BITS, COUNT_BITS, COUNT_BITS];

/// Checks that a register has the widths the circuits range-check (every honest one does).
fn check_register(kind: StepKind, reg: &StatRegister) -> Result<()> {
    check_register_widths(kind, reg, ORDER_WIDTHS)
}

/// Checks a register's fields against `widths` (`lo`, `hi`, `c1`, `c2`) and the sum against
/// its 40-bit limb.
pub(crate) fn check_register_widths(
    kind: StepKind,
    reg: &StatRegister,
    widths: [u32; 4],
) -> Result<()> {
    let unsat = |reason: String| CircuitError::Unsatisfiable {
        kind: kind.name(),
        reason,
    };
    for l in 0..LANES {
        for (name, v, bits) in [
            ("lo", reg.lo[l], widths[0]),
            ("hi", reg.hi[l], widths[1]),
            ("c1", reg.c1[l], widths[2]),
            ("c2", reg.c2[l], widths[3]),
        ] {
            if !(0..1i64 << bits).contains(&v) {
                return Err(unsat(format!(
                    "lane {l}: {name} = {v} is outside [0, 2^{bits})"
                )));
            }
        }
        let half = 1i64 << (STAT_PACK.bits - 1);
        if !(-half..half).contains(&reg.sum[l]) {
            return Err(unsat(format!(
                "lane {l}: sum = {} is outside the 40-bit range",
                reg.sum[l]
            )));
        }
    }
    Ok(())
}

/// The register of a witness state, refused if the circuit cannot carry it.
pub(crate) fn register_of(kind: StepKind, state: &step_vm::State) -> Result<StatRegister> {
    let reg = claimed_register(kind, state)?;
    check_register(kind, &reg)?;
    Ok(reg)
}

/// The register a witness claims after the step (compared with the computed one, never
/// carried: the circuit computes the post-state itself).
pub(crate) fn claimed_register(kind: StepKind, state: &step_vm::State) -> Result<StatRegister> {
    StatRegister::of(state).map_err(|source| CircuitError::BadWitness {
        kind: kind.name(),
        source,
    })
}

/// First register field (in word order) where `claimed` differs from `computed`.
pub(crate) fn register_mismatch(
    kind: StepKind,
    claimed: &StatRegister,
    computed: &StatRegister,
) -> Result<()> {
    for (name, c, v) in [
        ("lo'", claimed.lo, computed.lo),
        ("hi'", claimed.hi, computed.hi),
        ("c1'", claimed.c1, computed.c1),
        ("c2'", claimed.c2, computed.c2),
        ("sum'", claimed.sum, computed.sum),
    ] {
        first_mismatch(kind, name, &c, &v)?;
    }
    Ok(())
}

/// The register's cells: real values per field, and the 160 offset limbs for packing.
pub(crate) struct RegisterCells {
    pub(crate) lo: Vec<AssignedValue<Fr>>,
    pub(crate) hi: Vec<AssignedValue<Fr>>,
    pub(crate) c1: Vec<AssignedValue<Fr>>,
    pub(crate) c2: Vec<AssignedValue<Fr>>,
    pub(crate) sum: Vec<AssignedValue<Fr>>,
}

impl RegisterCells {
    /// Loads a register's real values with the order-statistic range checks.
    fn load(ctx: &mut Context<Fr>, range: &RangeChip<Fr>, reg: &StatRegister) -> Self {
        Self::load_widths(ctx, range, reg, ORDER_WIDTHS)
    }

    /// Loads a register's real values, `lo`, `hi`, `c1`, `c2` range-checked to `widths` and the
    /// sum's offset limb to 40 bits.
    pub(crate) fn load_widths(
        ctx: &mut Context<Fr>,
        range: &RangeChip<Fr>,
        reg: &StatRegister,
        widths: [u32; 4],
    ) -> Self {
        let mut field = |values: &[i64; LANES], bits: Option<u32>| -> Vec<AssignedValue<Fr>> {
            values
                .iter()
                .map(|&v| {
                    let cell = ctx.load_witness(signed_fr(i128::from(v)));
                    match bits {
                        Some(b) => range.range_check(ctx, cell, b as usize),
                        None => {
                            // sum: its offset limb is range-checked instead.
                            let limb =
                                range
                                    .gate()
                                    .add(ctx, cell, Constant(pow2(STAT_PACK.bits - 1)));
                            range.range_check(ctx, limb, STAT_PACK.bits as usize);
                        }
                    }
                    cell
                })
                .collect()
        };
        Self {
            lo: field(&reg.lo, Some(widths[0])),
            hi: field(&reg.hi, Some(widths[1])),
            c1: field(&reg.c1, Some(widths[2])),
            c2: field(&reg.c2, Some(widths[3])),
            sum: field(&reg.sum, None),
        }
    }

    /// The public inputs of a step that reads a value leaf into the register (Rank, TrimSum,
    /// CloseRank, CloseSum): `head`, then the values `u` packed, the register before (`pre`)
    /// and after (`post`), in that order.
    pub(crate) fn read_step_instances(
        ctx: &mut Context<Fr>,
        range: &RangeChip<Fr>,
        head: Vec<AssignedValue<Fr>>,
        u: &[AssignedValue<Fr>],
        pre: &Self,
        post: &Self,
    ) -> Vec<AssignedValue<Fr>> {
        let mut instances = head;
        instances.extend(pack(
            ctx,
            range,
            u,
            VALUE_PACK.bits,
            VALUE_PACK.per_instance,
        ));
        instances.extend(pre.instances(ctx, range));
        instances.extend(post.instances(ctx, range));
        instances
    }

    /// The packed public inputs (27) of the register: offset limbs `v + 2^39` in word order,
    /// the offsets folded into one constant per instance.
    pub(crate) fn instances(
        &self,
        ctx: &mut Context<Fr>,
        range: &RangeChip<Fr>,
    ) -> Vec<AssignedValue<Fr>> {
        let words: Vec<_> = [&self.lo, &self.hi, &self.c1, &self.c2, &self.sum]
            .into_iter()
            .flatten()
            .copied()
            .collect();
        let bits = STAT_PACK.bits;
        words
            .chunks(STAT_PACK.per_instance)
            .map(|group| {
                let m = u32::try_from(group.len()).unwrap_or(u32::MAX);
                let coeffs: Vec<Fr> = (0..m).map(|t| pow2(bits * (m - 1 - t))).collect();
                let offset: Fr = coeffs.iter().map(|c| *c * pow2(bits - 1)).sum();
                let packed = range.gate().inner_product(
                    ctx,
                    group.iter().copied(),
                    coeffs.into_iter().map(Constant),
                );
                range.gate().add(ctx, packed, Constant(offset))
            })
            .collect()
    }
}

/// Loads the value leaf as offset limbs `u = x + 2^31` (range-checked to 32 bits).
pub(crate) fn load_values(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    x: &ValueLeaf,
) -> Vec<AssignedValue<Fr>> {
    load_limbs(ctx, range, &x.map(|v| offset_limb(i64::from(v), 32)), 32)
}

/// Cell values of a `Rank` step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RankAssignment {
    /// The pass's search bit `2^b`.
    pub bit: u64,
    /// Whether the pass's decision is applied.
    pub last: bool,
    /// Ranks `k` and `n-k-1`.
    pub ranks: (u32, u32),
    /// The participant's value leaf.
    pub x: ValueLeaf,
    /// The pre-state register.
    pub pre: StatRegister,
}

impl StepCircuit for RankAssignment {
    const KIND: StepKind = StepKind::Rank;

    fn of_witness(witness: &StepWitness) -> Result<Self> {
        // Bulyan's `SelectRank` is this relation over the picked values (`i32::MAX` for an
        // unpicked participant).
        let (x, pass, last, ranks) = match &witness.reads {
            StepReads::Rank(r) => (r.read.values(), r.pass, r.last, r.ranks),
            StepReads::SelectRank(r) => (
                step_vm::select_values(&r.read.values(), r.picked()),
                r.pass,
                r.last,
                r.ranks,
            ),
            _ => return Err(wrong_kind(Self::KIND, witness)),
        };
        let pre = register_of(Self::KIND, &witness.pre)?;
        let post = claimed_register(Self::KIND, &witness.post)?;
        if pass >= step_vm::RANK_PASSES || ranks.0.max(ranks.1) > 255 {
            return Err(CircuitError::Unsatisfiable {
                kind: Self::KIND.name(),
                reason: format!("pass {pass} or ranks {ranks:?} out of range"),
            });
        }
        let computed = rank_step(&pre, &x, pass, last, ranks);
        register_mismatch(Self::KIND, &post, &computed)?;
        Ok(Self {
            bit: 1 << (31 - pass),
            last,
            ranks,
            x,
            pre,
        })
    }

    fn dummy() -> Self {
        Self {
            bit: 1,
            last: false,
            ranks: (0, 0),
            x: [0; LANES],
            pre: StatRegister::default(),
        }
    }

    fn synthesize(&self, builder: &mut BaseCircuitBuilder<Fr>, range: &RangeChip<Fr>) {
        let ctx = builder.main(0);
        let gate = range.gate();
        let bit = ctx.load_witness(Fr::from(self.bit));
        range.range_check(ctx, bit, 32);
        let last = ctx.load_witness(Fr::from(u64::from(self.last)));
        gate.assert_bit(ctx, last);
        let r1 = ctx.load_witness(Fr::from(u64::from(self.ranks.0)));
        let r2 = ctx.load_witness(Fr::from(u64::from(self.ranks.1)));
        range.range_check(ctx, r1, 8);
        range.range_check(ctx, r2, 8);
        let u = load_values(ctx, range, &self.x);
        let pre = RegisterCells::load(ctx, range, &self.pre);
        let mut post = RegisterCells {
            lo: Vec::new(),
            hi: Vec::new(),
            c1: Vec::new(),
            c2: Vec::new(),
            sum: pre.sum.clone(),
        };
        for (l, &ul) in u.iter().enumerate() {
            for (bound, count, rank, new_bound, new_count) in [
                (pre.lo[l], pre.c1[l], r1, &mut post.lo, &mut post.c1),
                (pre.hi[l], pre.c2[l], r2, &mut post.hi, &mut post.c2),
            ] {
                // [u < bound + B]: u < 2^32, bound + B < 2^34.
                let threshold = gate.add(ctx, bound, bit);
                let below = range.is_less_than(ctx, ul, threshold, 34);
                let counted = gate.add(ctx, count, below);
                // [counted <= rank] = 1 - [rank < counted] (both below 2^10).
                let over = range.is_less_than(ctx, rank, counted, 10);
                let set = gate.not(ctx, over);
                let step = gate.mul(ctx, set, last);
                new_bound.push(gate.mul_add(ctx, step, bit, bound));
                new_count.push(gate.mul_not(ctx, last, counted));
            }
        }
        let instances = RegisterCells::read_step_instances(
            ctx,
            range,
            vec![bit, last, r1, r2],
            &u,
            &pre,
            &post,
        );
        builder.assigned_instances = vec![instances];
    }
}

/// Cell values of a `TrimSum` step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrimSumAssignment {
    /// The participant's value leaf.
    pub x: ValueLeaf,
    /// The pre-state register.
    pub pre: StatRegister,
}

impl StepCircuit for TrimSumAssignment {
    const KIND: StepKind = StepKind::TrimSum;

    fn of_witness(witness: &StepWitness) -> Result<Self> {
        let StepReads::TrimSum(reads) = &witness.reads else {
            return Err(wrong_kind(Self::KIND, witness));
        };
        let pre = register_of(Self::KIND, &witness.pre)?;
        let post = claimed_register(Self::KIND, &witness.post)?;
        let x = reads.values();
        let computed = trim_sum_step(&pre, &x);
        check_register(Self::KIND, &computed)?;
        register_mismatch(Self::KIND, &post, &computed)?;
        Ok(Self { x, pre })
    }

    fn dummy() -> Self {
        Self {
            x: [0; LANES],
            pre: StatRegister::default(),
        }
    }

    fn synthesize(&self, builder: &mut BaseCircuitBuilder<Fr>, range: &RangeChip<Fr>) {
        let ctx = builder.main(0);
        let gate = range.gate();
        let u = load_values(ctx, range, &self.x);
        let pre = RegisterCells::load(ctx, range, &self.pre);
        let mut post = RegisterCells {
            lo: pre.lo.clone(),
            hi: pre.hi.clone(),
            c1: Vec::new(),
            c2: Vec::new(),
            sum: Vec::new(),
        };
        let x_offset = Constant(pow2(31));
        for (l, &ul) in u.iter().enumerate() {
            // [lo < u] and [u < hi]: all below 2^33.
            let above_lo = range.is_less_than(ctx, pre.lo[l], ul, 33);
            let below_hi = range.is_less_than(ctx, ul, pre.hi[l], 33);
            let at_most_lo = gate.not(ctx, above_lo);
            post.c1.push(gate.add(ctx, pre.c1[l], at_most_lo));
            post.c2.push(gate.add(ctx, pre.c2[l], below_hi));
            let between = gate.mul(ctx, above_lo, below_hi);
            let x = gate.sub(ctx, ul, x_offset);
            let sum = gate.mul_add(ctx, between, x, pre.sum[l]);
            let limb = gate.add(ctx, sum, Constant(pow2(STAT_PACK.bits - 1)));
            range.range_check(ctx, limb, STAT_PACK.bits as usize);
            post.sum.push(sum);
        }
        let instances = RegisterCells::read_step_instances(ctx, range, Vec::new(), &u, &pre, &post);
        builder.assigned_instances = vec![instances];
    }
}

/// Cell values of a `TrimEmit` step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrimEmitAssignment {
    /// Participants `n`.
    pub n: u32,
    /// Trim `k`.
    pub k: u32,
    /// The pre-state register (after the sum pass).
    pub pre: StatRegister,
    /// The output leaf written.
    pub out: ValueLeaf,
}

impl TrimEmitAssignment {
    /// `r_l = 2·s_l + m − out_l·2m` (valid claims give `0 <= r < 2m`).
    fn remainders(&self) -> [Fr; LANES] {
        let m = i128::from(self.n) - 2 * i128::from(self.k);
        let mut r = [Fr::from(0u64); LANES];
        for (l, cell) in r.iter_mut().enumerate() {
            let s = step_vm::trimmed_sum(&self.pre, l, self.n, self.k);
            *cell = signed_fr(2 * s + m - i128::from(self.out[l]) * 2 * m);
        }
        r
    }
}

impl StepCircuit for TrimEmitAssignment {
    const KIND: StepKind = StepKind::TrimEmit;

    fn of_witness(witness: &StepWitness) -> Result<Self> {
        let StepReads::TrimEmit(reads) = &witness.reads else {
            return Err(wrong_kind(Self::KIND, witness));
        };
        let unsat = |reason: String| CircuitError::Unsatisfiable {
            kind: Self::KIND.name(),
            reason,
        };
        if reads.n == 0 || reads.n > 255 || 2 * reads.k >= reads.n {
            return Err(unsat(format!(
                "n = {}, k = {}: the circuit requires 1 <= n - 2k and n <= 255",
                reads.n, reads.k
            )));
        }
        let pre = register_of(Self::KIND, &witness.pre)?;
        let computed = trim_emit(&pre, reads.n, reads.k).map_err(|e| unsat(e.to_string()))?;
        first_mismatch(Self::KIND, "out", &reads.out, &computed)?;
        Ok(Self {
            n: reads.n,
            k: reads.k,
            pre,
            out: reads.out,
        })
    }

    fn dummy() -> Self {
        Self {
            n: 1,
            k: 0,
            pre: StatRegister::default(),
            out: [i32::MIN; LANES],
        }
    }

    fn synthesize(&self, builder: &mut BaseCircuitBuilder<Fr>, range: &RangeChip<Fr>) {
        let remainders = self.remainders();
        let ctx = builder.main(0);
        let gate = range.gate();
        let n = ctx.load_witness(Fr::from(u64::from(self.n)));
        let k = ctx.load_witness(Fr::from(u64::from(self.k)));
        range.range_check(ctx, n, 8);
        range.range_check(ctx, k, 8);
        // m = n - 2k, 1 <= m <= 255.
        let two_k = gate.add(ctx, k, k);
        let m = gate.sub(ctx, n, two_k);
        let m_minus_one = gate.sub(ctx, m, Constant(Fr::from(1u64)));
        range.range_check(ctx, m_minus_one, 8);
        let two_m = gate.add(ctx, m, m);
        let two_m_minus_one = gate.sub(ctx, two_m, Constant(Fr::from(1u64)));
        let n_minus_k = gate.sub(ctx, n, k);
        let pre = RegisterCells::load(ctx, range, &self.pre);
        let uo = load_limbs(
            ctx,
            range,
            &self.out.map(|v| offset_limb(i64::from(v), 32)),
            32,
        );
        let x_offset = Constant(pow2(31));
        for l in 0..LANES {
            let xl = gate.sub(ctx, pre.lo[l], x_offset);
            let xh = gate.sub(ctx, pre.hi[l], x_offset);
            // General case: sum + (c1 - k)·x_lo + (n - k - c2)·x_hi.
            let low_copies = gate.sub(ctx, pre.c1[l], k);
            let high_copies = gate.sub(ctx, n_minus_k, pre.c2[l]);
            let s = gate.mul_add(ctx, low_copies, xl, pre.sum[l]);
            let s = gate.mul_add(ctx, high_copies, xh, s);
            // lo = hi: every kept value is x_lo.
            let equal = gate.is_equal(ctx, pre.lo[l], pre.hi[l]);
            let flat = gate.mul(ctx, m, xl);
            let s = gate.select(ctx, flat, s, equal);
            // 2s + m = out·2m + r, 0 <= r < 2m.
            let r = ctx.load_witness(remainders[l]);
            range.range_check(ctx, r, 9);
            let slack = gate.sub(ctx, two_m_minus_one, r);
            range.range_check(ctx, slack, 9);
            let out = gate.sub(ctx, uo[l], x_offset);
            let lhs = gate.mul_add(ctx, s, Constant(Fr::from(2u64)), m);
            let rhs = gate.mul_add(ctx, out, two_m, r);
            ctx.constrain_equal(&lhs, &rhs);
        }
        let mut instances = vec![n, k];
        instances.extend(pre.instances(ctx, range));
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
