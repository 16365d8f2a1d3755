//! The placement verbs against private copies of the recorded 3-VM CIB through the real
//! Pacemaker tools (`CIB_file`: cibadmin, crm_diff, crm_mon, crm_simulate).

use super::testing::{stored_vm, CibFile};
use super::{colocation, disable, drain, enable, migrate, placement, status};
use crate::cli_placement::{
    AddColocationArgs, DrainArgs, MigrateArgs, RemoveColocationArgs, SetPlacementArgs, UndrainArgs,
};
use crate::placement::Strategy;
use crate::storage::mem::Memory;
use crate::vm::Settings;

const FIXTURE: &str = "placement/cib-3vms.xml";

fn anti(name: &str, others: &[&str]) -> AddColocationArgs {
    AddColocationArgs {
        name: name.into(),
        resources: others.iter().map(|s| s.to_string()).collect(),
        anti: true,
        strong: true,
        score: None,
    }
}

fn migrate_args(name: &str, node: &str) -> MigrateArgs {
    MigrateArgs {
        name: name.into(),
        node: node.into(),
        offline: false,
        wait_for_shutdown: false,
        shutdown_timeout: 300,
        start_after_migration: true,
        timeout: None,
    }
}

#[test]
fn colocations_are_added_shown_and_removed() {
    let f = CibFile::new(FIXTURE);
    let before = f.text();
    let dry = f.ctx(Memory::new(), true);
    let out = colocation::add(&dry, &anti("p1", &["p2"])).unwrap();
    assert!(out.json["cib_patch"]
        .as_str()
        .unwrap()
        .contains("vmmgr-anti-p1.p2"));
    assert_eq!(
        f.text(),
        before,
        "--dry-run leaves the CIB file byte-identical"
    );

    let ctx = f.ctx(Memory::new(), false);
    let out = colocation::add(&ctx, &anti("p1", &["p2"])).unwrap();
    assert_eq!(
        out.json["constraints"],
        serde_json::json!(["vmmgr-anti-p1.p2"])
    );
    assert_eq!(out.json["score"], "-INFINITY");
    assert!(f.text().contains(
        r#"<rsc_colocation id="vmmgr-anti-p1.p2" rsc="p1" with-rsc="p2" score="-INFINITY"/>"#
    ));
    let st = status::run(&ctx, "p1").unwrap();
    assert_eq!(st.json["placement"]["colocations"][0]["kind"], "apart");
    assert!(
        st.text
            .contains("placement: auto, apart from p2 (-INFINITY)"),
        "{}",
        st.text
    );
    let soft = AddColocationArgs {
        anti: false,
        strong: false,
        ..anti("p1", &["p3"])
    };
    assert_eq!(colocation::add(&ctx, &soft).unwrap().json["score"], "700");
    for bad in [
        anti("p1", &["p1"]),
        anti("p1", &["nosuch"]),
        anti("p1", &["vmmgr-domain-p2"]),
    ] {
        assert_eq!(colocation::add(&ctx, &bad).unwrap_err().exit_code(), 2);
    }
    let e = colocation::add(&ctx, &anti("nosuch", &["p1"])).unwrap_err();
    assert_eq!(e.exit_code(), 3);
    let all = RemoveColocationArgs {
        name: "p1".into(),
        resources: vec![],
        all: true,
    };
    let out = colocation::remove(&ctx, &all).unwrap();
    assert_eq!(
        out.json["removed"],
        serde_json::json!(["vmmgr-anti-p1.p2", "vmmgr-colo-p1.p3"])
    );
    assert!(!f.text().contains("vmmgr-anti-"));
}

