//! The FL client's side of a round: read a model update from the files training frameworks
//! write, quantize it to the step VM's Q15.16 fixed point, and compute the commitment the
//! client posts on chain.
//!
//! - [`read_model`] reads safetensors (`.safetensors`) and NumPy (`.npy`, `.npz`) files of
//!   float32, float16 or bfloat16 tensors into one flat vector in a **canonical order**: tensors
//!   sorted by name (byte-wise), each flattened in row-major (C) order. A `.npy` file holds one
//!   tensor, named after the file's stem; an `.npz` archive's entries are named without their
//!   `.npy` suffix. Shapes are recorded ([`TensorInfo`]) so the aggregate can be reshaped.
//! - [`quantize`] converts to fixed point (`round_half_even(v · 2^16)`), **saturating** values
//!   outside `[-2^15, 2^15)` and counting them per tensor, and refusing NaN and ±Inf with the
//!   tensor's name and the value's index.
//!
//! - [`submit`] commits the update's root and weight on chain and uploads the update to the
//!   aggregator's data-availability server, which checks it against that commitment.
//!
//! Every error names the file and the problem ([`ClientError`]).

pub mod cli;
mod error;
mod model;
mod quantize;
mod submit;

pub use error::{ClientError, Result};
pub use model::{Dtype, Model, TensorInfo, read_model};
pub use quantize::{Quantized, quantize};
pub use submit::{Submitted, submit};
