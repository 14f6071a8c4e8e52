//! `fl-client`: see `fl-client --help` and the crate docs.

use clap::Parser as _;

#[tokio::main]
async fn main() -> eyre::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    client::cli::run(client::cli::Cli::parse()).await?;
    Ok(())
}
