//! Tests of the clipping circuits on real clipped traces: instances in lockstep with step-vm,
//! satisfiability (the zero norm, a norm exactly at the threshold, the largest values), binding
//! of every public input, refusals before proving, `Clip` steps proven by their base kind's
//! circuit, and real proofs.

use std::sync::OnceLock;

use step_vm::{
    Base, Participant, RoundConfig, RoundContext, Rule, StepKind, StepReads, Trace, UNIT_SCALE,
    Update, norm,
};

use crate::prover::{Assignment, mock};
use crate::test_support::{assert_inputs_bound, mock_ok, to_fr};
use crate::{CircuitError, Fr, ScaleAssignment, StepProver};

/// Participant 0 all zeros, 1 exactly at the threshold (3-4-5 in Q15.16: norm 5·2^16 = τ), 2
/// the i32 extremes (clipped), 3 moderate (clipped). 40 values: 2 chunks.
fn trace(base: Base) -> (RoundContext, Trace) {
    let threshold: u32 = 5 << 16;
    let updates: Vec<Update> = (0..4)
        .map(|c| {
            Update::from_fixed(
                (0..40i32)
                    .map(|v| match (c, v) {
                        (0, _) => 0,
                        (1, 0) => 3 << 16,
                        (1, 33) => -(4 << 16),
                        (1, _) => 0,
                        (2, _) if v % 2 == 0 => i32::MIN,
                        (2, _) => i32::MAX,
                        _ => v * 100_000 - 1_999_999,
                    })
                    .collect(),
            )
        })
        .collect();
    assert_eq!(norm(updates[1].values()), u64::from(threshold));
    let participants = updates
        .iter()
        .map(|u| Participant {
            update_root: u.root(),
            weight: 3,
        })
        .collect();
    let config = RoundConfig {
        rule: Rule::Clipped { threshold, base },
        ..RoundConfig::fedavg(1, [3; 20], 1, [0; 32], 40)
    };
    let ctx = RoundContext::new(config, participants).unwrap();
    (ctx.clone(), Trace::execute(ctx, updates).unwrap())
}

/// Prologue: 4 rows of 3 columns (2 Norm, 1 Scale).
const PROLOGUE: u64 = 12;

#[test]
fn every_prologue_step_satisfies_its_circuit_in_lockstep_with_step_vm() {
    let (_, trace) = trace(Base::FedAvg);
    for k in 0..PROLOGUE {
        let witness = trace.witness(k).unwrap();
        let assignment = Assignment::of_witness(&witness).unwrap();
        let (_, exposed) = mock(witness.kind(), &assignment);
        let expected = to_fr(&witness.instances().unwrap());
        assert_eq!(exposed, expected, "step {k}");
        assert!(mock_ok(witness.kind(), &assignment, expected), "step {k}");
    }
    // The zero norm and the norm at the threshold keep the unit scale; the others are clipped.
    let scales: Vec<u64> = (0..4)
        .map(|i| match trace.witness(i * 3 + 2).unwrap().reads {
            StepReads::Scale(s) => s.scale,
            other => panic!("{:?}", other.kind()),
        })
        .collect();
    assert_eq!(scales[..2], [UNIT_SCALE, UNIT_SCALE]);
    assert!(scales[2] < UNIT_SCALE / 1000 && scales[3] < UNIT_SCALE);
}

#[test]
fn clip_steps_are_base_steps_over_clipped_values() {
    for base in [Base::FedAvg, Base::Median] {
        let (_, trace) = trace(base);
        for k in [PROLOGUE, PROLOGUE + 2, trace.steps() - 1] {
            let witness = trace.witness(k).unwrap();
            assert_eq!(witness.kind(), StepKind::Clip);
            let proven = witness.proven();
            assert_ne!(proven.kind(), StepKind::Clip);
            let assignment = Assignment::of_witness(&witness).unwrap();
            let expected = to_fr(&witness.instances().unwrap());
            assert_eq!(expected, to_fr(&proven.instances().unwrap()));
            assert!(
                mock_ok(proven.kind(), &assignment, expected),
                "{base:?} step {k}"
            );
        }
    }
}

#[test]
fn every_public_input_is_bound() {
    let (_, trace) = trace(Base::FedAvg);
    // A Norm step over the extremes, the Scale of a clipped participant, and of the one at
    // the threshold.
    for k in [7, 8, 5] {
        let witness = trace.witness(k).unwrap();
        assert_inputs_bound(&witness, true);
    }
}

#[test]
fn a_wrong_square_root_or_quotient_is_unsatisfiable() {
    let (_, trace) = trace(Base::FedAvg);
    let witness = trace.witness(8).unwrap();
    let honest = Assignment::of_witness(&witness).unwrap();
    let Assignment::Scale(a) = honest else {
        panic!()
    };
    let instances = to_fr(&witness.instances().unwrap());
    for tweak in [
        |a: &mut ScaleAssignment| a.root += Fr::from(1u64),
        |a: &mut ScaleAssignment| a.root -= Fr::from(1u64),
        |a: &mut ScaleAssignment| {
            a.quotient += Fr::from(1u64);
            a.remainder -= a.root;
        },
    ] {
        let mut bad = a;
        tweak(&mut bad);
        assert!(!mock_ok(
            StepKind::Scale,
            &Assignment::Scale(bad),
            instances.clone()
        ));
    }
}

#[test]
fn false_claims_are_refused_before_proving() {
    let (_, trace) = trace(Base::FedAvg);
    let mut norm_step = trace.witness(7).unwrap();
    norm_step.post.register[0] += 1;
    assert!(matches!(
        Assignment::of_witness(&norm_step),
        Err(CircuitError::ClaimMismatch {
            register: "lo'",
            ..
        })
    ));
    let mut scale = trace.witness(8).unwrap();
    if let StepReads::Scale(s) = &mut scale.reads {
        s.scale -= 1;
    }
    assert!(matches!(
        Assignment::of_witness(&scale),
        Err(CircuitError::ClaimMismatch { register: "s", .. })
    ));
    let mut wild = trace.witness(7).unwrap();
    wild.pre.register[0] = 1 << 40;
    assert!(matches!(
        Assignment::of_witness(&wild),
        Err(CircuitError::Unsatisfiable { .. })
    ));
}

fn provers() -> &'static [StepProver; 3] {
    static P: OnceLock<[StepProver; 3]> = OnceLock::new();
    P.get_or_init(|| {
        let srs = crate::srs::shared_dev_srs();
        [StepKind::Norm, StepKind::Scale, StepKind::Accumulate]
            .map(|kind| StepProver::setup(kind, srs).unwrap())
    })
}

#[test]
fn real_proofs_of_norm_scale_and_a_clip_step_verify_and_tampering_fails() {
    let (_, trace) = trace(Base::FedAvg);
    // Norm, Scale, and the first base step (Accumulate of participant 0 under clipping: the
    // extremes of participant 2 come two steps later).
    for (prover, k) in provers().iter().zip([7, 8, PROLOGUE + 2]) {
        let witness = trace.witness(k).unwrap();
        assert_eq!(witness.proven().kind(), prover.kind());
        let proof = prover.prove(&witness).unwrap();
        assert_eq!(proof.instances, witness.instances().unwrap());
        prover.verify(&proof).unwrap();
        let mut bad = proof.clone();
        bad.instances[0][31] ^= 1;
        assert!(prover.verify(&bad).is_err(), "{:?}", prover.kind());
    }
}
