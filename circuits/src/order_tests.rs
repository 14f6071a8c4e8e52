//! Tests of the order-statistic circuits on real median and trimmed-mean traces: instances in
//! lockstep with step-vm for every step, satisfiability (ties, extremes, even `n`), binding of
//! every public input, prover refusals, and real proofs.

use std::sync::OnceLock;

use step_vm::{Participant, RoundConfig, RoundContext, Rule, StepKind, StepReads, Trace, Update};

use crate::prover::{Assignment, mock};
use crate::test_support::{assert_inputs_bound, mock_ok, to_fr};
use crate::{CircuitError, StepProver};

/// A small round under `rule`: `n` participants, 40 values (2 chunks), with ties, the ends of
/// the i32 range and equal bounds.
fn trace(rule: Rule, n: usize) -> (RoundContext, Trace) {
    let updates: Vec<Update> = (0..n)
        .map(|c| {
            Update::from_fixed(
                (0..40i32)
                    .map(|v| match (v + c as i32) % 6 {
                        0 => i32::MIN,
                        1 => i32::MAX,
                        2 => 7, // a tie in every lane
                        _ => v * 1000 - c as i32 * 77_777,
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
        rule,
        ..RoundConfig::fedavg(1, [3; 20], 1, [0; 32], 40)
    };
    let ctx = RoundContext::new(config, participants).unwrap();
    (ctx.clone(), Trace::execute(ctx, updates).unwrap())
}

#[test]
fn exposed_instances_equal_step_vm_packing_for_every_step() {
    for (rule, n) in [
        (Rule::Median, 3),
        (Rule::Median, 4),
        (Rule::TrimmedMean { beta_bps: 2_500 }, 5),
    ] {
        let (_, trace) = trace(rule, n);
        let mut satisfied = [false; 3];
        for k in 0..trace.steps() {
            let witness = trace.witness(k).unwrap();
            let assignment = Assignment::of_witness(&witness).unwrap();
            let (_, exposed) = mock(witness.kind(), &assignment);
            let expected = to_fr(&witness.instances().unwrap());
            assert_eq!(exposed, expected, "{rule:?} step {k}");
            // MockProver is slow: one step of each kind per round, the emit of chunk 0 and
            // every pass's last rank step of chunk 1 through the sample below.
            let slot = match witness.kind() {
                StepKind::Rank => 0,
                StepKind::TrimSum => 1,
                _ => 2,
            };
            let decisive = matches!(&witness.reads, StepReads::Rank(r) if r.last && r.pass == 31);
            if !satisfied[slot] && (slot != 0 || decisive) {
                assert!(
                    mock_ok(witness.kind(), &assignment, expected),
                    "{rule:?} step {k}"
                );
                satisfied[slot] = true;
            }
        }
        assert_eq!(satisfied, [true; 3], "{rule:?}");
    }
}

#[test]
fn every_public_input_is_bound() {
    let (_, trace) = trace(Rule::Median, 4);
    let per_row = 33 * 4 + 1;
    // The last rank step of pass 31 (a decision), a sum step, and the emit.
    for k in [4 * 32 - 1, 4 * 32 + 2, per_row - 1] {
        let witness = trace.witness(k).unwrap();
        assert_inputs_bound(&witness, false);
    }
}

#[test]
fn false_claims_are_refused_before_proving() {
    let (_, trace) = trace(Rule::TrimmedMean { beta_bps: 2_000 }, 5);
    let mut rank = trace.witness(5).unwrap();
    rank.post.register[3] += 1; // lo of lane 3
    assert!(matches!(
        Assignment::of_witness(&rank),
        Err(CircuitError::ClaimMismatch {
            register: "lo'",
            lane: 3,
            ..
        })
    ));
    let mut sum = trace.witness(32 * 5 + 1).unwrap();
    sum.post.register[4 * 32 + 9] -= 1; // sum of lane 9
    assert!(matches!(
        Assignment::of_witness(&sum),
        Err(CircuitError::ClaimMismatch {
            register: "sum'",
            lane: 9,
            ..
        })
    ));
    let mut emit = trace.witness(33 * 5).unwrap();
    if let StepReads::TrimEmit(r) = &mut emit.reads {
        r.out[31] += 1;
    }
    assert!(matches!(
        Assignment::of_witness(&emit),
        Err(CircuitError::ClaimMismatch {
            register: "out",
            lane: 31,
            ..
        })
    ));
    // A register no honest execution reaches (a bound beyond 2^33) cannot be carried.
    let mut wild = trace.witness(6).unwrap();
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
        [StepKind::Rank, StepKind::TrimSum, StepKind::TrimEmit]
            .map(|kind| StepProver::setup(kind, srs).unwrap())
    })
}

#[test]
fn real_proofs_of_every_order_kind_verify_and_tampering_fails() {
    let (_, trace) = trace(Rule::Median, 4);
    for (prover, k) in provers().iter().zip([4 * 32 - 1, 4 * 32 + 3, 33 * 4]) {
        let witness = trace.witness(k).unwrap();
        assert_eq!(witness.kind(), prover.kind());
        let proof = prover.prove(&witness).unwrap();
        assert_eq!(proof.instances, witness.instances().unwrap());
        prover.verify(&proof).unwrap();
        let mut bad = proof.clone();
        bad.instances[1][31] ^= 1;
        assert!(prover.verify(&bad).is_err(), "{:?}", prover.kind());
    }
}
