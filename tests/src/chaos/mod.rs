//! The chaos run (issue 16): N guarded Ceph-backed VMs on the 3-node sandbox, a seeded stream of
//! faults (power off/on a node, cut/restore its link, freeze or kill libvirtd) while two
//! operators work with vm-mgr from two nodes, and the invariants checked the whole time from
//! the host: never two running QEMU processes for one VM, never a disk guard held twice or by
//! another node than the VM's. At the end every fault is healed and the cluster settles; then
//! every VM must be in the state last asked for, `crm_verify -L` clean, no `cli-*` or
//! `vmmgr-move-*` constraint left, and every VM's disk must still hold the pattern written
//! before the run. Driven by `tests/chaos` (the `chaos` binary) and, short, by the e2e
//! scenario `chaos::short_run_breaks_no_invariant`.

pub mod actors;
pub mod faults;
pub mod finish;
pub mod report;
pub mod rng;
pub mod watch;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use shared::cmd::{Cmd, CmdError, Output};
use shared::pacemaker::ClusterStatus;

use crate::Sandbox;
use report::{Journal, Report};
use watch::Seen;

/// What to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Minutes of faults and operations.
    pub minutes: u64,
    /// The seed of every random draw.
    pub seed: u64,
    /// How many VMs.
    pub vms: usize,
}

impl Options {
    /// Parses `[--minutes M] [--seed S] [--vms N]` (defaults 3, 16, 6; M in 1..=600, N in
    /// 1..=20).
    pub fn parse(args: &[String]) -> Result<Options, String> {
        let mut o = Options {
            minutes: 3,
            seed: 16,
            vms: 6,
        };
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
            let n: u64 = value
                .parse()
                .map_err(|_| format!("{flag} {value}: not a whole number"))?;
            match flag.as_str() {
                "--minutes" if (1..=600).contains(&n) => o.minutes = n,
                "--seed" => o.seed = n,
                "--vms" if (1..=20).contains(&n) => o.vms = usize::try_from(n).unwrap_or(6),
                "--minutes" | "--vms" => return Err(format!("{flag} {value}: out of range")),
                _ => return Err(format!("unknown argument {flag}")),
            }
        }
        Ok(o)
    }
}

/// One VM of the run.
#[derive(Debug, Clone)]
pub struct Vm {
    /// The VM name.
    pub name: String,
    /// Its system image's header object (`rbd_header.ID`), where the guard lock lives.
    pub header: String,
    /// The known pattern: (offset, length, byte) regions written before the run.
    pub pattern: Vec<(u64, u64, u8)>,
}

/// What the actors share and change.
#[derive(Debug, Default)]
pub struct State {
    /// The latest QEMU sample, per VM.
    pub seen: BTreeMap<String, Seen>,
    /// Nodes under a fault now (powered off or cut off).
    pub faulted: BTreeSet<String>,
    /// Per VM: last asked to run (true) or stop (false), and whether that ask succeeded.
    pub desired: BTreeMap<String, (bool, bool)>,
    /// The drained node, if any.
    pub drained: Option<String>,
    /// Colocations added (VM, other VM).
    pub colocations: Vec<(String, String)>,
    /// Snapshots made so far (names them).
    pub snapshots: u32,
}

/// The run: the sandbox, the VMs, the shared state, the journal and the report.
#[derive(Debug)]
pub struct World {
    /// The sandbox cluster.
    pub sb: Sandbox,
    /// Its name (VMMGR_SANDBOX_NAME).
    pub prefix: String,
    /// Its state directory.
    pub base: String,
    /// The options.
    pub opts: Options,
    /// The VMs.
    pub vms: Vec<Vm>,
    /// Events as they happen.
    pub journal: Journal,
    /// Set when faults and operations must end.
    pub stop: AtomicBool,
    /// Set when the invariant watchers must end.
    pub stop_watch: AtomicBool,
    /// Shared state.
    pub state: Mutex<State>,
    /// The report being filled.
    pub report: Mutex<Report>,
}

/// How often the host samples the QEMU processes.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(100);

impl World {
    /// Locks the shared state (a poisoned lock is still used: a panicking actor must not hide
    /// what the others saw).
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Locks the report.
    pub fn report(&self) -> MutexGuard<'_, Report> {
        self.report.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The VM names.
    pub fn names(&self) -> Vec<String> {
        self.vms.iter().map(|v| v.name.clone()).collect()
    }

