use std::process::Command;

use meetassist_runtime::policy::bundle::{Manifest, sha256_hex};

use crate::{meetassist, stderr, stdout};

#[test]
fn policy_build_writes_a_bundle_and_prints_each_module() {
    let temp = tempfile::tempdir().unwrap();
    let out = temp.path().join("bundle");
    let output = meetassist(&["policy", "build", "--out", out.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));

    let manifest = Manifest::read(&out).unwrap();
    assert_eq!(manifest.modules.len(), 7);
    let text = stdout(&output);
    for module in manifest.load_modules(&out).unwrap() {
        let line = text
            .lines()
            .find(|line| line.starts_with(&format!("{} ", module.entry.name)))
            .unwrap_or_else(|| panic!("no line for {}: {text}", module.entry.name));
        assert!(
            line.contains(&format!("{} B", module.bytes.len())),
            "{line}"
        );
        assert!(line.contains(&sha256_hex(&module.bytes)), "{line}");
    }
    assert!(text.contains("built 7 policy modules into"), "{text}");
}

#[test]
fn policy_build_without_a_usable_toolchain_exits_2_and_says_why() {
    let temp = tempfile::tempdir().unwrap();
    let out = temp.path().join("bundle");
    let output = Command::new(env!("CARGO_BIN_EXE_meetassist"))
        .args(["policy", "build", "--out", out.to_str().unwrap()])
        .env("MEETASSIST_WASM_RUSTC", temp.path().join("no-such-rustc"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let text = stderr(&output);
    assert!(text.contains("MEETASSIST_WASM_RUSTC="), "{text}");
    assert!(!out.exists());
}
