//! End-to-end and adversarial tests of the whole system live in `tests/`; this library only
//! holds their shared fixtures.

use std::sync::{Arc, OnceLock};

use arbiter::LeafProver;
use circuits::Srs;

/// Proving keys shared by every test of a test binary (key generation is the slow part).
///
/// # Panics
/// If key generation fails, which fails every dependent test anyway.
pub fn prover() -> Arc<LeafProver> {
    static PROVER: OnceLock<Arc<LeafProver>> = OnceLock::new();
    Arc::clone(PROVER.get_or_init(|| {
        Arc::new(LeafProver::setup(&Srs::insecure_dev()).expect("step circuit keygen"))
    }))
}
