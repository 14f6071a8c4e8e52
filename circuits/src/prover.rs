//! Key generation, proving, native verification and the Solidity verifier of one step kind.

use halo2_base::gates::RangeChip;
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
use step_vm::{Instance, LANES, StepKind, StepWitness};

use crate::{
    AccumulateAssignment, CircuitError, CloseEmitAssignment, CloseRankAssignment,
    CloseSumAssignment, DistanceAssignment, FinalizeAssignment, K, NormAssignment, PickAssignment,
    RankAssignment, Result, ScaleAssignment, ScoreRankAssignment, ScoreSumAssignment, Srs,
    TrimEmitAssignment, TrimSumAssignment, instance_to_fr,
};

/// Rows halo2-base's parameter estimate keeps free for blinding factors (only used to check
/// that the pinned configuration fits; the circuit itself reserves what halo2 requires).
#[cfg(test)]
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

/// What a step kind implements in this crate: its circuit, laid out from the cell values of one
/// witness of its kind.
pub(crate) trait StepCircuit: Sized {
    /// The kind this circuit proves.
    const KIND: StepKind;

    /// Checks `witness` against the native reference of the kind and returns the assignment.
    fn of_witness(witness: &StepWitness) -> Result<Self>;

    /// An assignment for key generation: the layout does not depend on values.
    fn dummy() -> Self;

    /// Lays out the circuit in `builder` and exposes the instances.
    fn synthesize(&self, builder: &mut BaseCircuitBuilder<Fr>, range: &RangeChip<Fr>);
}

/// The cell values of one step circuit: the registry of step kinds' circuits.
pub(crate) enum Assignment {
    Accumulate(AccumulateAssignment),
    Finalize(FinalizeAssignment),
    Rank(Box<RankAssignment>),
    TrimSum(Box<TrimSumAssignment>),
    TrimEmit(Box<TrimEmitAssignment>),
    Norm(Box<NormAssignment>),
    Scale(ScaleAssignment),
    Distance(Box<DistanceAssignment>),
    ScoreRank(Box<ScoreRankAssignment>),
    ScoreSum(Box<ScoreSumAssignment>),
    Pick(Box<PickAssignment>),
    CloseRank(Box<CloseRankAssignment>),
    CloseSum(Box<CloseSumAssignment>),
    CloseEmit(Box<CloseEmitAssignment>),
}

impl Assignment {
    /// Checks `witness` against the native reference of its kind and returns the assignment.
    pub(crate) fn of_witness(witness: &StepWitness) -> Result<Self> {
        Ok(match witness.kind() {
            StepKind::Norm => Self::Norm(Box::new(NormAssignment::of_witness(witness)?)),
            StepKind::Scale => Self::Scale(ScaleAssignment::of_witness(witness)?),
            StepKind::Clip => return Self::of_witness(witness.proven()),
            StepKind::Accumulate | StepKind::SelectAccumulate => {
                Self::Accumulate(AccumulateAssignment::of_witness(witness)?)
            }
            StepKind::Finalize | StepKind::SelectFinalize => {
                Self::Finalize(FinalizeAssignment::of_witness(witness)?)
            }
            StepKind::Distance => {
                Self::Distance(Box::new(DistanceAssignment::of_witness(witness)?))
            }
            StepKind::ScoreRank => {
                Self::ScoreRank(Box::new(ScoreRankAssignment::of_witness(witness)?))
            }
            StepKind::ScoreSum => {
                Self::ScoreSum(Box::new(ScoreSumAssignment::of_witness(witness)?))
            }
            StepKind::Pick => Self::Pick(Box::new(PickAssignment::of_witness(witness)?)),
            StepKind::Rank | StepKind::SelectRank => {
                Self::Rank(Box::new(RankAssignment::of_witness(witness)?))
            }
            StepKind::CloseRank => {
                Self::CloseRank(Box::new(CloseRankAssignment::of_witness(witness)?))
            }
            StepKind::CloseSum => {
                Self::CloseSum(Box::new(CloseSumAssignment::of_witness(witness)?))
            }
            StepKind::CloseEmit => {
                Self::CloseEmit(Box::new(CloseEmitAssignment::of_witness(witness)?))
            }
            StepKind::TrimSum => Self::TrimSum(Box::new(TrimSumAssignment::of_witness(witness)?)),
            StepKind::TrimEmit => {
                Self::TrimEmit(Box::new(TrimEmitAssignment::of_witness(witness)?))
            }
        })
    }

