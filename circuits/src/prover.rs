//! Key generation, proving, native verification and the Solidity verifier of one step kind.

use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use halo2_base::gates::circuit::{BaseCircuitParams, CircuitBuilderStage};
use halo2_base::gates::flex_gate::MultiPhaseThreadBreakPoints;
use halo2_base::halo2_proofs::SerdeFormat;
use halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_base::halo2_proofs::plonk::{
    ProvingKey, VerifyingKey, create_proof, keygen_pk, keygen_vk, verify_proof,
};
use halo2_base::halo2_proofs::poly::commitment::ParamsProver;
use halo2_base::halo2_proofs::poly::kzg::commitment::{KZGCommitmentScheme, ParamsKZG};
use halo2_base::halo2_proofs::poly::kzg::multiopen::{ProverSHPLONK, VerifierSHPLONK};
use halo2_base::halo2_proofs::poly::kzg::strategy::SingleStrategy;
use halo2_base::halo2_proofs::transcript::{TranscriptReadBuffer, TranscriptWriterBuffer};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use snark_verifier_sdk::SHPLONK;
use snark_verifier_sdk::evm::gen_evm_verifier_sol_code;
use snark_verifier_sdk::snark_verifier::system::halo2::transcript::evm::EvmTranscript;
use step_vm::{Instance, StepInput, StepKind, StepWitness, accumulate, finalize};

use crate::{
    AccumulateAssignment, CircuitError, FinalizeAssignment, K, Result, Srs, instance_to_fr,
};

/// Minimum rows halo2-base reserves for blinding; fixed so layouts (and keys) are reproducible.
const MINIMUM_ROWS: usize = 20;

/// A step proof: the public inputs (32-byte big-endian words, in circuit order) and the proof
/// bytes, exactly what the generated verifier contract takes as calldata (instances, then proof).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepProof {
    /// Step kind.
    pub kind: StepKind,
    /// Public inputs.
    pub instances: Vec<Instance>,
    /// SHPLONK proof over a keccak (EVM) transcript.
    pub proof: Vec<u8>,
}

impl StepProof {
    /// Verifier calldata: instances followed by the proof.
    #[must_use]
    pub fn calldata(&self) -> Vec<u8> {
        let mut out: Vec<u8> = self.instances.iter().flatten().copied().collect();
        out.extend_from_slice(&self.proof);
        out
    }
}

enum Assignment {
    Accumulate(AccumulateAssignment),
    Finalize(FinalizeAssignment),
}

impl Assignment {
    fn dummy(kind: StepKind) -> Self {
        match kind {
            StepKind::Accumulate => Self::Accumulate(AccumulateAssignment::dummy()),
            StepKind::Finalize => Self::Finalize(FinalizeAssignment::dummy()),
        }
    }

    fn synthesize(&self, builder: &mut BaseCircuitBuilder<Fr>) {
        let range = builder.range_chip();
        match self {
            Self::Accumulate(a) => a.synthesize(builder, &range),
            Self::Finalize(a) => a.synthesize(builder, &range),
        }
    }
}

fn keygen_builder(kind: StepKind) -> BaseCircuitBuilder<Fr> {
    let mut builder = BaseCircuitBuilder::from_stage(CircuitBuilderStage::Keygen)
        .use_k(K as usize)
        .use_lookup_bits(K as usize - 1)
        .use_instance_columns(1);
    Assignment::dummy(kind).synthesize(&mut builder);
    builder
}

/// The fixed circuit configuration of a step kind (columns, lookup bits), derived from its
/// value-independent layout.
#[must_use]
pub fn circuit_params(kind: StepKind) -> BaseCircuitParams {
    keygen_builder(kind).calculate_params(Some(MINIMUM_ROWS))
}

/// A builder in mock mode (constraints checked by `MockProver`), for tests.
#[cfg(test)]
pub(crate) fn mock_builder_accumulate(
    a: &AccumulateAssignment,
) -> (BaseCircuitBuilder<Fr>, Vec<Fr>) {
    mock(&Assignment::Accumulate(*a))
}

