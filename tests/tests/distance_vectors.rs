//! The distance family's step vectors (`contracts/test/vectors/{distance, score_rank, score_sum, pick, select_accumulate,
//! select_finalize, select_scale_n*}.json`), replayed by
//! `contracts/test/SelectionLeaves.t.sol`:
//!
//! - **real vectors**: one step of each kind (the heaviest: a row's end) of a Multi-Krum round,
//!   with its real proof; forge checks that the real verifiers accept them and that the
//!   arbiter's post-state is the VM's;
//! - **at-scale leaves**: each kind's heaviest leaf in a round of n = 8, 64, 255 participants
//!   and d = 25,600,000 (ResNet-50), realistic and densest provable content, built from
//!   synthetic memory (the disputed participants' value leaf folded up a random path of the
//!   model's depth, a random distance matrix and selection leaves of the round's shape) and
//!   encoded by the same `leaf_input` the roles use; each carries the post-state the VM's own
//!   check computes, which forge compares with the arbiter's (accepting verifiers stand in for
//!   the real ones there, whose cost the real vectors measure).
//!
//! The at-scale leaves are also written clipped (`clip_select_scale_n*`, `clip_bulyan_scale_n*`):
//! each kind's leaf as a `Clip` step of the clipped rule, its reads' values clipped by scales
//! below 2^32 that open in a scales tree of the round's n leaves (a `Distance` step opens two).
//!
//! Every field but the proofs regenerates bit for bit; the committed proofs verify with the
//! current keys. `UPDATE_VECTORS=1 cargo test -p fl-tests --test distance_vectors` rewrites
//! the files.

use std::path::PathBuf;

use alloy::hex;
use arbiter::LeafProof;
use circuits::StepProof;
use protocol::leaf_input;
use serde_json::{Value, json};
use step_vm::{
    AccLeaf, ClientRead, ClipReads, CloseEmitReads, CompleteTree, Digest, DistanceOpening,
    DistanceReads, FinalizeReads, LANES, Participant, PickReads, PickRegister, RoundConfig,
    RoundContext, Rule, SCORE_LANES, SCORE_PASSES, ScoreReads, ScoreRegister, SelectReads,
    SelectedPlan, Selection, SelectionOpening, StatRegister, State, StepKind, StepReads,
    StepWitness, Trace, TrimReads, UNIT_SCALE, Update, ValueLeaf, distance_leaf_hash, fold_path,
    pair_index, scale_leaf_hash, selection_leaf_hash, slot_words,
};

const SELECTION: Selection = Selection::MultiKrum { f: 1, keep: 2 };
const REAL_DIM: usize = 100;
const SCALE_DIM: usize = 25_600_000;

fn h(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../contracts/test/vectors")
}

/// Writes (with `UPDATE_VECTORS`) or checks one vector file, comparing after `strip`.
fn check_file(name: &str, fresh: &Value, strip: impl Fn(Value) -> Value) -> Value {
    let path = dir().join(format!("{name}.json"));
    if std::env::var_os("UPDATE_VECTORS").is_some() {
        std::fs::create_dir_all(dir()).expect("vector dir");
        std::fs::write(
            &path,
            serde_json::to_string_pretty(fresh).expect("json") + "\n",
        )
        .expect("write vector");
        return fresh.clone();
    }
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; regenerate with UPDATE_VECTORS=1", path.display()));
    let committed: Value = serde_json::from_str(&text).expect("vector is JSON");
    assert_eq!(
        strip(committed.clone()),
        strip(fresh.clone()),
        "{name}: VM and vector disagree"
    );
    committed
}

/// A state as the forge test recomputes it under its own config hash (with the scales root
/// it is wrapped in, under clipping).
fn state(s: &State) -> Value {
    let mut v = json!({
        "step": s.step,
        "registerHash": h(&s.register_hash()),
        "output": h(&s.regions[0]),
        "distance": h(&s.regions[1]),
        "selection": h(&s.regions[2]),
    });
    if let Some(root) = &s.wrap {
        v["wrap"] = json!(h(root));
    }
    v
}

