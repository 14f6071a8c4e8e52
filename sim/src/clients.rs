//! Synthetic federated-learning clients, deterministic from a seed.
//!
//! Each client holds a model update drawn around a shared "global direction" (so the average
//! is meaningful, not noise) plus its own noise, and an example count used as its FedAvg
//! weight. Same seed, same updates, bit for bit.

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use step_vm::Update;

/// One synthetic client's contribution.
#[derive(Debug, Clone)]
pub struct SyntheticClient {
    /// Fixed-point update.
    pub update: Update,
    /// Example count (FedAvg weight).
    pub examples: u32,
}

fn uniform(rng: &mut ChaCha8Rng) -> f32 {
    // 24 random bits -> [-1, 1).
    #[allow(clippy::cast_precision_loss)]
    let unit = (rng.next_u32() >> 8) as f32 / (1u32 << 24) as f32;
    2.0 * unit - 1.0
}

/// `count` clients with `dim`-value updates, from `seed`.
///
/// # Errors
/// Never for the ranges generated here (values stay within ±0.2); the conversion is checked
/// all the same, as for real client data.
pub fn generate(
    seed: u64,
    count: usize,
    dim: usize,
) -> Result<Vec<SyntheticClient>, step_vm::VmError> {
    let mut shared = ChaCha8Rng::seed_from_u64(seed);
    let direction: Vec<f32> = (0..dim).map(|_| 0.1 * uniform(&mut shared)).collect();
    (0..count)
        .map(|c| {
            let mut rng = ChaCha8Rng::seed_from_u64(
                seed ^ (0x9e37_79b9_7f4a_7c15u64.wrapping_mul(c as u64 + 1)),
            );
            let values: Vec<f32> = direction
                .iter()
                .map(|d| d + 0.05 * uniform(&mut rng))
                .collect();
            let examples = 50 + rng.next_u32() % 451;
            Ok(SyntheticClient {
                update: Update::from_f32(&values)?,
                examples,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_clients() {
        let a = generate(7, 3, 100).unwrap();
        let b = generate(7, 3, 100).unwrap();
        assert!(
            a.iter()
                .zip(&b)
                .all(|(x, y)| x.update == y.update && x.examples == y.examples)
        );
        let c = generate(8, 3, 100).unwrap();
        assert_ne!(a[0].update, c[0].update);
    }

    #[test]
    fn clients_differ_and_weights_are_in_range() {
        let a = generate(1, 4, 64).unwrap();
        assert_ne!(a[0].update, a[1].update);
        assert!(a.iter().all(|c| (50..=500).contains(&c.examples)));
    }
}
