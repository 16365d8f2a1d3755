//! `vm-mgr doctor` on the real cluster with four problems planted: a `crm_resource --ban` on a
//! VM, a `vmmgr-prefer` constraint on a resource that is no vm-mgr VM, an orphan RBD image
//! named like a VM's data disk, and a failure (`crm_resource --fail`: fail-count and failed
//! action). All are reported; `--fix` removes the two constraints in one CIB transaction and
//! cleans up the failure, and only the orphan is left; `--fix --purge-orphans` then moves it to
//! the RBD trash. Everything planted is removed at the end.
//!
//! Run: `VMMGR_SANDBOX_NAME=vmm cargo test -p vmmgr-tests --test vm_mgr_doctor -- --ignored
//! --test-threads=1` (after `cargo build`, so that the nodes see the current `vm-mgr`).

use std::time::Duration;

use vmmgr_tests::{describe, unique_name, vm_mgr, vm_mgr_ok, wait_for, Sandbox};

#[path = "vm_mgr_support.rs"]
mod support;
use support::*;

/// What doctor's text output says about our things: (status, kind, id), one per line.
fn findings(sb: &Sandbox, args: &[&str], ours: &[&str]) -> (Option<i32>, Vec<[String; 3]>) {
    let mut argv = vec!["doctor"];
    argv.extend_from_slice(args);
    let out = vm_mgr(sb, "sim1", &argv);
    println!("vm-mgr {argv:?}: {}", describe(&out));
    let rows = out
        .stdout_str()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            assert_eq!(cols.len(), 6, "one finding per line, 6 columns: {l:?}");
            [cols[0], cols[1], cols[2], cols[3]].map(str::to_owned)
        })
        .filter(|[_, _, vm, id]| ours.iter().any(|o| vm == o || id.contains(o)))
        .map(|[status, kind, _, id]| [status, kind, id])
        .collect();
    (out.code(), rows)
}

fn row(status: &str, kind: &str, id: &str) -> [String; 3] {
    [status, kind, id].map(str::to_owned)
}

/// Removes what the test planted, also when it fails half-way.
struct Planted<'a> {
    sb: &'a Sandbox,
    name: String,
    ghost: String,
    orphan: String,
    orphan_vm: String,
}

impl Drop for Planted<'_> {
    fn drop(&mut self) {
        let sb = self.sb;
        let _ = sb.exec("sim1", &["rbd", "rm", "--no-progress", &self.orphan]);
        purge_trash_of(sb, &self.orphan_vm);
        let _ = sb.exec("sim1", &["crm_resource", "--clear", "-r", &self.name]);
        let prefer = format!("<rsc_location id='vmmgr-prefer-{}'/>", self.ghost);
        let _ = sb.exec(
            "sim1",
            &["cibadmin", "-D", "-o", "constraints", "-X", &prefer],
        );
        let dummy = format!("<primitive id='{}'/>", self.ghost);
        let _ = sb.exec("sim1", &["cibadmin", "-D", "-o", "resources", "-X", &dummy]);
        let _ = vm_mgr(sb, "sim1", &["remove", "--purge", "-n", &self.name]);
        cleanup_inputs(&self.name);
    }
}

