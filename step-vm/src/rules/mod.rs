//! Rules: programs of step kinds.
//!
//! A rule implements [`Program`]: its schedule (the step count `T` and the kind and grid
//! position of step `k`, closed-form), its initial and final states, and its execution, which
//! computes the result natively and rebuilds any intermediate state on demand (the honest path
//! never hashes intermediate states). [`Rule`] is the round's choice of rule and parameters as
//! `openRound` fixes them; [`Rule::program`] is the one place that maps it to its program.
//!
//! Adding a rule: a module here implementing [`Program`] and [`Execution`], a variant in
//! [`Rule`] with its id, parameter encoding and validation, and its program contract on chain.

mod clipped;
mod fedavg;
mod order_mean;
mod rows;
pub(crate) mod selected;

use std::sync::Arc;

pub use clipped::Clipped;

pub use fedavg::{FedAvg, fedavg_native};
pub use order_mean::{OrderMean, order_mean_native};
pub use selected::{Phase as SelectedPhase, Plan as SelectedPlan, Selected};

use crate::{
    Digest, Result, RoundContext, Selection, State, StepKind, StepPosition, StepWitness, Tamper,
    Update, VmError, keccak256,
};

/// Basis points in one: trimmed-mean `β` is given in basis points.
pub const BPS: u32 = 10_000;

/// The aggregation rule of a round and its parameters, as `openRound` fixes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Rule {
    /// Weighted FedAvg (rule id 0, no parameters).
    #[default]
    FedAvg,
    /// Coordinate-wise median (rule id 1, no parameters): for even `n` the mean of the two
    /// middle values, rounded half up. Unweighted.
    Median,
    /// Coordinate-wise trimmed mean (rule id 2): `k = floor(β·n)` values removed at each end,
    /// the mean of the remaining `n - 2k` rounded half up. Unweighted. Parameters:
    /// `abi.encode(uint16 betaBps)`, `β = betaBps / 10000 < 1/2`.
    TrimmedMean {
        /// `β` in basis points, below 5,000.
        beta_bps: u16,
    },
    /// L2 norm clipping at `threshold` in front of a base rule (rule ids 3, 4, 5 over FedAvg,
    /// median, trimmed mean): each update is scaled so that its norm is at most the threshold,
    /// then the base rule runs on the clipped updates. Parameters:
    /// `abi.encode(uint32 threshold)` followed by the base rule's.
    Clipped {
        /// The threshold `τ` on `‖x‖`, Q15.16 (`1 <= τ`).
        threshold: u32,
        /// The rule run on the clipped updates.
        base: Base,
    },
    /// The distance family (rule ids 6, 7, 8: Krum, Multi-Krum, Bulyan;
    /// docs/design/distance-family.md). Parameters: `abi.encode(uint8 f)`, Multi-Krum
    /// `abi.encode(uint8 f, uint8 keep)`.
    Distance(Selection),
}

/// A rule clipping can run in front of (every rule but a clipped one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Base {
    /// FedAvg.
    FedAvg,
    /// Coordinate-wise median.
    Median,
    /// Coordinate-wise trimmed mean.
    TrimmedMean {
        /// `β` in basis points, below 5,000.
        beta_bps: u16,
    },
    /// Krum, Multi-Krum or Bulyan.
    Distance(Selection),
}

impl Base {
    /// The base rule as a rule of its own.
    #[must_use]
    pub fn rule(self) -> Rule {
        match self {
            Self::FedAvg => Rule::FedAvg,
            Self::Median => Rule::Median,
            Self::TrimmedMean { beta_bps } => Rule::TrimmedMean { beta_bps },
            Self::Distance(selection) => Rule::Distance(selection),
        }
    }
}

/// Rule ids of the clipped rules start here (3 + the base rule's id).
const CLIPPED_ID: u8 = 3;
/// Rule ids of the distance family start here.
const DISTANCE_ID: u8 = 6;
/// Rule ids of the clipped distance family start here (3 + the base rule's id).
const CLIPPED_DISTANCE_ID: u8 = CLIPPED_ID + DISTANCE_ID;

