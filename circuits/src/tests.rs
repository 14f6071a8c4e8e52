//! Circuit tests: instance encoding in lockstep with the VM on real traces, satisfiability of
//! honest witnesses (including extremes and random ones), a negative `MockProver` test per
//! constraint family and kind, real proofs with tampering, prover errors, pinned keys,
//! configuration and Solidity output.

use crate::prover::StepCircuit;
use std::sync::OnceLock;

use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use halo2_base::halo2_proofs::dev::MockProver;
use proptest::prelude::*;
use step_vm::{
    AccLeaf, LANES, Participant, RoundContext, StepKind, Trace, Update, ValueLeaf, accumulate,
    accumulate_instances, finalize, finalize_instances,
};

use crate::gadgets::{pow2, signed_fr};
use crate::prover::{
    Assignment, derived_params, mock, mock_builder_accumulate, mock_builder_finalize,
};
use crate::{
    AccumulateAssignment, CircuitError, FinalizeAssignment, Fr, K, StepProver,
    accumulate_reference, circuit_params, finalize_reference, instance_to_fr,
};

fn to_fr(instances: &[step_vm::Instance]) -> Vec<Fr> {
    instances
        .iter()
        .enumerate()
        .map(|(i, w)| instance_to_fr(i, w).unwrap())
        .collect()
}

fn mock_ok(builder: &BaseCircuitBuilder<Fr>, instances: Vec<Fr>) -> bool {
    MockProver::run(K, builder, vec![instances])
        .expect("mock prover runs")
        .verify()
        .is_ok()
}

fn acc_case(w: u32, x: &ValueLeaf, acc: &AccLeaf) -> (AccumulateAssignment, Vec<Fr>) {
    let out = accumulate(acc, w, x);
    (
        AccumulateAssignment::new(w, x, acc, &out),
        to_fr(&accumulate_instances(w, x, acc, &out)),
    )
}

fn fin_case(w: u32, acc: &AccLeaf) -> (FinalizeAssignment, Vec<Fr>) {
    let out = finalize(acc, w).expect("in range");
    (
        FinalizeAssignment::new(w, acc, &out),
        to_fr(&finalize_instances(w, acc, &out)),
    )
}

/// Values at and near the ends of the i32 range, and a register within reach.
fn extremes() -> (ValueLeaf, AccLeaf) {
    let x = std::array::from_fn(|l| match l % 4 {
        0 => i32::MIN,
        1 => i32::MAX,
        2 => -1,
        _ => l as i32 * 1000 - 7,
    });
    let acc = std::array::from_fn(|l| (l as i64 - 16) * 3_000_000_007);
    (x, acc)
}

/// A register an honest accumulation with total weight `w` can reach: `w·x` plus a
/// remainder, so the quotients span the whole i32 range and every rounding case.
fn fin_register(w: u32) -> AccLeaf {
    let (x, _) = extremes();
    let w64 = i64::from(w);
    std::array::from_fn(|l| {
        w64 * i64::from(x[l])
            + if x[l] == i32::MAX {
                0
            } else {
                (l as i64 * 7919) % w64
            }
    })
}

/// A small real round: 3 participants, 40 values (2 chunks), so 8 steps of both kinds.
fn trace() -> Trace {
    let updates: Vec<Update> = (0..3)
        .map(|c| {
            Update::from_fixed(
                (0..40)
                    .map(|v| {
                        if (v + c) % 9 == 0 {
                            i32::MIN + v
                        } else {
                            v * 1000 - c * 77_777
                        }
                    })
                    .collect(),
            )
        })
        .collect();
    let participants = updates
        .iter()
        .enumerate()
        .map(|(c, u)| Participant {
            update_root: u.root(),
            weight: 17 + c as u32 * 1_000_003,
        })
        .collect();
    let ctx = RoundContext::new(
        step_vm::RoundConfig::fedavg(1, [3; 20], 1, [0; 32], 40),
        participants,
    )
    .unwrap();
    Trace::execute(ctx, updates).unwrap()
}

// ---- encoding in lockstep with the VM, satisfiability -------------------------------------