fn round_json(ctx: &RoundContext) -> Value {
    let rule = ctx.config().rule;
    json!({
        "dim": ctx.dim(),
        "rule": rule.id(),
        "params": h(&rule.params()),
        "updateRoots": ctx.participants().iter().map(|p| h(&p.update_root)).collect::<Vec<_>>(),
        "weights": ctx.participants().iter().map(|p| p.weight).collect::<Vec<_>>(),
    })
}

// ------------------------------------------------------------------------- real vectors

/// A round of `n` participants under `selection` (Multi-Krum: 5; Bulyan: 7): ties (the
/// participants from 3 on are equal) and the i32 ends.
fn real_round(selection: Selection, n: i32) -> (RoundContext, Vec<Update>) {
    let updates: Vec<Update> = (0..n)
        .map(|c: i32| {
            Update::from_fixed(
                (0..REAL_DIM as i32)
                    .map(|v| match (v + c.min(3)) % 6 {
                        0 => i32::MIN + v,
                        1 => i32::MAX - c.min(3),
                        _ => (v - 50) * 65_536 / 3 + c.min(3) * 999,
                    })
                    .collect(),
            )
        })
        .collect();
    let participants = updates
        .iter()
        .map(|u| Participant {
            update_root: u.root(),
            weight: 1,
        })
        .collect();
    let config = RoundConfig {
        rule: Rule::Distance(selection),
        ..RoundConfig::fedavg(1, [0; 20], 1, [0; 32], REAL_DIM)
    };
    (
        RoundContext::new(config, participants).expect("valid round"),
        updates,
    )
}

/// The first step of `kind` that ends its row.
fn row_end(ctx: &RoundContext, kind: StepKind) -> u64 {
    (0..ctx.steps())
        .find(|&k| {
            let (pos, next) = (ctx.position(k), ctx.position(k + 1));
            pos.kind == kind && (next.kind != kind || next.row != pos.row)
        })
        .expect("the program has the kind")
}

const KINDS: [StepKind; 6] = [
    StepKind::Distance,
    StepKind::ScoreRank,
    StepKind::ScoreSum,
    StepKind::Pick,
    StepKind::SelectAccumulate,
    StepKind::SelectFinalize,
];

/// Bulyan's trim kinds (its other kinds are Multi-Krum's, measured above).
const TRIM_KINDS: [StepKind; 4] = [
    StepKind::SelectRank,
    StepKind::CloseRank,
    StepKind::CloseSum,
    StepKind::CloseEmit,
];

/// Bulyan's vectors: f = 1, the smallest round 7 participants.
const BULYAN: Selection = Selection::Bulyan { f: 1 };

fn file_name(kind: StepKind) -> String {
    let mut name = String::new();
    for (i, c) in kind.name().chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            name.push('_');
        }
        name.push(c.to_ascii_lowercase());
    }
    name
}

fn without_proof(mut v: Value) -> Value {
    v["proof"] = Value::Null;
    // The encoding ends with the proof bytes.
    v["encoded"] = Value::Null;
    v
}

/// The real proofs of each kind, as committed (or freshly made, when rewriting), made once:
/// proving is randomized, and the at-scale files embed these bytes.
fn real_proofs() -> &'static [(StepKind, Vec<u8>)] {
    static PROOFS: std::sync::OnceLock<Vec<(StepKind, Vec<u8>)>> = std::sync::OnceLock::new();
    PROOFS.get_or_init(make_real_proofs)
}

fn make_real_proofs() -> Vec<(StepKind, Vec<u8>)> {
    let mut proofs = real_proofs_of(SELECTION, 5, &KINDS);
    proofs.extend(real_proofs_of(BULYAN, 7, &TRIM_KINDS));
    proofs
}