impl Rule {
    /// The rule's on-chain id (its index in the arbiter's program table).
    #[must_use]
    pub fn id(self) -> u8 {
        match self {
            Self::FedAvg => 0,
            Self::Median => 1,
            Self::TrimmedMean { .. } => 2,
            Self::Clipped { base, .. } => CLIPPED_ID + base.rule().id(),
            Self::Distance(Selection::Krum { .. }) => DISTANCE_ID,
            Self::Distance(Selection::MultiKrum { .. }) => DISTANCE_ID + 1,
            Self::Distance(Selection::Bulyan { .. }) => DISTANCE_ID + 2,
        }
    }

    /// The rule's name, as its program contract names it (`FedAvg`, `ClippedMedian`, ...).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::FedAvg => "FedAvg",
            Self::Median => "Median",
            Self::TrimmedMean { .. } => "TrimmedMean",
            Self::Clipped { base, .. } => match base {
                Base::FedAvg => "ClippedFedAvg",
                Base::Median => "ClippedMedian",
                Base::TrimmedMean { .. } => "ClippedTrimmedMean",
                Base::Distance(Selection::Krum { .. }) => "ClippedKrum",
                Base::Distance(Selection::MultiKrum { .. }) => "ClippedMultiKrum",
                Base::Distance(Selection::Bulyan { .. }) => "ClippedBulyan",
            },
            Self::Distance(selection) => selection.name(),
        }
    }

    /// The rule clipping runs in front of, or the rule itself when it is not clipped.
    #[must_use]
    pub fn base(self) -> Rule {
        match self {
            Self::Clipped { base, .. } => base.rule(),
            other => other,
        }
    }

    /// The clipping threshold, for a clipped rule.
    #[must_use]
    pub fn threshold(self) -> Option<u32> {
        match self {
            Self::Clipped { threshold, .. } => Some(threshold),
            _ => None,
        }
    }

    /// The ABI-encoded parameters, as passed to `openRound`.
    #[must_use]
    pub fn params(self) -> Vec<u8> {
        match self {
            Self::FedAvg | Self::Median => Vec::new(),
            Self::TrimmedMean { beta_bps } => {
                let mut word = vec![0u8; 32];
                word[30..].copy_from_slice(&beta_bps.to_be_bytes());
                word
            }
            Self::Clipped { threshold, base } => {
                let mut word = vec![0u8; 32];
                word[28..].copy_from_slice(&threshold.to_be_bytes());
                word.extend(base.rule().params());
                word
            }
            Self::Distance(selection) => {
                let mut words = vec![0u8; 32];
                words[31] = u8::try_from(selection.byzantine()).unwrap_or(u8::MAX);
                if let Selection::MultiKrum { keep, .. } = selection {
                    let mut keep_word = [0u8; 32];
                    keep_word[31] = keep;
                    words.extend(keep_word);
                }
                words
            }
        }
    }

    /// The rule with on-chain id `id` and ABI-encoded `params` (as the registry stores them).
    ///
    /// # Errors
    /// [`VmError::InvalidRuleParams`] for an unknown id or parameters that are not the rule's
    /// canonical encoding or violate its bounds.
    pub fn decode(id: u8, params: &[u8]) -> Result<Self> {
        let rule = match id {
            0 => Self::FedAvg,
            1 => Self::Median,
            2 => {
                let bad = || VmError::InvalidRuleParams {
                    rule: "TrimmedMean",
                    param: "params",
                    bound: format!(
                        "abi.encode(uint16 betaBps), 32 bytes; got {} bytes",
                        params.len()
                    ),
                };
                if params.len() != 32 || params[..30].iter().any(|&b| b != 0) {
                    return Err(bad());
                }
                Self::TrimmedMean {
                    beta_bps: u16::from_be_bytes([params[30], params[31]]),
                }
            }
            CLIPPED_ID..=5 | CLIPPED_DISTANCE_ID..=11 => {
                if params.len() < 32 || params[..28].iter().any(|&b| b != 0) {
                    return Err(VmError::InvalidRuleParams {
                        rule: "Clipped",
                        param: "threshold",
                        bound: format!(
                            "abi.encode(uint32 threshold) then the base rule's parameters; got {} bytes",
                            params.len()
                        ),
                    });
                }
                let threshold =
                    u32::from_be_bytes([params[28], params[29], params[30], params[31]]);
                let base = match Self::decode(id - CLIPPED_ID, &params[32..])? {
                    Self::FedAvg => Base::FedAvg,
                    Self::Median => Base::Median,
                    Self::TrimmedMean { beta_bps } => Base::TrimmedMean { beta_bps },
                    Self::Distance(selection) => Base::Distance(selection),
                    Self::Clipped { .. } => unreachable!("base ids are 0-2 and 6-8, never clipped"),
                };
                Self::Clipped { threshold, base }
            }
            DISTANCE_ID..=8 => {
                // The canonical encoding is checked below against `params()`.
                let byte = |w: usize| params.get(32 * w + 31).copied().unwrap_or(0);
                let f = byte(0);
                Self::Distance(match id - DISTANCE_ID {
                    0 => Selection::Krum { f },
                    1 => Selection::MultiKrum { f, keep: byte(1) },
                    _ => Selection::Bulyan { f },
                })
            }
            other => {
                return Err(VmError::InvalidRuleParams {
                    rule: "unknown",
                    param: "rule id",
                    bound: format!(
                        "0 (FedAvg), 1 (Median), 2 (TrimmedMean), 3-5 (clipped), 6 (Krum), 7 (MultiKrum), 8 (Bulyan) or 9-11 (clipped Krum, MultiKrum, Bulyan); got {other}"
                    ),
                });
            }
        };
        if rule.params() != params {
            return Err(VmError::InvalidRuleParams {
                rule: rule.name(),
                param: "params",
                bound: format!(
                    "the canonical encoding ({} bytes); got {} bytes",
                    rule.params().len(),
                    params.len()
                ),
            });
        }
        // The distance family's bounds depend on the participant count: checked at
        // `openRound` (`validate`), not here (clipped or not).
        if !matches!(rule.base(), Self::Distance(_)) {
            rule.validate(1)?;
        }
        Ok(rule)
    }

    /// Values trimmed at each end for `n` participants (order-statistic rules, clipped or
    /// not), `None` for FedAvg.
    #[must_use]
    pub fn trim(self, n: usize) -> Option<u32> {
        // n <= 255: every quantity fits u32.
        #[allow(clippy::cast_possible_truncation)]
        let n = n as u32;
        match self {
            Self::FedAvg | Self::Distance(_) => None,
            Self::Median => Some(n.saturating_sub(1) / 2),
            Self::TrimmedMean { beta_bps } => Some(u32::from(beta_bps) * n / BPS),
            Self::Clipped { base, .. } => base.rule().trim(n as usize),
        }
    }

    /// `keccak(params)`, as the registry stores it.
    #[must_use]
    pub fn params_hash(self) -> Digest {
        keccak256(&[&self.params()])
    }

    /// Checks the parameters against a round of `participants` clients (mirrors the program
    /// contract's `validate`).
    ///
    /// # Errors
    /// [`VmError::InvalidRuleParams`] naming the rule, the parameter and the bound.
    pub fn validate(self, participants: usize) -> Result<()> {
        // No bound depends on n yet (β < 1/2 leaves a value for every n), as in the contracts,
        // whose `validate` takes n as well.
        let _ = participants;
        match self {
            Self::FedAvg | Self::Median => Ok(()),
            // k = floor(β·n) <= β·n < n/2 for every n: at least one value always remains.
            Self::TrimmedMean { beta_bps } if u32::from(beta_bps) < BPS / 2 => Ok(()),
            Self::TrimmedMean { beta_bps } => Err(VmError::InvalidRuleParams {
                rule: self.name(),
                param: "betaBps",
                bound: format!(
                    "below 5000 (β < 1/2, so that n - 2·floor(β·n) >= 1 for every n); got {beta_bps}"
                ),
            }),
            Self::Clipped { threshold: 0, .. } => Err(VmError::InvalidRuleParams {
                rule: self.name(),
                param: "threshold",
                bound:
                    "at least 1 (Q15.16, i.e. 2^-16: a zero threshold erases every update); got 0"
                        .into(),
            }),
            Self::Clipped { base, .. } => base.rule().validate(participants),
            Self::Distance(selection) => selection.validate(participants),
        }
    }

    /// Program length `T` of this rule for a round of `participants` clients and `dim`
    /// values.
    #[must_use]
    pub fn steps(self, participants: usize, dim: usize) -> u64 {
        self.program().steps(Shape {
            participants,
            chunks: crate::chunk_count(dim),
        })
    }

    /// The rule's program.
    #[must_use]
    pub fn program(self) -> Arc<dyn Program> {
        match self {
            Self::FedAvg => Arc::new(FedAvg),
            Self::Median | Self::TrimmedMean { .. } => Arc::new(OrderMean),
            Self::Distance(selection) => Arc::new(Selected::new(selection)),
            Self::Clipped { threshold, base } => {
                Arc::new(Clipped::new(base.rule().program(), threshold))
            }
        }
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::FedAvg | Self::Median => f.write_str(self.name()),
            Self::TrimmedMean { beta_bps } => {
                write!(f, "TrimmedMean(beta = {beta_bps} bps)")
            }
            Self::Clipped { threshold, base } => {
                write!(f, "Clipped(threshold = {threshold}, {})", base.rule())
            }
            Self::Distance(Selection::MultiKrum { f: byz, keep }) => {
                write!(f, "MultiKrum(f = {byz}, keep = {keep})")
            }
            Self::Distance(s) => write!(f, "{}(f = {})", s.name(), s.byzantine()),
        }
    }
}

