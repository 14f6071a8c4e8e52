//! Encoding a leaf proof as its step kind's checker expects it: `abi.encode(<Kind>Leaf)`, the
//! bytes `BisectionGame.proveLeaf` forwards through the arbiter to the kind's checker.
//!
//! Two leaf shapes cover every kind so far: a participant-leaf read (`Accumulate`, `Rank`,
//! `TrimSum`: the register, the output root, the participant's opening, the value leaf with
//! its opening, the register after the step, the proof) and an output write (`Finalize`,
//! `TrimEmit`: the register, the output root, the leaf written with its opening, the proof).
//! Each checker declares its own struct with that tuple layout, so `AccumulateLeaf` and
//! `FinalizeLeaf` encode all of them byte for byte.

use alloy::primitives::{B256, Bytes};
use alloy::sol_types::SolValue;
use arbiter::LeafProof;
use contracts::{AccumulateLeaf, FinalizeLeaf};
use step_vm::{ClientRead, StepReads, ValueLeaf};

use crate::Result;

fn words(register: &[i64]) -> Bytes {
    register
        .iter()
        .flat_map(|v| v.to_be_bytes())
        .collect::<Vec<u8>>()
        .into()
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
    let w = &proof.witness;
    let output_root = B256::from(w.pre.region(0)?);
    let proof_bytes: Bytes = proof.proof.proof.clone().into();
    let client = |r: &ClientRead| AccumulateLeaf {
        acc: words(&w.pre.register),
        outputRoot: output_root,
        updateRoot: B256::from(r.update_root),
        weight: r.weight,
        inputPath: path(&r.input_path),
        values: value_bytes(&r.x),
        valuesPath: path(&r.value_path),
        accOut: words(&w.post.register),
        proof: proof_bytes.clone(),
    };
    let write = |out: &ValueLeaf, output_path: &[step_vm::Digest]| FinalizeLeaf {
        acc: words(&w.pre.register),
        outputRoot: output_root,
        values: value_bytes(out),
        outputPath: path(output_path),
        proof: proof_bytes.clone(),
    };
    let encoded = match &w.reads {
        StepReads::Accumulate(r) | StepReads::TrimSum(r) => client(r).abi_encode(),
        StepReads::Rank(r) => client(&r.read).abi_encode(),
        StepReads::Finalize(r) => write(&r.out, &r.output_path).abi_encode(),
        StepReads::TrimEmit(r) => write(&r.out, &r.output_path).abi_encode(),
    };
    Ok(encoded.into())
}
