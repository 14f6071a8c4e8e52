//! Shared step vectors: the Rust VM, the Halo2 circuit and the Solidity arbiter agree on them.
//!
//! `contracts/test/vectors/*.json` hold steps of every kind of fixed rounds (FedAvg, median,
//! clipped median), with real proofs; `contracts/test/LeafVectors.t.sol` replays them through the real verifier
//! contracts. This test checks that every field but the proof regenerates bit for bit from the
//! VM and that the committed proof verifies against the current verifying key.
//! `UPDATE_VECTORS=1 cargo test -p fl-tests --test vectors` rewrites the files.

use std::path::PathBuf;

use alloy::hex;
use arbiter::LeafProof;
use circuits::StepProof;
use protocol::leaf_input;
use serde_json::{Value, json};
use step_vm::{Participant, RoundContext, StepKind, StepReads, Trace, Update, value_leaf_hash};

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

/// A state's register as leaves carry it.
fn words(state: &step_vm::State) -> String {
    h(&state.register_bytes())
}

fn values(leaf: &step_vm::ValueLeaf) -> String {
    h(&leaf
        .iter()
        .flat_map(|v| v.to_be_bytes())
        .collect::<Vec<u8>>())
}

fn hexes(path: &[step_vm::Digest]) -> Vec<String> {
    path.iter().map(|p| h(p)).collect()
}

fn vector(trace: &Trace, proof: &LeafProof) -> Value {
    let w = &proof.witness;
    let output_root = w.pre.region(0).expect("output region");
    // The fields of the kind's leaf struct (unused ones zero/empty), and the whole leaf as
    // `proveLeaf` sends it, so that forge checks Solidity's `abi.encode` of the struct built
    // from the fields against Rust's encoding.
    let (update_root, weight, input_path, x, values_path, acc_out) = match &w.reads {
        StepReads::Accumulate(r) => (
            h(&r.update_root),
            r.weight,
            hexes(&r.input_path),
            values(&r.x),
            hexes(&r.value_path),
            words(&w.post),
        ),
        StepReads::Finalize(r) => (
            h(&[0; 32]),
            0,
            Vec::new(),
            values(&r.out),
            hexes(&r.output_path),
            "0x".to_owned(),
        ),
        other => panic!("not a FedAvg kind: {:?}", other.kind()),
    };
    json!({
        "kind": w.kind().name(),
        "dim": DIM,
        "step": w.step,
        "updateRoots": trace.context().participants().iter().map(|p| h(&p.update_root)).collect::<Vec<_>>(),
        "weights": trace.context().participants().iter().map(|p| p.weight).collect::<Vec<_>>(),
        "leaf": {
            "acc": words(&w.pre),
            "outputRoot": h(&output_root),
            "updateRoot": update_root,
            "weight": weight,
            "inputPath": input_path,
            "values": x,
            "valuesPath": values_path,
            "accOut": acc_out,
            "proof": h(&proof.proof.proof),
        },
        "encoded": h(&leaf_input(proof).expect("encodes")),
        "post": {
            "accHash": h(&w.post.register_hash()),
            "outputRoot": h(&w.post.region(0).expect("output region")),
            "outputLeafHash": match &w.reads {
                StepReads::Finalize(r) => h(&value_leaf_hash(&r.out)),
                _ => h(&[0u8; 32]),
            },
        },
    })
}

