//! Encoding a leaf proof as its step kind's checker expects it: `abi.encode(<Kind>Leaf)`, the
//! bytes `BisectionGame.proveLeaf` forwards through the arbiter to the kind's checker.
//!
//! Two leaf shapes cover every kind with a circuit: a participant-leaf read (`Accumulate`,
//! `Rank`, `TrimSum`, `Norm`: the register, the region root, the participant's opening, the
//! value leaf with its opening, the register after the step, the proof) and a write
//! (`Finalize`, `TrimEmit`, `Scale`: the register, the region root, the leaf written with its
//! opening, the proof). Each checker declares its own struct with that tuple layout, so
//! `AccumulateLeaf` and `FinalizeLeaf` encode all of them byte for byte. A `Clip` step's leaf
//! wraps its base step's: `ClipLeaf { basePre, scalesRoot, scales, scalePaths, baseLeaf }`.
//!
//! The distance family's kinds carry the three regions of their states (`Regions`), 13-byte
//! slot registers, and distance or selection leaves with their openings; each has its own
//! struct (`DistanceLeaf`, `ScoreLeaf` for both scoring kinds, `PickLeaf`,
//! `SelectAccumulateLeaf`, `SelectFinalizeLeaf`).

use alloy::primitives::{B256, Bytes};
use alloy::sol_types::SolValue;
use arbiter::LeafProof;
use contracts::{AccumulateLeaf, ClipLeaf, FinalizeLeaf};
// Each checker's binding module has its own copy of the shared structs (`Regions`,
// `ClientRead`: declared in `SelectionStepChecker`, the same tuples everywhere).
use contracts::close_emit_checker::{CloseEmitChecker as cec, SelectionStepChecker as cecs};
use contracts::distance_checker::{DistanceChecker as dc, SelectionStepChecker as dcs};
use contracts::pick_checker::{PickChecker as pc, SelectionStepChecker as pcs};
use contracts::score_rank_checker::{ScoreStepChecker as sc, SelectionStepChecker as scs};
use contracts::select_accumulate_checker::{
    SelectAccumulateChecker as sac, SelectionStepChecker as sacs,
};
use contracts::select_finalize_checker::{
    SelectFinalizeChecker as sfc, SelectionStepChecker as sfcs,
};
use contracts::select_rank_checker::{SelectionStepChecker as trs, TrimStepChecker as tr};
use step_vm::{
    ClientRead, CloseEmitReads, DistanceOpening, DistanceReads, FinalizeReads, PickReads,
    RegisterLayout, ScoreReads, ScoreRegister, SelectReads, SelectionOpening, StepReads,
    StepWitness, TrimReads, ValueLeaf, slot_bytes,
};

use crate::Result;

/// A state's register as its kind's leaf carries it (big-endian words, or the order-statistic
/// register's 5-byte offset limbs).
fn register(state: &step_vm::State) -> Bytes {
    state.register_bytes().into()
}

fn value_bytes(leaf: &ValueLeaf) -> Bytes {
    leaf.iter()
        .flat_map(|v| v.to_be_bytes())
        .collect::<Vec<u8>>()
        .into()
}

fn path(p: &[step_vm::Digest]) -> Vec<B256> {
    p.iter().map(|d| B256::from(*d)).collect()
}

/// The `leaf` bytes of `proveLeaf` for a proven step: the pre-state preimage, the step's
/// openings, what it writes, and the proof, in its kind's checker's struct.
///
/// # Errors
/// [`ProtocolError::Vm`] if the witness's pre-state lacks the region the kind opens.
pub fn leaf_input(proof: &LeafProof) -> Result<Bytes> {
    Ok(encode(&proof.witness, &proof.proof.proof.clone().into())?.into())
}