#[test]
fn exposed_instances_equal_step_vm_packing_for_every_step_of_a_round() {
    let trace = trace();
    for k in 0..trace.steps() {
        let witness = trace.witness(k).unwrap();
        let assignment = Assignment::of_witness(&witness).unwrap();
        let (builder, exposed) = mock(witness.kind(), &assignment);
        assert_eq!(exposed, to_fr(&witness.instances().unwrap()), "step {k}");
        assert_eq!(exposed.len(), builder.assigned_instances[0].len());
        // MockProver is ~0.3 s per run: check satisfaction on one step of each kind.
        if k == 1 || k == 3 {
            assert!(mock_ok(&builder, exposed), "step {k}");
        }
    }
}

#[test]
fn instance_counts_match_the_spec() {
    let (a, i) = acc_case(1, &[0; LANES], &[0; LANES]);
    assert_eq!(i.len(), 28);
    assert_eq!(mock_builder_accumulate(&a).1.len(), 28);
    let (f, i) = fin_case(1, &[0; LANES]);
    assert_eq!(i.len(), 17);
    assert_eq!(mock_builder_finalize(&f).1.len(), 17);
}

#[test]
fn accumulate_honest_extremes_satisfy() {
    let (x, acc) = extremes();
    let (a, instances) = acc_case(u32::MAX / 4, &x, &acc);
    let (builder, exposed) = mock_builder_accumulate(&a);
    assert_eq!(exposed, instances, "circuit packing equals step-vm packing");
    assert!(mock_ok(&builder, instances));
}

#[test]
fn finalize_honest_extremes_satisfy() {
    for w in [1u32, 2, 3, 1000, u32::MAX] {
        let (a, instances) = fin_case(w, &fin_register(w));
        let (builder, exposed) = mock_builder_finalize(&a);
        assert_eq!(exposed, instances);
        assert!(mock_ok(&builder, instances), "W = {w}");
    }
}

#[test]
fn references_agree_with_step_vm_and_refuse_unsatisfiable_steps() {
    let (x, acc) = extremes();
    assert_eq!(
        accumulate_reference(9, &x, &acc).unwrap(),
        accumulate(&acc, 9, &x)
    );
    // i64::MAX + 1 would wrap in step-vm; the circuit has no solution.
    let mut top = [0i64; LANES];
    top[4] = i64::MAX;
    let mut one = [0i32; LANES];
    one[4] = 1;
    assert!(matches!(
        accumulate_reference(1, &one, &top),
        Err(CircuitError::Unsatisfiable { .. })
    ));
    assert!(matches!(
        finalize_reference(0, &acc),
        Err(CircuitError::Unsatisfiable { .. })
    ));
    assert!(matches!(
        finalize_reference(1, &[i64::MAX; LANES]),
        Err(CircuitError::Unsatisfiable { .. })
    ));
    let w = u32::MAX;
    assert_eq!(
        finalize_reference(w, &fin_register(w)).unwrap(),
        finalize(&fin_register(w), w).unwrap()
    );
}

// ---- Accumulate: one negative test per constraint family ----------------------------------

#[test]
fn accumulate_rejects_a_wrong_instance() {
    let (x, acc) = extremes();
    let (a, mut instances) = acc_case(7, &x, &acc);
    let (builder, _) = mock_builder_accumulate(&a);
    for i in [0, 3, 27] {
        let honest = instances[i];
        instances[i] += Fr::from(1u64);
        assert!(!mock_ok(&builder, instances.clone()), "instance {i}");
        instances[i] = honest;
    }
}

#[test]
fn accumulate_rejects_acc_out_off_by_one() {
    let (x, acc) = extremes();
    let (mut a, _) = acc_case(7, &x, &acc);
    // acc' = acc + w·x + 1 in lane 5, with instances consistent with the tampered cells: only
    // the relation can catch it.
    a.acc_out[5] += Fr::from(1u64);
    let (builder, exposed) = mock_builder_accumulate(&a);
    assert!(!mock_ok(&builder, exposed));
}

