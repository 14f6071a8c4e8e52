//! Model files as training frameworks write them: safetensors with float32, float16 and
//! bfloat16 tensors, `.npy` (C and Fortran order) and `.npz` archives; the canonical order,
//! quantization with saturation, and an error naming the file and the problem for every bad
//! input.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use client::{ClientError, Dtype, quantize, read_model};
use half::{bf16, f16};
use npyz::WriterBuilder as _;
use safetensors::tensor::TensorView;
use step_vm::Update;

/// A fresh directory for one test.
fn dir(test: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("fl-client-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn le<T: Copy>(values: &[T], bytes: impl Fn(T) -> Vec<u8>) -> Vec<u8> {
    values.iter().flat_map(|&v| bytes(v)).collect()
}

fn safetensors_file(path: &Path) {
    let w = le(&[1.5f32, -2.25, 0.0, 3.0, 4.0, 5.0], |v| {
        v.to_le_bytes().to_vec()
    });
    let b = le(&[0.5f32, -0.5].map(bf16::from_f32), |v| {
        v.to_le_bytes().to_vec()
    });
    let h = le(&[0.25f32, 1.0, -1.0].map(f16::from_f32), |v| {
        v.to_le_bytes().to_vec()
    });
    // Written in a non-canonical order: the reader sorts by name.
    let tensors = vec![
        (
            "layer2.weight",
            TensorView::new(safetensors::Dtype::F32, vec![2, 3], &w).unwrap(),
        ),
        (
            "layer1.bias",
            TensorView::new(safetensors::Dtype::BF16, vec![2], &b).unwrap(),
        ),
        (
            "layer1.weight",
            TensorView::new(safetensors::Dtype::F16, vec![3], &h).unwrap(),
        ),
    ];
    let bytes = safetensors::serialize(tensors, None).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn npy_bytes<T: npyz::AutoSerialize + Copy>(
    values: &[T],
    shape: &[u64],
    order: npyz::Order,
) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut w = npyz::WriteOptions::new()
        .default_dtype()
        .shape(shape)
        .order(order)
        .writer(&mut buf)
        .begin_nd()
        .unwrap();
    w.extend(values.iter().copied()).unwrap();
    w.finish().unwrap();
    buf
}

#[test]
fn safetensors_tensors_are_read_in_name_order_and_quantized() {
    let d = dir("safetensors");
    let path = d.join("update.safetensors");
    safetensors_file(&path);
    let model = read_model(&path).unwrap();
    let names: Vec<&str> = model.tensors.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["layer1.bias", "layer1.weight", "layer2.weight"]);
    assert_eq!(
        model.tensors.iter().map(|t| t.dtype).collect::<Vec<_>>(),
        [Dtype::Bf16, Dtype::F16, Dtype::F32]
    );
    assert_eq!(model.tensors[2].shape, [2, 3]);
    assert_eq!(model.tensors[2].offset, 5);
    assert_eq!(
        model.values,
        [0.5, -0.5, 0.25, 1.0, -1.0, 1.5, -2.25, 0.0, 3.0, 4.0, 5.0]
    );
    let q = quantize(&model).unwrap();
    assert_eq!(q.saturated_total(), 0);
    let expected: Vec<i32> = model
        .values
        .iter()
        .map(|&v| (v * 65_536.0) as i32)
        .collect();
    assert_eq!(q.update, Update::from_fixed(expected));
}

#[test]
fn npy_in_c_and_fortran_order_give_the_same_row_major_values() {
    let d = dir("npy");
    let c = d.join("w.npy");
    let f = d.join("w_f.npy");
    // [[1, 2, 3], [4, 5, 6]]: row-major 1..6, column-major 1 4 2 5 3 6.
    std::fs::write(
        &c,
        npy_bytes(&[1f32, 2., 3., 4., 5., 6.], &[2, 3], npyz::Order::C),
    )
    .unwrap();
    std::fs::write(
        &f,
        npy_bytes(&[1f32, 4., 2., 5., 3., 6.], &[2, 3], npyz::Order::Fortran),
    )
    .unwrap();
    let mc = read_model(&c).unwrap();
    let mf = read_model(&f).unwrap();
    assert_eq!(mc.values, [1., 2., 3., 4., 5., 6.]);
    assert_eq!(mf.values, mc.values);
    assert_eq!(mc.tensors[0].name, "w");
    assert_eq!(mc.tensors[0].shape, [2, 3]);
}

