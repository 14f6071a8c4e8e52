//! Test support shared by the circuits' kind tests (`order_tests`, `clip_tests`,
//! `select_tests`): the VM's instances as field elements, the mock prover's verdict, and the
//! check that every public input is bound.

use halo2_base::halo2_proofs::dev::MockProver;
use step_vm::{StepKind, StepWitness};

use crate::prover::{Assignment, mock};
use crate::{Fr, K, instance_to_fr};

/// The step VM's instances as field elements.
pub(crate) fn to_fr(instances: &[step_vm::Instance]) -> Vec<Fr> {
    instances
        .iter()
        .enumerate()
        .map(|(i, w)| instance_to_fr(i, w).unwrap())
        .collect()
}

/// Whether `kind`'s circuit over `a` is satisfied with public inputs `instances`.
pub(crate) fn mock_ok(kind: StepKind, a: &Assignment, instances: Vec<Fr>) -> bool {
    let (builder, _) = mock(kind, a);
    MockProver::run(K, &builder, vec![instances])
        .expect("mock prover runs")
        .verify()
        .is_ok()
}

/// Asserts that the circuit proving `witness` refuses its honest instances with one of them
/// moved by 1: each instance when `every`, else the first, the middle and the last.
pub(crate) fn assert_inputs_bound(witness: &StepWitness, every: bool) {
    let kind = witness.kind().circuit().unwrap();
    let assignment = Assignment::of_witness(witness).unwrap();
    let honest = to_fr(&witness.instances().unwrap());
    let indices: Vec<usize> = if every {
        (0..honest.len()).collect()
    } else {
        vec![0, honest.len() / 2, honest.len() - 1]
    };
    for index in indices {
        let mut wrong = honest.clone();
        wrong[index] += Fr::from(1u64);
        assert!(
            !mock_ok(kind, &assignment, wrong),
            "step {} ({kind:?}): instance {index} is not bound",
            witness.step
        );
    }
}