#[test]
fn accumulate_rejects_out_of_range_x_and_weight() {
    // x limb 2^32 (x = 2^31, not an i32) with acc' consistent with it.
    let mut a = AccumulateAssignment::dummy();
    a.x[0] = pow2(32);
    a.acc_out[0] = a.acc[0] + a.weight * a.x[0] - a.weight * pow2(31);
    let (builder, exposed) = mock_builder_accumulate(&a);
    assert!(!mock_ok(&builder, exposed));
    // A "negative" weight (r - 1), acc' consistent with it.
    let mut a = AccumulateAssignment::dummy();
    a.weight = -Fr::from(1u64);
    a.x[0] = Fr::from(5u64) + pow2(31);
    a.acc_out[0] = a.acc[0] + a.weight * a.x[0] - a.weight * pow2(31);
    let (builder, exposed) = mock_builder_accumulate(&a);
    assert!(!mock_ok(&builder, exposed));
}

#[test]
fn accumulate_rejects_limbs_that_carry_into_a_neighbour_with_the_same_instances() {
    // Lanes 0 and 1 share a packed instance. Moving 1 out of lane 0's limb and adding 2^64 to
    // lane 1's limb (in acc and acc' alike) keeps every instance and the relation; only the
    // 64-bit range check on lane 1 stands in the way.
    let (x, acc) = extremes();
    let (honest, instances) = acc_case(11, &x, &acc);
    let mut a = honest;
    for limbs in [&mut a.acc, &mut a.acc_out] {
        limbs[0] -= Fr::from(1u64);
        limbs[1] += pow2(64);
    }
    let (builder, exposed) = mock_builder_accumulate(&a);
    assert_eq!(
        exposed, instances,
        "the forgery packs to the honest instances"
    );
    assert!(!mock_ok(&builder, exposed));
}

#[test]
fn accumulate_rejects_a_forged_claim_whose_x_instance_is_honest() {
    // The same carry in x (lane 0 limb − 1, lane 1 limb + 2^32) keeps the x instance; the
    // relation then yields a different acc': a false post-state with the honest inputs.
    let (x, acc) = extremes();
    let w = 11u32;
    let (honest, instances) = acc_case(w, &x, &acc);
    let mut a = honest;
    let wf = Fr::from(u64::from(w));
    a.x[0] -= Fr::from(1u64);
    a.x[1] += pow2(32);
    a.acc_out[0] -= wf;
    a.acc_out[1] += wf * pow2(32);
    let (builder, exposed) = mock_builder_accumulate(&a);
    assert_eq!(
        exposed[..17],
        instances[..17],
        "w, x and acc are the honest ones"
    );
    assert_ne!(exposed[17..], instances[17..], "acc' is forged");
    assert!(!mock_ok(&builder, exposed));
}

// ---- Finalize: one negative test per constraint family ------------------------------------

#[test]
fn finalize_rejects_a_wrong_instance() {
    let acc = fin_register(5);
    let (a, mut instances) = fin_case(5, &acc);
    let (builder, _) = mock_builder_finalize(&a);
    for i in [0, 4, 16] {
        let honest = instances[i];
        instances[i] += Fr::from(1u64);
        assert!(!mock_ok(&builder, instances.clone()), "instance {i}");
        instances[i] = honest;
    }
}

#[test]
fn finalize_rejects_a_broken_relation() {
    let (mut a, _) = fin_case(5, &fin_register(5));
    a.remainder[1] += Fr::from(1u64);
    let (builder, exposed) = mock_builder_finalize(&a);
    assert!(!mock_ok(&builder, exposed));
}

