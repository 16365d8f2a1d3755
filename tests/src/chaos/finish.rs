//! The chaos run's set-up and end: the VMs with their known disk pattern, the checks once
//! every fault is healed, the clean-up, and the timelines of broken invariants.

use std::time::Duration;

use super::faults::heal;
use super::watch::Seen;
use super::{poll_until, Vm, World};

/// Size of each VM's disk.
const DISK_MIB: u64 = 64;

/// The pattern of VM number `i` for run seed `seed`: three 1 MiB regions of a byte each.
pub fn pattern(seed: u64, i: usize) -> Vec<(u64, u64, u8)> {
    let mib = 1 << 20;
    let b = |k: u64| {
        let x = seed
            .wrapping_mul(31)
            .wrapping_add(u64::try_from(i).unwrap_or(0).wrapping_mul(7))
            .wrapping_add(k);
        u8::try_from(x % 250).unwrap_or(0).saturating_add(1)
    };
    vec![
        (0, mib, b(0)),
        (mib, mib, b(1)),
        ((DISK_MIB - 1) * mib, mib, b(2)),
    ]
}

/// Whether `data` (an exported disk) holds `pattern` (pure).
pub fn holds_pattern(data: &[u8], pattern: &[(u64, u64, u8)]) -> Result<(), String> {
    for (off, len, byte) in pattern {
        let (Ok(o), Ok(l)) = (usize::try_from(*off), usize::try_from(*len)) else {
            return Err("region out of range".into());
        };
        let region = o
            .checked_add(l)
            .and_then(|end| data.get(o..end))
            .ok_or_else(|| format!("the disk ends before {off} + {len} ({} bytes)", data.len()))?;
        if let Some(bad) = region.iter().position(|b| b != byte) {
            return Err(format!(
                "byte {} is {:#04x}, not {byte:#04x}",
                o.saturating_add(bad),
                region.get(bad).copied().unwrap_or(0)
            ));
        }
    }
    Ok(())
}

/// Creates the run's VMs (the pattern written into each image before its import), all at
/// once from the three nodes in turn; panics if one cannot be made (nothing was measured yet).
pub fn create_vms(w: &World) -> Vec<Vm> {
    std::thread::scope(|s| {
        let each: Vec<_> = (0..w.opts.vms)
            .map(|i| s.spawn(move || create_vm(w, i)))
            .collect();
        each.into_iter()
            .map(|h| h.join().expect("a VM of the run is created"))
            .collect()
    })
}

/// Creates VM number `i`.
fn create_vm(w: &World, i: usize) -> Vm {
    let name = format!("ch{}x{i}", std::process::id());
    let xml = format!("/var/tmp/vmmgr-chaos-{name}.xml");
    std::fs::write(&xml, w.sb.guest_xml(&name)).expect("write the guest XML");
    let image = format!("/var/tmp/vmmgr-chaos-{name}.qcow2");
    let size = format!("{DISK_MIB}M");
    w.sb.exec_ok(
        "sim1",
        &["qemu-img", "create", "-q", "-f", "qcow2", &image, &size],
    );
    let pattern = pattern(w.opts.seed, i);
    for (off, len, byte) in &pattern {
        let write = format!("write -P {byte} {off} {len}");
        w.sb.exec_ok("sim1", &["qemu-io", "-c", &write, &image]);
    }
    let node = &w.sb.nodes()[i % w.sb.nodes().len()];
    // the sandbox's libvirtd listens on TCP without TLS certificates
    let live = [
        "--enable-live-migration",
        "--pacemaker-params",
        "migration_transport=tcp",
    ];
    let argv = crate::create_argv(&name, &xml, &image, &live);
    let out = crate::vm_mgr_ok(&w.sb, node, &argv);
    w.journal.note(format!("created {name}: {}", out.trim()));
    let info = w
        .ceph("rbd")
        .args(["info", "--format", "json", &format!("rbd/system_{name}")])
        .run_string()
        .expect("rbd info of the system image");
    let id = serde_json::from_str::<serde_json::Value>(&info)
        .ok()
        .and_then(|v| v["id"].as_str().map(str::to_owned))
        .expect("the image id");
    Vm {
        name,
        header: format!("rbd_header.{id}"),
        pattern,
    }
}

