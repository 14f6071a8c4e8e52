//! Layered configuration of the binaries: defaults, then a TOML file (`--config`), then
//! environment variables (`FL_*`), then flags (dotted: `--chain.rpc-url`), each layer
//! overriding the one before; `validate` names the bad field.
//!
//! Every setting is an `Option` in the flag and file structs; [`ChainConfig::or`] and the
//! roles' `or` merge a command line with a file, and the roles resolve the result into their
//! settings with defaults.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use alloy::primitives::Address;
use alloy::signers::local::{MnemonicBuilder, PrivateKeySigner, coins_bip39::English};
use contracts::{Addresses, Chain, DeployParams, Deployment, RpcChain};
use serde::{Deserialize, Serialize};

use crate::{DaemonError, Result};

/// Where the chain is and who this process is on it.
#[derive(Debug, Clone, Default, clap::Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainConfig {
    /// JSON-RPC URL of the Ethereum node (http://...).
    #[arg(long = "chain.rpc-url", env = "FL_CHAIN_RPC_URL", value_name = "URL")]
    pub rpc_url: Option<String>,
    /// Private key (hex) of the account this process acts from.
    #[arg(
        long = "chain.private-key",
        env = "FL_CHAIN_PRIVATE_KEY",
        hide_env_values = true,
        value_name = "HEX"
    )]
    pub private_key: Option<String>,
    /// BIP-39 mnemonic to derive the account from, instead of a private key.
    #[arg(
        long = "chain.mnemonic",
        env = "FL_CHAIN_MNEMONIC",
        hide_env_values = true,
        value_name = "WORDS"
    )]
    pub mnemonic: Option<String>,
    /// Index of the account under the mnemonic (default 0).
    #[arg(
        long = "chain.account-index",
        env = "FL_CHAIN_ACCOUNT_INDEX",
        value_name = "N"
    )]
    pub account_index: Option<u32>,
    /// The deployment file (`aggregator deploy` writes it): contract addresses and parameters.
    #[arg(
        long = "chain.deployment",
        env = "FL_CHAIN_DEPLOYMENT",
        value_name = "FILE"
    )]
    pub deployment: Option<PathBuf>,
    /// Blocks on top of a transaction or log (its own included) before a daemon acts on it
    /// (default 1; more on a chain that reorgs).
    #[arg(
        long = "chain.confirmations",
        env = "FL_CHAIN_CONFIRMATIONS",
        value_name = "N"
    )]
    pub confirmations: Option<u64>,
}

impl ChainConfig {
    /// Each setting from `self` (flags and environment), else from `file`.
    #[must_use]
    pub fn or(self, file: Self) -> Self {
        Self {
            rpc_url: self.rpc_url.or(file.rpc_url),
            private_key: self.private_key.or(file.private_key),
            mnemonic: self.mnemonic.or(file.mnemonic),
            account_index: self.account_index.or(file.account_index),
            deployment: self.deployment.or(file.deployment),
            confirmations: self.confirmations.or(file.confirmations),
        }
    }

