//! The clients' model updates as real safetensors files: a small two-layer network's weight
//! deltas (`fc1.bias` 64, `fc1.weight` 60×64, `fc2.weight` 2×64), drawn around a shared
//! direction plus per-client noise, as local training would produce.

use std::path::{Path, PathBuf};

use safetensors::tensor::TensorView;

use crate::{DevnetError, Result};

/// The files written and the model's dimension.
#[derive(Debug, Clone)]
pub struct ModelFiles {
    /// One file per client.
    pub paths: Vec<PathBuf>,
    /// Values per update.
    pub dim: usize,
}

/// Tensors of the model: name and shape (4,096 values in all).
const TENSORS: [(&str, [usize; 2]); 3] = [
    ("fc1.bias", [1, 64]),
    ("fc1.weight", [60, 64]),
    ("fc2.weight", [2, 64]),
];

/// Writes `clients` safetensors files into `dir` (created if needed).
///
/// # Errors
/// The directory or a file cannot be written.
pub fn write_client_models(dir: &Path, clients: usize, seed: u64) -> Result<ModelFiles> {
    std::fs::create_dir_all(dir).map_err(|source| io(dir, source))?;
    let mut paths = Vec::with_capacity(clients);
    let dim: usize = TENSORS.iter().map(|(_, s)| s[0] * s[1]).sum();
    for c in 0..clients {
        let mut rng = SplitMix(seed ^ 0x9e37_79b9_7f4a_7c15);
        let mut noise = SplitMix(
            seed.wrapping_add(1 + c as u64)
                .wrapping_mul(0x2545_f491_4f6c_dd1d),
        );
        let data: Vec<Vec<u8>> = TENSORS
            .iter()
            .map(|(_, s)| {
                (0..s[0] * s[1])
                    .flat_map(|_| {
                        let v = 0.05 * rng.normal() + 0.01 * noise.normal();
                        #[allow(clippy::cast_possible_truncation)]
                        (v as f32).to_le_bytes()
                    })
                    .collect()
            })
            .collect();
        let views: Vec<(&str, TensorView<'_>)> = TENSORS
            .iter()
            .zip(&data)
            .map(|((name, s), bytes)| {
                let shape = if s[0] == 1 { vec![s[1]] } else { s.to_vec() };
                TensorView::new(safetensors::Dtype::F32, shape, bytes)
                    .map(|v| (*name, v))
                    .map_err(|e| DevnetError::Config(format!("tensor {name}: {e}")))
            })
            .collect::<Result<_>>()?;
        let bytes = safetensors::serialize(views, None)
            .map_err(|e| DevnetError::Config(format!("serialising client {c}'s model: {e}")))?;
        let path = dir.join(format!("client-{c}.safetensors"));
        std::fs::write(&path, bytes).map_err(|source| io(&path, source))?;
        paths.push(path);
    }
    Ok(ModelFiles { paths, dim })
}

fn io(path: &Path, source: std::io::Error) -> DevnetError {
    daemon::DaemonError::Io {
        path: path.display().to_string(),
        source,
    }
    .into()
}

/// SplitMix64 with a Box-Muller normal: deterministic model files from a seed.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        u
    }

    fn normal(&mut self) -> f64 {
        let u1 = self.unit().max(f64::MIN_POSITIVE);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}