/// The size of a round as a schedule sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Participants `n`.
    pub participants: usize,
    /// 32-lane chunks `C` of the model.
    pub chunks: usize,
}

/// What a rule implements: its schedule and its execution.
pub trait Program: Send + Sync + std::fmt::Debug {
    /// Program length `T`.
    fn steps(&self, shape: Shape) -> u64;

    /// Kind and grid position of step `k < T`.
    fn position(&self, shape: Shape, k: u64) -> StepPosition;

    /// The kind whose step function runs at step `k < T`: the step's own kind, or for a
    /// wrapping kind (`Clip`) the kind it wraps.
    fn inner_kind(&self, shape: Shape, k: u64) -> StepKind {
        self.position(shape, k).kind
    }

    /// State 0, from the round alone.
    fn initial_state(&self, shape: Shape) -> State;

    /// State `T` implied by a posted output root.
    fn final_state(&self, shape: Shape, output_root: &Digest) -> State;

    /// Runs the rule on the round's updates (dimensions already checked), every step's
    /// writes passed through `tamper`.
    ///
    /// # Errors
    /// An unreachable overflow, or a rule-specific refusal of the inputs.
    fn execute(
        &self,
        ctx: RoundContext,
        updates: Vec<Update>,
        tamper: Arc<dyn Tamper>,
    ) -> Result<Box<dyn Execution>>;
}

