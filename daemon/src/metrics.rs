//! Prometheus metrics of a role daemon (text exposition format on `GET /metrics`).

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

/// One label: its name and value.
type Labels = Vec<(&'static str, String)>;

/// Every metric a role daemon exposes. Cheap to clone (the metrics are shared handles).
#[derive(Debug, Clone)]
pub struct Metrics {
    /// Rounds the daemon has started following.
    pub rounds_seen: Counter,
    /// Rounds that reached a final status, by status (`finalized`, `rejected`, `expired`).
    pub rounds_ended: Family<Labels, Counter>,
    /// Client uploads accepted (matching their on-chain commitment).
    pub uploads_accepted: Counter,
    /// Client uploads refused, by reason.
    pub uploads_refused: Family<Labels, Counter>,
    /// Bytes of accepted uploads.
    pub upload_bytes: Counter,
    /// Updates fetched from data-availability servers.
    pub updates_fetched: Counter,
    /// Availability challenges raised.
    pub availability_challenges: Counter,
    /// Disputes (games) opened or discovered, by role.
    pub disputes: Family<Labels, Counter>,
    /// Game moves sent, by action (`bisect`, `respond`, `proveLeaf`, `timeout`).
    pub moves: Family<Labels, Counter>,
    /// Games ended, by outcome for this daemon (`won`, `lost`).
    pub games_ended: Family<Labels, Counter>,
    /// Seconds each leaf proof took.
    pub proof_seconds: Histogram,
    /// Seconds each aggregation or re-execution took.
    pub execute_seconds: Histogram,
    /// The daemon account's balance (ether).
    pub balance_ether: Gauge<f64, AtomicU64>,
    /// The daemon account's withdrawable credit in the registry (ether).
    pub credit_ether: Gauge<f64, AtomicU64>,
    /// Failed chain requests and transactions (retried).
    pub rpc_errors: Counter,
    registry: std::sync::Arc<Registry>,
}

impl Metrics {
    /// A fresh set of metrics, registered under the `fl_<role>_` prefix.
    #[must_use]
    pub fn new(role: &str) -> Self {
        let mut registry = Registry::with_prefix(format!("fl_{role}"));
        let m = Self {
            rounds_seen: Counter::default(),
            rounds_ended: Family::default(),
            uploads_accepted: Counter::default(),
            uploads_refused: Family::default(),
            upload_bytes: Counter::default(),
            updates_fetched: Counter::default(),
            availability_challenges: Counter::default(),
            disputes: Family::default(),
            moves: Family::default(),
            games_ended: Family::default(),
            proof_seconds: Histogram::new(exponential_buckets(0.25, 2.0, 10)),
            execute_seconds: Histogram::new(exponential_buckets(0.001, 4.0, 10)),
            balance_ether: Gauge::default(),
            credit_ether: Gauge::default(),
            rpc_errors: Counter::default(),
            registry: std::sync::Arc::new(Registry::default()),
        };
        registry.register("rounds_seen", "Rounds followed", m.rounds_seen.clone());
        registry.register(
            "rounds_ended",
            "Rounds that reached a final status",
            m.rounds_ended.clone(),
        );
        registry.register(
            "uploads_accepted",
            "Client uploads that matched their on-chain commitment",
            m.uploads_accepted.clone(),
        );
        registry.register(
            "uploads_refused",
            "Client uploads refused, by reason",
            m.uploads_refused.clone(),
        );
        registry.register(
            "upload_bytes",
            "Bytes of accepted uploads",
            m.upload_bytes.clone(),
        );
        registry.register(
            "updates_fetched",
            "Updates fetched from data-availability servers",
            m.updates_fetched.clone(),
        );
        registry.register(
            "availability_challenges",
            "Availability challenges raised",
            m.availability_challenges.clone(),
        );
        registry.register("disputes", "Games opened or discovered", m.disputes.clone());
        registry.register("moves", "Game moves sent, by action", m.moves.clone());
        registry.register(
            "games_ended",
            "Games ended, by outcome",
            m.games_ended.clone(),
        );
        registry.register(
            "proof_seconds",
            "Seconds per leaf proof",
            m.proof_seconds.clone(),
        );
        registry.register(
            "execute_seconds",
            "Seconds per aggregation or re-execution",
            m.execute_seconds.clone(),
        );
        registry.register(
            "balance_ether",
            "Balance of the daemon's account",
            m.balance_ether.clone(),
        );
        registry.register(
            "credit_ether",
            "Withdrawable credit of the daemon's account in the registry",
            m.credit_ether.clone(),
        );
        registry.register(
            "rpc_errors",
            "Failed chain requests and transactions",
            m.rpc_errors.clone(),
        );
        Self {
            registry: std::sync::Arc::new(registry),
            ..m
        }
    }

    /// The label set `{name="value"}`.
    #[must_use]
    pub fn label(name: &'static str, value: impl Into<String>) -> Labels {
        vec![(name, value.into())]
    }

    /// Counts a game move (and its proof's seconds).
    pub fn count_move(&self, turn: &protocol::Turn) {
        if let protocol::Turn::Moved { action, prove, .. } = turn {
            self.moves
                .get_or_create(&Self::label("action", *action))
                .inc();
            if let Some(p) = prove {
                self.proof_seconds.observe(p.as_secs_f64());
            }
        }
    }

    /// Counts a game that ended with `outcome` (`won`, `lost`) for this daemon.
    pub fn count_game_end(&self, outcome: &'static str) {
        self.games_ended
            .get_or_create(&Self::label("outcome", outcome))
            .inc();
    }

    /// The metrics in the Prometheus text format.
    #[must_use]
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// Wei as (approximate) ether, for the balance gauges.
#[must_use]
pub fn ether(wei: alloy::primitives::U256) -> f64 {
    let gwei: u128 = (wei / alloy::primitives::U256::from(1_000_000_000u64)).saturating_to();
    #[allow(clippy::cast_precision_loss)]
    let ether = gwei as f64 / 1e9;
    ether
}