fn real_proofs_of(selection: Selection, n: i32, kinds: &[StepKind]) -> Vec<(StepKind, Vec<u8>)> {
    let (ctx, updates) = real_round(selection, n);
    let trace = Trace::execute(ctx.clone(), updates).expect("executes");
    let prover = fl_tests::prover();
    kinds
        .iter()
        .map(|&kind| {
            let step = row_end(&ctx, kind);
            let proof = prover
                .prove(&ctx, &trace, step)
                .expect("honest step proves");
            let w = &proof.witness;
            let mut fresh = round_json(&ctx);
            fresh["kind"] = json!(kind.name());
            fresh["step"] = json!(step);
            fresh["instances"] = json!(
                proof
                    .proof
                    .instances
                    .iter()
                    .map(|i| h(i))
                    .collect::<Vec<_>>()
            );
            fresh["proof"] = json!(h(&proof.proof.proof));
            fresh["encoded"] = json!(h(&leaf_input(&proof).expect("encodes")));
            fresh["pre"] = state(&w.pre);
            fresh["post"] = state(&w.post);
            let committed = check_file(&file_name(kind), &fresh, without_proof);
            let bytes = hex::decode(committed["proof"].as_str().expect("proof")).expect("hex");
            let circuit = kind.circuit().expect("a proven kind");
            fl_tests::prover()
                .for_kind(kind)
                .expect("a prover")
                .verify(&StepProof {
                    kind: circuit,
                    instances: proof.proof.instances.clone(),
                    proof: bytes.clone(),
                })
                .expect("committed proof verifies with the current key");
            (kind, bytes)
        })
        .collect()
}

#[test]
fn real_vectors_are_in_lockstep_with_the_vm_and_the_circuits() {
    assert_eq!(real_proofs().len(), KINDS.len() + TRIM_KINDS.len());
}

// ---------------------------------------------------------------------- at-scale leaves

/// A deterministic xorshift generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A value below 2^bits whose bytes within its width are all nonzero when `dense`, a
    /// uniform one of `bits - 8` bits otherwise.
    fn wide(&mut self, bits: u32, dense: bool) -> u128 {
        let v = (u128::from(self.next()) << 64 | u128::from(self.next())) >> (128 - bits);
        if !dense {
            return v >> 8;
        }
        let mut bytes = v.to_be_bytes();
        for b in bytes.iter_mut().skip(16 - (bits as usize) / 8) {
            *b |= 1;
        }
        u128::from_be_bytes(bytes) & ((1 << bits) - 1)
    }

    fn digest(&mut self) -> Digest {
        let mut d = [0u8; 32];
        for chunk in d.chunks_mut(8) {
            chunk.copy_from_slice(&self.next().to_be_bytes());
        }
        d
    }

    fn path(&mut self, depth: usize) -> Vec<Digest> {
        (0..depth).map(|_| self.digest()).collect()
    }

    /// Q15.16 values in [-2, 2), or (dense) values with no zero byte.
    fn values(&mut self, dense: bool) -> ValueLeaf {
        std::array::from_fn(|_| {
            // Bit patterns reinterpreted: any i32 is a value.
            #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
            let v = self.next() as u32 as i32;
            if dense { v | 0x0101_0101 } else { v >> 14 }
        })
    }
}

/// A synthetic round of `n` participants at `SCALE_DIM`: the disputed participants' (`who`)
/// update roots fold their value leaf `row` up a random path; the others are random.
struct Synthetic {
    ctx: RoundContext,
    plan: SelectedPlan,
    row: usize,
    reads: Vec<(usize, ClientRead)>,
}

