//! The client crate's one error type.

use std::path::PathBuf;

/// Result of this crate.
pub type Result<T> = std::result::Result<T, ClientError>;

/// What can go wrong reading or quantizing a model update; every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The file cannot be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file's extension names no format this crate reads.
    #[error("{path}: unknown model format (expected .safetensors, .npy or .npz)")]
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// The file is malformed or truncated.
    #[error("{path}: malformed {format} file: {reason}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// `safetensors`, `npy` or `npz`.
        format: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A tensor's element type is not float32, float16 or bfloat16.
    #[error(
        "{path}: tensor {tensor:?} has element type {dtype}; expected float32, float16 or bfloat16"
    )]
    UnsupportedDtype {
        /// The file.
        path: PathBuf,
        /// The tensor.
        tensor: String,
        /// Its element type as the file names it.
        dtype: String,
    },
    /// The file holds no value.
    #[error("{path}: the model has no values")]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// More values than a round's model can have.
    #[error("{path}: {values} values; a model has at most {max}")]
    Oversized {
        /// The file.
        path: PathBuf,
        /// Values in the file.
        values: u64,
        /// The limit (`step_vm::MAX_DIM`).
        max: usize,
    },
    /// A value is NaN or infinite.
    #[error("{path}: tensor {tensor:?} value {index} is {value}; updates must be finite")]
    NotFinite {
        /// The file.
        path: PathBuf,
        /// The tensor.
        tensor: String,
        /// Row-major index of the value within the tensor.
        index: usize,
        /// The value.
        value: String,
    },
    /// The round on chain does not admit this submission.
    #[error("round {round}: {message}")]
    Round {
        /// Round id.
        round: u64,
        /// What is wrong.
        message: String,
    },
    /// Chain access failed or the commit reverted.
    #[error("chain: {0}")]
    Chain(String),
    /// The data-availability server refused the upload or could not be reached.
    #[error("upload: {0}")]
    Upload(String),
    /// The chain connection or deployment file is misconfigured.
    #[error(transparent)]
    Config(#[from] daemon::DaemonError),
}