#[test]
fn colocations_survive_disable_and_enable() {
    let f = CibFile::new(FIXTURE);
    let settings = Settings {
        live_migration: true,
        ..Settings::default()
    };
    let ctx = f.ctx(stored_vm("p1", &settings), false);
    colocation::add(&ctx, &anti("p1", &["p2"])).unwrap();
    let out = disable::run(&ctx, "p1").unwrap();
    let kept = out.json["constraints_kept"].to_string();
    assert!(kept.contains("vmmgr-anti-p1.p2"), "{kept}");
    assert!(!f.text().contains("vmmgr-anti-p1.p2"));
    // The strategy of a disabled VM is edited in its stored fragment.
    let pin = SetPlacementArgs {
        name: "p1".into(),
        strategy: Strategy::Pinned,
        node: Some("sim1".into()),
    };
    assert_eq!(placement::run(&ctx, &pin).unwrap().json["changed"], true);
    enable::run(&ctx, "p1", true).unwrap();
    let text = f.text();
    assert!(text.contains(r#"id="vmmgr-anti-p1.p2""#));
    assert!(text.contains(r#"id="vmmgr-pin-p1""#));
    let st = status::run(&ctx, "p1").unwrap();
    assert_eq!(st.json["placement"]["strategy"], "pinned");
    assert_eq!(st.json["placement"]["node"], "sim1");
}

#[test]
fn set_placement_strategies() {
    let f = CibFile::new(FIXTURE);
    let ctx = f.ctx(Memory::new(), false);
    let args = |s, n: Option<&str>| SetPlacementArgs {
        name: "p3".into(),
        strategy: s,
        node: n.map(str::to_owned),
    };
    let out = placement::run(&ctx, &args(Strategy::Failover, None)).unwrap();
    assert_eq!(out.json["stickiness"], "INFINITY");
    assert!(!f.text().contains("vmmgr-pin-p3"));
    let st = status::run(&ctx, "p3").unwrap();
    assert_eq!(st.json["placement"]["strategy"], "failover");
    let out = placement::run(&ctx, &args(Strategy::Auto, Some("sim1"))).unwrap();
    assert_eq!(out.json["stickiness"], "0");
    assert!(f
        .text()
        .contains(r#"<rsc_location id="vmmgr-prefer-p3" rsc="p3" node="sim1" score="INFINITY" resource-discovery="always"/>"#));
    let e = placement::run(&ctx, &args(Strategy::Pinned, Some("sim9"))).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    let before = f.text();
    let dry = f.ctx(Memory::new(), true);
    let out = placement::run(&dry, &args(Strategy::Pinned, Some("sim2"))).unwrap();
    assert!(out.json["cib_patch"]
        .as_str()
        .unwrap()
        .contains("vmmgr-pin-p3"));
    let actions = out.json["simulated_actions"].to_string();
    assert!(actions.contains("vmmgr-domain-p3"), "{actions}");
    assert_eq!(f.text(), before);
}

#[test]
fn migrate_dry_run_previews_and_refusals_change_nothing() {
    let f = CibFile::new(FIXTURE);
    let before = f.text();
    let dry = f.ctx(Memory::new(), true);
    let out = migrate::run(&dry, &migrate_args("p1", "sim1")).unwrap();
    let patch = out.json["cib_patch"].as_str().unwrap();
    assert!(
        patch.contains("vmmgr-move-p1") && patch.contains("date_expression"),
        "{patch}"
    );
    // The preference on the target and the ban on the source (sim2) alone.
    assert!(
        patch.contains(r#"id="vmmgr-move-p1.to" score="INFINITY""#)
            && patch.contains(r#"id="vmmgr-move-p1.from" score="-INFINITY""#)
            && patch.contains(r#"operation="eq" value="sim2""#)
            && !patch.contains(r#"operation="ne""#),
        "{patch}"
    );
    assert_eq!(out.json["how"], "live");
    assert_eq!(out.json["from"], "sim2");
    let actions = out.json["simulated_actions"].to_string();
    assert!(
        actions.contains("migrate vmmgr-domain-p1 sim2 → sim1"),
        "{actions}"
    );
    assert!(out.text.contains("Pacemaker would:"), "{}", out.text);
    // p3 is pinned to sim3 and cannot live-migrate: refused with both reasons, exit 7.
    let e = migrate::run(&dry, &migrate_args("p3", "sim1")).unwrap_err();
    assert_eq!(e.exit_code(), 7);
    let msg = e.to_string();
    assert!(
        msg.contains("pinned to sim3 (vmmgr-pin-p3)") && msg.contains("live migration"),
        "{msg}"
    );
    // Already there: nothing to do.
    let out = migrate::run(&dry, &migrate_args("p1", "sim2")).unwrap();
    assert_eq!(out.json["how"], "none");
    // Without --dry-run a CIB file cannot migrate anything.
    let ctx = f.ctx(Memory::new(), false);
    assert_eq!(
        migrate::run(&ctx, &migrate_args("p1", "sim1"))
            .unwrap_err()
            .exit_code(),
        2
    );
    assert_eq!(f.text(), before);
}

#[test]
fn migrate_is_refused_when_crm_simulate_disagrees() {
    let f = CibFile::new(FIXTURE);
    let ctx = f.ctx(Memory::new(), false);
    // p2 must run with p1 (on sim2); moving p2 alone to sim1 is refused by the preflight,
    // moving p1 to sim1 is allowed (p2 follows).
    let with = AddColocationArgs {
        anti: false,
        ..anti("p2", &["p1"])
    };
    colocation::add(&ctx, &with).unwrap();
    let before = f.text();
    let dry = f.ctx(Memory::new(), true);
    let e = migrate::run(&dry, &migrate_args("p2", "sim1")).unwrap_err();
    assert!(
        e.to_string()
            .contains("must run with p1 (vmmgr-colo-p2.p1), which runs on sim2"),
        "{e}"
    );
    let out = migrate::run(&dry, &migrate_args("p1", "sim1")).unwrap();
    let w = out.json["warnings"].to_string();
    assert!(w.contains("followers"), "{w}");
    assert_eq!(f.text(), before);
}

#[test]
fn drain_refuses_to_stop_pinned_vms_then_records_and_undrain_clears() {
    let f = CibFile::new(FIXTURE);
    let before = f.text();
    let dry = f.ctx(Memory::new(), true);
    let args = |stop| DrainArgs {
        node: "sim3".into(),
        stop_unmovable: stop,
        timeout: None,
    };
    let e = drain::drain(&dry, &args(false)).unwrap_err();
    assert_eq!(e.exit_code(), 7);
    assert!(e.to_string().contains("would stop this VM: p3"), "{e}");
    let out = drain::drain(&dry, &args(true)).unwrap();
    let vms = out.json["vms"].as_array().unwrap();
    let how: Vec<(&str, &str)> = vms
        .iter()
        .map(|v| (v["name"].as_str().unwrap(), v["how"].as_str().unwrap()))
        .collect();
    assert_eq!(how, [("p2", "live"), ("p3", "stop")]);
    assert_eq!(f.text(), before);

    let ctx = f.ctx(Memory::new(), false);
    let out = drain::drain(
        &ctx,
        &DrainArgs {
            node: "sim2".into(),
            stop_unmovable: false,
            timeout: None,
        },
    )
    .unwrap();
    assert_eq!(out.json["recorded"], serde_json::json!(["p1"]));
    let text = f.text();
    assert!(text.contains(r#"name="standby" value="on""#), "{text}");
    assert!(text.contains(r#"name="vmmgr-drained-vms" value="p1""#));
    let out = drain::undrain(
        &ctx,
        &UndrainArgs {
            node: "sim2".into(),
            no_return: true,
        },
    )
    .unwrap();
    assert_eq!(out.json["recorded"], serde_json::json!(["p1"]));
    let text = f.text();
    assert!(!text.contains("standby") && !text.contains("vmmgr-drained-vms"));
    let e = drain::drain(
        &ctx,
        &DrainArgs {
            node: "sim9".into(),
            stop_unmovable: false,
            timeout: None,
        },
    )
    .unwrap_err();
    assert_eq!(e.exit_code(), 2);
}

#[test]
fn a_move_whose_constraint_left_the_cib_ends_as_lost_not_at_the_budget() {
    // Found by the 30-minute chaos run (seed 30): a migrate wrote its move constraint on a node
    // cut off a moment before; the rejoin replaced that node's CIB with the quorate side's,
    // the constraint was gone, and vm-mgr waited out its whole budget for a move that could
    // no longer come.
    use crate::cluster::{change, wait_for, Goal, Waited};
    use shared::pacemaker::Edit;
    use std::time::{Duration, Instant};
    let f = CibFile::new(FIXTURE);
    let ctx = f.ctx(Memory::new(), false);
    let goal = Goal::StartedOn {
        node: "sim1",
        held_by: "vmmgr-move-p1",
    };
    let t = Instant::now();
    let e = match wait_for(&ctx, "p1", goal, Duration::from_secs(60), t) {
        Err(Waited::Failed(e)) => e,
        other => panic!("a lost move must end the wait as failed: {other:?}"),
    };
    assert!(t.elapsed() < Duration::from_secs(30), "{:?}", t.elapsed());
    assert_eq!(e.exit_code(), 1);
    let msg = e.to_string();
    assert!(
        msg.contains("VM p1 to sim1 was lost") && msg.contains("vmmgr-move-p1"),
        "{msg}"
    );
    // With the constraint in the CIB the wait is not cut short (a CIB file moves nothing,
    // so there it ends at once as done).
    change(&ctx, |_cib, tree| {
        crate::placement::edit::put_move(tree, "p1", "sim1", Some("sim2"), "2099-01-01 00:00:00Z")?;
        Ok(Edit::Change(()))
    })
    .unwrap();
    assert!(f.text().contains("vmmgr-move-p1"));
    assert!(wait_for(&ctx, "p1", goal, Duration::from_secs(60), Instant::now()).is_ok());
}

/// The move constraint's shape against Pacemaker's score arithmetic (real crm_simulate): a
/// failover VM (INFINITY stickiness on its node) moves, because the source is banned; the
/// preference alone would tie with the stickiness at INFINITY.
#[test]
fn a_failover_vm_migrates_under_the_source_ban_and_target_preference() {
    let f = CibFile::new(FIXTURE);
    let ctx = f.ctx(Memory::new(), false);
    let failover = SetPlacementArgs {
        name: "p1".into(),
        strategy: Strategy::Failover,
        node: None,
    };
    placement::run(&ctx, &failover).unwrap();
    assert!(f
        .text()
        .contains(r#"name="resource-stickiness" value="INFINITY""#));
    let dry = f.ctx(Memory::new(), true);
    let out = migrate::run(&dry, &migrate_args("p1", "sim1")).unwrap();
    let actions = out.json["simulated_actions"].to_string();
    assert!(
        actions.contains("migrate vmmgr-domain-p1 sim2 → sim1"),
        "{actions}"
    );
    let patch = out.json["cib_patch"].as_str().unwrap();
    assert!(
        patch.contains(r#"id="vmmgr-move-p1.from" score="-INFINITY""#),
        "{patch}"
    );
}
