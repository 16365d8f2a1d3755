//! The chaos run's actors: the two invariant watchers (QEMU processes every 100 ms, guard
//! locks every second) and the operators; the fault injector is [`super::faults`].

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use shared::ceph::types::parse_object_lock;

use super::rng::Rng;
use super::watch::{self, Overlaps, Seen};
use super::{World, SAMPLE_EVERY};

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