/// An executed program: its result and every state on demand.
pub trait Execution: Send + Sync + std::fmt::Debug {
    /// The aggregated model (`dim` values).
    fn output(&self) -> &[i32];

    /// Participant `i`'s update as this execution read it (`i < n`).
    fn input(&self, i: usize) -> &Update;

    /// Root of the output tree: what the aggregator posts.
    fn output_root(&self) -> Digest;

    /// State `k` (`0 ..= T`; the caller checks the range).
    ///
    /// # Errors
    /// A rule-specific failure to rebuild the state.
    fn state(&self, k: u64) -> Result<State>;

    /// Witness of step `k` (`0 .. T`; the caller checks the range), from this execution's
    /// states.
    ///
    /// # Errors
    /// A rule-specific failure to rebuild the step.
    fn witness(&self, k: u64) -> Result<StepWitness>;
}

/// Test support shared by the rules' tests.
#[cfg(test)]
pub(crate) use test_support::assert_chains;

#[cfg(test)]
mod test_support {
    use crate::{RoundContext, StepWitness, Trace};

    /// Every witness of `trace` checks to the next state, from `h_0` to the claim `h_T`;
    /// `each` sees every step's witness.
    pub(crate) fn assert_chains(
        trace: &Trace,
        ctx: &RoundContext,
        mut each: impl FnMut(u64, &StepWitness),
    ) {
        let rule = ctx.config().rule;
        assert_eq!(trace.state_hash(0).unwrap(), ctx.initial_state_hash());
        assert_eq!(
            trace.state_hash(trace.steps()).unwrap(),
            ctx.final_state_hash(&trace.output_root())
        );
        for k in 0..trace.steps() {
            let w = trace.witness(k).unwrap();
            assert_eq!(
                w.checked_post_commitment(ctx).unwrap(),
                trace.state_hash(k + 1).unwrap(),
                "{rule} step {k} ({:?})",
                w.proven().kind()
            );
            each(k, &w);
        }
    }
}
