//! The KZG structured reference string.

use std::path::Path;

use halo2_base::halo2_proofs::halo2curves::bn256::Bn256;
use halo2_base::halo2_proofs::poly::commitment::Params;
use halo2_base::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use tracing::warn;

use crate::{CircuitError, Result};

/// log2 of the rows of every step circuit.
pub const K: u32 = 13;
/// Seed of the development setup. Anyone knowing it knows the toxic waste: proofs made against
/// this SRS can be forged. For development and tests only.
pub const DEV_SRS_SEED: u64 = 0x5eed_f1a9_2026;

/// KZG parameters (powers of tau) at degree [`K`].
#[derive(Debug, Clone)]
pub struct Srs {
    params: ParamsKZG<Bn256>,
    insecure: bool,
}

impl Srs {
    /// The **INSECURE** development setup: derived from a public seed, so its secret is known.
    /// Reproducible (same keys and verifier contracts on every machine), never for production.
    #[must_use]
    pub fn insecure_dev() -> Self {
        warn!(
            "using the INSECURE development SRS (fixed public seed): proofs can be forged; load a ceremony file for real use"
        );
        Self {
            params: ParamsKZG::setup(K, ChaCha20Rng::seed_from_u64(DEV_SRS_SEED)),
            insecure: true,
        }
    }

    /// Reads a ceremony file in halo2 params format (k, 2^k G1 points, 2^k Lagrange points,
    /// g2, s·g2) and downsizes it to [`K`].
    ///
    /// # Errors
    /// The file cannot be read, does not parse, or has fewer than 2^K points.
    pub fn read(path: &Path) -> Result<Self> {
        let err = |message: String| CircuitError::Srs {
            path: path.display().to_string(),
            message,
        };
        let file = std::fs::File::open(path).map_err(|e| err(e.to_string()))?;
        let mut params = ParamsKZG::<Bn256>::read(&mut std::io::BufReader::new(file))
            .map_err(|e| err(format!("not halo2 params: {e}")))?;
        if params.k() < K {
            return Err(err(format!(
                "has degree 2^{}, the step circuits need 2^{K}",
                params.k()
            )));
        }
        if params.k() > K {
            params.downsize(K);
        }
        Ok(Self {
            params,
            insecure: false,
        })
    }

    /// The parameters.
    #[must_use]
    pub fn params(&self) -> &ParamsKZG<Bn256> {
        &self.params
    }

    /// Whether this is the insecure development setup.
    #[must_use]
    pub fn is_insecure(&self) -> bool {
        self.insecure
    }
}
