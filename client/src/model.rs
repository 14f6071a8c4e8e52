//! Reading a model update from safetensors, `.npy` and `.npz` files into one flat vector in the
//! canonical order (tensors sorted by name, each row-major).

use std::io::Read as _;
use std::path::{Path, PathBuf};

use half::{bf16, f16};
use npyz::{DType, NpyFile, Order, TypeChar};
use safetensors::SafeTensors;

use crate::{ClientError, Result};

/// Element type of a tensor in a model file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dtype {
    /// IEEE 754 binary32.
    F32,
    /// IEEE 754 binary16.
    F16,
    /// bfloat16.
    Bf16,
}

/// One tensor of a model, as placed in the flat vector.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TensorInfo {
    /// Its name (`.npy`: the file's stem).
    pub name: String,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Its element type in the file.
    pub dtype: Dtype,
    /// Index of its first value in the flat vector.
    pub offset: usize,
}

impl TensorInfo {
    /// Number of values.
    #[must_use]
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether the tensor has no value.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A model update read from a file: its tensors in canonical order and all their values.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// The file it was read from.
    pub path: PathBuf,
    /// Tensors, sorted by name.
    pub tensors: Vec<TensorInfo>,
    /// Every value, tensor after tensor, each tensor row-major (exact conversions to f32).
    pub values: Vec<f32>,
}

/// Reads the model update in `path`, choosing the format by its extension.
///
/// # Errors
/// [`ClientError`] naming the file and what is wrong: unreadable, unknown format, malformed or
/// truncated, an element type other than float32/16 or bfloat16, empty, or more than
/// `step_vm::MAX_DIM` values.
pub fn read_model(path: &Path) -> Result<Model> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    if !matches!(ext.as_deref(), Some("safetensors" | "npy" | "npz")) {
        return Err(ClientError::UnknownFormat {
            path: path.to_owned(),
        });
    }
    let bytes = std::fs::read(path).map_err(|source| ClientError::Io {
        path: path.to_owned(),
        source,
    })?;
    let mut tensors = match ext.as_deref() {
        Some("safetensors") => read_safetensors(path, &bytes)?,
        Some("npy") => {
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            vec![read_npy(path, "npy", name, &bytes)?]
        }
        _ => read_npz(path, &bytes)?,
    };
    tensors.sort_by(|a, b| a.0.name.cmp(&b.0.name));
    let total: u64 = tensors.iter().map(|(_, v)| v.len() as u64).sum();
    if total == 0 {
        return Err(ClientError::Empty {
            path: path.to_owned(),
        });
    }
    if total > step_vm::MAX_DIM as u64 {
        return Err(ClientError::Oversized {
            path: path.to_owned(),
            values: total,
            max: step_vm::MAX_DIM,
        });
    }
    let mut values = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
    let mut infos = Vec::with_capacity(tensors.len());
    for (mut info, v) in tensors {
        info.offset = values.len();
        values.extend(v);
        infos.push(info);
    }
    tracing::debug!(file = %path.display(), tensors = infos.len(), values = values.len(), "model read");
    Ok(Model {
        path: path.to_owned(),
        tensors: infos,
        values,
    })
}

fn malformed(path: &Path, format: &'static str, reason: impl std::fmt::Display) -> ClientError {
    ClientError::Malformed {
        path: path.to_owned(),
        format,
        reason: reason.to_string(),
    }
}

fn read_safetensors(path: &Path, bytes: &[u8]) -> Result<Vec<(TensorInfo, Vec<f32>)>> {
    let file = SafeTensors::deserialize(bytes).map_err(|e| malformed(path, "safetensors", e))?;
    file.tensors()
        .into_iter()
        .map(|(name, view)| {
            let data = view.data();
            let (dtype, values) = match view.dtype() {
                safetensors::Dtype::F32 => (Dtype::F32, le_values(data, f32::from_le_bytes)),
                safetensors::Dtype::F16 => (
                    Dtype::F16,
                    le_values(data, |b| f16::from_le_bytes(b).to_f32()),
                ),
                safetensors::Dtype::BF16 => (
                    Dtype::Bf16,
                    le_values(data, |b| bf16::from_le_bytes(b).to_f32()),
                ),
                other => {
                    return Err(ClientError::UnsupportedDtype {
                        path: path.to_owned(),
                        tensor: name,
                        dtype: format!("{other:?}"),
                    });
                }
            };
            let info = TensorInfo {
                name,
                shape: view.shape().to_vec(),
                dtype,
                offset: 0,
            };
            Ok((info, values))
        })
        .collect()
}

