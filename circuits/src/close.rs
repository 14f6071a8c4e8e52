//! Bulyan's trim circuits (step-vm's `kinds::close`): `CloseRank`, `CloseSum`, `CloseEmit`.
//! (`SelectRank` is proven by the `Rank` circuit over the substituted values.)
//!
//! The register is the order-statistic one (5 fields × 32 lanes, `Offset40` limbs, 27 public
//! inputs), with the close phase's fields and widths, range-checked on loading:
//!
//! | field | holds | checked to |
//! |---|---|---|
//! | `lo`, `hi` | the median bounds' offset values | `[0, 2^33)` |
//! | `c1` | the closeness prefix `r` (`e < 2^33`, so `r + 2^b < 2^34`) | `[0, 2^34)` |
//! | `c2` | `CloseRank`: the count; `CloseSum`: `c_lt + 256·c_below` | `[0, 2^16)` |
//! | `sum` | the sum of the values closer than `r` | limb in `[0, 2^40)` |
//!
//! `e = |2u − lo − hi|` is computed from its sign (`[2u < lo + hi]`, both below 2^34).
//!
//! | kind | relation per lane | public inputs |
//! |---|---|---|
//! | `CloseRank` | `c' = c + F·[e < r + B]`; if `L`: `r' = r + B·[c' <= R]`, `c' = 0` | `B = 2^b`, `L`, `R = β − 1`, `F` (the pick flag), `x` (5), pre (27), post (27) |
//! | `CloseSum` | `c' = c + F·([e < r] + 256·[e = r]·[2u < lo + hi])`, `sum' = sum + F·[e < r]·x` | `F`, `x` (5), pre (27), post (27) |
//! | `CloseEmit` | `c = lt + 256·below`, `need = β − lt >= 1`, `take = min(below, need)`, `2s = 2·sum + take·(M − r) + (need − take)·(M + r)`, `2s + β = out·2β + rem`, `0 <= rem < 2β` | `β`, pre (27), `out` (5) |
//!
//! with `M = x_lo + x_hi`. Every magnitude stays below 2^50.

use halo2_base::QuantumCell::Constant;
use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use halo2_base::gates::{GateInstructions, RangeChip, RangeInstructions};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use step_vm::{
    CLOSE_PASSES, COUNT_BASE, LANES, STAT_PACK, StatRegister, StepKind, StepReads, StepWitness,
    VALUE_PACK, ValueLeaf, close_emit, close_rank_step, close_sum_step, close_sum_twice,
};

use crate::Result;
use crate::gadgets::{load_limbs, offset_limb, pack, pow2, signed_fr};
use crate::order::{
    RegisterCells, check_register_widths, claimed_register, load_values, register_mismatch,
};
use crate::prover::{StepCircuit, first_mismatch, unsat, wrong_kind};

/// The close phase's field widths: `lo`, `hi`, `r`, the count(s).
const CLOSE_WIDTHS: [u32; 4] = [33, 33, 34, 16];

/// The register of a witness state in the close phase's widths.
fn close_register(kind: StepKind, state: &step_vm::State) -> Result<StatRegister> {
    let reg = claimed_register(kind, state)?;
    check_register_widths(kind, &reg, CLOSE_WIDTHS)?;
    Ok(reg)
}

/// Per lane `(e, [2u < lo + hi])` of the values `u` against the pre-register's bounds.
fn closeness_cells(
    ctx: &mut halo2_base::Context<Fr>,
    range: &RangeChip<Fr>,
    u: &[halo2_base::AssignedValue<Fr>],
    pre: &RegisterCells,
) -> Vec<(halo2_base::AssignedValue<Fr>, halo2_base::AssignedValue<Fr>)> {
    let gate = range.gate();
    u.iter()
        .enumerate()
        .map(|(l, &ul)| {
            let twice = gate.add(ctx, ul, ul);
            let m = gate.add(ctx, pre.lo[l], pre.hi[l]);
            // Both below 2^34.
            let below = range.is_less_than(ctx, twice, m, 35);
            let up = gate.sub(ctx, twice, m);
            let down = gate.sub(ctx, m, twice);
            (gate.select(ctx, down, up, below), below)
        })
        .collect()
}

