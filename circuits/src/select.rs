//! The distance family's step circuits (step-vm's `kinds::distance` and `kinds::select`):
//! `Distance`, `ScoreRank`, `ScoreSum`, `Pick`. Their averaging steps (`SelectAccumulate`,
//! `SelectFinalize`) are proven by the `Accumulate` and `Finalize` circuits.
//!
//! Wide values (distances `< 2^92`, thresholds, scores `< 2^100`, the masked value
//! `2^104 - 1`) are **slots**: unsigned integers range-checked to 104 bits, exposed two to a
//! public input as `a·2^104 + b` (a lone last slot as itself), exactly step-vm's `pack_slots`.
//! Every slot is range-checked where it enters (a witness) or is bounded by construction (a
//! computed post value, range-checked where it could leave its width), so the packing is
//! injective and every field equation below is an integer one (all magnitudes below `2^110`).
//!
//! | kind | relation per lane | public inputs |
//! |---|---|---|
//! | `Distance` | `acc' = acc + Σ_l (xa_l - xb_l)²` (one slot, 32 lanes summed) | `xa` (5), `xb` (5), `(acc, acc')` |
//! | `ScoreRank` | `c' = c + [v < p + B]`; if `L`: `p' = p + B·[c' <= R]`, `c' = 0` | `B = 2^b`, `L`, `R`, `v` (4), pre (12), post (12) |
//! | `ScoreSum` | `c' = c + [v < t]`, `s' = s + v·[v < t]`; `score = s' + (R + 1 - c')·t` | `R`, `v` (4), pre (12), post (12), scores (4) |
//! | `Pick` | lanes in order: `v < (found = 0 ? 2^104-1 : best)` ⇒ `best = v`, `found = base + l + 1` | `base`, `(best, found)`, `v` (4), `(best', found')` |
//!
//! The scoring register is 8 lanes × (prefix `p` / threshold `t`, count `c`, sum `s`); its
//! honest widths are checked on loading: `p < 2^92` (so `p + B < 2^93`), `c < 2^9`,
//! `s < 2^104`.

use halo2_base::AssignedValue;
use halo2_base::Context;
use halo2_base::QuantumCell::Constant;
use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use halo2_base::gates::{GateInstructions, RangeChip, RangeInstructions};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::halo2_proofs::halo2curves::ff::PrimeField;
use step_vm::{
    LANES, PickRegister, SCORE_LANES, SCORE_PASSES, SLOT_MAX, ScoreRegister, StepKind, StepReads,
    StepWitness, VALUE_PACK, ValueLeaf, block_scores, distance_step, pick_step, score_rank_step,
    score_sum_step, slot_value,
};

use crate::gadgets::{load_limbs, offset_limb, pack, pow2};
use crate::prover::{StepCircuit, unsat, wrong_kind};
use crate::{CircuitError, Result};

/// Bits of a slot.
const SLOT_BITS: u32 = 104;
/// Bits of an honest threshold prefix (a distance: `D < 2^92`).
const PREFIX_BITS: u32 = SCORE_PASSES as u32;
/// Bits of an honest count (at most 255 entries) or pick index (at most 256).
const COUNT_BITS: u32 = 9;

/// A slot claimed by the witness that differs from the one the step computes.
fn slot_mismatch(
    kind: StepKind,
    register: &'static str,
    lane: usize,
    claimed: u128,
    computed: u128,
) -> CircuitError {
    unsat(
        kind,
        format!("{register} lane {lane} is claimed as {claimed}, the step computes {computed}"),
    )
}

/// Compares slot lanes, naming the first that differs.
fn slots_match(
    kind: StepKind,
    register: &'static str,
    claimed: &[u128],
    computed: &[u128],
) -> Result<()> {
    match claimed.iter().zip(computed).position(|(a, b)| a != b) {
        None => Ok(()),
        Some(l) => Err(slot_mismatch(kind, register, l, claimed[l], computed[l])),
    }
}

/// `v < 2^bits`, or the witness cannot be carried.
fn within(kind: StepKind, what: &str, v: u128, bits: u32) -> Result<()> {
    if v >> bits == 0 {
        Ok(())
    } else {
        Err(unsat(kind, format!("{what} = {v} is not below 2^{bits}")))
    }
}

