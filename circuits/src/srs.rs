//! The KZG structured reference string (powers of tau over BN254).
//!
//! Two sources: the **INSECURE** development setup, derived from a public seed so that keys and
//! verifier contracts are reproducible everywhere (and proofs forgeable by anyone who reads the
//! seed), and a ceremony file in halo2's params format, downsized to [`K`]. The verifier
//! contracts embed `g2`, `s·g2` and the verifying key, so they must be regenerated (`keygen
//! --srs <file>`) for a deployment on a real SRS.

use std::io::Read;
use std::path::Path;

use halo2_base::halo2_proofs::SerdeCurveAffine;
use halo2_base::halo2_proofs::SerdeFormat;
use halo2_base::halo2_proofs::halo2curves::CurveAffine;
use halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, G1Affine, G2Affine};
use halo2_base::halo2_proofs::halo2curves::pairing::Engine;
use halo2_base::halo2_proofs::poly::commitment::{Params, ParamsProver};
use halo2_base::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use tracing::warn;

use crate::{CircuitError, Result};

/// log2 of the rows of every step circuit (both kinds fit 2^13 rows with one advice column;
/// see `circuit_params`).
pub const K: u32 = 13;
/// Seed of the development setup. Anyone knowing it knows the toxic waste: proofs made against
/// this SRS can be forged. For development and tests only.
pub const DEV_SRS_SEED: u64 = 0x5eed_f1a9_2026;
/// Largest `k` a ceremony file may declare (the BN254 scalar field's 2-adicity).
const MAX_FILE_K: u32 = 28;

/// KZG parameters (powers of tau) at degree [`K`].
#[derive(Debug, Clone)]
pub struct Srs {
    params: ParamsKZG<Bn256>,
    insecure: bool,
}

fn raw_len<C: SerdeCurveAffine>() -> usize {
    let mut bytes = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = C::generator().write(&mut bytes, SerdeFormat::RawBytes);
    bytes.len()
}

impl Srs {
    /// The **INSECURE** development setup: derived from a public seed, so its secret is known.
    /// Reproducible (same keys and verifier contracts on every machine), never for production.
    #[must_use]
    pub fn insecure_dev() -> Self {
        warn!(
            seed = DEV_SRS_SEED,
            "using the INSECURE development SRS (fixed public seed): proofs can be forged; load a ceremony file for real use"
        );
        Self {
            params: ParamsKZG::setup(K, ChaCha20Rng::seed_from_u64(DEV_SRS_SEED)),
            insecure: true,
        }
    }

    /// Reads a ceremony file in halo2 params format (`k` as 4 little-endian bytes, 2^k G1
    /// points, 2^k Lagrange G1 points, `g2`, `s·g2`, points uncompressed) and downsizes it to
    /// [`K`]. The file's size is checked against its declared `k` before anything is
    /// allocated. This is the crate's one file access, for the binaries' `--srs` flags.
    ///
    /// # Errors
    /// [`CircuitError::SrsRead`] if the file cannot be read or decoded,
    /// [`CircuitError::SrsInvalid`] if its degree is below 2^K, its size does not match its
    /// degree, or its points are inconsistent.
    pub fn read(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let origin = path.display().to_string();
        let io = |source| CircuitError::SrsRead {
            path: origin.clone(),
            source,
        };
        let mut file = std::fs::File::open(path).map_err(io)?;
        let actual = file.metadata().map_err(io)?.len();
        let mut k_bytes = [0u8; 4];
        file.read_exact(&mut k_bytes).map_err(io)?;
        let k = check_k(u32::from_le_bytes(k_bytes), &origin)?;
        let expected =
            4 + (2u64 << k) * raw_len::<G1Affine>() as u64 + 2 * raw_len::<G2Affine>() as u64;
        if actual != expected {
            return Err(CircuitError::SrsInvalid {
                path: origin,
                field: "file size",
                expected: format!("{expected} bytes for k = {k}"),
                actual: format!("{actual} bytes"),
            });
        }
        let reader = std::io::Cursor::new(k_bytes).chain(std::io::BufReader::new(file));
        Self::from_reader(reader, &origin)
    }

    /// Like [`Srs::read`], from any reader; `origin` names the source in errors. Points are
    /// checked to lie on the curve, and `e(s·G1, g2) = e(G1, s·g2)` is checked, so a file
    /// whose G2 part belongs to another ceremony is refused.
    ///
    /// # Errors
    /// As [`Srs::read`].
    pub fn from_reader(mut reader: impl Read, origin: &str) -> Result<Self> {
        let io = |source| CircuitError::SrsRead {
            path: origin.to_owned(),
            source,
        };
        let invalid = |field, expected: &str, actual: String| CircuitError::SrsInvalid {
            path: origin.to_owned(),
            field,
            expected: expected.to_owned(),
            actual,
        };
        let mut k_bytes = [0u8; 4];
        reader.read_exact(&mut k_bytes).map_err(io)?;
        check_k(u32::from_le_bytes(k_bytes), origin)?;
        let mut reader = std::io::Cursor::new(k_bytes).chain(reader);
        let mut params =
            ParamsKZG::<Bn256>::read_custom(&mut reader, SerdeFormat::RawBytes).map_err(io)?;
        // halo2curves' raw decoding checks coordinates < p but not curve membership: check the
        // powers that stay after downsizing (G1 has cofactor 1, so on-curve is in-group) and the
        // G2 part. The remaining points of a larger file are never used.
        let kept = 1usize << K;
        if let Some(i) = params.get_g()[..kept]
            .iter()
            .position(|p| !bool::from(p.is_on_curve()))
        {
            return Err(invalid(
                "G1 point",
                "a point on BN254 G1",
                format!("index {i} is not"),
            ));
        }
        if !bool::from(params.g2().is_on_curve()) || !bool::from(params.s_g2().is_on_curve()) {
            return Err(invalid(
                "g2 / s·g2",
                "points on BN254 G2",
                "a point off the curve".into(),
            ));
        }
        let g = params.get_g();
        if g[0] != G1Affine::generator() {
            return Err(invalid(
                "g[0]",
                "the BN254 G1 generator",
                format!("{:?}", g[0]),
            ));
        }
        if Bn256::pairing(&g[1], &params.g2()) != Bn256::pairing(&g[0], &params.s_g2()) {
            return Err(invalid(
                "s·g2",
                "e(g[1], g2) = e(g[0], s·g2)",
                "a mismatch".into(),
            ));
        }
        // Always downsize, even at k = K: the Lagrange points are then recomputed from the
        // monomial ones instead of trusted from the file.
        params.downsize(K);
        Ok(Self {
            params,
            insecure: false,
        })
    }