/// `abi.encode(<Kind>Leaf)` of one step with `proof`. A `Clip` step nests its base step's
/// leaf (the base kind's own encoding) in a `ClipLeaf`.
fn encode(w: &StepWitness, proof: &Bytes) -> Result<Vec<u8>> {
    // The region the kind opens: the output tree, or the scales tree in the clipping prologue.
    let root = || -> Result<B256> { Ok(B256::from(w.pre.region(0)?)) };
    let client = |r: &ClientRead| -> Result<Vec<u8>> {
        Ok(AccumulateLeaf {
            acc: register(&w.pre),
            outputRoot: root()?,
            updateRoot: B256::from(r.update_root),
            weight: r.weight,
            inputPath: path(&r.input_path),
            values: value_bytes(&r.x),
            valuesPath: path(&r.value_path),
            accOut: register(&w.post),
            proof: proof.clone(),
        }
        .abi_encode())
    };
    let write = |values: Bytes, output_path: &[step_vm::Digest]| -> Result<Vec<u8>> {
        Ok(FinalizeLeaf {
            acc: register(&w.pre),
            outputRoot: root()?,
            values,
            outputPath: path(output_path),
            proof: proof.clone(),
        }
        .abi_encode())
    };
    match &w.reads {
        StepReads::Accumulate(r) | StepReads::TrimSum(r) | StepReads::Norm(r) => client(r),
        StepReads::Rank(r) => client(&r.read),
        StepReads::Finalize(r) => write(value_bytes(&r.out), &r.output_path),
        StepReads::TrimEmit(r) => write(value_bytes(&r.out), &r.output_path),
        StepReads::Scale(r) => write(r.scale.to_be_bytes().to_vec().into(), &r.scales_path),
        StepReads::Distance(r) => distance_leaf(w, r, proof),
        StepReads::ScoreRank(r) => score_leaf(w, r, None, proof),
        StepReads::ScoreSum(r) => score_leaf(w, r, Some(&r.out), proof),
        StepReads::Pick(r) => pick_leaf(w, r, proof),
        StepReads::SelectAccumulate(r) => select_accumulate_leaf(w, r, proof),
        StepReads::SelectFinalize(r) => select_finalize_leaf(w, r, proof),
        StepReads::SelectRank(r) | StepReads::CloseRank(r) | StepReads::CloseSum(r) => {
            trim_leaf(w, r, proof)
        }
        StepReads::CloseEmit(r) => close_emit_leaf(w, r, proof),
        StepReads::Clip(c) => Ok(ClipLeaf {
            basePre: B256::from(c.base_pre),
            scalesRoot: B256::from(c.scales_root),
            scales: c.scales(),
            scalePaths: path(&c.scale_paths.concat()),
            baseLeaf: encode(&c.base, proof)?.into(),
        }
        .abi_encode()),
    }
}

/// The 13-byte slots of `values`, concatenated.
fn slots(values: &[u128]) -> Bytes {
    values
        .iter()
        .flat_map(|&v| slot_bytes(v))
        .collect::<Vec<u8>>()
        .into()
}

/// A distance leaf's 104 bytes.
fn lanes(opening: &DistanceOpening) -> Bytes {
    slots(&opening.lanes)
}

/// A selection leaf's 105 bytes: the scores, then the flags byte.
fn selection(opening: &SelectionOpening) -> Bytes {
    let mut bytes = slots(&opening.scores).to_vec();
    bytes.push(opening.flags);
    bytes.into()
}

/// The pre-state's three regions (output, distance, selection).
fn regions(w: &StepWitness) -> Result<[B256; 3]> {
    Ok([
        B256::from(w.pre.region(0)?),
        B256::from(w.pre.region(1)?),
        B256::from(w.pre.region(2)?),
    ])
}

/// `Regions` and `ClientRead` of a checker's binding module (the same tuples in every checker
/// of the distance family).
macro_rules! regions {
    ($m:ident, $w:expr) => {{
        let [output, distance, selection] = regions($w)?;
        $m::Regions {
            output,
            distance,
            selection,
        }
    }};
}

macro_rules! client_read {
    ($m:ident, $r:expr) => {{
        let r: &ClientRead = $r;
        $m::ClientRead {
            updateRoot: B256::from(r.update_root),
            weight: r.weight,
            inputPath: path(&r.input_path),
            values: value_bytes(&r.x),
            valuesPath: path(&r.value_path),
        }
    }};
}

