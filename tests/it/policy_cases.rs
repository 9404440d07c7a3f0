//! Every policy module's `cases.toml`, run against the built module, as
//! `meetassist policy test` runs them.

use meetassist_runtime::guard::cases;
use meetassist_runtime::policy::build::PolicyWorkspace;

#[test]
fn every_policy_case_passes() {
    let guard = meetassist_runtime::testing::guard();
    let workspace = PolicyWorkspace::in_repository();
    let files = cases::case_files(workspace.root()).unwrap();
    assert_eq!(files.len(), 7, "one case file per policy module: {files:?}");
    let mut failures = Vec::new();
    let mut count = 0;
    for (module, path) in files {
        for result in cases::run_file(&guard, &module, &path).unwrap() {
            count += 1;
            if let Some(why) = result.failure {
                failures.push(format!("{module}: {}: {why}", result.name));
            }
        }
    }
    assert!(count >= 50, "the case files were read: {count}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
