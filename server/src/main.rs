//! `stelgano-server`: runs the reference server.

#![forbid(unsafe_code)]

use clap::Parser;
use stelgano_server::config::Config;
use stelgano_server::run::{init_tracing, run};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    init_tracing(config.log_format);
    #[cfg(feature = "fault-injection")]
    if let Some(fault) = config.inject_fault {
        stelgano_server::faults::inject(fault);
        tracing::warn!(
            ?fault,
            "a deliberate fault is injected: this server does not conform"
        );
    }
    run(config).await
}
