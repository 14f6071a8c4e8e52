//! The challenger: watches a round's updates for availability (challenging what it cannot
//! obtain), re-executes posted results in the step VM, disputes a wrong one with a bond,
//! plays the bisection game, proves the disputed step and collects.
//!
//! The [`GamePlayer`] is role-agnostic (as op-challenger defends as well as attacks): the
//! aggregator crate uses it to defend its own results. Each call to [`GamePlayer::step`] reads
//! the game, asks the pure solver (`arbiter::solve`) for the next action and sends it.

mod availability;
mod error;
mod leaf;
mod player;
mod round;
mod watcher;

pub use availability::{
    MemoryBoard, UpdateSource, answer_challenges, challenge_unavailable, gather_updates,
    obtain_update, settle_unanswered,
};
pub use error::{ChallengerError, Result};
pub use leaf::leaf_input;
pub use player::{GamePlayer, Turn};
pub use round::{
    RoundInputs, check_config_hash, pending_inputs, round_config, round_inputs, status,
};
pub use watcher::{Challenger, Verdict};
