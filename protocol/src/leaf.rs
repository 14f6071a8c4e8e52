//! Encoding a leaf proof as its step kind's checker expects it: `abi.encode(<Kind>Leaf)`, the
//! bytes `BisectionGame.proveLeaf` forwards through the arbiter to the kind's checker.
//!
//! Two leaf shapes cover every kind with a circuit: a participant-leaf read (`Accumulate`,
//! `Rank`, `TrimSum`, `Norm`: the register, the region root, the participant's opening, the
//! value leaf with its opening, the register after the step, the proof) and a write
//! (`Finalize`, `TrimEmit`, `Scale`: the register, the region root, the leaf written with its
//! opening, the proof). Each checker declares its own struct with that tuple layout, so
//! `AccumulateLeaf` and `FinalizeLeaf` encode all of them byte for byte. A `Clip` step's leaf
//! wraps its base step's: `ClipLeaf { basePre, scalesRoot, scale, scalePath, baseLeaf }`.

use alloy::primitives::{B256, Bytes};
use alloy::sol_types::SolValue;
use arbiter::LeafProof;
use contracts::{AccumulateLeaf, ClipLeaf, FinalizeLeaf};
use step_vm::{ClientRead, StepReads, StepWitness, ValueLeaf};

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
        StepReads::Clip(c) => Ok(ClipLeaf {
            basePre: B256::from(c.base_pre),
            scalesRoot: B256::from(c.scales_root),
            scale: c.client_read().map_or(0, |r| r.scale),
            scalePath: path(&c.scale_path),
            baseLeaf: encode(&c.base, proof)?.into(),
        }
        .abi_encode()),
    }
}