/// The end: heal everything, let the cluster settle, undrain, ask again what did not answer,
/// then check the VMs' states, `crm_verify -L`, the constraints and the disks.
pub fn end_checks(w: &World) {
    for n in w.sb.nodes() {
        heal(w, "link-down", n);
        heal(w, "libvirtd-freeze", n);
    }
    let settled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        w.sb.wait_settled(Duration::from_secs(240))
    }));
    if settled.is_err() {
        w.broke(
            "cluster",
            "did not settle within 240 s after the faults were healed",
        );
    }
    w.journal
        .note("end: faults healed, cluster settled; undraining");
    let node = w.healthy_node("sim1");
    for n in w.sb.nodes() {
        let _ = w.vm_mgr(&node, &["undrain", "--node", n]);
    }
    let asks: Vec<(String, bool, bool)> = w
        .state()
        .desired
        .iter()
        .map(|(vm, (run, ok))| (vm.clone(), *run, *ok))
        .collect();
    for (vm, run, ok) in &asks {
        if !ok {
            let verb = if *run { "start" } else { "stop" };
            let out = w.vm_mgr(&node, &[verb, "-n", vm]);
            w.journal.note(format!(
                "asked again: {verb} {vm}: {:?}",
                out.map(|o| o.code())
            ));
        }
    }
    for (vm, run, _) in &asks {
        let want = if *run { "Started" } else { "Stopped" };
        let reached = poll_until(Duration::from_secs(240), || state_of(w, &node, vm) == want);
        if !reached {
            let now = state_of(w, &node, vm);
            w.broke(
                vm,
                &format!("last asked {want}, is {now} 240 s after the end"),
            );
        }
        // what the host sees must agree: one QEMU when Started, none when Stopped
        let seen = w.state().seen.get(vm).cloned();
        let agrees = match &seen {
            Some(Seen::On(_)) => *run,
            Some(Seen::Stopped) => !*run,
            _ => false,
        };
        if reached && !agrees {
            w.broke(vm, &format!("vm-mgr says {want}, the host sees {seen:?}"));
        }
    }
    no_cli_constraint(w, &node);
    repair_interrupted_moves(w, &node);
    verify_cluster(w, &node);
    for vm in &w.vms {
        if let Err(e) = check_disk(w, vm) {
            w.broke(&vm.name, &format!("disk data check: {e}"));
        }
    }
    w.journal
        .note("end: states, crm_verify, constraints and disks checked");
}

