//! The leaf prover both sides use: from one's own trace, the witness and Halo2 proof of the
//! single disputed step.

use std::time::{Duration, Instant};

use circuits::{Srs, StepProof, StepProver};
use step_vm::{RoundContext, StepKind, StepWitness, Trace};
use tracing::info;

use crate::{ArbiterError, Result};

/// A proven step, ready to be encoded for the arbiter contract.
#[derive(Debug, Clone)]
pub struct LeafProof {
    /// The step's witness (pre-state preimage, openings, post-state).
    pub witness: StepWitness,
    /// The Halo2 proof and its public inputs.
    pub proof: StepProof,
    /// Wall time of proving.
    pub prove_time: Duration,
}

/// Proving keys for every step kind, in kind-id order.
pub struct LeafProver {
    provers: Vec<StepProver>,
}

impl std::fmt::Debug for LeafProver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeafProver").finish_non_exhaustive()
    }
}

impl LeafProver {
    /// Generates the proving keys of every step kind's circuit from `srs`.
    ///
    /// # Errors
    /// Key generation failure.
    pub fn setup(srs: &Srs) -> Result<Self> {
        let started = Instant::now();
        let provers = StepKind::PROVEN
            .into_iter()
            .map(|kind| StepProver::setup(kind, srs))
            .collect::<Result<Vec<_>, _>>()?;
        info!(
            kinds = provers.len(),
            seconds = started.elapsed().as_secs_f64(),
            "step circuit keys ready"
        );
        Ok(Self { provers })
    }

    /// Generates the proving keys from the KZG ceremony file at `srs` (halo2 params format),
    /// or from the INSECURE development setup when `None` (logged as a warning).
    ///
    /// # Errors
    /// The file cannot be read, or key generation fails.
    pub fn setup_from(srs: Option<&std::path::Path>) -> Result<Self> {
        let srs = match srs {
            Some(path) => Srs::read(path)?,
            None => Srs::insecure_dev(),
        };
        Self::setup(&srs)
    }

    /// The prover of a step kind's steps: its own circuit's, or the circuit that proves
    /// them (`StepKind::circuit`: FedAvg's for the distance family's averaging kinds); `None`
    /// for `Clip`, whose steps the base kind's prover proves.
    #[must_use]
    pub fn for_kind(&self, kind: StepKind) -> Option<&StepProver> {
        let circuit = kind.circuit()?;
        // `provers` holds every kind of `StepKind::PROVEN`, in id order.
        self.provers.iter().find(|p| p.kind() == circuit)
    }

    /// Proves step `step` of `trace`. Checks natively first that the trace's claimed
    /// post-state is what the step computes: a dishonest trace gets
    /// [`ArbiterError::ClaimNotProvable`] at once instead of a failed proving run.
    ///
    /// # Errors
    /// [`ArbiterError::ClaimNotProvable`], a step out of range, or a circuit failure.
    pub fn prove(&self, ctx: &RoundContext, trace: &Trace, step: u64) -> Result<LeafProof> {
        let witness = trace.witness(step)?;
        // A claim whose reads do not even verify (a liar's write opened in the tree its wrong
        // write left) is as unprovable as one the step does not compute.
        let computed = witness.checked_post_commitment(ctx).map_err(|e| {
            tracing::debug!(step, error = %e, "the claimed step's reads do not verify");
            ArbiterError::ClaimNotProvable { step }
        })?;
        if computed != witness.post.commitment(&ctx.config_hash()) {
            return Err(ArbiterError::ClaimNotProvable { step });
        }
        let started = Instant::now();
        let kind = witness.proven().kind();
        let prover = self
            .for_kind(kind)
            .ok_or(ArbiterError::ClaimNotProvable { step })?;
        let proof = prover.prove(&witness)?;
        Ok(LeafProof {
            witness,
            proof,
            prove_time: started.elapsed(),
        })
    }
}
