//! The solver: one pure function from (role, game, own trace) to the next action.
//!
//! The same solver drives honest and dishonest actors; what differs is the trace they hold.
//! Invariants (tested below against a reference model of the contract): an actor whose trace
//! is correct never loses, and every game ends within `2·ceil(log2 T) + 1` moves.

use step_vm::Digest;

use crate::{ArbiterError, GameStatus, GameView, Result, Role};

/// Where an actor's state hashes come from.
pub trait TraceProvider {
    /// Program length `T`.
    fn steps(&self) -> u64;
    /// The actor's state hash at `k` (`0 ..= T`).
    ///
    /// # Errors
    /// `k` past `T`.
    fn state_hash(&self, k: u64) -> Result<Digest>;
}

impl TraceProvider for step_vm::Trace {
    fn steps(&self) -> u64 {
        step_vm::Trace::steps(self)
    }

    fn state_hash(&self, k: u64) -> Result<Digest> {
        Ok(step_vm::Trace::state_hash(self, k)?)
    }
}

/// What an actor should do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Aggregator: post its hash at the midpoint. Names the claim it answers.
    Bisect {
        /// Current lower end.
        lo: u64,
        /// Current upper end.
        hi: u64,
        /// Claim at `hi` being split.
        h_hi: Digest,
        /// Own hash at the midpoint.
        h_mid: Digest,
    },
    /// Challenger: agree or disagree with the posted midpoint. Names the claim it answers.
    Respond {
        /// The midpoint.
        mid: u64,
        /// The aggregator's claim at `mid`.
        h_mid: Digest,
        /// Whether the own trace has the same hash there.
        agree: bool,
    },
    /// Prove step `step` (pre-state `step`, post-state `step + 1`) with a leaf proof.
    ProveLeaf {
        /// The disputed step.
        step: u64,
    },
    /// The opponent's clock ran out: end the game.
    ClaimTimeout,
    /// Nothing to do now (the opponent moves, or the game is over).
    Wait,
}