/// Loads `v` and range-checks it to `bits`.
fn load_wide(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    v: u128,
    bits: u32,
) -> AssignedValue<Fr> {
    let cell = ctx.load_witness(Fr::from_u128(v));
    range.range_check(ctx, cell, bits as usize);
    cell
}

/// Slots two to an instance, `a·2^104 + b` (a lone last slot as itself): step-vm's
/// `pack_slots`.
fn pack_slots(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    slots: &[AssignedValue<Fr>],
) -> Vec<AssignedValue<Fr>> {
    slots
        .chunks(2)
        .map(|pair| match pair {
            &[a, b] => range.gate().mul_add(ctx, a, Constant(pow2(SLOT_BITS)), b),
            _ => pair[0],
        })
        .collect()
}

/// The value leaf as offset limbs `x + 2^31` (range-checked to 32 bits).
fn load_values(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    x: &ValueLeaf,
) -> Vec<AssignedValue<Fr>> {
    load_limbs(ctx, range, &x.map(|v| offset_limb(i64::from(v), 32)), 32)
}

/// The slot a distance-phase register holds (two words).
fn distance_slot(kind: StepKind, state: &step_vm::State) -> Result<u128> {
    match state.register.as_slice() {
        &[hi, lo] => Ok(slot_value(hi, lo)),
        other => Err(unsat(
            kind,
            format!("the register has {} words, a distance slot 2", other.len()),
        )),
    }
}

// ------------------------------------------------------------------------------- Distance

/// Cell values of a `Distance` step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistanceAssignment {
    /// Participant `a`'s leaf.
    pub xa: ValueLeaf,
    /// Participant `b`'s leaf.
    pub xb: ValueLeaf,
    /// The running sum before the step.
    pub acc: u128,
}

impl DistanceAssignment {
    /// `acc + Σ (xa - xb)²`, exact.
    fn acc_out(&self) -> u128 {
        distance_step(self.acc, &self.xa, &self.xb)
    }
}

impl StepCircuit for DistanceAssignment {
    const KIND: StepKind = StepKind::Distance;

    fn of_witness(witness: &StepWitness) -> Result<Self> {
        let StepReads::Distance(reads) = &witness.reads else {
            return Err(wrong_kind(Self::KIND, witness));
        };
        let a = Self {
            xa: reads.a.values(),
            xb: reads.b.values(),
            acc: distance_slot(Self::KIND, &witness.pre)?,
        };
        within(Self::KIND, "acc", a.acc, SLOT_BITS)?;
        // Each square is below 2^64, so the exact sum of 32 is below 2^69 and cannot wrap
        // from a slot below 2^104 unless it leaves the slot.
        let out = a.acc_out();
        within(Self::KIND, "acc'", out, SLOT_BITS)?;
        slots_match(Self::KIND, "acc'", &[reads.acc_out], &[out])?;
        Ok(a)
    }

    fn dummy() -> Self {
        Self {
            xa: [0; LANES],
            xb: [0; LANES],
            acc: 0,
        }
    }

    fn synthesize(&self, builder: &mut BaseCircuitBuilder<Fr>, range: &RangeChip<Fr>) {
        let ctx = builder.main(0);
        let gate = range.gate();
        let ua = load_values(ctx, range, &self.xa);
        let ub = load_values(ctx, range, &self.xb);
        let acc = load_wide(ctx, range, self.acc, SLOT_BITS);
        let acc_out = load_wide(ctx, range, self.acc_out(), SLOT_BITS);
        // The offsets cancel: xa - xb = ua - ub.
        let mut total = acc;
        for (&a, &b) in ua.iter().zip(&ub) {
            let d = gate.sub(ctx, a, b);
            total = gate.mul_add(ctx, d, d, total);
        }
        ctx.constrain_equal(&total, &acc_out);
        let mut instances = pack(ctx, range, &ua, VALUE_PACK.bits, VALUE_PACK.per_instance);
        instances.extend(pack(
            ctx,
            range,
            &ub,
            VALUE_PACK.bits,
            VALUE_PACK.per_instance,
        ));
        instances.extend(pack_slots(ctx, range, &[acc, acc_out]));
        builder.assigned_instances = vec![instances];
    }
}

// ------------------------------------------------------------------------ scoring register

