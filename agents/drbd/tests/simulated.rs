//! End-to-end tests of the `drbd` agent binary against the **DRBD SIMULATOR**
//! (`tests/drbd-sim`, binary `drbd-sim`): no DRBD kernel module and no Pacemaker are involved.
//! The simulator stands in for `drbdadm`, `drbdsetup` and `crm_attribute` through symlinks
//! first on `PATH`; a simulated peer node ("beta") is driven directly with `DRBD_SIM_NODE=beta`.
//!
//! `drbd-sim` is a binary of the `vmmgr-tests` package: `cargo test --workspace` builds it; with
//! `cargo test -p vmmgr-agent-drbd` alone, build it first (`cargo build -p vmmgr-tests --bin
//! drbd-sim`).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use shared::cmd::{Cmd, Output};

/// One simulated two-node world: this host plus the simulated peer "beta".
struct World {
    dir: PathBuf,
    res: String,
    conf: PathBuf,
    path: String,
}

fn sim_binary() -> PathBuf {
    let agent = Path::new(env!("CARGO_BIN_EXE_drbd"));
    let sim = agent.with_file_name("drbd-sim");
    assert!(
        sim.is_file(),
        "{} not found: build the DRBD simulator first (cargo build -p vmmgr-tests --bin drbd-sim)",
        sim.display()
    );
    sim
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_owned()
}