fn distance_leaf(w: &StepWitness, r: &DistanceReads, proof: &Bytes) -> Result<Vec<u8>> {
    Ok(dc::DistanceLeaf {
        register: register(&w.pre),
        pre: regions!(dcs, w),
        a: client_read!(dcs, &r.a),
        b: client_read!(dcs, &r.b),
        accOut: slots(&[r.acc_out]),
        writes: r
            .writes
            .iter()
            .flatten()
            .map(|o| dc::DistanceWrite {
                lanes: lanes(o),
                path: path(&o.path),
            })
            .collect(),
        proof: proof.clone(),
    }
    .abi_encode())
}

/// A scoring leaf; `sum` is `ScoreSum`'s register after the column (its post-state's register
/// is the next phase's at a block's last column).
fn score_leaf(
    w: &StepWitness,
    r: &ScoreReads,
    sum: Option<&ScoreRegister>,
    proof: &Bytes,
) -> Result<Vec<u8>> {
    Ok(sc::ScoreLeaf {
        register: register(&w.pre),
        pre: regions!(scs, w),
        column: lanes(&r.column),
        columnPath: path(&r.column.path),
        flag: selection(&r.flag),
        flagPath: path(&r.flag.path),
        registerOut: sum.map_or_else(
            || register(&w.post),
            |out| RegisterLayout::Slots104.bytes(&out.words()).into(),
        ),
        scores: sum.map_or_else(Bytes::new, |out| slots(&step_vm::block_scores(out, r.rank))),
        write: r.write.as_ref().map_or_else(Bytes::new, selection),
        writePath: r.write.as_ref().map_or_else(Vec::new, |o| path(&o.path)),
        proof: proof.clone(),
    }
    .abi_encode())
}

fn pick_leaf(w: &StepWitness, r: &PickReads, proof: &Bytes) -> Result<Vec<u8>> {
    Ok(pc::PickLeaf {
        register: register(&w.pre),
        pre: regions!(pcs, w),
        read: selection(&r.read),
        readPath: path(&r.read.path),
        registerOut: slots(&[r.out.best, r.out.found]),
        winner: r.write.as_ref().map_or_else(Bytes::new, selection),
        winnerPath: r.write.as_ref().map_or_else(Vec::new, |o| path(&o.path)),
        proof: proof.clone(),
    }
    .abi_encode())
}

fn select_accumulate_leaf(w: &StepWitness, r: &SelectReads, proof: &Bytes) -> Result<Vec<u8>> {
    Ok(sac::SelectAccumulateLeaf {
        acc: register(&w.pre),
        pre: regions!(sacs, w),
        read: client_read!(sacs, &r.read),
        flag: selection(&r.flag),
        flagPath: path(&r.flag.path),
        accOut: register(&w.post),
        proof: proof.clone(),
    }
    .abi_encode())
}

fn select_finalize_leaf(w: &StepWitness, r: &FinalizeReads, proof: &Bytes) -> Result<Vec<u8>> {
    Ok(sfc::SelectFinalizeLeaf {
        acc: register(&w.pre),
        pre: regions!(sfcs, w),
        values: value_bytes(&r.out),
        path: path(&r.output_path),
        proof: proof.clone(),
    }
    .abi_encode())
}

/// A Bulyan trim leaf reading a participant (`SelectRank`, `CloseRank`, `CloseSum` share the
/// `TrimLeaf` tuple).
fn trim_leaf(w: &StepWitness, r: &TrimReads, proof: &Bytes) -> Result<Vec<u8>> {
    Ok(tr::TrimLeaf {
        register: register(&w.pre),
        pre: regions!(trs, w),
        read: client_read!(trs, &r.read),
        flag: selection(&r.flag),
        flagPath: path(&r.flag.path),
        registerOut: register(&w.post),
        proof: proof.clone(),
    }
    .abi_encode())
}

fn close_emit_leaf(w: &StepWitness, r: &CloseEmitReads, proof: &Bytes) -> Result<Vec<u8>> {
    Ok(cec::CloseEmitLeaf {
        register: register(&w.pre),
        pre: regions!(cecs, w),
        values: value_bytes(&r.out),
        path: path(&r.output_path),
        proof: proof.clone(),
    }
    .abi_encode())
}
