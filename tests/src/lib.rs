//! Harness for the end-to-end scenarios: drives `tests/sandbox/sandbox` (the real namespace
//! cluster) and reads cluster state only through structured output (`crm_mon --output-as=xml`
//! parsed by `shared::pacemaker`), never through human text.
//!
//! The scenarios are `#[ignore]`d tests (they need root, KVM and a few seconds per cluster);
//! `tests/run-all` runs them with `--ignored --test-threads=1`. The cluster is brought up once
//! and reused by every scenario ([`Sandbox::up`] is idempotent); `tests/run-all` tears it down.

pub mod chaos;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use shared::cmd::{Cmd, CmdError, Output};
use shared::pacemaker::output::{self, Outcome};
use shared::pacemaker::status::NodeType;
use shared::pacemaker::{argv, ClusterStatus};

/// The sandbox cluster, as seen by a test.
#[derive(Debug, Clone)]
pub struct Sandbox {
    script: PathBuf,
    nodes: Vec<String>,
}

/// Path of the repository checkout.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

fn script() -> PathBuf {
    repo_root().join("tests/sandbox/sandbox")
}

fn sandbox_cmd() -> Cmd {
    Cmd::new(script()).timeout(Duration::from_secs(120))
}

impl Sandbox {
    /// Bring the cluster up with `nodes` nodes (and Ceph when `ceph`), or reuse it if it already
    /// has that shape. Panics with the script's output when it fails.
    pub fn up(nodes: u8, ceph: bool) -> Sandbox {
        let mut c = sandbox_cmd().args(["up", "--nodes", &nodes.to_string()]);
        if ceph {
            c = c.arg("--ceph");
        }
        let out = c.output().expect("sandbox up runs");
        assert!(
            out.status.success(),
            "sandbox up failed ({}):\n{}\n{}",
            out.status,
            out.stdout_str(),
            String::from_utf8_lossy(&out.stderr)
        );
        Sandbox {
            script: script(),
            nodes: (1..=nodes).map(|i| format!("sim{i}")).collect(),
        }
    }

    /// Node names, `sim1`..`simN`.
    pub fn nodes(&self) -> &[String] {
        &self.nodes
    }

    /// Tear the cluster down (`sandbox down`).
    pub fn down(&self) -> Output {
        let out = sandbox_cmd()
            .arg("down")
            .output()
            .expect("sandbox down runs");
        assert!(out.status.success(), "sandbox down failed: {out:?}");
        out
    }

    /// Run a command inside `node`; returns its output whatever the exit status.
    pub fn exec(&self, node: &str, argv: &[&str]) -> Result<Output, CmdError> {
        Cmd::new(&self.script)
            .args(["exec", node, "--"])
            .args(argv)
            .timeout(Duration::from_secs(120))
            .output()
    }