    /// The node's URL.
    ///
    /// # Errors
    /// Missing, or not an `http(s)://` URL.
    pub fn rpc_url(&self) -> Result<&str> {
        let url = self.rpc_url.as_deref().ok_or_else(|| {
            DaemonError::config(
                "chain.rpc_url",
                "missing: give --chain.rpc-url, FL_CHAIN_RPC_URL or [chain] rpc_url in the config file",
            )
        })?;
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(DaemonError::config(
                "chain.rpc_url",
                format!("{url:?} is not an http:// or https:// URL"),
            ));
        }
        Ok(url)
    }

    /// The signing key: the private key, or the mnemonic's account.
    ///
    /// # Errors
    /// Neither or both given, or an invalid key or mnemonic.
    pub fn signer(&self) -> Result<PrivateKeySigner> {
        match (&self.private_key, &self.mnemonic) {
            (Some(key), None) => key.trim().parse().map_err(|e| {
                DaemonError::config(
                    "chain.private_key",
                    format!("not a 32-byte hex private key: {e}"),
                )
            }),
            (None, Some(words)) => {
                let index = self.account_index.unwrap_or(0);
                MnemonicBuilder::<English>::default()
                    .phrase(words.trim())
                    .index(index)
                    .and_then(|b| b.build())
                    .map_err(|e| {
                        DaemonError::config(
                            "chain.mnemonic",
                            format!("cannot derive account {index}: {e}"),
                        )
                    })
            }
            (None, None) => Err(DaemonError::config(
                "chain.private_key",
                "missing: give --chain.private-key (or FL_CHAIN_PRIVATE_KEY), or --chain.mnemonic",
            )),
            (Some(_), Some(_)) => Err(DaemonError::config(
                "chain.mnemonic",
                "give either a private key or a mnemonic, not both",
            )),
        }
    }

    /// Checks everything a daemon needs: the node's URL, a key, the deployment file's path and
    /// the confirmations.
    ///
    /// # Errors
    /// The first missing or invalid setting, named.
    pub fn validate(&self) -> Result<()> {
        self.rpc_url()?;
        self.signer()?;
        self.deployment_path()?;
        self.tx_policy().map(drop)
    }

    /// The transaction manager's policy: the defaults with these confirmations.
    ///
    /// # Errors
    /// Zero confirmations.
    pub fn tx_policy(&self) -> Result<contracts::TxPolicy> {
        let policy = contracts::TxPolicy {
            confirmations: self.confirmations.unwrap_or(1),
            ..contracts::TxPolicy::default()
        };
        policy
            .validate()
            .map_err(|e| DaemonError::config("chain.confirmations", e.to_string()))?;
        Ok(policy)
    }

    /// Connects to the node, signing with this process's key.
    ///
    /// # Errors
    /// As [`Self::rpc_url`] and [`Self::signer`].
    pub fn connect(&self) -> Result<(Arc<RpcChain>, Address)> {
        self.connect_with(Arc::new(contracts::MemoryJournal::new()))
    }

    /// As [`Self::connect`], the transaction manager journaling into `journal` (a daemon's
    /// store, so that a restart never sends an in-flight transaction twice).
    ///
    /// # Errors
    /// As [`Self::connect`].
    pub fn connect_with(
        &self,
        journal: Arc<dyn contracts::TxJournal>,
    ) -> Result<(Arc<RpcChain>, Address)> {
        let url = self.rpc_url()?;
        let signer = self.signer()?;
        let account = signer.address();
        let chain = RpcChain::connect_with_policy(url, vec![signer], self.tx_policy()?, journal)
            .map_err(|e| DaemonError::config("chain.rpc_url", e.to_string()))?;
        Ok((Arc::new(chain), account))
    }

    /// The deployment file's path.
    ///
    /// # Errors
    /// Missing.
    pub fn deployment_path(&self) -> Result<&Path> {
        self.deployment.as_deref().ok_or_else(|| {
            DaemonError::config(
                "chain.deployment",
                "missing: give --chain.deployment FILE (written by `aggregator deploy`)",
            )
        })
    }

    /// Connects and attaches to the deployment in the deployment file, checking that the node
    /// is the chain the file was written for.
    ///
    /// # Errors
    /// Configuration, the file, or a chain id mismatch.
    pub async fn attach(&self) -> Result<(Deployment<RpcChain>, Address)> {
        let file = DeploymentFile::read(self.deployment_path()?)?;
        self.attach_to(&file, Arc::new(contracts::MemoryJournal::new()))
            .await
    }

    /// As [`Self::attach`], to `file`'s deployment, journaling into `journal`.
    ///
    /// # Errors
    /// Configuration, or a node on another chain than the file's.
    pub async fn attach_to(
        &self,
        file: &DeploymentFile,
        journal: Arc<dyn contracts::TxJournal>,
    ) -> Result<(Deployment<RpcChain>, Address)> {
        let (chain, account) = self.connect_with(journal)?;
        let chain_id = chain.chain_id().await.map_err(|e| {
            DaemonError::config("chain.rpc_url", format!("the node does not answer: {e}"))
        })?;
        if chain_id != file.chain_id {
            return Err(DaemonError::config(
                "chain.deployment",
                format!(
                    "written for chain {}, but the node at {} is chain {chain_id}",
                    file.chain_id,
                    self.rpc_url()?
                ),
            ));
        }
        Ok((
            Deployment::attach(chain, file.addresses, file.params),
            account,
        ))
    }
}