#[test]
fn finalize_remainder_bounds_are_tight() {
    // r = 2acc + W - 2W·out must lie in [0, 2W). Valid edges: W = 3, acc = -2: 2acc + W = -1 =
    // 6·(-1) + 5, so r = 2W - 1; W = 2, acc = 1: 4 = 4·1 + 0, so r = 0.
    let lanes = |w: u32, a0: i64| {
        let mut acc = [0i64; LANES];
        acc[0] = a0;
        (w, acc, finalize(&acc, w).unwrap())
    };
    for (w, a0, r) in [(3, -2, 5u64), (2, 1, 0)] {
        let (w, acc, out) = lanes(w, a0);
        let a = FinalizeAssignment::new(w, &acc, &out);
        assert_eq!(a.remainder[0], Fr::from(r));
        let (builder, exposed) = mock_builder_finalize(&a);
        assert!(mock_ok(&builder, exposed), "W = {w}, r = {r}");
    }
    // Claiming a quotient one off pushes r just outside: to 2W - 1 + 2W, to 2W exactly,
    // below zero by W, and to -1 (the field element r - 1).
    let cases: [(u32, i64, i32, Fr); 4] = [
        (3, -2, -1, Fr::from(11u64)),
        (2, 1, -1, Fr::from(4u64)),
        (3, 12, 1, signed_fr(-3)),
        (1, 0, 1, signed_fr(-1)),
    ];
    for (w, a0, shift, r) in cases {
        let (w, acc, mut out) = lanes(w, a0);
        out[0] += shift;
        let a = FinalizeAssignment::new(w, &acc, &out);
        assert_eq!(a.remainder[0], r);
        let (builder, exposed) = mock_builder_finalize(&a);
        assert!(!mock_ok(&builder, exposed), "W = {w}, r = {r:?}");
    }
}

#[test]
fn finalize_rejects_zero_weight_and_out_of_range_limbs() {
    // W = 0: 2W - 1 - r = -1 - r is never in range.
    let a = FinalizeAssignment::new(0, &[0; LANES], &[0; LANES]);
    let (builder, exposed) = mock_builder_finalize(&a);
    assert!(!mock_ok(&builder, exposed));
    // out limb 2^32 (out = 2^31, not an i32), remainder consistent with it: with W = 1,
    // acc = 0, 2acc + W = 2W·out + r gives r = 1 - 2^32 (the range check on r fails too).
    let mut a = FinalizeAssignment::dummy();
    a.out[0] = pow2(32);
    a.remainder[0] = Fr::from(1u64) - pow2(32);
    let (builder, exposed) = mock_builder_finalize(&a);
    assert!(!mock_ok(&builder, exposed));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4))]

    #[test]
    fn random_steps_with_extremes_satisfy(
        w in prop_oneof![Just(1u32), Just(u32::MAX), 1u32..=u32::MAX],
        xs in prop::array::uniform32(prop_oneof![Just(i32::MIN), Just(i32::MAX), any::<i32>()]),
        prior in 0u64..=u64::from(u32::MAX),
        ys in prop::array::uniform32(any::<i32>()),
        total in prop_oneof![Just(1u32), Just(u32::MAX), 1u32..=u32::MAX],
        qs in prop::array::uniform32(prop_oneof![Just(i32::MIN), Just(i32::MAX), any::<i32>()]),
        ss in prop::array::uniform32(any::<u32>()),
    ) {
        // Accumulate from a reachable register: earlier weights sum to at most 2^32 - 1 - w.
        let prior = prior.min(u64::from(u32::MAX - w)) as i64;
        let acc: AccLeaf = std::array::from_fn(|l| prior * i64::from(ys[l]));
        let (a, instances) = acc_case(w, &xs, &acc);
        let (builder, exposed) = mock_builder_accumulate(&a);
        prop_assert_eq!(&exposed, &instances);
        prop_assert!(mock_ok(&builder, instances));
        // Finalize of any register reachable with total weight W: W·q + s, 0 <= s < W, within
        // [W·i32::MIN, W·i32::MAX].
        let t = i64::from(total);
        let reg: AccLeaf = std::array::from_fn(|l| {
            let base = t * i64::from(qs[l]);
            if qs[l] == i32::MAX { base } else { base + i64::from(ss[l]) % t }
        });
        let (f, instances) = fin_case(total, &reg);
        let (builder, exposed) = mock_builder_finalize(&f);
        prop_assert_eq!(&exposed, &instances);
        prop_assert!(mock_ok(&builder, instances));
    }
}

