//! Transactions against the real Pacemaker tools (`cibadmin`, `crm_diff`, `crm_attribute`)
//! working on a copy of a recorded CIB through `CIB_file`: no cluster is needed, but every patch
//! is made and applied by Pacemaker's own code.

use std::cell::Cell;
use std::fs;
use std::io;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::*;
use crate::pacemaker::tools::Target;
use crate::tempdir::PrivateDir;

struct CibFile {
    _dir: PrivateDir,
    path: PathBuf,
    tools: Tools,
}

fn cib_file() -> CibFile {
    let dir = PrivateDir::new("vmmgr-cib-test").unwrap();
    let path = dir.path().join("cib.xml");
    fs::write(&path, fixture!("cib-query.xml")).unwrap();
    let tools = Tools::new(Target::File(path.clone()));
    CibFile {
        _dir: dir,
        path,
        tools,
    }
}

fn soon() -> Instant {
    Instant::now() + Duration::from_secs(30)
}

fn dummy(id: &str) -> Element {
    Element::parse(
        &format!(r#"<primitive id="{id}" class="ocf" provider="pacemaker" type="Dummy"/>"#),
        "test primitive",
    )
    .unwrap()
}

fn add_dummy(new: &mut Element, id: &str) {
    new.child_mut("configuration")
        .and_then(|c| c.child_mut("resources"))
        .expect("resources section")
        .children
        .push(dummy(id));
}

/// Another writer: `cibadmin --create` through the same CIB file.
fn concurrent_create(f: &CibFile, id: &str) {
    let xml = dummy(id).to_xml();
    let argv: Vec<String> = [
        "cibadmin",
        "--create",
        "--scope",
        "resources",
        "--xml-text",
        &xml,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    f.tools
        .command(&argv, soon())
        .run()
        .expect("cibadmin --create");
}

fn current(f: &CibFile) -> Cib {
    f.tools.cib_query(soon()).unwrap()
}

#[test]
fn applies_one_patch_and_raises_the_epoch() {
    let f = cib_file();
    let before = current(&f).version();
    let done = Transaction::new(&f.tools, soon())
        .apply(|cib, new| {
            assert_eq!(cib.version(), before);
            add_dummy(new, "tx-added");
            Ok::<_, io::Error>(Edit::Change("ok"))
        })
        .unwrap();
    assert_eq!(done.value, "ok");
    assert!(done.applied);
    assert_eq!(done.attempts, 1);
    assert_eq!(done.base, before);
    let after = current(&f);
    assert!(after.primitive("tx-added").is_some());
    assert!(after.version().epoch > before.epoch, "epoch raised");
    assert_eq!(after.version().admin_epoch, before.admin_epoch);
}

#[test]
fn unchanged_edits_write_nothing() {
    let f = cib_file();
    let bytes = fs::read(&f.path).unwrap();
    let done = Transaction::new(&f.tools, soon())
        .apply(|_, _| Ok::<_, io::Error>(Edit::Unchanged(1)))
        .unwrap();
    assert!(!done.applied);
    // an edit that claims a change but leaves the tree as it was is no change either
    let done = Transaction::new(&f.tools, soon())
        .apply(|_, _| Ok::<_, io::Error>(Edit::Change(2)))
        .unwrap();
    assert_eq!((done.value, done.applied), (2, false));
    assert_eq!(fs::read(&f.path).unwrap(), bytes, "CIB file untouched");
}

#[test]
fn edit_errors_change_nothing() {
    let f = cib_file();
    let bytes = fs::read(&f.path).unwrap();
    let err = Transaction::new(&f.tools, soon())
        .apply(|_, new| {
            add_dummy(new, "never");
            Err::<Edit<()>, _>(io::Error::other("no such VM"))
        })
        .unwrap_err();
    assert!(matches!(err, TransactionError::Edit(_)));
    assert_eq!(err.to_string(), "no such VM");
    assert_eq!(fs::read(&f.path).unwrap(), bytes);
}

#[test]
fn plan_returns_the_patch_without_applying_it() {
    let f = cib_file();
    let bytes = fs::read(&f.path).unwrap();
    let plan = Transaction::new(&f.tools, soon())
        .plan(|_, new| {
            add_dummy(new, "planned");
            Ok::<_, io::Error>(Edit::Change(()))
        })
        .unwrap();
    let patch = plan.patch.expect("a patch");
    assert!(patch.contains("operation=\"create\""), "{patch}");
    assert!(patch.contains("id=\"planned\""), "{patch}");
    let diff = Element::parse(&patch, "patch").unwrap();
    let source = diff.child("version").and_then(|v| v.child("source"));
    assert_eq!(source.and_then(|s| s.attr("num_updates")), None);
    assert!(source.and_then(|s| s.attr("epoch")).is_some());
    assert_eq!(fs::read(&f.path).unwrap(), bytes, "CIB file untouched");
}

#[test]
fn a_concurrent_change_makes_the_first_patch_fail_and_the_retry_keep_both() {
    let f = cib_file();
    let calls = Cell::new(0);
    let done = Transaction::new(&f.tools, soon())
        .apply(|cib, new| {
            calls.set(calls.get() + 1);
            if calls.get() == 1 {
                // someone else changes the configuration after we read it
                concurrent_create(&f, "other-writer");
            } else {
                assert!(
                    cib.primitive("other-writer").is_some(),
                    "retry sees fresh data"
                );
            }
            add_dummy(new, "ours");
            Ok::<_, io::Error>(Edit::Change(()))
        })
        .unwrap();
    assert_eq!(done.attempts, 2);
    assert_eq!(calls.get(), 2);
    let after = current(&f);
    assert!(after.primitive("ours").is_some());
    assert!(after.primitive("other-writer").is_some(), "nothing lost");
}

#[test]
fn a_first_read_made_stale_by_another_writer_is_refused_and_read_again() {
    let f = cib_file();
    let first = current(&f);
    // someone else changes the configuration after the caller's own read
    concurrent_create(&f, "other-writer");
    let calls = Cell::new(0);
    let done = Transaction::new(&f.tools, soon())
        .apply_from(Some(first), |cib, new| {
            calls.set(calls.get() + 1);
            assert_eq!(
                cib.primitive("other-writer").is_some(),
                calls.get() == 2,
                "attempt 1 works on the caller's read, attempt 2 on a fresh one"
            );
            add_dummy(new, "ours");
            Ok::<_, io::Error>(Edit::Change(()))
        })
        .unwrap();
    assert_eq!(done.attempts, 2);
    let after = current(&f);
    assert!(after.primitive("ours").is_some());
    assert!(after.primitive("other-writer").is_some(), "nothing lost");
}

#[test]
fn a_fresh_first_read_is_used_without_reading_again() {
    let f = cib_file();
    let first = current(&f);
    let base = first.version();
    let done = Transaction::new(&f.tools, soon())
        .apply_from(Some(first), |_, new| {
            add_dummy(new, "ours");
            Ok::<_, io::Error>(Edit::Change(()))
        })
        .unwrap();
    assert_eq!((done.attempts, done.base), (1, base));
    assert!(current(&f).primitive("ours").is_some());
}

#[test]
fn status_only_updates_do_not_make_the_patch_fail() {
    let f = cib_file();
    let done = Transaction::new(&f.tools, soon())
        .apply(|cib, new| {
            // a transient (reboot-lifetime) node attribute lives in the status section
            let node = cib.nodes.first().expect("a node").uname.clone();
            let argv: Vec<String> = [
                "crm_attribute",
                "--node",
                &node,
                "--name",
                "tx-test",
                "--update",
                "1",
                "--lifetime",
                "reboot",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            f.tools.command(&argv, soon()).run().expect("crm_attribute");
            add_dummy(new, "despite-status");
            Ok::<_, io::Error>(Edit::Change(()))
        })
        .unwrap();
    assert_eq!(done.attempts, 1, "a status update does not conflict");
    assert!(current(&f).primitive("despite-status").is_some());
}

#[test]
fn gives_up_after_the_attempts_and_changes_nothing() {
    let f = cib_file();
    let calls = Cell::new(0);
    let err = Transaction::new(&f.tools, soon())
        .attempts(3)
        .apply(|_, new| {
            calls.set(calls.get() + 1);
            concurrent_create(&f, &format!("busy{}", calls.get()));
            add_dummy(new, "never-applied");
            Ok::<_, io::Error>(Edit::Change(()))
        })
        .unwrap_err();
    assert!(
        matches!(err, TransactionError::Conflict { attempts: 3 }),
        "{err:?}"
    );
    assert_eq!(calls.get(), 3);
    assert!(current(&f).primitive("never-applied").is_none());
}

#[test]
fn a_passed_deadline_changes_nothing() {
    let f = cib_file();
    let err = Transaction::new(&f.tools, Instant::now() - Duration::from_secs(1))
        .apply(|_, new| {
            add_dummy(new, "late");
            Ok::<_, io::Error>(Edit::Change(()))
        })
        .unwrap_err();
    assert!(matches!(
        err,
        TransactionError::DeadlinePassed { attempts: 0 }
    ));
    assert!(current(&f).primitive("late").is_none());
}