    fn dummy(kind: StepKind) -> Self {
        match kind {
            StepKind::Accumulate => Self::Accumulate(AccumulateAssignment::dummy()),
            StepKind::Finalize => Self::Finalize(FinalizeAssignment::dummy()),
            StepKind::Rank => Self::Rank(Box::new(RankAssignment::dummy())),
            StepKind::TrimSum => Self::TrimSum(Box::new(TrimSumAssignment::dummy())),
            StepKind::TrimEmit => Self::TrimEmit(Box::new(TrimEmitAssignment::dummy())),
            StepKind::Norm => Self::Norm(Box::new(NormAssignment::dummy())),
            StepKind::Distance => Self::Distance(Box::new(DistanceAssignment::dummy())),
            StepKind::ScoreRank => Self::ScoreRank(Box::new(ScoreRankAssignment::dummy())),
            StepKind::ScoreSum => Self::ScoreSum(Box::new(ScoreSumAssignment::dummy())),
            StepKind::Pick => Self::Pick(Box::new(PickAssignment::dummy())),
            // No circuit of their own: every caller goes through `StepKind::PROVEN`.
            StepKind::SelectAccumulate => Self::Accumulate(AccumulateAssignment::dummy()),
            StepKind::SelectFinalize => Self::Finalize(FinalizeAssignment::dummy()),
            StepKind::SelectRank => Self::Rank(Box::new(RankAssignment::dummy())),
            StepKind::CloseRank => Self::CloseRank(Box::new(CloseRankAssignment::dummy())),
            StepKind::CloseSum => Self::CloseSum(Box::new(CloseSumAssignment::dummy())),
            StepKind::CloseEmit => Self::CloseEmit(Box::new(CloseEmitAssignment::dummy())),
            StepKind::Scale | StepKind::Clip => Self::Scale(ScaleAssignment::dummy()),
        }
    }

    fn synthesize(&self, builder: &mut BaseCircuitBuilder<Fr>) {
        let range = builder.range_chip();
        match self {
            Self::Accumulate(a) => a.synthesize(builder, &range),
            Self::Finalize(a) => a.synthesize(builder, &range),
            Self::Rank(a) => a.synthesize(builder, &range),
            Self::TrimSum(a) => a.synthesize(builder, &range),
            Self::TrimEmit(a) => a.synthesize(builder, &range),
            Self::Norm(a) => a.synthesize(builder, &range),
            Self::Scale(a) => a.synthesize(builder, &range),
            Self::Distance(a) => a.synthesize(builder, &range),
            Self::ScoreRank(a) => a.synthesize(builder, &range),
            Self::ScoreSum(a) => a.synthesize(builder, &range),
            Self::Pick(a) => a.synthesize(builder, &range),
            Self::CloseRank(a) => a.synthesize(builder, &range),
            Self::CloseSum(a) => a.synthesize(builder, &range),
            Self::CloseEmit(a) => a.synthesize(builder, &range),
        }
    }
}

/// The register of a witness state as one accumulator, or [`CircuitError::BadWitness`].
pub(crate) fn acc_of(kind: StepKind, state: &step_vm::State) -> Result<step_vm::AccLeaf> {
    state.acc().map_err(|source| CircuitError::BadWitness {
        kind: kind.name(),
        source,
    })
}

/// The pinned circuit configuration of a step kind. Both kinds use the same shape: `2^K` rows,
/// one advice column (which, being the only one, carries the range lookups itself, enabled by
/// a selector), one fixed column for constants, a `2^(K-1)`-row lookup table and one instance
/// column. Keys depend only on this and the layout, which is the same for every witness
/// (`pinned_params_fit_the_layout` checks the layout still fits).
#[must_use]
pub fn circuit_params(kind: StepKind) -> BaseCircuitParams {
    // Same for both kinds today; kept per kind so one can grow without touching the other.
    let _ = kind;
    BaseCircuitParams {
        k: K as usize,
        num_advice_per_phase: vec![1],
        num_fixed: 1,
        num_lookup_advice_per_phase: vec![1, 0, 0],
        lookup_bits: Some(K as usize - 1),
        num_instance_columns: 1,
    }
}

