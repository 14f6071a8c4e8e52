//! The crate's error type.

use thiserror::Error;

/// Result alias for this crate.
pub type Result<T, E = DaemonError> = std::result::Result<T, E>;

/// Failures of the daemon infrastructure: the store, the wire format, the HTTP transport,
/// configuration.
#[derive(Debug, Error)]
pub enum DaemonError {
    /// The SQLite store failed.
    #[error("store {path}: {source}")]
    Store {
        /// The database file.
        path: String,
        /// SQLite's error (boxed: it is large, and errors travel through every result).
        #[source]
        source: Box<rusqlite::Error>,
    },
    /// The store belongs to another chain, registry or account.
    #[error(
        "store {path} was created for {stored}, not {expected}; use another --data-dir or the matching configuration"
    )]
    StoreBinding {
        /// The database file.
        path: String,
        /// What it was created for.
        stored: String,
        /// What this run is configured for.
        expected: String,
    },
    /// Bytes that are not a well-formed update.
    #[error("{what}: {message}")]
    Wire {
        /// Whose bytes (an upload, a URL, a stored row).
        what: String,
        /// What is wrong.
        message: String,
    },
    /// An HTTP request to a data-availability server failed.
    #[error("{url}: {message}")]
    Http {
        /// The URL.
        url: String,
        /// What failed.
        message: String,
    },
    /// A configuration value is invalid.
    #[error("configuration: {field}: {message}")]
    Config {
        /// The field (`chain.rpc_url`, `http.listen`, ...).
        field: String,
        /// What is wrong and what is expected.
        message: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

impl DaemonError {
    /// A configuration error naming `field`.
    pub fn config(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Config {
            field: field.into(),
            message: message.into(),
        }
    }
}