/// Checks the widths the circuits carry a scoring register with.
fn check_score_register(kind: StepKind, reg: &ScoreRegister) -> Result<()> {
    for l in 0..SCORE_LANES {
        within(
            kind,
            &format!("lane {l} prefix"),
            reg.prefix[l],
            PREFIX_BITS,
        )?;
        within(kind, &format!("lane {l} count"), reg.count[l], COUNT_BITS)?;
        within(kind, &format!("lane {l} sum"), reg.sum[l], SLOT_BITS)?;
    }
    Ok(())
}

fn score_register(kind: StepKind, state: &step_vm::State) -> Result<ScoreRegister> {
    ScoreRegister::of(&state.register).map_err(|source| CircuitError::BadWitness {
        kind: kind.name(),
        source,
    })
}

fn register_slots(reg: &ScoreRegister) -> Vec<u128> {
    reg.prefix
        .iter()
        .chain(&reg.count)
        .chain(&reg.sum)
        .copied()
        .collect()
}

/// A scoring register's cells, by field.
struct ScoreCells {
    prefix: Vec<AssignedValue<Fr>>,
    count: Vec<AssignedValue<Fr>>,
    sum: Vec<AssignedValue<Fr>>,
}

impl ScoreCells {
    fn load(ctx: &mut Context<Fr>, range: &RangeChip<Fr>, reg: &ScoreRegister) -> Self {
        let mut field = |values: &[u128; SCORE_LANES], bits| -> Vec<AssignedValue<Fr>> {
            values
                .iter()
                .map(|&v| load_wide(ctx, range, v, bits))
                .collect()
        };
        Self {
            prefix: field(&reg.prefix, PREFIX_BITS),
            count: field(&reg.count, COUNT_BITS),
            sum: field(&reg.sum, SLOT_BITS),
        }
    }

    fn instances(&self, ctx: &mut Context<Fr>, range: &RangeChip<Fr>) -> Vec<AssignedValue<Fr>> {
        let slots: Vec<_> = [&self.prefix, &self.count, &self.sum]
            .into_iter()
            .flatten()
            .copied()
            .collect();
        pack_slots(ctx, range, &slots)
    }
}

/// Loads the column's 8 entries (slots).
fn load_entries(
    ctx: &mut Context<Fr>,
    range: &RangeChip<Fr>,
    v: &[u128; SCORE_LANES],
) -> Vec<AssignedValue<Fr>> {
    v.iter()
        .map(|&x| load_wide(ctx, range, x, SLOT_BITS))
        .collect()
}

// ------------------------------------------------------------------------------ ScoreRank

/// Cell values of a `ScoreRank` step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScoreRankAssignment {
    /// The pass's bit `b` (the probe is `2^b`).
    pub bit: u32,
    /// Whether the pass's decision is applied.
    pub last: bool,
    /// The rank `m_r`.
    pub rank: u128,
    /// The column's entries (masked).
    pub v: [u128; SCORE_LANES],
    /// The pre-state register.
    pub pre: ScoreRegister,
}

impl StepCircuit for ScoreRankAssignment {
    const KIND: StepKind = StepKind::ScoreRank;

    fn of_witness(witness: &StepWitness) -> Result<Self> {
        let StepReads::ScoreRank(reads) = &witness.reads else {
            return Err(wrong_kind(Self::KIND, witness));
        };
        let pre = score_register(Self::KIND, &witness.pre)?;
        check_score_register(Self::KIND, &pre)?;
        if reads.bit >= PREFIX_BITS || reads.rank > 255 {
            return Err(unsat(
                Self::KIND,
                format!("bit {} or rank {} out of range", reads.bit, reads.rank),
            ));
        }
        let v = reads.entries();
        let computed = score_rank_step(&pre, &v, reads.bit, reads.last, reads.rank);
        let claimed = score_register(Self::KIND, &witness.post)?;
        slots_match(
            Self::KIND,
            "register'",
            &register_slots(&claimed),
            &register_slots(&computed),
        )?;
        Ok(Self {
            bit: reads.bit,
            last: reads.last,
            rank: reads.rank,
            v,
            pre,
        })
    }

    fn dummy() -> Self {
        Self {
            bit: 0,
            last: false,
            rank: 0,
            v: [0; SCORE_LANES],
            pre: ScoreRegister::default(),
        }
    }