fn synthetic(selection: Selection, n: usize, dense: bool, rng: &mut Rng) -> Synthetic {
    let chunks = step_vm::chunk_count(SCALE_DIM);
    let depth = chunks.next_power_of_two().trailing_zeros() as usize;
    let row = chunks - 1;
    let who = [n - 2, n - 1];
    let mut leaves: Vec<(usize, ValueLeaf, Vec<Digest>)> = who
        .iter()
        .map(|&i| (i, rng.values(dense), rng.path(depth)))
        .collect();
    let participants: Vec<Participant> = (0..n)
        .map(|i| Participant {
            update_root: match leaves.iter().find(|l| l.0 == i) {
                Some((_, x, path)) => fold_path(step_vm::value_leaf_hash(x), row as u64, path),
                None => rng.digest(),
            },
            weight: 1,
        })
        .collect();
    let config = RoundConfig {
        rule: Rule::Distance(selection),
        ..RoundConfig::fedavg(1, [0; 20], 1, [0; 32], SCALE_DIM)
    };
    let ctx = RoundContext::new(config, participants).expect("valid round");
    let reads = leaves
        .drain(..)
        .map(|(i, x, value_path)| {
            let p = ctx.participants()[i];
            (
                i,
                ClientRead {
                    participant: i,
                    update_root: p.update_root,
                    weight: p.weight,
                    input_path: ctx.input_tree().proof(i),
                    leaf: row,
                    x,
                    value_path,
                    scale: UNIT_SCALE,
                },
            )
        })
        .collect();
    let plan = SelectedPlan::new(selection, ctx.shape());
    Synthetic {
        ctx,
        plan,
        row,
        reads,
    }
}

/// A random distance matrix's leaves (`n·B`, every lane of a real participant set).
fn matrix(plan: &SelectedPlan, dense: bool, rng: &mut Rng) -> Vec<[u128; SCORE_LANES]> {
    (0..plan.n * plan.blocks)
        .map(|_| std::array::from_fn(|_| rng.wide(92, dense)))
        .collect()
}

fn tree<T>(leaves: &[T], hash: impl Fn(&T) -> Digest) -> CompleteTree {
    CompleteTree::new(&leaves.iter().map(hash).collect::<Vec<_>>())
}

/// Random selection leaves (scores and flags).
fn selection_leaves(
    plan: &SelectedPlan,
    dense: bool,
    rng: &mut Rng,
) -> Vec<([u128; SCORE_LANES], u8)> {
    (0..plan.blocks)
        .map(|_| {
            // Flags with a bit clear in every leaf (some participant unpicked).
            #[allow(clippy::cast_possible_truncation)]
            let flags = (rng.next() as u8) & 0x7e;
            (std::array::from_fn(|_| rng.wide(100, dense)), flags)
        })
        .collect()
}

fn sel_hash(l: &([u128; SCORE_LANES], u8)) -> Digest {
    selection_leaf_hash(&l.0, l.1)
}

fn sel_opening(leaves: &[([u128; SCORE_LANES], u8)], block: usize) -> SelectionOpening {
    SelectionOpening {
        block,
        scores: leaves[block].0,
        flags: leaves[block].1,
        path: tree(leaves, sel_hash).proof(block),
    }
}

fn dist_opening(leaves: &[[u128; SCORE_LANES]], leaf: usize) -> DistanceOpening {
    DistanceOpening {
        leaf: leaf as u64,
        lanes: leaves[leaf],
        path: tree(leaves, distance_leaf_hash).proof(leaf),
    }
}

fn slots_register(values: &[u128]) -> Vec<i64> {
    values.iter().flat_map(|&v| slot_words(v)).collect()
}