fn state_of(w: &World, node: &str, vm: &str) -> String {
    w.vm_mgr(node, &["--output", "json", "status", "-n", vm])
        .ok()
        .and_then(|o| serde_json::from_str::<serde_json::Value>(&o.stdout_str()).ok())
        .and_then(|v| v["state"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "unknown".into())
}

/// The constraints section, as `cibadmin` prints it on `node` (empty if it cannot be read).
fn constraints(w: &World, node: &str) -> String {
    w.sb.exec(node, &["cibadmin", "--query", "--scope", "constraints"])
        .map(|o| o.stdout_str())
        .unwrap_or_default()
}

/// No `cli-*` constraint: vm-mgr never writes one (checked before `doctor --fix`, which would
/// remove one).
fn no_cli_constraint(w: &World, node: &str) {
    if constraints(w, node).contains("id=\"cli-") {
        w.broke("cluster", "a constraint id=\"cli-...\" is left");
    }
}

/// Whether a vm-mgr operation was killed with its node (exit 137) or cut off at the harness's
/// limit: such a `migrate` cannot remove its move constraint.
pub fn was_interrupted(
    ops: &std::collections::BTreeMap<String, std::collections::BTreeMap<String, u32>>,
) -> bool {
    ops.values()
        .flat_map(|results| results.iter())
        .any(|(result, n)| *n > 0 && (result == "exit 137" || result == "timeout"))
}

/// A `migrate` interrupted that way leaves `vmmgr-move-VM`, which stops counting at its end
/// date (budget + 120 s) and which `vm-mgr doctor --fix` removes once expired: the operator's
/// documented repair, run here every 15 s for up to 600 s. Without an interrupted operation
/// nothing is repaired, so a move constraint left by a vm-mgr that ran to its end breaks the
/// check below.
fn repair_interrupted_moves(w: &World, node: &str) {
    if !was_interrupted(&w.report().ops) {
        return;
    }
    let limit = std::time::Instant::now() + Duration::from_secs(600);
    while constraints(w, node).contains("id=\"vmmgr-move-") && std::time::Instant::now() < limit {
        let out = w.vm_mgr(node, &["doctor", "--fix"]);
        w.journal.note(format!(
            "end: a move constraint of an interrupted vm-mgr is left; vm-mgr doctor --fix: {:?}",
            out.map(|o| o.code())
        ));
        std::thread::sleep(Duration::from_secs(15));
    }
}

/// `crm_verify -L` clean, and no `cli-*` or `vmmgr-move-*` constraint.
fn verify_cluster(w: &World, node: &str) {
    match w.sb.exec(node, &["crm_verify", "-L"]) {
        Ok(o) if o.status.success() && o.stderr.is_empty() && o.stdout.is_empty() => {}
        Ok(o) => w.broke(
            "cluster",
            &format!(
                "crm_verify -L: exit {:?}: {}{}",
                o.code(),
                o.stdout_str(),
                String::from_utf8_lossy(&o.stderr)
            ),
        ),
        Err(e) => w.broke("cluster", &format!("crm_verify -L: {e}")),
    }
    let constraints = constraints(w, node);
    for bad in ["id=\"cli-", "id=\"vmmgr-move-"] {
        if constraints.contains(bad) {
            w.broke("cluster", &format!("a constraint {bad}...\" is left"));
        }
    }
}

/// Exports the VM's system image from the host and checks its pattern.
fn check_disk(w: &World, vm: &Vm) -> Result<(), String> {
    let file = format!("/var/tmp/vmmgr-chaos-{}.raw", vm.name);
    let _ = std::fs::remove_file(&file);
    let out = w
        .ceph("rbd")
        .args(["export", "--no-progress"])
        .arg(format!("rbd/system_{}", vm.name))
        .arg(&file)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!("rbd export: {}", out.stderr_tail()));
    }
    let data = std::fs::read(&file).map_err(|e| format!("{file}: {e}"));
    let _ = std::fs::remove_file(&file);
    holds_pattern(&data?, &vm.pattern)
}

/// Removes the run's VMs (`remove --purge`) and their inputs. A QEMU process of a VM left
/// after its removal is killed and counted as broken, and a VM that cannot be removed then
/// is too (CI must leave the cluster clean).
pub fn clean_up(w: &World) {
    let node = w.healthy_node("sim1");
    let remove = |vm: &Vm| {
        w.vm_mgr(&node, &["remove", "--purge", "--yes", "-n", &vm.name])
            .map_err(|e| e.to_string())
            .and_then(|o| {
                if o.status.success() {
                    Ok(())
                } else {
                    Err(crate::describe(&o))
                }
            })
    };
    let failed: Vec<&Vm> = w.vms.iter().filter(|vm| remove(vm).is_err()).collect();
    let namespaces = super::watch::node_namespaces(&w.prefix, w.sb.nodes());
    let names = w.names();
    for q in super::watch::scan(&namespaces) {
        if names.contains(&q.vm) {
            w.broke(
                &q.vm,
                &format!("QEMU pid {} left on {} after remove", q.pid, q.node),
            );
            let _ = shared::cmd::Cmd::new("kill")
                .args(["-KILL", &q.pid.to_string()])
                .timeout(Duration::from_secs(10))
                .run();
        }
    }
    for vm in failed {
        if let Err(e) = remove(vm) {
            w.broke(&vm.name, &format!("remove --purge failed: {e}"));
        }
    }
    for vm in &w.vms {
        for ext in ["xml", "qcow2"] {
            let _ = std::fs::remove_file(format!("/var/tmp/vmmgr-chaos-{}.{ext}", vm.name));
        }
    }
}

