//! What both devnet modes share: the chain clock, waiting for the two rounds to end (with the
//! mid-game restart hook), and checking that they ended as the protocol guarantees.

use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, U256};
use contracts::{Chain, Deployment};
use protocol::RoundStatus;
use tokio::sync::watch;
use tracing::{info, warn};

use crate::{DevnetError, KillPoint, POLL, Result, RoundReport, Victim};

/// A round the devnet opened.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Opened {
    /// Round id.
    pub(crate) round: u64,
    /// `honest` or `dishonest`.
    pub(crate) kind: &'static str,
    /// When it was opened (wall).
    pub(crate) at: Instant,
    /// When it was opened (chain).
    pub(crate) chain_at: u64,
}

/// A task moving the chain's clock `speed` chain seconds per wall second, until stopped.
pub(crate) struct Clock {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Clock {
    /// Starts the clock on `chain`.
    pub(crate) fn start<C: Chain + 'static>(chain: Arc<C>, speed: u64) -> Self {
        let (stop, mut rx) = watch::channel(false);
        let step = (speed / 20).max(1);
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_millis(50)) => {}
                    _ = rx.changed() => break,
                }
                if let Err(e) = chain.advance_time(step).await {
                    warn!(error = %e, "clock could not advance");
                }
            }
        });
        Self { stop, task }
    }

    /// Stops the clock.
    pub(crate) async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Waits until every round has ended (a rejected one once settled and every game paid),
/// killing and restarting a daemon through `kill` the first time each of `points` is reached.
/// Returns the reports and the points reached.
pub(crate) async fn await_rounds<C: Chain>(
    d: &Deployment<C>,
    rounds: &[Opened],
    challenger: Address,
    timeout: Duration,
    points: &[KillPoint],
    kill: &mut (dyn FnMut(Victim) -> Result<()> + Send),
) -> Result<(Vec<RoundReport>, Vec<KillPoint>)> {
    let deadline = Instant::now() + timeout;
    let mut reached = Vec::new();
    let mut ended: Vec<Option<RoundReport>> = vec![None; rounds.len()];
    loop {
        if Instant::now() > deadline {
            return Err(DevnetError::Violation(format!(
                "the rounds did not end within {} s (ended: {:?})",
                timeout.as_secs(),
                ended.iter().map(Option::is_some).collect::<Vec<_>>()
            )));
        }
        for &point in points {
            if !reached.contains(&point) && kill_point_reached(d, rounds, challenger, point).await?
            {
                warn!(?point, victim = ?point.victim(), "killing a daemon");
                kill(point.victim())?;
                reached.push(point);
            }
        }
        for (slot, r) in ended.iter_mut().zip(rounds) {
            if slot.is_some() {
                continue;
            }
            let view = d.round(r.round).await?;
            let status = RoundStatus::of(r.round, &view)?;
            let games = d.challenged_games(r.round).await?;
            let mut all_paid = true;
            for (g, _) in &games {
                all_paid &= d.claimable(*g).await?.is_zero();
            }
            let over = match status {
                RoundStatus::Finalized | RoundStatus::Expired => true,
                RoundStatus::Rejected => view.settled && all_paid,
                _ => false,
            };
            if over {
                info!(round = r.round, kind = r.kind, status = ?status, "round ended");
                *slot = Some(RoundReport {
                    round: r.round,
                    aggregator: r.kind,
                    status: format!("{status:?}"),
                    participants: view.participants,
                    games: games.len(),
                    wall_seconds: r.at.elapsed().as_secs_f64(),
                    chain_seconds: d.chain().timestamp().await?.saturating_sub(r.chain_at),
                });
            }
        }
        if ended.iter().all(Option::is_some) {
            return Ok((ended.into_iter().flatten().collect(), reached));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Whether the chain is at `point` now.
async fn kill_point_reached<C: Chain>(
    d: &Deployment<C>,
    rounds: &[Opened],
    challenger: Address,
    point: KillPoint,
) -> Result<bool> {
    let of = |kind| rounds.iter().find(|r| r.kind == kind).map(|r| r.round);
    if point == KillPoint::BeforePost {
        let Some(round) = of("honest") else {
            return Ok(false);
        };
        let view = d.round(round).await?;
        return Ok(RoundStatus::of(round, &view)? == RoundStatus::Committing
            && view.committedCount == view.clientCount);
    }
    let Some(round) = of("dishonest") else {
        return Ok(false);
    };
    for (game, by) in d.challenged_games(round).await? {
        if by != challenger {
            continue;
        }
        let g = d.game(game).await?;
        return Ok(match point {
            // Status codes as `BisectionGame.GameStatus`: 0 awaiting a midpoint, 1 awaiting a
            // response, 2 awaiting the leaf proof.
            KillPoint::MidBisection => g.lo > 0 && g.status < 2,
            KillPoint::MidProof => g.status == 2,
            KillPoint::BeforeClaim => {
                d.round(round).await?.settled && !d.claimable(game).await?.is_zero()
            }
            KillPoint::BeforePost => false,
        });
    }
    Ok(false)
}

/// Fails unless the honest round finalised and the dishonest one was rejected.
pub(crate) fn check_outcomes(rounds: &[RoundReport]) -> Result<()> {
    for r in rounds {
        let want = if r.aggregator == "honest" {
            "Finalized"
        } else {
            "Rejected"
        };
        if r.status != want {
            return Err(DevnetError::Violation(format!(
                "round {} ({} aggregator) ended {}, not {want}",
                r.round, r.aggregator, r.status
            )));
        }
    }
    Ok(())
}

/// `after - before` as a signed decimal.
pub(crate) fn signed(after: U256, before: U256) -> String {
    if after >= before {
        (after - before).to_string()
    } else {
        format!("-{}", before - after)
    }
}