    /// Run a command inside `node` and return its stdout; panics (with stderr) if it fails.
    pub fn exec_ok(&self, node: &str, argv: &[&str]) -> String {
        let out = self
            .exec(node, argv)
            .unwrap_or_else(|e| panic!("{node}: {argv:?}: {e}"));
        assert!(
            out.status.success(),
            "{node}: {argv:?} failed ({}): {}{}",
            out.status,
            out.stdout_str(),
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout_str()
    }

    /// Simulated power failure of `node`.
    pub fn kill_node(&self, node: &str) {
        self.run_script(&["kill-node", node]);
    }

    /// Power `node` on again.
    pub fn start_node(&self, node: &str) {
        self.run_script(&["start-node", node]);
    }

    /// Powers `node` on again and waits until the cluster has settled around it (see
    /// [`Sandbox::wait_settled`]).
    pub fn rejoin(&self, node: &str) {
        self.start_node(node);
        self.wait_settled(Duration::from_secs(90));
    }

    /// Waits until every node, in its own view, is in a quorate cluster with every node online
    /// and the same DC, and that DC is idle (S_IDLE: no join, election or transition in
    /// progress). The others see a node that has just been powered on online before it has
    /// joined; until then its CIB takes changes locally, and the join may replace the cluster's
    /// CIB with that copy, status section included, until every node has re-sent its history: a
    /// resource running elsewhere then looks stopped for a moment. Tests that then change, stop
    /// or delete something wait for this first.
    pub fn wait_settled(&self, timeout: Duration) {
        wait_for(timeout, "every node joined and the DC idle", || {
            let mut views = Vec::new();
            for n in &self.nodes {
                let st = self.crm_mon(n).ok()?;
                // cluster members only: a guest node online (a VM running pacemaker-remote)
                // is not one of the sandbox's nodes
                let members = st
                    .online_nodes()
                    .filter(|n| n.node_type == NodeType::Member)
                    .count();
                let joined = st.is_quorate() && members == self.nodes.len();
                joined.then_some(())?;
                views.push(st);
            }
            let dc = views.first()?.dc()?.name.clone();
            let agreed = views.iter().all(|v| v.dc().is_some_and(|d| d.name == dc));
            (agreed && self.dc_idle(&views[0])).then_some(())
        });
    }

    /// Whether the DC of `view` answers `crmadmin --status` with S_IDLE.
    pub fn dc_idle(&self, view: &ClusterStatus) -> bool {
        let Some(dc) = view.dc() else {
            return false;
        };
        let argv = argv::crmadmin_status(&dc.name, Duration::from_secs(5));
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let Ok(out) = self.exec(&dc.name, &argv) else {
            return false;
        };
        output::controller_state(&Outcome {
            cmdline: "crmadmin",
            code: out.status.code(),
            stdout: &out.stdout_str(),
            stderr: "",
        })
        .is_ok_and(|s| s.is_idle())
    }

    /// `sandbox env` as key/value pairs.
    pub fn env(&self) -> Vec<(String, String)> {
        self.run_script(&["env"])
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.trim_matches('\'').to_string()))
            .collect()
    }

    /// One value of `sandbox env`.
    pub fn env_var(&self, key: &str) -> String {
        self.env()
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
            .unwrap_or_else(|| panic!("sandbox env has no {key}"))
    }

    /// A small libvirt domain XML (`sandbox guest-xml`).
    pub fn guest_xml(&self, name: &str) -> String {
        self.run_script(&["guest-xml", name])
    }

    /// Writes the Debian 12 guest image (qcow2) to `file` (`sandbox guest-image`): built from
    /// Debian's packages the first time on this machine (minutes), copied from the cache after.
    pub fn guest_image(&self, file: &str) {
        self.run_script_for(&["guest-image", file], Duration::from_secs(1800));
    }

    /// A domain XML booting the guest image (`sandbox guest-xml NAME --os debian12`): the
    /// image must be in the cache ([`Sandbox::guest_image`]).
    pub fn guest_os_xml(&self, name: &str) -> String {
        self.run_script(&["guest-xml", name, "--os", "debian12"])
    }

    /// Whether `node`'s PID namespace is running.
    pub fn node_running(&self, node: &str) -> bool {
        self.run_script(&["status"])
            .lines()
            .any(|l| l.starts_with(&format!("{node}: running")))
    }

    fn run_script(&self, args: &[&str]) -> String {
        self.run_script_for(args, Duration::from_secs(60))
    }

    fn run_script_for(&self, args: &[&str], timeout: Duration) -> String {
        let out = Cmd::new(&self.script)
            .args(args)
            .timeout(timeout)
            .output()
            .unwrap_or_else(|e| panic!("sandbox {args:?}: {e}"));
        assert!(
            out.status.success(),
            "sandbox {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout_str()
    }

    /// `crm_mon --output-as=xml` as seen from `node`, parsed.
    pub fn crm_mon(&self, node: &str) -> Result<ClusterStatus, String> {
        let out = self
            .exec(node, &["crm_mon", "--output-as=xml"])
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!(
                "crm_mon on {node}: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        ClusterStatus::parse(&out.stdout_str()).map_err(|e| e.to_string())
    }

    /// `cibadmin --create --scope resources` of `xml`, run on `node`.
    pub fn create_resource(&self, node: &str, xml: &str) {
        self.exec_ok(
            node,
            &[
                "cibadmin",
                "--create",
                "--scope",
                "resources",
                "--xml-text",
                xml,
            ],
        );
    }

    /// `cibadmin --create --scope constraints` of `xml`, run on `node`.
    pub fn create_constraint(&self, node: &str, xml: &str) {
        self.exec_ok(
            node,
            &[
                "cibadmin",
                "--create",
                "--scope",
                "constraints",
                "--xml-text",
                xml,
            ],
        );
    }

    /// Moves `rsc` to `dst` with a 5-minute move constraint, waits until `running` (the
    /// resource to watch: `rsc` itself, or a member when `rsc` is a group) runs only on `dst`,
    /// then clears the constraint again.
    pub fn move_and_wait(&self, rsc: &str, running: &str, dst: &str, timeout: Duration) {
        self.exec_ok(
            "sim1",
            &[
                "crm_resource",
                "--move",
                "-r",
                rsc,
                "-N",
                dst,
                "--lifetime",
                "PT5M",
            ],
        );
        wait_for(timeout, &format!("{running} to move to {dst}"), || {
            (self.running_on(running, &[]) == [dst]).then_some(())
        });
        self.exec_ok("sim1", &["crm_resource", "--clear", "-r", rsc]);
    }

    /// The operations in `node`'s history of `rsc` ("start", "migrate_from", ...), as seen
    /// from `node`.
    pub fn history_tasks(&self, node: &str, rsc: &str) -> Vec<String> {
        self.crm_mon(node)
            .unwrap_or_else(|e| panic!("crm_mon on {node}: {e}"))
            .history(node, rsc)
            .map(|h| h.operations.iter().map(|o| o.task.clone()).collect())
            .unwrap_or_default()
    }

    /// The cluster as seen from a running node of the quorate partition (skipping `except`).
    pub fn quorate_view(&self, except: &[&str]) -> Option<ClusterStatus> {
        self.nodes
            .iter()
            .filter(|n| !except.contains(&n.as_str()))
            .filter_map(|n| self.crm_mon(n).ok())
            .find(|s| s.is_quorate())
    }

    /// Nodes where resource `id` is active, from the quorate partition's view.
    pub fn running_on(&self, id: &str, except: &[&str]) -> Vec<String> {
        self.quorate_view(except)
            .map(|s| {
                s.where_running(id)
                    .into_iter()
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// The argv of `vm-mgr create -n NAME --xml XML -i IMAGE`, then `extra`.
pub fn create_argv<'a>(
    name: &'a str,
    xml: &'a str,
    image: &'a str,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut argv = vec!["create", "-n", name, "--xml", xml, "-i", image];
    argv.extend_from_slice(extra);
    argv
}

/// Runs `vm-mgr ARGS` inside `node` (the sandbox puts the freshly built vm-mgr on the node's
/// PATH); returns its output whatever the exit status.
pub fn vm_mgr(sb: &Sandbox, node: &str, args: &[&str]) -> Output {
    let mut argv = vec!["vm-mgr"];
    argv.extend_from_slice(args);
    sb.exec(node, &argv)
        .unwrap_or_else(|e| panic!("{node}: vm-mgr {args:?}: {e}"))
}

/// Exit code, stdout and stderr of a command, for assertion messages.
pub fn describe(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.code(),
        out.stdout_str(),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs `vm-mgr ARGS` inside `node` and returns its stdout; panics with the whole output when
/// it fails.
pub fn vm_mgr_ok(sb: &Sandbox, node: &str, args: &[&str]) -> String {
    let out = vm_mgr(sb, node, args);
    assert!(
        out.status.success(),
        "vm-mgr {args:?} on {node}: {}",
        describe(&out)
    );
    out.stdout_str()
}

/// Poll `f` every 200 ms until it returns `Some`, or panic after `timeout` naming `what`.
pub fn wait_for<T>(timeout: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let end = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < end,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A unique, valid resource name for a test (`prefix` + pid + counter).
pub fn unique_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}{}x{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// The datagrams that arrive on `rx` (a test's stand-in for the syslog socket) until it has
/// been quiet for a second.
pub fn received(rx: &std::os::unix::net::UnixDatagram) -> Vec<String> {
    rx.set_read_timeout(Some(Duration::from_secs(1)))
        .expect("set a read timeout");
    let mut got = Vec::new();
    let mut buf = vec![0u8; 4096];
    while let Ok(n) = rx.recv(&mut buf) {
        got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    got
}
