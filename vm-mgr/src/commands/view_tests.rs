//! `list`, `status`, `info` and `rebalance --dry-run`'s plan show the same thing from the status derived from the CIB alone
//! as from the real `crm_mon` (through `CIB_file`), on every recorded CIB where the derivation
//! decides; and it decides the settled moments, so the one-call path is really taken.

use std::path::{Path, PathBuf};

use shared::pacemaker::derive::status_from_cib;
use shared::pacemaker::{Cib, ClusterStatus, Role};

use crate::ctx::Ctx;
use crate::storage::mem::Memory;

/// The recorded CIBs of tests/fixtures/vm-mgr/derive/ and the other recorded CIBs with a
/// status section.
fn recorded() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/vm-mgr");
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("derive"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    files.sort();
    for other in [
        "cib-vm-t1-started.xml",
        "cib-3nodes-idle.xml",
        "cib-guest-node.xml",
        "cib-doctor-planted.xml",
        "placement/cib-3vms.xml",
        "placement/cib-3vms-sim1-standby.xml",
    ] {
        files.push(root.join(other));
    }
    files
}

/// What the three verbs and rebalance's plan show for `cib` with `mon` (`status` of every VM and of one unknown).
fn views(ctx: &Ctx, cib: &Cib, mon: &ClusterStatus) -> Vec<(String, serde_json::Value, String)> {
    let mut out = Vec::new();
    let list = super::list::show(ctx, cib, mon).unwrap();
    out.push(("list".to_owned(), list.json, list.text));
    let info = super::info::show(cib, mon);
    out.push(("info".to_owned(), info.json, info.text));
    let plan = crate::placement::rebalance::plan(cib, mon, 10, &[]);
    out.push((
        "rebalance --dry-run".to_owned(),
        serde_json::to_value(&plan).unwrap(),
        format!("{plan:?}"),
    ));
    let mut names = crate::state::cib_vms(cib);
    names.push("nosuchvm".to_owned());
    for name in names {
        match super::status::show(ctx, &name, cib, mon) {
            Ok(o) => out.push((format!("status {name}"), o.json, o.text)),
            Err(e) => out.push((
                format!("status {name}"),
                serde_json::Value::Null,
                e.to_string(),
            )),
        }
    }
    out
}

#[test]
fn list_status_and_info_agree_with_crm_mon_whenever_the_cib_decides() {
    let mut decided = Vec::new();
    let (mut started, mut stopped, mut standby, mut down) = (0, 0, 0, 0);
    for file in recorded() {
        let ctx = Ctx::for_test(&file, Box::new(Memory::new()), false);
        let deadline = ctx.cib_deadline();
        let cib = ctx.tools.cib_query(deadline).unwrap();
        let Ok(derived) = status_from_cib(&cib) else {
            continue;
        };
        let by_crm_mon = ctx.tools.crm_mon_xml(deadline).unwrap();
        let ours = views(&ctx, &cib, &derived);
        let theirs = views(&ctx, &cib, &by_crm_mon);
        assert_eq!(ours, theirs, "{}", file.display());
        let domains = by_crm_mon
            .resources
            .iter()
            .filter(|r| r.id.starts_with("vmmgr-domain-"));
        for d in domains {
            started += usize::from(d.active);
            stopped += usize::from(!d.active && d.target_role == Some(Role::Stopped));
        }
        standby += usize::from(by_crm_mon.nodes.iter().any(|n| n.standby));
        down += usize::from(by_crm_mon.nodes.iter().any(|n| !n.online));
        decided.push(file.file_name().unwrap().to_string_lossy().into_owned());
    }
    // The fast path is taken in the plain moments: by crm_mon's own account, with the VM
    // started, with it stopped, with a node in standby, and with a node down after fencing.
    for (moment, seen) in [
        ("a VM started", started),
        ("a VM stopped", stopped),
        ("a node in standby", standby),
        ("a node down", down),
    ] {
        assert!(seen > 0, "no decided CIB with {moment}: {decided:?}");
    }
    assert!(
        decided.iter().any(|f| f == "cib-vm-t1-started.xml"),
        "{decided:?}"
    );
}