#[test]
fn npz_entries_are_tensors_in_name_order_with_float16() {
    let d = dir("npz");
    let path = d.join("update.npz");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let deflated = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("b.npy", deflated).unwrap();
    zip.write_all(&npy_bytes(&[7f32, 8.], &[2], npyz::Order::C))
        .unwrap();
    zip.start_file("a.npy", zip::write::SimpleFileOptions::default())
        .unwrap();
    zip.write_all(&npy_bytes(&[f16::from_f32(0.5)], &[1], npyz::Order::C))
        .unwrap();
    zip.finish().unwrap();
    let model = read_model(&path).unwrap();
    assert_eq!(model.tensors.len(), 2);
    assert_eq!(
        (model.tensors[0].name.as_str(), model.tensors[0].dtype),
        ("a", Dtype::F16)
    );
    assert_eq!(model.values, [0.5, 7., 8.]);
}

#[test]
fn out_of_range_values_saturate_and_are_counted_per_tensor() {
    let d = dir("saturate");
    let path = d.join("big.npy");
    std::fs::write(
        &path,
        npy_bytes(&[40_000f32, -1e9, 1.0, 32_767.99], &[4], npyz::Order::C),
    )
    .unwrap();
    let q = quantize(&read_model(&path).unwrap()).unwrap();
    assert_eq!(q.saturated, [2]);
    assert_eq!(q.update.values()[..3], [i32::MAX, i32::MIN, 65_536]);
}

#[test]
fn nan_and_infinity_are_refused_naming_the_tensor_and_index() {
    let d = dir("nan");
    let path = d.join("bad.npy");
    std::fs::write(
        &path,
        npy_bytes(&[1f32, f32::NAN, 2.0], &[3], npyz::Order::C),
    )
    .unwrap();
    let e = quantize(&read_model(&path).unwrap()).unwrap_err();
    assert!(
        matches!(&e, ClientError::NotFinite { tensor, index: 1, .. } if tensor == "bad"),
        "{e}"
    );
    assert!(e.to_string().contains("bad.npy"), "{e}");
}

#[test]
fn bad_files_get_an_error_naming_the_file_and_the_problem() {
    let d = dir("bad");
    // Truncated safetensors.
    let st = d.join("cut.safetensors");
    safetensors_file(&st);
    let bytes = std::fs::read(&st).unwrap();
    std::fs::write(&st, &bytes[..bytes.len() - 3]).unwrap();
    let e = read_model(&st).unwrap_err();
    assert!(
        matches!(
            e,
            ClientError::Malformed {
                format: "safetensors",
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("cut.safetensors"));
    // Truncated npy data.
    let npy = d.join("cut.npy");
    let bytes = npy_bytes(&[1f32, 2., 3.], &[3], npyz::Order::C);
    std::fs::write(&npy, &bytes[..bytes.len() - 2]).unwrap();
    assert!(matches!(
        read_model(&npy).unwrap_err(),
        ClientError::Malformed { format: "npy", .. }
    ));
    // Not an npz archive.
    let npz = d.join("junk.npz");
    std::fs::write(&npz, b"not a zip").unwrap();
    assert!(matches!(
        read_model(&npz).unwrap_err(),
        ClientError::Malformed { format: "npz", .. }
    ));
    // Integer tensors.
    let ints = d.join("ints.npy");
    std::fs::write(&ints, npy_bytes(&[1i32, 2], &[2], npyz::Order::C)).unwrap();
    let e = read_model(&ints).unwrap_err();
    assert!(
        matches!(&e, ClientError::UnsupportedDtype { dtype, .. } if dtype.contains("i4")),
        "{e}"
    );
    // No values, unknown extension, missing file.
    let empty = d.join("empty.npy");
    std::fs::write(&empty, npy_bytes::<f32>(&[], &[0], npyz::Order::C)).unwrap();
    assert!(matches!(
        read_model(&empty).unwrap_err(),
        ClientError::Empty { .. }
    ));
    assert!(matches!(
        read_model(&d.join("m.pt")).unwrap_err(),
        ClientError::UnknownFormat { .. }
    ));
    assert!(matches!(
        read_model(&d.join("missing.npy")).unwrap_err(),
        ClientError::Io { .. }
    ));
}

#[test]
fn the_cli_prints_the_commitment_and_refuses_bad_files_by_name() {
    let d = dir("cli");
    let path = d.join("update.safetensors");
    safetensors_file(&path);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fl-client"))
        .args(["inspect", "--json"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let update = quantize(&read_model(&path).unwrap()).unwrap().update;
    assert_eq!(
        v["update_root"],
        format!("0x{}", hex::encode(update.root()))
    );
    assert_eq!(v["dim"], 11);
    assert_eq!(v["tensors"][0]["tensor"]["name"], "layer1.bias");
    let bad = d.join("missing.npz");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fl-client"))
        .arg("inspect")
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.npz"));
}
