//! Tests of the distance family's circuits on real Krum and Multi-Krum traces: instances in
//! lockstep with step-vm for every step, satisfiability at every row end (writes, decisions,
//! picks), binding of public inputs, prover refusals, and real proofs of each new kind.

use std::sync::OnceLock;

use step_vm::{
    Participant, RoundConfig, RoundContext, Rule, Selection, StepKind, StepReads, StepWitness,
    Trace, Update,
};

use crate::prover::{Assignment, mock};
use crate::test_support::{assert_inputs_bound, mock_ok, to_fr};
use crate::{CircuitError, StepProver};

/// A small round under `selection`: `n` participants, 40 values (2 chunks), with the ends of
/// the i32 range (the widest distances) and equal updates (zero distances, tied scores).
fn trace(selection: Selection, n: usize) -> Trace {
    let updates: Vec<Update> = (0..n)
        .map(|c| {
            Update::from_fixed(
                (0..40i32)
                    .map(|v| match (v + c as i32 % 3) % 5 {
                        0 => i32::MIN,
                        1 => i32::MAX,
                        _ => v * 1000 - (c as i32 % 4) * 77_777,
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
        rule: Rule::Distance(selection),
        ..RoundConfig::fedavg(1, [3; 20], 1, [0; 32], 40)
    };
    let ctx = RoundContext::new(config, participants).unwrap();
    Trace::execute(ctx, updates).unwrap()
}

/// Whether the step ends its row (a write, a decision or a pick).
fn row_end(witness: &StepWitness) -> bool {
    match &witness.reads {
        StepReads::Distance(r) => r.writes.is_some(),
        StepReads::ScoreRank(r) => r.last && r.bit == 0,
        StepReads::ScoreSum(r) => r.last,
        StepReads::Pick(r) => r.last,
        StepReads::SelectRank(r) => r.last && r.pass == step_vm::RANK_PASSES - 1,
        StepReads::CloseRank(r) => r.last && r.pass == step_vm::CLOSE_PASSES - 1,
        StepReads::CloseSum(r) => r.last,
        _ => true,
    }
}

#[test]
fn exposed_instances_equal_step_vm_packing_for_every_step() {
    for (selection, n, kinds) in [
        (Selection::Krum { f: 1 }, 5, 6),
        (Selection::MultiKrum { f: 1, keep: 3 }, 9, 6),
        (Selection::Bulyan { f: 1 }, 7, 8),
    ] {
        let trace = trace(selection, n);
        let mut satisfied = std::collections::BTreeSet::new();
        for k in 0..trace.steps() {
            let witness = trace.witness(k).unwrap();
            let assignment = Assignment::of_witness(&witness).unwrap();
            let (_, exposed) = mock(witness.kind().circuit().unwrap(), &assignment);
            let expected = to_fr(&witness.instances().unwrap());
            assert_eq!(exposed, expected, "{selection:?} step {k}");
            // MockProver is slow: the first row end of each kind.
            if row_end(&witness) && satisfied.insert(witness.kind().name()) {
                assert!(
                    mock_ok(witness.kind().circuit().unwrap(), &assignment, expected),
                    "{selection:?} step {k} ({:?})",
                    witness.position
                );
            }
        }
        assert_eq!(satisfied.len(), kinds, "{selection:?}: {satisfied:?}");
    }
}

/// The first step of `kind` that ends its row.
fn first_row_end(trace: &Trace, kind: StepKind) -> StepWitness {
    (0..trace.steps())
        .map(|k| trace.witness(k).unwrap())
        .find(|w| w.kind() == kind && row_end(w))
        .expect("the program has the kind")
}

#[test]
fn every_public_input_is_bound() {
    let trace = trace(Selection::MultiKrum { f: 1, keep: 3 }, 9);
    for kind in [
        StepKind::Distance,
        StepKind::ScoreRank,
        StepKind::ScoreSum,
        StepKind::Pick,
    ] {
        let witness = first_row_end(&trace, kind);
        assert_inputs_bound(&witness, false);
    }
}

#[test]
fn false_claims_are_refused_before_proving() {
    let trace = trace(Selection::MultiKrum { f: 1, keep: 3 }, 9);
    let unsat = |w: &StepWitness| {
        matches!(
            Assignment::of_witness(w),
            Err(CircuitError::Unsatisfiable { .. })
        )
    };
    let mut distance = first_row_end(&trace, StepKind::Distance);
    if let StepReads::Distance(r) = &mut distance.reads {
        r.acc_out += 1;
    }
    assert!(unsat(&distance));
    let mut rank = first_row_end(&trace, StepKind::ScoreRank);
    rank.post.register[1] += 1; // lane 0's prefix
    assert!(unsat(&rank));
    let mut sum = first_row_end(&trace, StepKind::ScoreSum);
    if let StepReads::ScoreSum(r) = &mut sum.reads {
        r.out.sum[7] -= 1;
    }
    assert!(unsat(&sum));
    let mut pick = first_row_end(&trace, StepKind::Pick);
    if let StepReads::Pick(r) = &mut pick.reads {
        r.out.found += 1;
    }
    assert!(unsat(&pick));
    // A prefix no honest search reaches (at or past 2^92) cannot be carried.
    let mut wild = first_row_end(&trace, StepKind::ScoreRank);
    wild.pre.register[0] = 1 << 30; // lane 0's prefix, high word: 2^94
    assert!(unsat(&wild));
    // A witness of another kind is refused by name.
    assert!(matches!(
        <crate::DistanceAssignment as crate::prover::StepCircuit>::of_witness(&pick),
        Err(CircuitError::WrongKind { .. })
    ));
}

fn provers() -> &'static [StepProver; 4] {
    static P: OnceLock<[StepProver; 4]> = OnceLock::new();
    P.get_or_init(|| {
        let srs = crate::srs::shared_dev_srs();
        [
            StepKind::Distance,
            StepKind::ScoreRank,
            StepKind::ScoreSum,
            StepKind::Pick,
        ]
        .map(|kind| StepProver::setup(kind, srs).unwrap())
    })
}

#[test]
fn bulyan_trim_claims_are_refused_and_inputs_bound() {
    let trace = trace(Selection::Bulyan { f: 1 }, 7);
    for kind in [StepKind::CloseRank, StepKind::CloseSum, StepKind::CloseEmit] {
        let witness = first_row_end(&trace, kind);
        assert_inputs_bound(&witness, false);
        let mut false_claim = witness.clone();
        match &mut false_claim.reads {
            StepReads::CloseEmit(r) => r.out[3] += 1,
            _ => false_claim.post.register[2 * 32 + 5] += 1, // lane 5's prefix or count
        }
        assert!(
            Assignment::of_witness(&false_claim).is_err(),
            "{kind:?}: a false claim is refused"
        );
    }
}

fn close_provers() -> &'static [StepProver; 3] {
    static P: OnceLock<[StepProver; 3]> = OnceLock::new();
    P.get_or_init(|| {
        let srs = crate::srs::shared_dev_srs();
        [StepKind::CloseRank, StepKind::CloseSum, StepKind::CloseEmit]
            .map(|kind| StepProver::setup(kind, srs).unwrap())
    })
}

#[test]
fn real_proofs_of_bulyan_trim_kinds_verify() {
    let trace = trace(Selection::Bulyan { f: 1 }, 7);
    for prover in close_provers() {
        let witness = first_row_end(&trace, prover.kind());
        let proof = prover.prove(&witness).unwrap();
        prover.verify(&proof).unwrap();
        let mut bad = proof.clone();
        bad.instances[0][31] ^= 1;
        assert!(prover.verify(&bad).is_err(), "{:?}", prover.kind());
    }
}

#[test]
fn real_proofs_of_every_distance_kind_verify_and_tampering_fails() {
    let trace = trace(Selection::Krum { f: 1 }, 5);
    for prover in provers() {
        let witness = first_row_end(&trace, prover.kind());
        let proof = prover.prove(&witness).unwrap();
        assert_eq!(proof.instances, witness.instances().unwrap());
        prover.verify(&proof).unwrap();
        let mut bad = proof.clone();
        bad.instances[1][31] ^= 1;
        assert!(prover.verify(&bad).is_err(), "{:?}", prover.kind());
    }
}