/// Cell counts of a step circuit's layout (the same for every witness).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayoutStats {
    /// Advice cells (the single advice column's used rows).
    pub advice_cells: usize,
    /// Of those, cells looked up in the range table.
    pub lookup_cells: usize,
    /// Distinct constants (fixed cells).
    pub fixed_cells: usize,
    /// Public inputs.
    pub instances: usize,
}

/// The layout statistics of a step kind.
#[must_use]
pub fn layout_stats(kind: StepKind) -> LayoutStats {
    let mut builder = builder(CircuitBuilderStage::Keygen, kind, &Assignment::dummy(kind));
    let stats = builder.statistics();
    let layout = LayoutStats {
        advice_cells: stats.gate.total_advice_per_phase.iter().sum(),
        lookup_cells: stats.total_lookup_advice_per_phase.iter().sum(),
        fixed_cells: stats.gate.total_fixed,
        instances: builder.assigned_instances[0].len(),
    };
    // Never synthesized: clear it, or halo2-base warns on drop about unassigned cells.
    builder.clear();
    layout
}

/// A builder at `stage` with the pinned configuration, laid out with `assignment`.
fn builder(
    stage: CircuitBuilderStage,
    kind: StepKind,
    assignment: &Assignment,
) -> BaseCircuitBuilder<Fr> {
    let mut builder = BaseCircuitBuilder::from_stage(stage).use_params(circuit_params(kind));
    assignment.synthesize(&mut builder);
    builder
}

/// A builder in mock mode (constraints checked by `MockProver`) and the instances it exposes.
#[cfg(test)]
pub(crate) fn mock_builder_accumulate(
    a: &AccumulateAssignment,
) -> (BaseCircuitBuilder<Fr>, Vec<Fr>) {
    mock(StepKind::Accumulate, &Assignment::Accumulate(*a))
}

/// A builder in mock mode for a `Finalize` assignment, for tests.
#[cfg(test)]
pub(crate) fn mock_builder_finalize(a: &FinalizeAssignment) -> (BaseCircuitBuilder<Fr>, Vec<Fr>) {
    mock(StepKind::Finalize, &Assignment::Finalize(*a))
}

#[cfg(test)]
pub(crate) fn mock(kind: StepKind, a: &Assignment) -> (BaseCircuitBuilder<Fr>, Vec<Fr>) {
    let builder = builder(CircuitBuilderStage::Mock, kind, a);
    let instances = builder.assigned_instances[0]
        .iter()
        .map(|c| *c.value())
        .collect();
    (builder, instances)
}

/// The configuration halo2-base derives from the layout at `K` (tests compare it with the
/// pinned one).
#[cfg(test)]
pub(crate) fn derived_params(kind: StepKind) -> BaseCircuitParams {
    let mut builder = BaseCircuitBuilder::from_stage(CircuitBuilderStage::Keygen)
        .use_k(K as usize)
        .use_lookup_bits(K as usize - 1)
        .use_instance_columns(1);
    Assignment::dummy(kind).synthesize(&mut builder);
    builder.calculate_params(Some(MINIMUM_ROWS))
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
    move |source| CircuitError::Halo2 { stage, source }
}

/// The error of a witness no valid proof exists for (`reason` says why).
pub(crate) fn unsat(kind: StepKind, reason: String) -> CircuitError {
    CircuitError::Unsatisfiable {
        kind: kind.name(),
        reason,
    }
}

/// The error of a witness of another kind than the circuit's `expected`.
pub(crate) fn wrong_kind(expected: StepKind, witness: &StepWitness) -> CircuitError {
    CircuitError::WrongKind {
        expected: expected.name(),
        actual: witness.reads.kind().name(),
    }
}

/// The first lane where `claimed` differs from `computed`, as a [`CircuitError::ClaimMismatch`].
pub(crate) fn first_mismatch<T: Copy + Into<i64>>(
    kind: StepKind,
    register: &'static str,
    claimed: &[T; LANES],
    computed: &[T; LANES],
) -> Result<()> {
    match claimed
        .iter()
        .zip(computed)
        .position(|(c, v)| (*c).into() != (*v).into())
    {
        None => Ok(()),
        Some(lane) => Err(CircuitError::ClaimMismatch {
            kind: kind.name(),
            register,
            lane,
            claimed: claimed[lane].into(),
            computed: i128::from(computed[lane].into()),
        }),
    }
}

