//! `aggregator`: see `aggregator --help` and the crate docs.

use clap::Parser as _;

#[tokio::main]
async fn main() -> eyre::Result<()> {
    let cli = aggregator::cli::Cli::parse();
    daemon::logging::init(cli.log_format);
    aggregator::cli::run(cli).await?;
    Ok(())
}