/// Little-endian values of `N` bytes each (safetensors checked the length against the shape).
fn le_values<const N: usize>(data: &[u8], convert: impl Fn([u8; N]) -> f32) -> Vec<f32> {
    data.chunks_exact(N)
        .map(|c| convert(c.try_into().unwrap_or([0; N])))
        .collect()
}

fn read_npy(
    path: &Path,
    format: &'static str,
    name: String,
    bytes: &[u8],
) -> Result<(TensorInfo, Vec<f32>)> {
    let file = NpyFile::new(bytes).map_err(|e| malformed(path, format, format!("{name}: {e}")))?;
    let shape: Vec<usize> = file
        .shape()
        .iter()
        .map(|&d| usize::try_from(d).unwrap_or(usize::MAX))
        .collect();
    let order = file.order();
    let dtype = match file.dtype() {
        DType::Plain(ts) if ts.type_char() == TypeChar::Float && ts.size_field() == 4 => Dtype::F32,
        DType::Plain(ts) if ts.type_char() == TypeChar::Float && ts.size_field() == 2 => Dtype::F16,
        other => {
            return Err(ClientError::UnsupportedDtype {
                path: path.to_owned(),
                tensor: name,
                dtype: other.descr(),
            });
        }
    };
    let read_err = |e: std::io::Error| malformed(path, format, format!("{name}: {e}"));
    let values: Vec<f32> = match dtype {
        Dtype::F32 => file.into_vec::<f32>().map_err(read_err)?,
        Dtype::F16 => file
            .into_vec::<f16>()
            .map_err(read_err)?
            .into_iter()
            .map(f16::to_f32)
            .collect(),
        Dtype::Bf16 => unreachable!("npy has no bfloat16 type string"),
    };
    let values = if order == Order::Fortran {
        fortran_to_c(&values, &shape)
    } else {
        values
    };
    let info = TensorInfo {
        name,
        shape,
        dtype,
        offset: 0,
    };
    Ok((info, values))
}

/// Reorders a column-major (Fortran) array of `shape` into row-major order.
fn fortran_to_c(values: &[f32], shape: &[usize]) -> Vec<f32> {
    let mut out = vec![0.0; values.len()];
    let mut index = vec![0usize; shape.len()];
    for slot in &mut out {
        // Column-major offset of the current row-major multi-index.
        let mut offset = 0;
        let mut stride = 1;
        for (i, &d) in index.iter().zip(shape) {
            offset += i * stride;
            stride *= d;
        }
        *slot = values[offset];
        // Next row-major multi-index: the last axis fastest.
        for (i, &d) in index.iter_mut().zip(shape).rev() {
            *i += 1;
            if *i < d {
                break;
            }
            *i = 0;
        }
    }
    out
}

fn read_npz(path: &Path, bytes: &[u8]) -> Result<Vec<(TensorInfo, Vec<f32>)>> {
    let mut archive =
        zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| malformed(path, "npz", e))?;
    let mut tensors = Vec::with_capacity(archive.len());
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(|e| malformed(path, "npz", e))?;
        if entry.is_dir() {
            continue;
        }
        let entry_name = entry.name().to_owned();
        let name = entry_name
            .strip_suffix(".npy")
            .unwrap_or(&entry_name)
            .to_owned();
        let mut data = Vec::with_capacity(usize::try_from(entry.size()).unwrap_or(0));
        entry
            .read_to_end(&mut data)
            .map_err(|e| malformed(path, "npz", format!("{entry_name}: {e}")))?;
        tensors.push(read_npy(path, "npz", name, &data)?);
    }
    Ok(tensors)
}
