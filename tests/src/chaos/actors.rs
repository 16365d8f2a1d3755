//! The chaos run's actors: the two invariant watchers (QEMU processes every 100 ms, guard
//! locks every second), the fault injector and the operators.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use shared::ceph::types::parse_object_lock;

use super::rng::Rng;
use super::watch::{self, Overlaps, Seen};
use super::{poll_until, World, SAMPLE_EVERY};

/// Raises the calling thread to real-time priority (SCHED_FIFO 10, with `chrt`; else nice -20
/// with `renice`), so that the sampler keeps its 100 ms rhythm while the nodes and Ceph load
/// both cores; it sleeps between samples, so it takes little from them. Says what it got.
fn sample_first() -> String {
    let Some(tid) = std::fs::read_link("/proc/thread-self")
        .ok()
        .and_then(|p| p.file_name().map(|t| t.to_string_lossy().into_owned()))
    else {
        return "normal priority (no thread id)".into();
    };
    let timeout = Duration::from_secs(5);
    let fifo = shared::cmd::Cmd::new("chrt")
        .args(["--fifo", "--pid", "10", &tid])
        .timeout(timeout)
        .run_string();
    if fifo.is_ok() {
        return "SCHED_FIFO 10".into();
    }
    match shared::cmd::Cmd::new("renice")
        .args(["-n", "-20", "-p", &tid])
        .timeout(timeout)
        .run_string()
    {
        Ok(_) => "nice -20".into(),
        Err(e) => format!("normal priority ({e})"),
    }
}

/// Samples every node's QEMU processes from the host until the watchers are told to end.
pub fn watch_qemu(w: &World) {
    let how = sample_first();
    w.journal.note(format!("QEMU sampler: {how}"));
    let namespaces = watch::node_namespaces(&w.prefix, w.sb.nodes());
    let names = w.names();
    let mut overlaps = Overlaps::default();
    let mut last: Option<Instant> = None;
    while !w.stop_watch.load(Ordering::Relaxed) {
        let now = Instant::now();
        let seen = watch::judge_all(&names, &watch::scan(&namespaces));
        for (vm, what) in overlaps.observe(now, &seen) {
            w.broke(&vm, &what);
        }
        let before = std::mem::replace(&mut w.state().seen, seen.clone());
        for (vm, s) in &seen {
            if before.get(vm) != Some(s) {
                w.journal.note(format!("{vm}: {}", seen_text(s)));
            }
        }
        {
            let mut r = w.report();
            r.samples = r.samples.saturating_add(1);
            if let Some(l) = last {
                r.max_gap = r.max_gap.max(now.saturating_duration_since(l));
            }
        }
        last = Some(now);
        std::thread::sleep(SAMPLE_EVERY.saturating_sub(now.elapsed()));
    }
}

fn seen_text(s: &Seen) -> String {
    match s {
        Seen::Stopped => "no QEMU".into(),
        Seen::On(n) => format!("QEMU on {n}"),
        Seen::Migrating { from, to } => format!("migrating {from} -> {to}"),
        Seen::Double(d) => d.clone(),
    }
}

/// Reads every VM's guard lock once a second and holds it against where the VM runs.
pub fn watch_guards(w: &World) {
    let mut since: BTreeMap<String, Instant> = BTreeMap::new();
    while !w.stop_watch.load(Ordering::Relaxed) {
        let t = Instant::now();
        for vm in &w.vms {
            let out = w
                .ceph("rados")
                .args(["-p", "rbd", "lock", "info", &vm.header, "vmmgr_guard"])
                .args(["--format", "json"])
                .output();
            let Some(lock) = out
                .ok()
                .filter(|o| o.status.success())
                .and_then(|o| parse_object_lock(&o.stdout_str()).ok())
            else {
                continue;
            };
            let running_on = match w.state().seen.get(&vm.name) {
                Some(Seen::On(n)) => Some(n.clone()),
                _ => None,
            };
            w.report().guard_samples += 1;
            match watch::guard_conflict(&lock, running_on.as_deref()) {
                Some(what) if lock.lockers.len() > 1 => w.broke(&vm.name, &what),
                Some(what) => {
                    let t0 = *since.entry(vm.name.clone()).or_insert_with(Instant::now);
                    if t0.elapsed() > watch::GUARD_SKEW_MAX {
                        w.broke(&vm.name, &what);
                    }
                }
                None => {
                    since.remove(&vm.name);
                }
            }
        }
        std::thread::sleep(Duration::from_secs(1).saturating_sub(t.elapsed()));
    }
}

/// The kinds of fault, with their draw weights.
const FAULTS: [(&str, u64); 4] = [
    ("kill-node", 3),
    ("link-down", 2),
    ("libvirtd-freeze", 2),
    ("libvirtd-kill", 2),
];