/// A median round with an even `n` (the mean of two middle values), ties and the ends of the
/// i32 range.
fn median_round() -> (RoundContext, Vec<Update>) {
    let updates: Vec<Update> = (0..4)
        .map(|c: i32| {
            Update::from_fixed(
                (0..DIM as i32)
                    .map(|v| match (v + c) % 5 {
                        0 => i32::MIN + v,
                        1 => i32::MAX - c,
                        2 => 12_345,
                        _ => (v - 50) * 65_536 / 3 + c * 999,
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
    let config = step_vm::RoundConfig {
        rule: step_vm::Rule::Median,
        ..step_vm::RoundConfig::fedavg(1, [0; 20], 1, [0; 32], DIM)
    };
    (
        RoundContext::new(config, participants).expect("valid round"),
        updates,
    )
}

/// A vector of an order-statistic kind: the leaf's fields under the checker struct's names.
fn order_vector(trace: &Trace, proof: &LeafProof) -> Value {
    let w = &proof.witness;
    let leaf = match &w.reads {
        StepReads::Rank(r) => client_fields(w, &r.read, &proof.proof.proof),
        StepReads::TrimSum(r) => client_fields(w, r, &proof.proof.proof),
        StepReads::TrimEmit(r) => json!({
            "register": words(&w.pre),
            "outputRoot": h(&w.pre.region(0).expect("output region")),
            "values": values(&r.out),
            "outputPath": hexes(&r.output_path),
            "proof": h(&proof.proof.proof),
        }),
        other => panic!("not an order-statistic kind: {:?}", other.kind()),
    };
    let mut v = round_vector(trace, proof, leaf);
    v["post"] = json!({
        "registerHash": h(&w.post.register_hash()),
        "outputRoot": h(&w.post.region(0).expect("output region")),
    });
    v
}

/// What every rule-aware vector starts with: the step, its round (rule, parameters,
/// participants), the leaf's fields and Rust's encoding of the whole leaf.
fn round_vector(trace: &Trace, proof: &LeafProof, leaf: Value) -> Value {
    let w = &proof.witness;
    let rule = trace.context().config().rule;
    json!({
        "kind": w.kind().name(),
        "dim": DIM,
        "step": w.step,
        "rule": rule.id(),
        "params": h(&rule.params()),
        "updateRoots": trace.context().participants().iter().map(|p| h(&p.update_root)).collect::<Vec<_>>(),
        "weights": trace.context().participants().iter().map(|p| p.weight).collect::<Vec<_>>(),
        "leaf": leaf,
        "encoded": h(&leaf_input(proof).expect("encodes")),
    })
}

fn client_fields(w: &step_vm::StepWitness, r: &step_vm::ClientRead, proof: &[u8]) -> Value {
    json!({
        "register": words(&w.pre),
        "outputRoot": h(&w.pre.region(0).expect("output region")),
        "updateRoot": h(&r.update_root),
        "weight": r.weight,
        "inputPath": hexes(&r.input_path),
        "values": values(&r.x),
        "valuesPath": hexes(&r.value_path),
        "registerOut": words(&w.post),
        "proof": h(proof),
    })
}

/// Checks (or, with `UPDATE_VECTORS`, writes) one vector file: every field but the proof
/// regenerates bit for bit, and the committed proof verifies with the current key.
fn check_vector(name: &str, kind: StepKind, fresh: &Value, proof: &LeafProof) {
    check_vector_with(name, kind, fresh, proof, without_proof);
}

/// As [`check_vector`], comparing the vectors after `strip` (which removes the proof bytes
/// wherever the vector carries them).
fn check_vector_with(
    name: &str,
    kind: StepKind,
    fresh: &Value,
    proof: &LeafProof,
    strip: impl Fn(Value) -> Value,
) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../contracts/test/vectors");
    let path = dir.join(format!("{name}.json"));
    if std::env::var_os("UPDATE_VECTORS").is_some() {
        std::fs::create_dir_all(&dir).expect("vector dir");
        std::fs::write(
            &path,
            serde_json::to_string_pretty(fresh).expect("json") + "\n",
        )
        .expect("write vector");
        return;
    }
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; regenerate with UPDATE_VECTORS=1", path.display()));
    let committed: Value = serde_json::from_str(&text).expect("vector is JSON");
    assert_eq!(
        strip(committed.clone()),
        strip(fresh.clone()),
        "{name}: VM and vector disagree"
    );
    // The proof: the leaf's last field, or the end of a Clip leaf's base leaf.
    let proof_hex = match committed["leaf"]["proof"].as_str() {
        Some(p) => p.to_owned(),
        None => {
            let base = committed["leaf"]["baseLeaf"].as_str().expect("a base leaf");
            format!("0x{}", &base[base.len() - 2 * proof.proof.proof.len()..])
        }
    };
    let committed_proof = StepProof {
        kind,
        instances: proof.proof.instances.clone(),
        proof: hex::decode(proof_hex).expect("hex proof"),
    };
    fl_tests::prover()
        .for_kind(kind)
        .expect("a kind with a circuit")
        .verify(&committed_proof)
        .expect("committed proof verifies with the current key");
}

#[test]
fn order_statistic_vectors_are_in_lockstep_with_the_vm_and_the_circuits() {
    let (ctx, updates) = median_round();
    let trace = Trace::execute(ctx.clone(), updates).expect("executes");
    let prover = fl_tests::prover();
    // Row 1 of n = 4 (133 steps per row): the last rank step of pass 31 (a decision), the
    // second sum step, and the emit.
    for (step, name, kind) in [
        (133 + 127, "rank", StepKind::Rank),
        (133 + 129, "trim_sum", StepKind::TrimSum),
        (133 + 132, "trim_emit", StepKind::TrimEmit),
    ] {
        let proof = prover
            .prove(&ctx, &trace, step)
            .expect("honest step proves");
        assert_eq!(proof.witness.kind(), kind);
        check_vector(name, kind, &order_vector(&trace, &proof), &proof);
    }
}

fn without_proof(mut v: Value) -> Value {
    v["leaf"]["proof"] = Value::Null;
    // The encoding ends with the proof bytes (the struct's last dynamic field).
    v["encoded"] = Value::Null;
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
            .expect("a kind with a circuit")
            .verify(&committed_proof)
            .expect("committed proof verifies with the current key");
    }
}

/// A clipped median round: the order-statistic round's data (with the i32 extremes, which
/// are clipped) under `ClippedMedian`, clipping at norm 64.
fn clipped_round() -> (RoundContext, Vec<Update>) {
    let (ctx, updates) = median_round();
    let config = step_vm::RoundConfig {
        rule: step_vm::Rule::Clipped {
            threshold: 64 << 16,
            base: step_vm::Base::Median,
        },
        ..*ctx.config()
    };
    let participants = ctx.participants().to_vec();
    (
        RoundContext::new(config, participants).expect("valid round"),
        updates,
    )
}

/// The components of a state commitment the forge test recomputes under its own config hash.
fn state_parts(s: &step_vm::State) -> Value {
    json!({
        "step": s.step,
        "registerHash": h(&s.register_hash()),
        "outputRoot": h(&s.region(0).expect("one region")),
        "wrapped": s.wrap.is_some(),
    })
}

/// A vector of a clipping kind: Norm and Scale leaves under their checker struct's names (the
/// FedAvg tuples, the scales root in the output root's place), a Clip leaf with its base leaf
/// as bytes; the pre- and post-state as components.
fn clip_vector(trace: &Trace, proof: &LeafProof) -> Value {
    let w = &proof.witness;
    let leaf = match &w.reads {
        StepReads::Norm(r) => client_fields(w, r, &proof.proof.proof),
        StepReads::Scale(r) => json!({
            "register": words(&w.pre),
            "outputRoot": h(&w.pre.region(0).expect("scales region")),
            "values": h(&r.scale.to_be_bytes()),
            "outputPath": hexes(&r.scales_path),
            "proof": h(&proof.proof.proof),
        }),
        StepReads::Clip(c) => json!({
            "basePre": h(&c.base_pre),
            "scalesRoot": h(&c.scales_root),
            "scales": c.scales(),
            "scalePaths": hexes(&c.scale_paths.concat()),
            "baseKind": c.base.kind().name(),
            "baseLeaf": h(&leaf_input(&LeafProof {
                witness: (*c.base).clone(),
                proof: proof.proof.clone(),
                prove_time: proof.prove_time,
            }).expect("encodes")),
        }),
        other => panic!("not a clipping kind: {:?}", other.kind()),
    };
    let (pre, post) = match &w.reads {
        StepReads::Clip(c) => (
            json!({ "base": state_parts(&c.base.pre), "scalesRoot": h(&c.scales_root) }),
            json!({ "base": state_parts(&c.base.post), "wrapped": w.post.wrap.is_some() }),
        ),
        _ => (state_parts(&w.pre), state_parts(&w.post)),
    };
    let mut v = round_vector(trace, proof, leaf);
    v["pre"] = pre;
    v["post"] = post;
    v
}

#[test]
fn clipping_vectors_are_in_lockstep_with_the_vm_and_the_circuits() {
    let (ctx, updates) = clipped_round();
    let trace = Trace::execute(ctx.clone(), updates).expect("executes");
    let prover = fl_tests::prover();
    // n = 4, C = 4: prologue rows of 5 (participant 1's Norm of leaf 2, its Scale), then the
    // median program (133 steps per row) from step 20: row 1's decisive Rank step (a clipped
    // read with its scale opened) and row 1's TrimEmit (no read), and the very last step
    // (whose post-state is the base program's, unwrapped).
    let prologue = 4 * 5;
    for (step, name) in [
        (5 + 2, "norm"),
        (5 + 4, "scale"),
        (prologue + 133 + 127, "clip_rank"),
        (prologue + 133 + 132, "clip_trim_emit"),
        (trace.steps() - 1, "clip_last"),
    ] {
        let proof = prover
            .prove(&ctx, &trace, step)
            .expect("honest step proves");
        let kind = proof.witness.proven().kind();
        check_clip_vector(name, kind, &clip_vector(&trace, &proof), &proof);
    }
}

/// As `check_vector`, with the proof also inside a Clip leaf's base leaf.
fn check_clip_vector(name: &str, kind: StepKind, fresh: &Value, proof: &LeafProof) {
    let strip = |mut v: Value| {
        if v["leaf"].get("baseLeaf").is_some() {
            // The base leaf ends with the proof; everything before it must match.
            let hex = v["leaf"]["baseLeaf"].as_str().expect("hex").to_owned();
            let keep = hex.len() - 2 * proof.proof.proof.len();
            v["leaf"]["baseLeaf"] = Value::String(hex[..keep].to_owned());
        }
        without_proof(v)
    };
    check_vector_with(name, kind, fresh, proof, strip);
}
