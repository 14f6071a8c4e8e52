//! Circuit tests: satisfiability of honest witnesses, a negative test per constraint family,
//! instance encoding in lockstep with the VM, and a real proof per kind.

use std::sync::OnceLock;

use halo2_base::halo2_proofs::dev::MockProver;
use proptest::prelude::*;
use step_vm::{
    LANES, Participant, RoundContext, StepKind, StepWitness, Trace, Update, accumulate,
    accumulate_instances, finalize, finalize_instances,
};

use crate::gadgets::pow2;
use crate::prover::{mock_builder_accumulate, mock_builder_finalize};
use crate::{
    AccumulateAssignment, CircuitError, FinalizeAssignment, Fr, K, Srs, StepProver, instance_to_fr,
};

fn mock_ok(
    builder: &halo2_base::gates::circuit::builder::BaseCircuitBuilder<Fr>,
    instances: Vec<Fr>,
) -> bool {
    MockProver::run(K, builder, vec![instances])
        .expect("mock prover runs")
        .verify()
        .is_ok()
}

fn acc_case(w: u32, x: &[i32; LANES], acc: &[i64; LANES]) -> (AccumulateAssignment, Vec<Fr>) {
    let out = accumulate(acc, w, x);
    let instances = accumulate_instances(w, x, acc, &out)
        .iter()
        .map(instance_to_fr)
        .collect();
    (AccumulateAssignment::new(w, x, acc, &out), instances)
}

/// A register that an honest accumulation with total weight `w` can reach: `w·x` plus a
/// remainder, so the quotients span the whole i32 range and every rounding case.
fn fin_register(w: u32) -> [i64; LANES] {
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

fn fin_case(w: u32, acc: &[i64; LANES]) -> (FinalizeAssignment, Vec<Fr>) {
    let out = finalize(acc, w).expect("in range");
    let instances = finalize_instances(w, acc, &out)
        .iter()
        .map(instance_to_fr)
        .collect();
    (FinalizeAssignment::new(w, acc, &out), instances)
}

fn extremes() -> ([i32; LANES], [i64; LANES]) {
    let mut x = [0i32; LANES];
    let mut acc = [0i64; LANES];
    for l in 0..LANES {
        x[l] = match l % 4 {
            0 => i32::MIN,
            1 => i32::MAX,
            2 => -1,
            _ => l as i32 * 1000 - 7,
        };
        acc[l] = (l as i64 - 16) * 3_000_000_007;
    }
    (x, acc)
}

#[test]
fn accumulate_honest_witness_satisfies_and_exposes_vm_instances() {
    let (x, acc) = extremes();
    let (a, instances) = acc_case(u32::MAX / 4, &x, &acc);
    let (builder, exposed) = mock_builder_accumulate(&a);
    assert_eq!(exposed, instances, "circuit packing equals step-vm packing");
    assert!(mock_ok(&builder, instances));
}

#[test]
fn accumulate_rejects_a_wrong_instance() {
    let (x, acc) = extremes();
    let (a, mut instances) = acc_case(7, &x, &acc);
    instances[3] += Fr::from(1u64);
    let (builder, _) = mock_builder_accumulate(&a);
    assert!(!mock_ok(&builder, instances));
}

#[test]
fn accumulate_rejects_a_wrong_relation() {
    let (x, acc) = extremes();
    let (mut a, _) = acc_case(7, &x, &acc);
    a.acc_out[5] += Fr::from(1u64);
    // Instances consistent with the tampered cells: only the relation can catch it.
    let (builder, exposed) = mock_builder_accumulate(&a);
    assert!(!mock_ok(&builder, exposed));
}

#[test]
fn accumulate_rejects_an_out_of_range_limb() {
    // x limb 2^32 (= x + 2^31 with x = 2^31, not an i32) with acc' consistent with it.
    let mut a = AccumulateAssignment::dummy();
    a.x[0] = pow2(32);
    a.acc_out[0] = a.acc[0] + a.weight * a.x[0] - a.weight * pow2(31);
    let (builder, exposed) = mock_builder_accumulate(&a);
    assert!(!mock_ok(&builder, exposed));
}

#[test]
fn finalize_honest_witness_satisfies_and_exposes_vm_instances() {
    for w in [1u32, 2, 3, 1000, u32::MAX] {
        let (a, instances) = fin_case(w, &fin_register(w));
        let (builder, exposed) = mock_builder_finalize(&a);
        assert_eq!(exposed, instances);
        assert!(mock_ok(&builder, instances), "W = {w}");
    }
}

#[test]
fn finalize_rejects_a_wrong_quotient() {
    let acc = fin_register(3);
    let out = finalize(&acc, 3).unwrap();
    let mut wrong = out;
    wrong[2] += 1;
    // The remainder follows from the wrong claim and goes negative: the range check catches it.
    let a = FinalizeAssignment::new(3, &acc, &wrong);
    let (builder, exposed) = mock_builder_finalize(&a);
    assert!(!mock_ok(&builder, exposed));
    wrong[2] -= 2;
    // Now the remainder is 2W + r: too large, the upper-bound check catches it.
    let a = FinalizeAssignment::new(3, &acc, &wrong);
    let (builder, exposed) = mock_builder_finalize(&a);
    assert!(!mock_ok(&builder, exposed));
}

#[test]
fn finalize_rejects_a_wrong_instance_and_a_broken_relation() {
    let acc = fin_register(5);
    let (a, mut instances) = fin_case(5, &acc);
    instances[0] += Fr::from(1u64);
    let (builder, _) = mock_builder_finalize(&a);
    assert!(!mock_ok(&builder, instances));
    let (mut a, _) = fin_case(5, &acc);
    a.remainder[1] += Fr::from(1u64);
    let (builder, exposed) = mock_builder_finalize(&a);
    assert!(!mock_ok(&builder, exposed));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]

    #[test]
    fn random_steps_satisfy(w in 1u32..=u32::MAX / 2, xs in prop::array::uniform32(any::<i32>()), a in prop::array::uniform32(-(1i64 << 61)..(1i64 << 61))) {
        let (acc_a, acc_i) = acc_case(w, &xs, &a);
        let (builder, _) = mock_builder_accumulate(&acc_a);
        prop_assert!(mock_ok(&builder, acc_i));
        let acc = accumulate(&[0; LANES], w, &xs);
        let (fin_a, fin_i) = fin_case(w, &acc);
        let (builder, _) = mock_builder_finalize(&fin_a);
        prop_assert!(mock_ok(&builder, fin_i));
    }
}

