//! The chaos run's fault injector: one fault at a time (a node powered off, its link cut,
//! libvirtd killed or frozen), healed after a while; the time until the VMs that were on the
//! node run again and until the cluster settled; nodes that stay out are brought back as an
//! operator would.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::report::Recovery;
use super::rng::Rng;
use super::watch::Seen;
use super::{poll_until, World};

/// The kinds of fault, with their draw weights.
const FAULTS: [(&str, u64); 4] = [
    ("kill-node", 3),
    ("link-down", 2),
    ("libvirtd-freeze", 2),
    ("libvirtd-kill", 2),
];

/// Injects one fault at a time until the run ends: inject, hold, heal, then wait until every
/// VM it touched runs again and the cluster settled, timing both, and until every
/// node is back.
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
        w.journal.note(format!(
            "FAULT {kind} {node} for {hold:?} (VMs there: {affected:?})"
        ));
        *w.report().faults.entry(kind.to_string()).or_insert(0) += 1;
        let mut clock = Clock::new(matches!(kind, "kill-node" | "link-down"));
        inject(w, kind, &node);
        while clock.t0.elapsed() < hold {
            clock.look(w, &affected, Some(&node));
            std::thread::sleep(Duration::from_millis(500));
        }
        heal(w, kind, &node);
        w.journal.note(format!("healed {kind} {node}"));
        recover(w, kind, &node, &affected, clock);
        if !all_online(w) {
            w.broke("cluster", &format!("a node stays out after {kind} {node}"));
        }
    }
}

/// After the heal of fault `kind` on `node`: waits (up to 240 s) until the VMs that were on
/// it run again and the cluster settled, then records both times, or breaks the run for each
/// VM that does not run.
fn recover(w: &World, kind: &str, node: &str, affected: &[String], mut clock: Clock) {
    let settled = poll_until(Duration::from_secs(240), || {
        clock.look(w, affected, None) && w.sb.quorate_view(&[]).is_some_and(|v| w.sb.dc_idle(&v))
    });
    let settled = settled.then(|| clock.t0.elapsed());
    if clock.back.is_none() && clock.went_down {
        for vm in affected.iter().filter(|vm| !runs_again(w, vm, None)) {
            w.broke(vm, &format!("not running 240 s after {kind} {node}"));
        }
        return;
    }
    if affected.is_empty() {
        return;
    }
    w.journal.note(format!(
        "after {kind} {node}: VMs back {:?}, cluster settled {settled:?}",
        clock.back
    ));
    w.report().recoveries.push(Recovery {
        kind: kind.to_string(),
        back: clock.back,
        settled,
    });
}

/// One fault's recovery times, counted from its injection.
struct Clock {
    t0: Instant,
    /// A node fault: while the node is out, its VMs count only when they run elsewhere.
    node_fault: bool,
    /// Some VM was seen not running (or, for a node fault, still on the node).
    went_down: bool,
    /// When every VM ran again after that (cleared should one stop again).
    back: Option<Duration>,
}

impl Clock {
    fn new(node_fault: bool) -> Clock {
        Clock {
            t0: Instant::now(),
            node_fault,
            went_down: false,
            back: None,
        }
    }

    /// Looks once (`out`: the faulted node while the fault holds): whether every VM of
    /// `affected` runs; notes when they all run again after one stopped.
    fn look(&mut self, w: &World, affected: &[String], out: Option<&str>) -> bool {
        let avoid = out.filter(|_| self.node_fault);
        let all = affected.iter().all(|vm| runs_again(w, vm, avoid));
        if !all {
            self.went_down = true;
            self.back = None;
        } else if self.went_down && self.back.is_none() {
            self.back = Some(self.t0.elapsed());
        }
        all
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