    fn synthesize(&self, builder: &mut BaseCircuitBuilder<Fr>, range: &RangeChip<Fr>) {
        let ctx = builder.main(0);
        let gate = range.gate();
        let probe = load_wide(ctx, range, 1u128 << self.bit, PREFIX_BITS);
        let last = ctx.load_witness(Fr::from(u64::from(self.last)));
        gate.assert_bit(ctx, last);
        let rank = load_wide(ctx, range, self.rank, 8);
        let v = load_entries(ctx, range, &self.v);
        let pre = ScoreCells::load(ctx, range, &self.pre);
        let mut post = ScoreCells {
            prefix: Vec::new(),
            count: Vec::new(),
            sum: pre.sum.clone(),
        };
        for (l, &vl) in v.iter().enumerate() {
            // [v < p + B]: v < 2^104, p + B < 2^93.
            let threshold = gate.add(ctx, pre.prefix[l], probe);
            let below = range.is_less_than(ctx, vl, threshold, SLOT_BITS as usize);
            let counted = gate.add(ctx, pre.count[l], below);
            // [counted <= R] = 1 - [R < counted] (both below 2^10).
            let over = range.is_less_than(ctx, rank, counted, 10);
            let set = gate.not(ctx, over);
            let step = gate.mul(ctx, set, last);
            post.prefix
                .push(gate.mul_add(ctx, step, probe, pre.prefix[l]));
            post.count.push(gate.mul_not(ctx, last, counted));
        }
        let mut instances = vec![probe, last, rank];
        instances.extend(pack_slots(ctx, range, &v));
        instances.extend(pre.instances(ctx, range));
        instances.extend(post.instances(ctx, range));
        builder.assigned_instances = vec![instances];
    }
}

// ------------------------------------------------------------------------------- ScoreSum

/// Cell values of a `ScoreSum` step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScoreSumAssignment {
    /// The rank `m_r`.
    pub rank: u128,
    /// The column's entries (masked).
    pub v: [u128; SCORE_LANES],
    /// The pre-state register (prefix = the threshold).
    pub pre: ScoreRegister,
}

impl StepCircuit for ScoreSumAssignment {
    const KIND: StepKind = StepKind::ScoreSum;

    fn of_witness(witness: &StepWitness) -> Result<Self> {
        let StepReads::ScoreSum(reads) = &witness.reads else {
            return Err(wrong_kind(Self::KIND, witness));
        };
        let pre = score_register(Self::KIND, &witness.pre)?;
        check_score_register(Self::KIND, &pre)?;
        if reads.rank > 255 {
            return Err(unsat(
                Self::KIND,
                format!("rank {} out of range", reads.rank),
            ));
        }
        let v = reads.entries();
        let computed = score_sum_step(&pre, &v);
        slots_match(
            Self::KIND,
            "register'",
            &register_slots(&reads.out),
            &register_slots(&computed),
        )?;
        for l in 0..SCORE_LANES {
            within(
                Self::KIND,
                &format!("lane {l} sum'"),
                computed.sum[l],
                SLOT_BITS,
            )?;
            if computed.count[l] > reads.rank + 1 {
                return Err(unsat(
                    Self::KIND,
                    format!(
                        "lane {l}: {} entries below the threshold, rank {}",
                        computed.count[l], reads.rank
                    ),
                ));
            }
        }
        for (l, &s) in block_scores(&computed, reads.rank).iter().enumerate() {
            within(Self::KIND, &format!("lane {l} score"), s, SLOT_BITS)?;
        }
        if !reads.last {
            let claimed = score_register(Self::KIND, &witness.post)?;
            slots_match(
                Self::KIND,
                "register'",
                &register_slots(&claimed),
                &register_slots(&computed),
            )?;
        }
        Ok(Self {
            rank: reads.rank,
            v,
            pre,
        })
    }

    fn dummy() -> Self {
        Self {
            rank: 0,
            v: [0; SCORE_LANES],
            pre: ScoreRegister::default(),
        }
    }

