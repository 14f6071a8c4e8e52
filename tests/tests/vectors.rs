//! Shared step vectors: the Rust VM, the Halo2 circuit and the Solidity arbiter agree on them.
//!
//! `contracts/test/vectors/*.json` hold one Accumulate and one Finalize step of a fixed round,
//! with real proofs; `contracts/test/LeafVectors.t.sol` replays them through the real verifier
//! contracts. This test checks that every field but the proof regenerates bit for bit from the
//! VM and that the committed proof verifies against the current verifying key.
//! `UPDATE_VECTORS=1 cargo test -p fl-tests --test vectors` rewrites the files.

use std::path::PathBuf;

use alloy::hex;
use arbiter::LeafProof;
use circuits::StepProof;
use protocol::leaf_input;
use serde_json::{Value, json};
use step_vm::{Participant, RoundContext, StepKind, Trace, Update, acc_hash, value_leaf_hash};

const DIM: usize = 100;

fn round() -> (RoundContext, Vec<Update>, Vec<u32>) {
    let updates: Vec<Update> = (0..3)
        .map(|c: i32| {
            Update::from_fixed(
                (0..DIM as i32)
                    .map(|v| (v - 50) * 65_536 / 7 + c * 12_345 - 1)
                    .collect(),
            )
        })
        .collect();
    let weights = vec![120, 45, 333];
    let participants = updates
        .iter()
        .zip(&weights)
        .map(|(u, &weight)| Participant {
            update_root: u.root(),
            weight,
        })
        .collect();
    // The registry address only enters the config hash, which the forge test takes from its own
    // registry; the vectors carry the pre- and post-state components instead.
    (
        RoundContext::new(
            step_vm::RoundConfig::fedavg(1, [0; 20], 1, [0; 32], DIM),
            participants,
        )
        .expect("valid round"),
        updates,
        weights,
    )
}

fn h(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

fn vector(trace: &Trace, proof: &LeafProof) -> Value {
    let w = &proof.witness;
    let leaf = leaf_input(proof);
    json!({
        "kind": w.kind().name(),
        "dim": DIM,
        "step": w.step,
        "updateRoots": trace.context().participants().iter().map(|p| h(&p.update_root)).collect::<Vec<_>>(),
        "weights": trace.context().participants().iter().map(|p| p.weight).collect::<Vec<_>>(),
        "leaf": {
            "acc": h(&leaf.acc),
            "outputRoot": h(leaf.outputRoot.as_slice()),
            "updateRoot": h(leaf.updateRoot.as_slice()),
            "weight": leaf.weight,
            "inputPath": leaf.inputPath.iter().map(|p| h(p.as_slice())).collect::<Vec<_>>(),
            "values": h(&leaf.values),
            "valuesPath": leaf.valuesPath.iter().map(|p| h(p.as_slice())).collect::<Vec<_>>(),
            "accOut": h(&leaf.accOut),
            "proof": h(&leaf.proof),
        },
        "post": {
            "accHash": h(&acc_hash(&w.post.acc)),
            "outputRoot": h(&w.post.output_root),
            "outputLeafHash": match &w.input {
                step_vm::StepInput::Finalize { out, .. } => h(&value_leaf_hash(out)),
                step_vm::StepInput::Accumulate { .. } => h(&[0u8; 32]),
            },
        },
    })
}

fn without_proof(mut v: Value) -> Value {
    v["leaf"]["proof"] = Value::Null;
    v
}

#[test]
fn step_vectors_are_in_lockstep_with_the_vm_and_the_circuit() {
    let (ctx, updates, _) = round();
    let trace = Trace::execute(ctx.clone(), updates).expect("executes");
    let prover = fl_tests::prover();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../contracts/test/vectors");
    // Step 5: participant 1 of chunk 1 (Accumulate); step 7: chunk 1's Finalize.
    for (step, name) in [(5u64, "accumulate"), (7, "finalize")] {
        let path = dir.join(format!("{name}.json"));
        let proof = prover
            .prove(&ctx, &trace, step)
            .expect("honest step proves");
        let fresh = vector(&trace, &proof);
        if std::env::var_os("UPDATE_VECTORS").is_some() {
            std::fs::create_dir_all(&dir).expect("vector dir");
            std::fs::write(
                &path,
                serde_json::to_string_pretty(&fresh).expect("json") + "\n",
            )
            .expect("write vector");
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!("{}: {e}; regenerate with UPDATE_VECTORS=1", path.display())
        });
        let committed: Value = serde_json::from_str(&text).expect("vector is JSON");
        assert_eq!(
            without_proof(committed.clone()),
            without_proof(fresh),
            "{name}: VM and vector disagree"
        );
        let proof_hex = committed["leaf"]["proof"].as_str().expect("proof");
        let kind = if name == "accumulate" {
            StepKind::Accumulate
        } else {
            StepKind::Finalize
        };
        let committed_proof = StepProof {
            kind,
            instances: proof.proof.instances.clone(),
            proof: hex::decode(proof_hex).expect("hex proof"),
        };
        prover
            .for_kind(kind)
            .verify(&committed_proof)
            .expect("committed proof verifies with the current key");
    }
}