// ---- configuration, keys, Solidity --------------------------------------------------------

#[test]
fn pinned_params_fit_the_layout() {
    for kind in StepKind::PROVEN {
        assert_eq!(
            format!("{:?}", derived_params(kind)),
            format!("{:?}", circuit_params(kind)),
            "{} layout no longer fits its pinned configuration",
            kind.name()
        );
    }
}

fn provers() -> &'static (StepProver, StepProver) {
    static P: OnceLock<(StepProver, StepProver)> = OnceLock::new();
    P.get_or_init(|| {
        let srs = crate::srs::shared_dev_srs();
        (
            StepProver::setup(StepKind::Accumulate, srs).unwrap(),
            StepProver::setup(StepKind::Finalize, srs).unwrap(),
        )
    })
}

#[test]
fn verifying_keys_match_the_pinned_fingerprints() {
    let (acc, fin) = provers();
    for p in [acc, fin] {
        let path = format!(
            "{}/keys/{}.vk.keccak",
            env!("CARGO_MANIFEST_DIR"),
            p.kind().name()
        );
        let pinned = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{path}: {e}; run `cargo run -p circuits --bin keygen`"));
        assert_eq!(
            pinned.trim(),
            p.vk_fingerprint(),
            "{} circuit changed: regenerate with `cargo run -p circuits --bin keygen`",
            p.kind().name()
        );
    }
}

#[test]
fn solidity_verifiers_are_renamed_and_match_the_generated_files() {
    let (acc, fin) = provers();
    for p in [acc, fin] {
        let name = p.kind().name();
        let code = p.solidity_verifier().unwrap();
        assert_eq!(code.matches("pragma solidity ^0.8.19;").count(), 1);
        assert_eq!(
            code.matches(&format!("contract {name}Verifier ")).count(),
            1
        );
        assert!(!code.contains("Halo2Verifier"));
        // Byte-identical to the committed file, which an earlier run (another process) wrote.
        let path = format!(
            "{}/../contracts/src/generated/{name}Verifier.sol",
            env!("CARGO_MANIFEST_DIR")
        );
        let on_disk = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{path}: {e}; run `cargo run -p circuits --bin keygen`"));
        assert!(
            on_disk == code,
            "{path} is stale: regenerate with `cargo run -p circuits --bin keygen`"
        );
    }
}

// ---- real proofs -----------------------------------------------------------------------------

#[test]
fn real_proofs_verify_and_tampering_is_rejected() {
    let (acc, fin) = provers();
    let trace = trace();
    for (step, prover) in [(1, acc), (3, fin)] {
        let w = trace.witness(step).unwrap();
        let proof = prover.prove(&w).expect("honest step proves");
        assert_eq!(proof.instances, w.instances().unwrap());
        prover.verify(&proof).expect("verifies");
        // The calldata is snark-verifier's encoding: instances big-endian, then the proof.
        let fr = to_fr(&proof.instances);
        assert_eq!(
            proof.calldata(),
            snark_verifier_sdk::evm::encode_calldata(&[fr], &proof.proof)
        );
        let mut bad = proof.clone();
        bad.instances[1][31] ^= 1;
        assert!(matches!(
            prover.verify(&bad),
            Err(CircuitError::InvalidProof { .. })
        ));
        let mut bad = proof.clone();
        let mid = bad.proof.len() / 2;
        bad.proof[mid] ^= 1;
        assert!(prover.verify(&bad).is_err());
        // x + r encodes the same field element; refused rather than reduced.
        let mut bad = proof.clone();
        bad.instances[0] = [0xff; 32];
        assert!(matches!(
            prover.verify(&bad),
            Err(CircuitError::InstanceNotInField { index: 0 })
        ));
        let mut bad = proof.clone();
        bad.kind = if bad.kind == StepKind::Accumulate {
            StepKind::Finalize
        } else {
            StepKind::Accumulate
        };
        assert!(matches!(
            prover.verify(&bad),
            Err(CircuitError::WrongKind { .. })
        ));
    }
}

