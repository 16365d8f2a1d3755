use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use shared::ceph::types::parse_object_lock;

use super::*;

fn q(vm: &str, node: &str, pid: i32, incoming: bool, start_ticks: u64) -> Qemu {
    Qemu {
        vm: vm.into(),
        node: node.into(),
        pid,
        incoming,
        start_ticks,
    }
}

/// A QEMU command line as libvirt 9 wrote it in the sandbox (recorded from /proc/PID/cmdline,
/// one argument a line; the first is a migration target's).
fn recorded(incoming: bool) -> Vec<String> {
    let text = include_str!("../../fixtures/libvirt/qemu-cmdline-incoming.txt");
    text.lines()
        .map(str::to_owned)
        .filter(|a| incoming || !(a == "-incoming" || a == "defer"))
        .collect()
}

#[test]
fn qemu_command_lines_give_the_domain_and_the_migration_target() {
    let (vm, incoming) = qemu_of(&recorded(true)).expect("a libvirt QEMU");
    assert!(incoming);
    assert_eq!(vm, "bmh1863");
    assert_eq!(qemu_of(&recorded(false)), Some((vm, false)));
    let other = ["/usr/sbin/libvirtd".to_string(), "-name".into(), "x".into()];
    assert_eq!(qemu_of(&other), None);
    assert_eq!(qemu_of(&["qemu-system-x86_64".to_string()]), None);
}

#[test]
fn stat_gives_state_and_start_time_even_with_spaces_in_the_name() {
    let real = "11490 (cat) R 11479 11479 22027 0 -1 4194304 100 0 0 0 0 0 0 0 20 0 1 0 3389837 \
                3133440 413 18446744073709551615";
    assert_eq!(stat_fields(real), Some(('R', 3_389_837)));
    let odd = real.replace("(cat)", "(a ) b)").replace(" R ", " Z ");
    assert_eq!(stat_fields(&odd), Some(('Z', 3_389_837)));
    assert_eq!(stat_fields("12 (x) S 1"), None);
}

#[test]
fn one_copy_is_fine_a_fresh_second_copy_is_a_double_run() {
    let a = q("vm", "sim1", 10, false, 100);
    assert_eq!(judge(&[]), Seen::Stopped);
    assert_eq!(judge(&[&a]), Seen::On("sim1".into()));
    // a live migration: the younger process is the -incoming target
    let t = q("vm", "sim2", 20, true, 200);
    let m = Seen::Migrating {
        from: "sim1".into(),
        to: "sim2".into(),
    };
    assert_eq!(judge(&[&t, &a]), m);
    // a second start (no -incoming) while the first runs: broken
    let b = q("vm", "sim2", 20, false, 200);
    assert!(matches!(judge(&[&a, &b]), Seen::Double(d) if d.contains("pid 20 on sim2")));
    // the older one being a former migration target does not excuse a fresh start
    let old_target = q("vm", "sim1", 10, true, 100);
    assert!(matches!(judge(&[&old_target, &b]), Seen::Double(_)));
    // two on one node, or three anywhere
    let c = q("vm", "sim1", 30, true, 300);
    assert!(matches!(judge(&[&a, &c]), Seen::Double(_)));
    assert!(matches!(judge(&[&a, &t, &c]), Seen::Double(_)));
}

#[test]
fn judge_all_groups_by_vm_and_a_long_migration_becomes_broken() {
    let found = vec![
        q("a", "sim1", 1, false, 1),
        q("b", "sim1", 2, false, 2),
        q("b", "sim3", 3, true, 3),
    ];
    let vms = vec!["a".to_string(), "b".to_string(), "c".to_string()];
    let seen = judge_all(&vms, &found);
    assert_eq!(seen["a"], Seen::On("sim1".into()));
    assert!(matches!(seen["b"], Seen::Migrating { .. }));
    assert_eq!(seen["c"], Seen::Stopped);

    let mut o = Overlaps::default();
    let t0 = Instant::now();
    assert!(o.observe(t0, &seen).is_empty());
    assert!(o.observe(t0 + Duration::from_secs(60), &seen).is_empty());
    let late = o.observe(t0 + MIGRATION_MAX + Duration::from_secs(1), &seen);
    assert_eq!(late.len(), 1);
    assert_eq!(late[0].0, "b");
    // a finished migration resets the clock
    let mut done = seen.clone();
    done.insert("b".into(), Seen::On("sim3".into()));
    assert!(o.observe(t0 + MIGRATION_MAX * 2, &done).is_empty());
    assert!(o.observe(t0 + MIGRATION_MAX * 2, &seen).is_empty());
    let mut double = BTreeMap::new();
    double.insert("a".to_string(), Seen::Double("2 QEMU processes".into()));
    assert_eq!(o.observe(t0, &double).len(), 1);
}

#[test]
fn the_guard_must_have_one_holder_the_node_running_the_vm() {
    let held = parse_object_lock(include_str!("../../fixtures/ceph/rados-lock-info-held.out"))
        .expect("recorded lock");
    let free = parse_object_lock(include_str!(
        "../../fixtures/ceph/rados-lock-info-released.out"
    ))
    .expect("recorded lock");
    assert_eq!(guard_conflict(&held, Some("sim1")), None);
    assert_eq!(guard_conflict(&held, None), None);
    assert_eq!(guard_conflict(&free, None), None);
    let other = guard_conflict(&held, Some("sim2")).expect("held by another node");
    assert!(other.contains("held by sim1"), "{other}");
    let none = guard_conflict(&free, Some("sim2")).expect("free while running");
    assert!(none.contains("free"), "{none}");
    let mut two = held.clone();
    let mut second = two.lockers[0].clone();
    second.cookie = "sim2".into();
    two.lockers.push(second);
    let both = guard_conflict(&two, None).expect("two holders");
    assert!(both.contains("2 holders"), "{both}");
}
