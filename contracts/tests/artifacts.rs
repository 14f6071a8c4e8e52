//! The committed artifacts (`contracts/artifacts/*.json`, which the `sol!` bindings are
//! generated from) must be what a fresh compile of `src/` produces. Compiles with
//! foundry-compilers and the project's solc (`tools/solc`, solcjs from npm: run
//! `scripts/setup.sh` first) under the settings of `foundry.toml`: our contracts with the
//! optimizer, the generated verifiers without it (each set compiled on its own, as nothing
//! imports the verifiers).

use std::path::{Path, PathBuf};

use foundry_compilers::artifacts::{
    BytecodeHash, EvmVersion, Optimizer, Settings, SettingsMetadata,
};
use foundry_compilers::solc::{Solc, SolcCompiler, SolcSettings};
use foundry_compilers::{ConfigurableArtifacts, ProjectBuilder, ProjectPathsConfig};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn copy_sol(from: &Path, to: &Path, skip: &str) {
    std::fs::create_dir_all(to).expect("temp dir");
    for entry in std::fs::read_dir(from).expect("read src") {
        let path = entry.expect("entry").path();
        let name = path.file_name().expect("name").to_owned();
        if path.is_dir() {
            if name != skip {
                copy_sol(&path, &to.join(&name), skip);
            }
        } else if path.extension().is_some_and(|e| e == "sol") {
            std::fs::copy(&path, to.join(&name)).expect("copy source");
        }
    }
}

/// Compiles `sources` and returns (name, creation bytecode, runtime bytecode) per contract.
fn compile(sources: &Path, optimize: bool) -> Vec<(String, String, String)> {
    let solc = root().join("tools/solc");
    let solc = Solc::new(&solc).unwrap_or_else(|e| {
        panic!(
            "{} does not run ({e}); install the toolchain with scripts/setup.sh",
            solc.display()
        )
    });
    let settings = Settings {
        optimizer: Optimizer {
            enabled: Some(optimize),
            runs: Some(if optimize { 200 } else { 0 }),
            details: None,
        },
        evm_version: Some(EvmVersion::Prague),
        via_ir: Some(false),
        metadata: Some(SettingsMetadata::new(BytecodeHash::None, false)),
        ..Settings::default()
    };
    let paths = ProjectPathsConfig::builder()
        .sources(sources)
        .build_with_root::<foundry_compilers::solc::SolcLanguage>(
            sources.parent().expect("parent"),
        );
    let project = ProjectBuilder::<SolcCompiler, ConfigurableArtifacts>::new(
        ConfigurableArtifacts::default(),
    )
    .paths(paths)
    .settings(SolcSettings {
        settings,
        ..Default::default()
    })
    .ephemeral()
    .no_artifacts()
    .offline()
    .build(SolcCompiler::Specific(solc))
    .expect("project");
    let output = project.compile().expect("compiles");
    assert!(!output.has_compiler_errors(), "{output}");
    output
        .into_artifacts()
        .filter_map(|(id, artifact)| {
            let code = artifact.bytecode.as_ref()?.object.as_bytes()?.to_string();
            let runtime = artifact
                .deployed_bytecode
                .as_ref()?
                .bytecode
                .as_ref()?
                .object
                .as_bytes()?
                .to_string();
            Some((id.name, code, runtime))
        })
        .collect()
}

#[test]
#[ignore = "needs solc from npm (scripts/setup.sh; scripts/test.sh runs it)"]
fn committed_artifacts_match_a_fresh_compile() {
    let tmp = std::env::temp_dir().join(format!("fl-artifacts-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    copy_sol(&root().join("src"), &tmp.join("own/src"), "generated");
    copy_sol(
        &root().join("src/generated"),
        &tmp.join("verifiers/src"),
        "",
    );
    let mut compiled = compile(&tmp.join("own/src"), true);
    compiled.extend(compile(&tmp.join("verifiers/src"), false));
    let _ = std::fs::remove_dir_all(&tmp);
    // Every committed artifact (one per contract the Rust side deploys or decodes).
    let mut names: Vec<String> = std::fs::read_dir(root().join("artifacts"))
        .expect("artifacts dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| p.file_stem().expect("stem").to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 8, "artifacts missing: {names:?}");
    for name in &names {
        let path = root().join(format!("artifacts/{name}.json"));
        let committed: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("artifact"))
                .expect("artifact JSON");
        let (_, code, runtime) = compiled
            .iter()
            .find(|(n, _, _)| n == name)
            .unwrap_or_else(|| panic!("{name} not compiled"));
        let strip = |v: &serde_json::Value| {
            v.as_str()
                .unwrap_or_default()
                .trim_start_matches("0x")
                .to_lowercase()
        };
        assert_eq!(
            strip(&committed["bytecode"]["object"]),
            code.trim_start_matches("0x").to_lowercase(),
            "{name}: committed creation code is stale; run contracts/tools/export-artifacts.sh"
        );
        assert_eq!(
            strip(&committed["deployedBytecode"]["object"]),
            runtime.trim_start_matches("0x").to_lowercase(),
            "{name}: committed runtime code is stale; run contracts/tools/export-artifacts.sh"
        );
    }
}
