//! The crate's error type.

use thiserror::Error;

/// Result alias for this crate.
pub type Result<T, E = VmError> = std::result::Result<T, E>;

/// Everything that can be wrong with the VM's inputs. VM outcomes on valid inputs are data,
/// never errors.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum VmError {
    /// A floating-point input was NaN or infinite.
    #[error("value {index} is not finite ({value}); NaN and ±Inf are rejected at ingestion")]
    NotFinite {
        /// Position of the value in the update.
        index: usize,
        /// The offending value, as text.
        value: String,
    },
    /// A floating-point input does not fit the Q15.16 range.
    #[error("value {index} = {value} is outside the fixed-point range [-32768, 32768)")]
    OutOfRange {
        /// Position of the value in the update.
        index: usize,
        /// The offending value.
        value: f64,
    },
    /// An update has the wrong number of values.
    #[error(
        "update of participant {participant} has {actual} values, the round expects {expected}"
    )]
    DimensionMismatch {
        /// Participant index.
        participant: usize,
        /// Model dimension of the round.
        expected: usize,
        /// Values received.
        actual: usize,
    },
    /// An update does not hash to the root its client committed.
    #[error(
        "update of participant {participant} hashes to {actual}, but the committed root is {expected}"
    )]
    RootMismatch {
        /// Participant index.
        participant: usize,
        /// Committed root (hex).
        expected: String,
        /// Root of the data received (hex).
        actual: String,
    },
    /// The round configuration is invalid.
    #[error("invalid round configuration: {field} is {actual}, expected {expected}")]
    InvalidRound {
        /// Field name.
        field: &'static str,
        /// What is allowed.
        expected: String,
        /// What was given.
        actual: String,
    },
    /// A rule's parameter is outside its bound.
    #[error("invalid parameters for rule {rule}: {param} must be {bound}")]
    InvalidRuleParams {
        /// The rule.
        rule: &'static str,
        /// The parameter.
        param: &'static str,
        /// The bound it violates, with the value given.
        bound: String,
    },
    /// A step index past the end of the program.
    #[error("step {step} is out of range: the program has {steps} steps")]
    StepOutOfRange {
        /// Requested step.
        step: u64,
        /// Program length.
        steps: u64,
    },
    /// A finalised value does not fit the 32-bit fixed-point format (only reachable from a
    /// state no honest execution produces).
    #[error("finalised value {value} in lane {lane} does not fit i32")]
    Overflow {
        /// Lane index.
        lane: usize,
        /// The out-of-range result.
        value: i128,
    },
    /// An update rebuilt from its published segments does not hash to its committed root.
    #[error(
        "the update rebuilt from its segments hashes to {actual}, but the committed root is {expected}"
    )]
    RebuiltRootMismatch {
        /// Committed root (hex).
        expected: String,
        /// Root of the rebuilt update (hex).
        actual: String,
    },
    /// A published data segment is malformed or does not open the committed root.
    #[error("data segment {segment}: {reason}")]
    BadSegment {
        /// Segment index.
        segment: usize,
        /// What is wrong.
        reason: String,
    },
}