/// The next action of `role` in `game`, given its own trace.
///
/// # Errors
/// [`ArbiterError::InconsistentGame`] if the interval lies outside the trace.
pub fn solve(role: Role, game: &GameView, trace: &impl TraceProvider) -> Result<Action> {
    if game.status.is_resolved() {
        return Ok(Action::Wait);
    }
    if game.hi > trace.steps() || game.lo >= game.hi {
        return Err(ArbiterError::InconsistentGame(format!(
            "interval [{}, {}] in a trace of {} steps",
            game.lo,
            game.hi,
            trace.steps()
        )));
    }
    let mover = game.status.side_to_move();
    if mover == Some(role.opponent()) && game.mover_time_left == 0 {
        return Ok(Action::ClaimTimeout);
    }
    // The own clock ran out: any move would revert (a leaf the aggregator would win is
    // refused too), so wait for the opponent to claim the game.
    if mover == Some(role) && game.mover_time_left == 0 {
        return Ok(Action::Wait);
    }
    Ok(match (role, game.status) {
        (Role::Aggregator, GameStatus::AwaitingMid) => {
            let mid = game.mid();
            Action::Bisect {
                lo: game.lo,
                hi: game.hi,
                h_hi: game.h_hi,
                h_mid: trace.state_hash(mid)?,
            }
        }
        (Role::Challenger, GameStatus::AwaitingResponse) => {
            let mid = game.mid();
            Action::Respond {
                mid,
                h_mid: game.pending_mid,
                agree: trace.state_hash(mid)? == game.pending_mid,
            }
        }
        (_, GameStatus::AwaitingLeaf) => {
            // The step proof yields the true post-state; proving helps whoever's trace says
            // the claim at `hi` is (for the aggregator) or is not (for the challenger) it. Both
            // need the agreed pre-state in their own trace to build the witness.
            let own_lo = trace.state_hash(game.lo)?;
            let own_hi = trace.state_hash(game.hi)?;
            let helps = match role {
                Role::Aggregator => own_hi == game.h_hi,
                Role::Challenger => own_hi != game.h_hi,
            };
            if helps && own_lo == game.h_lo {
                Action::ProveLeaf { step: game.lo }
            } else {
                Action::Wait
            }
        }
        _ => Action::Wait,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A toy trace: hash k is `k` in a byte, except from `diverge` on, where it is marked.
    struct Toy {
        steps: u64,
        diverge: Option<u64>,
    }

    impl TraceProvider for Toy {
        fn steps(&self) -> u64 {
            self.steps
        }
        fn state_hash(&self, k: u64) -> Result<Digest> {
            let mut d = [0u8; 32];
            d[..8].copy_from_slice(&k.to_be_bytes());
            if self.diverge.is_some_and(|s| k > s) {
                d[31] = 1;
            }
            Ok(d)
        }
    }

    /// Reference model of the contract's rules; the leaf is decided by the true trace, as the
    /// step proof would.
    fn play(truth: &Toy, agg: &Toy, ch: &Toy) -> (GameStatus, u32) {
        let mut g = GameView {
            lo: 0,
            hi: truth.steps,
            h_lo: truth.state_hash(0).unwrap(),
            h_hi: agg.state_hash(truth.steps).unwrap(),
            pending_mid: [0; 32],
            status: if truth.steps == 1 {
                GameStatus::AwaitingLeaf
            } else {
                GameStatus::AwaitingMid
            },
            mover_time_left: 100,
        };
        let mut moves = 0;
        for _ in 0..200 {
            if g.status.is_resolved() {
                break;
            }
            let actions = [
                solve(Role::Aggregator, &g, agg).unwrap(),
                solve(Role::Challenger, &g, ch).unwrap(),
            ];
            let mut progressed = false;
            for a in actions {
                match a {
                    Action::Bisect {
                        lo,
                        hi,
                        h_hi,
                        h_mid,
                    } => {
                        assert_eq!((lo, hi, h_hi), (g.lo, g.hi, g.h_hi));
                        g.pending_mid = h_mid;
                        g.status = GameStatus::AwaitingResponse;
                    }
                    Action::Respond { mid, h_mid, agree } => {
                        assert_eq!((mid, h_mid), (g.mid(), g.pending_mid));
                        if agree {
                            (g.lo, g.h_lo) = (mid, h_mid);
                        } else {
                            (g.hi, g.h_hi) = (mid, h_mid);
                        }
                        g.status = if g.hi - g.lo == 1 {
                            GameStatus::AwaitingLeaf
                        } else {
                            GameStatus::AwaitingMid
                        };
                    }
                    Action::ProveLeaf { step } => {
                        assert_eq!(step, g.lo);
                        assert_eq!(
                            truth.state_hash(g.lo).unwrap(),
                            g.h_lo,
                            "a leaf is only proven from a true pre-state"
                        );
                        let ok = truth.state_hash(g.hi).unwrap() == g.h_hi;
                        g.status = if ok {
                            GameStatus::AggregatorWon
                        } else {
                            GameStatus::ChallengerWon
                        };
                    }
                    Action::ClaimTimeout | Action::Wait => continue,
                }
                moves += 1;
                progressed = true;
                break;
            }
            if !progressed {
                // Nobody can move: the mover's clock runs out.
                g.mover_time_left = 0;
                let claim = match g.status.side_to_move().unwrap() {
                    Role::Aggregator => solve(Role::Challenger, &g, ch).unwrap(),
                    Role::Challenger => solve(Role::Aggregator, &g, agg).unwrap(),
                };
                assert_eq!(claim, Action::ClaimTimeout);
                g.status = match g.status.side_to_move().unwrap() {
                    Role::Aggregator => GameStatus::ChallengerWon,
                    Role::Challenger => GameStatus::AggregatorWon,
                };
            }
        }
        (g.status, moves)
    }

    proptest! {
        #[test]
        fn honest_challenger_beats_lying_aggregator(steps in 1u64..5000, fault in 0u64..5000) {
            let fault = fault % steps;
            let truth = Toy { steps, diverge: None };
            let liar = Toy { steps, diverge: Some(fault) };
            let (status, moves) = play(&truth, &liar, &truth);
            prop_assert_eq!(status, GameStatus::ChallengerWon);
            prop_assert!(u64::from(moves) <= 2 * u64::from(64 - (steps - 1).leading_zeros()) + 1);
        }

        #[test]
        fn honest_aggregator_beats_lying_challenger(steps in 1u64..5000, fault in 0u64..5000) {
            let fault = fault % steps;
            let truth = Toy { steps, diverge: None };
            let liar = Toy { steps, diverge: Some(fault) };
            let (status, _) = play(&truth, &truth, &liar);
            prop_assert_eq!(status, GameStatus::AggregatorWon);
        }
    }

    #[test]
    fn resolved_games_need_nothing() {
        let t = Toy {
            steps: 4,
            diverge: None,
        };
        let g = GameView {
            lo: 0,
            hi: 4,
            h_lo: [0; 32],
            h_hi: [0; 32],
            pending_mid: [0; 32],
            status: GameStatus::ChallengerWon,
            mover_time_left: 0,
        };
        assert_eq!(solve(Role::Aggregator, &g, &t).unwrap(), Action::Wait);
    }

    #[test]
    fn expired_own_clock_waits_and_the_opponent_claims() {
        let t = Toy {
            steps: 4,
            diverge: None,
        };
        let mut g = GameView {
            lo: 0,
            hi: 4,
            h_lo: t.state_hash(0).unwrap(),
            h_hi: t.state_hash(4).unwrap(),
            pending_mid: [0; 32],
            status: GameStatus::AwaitingMid,
            mover_time_left: 0,
        };
        assert_eq!(solve(Role::Aggregator, &g, &t).unwrap(), Action::Wait);
        assert_eq!(
            solve(Role::Challenger, &g, &t).unwrap(),
            Action::ClaimTimeout
        );
        g.status = GameStatus::AwaitingResponse;
        assert_eq!(solve(Role::Challenger, &g, &t).unwrap(), Action::Wait);
        assert_eq!(
            solve(Role::Aggregator, &g, &t).unwrap(),
            Action::ClaimTimeout
        );
    }

    #[test]
    fn interval_outside_trace_is_an_error() {
        let t = Toy {
            steps: 4,
            diverge: None,
        };
        let g = GameView {
            lo: 2,
            hi: 9,
            h_lo: [0; 32],
            h_hi: [0; 32],
            pending_mid: [0; 32],
            status: GameStatus::AwaitingMid,
            mover_time_left: 10,
        };
        assert!(matches!(
            solve(Role::Aggregator, &g, &t),
            Err(ArbiterError::InconsistentGame(_))
        ));
    }
}
