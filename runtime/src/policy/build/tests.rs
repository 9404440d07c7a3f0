//! The bundle builder against the repository's real `policies/` and the
//! real toolchain (installed on first use). Cargo keeps its guest builds in
//! `policies/target`, so only the first build is cold (about a minute) and
//! the others take a second or two.

use std::path::Path;
use std::sync::OnceLock;
use std::time::SystemTime;

use wasmparser::{ComponentTypeRef, Parser, Payload, Validator};

use super::*;

/// The WIT interface whose types the policy world `use`s.
const TYPES: &str = "meetassist:policy/types@0.1.0";

/// The bundle's policies, in the workspace's order.
const POLICIES: [&str; 7] = [
    "allow-list",
    "tenant-scope",
    "customer-scope",
    "verification",
    "enum-check",
    "vietnamese-names",
    "row-limit",
];

/// The bundle most tests read: built (when stale) once per test process
/// into `policies/target/meetassist-tests/bundle`, where it is kept and
/// reused by the next run. Tests that change a bundle copy it first.
fn shared_bundle() -> (&'static Path, &'static Manifest) {
    static BUNDLE: OnceLock<(PathBuf, Manifest)> = OnceLock::new();
    let (dir, manifest) = BUNDLE.get_or_init(|| {
        let dir = PolicyWorkspace::in_repository()
            .target_dir()
            .join("meetassist-tests/bundle");
        let manifest = ensure_fresh_bundle(&dir).expect("the bundle builds");
        (dir, manifest)
    });
    (dir, manifest)
}

fn modified(path: &Path) -> SystemTime {
    fs::metadata(path).unwrap().modified().unwrap()
}

fn mtimes(dir: &Path, manifest: &Manifest) -> Vec<SystemTime> {
    std::iter::once(dir.join(MANIFEST_FILE))
        .chain(manifest.modules.iter().map(|module| dir.join(&module.file)))
        .map(|path| modified(&path))
        .collect()
}

/// Copies `from` into `to`, leaving out `target/` directories.
fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let (source, destination) = (entry.path(), to.join(entry.file_name()));
        if source.is_dir() {
            if entry.file_name() != "target" {
                copy_tree(&source, &destination);
            }
        } else {
            fs::copy(&source, &destination).unwrap();
        }
    }
}

#[test]
fn the_manifest_lists_every_policy_with_the_digest_of_its_file() {
    let (dir, manifest) = shared_bundle();
    assert_eq!(manifest.format, MANIFEST_FORMAT);
    assert_eq!(manifest.wit, WIT_PACKAGE);
    let names: Vec<&str> = manifest.modules.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, POLICIES);
    assert_eq!(
        PolicyWorkspace::in_repository().policy_crates().unwrap(),
        POLICIES
    );
    assert_eq!(
        manifest.source_digest,
        PolicyWorkspace::in_repository().source_digest().unwrap()
    );
    for module in &manifest.modules {
        assert_eq!(module.file, format!("{}.wasm", module.name));
        let bytes = fs::read(dir.join(&module.file)).unwrap();
        assert_eq!(module.sha256, sha256_hex(&bytes), "{}", module.name);
    }
    // What was written is what is read back, and nothing else is there.
    assert_eq!(&Manifest::read(dir).unwrap(), manifest);
    assert_eq!(manifest.load_modules(dir).unwrap().len(), POLICIES.len());
    assert_eq!(fs::read_dir(dir).unwrap().count(), POLICIES.len() + 1);
}

#[test]
fn every_component_validates_exports_evaluate_and_imports_only_types() {
    let (dir, manifest) = shared_bundle();
    for module in manifest.load_modules(dir).unwrap() {
        let name = &module.entry.name;
        let bytes = &module.bytes;
        assert!(Parser::is_component(bytes), "{name} is not a component");
        Validator::new()
            .validate_all(bytes)
            .unwrap_or_else(|error| panic!("{name} does not validate: {error}"));
        // The component's own (outermost) imports and exports.
        let (mut imports, mut exports) = (Vec::new(), Vec::new());
        let mut depth = 0;
        for payload in Parser::new(0).parse_all(bytes) {
            match payload.unwrap() {
                Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
                Payload::End(_) if depth > 0 => depth -= 1,
                Payload::ComponentImportSection(section) if depth == 0 => {
                    for import in section {
                        let import = import.unwrap();
                        imports.push(import.name.name.to_owned());
                        let is_type = matches!(import.ty, ComponentTypeRef::Type(_));
                        assert!(is_type || import.name.name == TYPES, "{name}: {import:?}");
                    }
                }
                Payload::ComponentExportSection(section) if depth == 0 => {
                    exports.extend(section.into_iter().map(|e| e.unwrap().name.name.to_owned()));
                }
                _ => {}
            }
        }
        assert_eq!(exports, [EVALUATE], "{name}'s exports");
        // The world `use`s two types of its types interface: the interface
        // (an instance of types only, checked below) and the two types.
        assert_eq!(imports, [TYPES, "query", "decision"], "{name}'s imports");
        check_component(name, bytes).unwrap();
    }
}

