//! The `challenger` command line: `run` (the daemon). Settings come from defaults, a TOML
//! file (`--config`), `FL_*` environment variables and flags, in that order of precedence
//! (lowest first); an invalid one is refused with its name.

use std::path::PathBuf;

use daemon::DaemonError;
use daemon::config::{ChainConfig, DaemonSettings, ResolvedSettings, read_toml};
use daemon::logging::LogFormat;
use serde::Deserialize;

use crate::{Challenger, ChallengerDaemon, Result};

/// The challenger: watches every posted result, fetches and checks the inputs (challenging
/// the availability of what nobody serves), re-executes, disputes a wrong result, plays and
/// proves to the end, and claims.
#[derive(Debug, clap::Parser)]
#[command(name = "challenger", version)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Log line format on stderr (`RUST_LOG` filters; default `info`).
    #[arg(long = "log-format", value_enum, global = true, env = "FL_LOG_FORMAT", default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
}

/// The challenger's commands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Run the daemon: watch, fetch, re-execute, dispute, play, claim.
    Run(RunArgs),
}

/// `challenger run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// TOML file with `[chain]`, `[daemon]` and `[challenger]` sections (keys as the flags,
    /// with `_`; see the README's example).
    #[arg(long, env = "FL_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Chain connection.
    #[command(flatten)]
    pub chain: ChainConfig,
    /// Settings every daemon has.
    #[command(flatten)]
    pub daemon: DaemonSettings,
    /// The challenger's own settings.
    #[command(flatten)]
    pub settings: Settings,
}

/// The challenger's own settings (flags, `FL_*` variables, or the `[challenger]` section).
#[derive(Debug, Clone, Default, clap::Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Base URLs of data-availability servers to fetch updates from (the aggregators', any
    /// mirror; comma-separated). Updates are checked against the on-chain roots whatever
    /// their source.
    #[arg(
        long = "sources",
        env = "FL_SOURCES",
        value_delimiter = ',',
        value_name = "URL,..."
    )]
    pub sources: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default)]
    chain: ChainConfig,
    #[serde(default)]
    daemon: DaemonSettings,
    #[serde(default)]
    challenger: Settings,
}

/// `challenger run`'s settings after layering and validation.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// Chain connection.
    pub chain: ChainConfig,
    /// Settings every daemon has.
    pub daemon: ResolvedSettings,
    /// Data-availability servers.
    pub sources: Vec<String>,
}

impl RunArgs {
    /// Layers the flags and environment over the config file and the defaults, and validates.
    ///
    /// # Errors
    /// The file cannot be read, or a setting is invalid (named).
    pub fn resolve(&self) -> Result<Resolved> {
        let file: FileConfig = match &self.config {
            Some(path) => read_toml(path)?,
            None => FileConfig::default(),
        };
        let chain = self.chain.clone().or(file.chain);
        chain.validate()?;
        let sources = self
            .settings
            .sources
            .clone()
            .or(file.challenger.sources)
            .unwrap_or_default();
        if let Some(bad) = sources
            .iter()
            .find(|u| !(u.starts_with("http://") || u.starts_with("https://")))
        {
            return Err(DaemonError::config(
                "challenger.sources",
                format!("{bad:?} is not an http:// or https:// URL"),
            )
            .into());
        }
        Ok(Resolved {
            chain,
            daemon: self.daemon.clone().or(file.daemon).resolve("challenger")?,
            sources,
        })
    }
}

/// Runs a command.
///
/// # Errors
/// What the command failed at, naming the setting, file or transaction.
pub async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Run(args) => {
            let cfg = args.resolve()?;
            if cfg.sources.is_empty() {
                tracing::warn!(
                    "no --sources: only updates revealed on chain can be checked; every other one will be challenged for availability"
                );
            }
            let started = daemon::start("challenger", &cfg.chain, &cfg.daemon).await?;
            ChallengerDaemon::new(
                Challenger::new(started.deployment, started.account),
                started.core,
                cfg.sources,
            )
            .run(started.shutdown)
            .await?;
            if let Some(t) = started.metrics_server {
                let _ = t.await;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    const KEY: &str = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";

    fn resolve(args: &[&str]) -> Result<Resolved> {
        let mut argv = vec!["challenger", "run"];
        argv.extend_from_slice(args);
        let Command::Run(r) = Cli::parse_from(argv).command;
        r.resolve()
    }

    #[test]
    fn the_example_config_resolves_and_bad_sources_are_named() {
        let example = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../docs/examples/challenger.toml"
        );
        let r = resolve(&["--config", example, "--chain.private-key", KEY]).unwrap();
        assert_eq!(r.sources, ["http://127.0.0.1:7070"]);
        assert_eq!(r.daemon.data_dir, PathBuf::from("challenger-data"));
        let e = resolve(&[
            "--config",
            example,
            "--chain.private-key",
            KEY,
            "--sources",
            "ftp://x",
        ])
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("challenger.sources") && e.contains("ftp://x"),
            "{e}"
        );
    }
}
