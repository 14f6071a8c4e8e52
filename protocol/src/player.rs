//! Playing one bisection game for either role.

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{Address, B256};
use arbiter::{Action, ArbiterError, GameStatus, GameView, LeafProver, Role, solve};
use contracts::{Chain, Deployment};
use step_vm::{RoundContext, Trace};
use tracing::{info, instrument, warn};

use crate::{ProtocolError, Result, leaf_input};

/// What one call to [`GamePlayer::step`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Turn {
    /// Sent a transaction.
    Moved {
        /// The contract action (`bisect`, `respond`, `proveLeaf`, `timeout`).
        action: &'static str,
        /// Its gas.
        gas: u64,
        /// Its fee (wei).
        fee: alloy::primitives::U256,
        /// Proving time, for `proveLeaf`.
        prove: Option<Duration>,
    },
    /// Nothing to do until the opponent moves or its clock runs out.
    Waiting,
    /// The own trace claims a step the circuit cannot prove (a dishonest trace meets the
    /// truth): nothing to send.
    CannotProve {
        /// The step.
        step: u64,
    },
    /// The game is over.
    Resolved {
        /// Whether the aggregator won.
        aggregator_won: bool,
    },
}

fn status(raw: u8) -> Result<GameStatus> {
    Ok(match raw {
        0 => GameStatus::AwaitingMid,
        1 => GameStatus::AwaitingResponse,
        2 => GameStatus::AwaitingLeaf,
        3 => GameStatus::AggregatorWon,
        4 => GameStatus::ChallengerWon,
        other => {
            return Err(ProtocolError::Arbiter(ArbiterError::InconsistentGame(
                format!("unknown game status {other}"),
            )));
        }
    })
}

/// One side of one game: its account, its trace of the round, and the shared leaf prover.
pub struct GamePlayer<C> {
    deployment: Deployment<C>,
    account: Address,
    role: Role,
    game: u64,
    ctx: RoundContext,
    trace: Arc<Trace>,
    prover: Arc<LeafProver>,
}

impl<C> std::fmt::Debug for GamePlayer<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GamePlayer")
            .field("role", &self.role)
            .field("game", &self.game)
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

impl<C: Chain> GamePlayer<C> {
    /// A player of `game` for `role`, acting from `account` with its own `trace`.
    #[must_use]
    pub fn new(
        deployment: Deployment<C>,
        account: Address,
        role: Role,
        game: u64,
        trace: Arc<Trace>,
        prover: Arc<LeafProver>,
    ) -> Self {
        let ctx = trace.context().clone();
        Self {
            deployment,
            account,
            role,
            game,
            ctx,
            trace,
            prover,
        }
    }

    /// The game's current view, as the solver needs it.
    ///
    /// # Errors
    /// Chain access.
    pub async fn view(&self) -> Result<GameView> {
        let g = self.deployment.game(self.game).await?;
        let status = status(g.status)?;
        let mover_time_left = match status.side_to_move() {
            Some(side) => {
                self.deployment
                    .remaining_time(self.game, side == Role::Aggregator)
                    .await?
            }
            None => 0,
        };
        Ok(GameView {
            lo: g.lo,
            hi: g.hi,
            h_lo: g.hLo.0,
            h_hi: g.hHi.0,
            pending_mid: g.pendingMid.0,
            status,
            mover_time_left,
        })
    }

    /// Reads the game, decides, and sends at most one transaction.
    ///
    /// # Errors
    /// Chain access, a reverted move, or a VM/prover failure other than an unprovable claim.
    #[instrument(skip_all, fields(game = self.game, role = ?self.role))]
    pub async fn step(&self) -> Result<Turn> {
        let view = self.view().await?;
        if view.status.is_resolved() {
            return Ok(Turn::Resolved {
                aggregator_won: view.status == GameStatus::AggregatorWon,
            });
        }
        let d = &self.deployment;
        let (action, receipt, prove) = match solve(self.role, &view, self.trace.as_ref())? {
            Action::Wait => return Ok(Turn::Waiting),
            Action::Bisect {
                lo,
                hi,
                h_hi,
                h_mid,
            } => {
                info!(lo, hi, mid = view.mid(), "bisect");
                (
                    "bisect",
                    d.bisect(
                        self.account,
                        self.game,
                        lo,
                        hi,
                        B256::from(h_hi),
                        B256::from(h_mid),
                    )
                    .await?,
                    None,
                )
            }
            Action::Respond { mid, h_mid, agree } => {
                info!(mid, agree, "respond");
                (
                    "respond",
                    d.respond(self.account, self.game, mid, B256::from(h_mid), agree)
                        .await?,
                    None,
                )
            }
            Action::ClaimTimeout => {
                info!("opponent's clock ran out; claiming the game");
                ("timeout", d.timeout(self.account, self.game).await?, None)
            }
            Action::ProveLeaf { step } => {
                // Proving is seconds of CPU: off the async workers, so that the other games'
                // moves go on meanwhile.
                let (prover, ctx, trace) = (
                    Arc::clone(&self.prover),
                    self.ctx.clone(),
                    Arc::clone(&self.trace),
                );
                let proved = tokio::task::spawn_blocking(move || prover.prove(&ctx, &trace, step))
                    .await
                    .map_err(|e| ProtocolError::Round {
                        round: self.ctx.round_id(),
                        message: format!("the proving task of game {} failed: {e}", self.game),
                    })?;
                let proof = match proved {
                    Ok(p) => p,
                    Err(ArbiterError::ClaimNotProvable { .. }) => {
                        warn!(
                            step,
                            "own trace's claim for this step is not what the step computes; cannot prove it"
                        );
                        return Ok(Turn::CannotProve { step });
                    }
                    Err(e) => return Err(e.into()),
                };
                info!(step, kind = ?proof.witness.kind(), seconds = proof.prove_time.as_secs_f64(), "proving the disputed step");
                (
                    "proveLeaf",
                    d.prove_leaf(self.account, self.game, leaf_input(&proof)?)
                        .await?,
                    Some(proof.prove_time),
                )
            }
        };
        Ok(Turn::Moved {
            action,
            gas: receipt.gas_used,
            fee: receipt.fee(),
            prove,
        })
    }
}