/// Settings every role daemon has (flags, `FL_*` variables, or the file's `[daemon]` section).
#[derive(Debug, Clone, Default, clap::Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DaemonSettings {
    /// Directory of the daemon's database (default `./<role>-data`).
    #[arg(long = "data-dir", env = "FL_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// An address serving `GET /metrics` (Prometheus) and `/healthz` (optional; the
    /// aggregator also serves them on its API address).
    #[arg(
        long = "metrics.listen",
        env = "FL_METRICS_LISTEN",
        value_name = "ADDR"
    )]
    pub metrics_listen: Option<SocketAddr>,
    /// Milliseconds between two passes over the rounds (default 2000, at least 10).
    #[arg(long = "poll-ms", env = "FL_POLL_MS", value_name = "MS")]
    pub poll_ms: Option<u64>,
    /// Chain seconds after a round's commit phase before an update nobody serves is
    /// challenged for availability (default 120).
    #[arg(long = "upload-grace", env = "FL_UPLOAD_GRACE", value_name = "SECONDS")]
    pub upload_grace: Option<u64>,
    /// Rounds handled concurrently: re-executions, games, proofs (default 8, at least 1).
    #[arg(
        long = "max-concurrent-rounds",
        env = "FL_MAX_CONCURRENT_ROUNDS",
        value_name = "N"
    )]
    pub max_concurrent_rounds: Option<usize>,
    /// KZG ceremony file (halo2 params format); default: the INSECURE development setup.
    #[arg(long = "srs", env = "FL_SRS", value_name = "FILE")]
    pub srs: Option<PathBuf>,
}

/// [`DaemonSettings`] with defaults applied and validated.
#[derive(Debug, Clone)]
pub struct ResolvedSettings {
    /// Database directory.
    pub data_dir: PathBuf,
    /// Metrics-only address.
    pub metrics_listen: Option<SocketAddr>,
    /// Loop pacing.
    pub pacing: crate::Pacing,
    /// Ceremony file.
    pub srs: Option<PathBuf>,
}

impl DaemonSettings {
    /// Each setting from `self` (flags and environment), else from `file`.
    #[must_use]
    pub fn or(self, file: Self) -> Self {
        Self {
            data_dir: self.data_dir.or(file.data_dir),
            metrics_listen: self.metrics_listen.or(file.metrics_listen),
            poll_ms: self.poll_ms.or(file.poll_ms),
            upload_grace: self.upload_grace.or(file.upload_grace),
            max_concurrent_rounds: self.max_concurrent_rounds.or(file.max_concurrent_rounds),
            srs: self.srs.or(file.srs),
        }
    }

