//! What both devnet modes share: the chain clock, waiting for the two rounds to end (with the
//! mid-game restart hook), and checking that they ended as the protocol guarantees.

use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, U256};
use contracts::{Chain, Deployment};
use protocol::RoundStatus;
use tokio::sync::watch;
use tracing::{info, warn};

use crate::{DevnetError, POLL, Result, RoundReport};

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
/// calling `restart` once, the first time `challenger`'s game on the dishonest round has
/// bisected past its first position. Returns the reports and whether the restart happened.
pub(crate) async fn await_rounds<C: Chain>(
    d: &Deployment<C>,
    rounds: &[Opened],
    challenger: Address,
    timeout: Duration,
    mut restart: Option<&mut (dyn FnMut() -> Result<()> + Send)>,
) -> Result<(Vec<RoundReport>, usize)> {
    let deadline = Instant::now() + timeout;
    let mut restarts = 0;
    let mut ended: Vec<Option<RoundReport>> = vec![None; rounds.len()];
    loop {
        if Instant::now() > deadline {
            return Err(DevnetError::Violation(format!(
                "the rounds did not end within {} s (ended: {:?})",
                timeout.as_secs(),
                ended.iter().map(Option::is_some).collect::<Vec<_>>()
            )));
        }
        if restarts == 0
            && let Some(hook) = restart.as_mut()
            && let Some(dishonest) = rounds.iter().find(|r| r.kind == "dishonest")
        {
            for (game, by) in d.challenged_games(dishonest.round).await? {
                if by == challenger && d.game(game).await?.lo > 0 {
                    warn!(game, "killing the challenger mid-game");
                    hook()?;
                    restarts += 1;
                    break;
                }
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
            return Ok((ended.into_iter().flatten().collect(), restarts));
        }
        tokio::time::sleep(POLL).await;
    }
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
