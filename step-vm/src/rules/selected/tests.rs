//! The distance family's program against its native semantics.

use super::*;
use crate::{Participant, RoundConfig, Rule};

fn round(selection: Selection, n: usize, dim: usize) -> (RoundContext, Vec<Update>) {
    let mut s = 0x5eed_u64 + n as u64;
    let updates: Vec<Update> = (0..n)
        .map(|_| {
            Update::from_fixed(
                (0..dim)
                    .map(|_| {
                        s ^= s << 13;
                        s ^= s >> 7;
                        s ^= s << 17;
                        i32::try_from(s % 4001).expect("small") - 2000
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
        ..RoundConfig::fedavg(1, [1; 20], 1, [0; 32], dim)
    };
    (
        RoundContext::new(config, participants).expect("valid"),
        updates,
    )
}

#[test]
fn the_schedule_covers_every_step_once_and_the_phases_meet_at_zero_registers() {
    for (selection, n, dim) in [
        (Selection::Krum { f: 1 }, 5, 40),
        (Selection::MultiKrum { f: 2, keep: 3 }, 10, 70),
        (Selection::Krum { f: 0 }, 1, 3),
        (Selection::Bulyan { f: 1 }, 7, 40),
        (Selection::Bulyan { f: 0 }, 2, 5),
    ] {
        let (ctx, updates) = round(selection, n, dim);
        let program = Selected::new(selection);
        let run = program
            .execute(ctx.clone(), updates.clone(), Arc::new(crate::Honest))
            .expect("runs");
        assert_eq!(
            run.output(),
            crate::distance_native(selection, &updates).expect("ok")
        );
        let shape = ctx.shape();
        let steps = program.steps(shape);
        assert_eq!(run.state(0).expect("state 0"), program.initial_state(shape));
        let last = run.state(steps).expect("final");
        assert_eq!(last, program.final_state(shape, &run.output_root()));
        let mut seen = std::collections::BTreeMap::new();
        for k in 0..steps {
            let pos = program.position(shape, k);
            *seen.entry(pos.kind.name()).or_insert(0u64) += 1;
            let state = run.state(k).expect("every state");
            assert_eq!(state.step, k);
            let start_of_row = match pos.kind {
                StepKind::Distance | StepKind::SelectAccumulate | StepKind::SelectRank => {
                    pos.col == 0
                }
                StepKind::ScoreRank | StepKind::Pick => pos.col == 0,
                _ => false,
            };
            if start_of_row {
                assert!(state.register.iter().all(|&w| w == 0), "step {k}: {pos:?}");
            }
        }
        let plan = Plan::new(selection, shape);
        assert_eq!(
            seen.get("Distance").copied().unwrap_or(0),
            plan.distance_steps()
        );
        let emit = if plan.trims() {
            "CloseEmit"
        } else {
            "SelectFinalize"
        };
        assert_eq!(seen[emit], plan.chunks as u64);
    }
}

#[test]
fn the_radix_replay_of_a_block_yields_the_scores_the_sorted_rows_give() {
    for (selection, n) in [
        (Selection::Krum { f: 1 }, 7),
        (Selection::MultiKrum { f: 3, keep: 4 }, 17),
    ] {
        let (ctx, updates) = round(selection, n, 64);
        let plan = Plan::new(selection, ctx.shape());
        let distances = Distances::compute(&updates).expect("one dimension");
        let matrix = full_matrix(&distances);
        let rounds = honest_rounds(&plan, &matrix);
        let run = SelectedRun {
            ctx,
            plan,
            updates,
            tamper: Arc::new(crate::Honest),
            matrix,
            rounds: rounds.clone(),
            output: Vec::new(),
            output_tree: CompleteTree::new(&[[0; 32]]),
        };
        // The replay through the (honest) hook is what the liar's path runs.
        assert_eq!(
            run.replayed_rounds()
                .iter()
                .map(|r| (&r.scores, &r.picks))
                .collect::<Vec<_>>(),
            rounds
                .iter()
                .map(|r| (&r.scores, &r.picks))
                .collect::<Vec<_>>()
        );
        // The picks are the native selection's.
        assert_eq!(rounds[0].picks, distances.select(selection));
        // Real lanes' scores are Krum's.
        assert_eq!(
            &rounds[0].scores[..n],
            distances.scores(plan.selection.byzantine()).as_slice()
        );
    }
}

#[test]
fn every_witness_checks_and_chains_states() {
    for (selection, n, dim, kind_count) in [
        (Selection::Krum { f: 1 }, 5, 40, 6),
        (Selection::MultiKrum { f: 1, keep: 3 }, 9, 33, 6),
        (Selection::Bulyan { f: 1 }, 7, 33, 8),
    ] {
        let (ctx, updates) = round(selection, n, dim);
        let trace = crate::Trace::execute(ctx.clone(), updates.clone()).expect("runs");
        assert_eq!(
            trace.output(),
            crate::distance_native(selection, &updates).expect("native")
        );
        let mut kinds = std::collections::BTreeSet::new();
        crate::rules::assert_chains(&trace, &ctx, |_, w| {
            kinds.insert(w.kind().name());
            w.instances().unwrap();
        });
        assert_eq!(kinds.len(), kind_count, "{kinds:?}");
    }
}

/// The first step of `kind` at or after `from`, and (for the writing kinds) the row's last.
#[cfg(feature = "adversary")]
fn step_of(ctx: &RoundContext, kind: StepKind, last_of_row: bool) -> u64 {
    (0..ctx.steps())
        .find(|&k| {
            let pos = ctx.position(k);
            let next = ctx.position(k + 1);
            pos.kind == kind && (!last_of_row || next.row != pos.row || next.kind != kind)
        })
        .expect("the program has the kind")
}

#[cfg(feature = "adversary")]
#[test]
fn a_fault_in_any_kind_diverges_exactly_after_its_step() {
    a_fault_in_each_kind_diverges(Selection::MultiKrum { f: 1, keep: 3 }, 9);
    a_fault_in_each_kind_diverges(Selection::Bulyan { f: 1 }, 7);
}

#[cfg(feature = "adversary")]
fn a_fault_in_each_kind_diverges(selection: Selection, n: usize) {
    let (ctx, updates) = round(selection, n, 40);
    let honest = crate::Trace::execute(ctx.clone(), updates.clone()).unwrap();
    let shape = ctx.shape();
    let program = Selected::new(selection);
    let ids: std::collections::BTreeSet<u8> = (0..ctx.steps())
        .map(|k| program.position(shape, k).kind.id())
        .collect();
    let mut faults = Vec::new();
    for kind in ids.into_iter().map(|id| StepKind::ALL[usize::from(id)]) {
        for last in [false, true] {
            // A register word, and the cell the step writes.
            faults.push(crate::Fault::output(step_of(&ctx, kind, last), 2, 3));
        }
    }
    // A different pick: the winner's index moved.
    faults.push(crate::Fault::output(
        step_of(&ctx, StepKind::Pick, true),
        0,
        1,
    ));
    for fault in faults {
        let step = fault.step;
        let liar = crate::Trace::execute_with(ctx.clone(), updates.clone(), Arc::new(fault))
            .expect("a liar runs");
        // (The final state derives from the output root alone: a fault that changes no pick
        // converges there, and its dispute never starts.)
        for k in [0, step, step + 1] {
            let same = liar.state_hash(k).unwrap() == honest.state_hash(k).unwrap();
            assert_eq!(
                same,
                k <= step,
                "{fault:?} ({:?}), state {k}",
                ctx.position(step)
            );
        }
        // The liar's own witness does not check to its claim (a write opened after its wrong
        // first write does not even verify); the honest witness checks to the honest state.
        let claim = liar.state_hash(step + 1).unwrap();
        if let Ok(checked) = liar.witness(step).unwrap().checked_post_commitment(&ctx) {
            assert_ne!(checked, claim, "{fault:?}");
        }
        let checked = honest.witness(step).unwrap().checked_post_commitment(&ctx);
        assert_eq!(checked.unwrap(), honest.state_hash(step + 1).unwrap());
        // Every later step of the liar checks: it lies once and then computes faithfully.
        for k in (step + 1..liar.steps()).step_by(97) {
            let w = liar.witness(k).unwrap();
            assert_eq!(
                w.checked_post_commitment(&ctx).unwrap(),
                liar.state_hash(k + 1).unwrap(),
                "{fault:?}: step {k} after the fault"
            );
        }
    }
}