#[test]
fn false_claims_are_errors_before_proving_never_panics() {
    let (acc, fin) = provers();
    let trace = trace();
    let honest_acc = trace.witness(1).unwrap();
    let honest_fin = trace.witness(3).unwrap();

    let mut lie = honest_acc.clone();
    lie.post.register[6] += 1;
    assert!(matches!(
        acc.prove(&lie),
        Err(CircuitError::ClaimMismatch {
            lane: 6,
            register: "acc'",
            ..
        })
    ));
    let mut lie = honest_fin.clone();
    if let step_vm::StepReads::Finalize(step_vm::FinalizeReads { out, .. }) = &mut lie.reads {
        out[31] -= 1;
    }
    assert!(matches!(
        fin.prove(&lie),
        Err(CircuitError::ClaimMismatch {
            lane: 31,
            register: "out",
            ..
        })
    ));
    // Total weight 0 (step-vm would divide by zero) and an overflowing register.
    let mut zero = honest_fin.clone();
    if let step_vm::StepReads::Finalize(step_vm::FinalizeReads { total_weight, .. }) =
        &mut zero.reads
    {
        *total_weight = 0;
    }
    assert!(matches!(
        fin.prove(&zero),
        Err(CircuitError::Unsatisfiable { .. })
    ));
    let mut overflow = honest_acc.clone();
    overflow.pre.register[0] = i64::MAX;
    overflow.post.register =
        accumulate(&overflow.pre.acc().unwrap(), 100, &[i32::MAX; LANES]).to_vec();
    if let step_vm::StepReads::Accumulate(step_vm::ClientRead { weight, x, .. }) =
        &mut overflow.reads
    {
        *weight = 100;
        *x = [i32::MAX; LANES];
    }
    assert!(matches!(
        acc.prove(&overflow),
        Err(CircuitError::Unsatisfiable { .. })
    ));
    assert!(matches!(
        fin.prove(&honest_acc),
        Err(CircuitError::WrongKind { .. })
    ));
}

/// Timings of key generation, proving and verification in the current profile; run with
/// `cargo test -p circuits --lib -- --ignored --nocapture timings`.
#[test]
#[ignore = "measurement, not a check"]
fn timings() {
    use std::time::Instant;
    let srs_started = Instant::now();
    let srs = crate::Srs::insecure_dev();
    let srs_time = srs_started.elapsed();
    let trace = trace();
    eprintln!("dev SRS setup (k = {K}): {:.2} s", srs_time.as_secs_f64());
    for (kind, step) in [(StepKind::Accumulate, 1), (StepKind::Finalize, 3)] {
        let started = Instant::now();
        let prover = StepProver::setup(kind, &srs).unwrap();
        let keygen = started.elapsed();
        let witness = trace.witness(step).unwrap();
        let mut prove = Vec::new();
        let mut verify = Vec::new();
        let mut proof = None;
        for _ in 0..3 {
            let started = Instant::now();
            let p = prover.prove(&witness).unwrap();
            prove.push(started.elapsed().as_secs_f64());
            let started = Instant::now();
            prover.verify(&p).unwrap();
            verify.push(started.elapsed().as_secs_f64());
            proof = Some(p);
        }
        let started = Instant::now();
        let sol = prover.solidity_verifier().unwrap();
        let codegen = started.elapsed();
        let assignment = Assignment::of_witness(&witness).unwrap();
        let started = Instant::now();
        let (builder, exposed) = mock(kind, &assignment);
        assert!(mock_ok(&builder, exposed));
        let mock_time = started.elapsed();
        let stats = crate::layout_stats(kind);
        eprintln!(
            "{:<10} {stats:?}\n           keygen {:.2} s, prove {:?} s (incl. native verify), verify {:?} s, MockProver {:.2} s, codegen {:.2} s, proof {} bytes, Solidity {} bytes",
            kind.name(),
            keygen.as_secs_f64(),
            prove,
            verify,
            mock_time.as_secs_f64(),
            codegen.as_secs_f64(),
            proof.map_or(0, |p| p.proof.len()),
            sol.len()
        );
    }
}