/// The heaviest leaf of `kind` in the synthetic round, as a witness whose post-state is the
/// VM's check of it.
fn scale_witness(s: &Synthetic, kind: StepKind, dense: bool, rng: &mut Rng) -> StepWitness {
    let (ctx, plan, n) = (&s.ctx, &s.plan, s.plan.n);
    let c = plan.chunks as u64;
    let b = plan.blocks - 1;
    let read = |i: usize| {
        s.reads
            .iter()
            .find(|r| r.0 == i)
            .expect("a disputed read")
            .1
            .clone()
    };
    let empty_output = step_vm::empty_root(c.next_power_of_two().trailing_zeros() as usize);
    let distances = matrix(plan, dense, rng);
    let selection = selection_leaves(plan, dense, rng);
    let regions = |d: &[[u128; SCORE_LANES]], sel: &[([u128; SCORE_LANES], u8)]| {
        vec![
            empty_output,
            tree(d, distance_leaf_hash).root(),
            tree(sel, sel_hash).root(),
        ]
    };
    let score_reg = |rng: &mut Rng, sums: bool| -> ScoreRegister {
        ScoreRegister {
            prefix: std::array::from_fn(|_| rng.wide(92, dense)),
            count: std::array::from_fn(|_| u128::from(rng.next() % n as u64)),
            sum: std::array::from_fn(|_| if sums { rng.wide(100, dense) } else { 0 }),
        }
    };
    let (step, register, regions, reads) = match kind {
        StepKind::Distance => {
            // The last pair's last chunk: both reads and both matrix writes.
            let (a, bb) = (n - 2, n - 1);
            let step = pair_index(a, bb) * c + c - 1;
            let mut d = distances;
            let (la, lane_a) = step_vm::distance_leaf_index(n, a, bb);
            let (lb, lane_b) = step_vm::distance_leaf_index(n, bb, a);
            d[la as usize][lane_a] = 0;
            d[lb as usize][lane_b] = 0;
            let regions = regions(&d, &selection);
            let acc = rng.wide(92, dense);
            let acc_out = step_vm::distance_step(acc, &read(a).values(), &read(bb).values());
            let first = dist_opening(&d, la as usize);
            d[la as usize][lane_a] = acc_out;
            let second = dist_opening(&d, lb as usize);
            let reads = StepReads::Distance(DistanceReads {
                a: read(a),
                b: read(bb),
                acc_out,
                writes: Some([first, second]),
            });
            (step, slots_register(&[acc]), regions, reads)
        }
        StepKind::ScoreRank | StepKind::ScoreSum => {
            // The last block's last column: a pass's decision, or the scores' write.
            let j = n - 1;
            let pass = if kind == StepKind::ScoreRank {
                SCORE_PASSES - 1
            } else {
                SCORE_PASSES
            };
            let block_start = plan.distance_steps() + (b * (SCORE_PASSES + 1) * n) as u64;
            let step = block_start + (pass * n + j) as u64;
            let pre = score_reg(rng, kind == StepKind::ScoreSum);
            let mut flag = sel_opening(&selection, j / SCORE_LANES);
            // j unpicked: its distances are read.
            flag.flags &= !(1 << (j % SCORE_LANES));
            let mut sel = selection.clone();
            sel[j / SCORE_LANES].1 = flag.flags;
            let flag = sel_opening(&sel, j / SCORE_LANES);
            let reads = ScoreReads {
                j,
                column: dist_opening(&distances, j * plan.blocks + b),
                flag,
                bit: 0,
                last: true,
                rank: plan.rank(0),
                out: step_vm::score_sum_step(&pre, &distances[j * plan.blocks + b]),
                write: (kind == StepKind::ScoreSum).then(|| sel_opening(&sel, b)),
            };
            let reads = if kind == StepKind::ScoreRank {
                StepReads::ScoreRank(reads)
            } else {
                StepReads::ScoreSum(reads)
            };
            (step, pre.words(), regions(&distances, &sel), reads)
        }
        StepKind::Pick => {
            // The last pick's last block, flagging its winner.
            let step = plan.average_start() - 1;
            let pre = PickRegister {
                best: rng.wide(100, dense),
                found: 1,
            };
            let read = sel_opening(&selection, b);
            let reads = PickReads {
                n,
                read: read.clone(),
                last: true,
                out: PickRegister::default(),
                write: None,
            };
            let out = step_vm::pick_step(pre, &reads.masked(n), b);
            let winner = usize::try_from(out.found).expect("small") - 1;
            let reads = PickReads {
                out,
                write: Some(sel_opening(&selection, winner / SCORE_LANES)),
                ..reads
            };
            (
                step,
                pre.words(),
                regions(&distances, &selection),
                StepReads::Pick(reads),
            )
        }
        StepKind::SelectAccumulate => {
            let i = n - 2;
            let step = plan.average_start() + (s.row * (n + 1) + i) as u64;
            let acc: AccLeaf = std::array::from_fn(|_| {
                #[allow(clippy::cast_possible_wrap)]
                let v = rng.next() as i64;
                if dense {
                    v | 0x0101_0101_0101_0101
                } else {
                    v >> 28
                }
            });
            let reads = StepReads::SelectAccumulate(SelectReads {
                read: read(i),
                flag: sel_opening(&selection, i / SCORE_LANES),
            });
            (step, acc.to_vec(), regions(&distances, &selection), reads)
        }
        StepKind::SelectFinalize => {
            // The last row: the output written, the working memory cleared.
            let step = plan.steps() - 1;
            // The sum of the picks' values (m' = 2 of them): its mean fits i32.
            let acc: AccLeaf = std::array::from_fn(|_| {
                let mut value = || {
                    // Bit patterns reinterpreted: any i32 is a value.
                    #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
                    let v = rng.next() as u32 as i32;
                    i64::from(v)
                };
                value() + value()
            });
            let output_path = rng.path(c.next_power_of_two().trailing_zeros() as usize);
            let out = step_vm::finalize(&acc, plan.divisor()).expect("fits");
            let mut regions = regions(&distances, &selection);
            regions[0] = fold_path([0; 32], s.row as u64, &output_path);
            let reads = StepReads::SelectFinalize(FinalizeReads {
                total_weight: plan.divisor(),
                out,
                output_path,
            });
            (step, acc.to_vec(), regions, reads)
        }
        StepKind::SelectRank | StepKind::CloseRank | StepKind::CloseSum | StepKind::CloseEmit => {
            trim_case(
                s,
                kind,
                dense,
                rng,
                regions(&distances, &selection),
                &selection,
            )
        }
        other => panic!("not a distance-family kind: {other:?}"),
    };
    assert_eq!(ctx.position(step).kind, kind, "step {step}");
    let layout = match kind {
        StepKind::SelectAccumulate | StepKind::SelectFinalize => step_vm::RegisterLayout::Be64,
        StepKind::SelectRank | StepKind::CloseRank | StepKind::CloseSum | StepKind::CloseEmit => {
            step_vm::RegisterLayout::Offset40
        }
        _ => step_vm::RegisterLayout::Slots104,
    };
    checked_witness(
        ctx,
        step,
        State::new(step, register, regions).with_layout(layout),
        reads,
    )
}

