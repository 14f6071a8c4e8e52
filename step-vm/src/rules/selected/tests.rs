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
                StepKind::Distance | StepKind::SelectAccumulate => pos.col == 0,
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
        assert_eq!(seen["SelectFinalize"], plan.chunks as u64);
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
        let rounds = honest_rounds(&plan, &distances);
        let run = SelectedRun {
            ctx,
            plan,
            updates,
            distances: distances.clone(),
            rounds: rounds.clone(),
            output: Vec::new(),
            output_tree: CompleteTree::new(&[[0; 32]]),
        };
        for b in 0..plan.blocks {
            let reg = run.score_register(0, b, (SCORE_PASSES + 1) * n);
            let scores = crate::block_scores(&reg, plan.rank(0));
            assert_eq!(
                scores.as_slice(),
                &rounds[0].scores[b * SCORE_LANES..(b + 1) * SCORE_LANES]
            );
        }
        // The picks are the native selection's.
        assert_eq!(rounds[0].picks, distances.select(selection));
        // Real lanes' scores are Krum's.
        assert_eq!(
            &rounds[0].scores[..n],
            distances.scores(plan.selection.byzantine()).as_slice()
        );
    }
}