    /// A Ceph tool (`rbd`, `rados`) run from the host in the sandbox's bridge namespace, where
    /// Ceph runs: it answers whatever state the nodes are in.
    pub fn ceph(&self, tool: &str) -> Cmd {
        let etc = format!("{}/shared/etc-ceph", self.base);
        Cmd::new("nsenter")
            .arg(format!("--net=/run/netns/{}-br", self.prefix))
            .args(["--", tool, "-c"])
            .arg(format!("{etc}/ceph.conf"))
            .arg("--keyring")
            .arg(format!("{etc}/ceph.client.admin.keyring"))
            .timeout(Duration::from_secs(60))
    }

    /// `prefer` unless it is under a fault, else the first node that is not.
    pub fn healthy_node(&self, prefer: &str) -> String {
        let st = self.state();
        if !st.faulted.contains(prefer) {
            return prefer.to_string();
        }
        self.sb
            .nodes()
            .iter()
            .find(|n| !st.faulted.contains(*n))
            .cloned()
            .unwrap_or_else(|| prefer.to_string())
    }

    /// The node an operator works from now (see [`pick_home`]): `prefer` or another node that
    /// is not under a fault, is online and clean in the quorate partition's view (not lost,
    /// not being fenced, not joining) and is powered on (the cluster may have fenced a node
    /// the run did not fault). None when no node is: the operator then skips its turn.
    pub fn operator_node(&self, prefer: &str) -> Option<String> {
        let faulted = self.state().faulted.clone();
        let members = self
            .sb
            .quorate_view(&[])
            .map(|v| clean_members(&v))
            .unwrap_or_default();
        let powered = |n: &str| self.sb.exec(n, &["true"]).is_ok_and(|o| o.status.success());
        pick_home(prefer, self.sb.nodes(), &faulted, &members, powered)
    }

    /// Runs `vm-mgr ARGS` inside `node`.
    pub fn vm_mgr(&self, node: &str, args: &[&str]) -> Result<Output, CmdError> {
        let mut argv = vec!["vm-mgr"];
        argv.extend_from_slice(args);
        self.sb.exec(node, &argv)
    }