/// A builder in mock mode for a `Finalize` assignment, for tests.
#[cfg(test)]
pub(crate) fn mock_builder_finalize(a: &FinalizeAssignment) -> (BaseCircuitBuilder<Fr>, Vec<Fr>) {
    mock(&Assignment::Finalize(*a))
}

#[cfg(test)]
fn mock(a: &Assignment) -> (BaseCircuitBuilder<Fr>, Vec<Fr>) {
    let mut builder = BaseCircuitBuilder::from_stage(CircuitBuilderStage::Mock)
        .use_k(K as usize)
        .use_lookup_bits(K as usize - 1)
        .use_instance_columns(1);
    a.synthesize(&mut builder);
    builder.calculate_params(Some(MINIMUM_ROWS));
    let instances = builder.assigned_instances[0]
        .iter()
        .map(|c| *c.value())
        .collect();
    (builder, instances)
}

/// Proving and verifying keys of one step kind.
pub struct StepProver {
    kind: StepKind,
    params: ParamsKZG<Bn256>,
    pk: ProvingKey<G1Affine>,
    config: BaseCircuitParams,
    break_points: MultiPhaseThreadBreakPoints,
    num_instances: usize,
}

impl std::fmt::Debug for StepProver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StepProver")
            .field("kind", &self.kind)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn halo2(
    stage: &'static str,
) -> impl FnOnce(halo2_base::halo2_proofs::plonk::Error) -> CircuitError {
    move |e| CircuitError::Halo2 {
        stage,
        message: format!("{e:?}"),
    }
}

impl StepProver {
    /// Generates the keys of `kind` from `srs`. Deterministic: the same SRS gives the same keys.
    ///
    /// # Errors
    /// halo2 key generation failure.
    pub fn setup(kind: StepKind, srs: &Srs) -> Result<Self> {
        let mut builder = keygen_builder(kind);
        let config = builder.calculate_params(Some(MINIMUM_ROWS));
        let num_instances = builder.assigned_instances[0].len();
        let params = srs.params().clone();
        let vk = keygen_vk(&params, &builder).map_err(halo2("keygen"))?;
        let pk = keygen_pk(&params, vk, &builder).map_err(halo2("keygen"))?;
        let break_points = builder.break_points();
        Ok(Self {
            kind,
            params,
            pk,
            config,
            break_points,
            num_instances,
        })
    }

    /// The step kind.
    #[must_use]
    pub fn kind(&self) -> StepKind {
        self.kind
    }

    /// The verifying key.
    #[must_use]
    pub fn vk(&self) -> &VerifyingKey<G1Affine> {
        self.pk.get_vk()
    }

    /// Number of public inputs.
    #[must_use]
    pub fn num_instances(&self) -> usize {
        self.num_instances
    }

    /// The circuit configuration.
    #[must_use]
    pub fn config(&self) -> &BaseCircuitParams {
        &self.config
    }

    /// keccak-256 of the serialized verifying key: pinned in `circuits/keys/` so any change to
    /// a circuit, its configuration or the SRS is caught.
    #[must_use]
    pub fn vk_fingerprint(&self) -> String {
        let mut bytes = Vec::new();
        // Writing into a Vec cannot fail.
        let _ = self.vk().write(&mut bytes, SerdeFormat::RawBytes);
        step_vm::hex_digest(&step_vm::keccak256(&[&bytes]))
    }

    fn assignment(&self, witness: &StepWitness) -> Result<Assignment> {
        let kind = witness.kind();
        if kind != self.kind {
            return Err(CircuitError::WrongKind {
                expected: self.kind.name(),
                actual: kind.name(),
            });
        }
        let unsat = |reason: String| CircuitError::Unsatisfiable {
            kind: kind.name(),
            reason,
        };
        match &witness.input {
            StepInput::Accumulate { weight, x, .. } => {
                if accumulate(&witness.pre.acc, *weight, x) != witness.post.acc {
                    return Err(unsat("acc' is not acc + w·x".into()));
                }
                Ok(Assignment::Accumulate(AccumulateAssignment::new(
                    *weight,
                    x,
                    &witness.pre.acc,
                    &witness.post.acc,
                )))
            }
            StepInput::Finalize {
                total_weight, out, ..
            } => {
                let computed =
                    finalize(&witness.pre.acc, *total_weight).map_err(|e| unsat(e.to_string()))?;
                if computed != *out {
                    return Err(unsat("out is not round_half_up(acc / W)".into()));
                }
                Ok(Assignment::Finalize(FinalizeAssignment::new(
                    *total_weight,
                    &witness.pre.acc,
                    out,
                )))
            }
        }
    }