#[test]
#[ignore = "needs root and the sandbox cluster; run by tests/run-all"]
fn doctor_reports_four_planted_problems_and_fixes_three_in_one_transaction() {
    let sb = sandbox();
    let name = unique_name("dr");
    let ghost = unique_name("gh");
    let orphan_vm = unique_name("or");
    let orphan = format!("data_{orphan_vm}_0");
    let (xml, image) = inputs(&sb, &name);
    let planted = Planted {
        sb: &sb,
        name: name.clone(),
        ghost: ghost.clone(),
        orphan: orphan.clone(),
        orphan_vm: orphan_vm.clone(),
    };
    vm_mgr_ok(
        &sb,
        "sim1",
        &["create", "-n", &name, "--xml", &xml, "-i", &image],
    );
    let domain = format!("vmmgr-domain-{name}");
    let on = wait_for(Duration::from_secs(60), "the VM to run", || {
        sb.running_on(&domain, &[]).into_iter().next()
    });
    let elsewhere = sb.nodes().iter().find(|n| **n != on).unwrap().clone();
    let ban = format!("cli-ban-{name}-on-{elsewhere}");

    // The four problems.
    sb.exec_ok(
        "sim1",
        &["crm_resource", "--ban", "-r", &name, "-N", &elsewhere],
    );
    let dummy = format!(
        "<primitive id='{ghost}' class='ocf' provider='pacemaker' type='Dummy'><meta_attributes \
         id='{ghost}-meta'><nvpair id='{ghost}-meta-target-role' name='target-role' \
         value='Stopped'/></meta_attributes></primitive>"
    );
    sb.exec_ok("sim1", &["cibadmin", "-C", "-o", "resources", "-X", &dummy]);
    let prefer = format!("vmmgr-prefer-{ghost}");
    let stale = format!("<rsc_location id='{prefer}' rsc='{ghost}' node='sim1' score='INFINITY'/>");
    sb.exec_ok(
        "sim1",
        &["cibadmin", "-C", "-o", "constraints", "-X", &stale],
    );
    sb.exec_ok(
        "sim1",
        &["rbd", "create", "--size", "1M", &format!("rbd/{orphan}")],
    );
    sb.exec_ok(
        "sim1",
        &["crm_resource", "--fail", "-r", &domain, "-N", &on],
    );

    let ours = [name.as_str(), ghost.as_str(), orphan_vm.as_str()];
    let (code, found) = wait_for(
        Duration::from_secs(60),
        "the failure to be recorded",
        || {
            let (code, found) = findings(&sb, &[], &ours);
            found
                .iter()
                .any(|r| r[1] == "fail-count")
                .then_some((code, found))
        },
    );
    assert_eq!(code, Some(1), "findings: exit 1");
    for expected in [
        row("fixable", "cli-constraint", &ban),
        row("fixable", "stale-constraint", &prefer),
        row("fixable", "fail-count", &domain),
        row("manual", "orphan-image", &orphan),
    ] {
        assert!(found.contains(&expected), "{expected:?} in {found:?}");
    }
    // The failure is recovered (the VM restarted) before --fix cleans it up.
    sb.wait_settled(Duration::from_secs(60));

    // The transaction --fix makes: one CIB patch deleting both constraints (a dry run shows
    // it and changes nothing; the config epoch is no measure, as `crm_resource --cleanup` and
    // the agents' utilization updates raise it too).
    let out = vm_mgr(&sb, "sim1", &["doctor", "--fix", "--dry-run"]);
    let text = out.stdout_str();
    let patch = text.split("# CIB patch").nth(1).unwrap_or_default();
    assert_eq!(patch.matches("<diff ").count(), 1, "{}", describe(&out));
    for id in [&ban, &prefer] {
        let delete = format!("constraints/rsc_location[@id=&apos;{id}&apos;]");
        assert!(patch.contains(&delete), "{}", describe(&out));
    }
    assert_eq!(patch.matches("operation=\"delete\"").count(), 2, "{patch}");
    assert!(cib_config(&sb).contains(&ban), "a dry run changes nothing");

    let (code, after) = findings(&sb, &["--fix"], &ours);
    assert_eq!(code, Some(1), "the orphan is left: exit 1");
    for fixed in [
        row("fixed", "cli-constraint", &ban),
        row("fixed", "stale-constraint", &prefer),
        row("fixed", "fail-count", &domain),
    ] {
        assert!(after.contains(&fixed), "{fixed:?} in {after:?}");
    }
    let left: Vec<_> = after.iter().filter(|r| r[0] != "fixed").collect();
    assert_eq!(left, [&row("manual", "orphan-image", &orphan)]);
    let config = cib_config(&sb);
    assert!(
        !config.contains(&ban) && !config.contains(&prefer),
        "{config}"
    );
    let (_, again) = findings(&sb, &[], &ours);
    assert_eq!(again, [row("manual", "orphan-image", &orphan)]);
    let (images, _) = rbd_names(&sb);
    assert!(images.contains(&orphan), "--fix deletes no disk: {images}");
    // --purge-orphans moves the orphan image to the RBD trash
    let out = vm_mgr(&sb, "sim1", &["doctor", "--fix", "--purge-orphans"]);
    let moved = format!("# moved orphan image rbd/{orphan} to the trash until");
    assert!(out.stdout_str().contains(&moved), "{}", describe(&out));
    let (images, _) = rbd_names(&sb);
    assert!(!images.contains(&orphan), "{images}");
    let trash = rbd_trash(&sb);
    assert!(trash.contains(&format!("\"{orphan}\"")), "{trash}");

    drop(planted);
    let (images, _) = rbd_names(&sb);
    assert!(!images.contains(&orphan), "{images}");
    assert!(!rbd_trash(&sb).contains(&orphan), "{}", rbd_trash(&sb));
    let config = cib_config(&sb);
    assert!(
        !config.contains(&name) && !config.contains(&ghost),
        "{config}"
    );
}