    /// Defaults for `role`, validated.
    ///
    /// # Errors
    /// An invalid setting, named as in the config file (`daemon.poll_ms`).
    pub fn resolve(self, role: &str) -> Result<ResolvedSettings> {
        let poll_ms = self.poll_ms.unwrap_or(2_000);
        if poll_ms < 10 {
            return Err(DaemonError::config(
                "daemon.poll_ms",
                format!("{poll_ms} is below 10"),
            ));
        }
        let max = self.max_concurrent_rounds.unwrap_or(8);
        if max == 0 {
            return Err(DaemonError::config(
                "daemon.max_concurrent_rounds",
                "must be at least 1",
            ));
        }
        if let Some(p) = &self.srs
            && !p.is_file()
        {
            return Err(DaemonError::config(
                "daemon.srs",
                format!("{} is not a readable file", p.display()),
            ));
        }
        Ok(ResolvedSettings {
            data_dir: self
                .data_dir
                .unwrap_or_else(|| format!("{role}-data").into()),
            metrics_listen: self.metrics_listen,
            pacing: crate::Pacing {
                poll: std::time::Duration::from_millis(poll_ms),
                upload_grace: self.upload_grace.unwrap_or(120),
                max_concurrent_rounds: max,
            },
            srs: self.srs,
        })
    }
}

/// The aggregation rules by name, as flags and config files give them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleName {
    /// Weighted FedAvg.
    #[default]
    Fedavg,
    /// Coordinate-wise median (unweighted; the mean of the two middle values for even n).
    Median,
    /// Coordinate-wise trimmed mean: floor(β·n) values cut at each end (`--beta-bps`).
    TrimmedMean,
    /// Krum: the update with the lowest sum of squared distances to its n - f - 2 nearest
    /// (`--byzantine`).
    Krum,
    /// Multi-Krum: the unweighted mean of the `--keep` lowest-scoring updates.
    MultiKrum,
    /// Bulyan: θ = n − 2f updates picked by repeated Krum, then per coordinate the mean of the
    /// θ − 2f picked values closest to their median (`--byzantine`, n >= 4f + 3).
    Bulyan,
}

/// A round's aggregation rule and its parameters, as flags.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct RuleArgs {
    /// Aggregation rule of the rounds.
    #[arg(long, value_enum, default_value_t = RuleName::Fedavg)]
    pub rule: RuleName,
    /// Trimmed mean's β in basis points (0 <= B < 5000): floor(β·n) values cut at each end.
    #[arg(long = "beta-bps", default_value_t = 1_000)]
    pub beta_bps: u16,
    /// L2 norm clipping in front of the rule: every update is scaled down to this norm (a real
    /// number, at least 2^-16, below 65536) before the rule runs.
    #[arg(long = "clip", value_name = "NORM")]
    pub clip: Option<f64>,
    /// Krum and Multi-Krum's f, the Byzantine clients tolerated (n >= 2f + 3).
    #[arg(long = "byzantine", value_name = "F", default_value_t = 1)]
    pub byzantine: u8,
    /// Multi-Krum's m', the updates averaged (1 <= m' <= n - f).
    #[arg(long = "keep", value_name = "M", default_value_t = 2)]
    pub keep: u8,
}

impl RuleArgs {
    /// The rule with its parameters.
    #[must_use]
    pub fn rule(&self) -> step_vm::Rule {
        let f = self.byzantine;
        let base = match self.rule {
            RuleName::Fedavg => step_vm::Base::FedAvg,
            RuleName::Median => step_vm::Base::Median,
            RuleName::TrimmedMean => step_vm::Base::TrimmedMean {
                beta_bps: self.beta_bps,
            },
            RuleName::Krum => step_vm::Base::Distance(step_vm::Selection::Krum { f }),
            RuleName::MultiKrum => {
                step_vm::Base::Distance(step_vm::Selection::MultiKrum { f, keep: self.keep })
            }
            RuleName::Bulyan => step_vm::Base::Distance(step_vm::Selection::Bulyan { f }),
        };
        match self.clip_threshold() {
            Some(threshold) => step_vm::Rule::Clipped { threshold, base },
            None => base.rule(),
        }
    }

    /// `--clip` in Q15.16 (rounded to nearest; 0 for a norm below 2^-17, which `validate`
    /// refuses).
    #[must_use]
    pub fn clip_threshold(&self) -> Option<u32> {
        // Saturating float-to-int conversion; `validate` bounds the value first.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        self.clip
            .map(|norm| (norm * f64::from(1u32 << step_vm::FRAC_BITS)).round() as u32)
    }