#[test]
fn a_fresh_bundle_is_not_rebuilt() {
    let (dir, manifest) = shared_bundle();
    let before = mtimes(dir, manifest);
    let again = ensure_fresh_bundle(dir).unwrap();
    assert_eq!(&again, manifest);
    assert_eq!(mtimes(dir, manifest), before, "the bundle was rewritten");
    assert!(matches!(
        PolicyWorkspace::in_repository().bundle_status(dir).unwrap(),
        BundleStatus::Fresh(_)
    ));
}

#[test]
fn editing_a_source_makes_the_bundle_stale() {
    let (dir, manifest) = shared_bundle();
    let copy = tempfile::tempdir().unwrap();
    copy_tree(&PolicyWorkspace::in_repository().root, copy.path());
    let workspace = PolicyWorkspace::new(copy.path());
    // Where the sources lie, and what is under target/, do not count.
    assert_eq!(workspace.source_digest().unwrap(), manifest.source_digest);
    fs::create_dir_all(copy.path().join("target/x")).unwrap();
    fs::write(copy.path().join("target/x/junk"), "build output").unwrap();
    assert!(matches!(
        workspace.bundle_status(dir).unwrap(),
        BundleStatus::Fresh(_)
    ));

    for (file, edit) in [
        ("allow-list/src/lib.rs", "\n// an edit\n"),
        ("wit/policy.wit", "\n// an edit of the interface\n"),
    ] {
        let copy_of = tempfile::tempdir().unwrap();
        copy_tree(copy.path(), copy_of.path());
        let path = copy_of.path().join(file);
        let mut text = fs::read_to_string(&path).unwrap();
        text.push_str(edit);
        fs::write(&path, text).unwrap();
        let status = PolicyWorkspace::new(copy_of.path())
            .bundle_status(dir)
            .unwrap();
        assert!(
            matches!(status, BundleStatus::Stale { ref built_from, .. } if *built_from == manifest.source_digest),
            "after editing {file}: {status:?}"
        );
    }
}

#[test]
fn a_bundle_from_other_sources_or_altered_is_rebuilt() {
    let (shared, manifest) = shared_bundle();
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("bundle");
    copy_tree(shared, &dir);

    let mut other = manifest.clone();
    other.source_digest = "0".repeat(64);
    other.write(&dir).unwrap();
    let workspace = PolicyWorkspace::in_repository();
    assert!(matches!(
        workspace.bundle_status(&dir).unwrap(),
        BundleStatus::Stale { .. }
    ));
    let before = modified(&dir.join(MANIFEST_FILE));
    assert_eq!(&ensure_fresh_bundle(&dir).unwrap(), manifest);
    assert_ne!(modified(&dir.join(MANIFEST_FILE)), before);

    let module = dir.join(&manifest.modules[0].file);
    fs::write(&module, b"\0asm tampered").unwrap();
    assert!(matches!(
        workspace.bundle_status(&dir).unwrap(),
        BundleStatus::Unusable(BundleError::DigestMismatch { .. })
    ));
    assert_eq!(&ensure_fresh_bundle(&dir).unwrap(), manifest);
    assert_eq!(
        sha256_hex(&fs::read(&module).unwrap()),
        manifest.modules[0].sha256
    );
}

#[test]
fn processes_racing_for_a_missing_bundle_get_the_same_whole_bundle() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("bundle");
    let manifests: Vec<Manifest> = std::thread::scope(|scope| {
        let racers: Vec<_> = (0..3)
            .map(|_| scope.spawn(|| ensure_fresh_bundle(&dir).unwrap()))
            .collect();
        racers.into_iter().map(|r| r.join().unwrap()).collect()
    });
    assert!(manifests.windows(2).all(|pair| pair[0] == pair[1]));
    assert_eq!(Manifest::read(&dir).unwrap(), manifests[0]);
    manifests[0].load_modules(&dir).unwrap();
    // No staging or old directory is left beside the bundle.
    let mut left: Vec<String> = fs::read_dir(temp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, [".bundle.lock", "bundle"]);
}

#[test]
fn a_directory_that_is_not_a_bundle_is_never_replaced() {
    let temp = tempfile::tempdir().unwrap();
    fs::write(temp.path().join("notes.txt"), "mine").unwrap();
    let error = build_bundle(temp.path()).unwrap_err();
    assert!(matches!(error, BuildError::NotABundle { .. }), "{error}");
    assert_eq!(
        fs::read_to_string(temp.path().join("notes.txt")).unwrap(),
        "mine"
    );
}

#[test]
fn components_are_built_by_crate_name_or_member_path() {
    let built = build_components(&["testing/spin", "row-limit"]).unwrap();
    let names: Vec<&str> = built.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["spin", "row-limit"]);
    for component in &built {
        check_component(&component.name, &component.bytes).unwrap();
    }

    let error = build_components(&["no-such-policy"]).unwrap_err();
    let BuildError::UnknownCrate { known, .. } = &error else {
        panic!("{error}");
    };
    assert!(known.iter().any(|name| name == "tenant-scope"), "{error}");
}