impl StepProver {
    /// Generates the keys of `kind` from `srs`. Deterministic: the same SRS gives the same keys
    /// (the layout is made from a dummy witness and does not depend on values).
    ///
    /// # Errors
    /// halo2 key generation failure.
    pub fn setup(kind: StepKind, srs: &Srs) -> Result<Self> {
        let builder = builder(CircuitBuilderStage::Keygen, kind, &Assignment::dummy(kind));
        let config = circuit_params(kind);
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

    /// Proves one step, and checks the proof natively before returning it.
    ///
    /// The witness is first checked against the native reference, so a false claim is a
    /// [`CircuitError::ClaimMismatch`] naming the lane, at no proving cost (halo2 would
    /// otherwise produce a proof that merely fails to verify). The proof is then verified
    /// natively (~10 ms), so an `Ok` proof is one the verifier contract accepts.
    ///
    /// # Errors
    /// [`CircuitError::WrongKind`], [`CircuitError::ClaimMismatch`] or
    /// [`CircuitError::Unsatisfiable`] for a claim the step does not compute, or a halo2
    /// failure.
    pub fn prove(&self, witness: &StepWitness) -> Result<StepProof> {
        // A `Clip` step is proven by its base kind's circuit, an averaging step of the distance
        // family by FedAvg's.
        let witness = witness.proven();
        if witness.kind().circuit() != Some(self.kind) {
            return Err(wrong_kind(self.kind, witness));
        }
        let assignment = Assignment::of_witness(witness)?;
        let mut builder =
            BaseCircuitBuilder::prover(self.config.clone(), self.break_points.clone());
        assignment.synthesize(&mut builder);
        let instances: Vec<Fr> = builder.assigned_instances[0]
            .iter()
            .map(|c| *c.value())
            .collect();
        let expected = witness
            .instances()
            .map_err(|source| CircuitError::BadWitness {
                kind: self.kind.name(),
                source,
            })?;
        let packed = expected
            .iter()
            .enumerate()
            .map(|(i, w)| instance_to_fr(i, w))
            .collect::<Result<Vec<_>>>()?;
        if instances != packed {
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

    /// Verifies a proof natively (the same check the verifier contract makes, except that
    /// public inputs `>= r` are refused instead of reduced).
    ///
    /// # Errors
    /// [`CircuitError::WrongKind`], [`CircuitError::InstanceNotInField`] or
    /// [`CircuitError::InvalidProof`].
    pub fn verify(&self, proof: &StepProof) -> Result<()> {
        if proof.kind != self.kind {
            return Err(CircuitError::WrongKind {
                expected: self.kind.name(),
                actual: proof.kind.name(),
            });
        }
        let instances = proof
            .instances
            .iter()
            .enumerate()
            .map(|(i, w)| instance_to_fr(i, w))
            .collect::<Result<Vec<_>>>()?;
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

    /// The Solidity verifier of this kind, as contract `<Kind>Verifier`: snark-verifier's
    /// SHPLONK verifier (calldata = the public inputs as 32-byte big-endian words, then the
    /// proof bytes), with the contract renamed (two `Halo2Verifier`s would clash in one forge
    /// project) and the exact `0.8.19` pragma relaxed to `^0.8.19`. Byte-identical across runs.
    ///
    /// # Errors
    /// [`CircuitError::SolidityTemplate`] if snark-verifier's output no longer has the pragma or
    /// the contract name this rewrites.
    pub fn solidity_verifier(&self) -> Result<String> {
        let code = gen_evm_verifier_sol_code::<BaseCircuitBuilder<Fr>, SHPLONK>(
            &self.params,
            self.vk(),
            vec![self.num_instances],
        );
        let code = replace_once(&code, "pragma solidity 0.8.19;", "pragma solidity ^0.8.19;")?;
        let code = replace_once(
            &code,
            "contract Halo2Verifier",
            &format!("contract {}Verifier", self.kind.name()),
        )?;
        let header = format!(
            "// Generated by `cargo run -p circuits --bin keygen` from the {} step circuit (k = {K}).\n\
             // Do not edit. Verifying key fingerprint: {}\n",
            self.kind.name(),
            self.vk_fingerprint()
        );
        Ok(header + &code)
    }
}

fn replace_once(code: &str, from: &'static str, to: &str) -> Result<String> {
    if code.matches(from).count() == 1 {
        Ok(code.replacen(from, to, 1))
    } else {
        Err(CircuitError::SolidityTemplate { expected: from })
    }
}