    fn synthesize(&self, builder: &mut BaseCircuitBuilder<Fr>, range: &RangeChip<Fr>) {
        let ctx = builder.main(0);
        let gate = range.gate();
        let rank = load_wide(ctx, range, self.rank, 8);
        let rank_plus_one = gate.add(ctx, rank, Constant(Fr::from(1u64)));
        let v = load_entries(ctx, range, &self.v);
        let pre = ScoreCells::load(ctx, range, &self.pre);
        let mut post = ScoreCells {
            prefix: pre.prefix.clone(),
            count: Vec::new(),
            sum: Vec::new(),
        };
        let mut scores = Vec::with_capacity(SCORE_LANES);
        for (l, &vl) in v.iter().enumerate() {
            let below = range.is_less_than(ctx, vl, pre.prefix[l], SLOT_BITS as usize);
            let count = gate.add(ctx, pre.count[l], below);
            let sum = gate.mul_add(ctx, below, vl, pre.sum[l]);
            // The sum stays a slot (below 2^100 for every honest row).
            range.range_check(ctx, sum, SLOT_BITS as usize);
            // score = sum + (R + 1 - count)·t, with count <= R + 1 and the score a slot.
            let missing = gate.sub(ctx, rank_plus_one, count);
            range.range_check(ctx, missing, COUNT_BITS as usize);
            let score = gate.mul_add(ctx, missing, pre.prefix[l], sum);
            range.range_check(ctx, score, SLOT_BITS as usize);
            post.count.push(count);
            post.sum.push(sum);
            scores.push(score);
        }
        let mut instances = vec![rank];
        instances.extend(pack_slots(ctx, range, &v));
        instances.extend(pre.instances(ctx, range));
        instances.extend(post.instances(ctx, range));
        instances.extend(pack_slots(ctx, range, &scores));
        builder.assigned_instances = vec![instances];
    }
}

// ----------------------------------------------------------------------------------- Pick

/// Cell values of a `Pick` step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickAssignment {
    /// The block `b` (its first participant is `8b`).
    pub block: usize,
    /// The block's masked scores.
    pub v: [u128; SCORE_LANES],
    /// The pre-state register.
    pub pre: PickRegister,
}

impl StepCircuit for PickAssignment {
    const KIND: StepKind = StepKind::Pick;

    fn of_witness(witness: &StepWitness) -> Result<Self> {
        let StepReads::Pick(reads) = &witness.reads else {
            return Err(wrong_kind(Self::KIND, witness));
        };
        let pre =
            PickRegister::of(&witness.pre.register).map_err(|source| CircuitError::BadWitness {
                kind: Self::KIND.name(),
                source,
            })?;
        within(Self::KIND, "best", pre.best, SLOT_BITS)?;
        within(Self::KIND, "found", pre.found, COUNT_BITS)?;
        let block = reads.read.block;
        if block * SCORE_LANES >= 256 {
            return Err(unsat(Self::KIND, format!("block {block} out of range")));
        }
        let v = reads.masked(reads.n);
        let computed = pick_step(pre, &v, block);
        slots_match(
            Self::KIND,
            "(best', found')",
            &[reads.out.best, reads.out.found],
            &[computed.best, computed.found],
        )?;
        Ok(Self { block, v, pre })
    }

    fn dummy() -> Self {
        Self {
            block: 0,
            v: [0; SCORE_LANES],
            pre: PickRegister::default(),
        }
    }

    fn synthesize(&self, builder: &mut BaseCircuitBuilder<Fr>, range: &RangeChip<Fr>) {
        let ctx = builder.main(0);
        let gate = range.gate();
        let base = load_wide(ctx, range, (self.block * SCORE_LANES) as u128, 8);
        let best_in = load_wide(ctx, range, self.pre.best, SLOT_BITS);
        let found_in = load_wide(ctx, range, self.pre.found, COUNT_BITS);
        let v = load_entries(ctx, range, &self.v);
        let (mut best, mut found) = (best_in, found_in);
        let max = Constant(Fr::from_u128(SLOT_MAX));
        for (l, &vl) in v.iter().enumerate() {
            // The bar: the best so far, or 2^104 - 1 before any (both below 2^104).
            let none = gate.is_zero(ctx, found);
            let bar = gate.select(ctx, max, best, none);
            let take = range.is_less_than(ctx, vl, bar, SLOT_BITS as usize);
            best = gate.select(ctx, vl, best, take);
            let index = gate.add(ctx, base, Constant(Fr::from(l as u64 + 1)));
            found = gate.select(ctx, index, found, take);
        }
        let mut instances = vec![base];
        instances.extend(pack_slots(ctx, range, &[best_in, found_in]));
        instances.extend(pack_slots(ctx, range, &v));
        instances.extend(pack_slots(ctx, range, &[best, found]));
        builder.assigned_instances = vec![instances];
    }
}
