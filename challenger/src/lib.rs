//! The challenger: watches posted results, re-executes them in the step VM, disputes a wrong
//! one with a bond, plays the bisection game, proves the disputed step and collects.
//!
//! The [`GamePlayer`] is role-agnostic (as op-challenger defends as well as attacks): the
//! aggregator crate uses it to defend its own results. Each call to [`GamePlayer::step`] reads
//! the game, asks the pure solver (`arbiter::solve`) for the next action and sends it.

mod error;
mod leaf;
mod player;
mod round;
mod watcher;

pub use error::{ChallengerError, Result};
pub use leaf::leaf_input;
pub use player::{GamePlayer, Turn};
pub use round::{check_config_hash, committed_context, round_context};
pub use watcher::{Challenger, Verdict};