// ------------------------------------------------------------------------------ CloseRank

/// Cell values of a `CloseRank` step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseRankAssignment {
    /// The pass (bit `32 − pass`).
    pub pass: usize,
    /// Whether the pass's decision is applied.
    pub last: bool,
    /// `β − 1`.
    pub rank: u32,
    /// Whether the participant is picked.
    pub flag: bool,
    /// The participant's value leaf.
    pub x: ValueLeaf,
    /// The pre-state register.
    pub pre: StatRegister,
}

impl StepCircuit for CloseRankAssignment {
    const KIND: StepKind = StepKind::CloseRank;

    fn of_witness(witness: &StepWitness) -> Result<Self> {
        let StepReads::CloseRank(reads) = &witness.reads else {
            return Err(wrong_kind(Self::KIND, witness));
        };
        if reads.pass >= CLOSE_PASSES || reads.ranks.0 > 254 {
            return Err(unsat(
                Self::KIND,
                format!("pass {} or rank {} out of range", reads.pass, reads.ranks.0),
            ));
        }
        let pre = close_register(Self::KIND, &witness.pre)?;
        let post = claimed_register(Self::KIND, &witness.post)?;
        let x = reads.read.values();
        let computed = close_rank_step(
            &pre,
            &x,
            reads.picked(),
            reads.pass,
            reads.last,
            reads.ranks.0,
        );
        register_mismatch(Self::KIND, &post, &computed)?;
        Ok(Self {
            pass: reads.pass,
            last: reads.last,
            rank: reads.ranks.0,
            flag: reads.picked(),
            x,
            pre,
        })
    }

    fn dummy() -> Self {
        Self {
            pass: 0,
            last: false,
            rank: 0,
            flag: false,
            x: [0; LANES],
            pre: StatRegister::default(),
        }
    }

    fn synthesize(&self, builder: &mut BaseCircuitBuilder<Fr>, range: &RangeChip<Fr>) {
        let ctx = builder.main(0);
        let gate = range.gate();
        let bit = ctx.load_witness(Fr::from(1u64 << (CLOSE_PASSES - 1 - self.pass)));
        range.range_check(ctx, bit, 33);
        let last = ctx.load_witness(Fr::from(u64::from(self.last)));
        gate.assert_bit(ctx, last);
        let rank = ctx.load_witness(Fr::from(u64::from(self.rank)));
        range.range_check(ctx, rank, 8);
        let flag = ctx.load_witness(Fr::from(u64::from(self.flag)));
        gate.assert_bit(ctx, flag);
        let u = load_values(ctx, range, &self.x);
        let pre = RegisterCells::load_widths(ctx, range, &self.pre, CLOSE_WIDTHS);
        let e = closeness_cells(ctx, range, &u, &pre);
        let mut post = RegisterCells {
            lo: pre.lo.clone(),
            hi: pre.hi.clone(),
            c1: Vec::new(),
            c2: Vec::new(),
            sum: pre.sum.clone(),
        };
        for (l, &(el, _)) in e.iter().enumerate() {
            // [e < r + B]: e < 2^34, r + B < 2^35.
            let threshold = gate.add(ctx, pre.c1[l], bit);
            let below = range.is_less_than(ctx, el, threshold, 35);
            let counted = gate.mul_add(ctx, flag, below, pre.c2[l]);
            // [counted <= R] = 1 - [R < counted] (both below 2^16).
            let over = range.is_less_than(ctx, rank, counted, 17);
            let set = gate.not(ctx, over);
            let step = gate.mul(ctx, set, last);
            post.c1.push(gate.mul_add(ctx, step, bit, pre.c1[l]));
            post.c2.push(gate.mul_not(ctx, last, counted));
        }
        let instances = RegisterCells::read_step_instances(
            ctx,
            range,
            vec![bit, last, rank, flag],
            &u,
            &pre,
            &post,
        );
        builder.assigned_instances = vec![instances];
    }
}

// ------------------------------------------------------------------------------- CloseSum

