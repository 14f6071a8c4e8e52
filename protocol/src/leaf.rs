//! Encoding a leaf proof as the arbiter contract's `LeafInput`.

use alloy::primitives::{B256, Bytes};
use arbiter::LeafProof;
use contracts::LeafInput;
use step_vm::{AccLeaf, StepInput, ValueLeaf};

fn acc_bytes(acc: &AccLeaf) -> Bytes {
    acc.iter()
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

/// The calldata struct for `proveLeaf`: pre-state preimage, the step's openings, the claimed
/// register after the step, and the proof bytes.
#[must_use]
pub fn leaf_input(proof: &LeafProof) -> LeafInput {
    let w = &proof.witness;
    let (update_root, weight, input_path, values, values_path, acc_out) = match &w.input {
        StepInput::Accumulate {
            update_root,
            weight,
            input_path,
            x,
            value_path,
            ..
        } => (
            B256::from(*update_root),
            *weight,
            path(input_path),
            value_bytes(x),
            path(value_path),
            acc_bytes(&w.post.acc),
        ),
        StepInput::Finalize {
            out, output_path, ..
        } => (
            B256::ZERO,
            0,
            Vec::new(),
            value_bytes(out),
            path(output_path),
            Bytes::new(),
        ),
    };
    LeafInput {
        acc: acc_bytes(&w.pre.acc),
        outputRoot: B256::from(w.pre.output_root),
        updateRoot: update_root,
        weight,
        inputPath: input_path,
        values,
        valuesPath: values_path,
        accOut: acc_out,
        proof: proof.proof.proof.clone().into(),
    }
}