impl World {
    fn new(tag: &str, dual: bool) -> World {
        let res = format!("t{}{tag}", std::process::id());
        let dir = std::env::temp_dir().join(format!("vmmgr-drbd-sim-test-{res}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        std::fs::create_dir_all(dir.join("rsctmp")).unwrap();
        let sim = sim_binary();
        for tool in ["drbdadm", "drbdsetup", "crm_attribute"] {
            std::os::unix::fs::symlink(&sim, dir.join("bin").join(tool)).unwrap();
        }
        let me = hostname();
        let net = if dual {
            "net { protocol C; allow-two-primaries yes; }"
        } else {
            "net { protocol C; }"
        };
        let conf = dir.join("drbd.conf");
        std::fs::write(
            &conf,
            format!(
                "resource {res} {{\n  {net}\n  volume 0 {{ device /dev/drbd0; disk /dev/vg/{res}; meta-disk internal; }}\n  \
                 on {me} {{ node-id 0; address 127.0.0.1:7789; }}\n  \
                 on beta {{ node-id 1; address 127.0.0.2:7789; }}\n  \
                 connection-mesh {{ hosts {me} beta; }}\n}}\n"
            ),
        )
        .unwrap();
        let path = format!(
            "{}:{}",
            dir.join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        World {
            dir,
            res,
            conf,
            path,
        }
    }

    fn base(&self, program: &Path) -> Cmd {
        Cmd::new(program)
            .env("PATH", &self.path)
            .env("DRBD_SIM_DIR", self.dir.join("state"))
            .env("HA_RSCTMP", self.dir.join("rsctmp"))
            .env_remove("DRBD_SIM_NODE")
            .timeout(Duration::from_secs(60))
    }

    /// Runs the agent: `action` with the standard environment plus `extra` (`KEY=VALUE`).
    fn agent(&self, action: &str, extra: &[(&str, &str)]) -> Output {
        let mut cmd = self
            .base(Path::new(env!("CARGO_BIN_EXE_drbd")))
            .arg(action)
            .env("OCF_ROOT", "/usr/lib/ocf")
            .env("OCF_RESOURCE_INSTANCE", &self.res)
            .env("OCF_RESKEY_drbd_resource", &self.res)
            .env("OCF_RESKEY_drbdconf", &self.conf)
            .env("OCF_RESKEY_CRM_meta_notify", "true")
            .env("OCF_RESKEY_CRM_meta_clone_max", "2")
            .env("OCF_RESKEY_CRM_meta_clone_node_max", "1")
            .env("OCF_RESKEY_CRM_meta_promoted_max", "1")
            .env("OCF_RESKEY_CRM_meta_promoted_node_max", "1")
            .env("OCF_RESKEY_CRM_meta_timeout", "20000");
        if action == "monitor" {
            cmd = cmd.env("OCF_RESKEY_CRM_meta_interval", "10000");
        }
        for (k, v) in extra {
            cmd = cmd.env(k, v);
        }
        cmd.output().expect("agent runs")
    }

    /// Runs the agent and checks its exit code, printing everything on mismatch.
    fn expect(&self, action: &str, extra: &[(&str, &str)], rc: i32) -> Output {
        let out = self.agent(action, extra);
        assert_eq!(
            out.code(),
            Some(rc),
            "{action} {extra:?}: expected {rc}, got {:?}\nstdout: {}\nstderr: {}",
            out.code(),
            out.stdout_str(),
            String::from_utf8_lossy(&out.stderr)
        );
        if rc != 0 && rc != 7 && rc != 8 {
            assert!(
                String::from_utf8_lossy(&out.stderr).contains("ocf-exit-reason:"),
                "{action}: failure without exit reason"
            );
        }
        out
    }

    /// Runs a simulated tool as the peer node "beta".
    fn peer(&self, tool: &str, args: &[&str]) -> Output {
        let mut cmd = self
            .base(&sim_binary())
            .arg(tool)
            .env("DRBD_SIM_NODE", "beta");
        if tool == "drbdadm" {
            cmd = cmd.arg("-c").arg(&self.conf);
        }
        cmd.args(args).output().expect("simulator runs")
    }

    fn peer_ok(&self, tool: &str, args: &[&str]) {
        let out = self.peer(tool, args);
        assert!(
            out.status.success(),
            "peer {tool} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The promotion score the (simulated) crm_attribute holds, if any.
    fn score(&self) -> Option<String> {
        std::fs::read_to_string(self.dir.join("state/crm_attribute").join(&self.res)).ok()
    }

    /// The number of crm_attribute writes so far.
    fn score_writes(&self) -> usize {
        std::fs::read_to_string(self.dir.join("state/crm_attribute.log"))
            .map(|t| t.lines().count())
            .unwrap_or(0)
    }
}

impl Drop for World {
    fn drop(&mut self) {
        // The simulated kernels exit once their directory is gone.
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const PROBE: &[(&str, &str)] = &[("OCF_RESKEY_CRM_meta_interval", "0")];
const SHORT: &[(&str, &str)] = &[("OCF_RESKEY_CRM_meta_timeout", "4000")];

#[test]
fn simulated_drbd_lifecycle_codes_and_idempotence() {
    let w = World::new("life", false);
    w.expect("monitor", PROBE, 7);
    w.expect("stop", &[], 0); // stopping a stopped resource succeeds
    w.expect("start", &[("OCF_RESKEY_wfc_timeout", "0")], 0);
    w.expect("start", &[("OCF_RESKEY_wfc_timeout", "0")], 0);
    w.expect("monitor", &[], 0);
    w.expect("monitor", PROBE, 0);
    // Peer not there: UpToDate but peer disk unknown -> 1000.
    assert_eq!(w.score().as_deref(), Some("1000"));
    w.peer_ok("drbdadm", &["up", &w.res]);
    w.expect("monitor", &[], 0);
    assert_eq!(w.score().as_deref(), Some("10000"));
    // Unchanged state: recurring monitors do not write the score again.
    let writes = w.score_writes();
    w.expect("monitor", &[], 0);
    w.expect("monitor", &[], 0);
    assert_eq!(w.score_writes(), writes);

    w.expect("promote", &[], 0);
    w.expect("monitor", &[], 8);
    w.expect("promote", &[], 0);
    w.expect("monitor", &[], 8);
    w.expect("demote", &[], 0);
    w.expect("monitor", &[], 0);
    w.expect("demote", &[], 0);
    w.expect("stop", &[], 0);
    w.expect("stop", &[], 0);
    assert_eq!(w.score(), None, "stop removes the score");
    let out = w.expect("monitor", &[], 7);
    assert!(String::from_utf8_lossy(&out.stderr).contains("ocf-exit-reason:"));
    w.expect("monitor", PROBE, 7);
    w.expect("validate-all", &[], 0);
}

#[test]
fn simulated_drbd_start_of_a_primary_demotes_and_stop_of_a_primary_works() {
    let w = World::new("prim", false);
    w.expect("start", &[("OCF_RESKEY_wfc_timeout", "0")], 0);
    w.expect("promote", &[], 0);
    w.expect("start", &[("OCF_RESKEY_wfc_timeout", "0")], 0);
    w.expect("monitor", &[], 0);
    w.expect("promote", &[], 0);
    w.expect("stop", &[], 0);
    w.expect("monitor", PROBE, 7);
}

#[test]
fn simulated_drbd_single_primary_refused_then_failover() {
    let w = World::new("fail", false);
    w.peer_ok("drbdadm", &["up", &w.res]);
    w.peer_ok("drbdadm", &["primary", &w.res]);
    w.expect("start", &[], 0);
    w.expect("monitor", &[], 0);
    assert_eq!(w.score().as_deref(), Some("10000"));
    // The peer is Primary and allow-two-primaries is off: promotion fails (deadline-bounded).
    let t0 = Instant::now();
    let out = w.expect("promote", SHORT, 1);
    assert!(t0.elapsed() < Duration::from_secs(4), "{:?}", t0.elapsed());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Multiple primaries"), "{err}");
    // fail_promote_early_if_peer_primary gives up after one attempt.
    let out = w.expect(
        "promote",
        &[
            ("OCF_RESKEY_CRM_meta_timeout", "4000"),
            ("OCF_RESKEY_fail_promote_early_if_peer_primary", "true"),
        ],
        1,
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("already/still Primary"));
    w.expect("monitor", &[], 0);

    // The peer's node dies: its kernel stops, we see it Connecting / DUnknown.
    w.peer_ok("set", &[&w.res, "beta", "crash"]);
    std::thread::sleep(Duration::from_millis(1800));
    w.expect("monitor", &[], 0);
    assert_eq!(w.score().as_deref(), Some("1000"));
    w.expect("promote", &[], 0);
    w.expect("monitor", &[], 8);
    w.expect("stop", &[], 0);
}

#[test]
fn simulated_drbd_dual_primary_needs_allow_two_primaries() {
    let dual: &[(&str, &str)] = &[
        ("OCF_RESKEY_CRM_meta_promoted_max", "2"),
        ("OCF_RESKEY_wfc_timeout", "0"),
    ];
    let single = World::new("one", false);
    let out = single.expect("start", dual, 6);
    assert!(String::from_utf8_lossy(&out.stderr).contains("allow-two-primaries"));

    let w = World::new("two", true);
    w.peer_ok("drbdadm", &["up", &w.res]);
    w.peer_ok("drbdadm", &["primary", &w.res]);
    w.expect("start", dual, 0);
    w.expect("promote", dual, 0);
    w.expect("monitor", dual, 8);
    w.expect("demote", dual, 0);
    w.expect("stop", dual, 0);
}

#[test]
fn simulated_drbd_no_uptodate_data_fails_promotion_at_once() {
    let w = World::new("outd", false);
    w.peer_ok("set", &[&w.res, &hostname(), "disk=Outdated"]);
    w.expect("start", &[("OCF_RESKEY_wfc_timeout", "0")], 0);
    w.expect("monitor", &[], 0);
    assert_eq!(w.score(), None, "Outdated without a peer: no score");
    let out = w.expect("promote", SHORT, 1);
    assert!(String::from_utf8_lossy(&out.stderr).contains("UpToDate"));
    // Once the peer with UpToDate data connects, we resync and may be promoted.
    w.peer_ok("drbdadm", &["up", &w.res]);
    w.expect("monitor", &[], 0);
    assert_eq!(w.score().as_deref(), Some("10000"));
    w.expect("promote", &[], 0);
    w.expect("stop", &[], 0);
}

#[test]
fn simulated_drbd_validation_codes() {
    let w = World::new("val", false);
    // Bad name: 6, and stop refuses to claim success for a name it cannot use.
    w.expect("start", &[("OCF_RESKEY_drbd_resource", "bad name")], 6);
    w.expect("monitor", &[("OCF_RESKEY_drbd_resource", "")], 6);
    // Resource not in the configuration: probe 7, start 5.
    w.expect(
        "monitor",
        &[("OCF_RESKEY_drbd_resource", "nosuch"), PROBE[0]],
        7,
    );
    w.expect("start", &[("OCF_RESKEY_drbd_resource", "nosuch")], 5);
    // Missing configuration file: 5 (probe 7).
    w.expect(
        "start",
        &[("OCF_RESKEY_drbdconf", "/nonexistent/drbd.conf")],
        5,
    );
    w.expect(
        "monitor",
        &[("OCF_RESKEY_drbdconf", "/nonexistent/drbd.conf"), PROBE[0]],
        7,
    );
    // Clone meta checks and notify.
    w.expect("start", &[("OCF_RESKEY_CRM_meta_clone_node_max", "2")], 6);
    w.expect("start", &[("OCF_RESKEY_CRM_meta_promoted_max", "3")], 6);
    w.expect("start", &[("OCF_RESKEY_CRM_meta_notify", "false")], 6);
    w.expect(
        "start",
        &[
            ("OCF_RESKEY_CRM_meta_notify", "false"),
            ("OCF_RESKEY_ignore_missing_notifications", "true"),
            ("OCF_RESKEY_wfc_timeout", "0"),
        ],
        0,
    );
    // Module version gates: 5.
    w.expect(
        "start",
        &[("OCF_RESKEY_require_drbd_module_version_ge", "9.3.0")],
        5,
    );
    w.expect(
        "start",
        &[("OCF_RESKEY_require_drbd_module_version_lt", "9.1.0")],
        5,
    );
    w.expect("stop", &[], 0);
    // Framework-level codes.
    w.expect("meta-data", &[], 0);
    w.expect("migrate_to", &[], 3);
    w.expect("bogus", &[], 3);
}

#[test]
fn simulated_drbd_notify_and_reload_agent() {
    let w = World::new("ntf", false);
    w.expect("start", &[("OCF_RESKEY_wfc_timeout", "0")], 0);
    w.peer_ok("drbdadm", &["up", &w.res]);
    let post_start: &[(&str, &str)] = &[
        ("OCF_RESKEY_CRM_meta_notify_type", "post"),
        ("OCF_RESKEY_CRM_meta_notify_operation", "start"),
        ("OCF_RESKEY_CRM_meta_notify_start_uname", "beta"),
    ];
    w.expect("notify", post_start, 0);
    assert_eq!(w.score().as_deref(), Some("10000"));
    w.expect(
        "reload-agent",
        &[("OCF_RESKEY_adjust_master_score", "0 10 500 5000")],
        0,
    );
    assert_eq!(w.score().as_deref(), Some("5000"));
    w.expect("stop", &[], 0);
}