    /// Proves one step, and checks the proof natively before returning it.
    ///
    /// # Errors
    /// [`CircuitError::WrongKind`], [`CircuitError::Unsatisfiable`] for a claim the step does
    /// not compute, or a halo2 failure.
    pub fn prove(&self, witness: &StepWitness) -> Result<StepProof> {
        let assignment = self.assignment(witness)?;
        let mut builder =
            BaseCircuitBuilder::prover(self.config.clone(), self.break_points.clone());
        assignment.synthesize(&mut builder);
        let instances: Vec<Fr> = builder.assigned_instances[0]
            .iter()
            .map(|c| *c.value())
            .collect();
        let expected = witness.instances();
        if instances != expected.iter().map(instance_to_fr).collect::<Vec<_>>() {
            return Err(CircuitError::Unsatisfiable {
                kind: self.kind.name(),
                reason: "circuit instances differ from the VM's packing".into(),
            });
        }
        let mut transcript = TranscriptWriterBuffer::<_, G1Affine, _>::init(Vec::new());
        create_proof::<
            KZGCommitmentScheme<Bn256>,
            ProverSHPLONK<'_, Bn256>,
            _,
            _,
            EvmTranscript<_, _, _, _>,
            _,
        >(
            &self.params,
            &self.pk,
            &[builder],
            &[&[instances.as_slice()]],
            ChaCha20Rng::from_entropy(),
            &mut transcript,
        )
        .map_err(halo2("prove"))?;
        let proof = StepProof {
            kind: self.kind,
            instances: expected,
            proof: transcript.finalize(),
        };
        self.verify(&proof)?;
        Ok(proof)
    }

    /// Verifies a proof natively (the same check the verifier contract makes).
    ///
    /// # Errors
    /// [`CircuitError::InvalidProof`].
    pub fn verify(&self, proof: &StepProof) -> Result<()> {
        let instances: Vec<Fr> = proof.instances.iter().map(instance_to_fr).collect();
        let mut transcript = TranscriptReadBuffer::<_, G1Affine, _>::init(proof.proof.as_slice());
        verify_proof::<
            KZGCommitmentScheme<Bn256>,
            VerifierSHPLONK<'_, Bn256>,
            _,
            EvmTranscript<_, _, _, _>,
            _,
        >(
            self.params.verifier_params(),
            self.vk(),
            SingleStrategy::new(&self.params),
            &[&[instances.as_slice()]],
            &mut transcript,
        )
        .map_err(|_| CircuitError::InvalidProof {
            kind: self.kind.name(),
        })
    }

    /// The Solidity verifier of this kind, as contract `<Kind>Verifier` (snark-verifier's
    /// output with the contract renamed and the exact `0.8.19` pragma relaxed to `^0.8.19`).
    #[must_use]
    pub fn solidity_verifier(&self) -> String {
        let code = gen_evm_verifier_sol_code::<BaseCircuitBuilder<Fr>, SHPLONK>(
            &self.params,
            self.vk(),
            vec![self.num_instances],
        );
        let header = format!(
            "// Generated by `cargo run -p circuits --bin keygen` from the {} step circuit (k = {K}).\n\
             // Do not edit. Verifying key fingerprint: {}\n",
            self.kind.name(),
            self.vk_fingerprint()
        );
        header
            + &code
                .replace("pragma solidity 0.8.19;", "pragma solidity ^0.8.19;")
                .replace(
                    "contract Halo2Verifier",
                    &format!("contract {}Verifier", self.kind.name()),
                )
    }
}