    /// The parameters, at degree [`K`].
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

fn check_k(k: u32, origin: &str) -> Result<u32> {
    if (K..=MAX_FILE_K).contains(&k) {
        Ok(k)
    } else {
        Err(CircuitError::SrsInvalid {
            path: origin.to_owned(),
            field: "k",
            expected: format!("{K}..={MAX_FILE_K} (the step circuits need 2^{K} points)"),
            actual: k.to_string(),
        })
    }
}

/// The development SRS, made once per test binary (its setup is the slowest part of the tests).
#[cfg(test)]
pub(crate) fn shared_dev_srs() -> &'static Srs {
    static SRS: std::sync::OnceLock<Srs> = std::sync::OnceLock::new();
    SRS.get_or_init(Srs::insecure_dev)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A params file of degree `k >= K` whose first 2^K powers are the dev SRS's (the rest are
    /// filler: only the first 2^K are used after downsizing, and Lagrange points are
    /// recomputed), and whose `s·g2` is replaced if `s_g2` is given.
    fn params_file(k: u32, s_g2: Option<G2Affine>) -> Vec<u8> {
        let dev = shared_dev_srs().params();
        let mut bytes = k.to_le_bytes().to_vec();
        let extra = (1usize << k) - dev.get_g().len();
        let g = dev
            .get_g()
            .iter()
            .chain(std::iter::repeat_n(&dev.get_g()[1], extra));
        for p in g.clone().chain(g) {
            p.write(&mut bytes, SerdeFormat::RawBytes).unwrap();
        }
        dev.g2().write(&mut bytes, SerdeFormat::RawBytes).unwrap();
        s_g2.unwrap_or(dev.s_g2())
            .write(&mut bytes, SerdeFormat::RawBytes)
            .unwrap();
        bytes
    }

    #[test]
    fn a_ceremony_file_is_read_and_downsized_to_k() {
        // A larger file, as real ceremonies are: k = K + 1.
        let dir = std::env::temp_dir().join(format!("circuits-srs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("big.srs");
        let bytes = params_file(K + 1, None);
        std::fs::write(&path, &bytes).unwrap();
        let srs = Srs::read(&path).unwrap();
        assert!(!srs.is_insecure());
        assert_eq!(srs.params().k(), K);
        let dev = shared_dev_srs();
        assert!(dev.is_insecure());
        // Same powers, recomputed Lagrange points and G2 part: byte-identical params.
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        srs.params().write(&mut ours).unwrap();
        dev.params().write(&mut theirs).unwrap();
        assert!(ours == theirs);

        // Truncated: refused by size before parsing; through a reader, an error, not a panic.
        let short = &bytes[..bytes.len() - 1];
        std::fs::write(&path, short).unwrap();
        assert!(matches!(
            Srs::read(&path),
            Err(CircuitError::SrsInvalid {
                field: "file size",
                ..
            })
        ));
        assert!(matches!(
            Srs::from_reader(short, "mem"),
            Err(CircuitError::SrsRead { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(matches!(
            Srs::read(dir.join("absent")),
            Err(CircuitError::SrsRead { .. })
        ));
    }

    #[test]
    fn unusable_files_are_refused() {
        // Too small for the circuits, or an absurd degree: refused before any allocation.
        for k in [K - 1, 63] {
            assert!(matches!(
                Srs::from_reader(k.to_le_bytes().as_slice(), "mem"),
                Err(CircuitError::SrsInvalid { field: "k", .. })
            ));
        }
        // A G2 part that does not match the G1 powers.
        let wrong = params_file(K, Some(shared_dev_srs().params().g2()));
        assert!(matches!(
            Srs::from_reader(wrong.as_slice(), "mem"),
            Err(CircuitError::SrsInvalid { field: "s·g2", .. })
        ));
        // A point off the curve (its x coordinate's lowest Montgomery byte flipped).
        let mut off = params_file(K, None);
        off[4 + 64 * 5] ^= 1;
        assert!(matches!(
            Srs::from_reader(off.as_slice(), "mem"),
            Err(CircuitError::SrsInvalid {
                field: "G1 point",
                ..
            })
        ));
    }
}
