//! Graceful shutdown: SIGTERM or Ctrl-C turns a watch flag true; the daemons finish their tick
//! and stop, the HTTP servers drain.

use tokio::sync::watch;
use tracing::info;

/// A flag that turns true on SIGTERM or SIGINT (Ctrl-C). Must be called inside a tokio
/// runtime.
#[must_use]
pub fn shutdown_on_signals() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        #[cfg(unix)]
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            () = term => info!("SIGTERM: shutting down gracefully"),
            _ = tokio::signal::ctrl_c() => info!("interrupted: shutting down gracefully"),
        }
        let _ = tx.send(true);
    });
    rx
}

/// A future that resolves once `flag` turns true (for `axum::serve`'s graceful shutdown).
pub async fn until_true(mut flag: watch::Receiver<bool>) {
    while !*flag.borrow() {
        if flag.changed().await.is_err() {
            return;
        }
    }
}