fn provers() -> &'static (StepProver, StepProver) {
    static P: OnceLock<(StepProver, StepProver)> = OnceLock::new();
    P.get_or_init(|| {
        let srs = Srs::insecure_dev();
        (
            StepProver::setup(StepKind::Accumulate, &srs).unwrap(),
            StepProver::setup(StepKind::Finalize, &srs).unwrap(),
        )
    })
}

fn witnesses() -> Vec<StepWitness> {
    let updates: Vec<Update> = (0..3)
        .map(|c| Update::from_fixed((0..40).map(|v| v * 1000 - c * 77_777).collect()))
        .collect();
    let participants = updates
        .iter()
        .map(|u| Participant {
            update_root: u.root(),
            weight: 17,
        })
        .collect();
    let ctx = RoundContext::new([3; 20], 1, 40, participants).unwrap();
    let trace = Trace::execute(ctx, updates).unwrap();
    vec![trace.witness(1).unwrap(), trace.witness(3).unwrap()]
}

#[test]
fn real_proofs_verify_and_tampering_is_rejected() {
    let (acc, fin) = provers();
    let ws = witnesses();
    for (w, prover) in ws.iter().zip([acc, fin]) {
        let proof = prover.prove(w).expect("honest step proves");
        assert_eq!(proof.instances, w.instances());
        prover.verify(&proof).expect("verifies");
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
    }
    // A false claim is refused before proving; a witness of the other kind too.
    let mut lie = ws[0].clone();
    lie.post.acc[0] += 1;
    assert!(matches!(
        acc.prove(&lie),
        Err(CircuitError::Unsatisfiable { .. })
    ));
    assert!(matches!(
        fin.prove(&ws[0]),
        Err(CircuitError::WrongKind { .. })
    ));
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
