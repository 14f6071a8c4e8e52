//! The bisection game as the solver sees it (mirrors `BisectionGame.sol`).

use step_vm::Digest;

/// The two sides of a game.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Role {
    /// Posted the result; defends its claims and bisects.
    Aggregator,
    /// Disputes the result; answers each bisection.
    Challenger,
}

impl Role {
    /// The other side.
    #[must_use]
    pub fn opponent(self) -> Self {
        match self {
            Self::Aggregator => Self::Challenger,
            Self::Challenger => Self::Aggregator,
        }
    }
}

/// Phase of a game (same order as the contract's enum).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum GameStatus {
    /// The aggregator must post its state hash at the midpoint.
    AwaitingMid,
    /// The challenger must agree or disagree with the posted midpoint.
    AwaitingResponse,
    /// `hi = lo + 1`: the single step must be proven (the aggregator's clock runs).
    AwaitingLeaf,
    /// Resolved for the aggregator.
    AggregatorWon,
    /// Resolved for the challenger.
    ChallengerWon,
}

impl GameStatus {
    /// Whether the game is over.
    #[must_use]
    pub fn is_resolved(self) -> bool {
        matches!(self, Self::AggregatorWon | Self::ChallengerWon)
    }

    /// Whose clock runs in this phase.
    #[must_use]
    pub fn side_to_move(self) -> Option<Role> {
        match self {
            Self::AwaitingMid | Self::AwaitingLeaf => Some(Role::Aggregator),
            Self::AwaitingResponse => Some(Role::Challenger),
            Self::AggregatorWon | Self::ChallengerWon => None,
        }
    }
}

/// A game's on-chain state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GameView {
    /// Lower end of the disputed interval; `h_lo` is agreed.
    pub lo: u64,
    /// Upper end; `h_hi` is the aggregator's claim, disputed.
    pub hi: u64,
    /// Agreed state hash at `lo`.
    pub h_lo: Digest,
    /// Aggregator's claimed state hash at `hi`.
    pub h_hi: Digest,
    /// The aggregator's pending midpoint claim (meaningful in `AwaitingResponse`).
    pub pending_mid: Digest,
    /// Phase.
    pub status: GameStatus,
    /// Seconds the side to move has left as of `now` (saturating at zero).
    pub mover_time_left: u64,
}

impl GameView {
    /// Midpoint the next bisection uses.
    #[must_use]
    pub fn mid(&self) -> u64 {
        self.lo + (self.hi - self.lo) / 2
    }
}