/// A Bulyan trim kind's heaviest leaf: participant n − 1's read at the end of a pass (a
/// decision), the sum pass's last column, or the last row's emit.
fn trim_case(
    s: &Synthetic,
    kind: StepKind,
    dense: bool,
    rng: &mut Rng,
    mut regions: Vec<Digest>,
    selection: &[([u128; SCORE_LANES], u8)],
) -> (u64, Vec<i64>, Vec<Digest>, StepReads) {
    let (plan, n) = (&s.plan, s.plan.n);
    let row_start = plan.average_start() + s.row as u64 * plan.final_row_len();
    let i = n - 1;
    let read = s
        .reads
        .iter()
        .find(|r| r.0 == i)
        .expect("a disputed read")
        .1
        .clone();
    let theta = u32::try_from(plan.rounds).expect("small");
    let beta = theta - 2 * u32::try_from(plan.selection.byzantine()).expect("small");
    // A register a real trim reaches: the median bounds near each other (offset values
    // 2^31 + x), the closeness prefix within the values' spread, counts of at most n, a sum of
    // `c_lt` values near the median (so the mean fits i32).
    let mut reg = StatRegister::default();
    let small = |rng: &mut Rng, bits: u32| i64::try_from(rng.next() >> (64 - bits)).expect("small");
    for l in 0..LANES {
        reg.lo[l] = (1 << 31) + small(rng, 20) - (1 << 19);
        reg.hi[l] = reg.lo[l] + small(rng, 16);
        match kind {
            StepKind::SelectRank => {
                reg.c1[l] = small(rng, 8) % n as i64;
                reg.c2[l] = small(rng, 8) % n as i64;
            }
            StepKind::CloseRank => {
                reg.c1[l] = small(rng, 18);
                reg.c2[l] = small(rng, 8) % n as i64;
            }
            _ => {
                reg.c1[l] = small(rng, 18);
                let lt = small(rng, 8) % i64::from(beta);
                let below = small(rng, 8) % i64::from(theta);
                reg.c2[l] = lt + 256 * below;
                reg.sum[l] = (small(rng, 24) - (1 << 23)) * lt;
            }
        }
        if dense {
            // The densest: no zero byte in the limbs the calldata carries.
            reg.lo[l] |= 0x0101_0101;
            reg.hi[l] = reg.hi[l].max(reg.lo[l]);
        }
    }
    let flag_of = |i: usize| sel_opening(selection, i / SCORE_LANES);
    let trim = |pass: usize, ranks: (u32, u32)| TrimReads {
        read: read.clone(),
        flag: flag_of(i),
        pass,
        last: true,
        ranks,
    };
    let rank_cols = (step_vm::RANK_PASSES * n) as u64;
    let close_cols = ((step_vm::RANK_PASSES + step_vm::CLOSE_PASSES) * n) as u64;
    let (step, reads) = match kind {
        StepKind::SelectRank => (
            row_start + rank_cols - 1,
            StepReads::SelectRank(trim(step_vm::RANK_PASSES - 1, ((theta - 1) / 2, theta / 2))),
        ),
        StepKind::CloseRank => (
            row_start + close_cols - 1,
            StepReads::CloseRank(trim(step_vm::CLOSE_PASSES - 1, (beta - 1, 0))),
        ),
        StepKind::CloseSum => (
            row_start + close_cols + n as u64 - 1,
            StepReads::CloseSum(trim(0, (0, 0))),
        ),
        _ => {
            // The last row: the output written, the working memory cleared.
            let output_path = rng.path(plan.chunks.next_power_of_two().trailing_zeros() as usize);
            regions[0] = fold_path([0; 32], s.row as u64, &output_path);
            let out = step_vm::close_emit(&reg, beta).expect("fits");
            (
                plan.steps() - 1,
                StepReads::CloseEmit(CloseEmitReads {
                    beta,
                    out,
                    output_path,
                }),
            )
        }
    };
    (step, reg.words(), regions, reads)
}