/// Fills each broken invariant's timeline: the run's events from 60 s before to 10 s after,
/// and the nodes' Pacemaker log lines (the agents log there too) naming the VM in those
/// minutes.
pub fn timelines(w: &World) {
    let broken = w.report().broken.clone();
    let mut filled = Vec::new();
    for mut b in broken {
        let from = b.at.saturating_sub(Duration::from_secs(60));
        let events = w.journal.between(from, b.at + Duration::from_secs(10));
        b.timeline = events
            .iter()
            .map(|(t, e)| format!("{:>7.1}s {e}", t.as_secs_f64()))
            .collect();
        let minutes = [w.journal.wall_minute(from), w.journal.wall_minute(b.at)];
        for n in w.sb.nodes() {
            let log = format!("{}/nodes/{n}/var-log-pacemaker/pacemaker.log", w.base);
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let lines = text.lines().filter(|l| {
                l.contains(&b.vm) && minutes.iter().any(|m| l.get(7..12) == Some(m.as_str()))
            });
            let lines: Vec<&str> = lines.collect();
            let tail = lines.len().saturating_sub(40);
            b.timeline
                .extend(lines.iter().skip(tail).map(|l| format!("{n}: {l}")));
        }
        filled.push(b);
    }
    w.report().broken = filled;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_killed_or_cut_off_operation_allows_the_move_repair() {
        use std::collections::BTreeMap;
        let ops = |verb: &str, result: &str, n: u32| {
            BTreeMap::from([(
                verb.to_owned(),
                BTreeMap::from([(result.to_owned(), n), ("ok".to_owned(), 3)]),
            )])
        };
        assert!(was_interrupted(&ops("migrate", "exit 137", 1)));
        assert!(was_interrupted(&ops("start", "timeout", 2)));
        assert!(!was_interrupted(&ops("migrate", "exit 137", 0)));
        assert!(!was_interrupted(&ops("migrate", "exit 7", 4)));
        assert!(!was_interrupted(&BTreeMap::new()));
    }

    #[test]
    fn a_disk_holds_its_pattern_or_says_where_not() {
        let p = pattern(16, 2);
        assert_eq!(p.len(), 3);
        assert!(
            p.iter().all(|r| r.2 != 0),
            "zero would pass on an empty disk"
        );
        assert_ne!(pattern(16, 2), pattern(16, 3));
        assert_ne!(pattern(16, 2), pattern(17, 2));
        let mib = 1 << 20;
        let mut disk = vec![0u8; 64 * mib];
        for (off, len, byte) in &p {
            let o = usize::try_from(*off).unwrap();
            disk[o..o + usize::try_from(*len).unwrap()].fill(*byte);
        }
        assert_eq!(holds_pattern(&disk, &p), Ok(()));
        disk[mib + 5] ^= 0xff;
        let e = holds_pattern(&disk, &p).unwrap_err();
        assert!(e.contains(&format!("byte {}", mib + 5)), "{e}");
        assert!(holds_pattern(&disk[..mib], &p)
            .unwrap_err()
            .contains("ends before"));
        assert!(holds_pattern(&vec![0u8; 64 * mib], &p).is_err());
    }
}