    /// Checks the parameters for rounds of `clients` clients; the error names the flag, the
    /// bound and the value.
    ///
    /// # Errors
    /// The first invalid parameter.
    pub fn validate(&self, clients: usize) -> std::result::Result<(), String> {
        if let Some(norm) = self.clip
            && !(norm.is_finite() && (1.0 / 65_536.0..65_536.0).contains(&norm))
        {
            return Err(format!(
                "--clip must be a norm in [2^-16, 65536) (Q15.16), got {norm}"
            ));
        }
        self.rule()
            .validate(clients)
            .map_err(|e| format!("--rule {:?}: {e}", self.rule))
    }
}

/// Where a deployment is: written by `aggregator deploy`, read by every process.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeploymentFile {
    /// EIP-155 chain id.
    pub chain_id: u64,
    /// The contracts.
    pub addresses: Addresses,
    /// The parameters they were deployed with.
    pub params: DeployParams,
}

impl DeploymentFile {
    /// Writes the file (JSON).
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn write(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_string_pretty(self).map_err(|e| DaemonError::Wire {
            what: path.display().to_string(),
            message: e.to_string(),
        })?;
        std::fs::write(path, json).map_err(|source| DaemonError::Io {
            path: path.display().to_string(),
            source,
        })
    }

    /// Reads the file.
    ///
    /// # Errors
    /// Missing or malformed, naming the file.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| DaemonError::Io {
            path: path.display().to_string(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|e| {
            DaemonError::config(
                "chain.deployment",
                format!("{} is not a deployment file: {e}", path.display()),
            )
        })
    }
}

/// Reads a TOML config file into `T` (unknown keys refused, naming the file, line and key).
///
/// # Errors
/// The file cannot be read or parsed.
pub fn read_toml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|source| DaemonError::Io {
        path: path.display().to_string(),
        source,
    })?;
    toml::from_str(&text)
        .map_err(|e| DaemonError::config("config", format!("{}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_file_and_bad_values_name_their_field() {
        let file = ChainConfig {
            rpc_url: Some("http://file:8545".into()),
            account_index: Some(3),
            ..ChainConfig::default()
        };
        let cli = ChainConfig {
            rpc_url: Some("http://flag:8545".into()),
            ..ChainConfig::default()
        };
        let merged = cli.or(file);
        assert_eq!(merged.rpc_url.as_deref(), Some("http://flag:8545"));
        assert_eq!(merged.account_index, Some(3));
        let e = merged.signer().unwrap_err().to_string();
        assert!(
            e.contains("chain.private_key") && e.contains("missing"),
            "{e}"
        );
        let bad = ChainConfig {
            rpc_url: Some("localhost:8545".into()),
            private_key: Some("0x12".into()),
            ..ChainConfig::default()
        };
        assert!(
            bad.rpc_url()
                .unwrap_err()
                .to_string()
                .contains("chain.rpc_url")
        );
        assert!(
            bad.signer()
                .unwrap_err()
                .to_string()
                .contains("chain.private_key")
        );
        let dev = ChainConfig {
            mnemonic: Some(contracts::DEV_MNEMONIC.into()),
            account_index: Some(1),
            ..ChainConfig::default()
        };
        assert_eq!(
            dev.signer().unwrap().address().to_string(),
            "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
        );
        let e = read_toml::<ChainConfigFile>(Path::new("/nonexistent.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("/nonexistent.toml"), "{e}");
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct ChainConfigFile {
        chain: ChainConfig,
    }

    #[test]
    fn a_config_file_with_an_unknown_key_is_refused_with_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            "[chain]\nrpc_url = \"http://x\"\nrpc_ulr = \"typo\"\n",
        )
        .unwrap();
        let e = read_toml::<ChainConfigFile>(&path).unwrap_err().to_string();
        assert!(e.contains("rpc_ulr") && e.contains("c.toml"), "{e}");
    }
}