/// Cell values of a `CloseSum` step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseSumAssignment {
    /// Whether the participant is picked.
    pub flag: bool,
    /// The participant's value leaf.
    pub x: ValueLeaf,
    /// The pre-state register.
    pub pre: StatRegister,
}

impl StepCircuit for CloseSumAssignment {
    const KIND: StepKind = StepKind::CloseSum;

    fn of_witness(witness: &StepWitness) -> Result<Self> {
        let StepReads::CloseSum(reads) = &witness.reads else {
            return Err(wrong_kind(Self::KIND, witness));
        };
        let pre = close_register(Self::KIND, &witness.pre)?;
        let post = claimed_register(Self::KIND, &witness.post)?;
        let x = reads.read.values();
        let computed = close_sum_step(&pre, &x, reads.picked());
        check_register_widths(Self::KIND, &computed, CLOSE_WIDTHS)?;
        register_mismatch(Self::KIND, &post, &computed)?;
        Ok(Self {
            flag: reads.picked(),
            x,
            pre,
        })
    }

    fn dummy() -> Self {
        Self {
            flag: false,
            x: [0; LANES],
            pre: StatRegister::default(),
        }
    }

    fn synthesize(&self, builder: &mut BaseCircuitBuilder<Fr>, range: &RangeChip<Fr>) {
        let ctx = builder.main(0);
        let gate = range.gate();
        let flag = ctx.load_witness(Fr::from(u64::from(self.flag)));
        gate.assert_bit(ctx, flag);
        let u = load_values(ctx, range, &self.x);
        let pre = RegisterCells::load_widths(ctx, range, &self.pre, CLOSE_WIDTHS);
        let e = closeness_cells(ctx, range, &u, &pre);
        let mut post = RegisterCells {
            lo: pre.lo.clone(),
            hi: pre.hi.clone(),
            c1: pre.c1.clone(),
            c2: Vec::new(),
            sum: Vec::new(),
        };
        let x_offset = Constant(pow2(31));
        for (l, &(el, below_median)) in e.iter().enumerate() {
            let lt = range.is_less_than(ctx, el, pre.c1[l], 35);
            let eq = gate.is_equal(ctx, el, pre.c1[l]);
            let at_below = gate.mul(ctx, eq, below_median);
            let add = gate.mul_add(ctx, at_below, Constant(Fr::from(COUNT_BASE as u64)), lt);
            let counts = gate.mul_add(ctx, flag, add, pre.c2[l]);
            range.range_check(ctx, counts, 16);
            let taken = gate.mul(ctx, flag, lt);
            let x = gate.sub(ctx, u[l], x_offset);
            let sum = gate.mul_add(ctx, taken, x, pre.sum[l]);
            let limb = gate.add(ctx, sum, Constant(pow2(STAT_PACK.bits - 1)));
            range.range_check(ctx, limb, STAT_PACK.bits as usize);
            post.c2.push(counts);
            post.sum.push(sum);
        }
        let instances = RegisterCells::read_step_instances(ctx, range, vec![flag], &u, &pre, &post);
        builder.assigned_instances = vec![instances];
    }
}

// ------------------------------------------------------------------------------ CloseEmit

/// Cell values of a `CloseEmit` step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseEmitAssignment {
    /// `β`.
    pub beta: u32,
    /// The pre-state register (after the sum pass).
    pub pre: StatRegister,
    /// The output leaf written.
    pub out: ValueLeaf,
}

impl StepCircuit for CloseEmitAssignment {
    const KIND: StepKind = StepKind::CloseEmit;

    fn of_witness(witness: &StepWitness) -> Result<Self> {
        let StepReads::CloseEmit(reads) = &witness.reads else {
            return Err(wrong_kind(Self::KIND, witness));
        };
        if reads.beta == 0 || reads.beta > 255 {
            return Err(unsat(
                Self::KIND,
                format!("beta = {} outside 1..=255", reads.beta),
            ));
        }
        let pre = close_register(Self::KIND, &witness.pre)?;
        for l in 0..LANES {
            let lt = pre.c2[l] % COUNT_BASE;
            if lt >= i64::from(reads.beta) {
                return Err(unsat(
                    Self::KIND,
                    format!("lane {l}: {lt} values closer than r, beta = {}", reads.beta),
                ));
            }
        }
        let computed =
            close_emit(&pre, reads.beta).map_err(|e| unsat(Self::KIND, e.to_string()))?;
        first_mismatch(Self::KIND, "out", &reads.out, &computed)?;
        Ok(Self {
            beta: reads.beta,
            pre,
            out: reads.out,
        })
    }