#[test]
fn at_scale_leaves_are_in_lockstep_with_the_vm() {
    scale_files(SELECTION, "select_scale", &KINDS, false);
    scale_files(BULYAN, "bulyan_scale", &TRIM_KINDS, false);
}

#[test]
fn clipped_at_scale_leaves_are_in_lockstep_with_the_vm() {
    scale_files(SELECTION, "clip_select_scale", &KINDS, true);
    scale_files(BULYAN, "clip_bulyan_scale", &TRIM_KINDS, true);
}

/// Clipping's threshold in the clipped at-scale rounds (1.0 in Q15.16; the scales are drawn,
/// not computed from it: the Clip step reads them from the scales tree).
const SCALE_THRESHOLD: u32 = 1 << 16;

/// The scales of a clipped synthetic round: each participant's below 2^32 (realistic: in
/// [2^31, 2^32); densest: 2^32 − 1), set on the disputed reads too, and their tree.
fn clip_scales(s: &mut Synthetic, dense: bool, rng: &mut Rng) -> CompleteTree {
    let scales: Vec<u64> = (0..s.plan.n)
        .map(|_| {
            if dense {
                UNIT_SCALE - 1
            } else {
                (1 << 31) + rng.next() % (1 << 31)
            }
        })
        .collect();
    for (i, read) in &mut s.reads {
        read.scale = scales[*i];
    }
    tree(&scales, |&v| scale_leaf_hash(v))
}