/// Injects one fault at a time until the run ends: inject, hold, heal, then wait until every
/// VM it touched runs again (the recovery time) and every node is back.
pub fn inject_faults(w: &World) {
    let mut rng = Rng::new(w.opts.seed, 0);
    let nodes = w.sb.nodes().to_vec();
    loop {
        if !w.nap(Duration::from_secs(rng.range(3, 8))) {
            return;
        }
        let kind = FAULTS
            .get(rng.weighted(&FAULTS.map(|(_, n)| n)))
            .map_or("kill-node", |f| f.0);
        let Some(node) = rng.pick(&nodes).cloned() else {
            return;
        };
        let hold = Duration::from_secs(match kind {
            "kill-node" => rng.range(5, 20),
            "link-down" => rng.range(5, 15),
            _ => rng.range(3, 10),
        });
        let affected: Vec<String> = w
            .state()
            .seen
            .iter()
            .filter(|(_, s)| matches!(s, Seen::On(n) if *n == node))
            .map(|(vm, _)| vm.clone())
            .collect();
        let t0 = Instant::now();
        w.journal.note(format!(
            "FAULT {kind} {node} for {hold:?} (VMs there: {affected:?})"
        ));
        *w.report().faults.entry(kind.to_string()).or_insert(0) += 1;
        inject(w, kind, &node);
        // a node's VMs may run again elsewhere while it is still down
        let node_fault = matches!(kind, "kill-node" | "link-down");
        let mut recovered = None;
        while t0.elapsed() < hold {
            if node_fault
                && recovered.is_none()
                && affected.iter().all(|vm| runs_again(w, vm, Some(&node)))
            {
                recovered = Some(t0.elapsed());
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        heal(w, kind, &node);
        w.journal.note(format!("healed {kind} {node}"));
        // after the heal: running again, and the cluster done with its recovery (DC idle)
        let back = recovered.is_some()
            || poll_until(Duration::from_secs(240), || {
                affected.iter().all(|vm| runs_again(w, vm, None))
                    && w.sb.quorate_view(&[]).is_some_and(|v| w.sb.dc_idle(&v))
            });
        let took = recovered.unwrap_or_else(|| t0.elapsed());
        if !back {
            for vm in affected.iter().filter(|vm| !runs_again(w, vm, None)) {
                w.broke(vm, &format!("not running 240 s after {kind} {node}"));
            }
        } else if !affected.is_empty() {
            w.journal
                .note(format!("recovered from {kind} {node} in {took:?}"));
            w.report().recoveries.push((kind.to_string(), took));
        }
        if !all_online(w) {
            w.broke("cluster", &format!("a node stays out after {kind} {node}"));
        }
    }
}

/// Whether `vm` runs again (one QEMU, not on `avoid`, where the quorate partition says it
/// runs), or should not run at all.
fn runs_again(w: &World, vm: &str, avoid: Option<&str>) -> bool {
    let (seen, wanted) = {
        let st = w.state();
        let wanted = st.desired.get(vm).is_none_or(|d| d.0);
        (st.seen.get(vm).cloned(), wanted)
    };
    if !wanted {
        return true;
    }
    let Some(Seen::On(node)) = seen else {
        return false;
    };
    if avoid == Some(node.as_str()) {
        return false;
    }
    w.sb.running_on(&format!("vmmgr-domain-{vm}"), &[]) == [node]
}

/// Every node online in the quorate view (waits up to 180 s). A node the cluster fenced (after
/// a libvirtd fault whose stop failed, or late, after our own power-on) stays off in the
/// sandbox, whose switch does not power nodes on: it is powered on, as an operator would.
fn all_online(w: &World) -> bool {
    let mut misses = BTreeMap::new();
    poll_until(Duration::from_secs(180), || {
        for n in w.sb.nodes() {
            if !w.state().faulted.contains(n) {
                revive(w, n, &mut misses);
            }
        }
        w.sb.quorate_view(&[])
            .is_some_and(|s| s.online_nodes().count() == w.sb.nodes().len())
    })
}

/// What to do for a node that should be up (pure): power it on when it is off; reboot it
/// when it runs without Pacemaker on two looks in a row (`misses` counts them).
#[derive(Debug, PartialEq, Eq)]
pub enum Revive {
    /// Nothing: up, or not yet known to be down.
    Nothing,
    /// Power it on.
    PowerOn,
    /// Power it off and on.
    Reboot,
}

/// Decides [`Revive`] from one look (`running`: the node is powered on; `pacemaker`:
/// pacemakerd runs in it) and the misses before it.
pub fn revive_action(running: bool, pacemaker: bool, misses: &mut u32) -> Revive {
    if !running {
        *misses = 0;
        return Revive::PowerOn;
    }
    if pacemaker {
        *misses = 0;
        return Revive::Nothing;
    }
    *misses = misses.saturating_add(1);
    if *misses >= 2 {
        *misses = 0;
        Revive::Reboot
    } else {
        Revive::Nothing
    }
}

/// Brings node `n` back as an operator would: powered on if it is off (the cluster fenced
/// it), rebooted if it runs without Pacemaker. The latter happens when the node is powered on
/// before the fencing's result reaches it: it hears "we were allegedly just fenced" after it
/// joined, and its Pacemaker stops and stays down (seed 3, 3 VMs, after a link-down).
fn revive(w: &World, n: &str, misses: &mut BTreeMap<String, u32>) {
    let running = w.sb.node_running(n);
    let pacemaker = running
        && w.sb
            .exec(n, &["pgrep", "-x", "pacemakerd"])
            .is_ok_and(|o| o.status.success());
    let m = misses.entry(n.to_string()).or_insert(0);
    match revive_action(running, pacemaker, m) {
        Revive::Nothing => {}
        Revive::PowerOn => {
            w.journal.note(format!("{n} is off: powering it on"));
            sandbox_script(w, &["start-node", n]);
        }
        Revive::Reboot => {
            w.journal
                .note(format!("{n} runs without Pacemaker: rebooting it"));
            sandbox_script(w, &["kill-node", n]);
            sandbox_script(w, &["start-node", n]);
        }
    }
}

/// Runs `tests/sandbox/sandbox ARGS`; a failure goes to the journal.
fn sandbox_script(w: &World, args: &[&str]) {
    let out = shared::cmd::Cmd::new(crate::repo_root().join("tests/sandbox/sandbox"))
        .args(args)
        .timeout(Duration::from_secs(60))
        .output();
    if !out.as_ref().is_ok_and(|o| o.status.success()) {
        w.journal.note(format!("sandbox {args:?} failed: {out:?}"));
    }
}

/// Starts fault `kind` on `node`.
pub fn inject(w: &World, kind: &str, node: &str) {
    let script = |args: &[&str]| sandbox_script(w, args);
    match kind {
        "kill-node" => {
            w.state().faulted.insert(node.to_string());
            script(&["kill-node", node]);
        }
        "link-down" => {
            w.state().faulted.insert(node.to_string());
            script(&["link", node, "down"]);
        }
        _ => libvirtd_signal(
            w,
            node,
            if kind == "libvirtd-kill" {
                "-KILL"
            } else {
                "-STOP"
            },
        ),
    }
}

/// Ends fault `kind` on `node`.
pub fn heal(w: &World, kind: &str, node: &str) {
    let script = |args: &[&str]| sandbox_script(w, args);
    match kind {
        "kill-node" | "link-down" => {
            if kind == "link-down" {
                script(&["link", node, "up"]);
            }
            // The cluster fences a node it lost (the sandbox's switch powers it off and leaves
            // it off); that may come after our power-on, so power on until it stays up.
            let mut misses = BTreeMap::new();
            let up = poll_until(Duration::from_secs(180), || {
                revive(w, node, &mut misses);
                w.sb.quorate_view(&[])
                    .is_some_and(|s| s.online_nodes().any(|n| n.name == node))
            });
            if !up {
                w.journal
                    .note(format!("{node} did not come back within 180 s"));
            }
        }
        "libvirtd-freeze" => libvirtd_signal(w, node, "-CONT"),
        _ => {
            let _ = w.sb.exec(node, &["/usr/sbin/libvirtd", "--listen", "-d"]);
        }
    }
    w.state().faulted.remove(node);
}

fn libvirtd_signal(w: &World, node: &str, signal: &str) {
    let pid =
        w.sb.exec(node, &["pgrep", "-x", "libvirtd"])
            .map(|o| o.stdout_str())
            .unwrap_or_default();
    for p in pid.split_whitespace() {
        let _ = w.sb.exec(node, &["kill", signal, p]);
    }
}

/// One operator: vm-mgr work from `home` (another node while `home` is under a fault), one
/// operation every 1–6 s, until the run ends.
pub fn operate(w: &World, home: &str, actor: u64) {
    let mut rng = Rng::new(w.opts.seed, actor);
    let names = w.names();
    let nodes = w.sb.nodes().to_vec();
    while w.nap(Duration::from_secs(rng.range(1, 6))) {
        let Some(vm) = rng.pick(&names).cloned() else {
            return;
        };
        let Some(node) = rng.pick(&nodes).cloned() else {
            return;
        };
        let other = rng.pick(&names).cloned().unwrap_or_default();
        let args = choose(w, rng.weighted(&[4, 3, 1, 2, 2]), &vm, &node, &other);
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let verb = argv.first().copied().unwrap_or("?").to_string();
        // never sent to a node that is down, lost or being fenced (it could only fail with
        // the sandbox's 125, "node not running"); a turn with no such node is counted skipped
        let Some(on) = w.operator_node(home) else {
            w.journal.note(format!(
                "op skipped (no node to work from): vm-mgr {}",
                argv.join(" ")
            ));
            let mut r = w.report();
            *r.ops
                .entry(verb)
                .or_default()
                .entry("skipped".into())
                .or_insert(0) += 1;
            continue;
        };
        w.journal
            .note(format!("op from {on}: vm-mgr {}", argv.join(" ")));
        let t = Instant::now();
        let out = w.vm_mgr(&on, &argv);
        let result = match &out {
            Ok(o) if o.status.success() => "ok".to_string(),
            Ok(o) => format!(
                "exit {}",
                o.code().map_or("signal".into(), |c| c.to_string())
            ),
            Err(e) if e.to_string().contains("timed out") => "timeout".into(),
            Err(_) => "not run".into(),
        };
        let why = out
            .as_ref()
            .ok()
            .filter(|o| !o.status.success())
            .map(|o| {
                let e = o.stderr_tail();
                e.lines().last().unwrap_or_default().to_string()
            })
            .unwrap_or_default();
        w.journal.note(format!(
            "op {} -> {result} in {:.1} s {why}",
            argv.join(" "),
            t.elapsed().as_secs_f64()
        ));
        after(w, &argv, result == "ok");
        let mut r = w.report();
        *r.ops.entry(verb).or_default().entry(result).or_insert(0) += 1;
    }
}

/// The argv of the next operation (weights: migrate, stop/start, drain/undrain, snapshot,
/// colocation).
fn choose(w: &World, which: usize, vm: &str, node: &str, other: &str) -> Vec<String> {
    let mut st = w.state();
    let wanted = st.desired.get(vm).is_none_or(|d| d.0);
    let stopped = st.desired.values().filter(|d| !d.0).count();
    let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect();
    match which {
        0 if wanted => v(&["migrate", "-n", vm, "--node", node]),
        0 | 1 if !wanted || stopped * 2 >= st.desired.len() => v(&["start", "-n", vm]),
        0 | 1 => v(&["stop", "--force", "-n", vm]),
        2 => match &st.drained {
            Some(d) => v(&["undrain", "--node", d]),
            None => v(&["drain", "--node", node]),
        },
        3 => {
            // numbered when drawn: the two operators never pick the same name
            let snap = format!("chaos{}", st.snapshots);
            st.snapshots = st.snapshots.saturating_add(1);
            v(&["create-snapshot", "-n", vm, "--snap-name", &snap])
        }
        _ => match st.colocations.first() {
            Some((a, b)) if st.colocations.len() >= 2 || vm == other => {
                v(&["remove-colocation", "-n", a, b])
            }
            _ => v(&["add-colocation", "-n", vm, other]),
        },
    }
}

/// What an operation changed in what the run asks for.
fn after(w: &World, argv: &[&str], ok: bool) {
    let mut st = w.state();
    let arg = |i: usize| argv.get(i).copied().unwrap_or_default().to_string();
    match argv.first().copied() {
        Some("start") => {
            st.desired.insert(arg(2), (true, ok));
        }
        Some("stop") => {
            st.desired.insert(arg(3), (false, ok));
        }
        Some("drain") if ok => st.drained = Some(arg(2)),
        Some("undrain") if ok => st.drained = None,
        Some("add-colocation") if ok => st.colocations.push((arg(2), arg(3))),
        Some("remove-colocation") if ok => {
            let pair = (arg(2), arg(3));
            st.colocations.retain(|c| *c != pair);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::{revive_action, Revive};

    #[test]
    fn a_node_off_is_powered_on_and_one_without_pacemaker_twice_is_rebooted() {
        let mut m = 0;
        assert_eq!(revive_action(false, false, &mut m), Revive::PowerOn);
        assert_eq!(revive_action(true, true, &mut m), Revive::Nothing);
        // just powered on, Pacemaker not seen yet: one look is not enough
        assert_eq!(revive_action(true, false, &mut m), Revive::Nothing);
        assert_eq!(revive_action(true, true, &mut m), Revive::Nothing);
        assert_eq!(revive_action(true, false, &mut m), Revive::Nothing);
        // stayed down ("we were allegedly just fenced"): rebooted, then counted anew
        assert_eq!(revive_action(true, false, &mut m), Revive::Reboot);
        assert_eq!(revive_action(true, false, &mut m), Revive::Nothing);
    }
}