    fn dummy() -> Self {
        Self {
            beta: 1,
            pre: StatRegister::default(),
            out: [i32::MIN; LANES],
        }
    }

    fn synthesize(&self, builder: &mut BaseCircuitBuilder<Fr>, range: &RangeChip<Fr>) {
        let beta = i128::from(self.beta);
        let ctx = builder.main(0);
        let gate = range.gate();
        let b = ctx.load_witness(Fr::from(u64::from(self.beta)));
        let b_minus_one = gate.sub(ctx, b, Constant(Fr::from(1u64)));
        range.range_check(ctx, b_minus_one, 8);
        let two_b = gate.add(ctx, b, b);
        let two_b_minus_one = gate.sub(ctx, two_b, Constant(Fr::from(1u64)));
        let pre = RegisterCells::load_widths(ctx, range, &self.pre, CLOSE_WIDTHS);
        let uo = load_limbs(
            ctx,
            range,
            &self.out.map(|v| offset_limb(i64::from(v), 32)),
            32,
        );
        let x_offset = Constant(pow2(31));
        for (l, &ul) in uo.iter().enumerate() {
            // c2 = lt + 256·below, both bytes.
            let lt_value = self.pre.c2[l].rem_euclid(COUNT_BASE);
            let lt = ctx.load_witness(Fr::from(lt_value as u64));
            range.range_check(ctx, lt, 8);
            let below = ctx.load_witness(Fr::from(
                (self.pre.c2[l].div_euclid(COUNT_BASE)).max(0) as u64
            ));
            range.range_check(ctx, below, 8);
            let recombined = gate.mul_add(ctx, below, Constant(Fr::from(COUNT_BASE as u64)), lt);
            ctx.constrain_equal(&recombined, &pre.c2[l]);
            // need = β − lt >= 1.
            let need = gate.sub(ctx, b, lt);
            let need_minus_one = gate.sub(ctx, need, Constant(Fr::from(1u64)));
            range.range_check(ctx, need_minus_one, 8);
            // take = min(below, need).
            let fewer = range.is_less_than(ctx, below, need, 9);
            let take = gate.select(ctx, below, need, fewer);
            let rest = gate.sub(ctx, need, take);
            // M = x_lo + x_hi; 2s = 2·sum + take·(M − r) + rest·(M + r).
            let xl = gate.sub(ctx, pre.lo[l], x_offset);
            let xh = gate.sub(ctx, pre.hi[l], x_offset);
            let m = gate.add(ctx, xl, xh);
            let m_minus = gate.sub(ctx, m, pre.c1[l]);
            let m_plus = gate.add(ctx, m, pre.c1[l]);
            let twice = gate.mul(ctx, pre.sum[l], Constant(Fr::from(2u64)));
            let twice = gate.mul_add(ctx, take, m_minus, twice);
            let twice = gate.mul_add(ctx, rest, m_plus, twice);
            // 2s + β = out·2β + rem, 0 <= rem < 2β.
            let remainder = {
                let s2 = close_sum_twice(&self.pre, l, self.beta);
                signed_fr(s2 + beta - i128::from(self.out[l]) * 2 * beta)
            };
            let rem = ctx.load_witness(remainder);
            range.range_check(ctx, rem, 9);
            let slack = gate.sub(ctx, two_b_minus_one, rem);
            range.range_check(ctx, slack, 9);
            let out = gate.sub(ctx, ul, x_offset);
            let lhs = gate.add(ctx, twice, b);
            let rhs = gate.mul_add(ctx, out, two_b, rem);
            ctx.constrain_equal(&lhs, &rhs);
        }
        let mut instances = vec![b];
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