/// Base witness `w` of `s`'s round as the `Clip` step of the clipped round `clipped` that
/// wraps it: step P + b, states wrapped in the scales root (the last step's post-state
/// unwrapped), each read's scale opened in `scales`; its post-state the VM's check.
fn clip_witness(clipped: &RoundContext, scales: &CompleteTree, w: StepWitness) -> StepWitness {
    let shape = clipped.shape();
    let prologue = (shape.participants * (shape.chunks + 1)) as u64;
    let step = prologue + w.step;
    let config_hash = clipped.config_hash();
    let scale_paths = w
        .reads
        .client_reads()
        .iter()
        .map(|r| scales.proof(r.participant))
        .collect();
    let mut pre = w.pre.clone();
    pre.wrap = Some(scales.root());
    let reads = StepReads::Clip(ClipReads {
        base_pre: w.pre.commitment(&config_hash),
        base: Box::new(w),
        scales_root: scales.root(),
        scale_paths,
        first: false,
        last: step + 1 == clipped.steps(),
    });
    checked_witness(clipped, step, pre, reads)
}

/// The witness of `reads` at `step` from `pre`, its post-state the VM's own check.
fn checked_witness(ctx: &RoundContext, step: u64, pre: State, reads: StepReads) -> StepWitness {
    let position = ctx.position(step);
    let post = reads
        .check(ctx, &position, &pre)
        .expect("the VM checks the synthetic leaf");
    StepWitness {
        step,
        position,
        pre,
        post,
        reads,
    }
}

fn scale_files(selection: Selection, prefix: &str, kinds: &[StepKind], clip: bool) {
    let proofs = real_proofs();
    for n in [8usize, 64, 255] {
        let mut cases = Vec::new();
        let mut round = None;
        for dense in [false, true] {
            let mut rng = Rng(0x5eed ^ (n as u64) << 8 ^ u64::from(dense));
            let mut s = synthetic(selection, n, dense, &mut rng);
            let clipped = clip.then(|| {
                let scales = clip_scales(&mut s, dense, &mut rng);
                let config = RoundConfig {
                    rule: Rule::Clipped {
                        threshold: SCALE_THRESHOLD,
                        base: step_vm::Base::Distance(selection),
                    },
                    ..*s.ctx.config()
                };
                let ctx = RoundContext::new(config, s.ctx.participants().to_vec())
                    .expect("valid clipped round");
                (ctx, scales)
            });
            for &kind in kinds {
                let mut w = scale_witness(&s, kind, dense, &mut rng);
                if let Some((ctx, scales)) = &clipped {
                    w = clip_witness(ctx, scales, w);
                }
                let proof = &proofs.iter().find(|p| p.0 == kind).expect("a real proof").1;
                let leaf = LeafProof {
                    witness: w.clone(),
                    proof: StepProof {
                        kind: kind.circuit().expect("proven"),
                        instances: Vec::new(),
                        proof: proof.clone(),
                    },
                    prove_time: std::time::Duration::ZERO,
                };
                cases.push(json!({
                    "kind": kind.name(),
                    "kindId": w.position.kind.id(),
                    "baseKindId": kind.id(),
                    "dense": dense,
                    "step": w.step,
                    "encoded": h(&leaf_input(&leaf).expect("encodes")),
                    "pre": state(&w.pre),
                    "post": state(&w.post),
                }));
            }
            // Each variant has its own round (its disputed participants' roots differ).
            let key = if dense { "denseRound" } else { "round" };
            let ctx = clipped.as_ref().map_or(&s.ctx, |c| &c.0);
            round
                .get_or_insert_with(serde_json::Map::new)
                .insert(key.into(), round_json(ctx));
        }
        let mut fresh = Value::Object(round.expect("two variants"));
        fresh["n"] = json!(n);
        fresh["cases"] = json!(cases);
        // The proofs inside the encodings are the committed real vectors' (checked above), so
        // the whole file regenerates bit for bit.
        check_file(&format!("{prefix}_n{n}"), &fresh, |v| v);
    }
}
