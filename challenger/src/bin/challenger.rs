//! `challenger`: see `challenger --help` and the crate docs.

use clap::Parser as _;

#[tokio::main]
async fn main() -> eyre::Result<()> {
    let cli = challenger::cli::Cli::parse();
    daemon::logging::init(cli.log_format);
    challenger::cli::run(cli).await?;
    Ok(())
}