    /// Sleeps `d` in small steps; false when the run's end came first.
    pub fn nap(&self, d: Duration) -> bool {
        let end = Instant::now() + d;
        while Instant::now() < end {
            if self.stop.load(Ordering::Relaxed) {
                return false;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        !self.stop.load(Ordering::Relaxed)
    }

    /// Records a broken invariant (and notes it in the journal the first time).
    pub fn broke(&self, vm: &str, what: &str) {
        let at = self.journal.elapsed();
        if self.report().broke(at, vm, what) {
            self.journal.note(format!("BROKEN: {vm}: {what}"));
        }
    }
}

/// The nodes online and clean in `view`: members that are not unclean (lost, to be fenced),
/// pending (joining) or shutting down.
pub fn clean_members(view: &ClusterStatus) -> BTreeSet<String> {
    view.online_nodes()
        .filter(|n| !n.unclean && !n.pending && !n.shutdown)
        .map(|n| n.name.clone())
        .collect()
}

/// `prefer` if it can take work, else the first of `nodes` that can: not in `faulted`, in
/// `members`, and `powered` (asked last, since it runs a command). None when none can.
pub fn pick_home(
    prefer: &str,
    nodes: &[String],
    faulted: &BTreeSet<String>,
    members: &BTreeSet<String>,
    mut powered: impl FnMut(&str) -> bool,
) -> Option<String> {
    std::iter::once(prefer)
        .chain(nodes.iter().map(String::as_str).filter(|n| *n != prefer))
        .filter(|n| !faulted.contains(*n) && members.contains(*n))
        .find(|n| powered(n))
        .map(str::to_string)
}

/// Polls `f` every 500 ms until it is true or `timeout` passed; whether it became true.
pub fn poll_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The whole run: set-up, faults and operations with the watchers, the end checks and the
/// clean-up. The report says whether every invariant held.
pub fn run(opts: &Options) -> Report {
    let t0 = Instant::now();
    let sb = Sandbox::up(3, true);
    sb.wait_settled(Duration::from_secs(180));
    let prefix = std::env::var("VMMGR_SANDBOX_NAME").unwrap_or_else(|_| "vmsbx".into());
    let base = sb.env_var("SANDBOX_BASE");
    let journal = Journal::new();
    journal.note(format!(
        "seed {}, {} minutes, {} VMs on sandbox {prefix}",
        opts.seed, opts.minutes, opts.vms
    ));
    let mut world = World {
        sb,
        prefix,
        base,
        opts: opts.clone(),
        vms: Vec::new(),
        journal,
        stop: AtomicBool::new(false),
        stop_watch: AtomicBool::new(false),
        state: Mutex::new(State::default()),
        report: Mutex::new(Report {
            seed: opts.seed,
            minutes: opts.minutes,
            ..Report::default()
        }),
    };
    world.vms = finish::create_vms(&world);
    world.report().vms = world.names();
    for v in &world.vms {
        world.state().desired.insert(v.name.clone(), (true, true));
    }
    let w = &world;
    std::thread::scope(|s| {
        s.spawn(|| actors::watch_qemu(w));
        s.spawn(|| actors::watch_guards(w));
        let faults = s.spawn(|| faults::inject_faults(w));
        let ops: Vec<_> = [("sim1", 1u64), ("sim2", 2u64)]
            .into_iter()
            .map(|(home, actor)| s.spawn(move || actors::operate(w, home, actor)))
            .collect();
        w.nap(Duration::from_secs(opts.minutes.saturating_mul(60)));
        w.stop.store(true, Ordering::Relaxed);
        w.journal
            .note("time is up: healing every fault, letting operations finish");
        let _ = faults.join();
        for o in ops {
            let _ = o.join();
        }
        finish::end_checks(w);
        w.stop_watch.store(true, Ordering::Relaxed);
    });
    finish::clean_up(&world);
    finish::timelines(&world);
    let mut report = world.report().clone();
    report.took = t0.elapsed();
    report
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use shared::pacemaker::ClusterStatus;

    use super::{clean_members, pick_home, Options};

    fn set(a: &[&str]) -> BTreeSet<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_node_being_fenced_is_no_member() {
        // recorded while sim3 was lost and about to be fenced: online="false" unclean="true"
        let view = ClusterStatus::parse(include_str!(
            "../../fixtures/pacemaker/crm_mon-node-fencing.xml"
        ))
        .unwrap();
        assert_eq!(clean_members(&view), set(&["sim1", "sim2"]));
    }

    #[test]
    fn operators_work_only_from_a_node_that_can_take_it() {
        let nodes: Vec<String> = ["sim1", "sim2", "sim3"].map(String::from).to_vec();
        let all = set(&["sim1", "sim2", "sim3"]);
        let none = BTreeSet::new();
        let on = |_: &str| true;
        assert_eq!(
            pick_home("sim2", &nodes, &none, &all, on).as_deref(),
            Some("sim2")
        );
        // faulted by the run: the next node that is fine
        let f = set(&["sim2"]);
        assert_eq!(
            pick_home("sim2", &nodes, &f, &all, on).as_deref(),
            Some("sim1")
        );
        // fenced by the cluster (not faulted by the run, but no member)
        let m = set(&["sim2", "sim3"]);
        assert_eq!(
            pick_home("sim1", &nodes, &none, &m, on).as_deref(),
            Some("sim2")
        );
        // still a member in the view, but powered off already
        let mut asked = Vec::new();
        let off1 = |n: &str| {
            asked.push(n.to_string());
            n != "sim1"
        };
        assert_eq!(
            pick_home("sim1", &nodes, &none, &all, off1).as_deref(),
            Some("sim2")
        );
        assert_eq!(
            asked,
            ["sim1", "sim2"],
            "the power check runs only as needed"
        );
        // nowhere to work from: the turn is skipped, not sent to a dead node
        assert_eq!(pick_home("sim1", &nodes, &none, &none, on), None);
        assert_eq!(pick_home("sim1", &nodes, &all, &all, on), None);
        assert_eq!(
            pick_home("sim1", &nodes, &none, &all, |_: &str| false),
            None
        );
    }

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn options_parse_with_defaults_and_bounds() {
        assert_eq!(
            Options::parse(&[]).unwrap(),
            Options {
                minutes: 3,
                seed: 16,
                vms: 6
            }
        );
        let o = Options::parse(&args(&["--minutes", "30", "--seed", "7", "--vms", "4"])).unwrap();
        assert_eq!((o.minutes, o.seed, o.vms), (30, 7, 4));
        for bad in [
            &["--minutes", "0"][..],
            &["--minutes", "601"],
            &["--vms", "21"],
            &["--seed", "-1"],
            &["--seed"],
            &["--speed", "3"],
        ] {
            assert!(Options::parse(&args(bad)).is_err(), "{bad:?}");
        }
    }
}
