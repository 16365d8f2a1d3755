//! Map mode, SIMULATED: there is no krbd and no nbd on the test machines, so the real agent
//! binary runs against a stand-in `rbd` first on `PATH` (`tests/fake/rbd`), which serves
//! `device list/map/unmap` from a state file in the JSON shapes of Ceph's krbd and rbd-nbd
//! formatters and logs every argv. The agent's code path is the production one.

use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Sim {
    dir: PathBuf,
    device: String,
}

/// Any block device of this machine, standing in for /dev/rbdN (monitor checks the listed
/// device is a block device).
fn some_block_device() -> Option<String> {
    std::fs::read_dir("/dev")
        .ok()?
        .filter_map(Result::ok)
        .find(|e| e.file_type().is_ok_and(|t| t.is_block_device()))
        .map(|e| e.path().display().to_string())
}

impl Sim {
    fn new(tag: &str) -> Sim {
        let dir = std::env::temp_dir().join(format!("vmmgr-rbd-sim-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        let fake = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fake/rbd");
        std::fs::copy(fake, dir.join("bin/rbd")).unwrap();
        // a ceph.conf that exists (validated as a local file)
        std::fs::write(dir.join("ceph.conf"), "[global]\n").unwrap();
        let device = some_block_device().unwrap_or_else(|| "/dev/null".into());
        Sim { dir, device }
    }

    fn run(&self, action: &str, params: &[(&str, &str)], extra: &[(&str, &str)]) -> Output {
        let path = format!(
            "{}:{}",
            self.dir.join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut c = Command::new(env!("CARGO_BIN_EXE_rbd"));
        c.arg(action)
            .env_clear()
            .env("PATH", path)
            .env("OCF_ROOT", "/usr/lib/ocf")
            .env("OCF_RESKEY_cephconf", self.dir.join("ceph.conf"))
            .env("OCF_RESKEY_CRM_meta_timeout", "10000")
            .env("FAKE_RBD_STATE", self.dir.join("state"))
            .env("FAKE_RBD_LOG", self.dir.join("log"))
            .env("FAKE_RBD_DEVICE", &self.device);
        for (k, v) in params {
            c.env(format!("OCF_RESKEY_{k}"), v);
        }
        for (k, v) in extra {
            c.env(k, v);
        }
        c.output().unwrap()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn rc(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn check(o: &Output, want: i32, what: &str) {
    assert_eq!(
        rc(o),
        want,
        "{what}: stdout {} stderr {}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn simulated_krbd_map_monitor_unmap() {
    let sim = Sim::new("krbd");
    let p = [("name", "vm1-disk"), ("pool", "rbd"), ("user", "admin")];
    check(&sim.run("monitor", &p, &[]), 7, "probe");
    check(&sim.run("stop", &p, &[]), 0, "stop while stopped");
    check(&sim.run("start", &p, &[]), 0, "start");
    let want = if sim.device == "/dev/null" { 1 } else { 0 };
    check(&sim.run("monitor", &p, &[]), want, "monitor");
    if want == 1 {
        return; // no block device on this machine to stand in for /dev/rbd0
    }
    check(&sim.run("start", &p, &[]), 0, "second start");
    check(&sim.run("stop", &p, &[]), 0, "stop");
    check(&sim.run("monitor", &p, &[]), 7, "monitor after stop");
    check(&sim.run("stop", &p, &[]), 0, "second stop");
    let log = sim.log();
    assert_eq!(log.matches("device map").count(), 1, "{log}");
    assert_eq!(log.matches("device unmap").count(), 1, "{log}");
    assert!(
        log.contains("device list --device-type krbd --format json"),
        "{log}"
    );
    assert!(log.contains("--id admin"), "{log}");
    assert!(!log.contains("--read-only"), "{log}");
}

#[test]
fn simulated_nbd_snapshot_is_mapped_read_only() {
    let sim = Sim::new("nbd");
    if sim.device == "/dev/null" {
        return;
    }
    let p = [
        ("name", "vm1-disk"),
        ("pool_namespace", "ns1"),
        ("snap", "base"),
        ("device_type", "nbd"),
        ("map_options", "notrim"),
    ];
    check(&sim.run("start", &p, &[]), 0, "start");
    check(&sim.run("monitor", &p, &[]), 0, "monitor");
    // the head of the same image is not the snapshot
    let head = [
        ("name", "vm1-disk"),
        ("pool_namespace", "ns1"),
        ("device_type", "nbd"),
    ];
    check(&sim.run("monitor", &head, &[]), 7, "the head is not mapped");
    check(&sim.run("stop", &p, &[]), 0, "stop");
    let log = sim.log();
    assert!(
        log.contains("device map --device-type nbd --read-only -o notrim rbd/ns1/vm1-disk@base"),
        "{log}"
    );
}

#[test]
fn simulated_missing_kernel_module_is_not_installed() {
    let sim = Sim::new("nomod");
    let p = [("name", "vm1-disk")];
    let o = sim.run("start", &p, &[("FAKE_RBD_FAIL", "1")]);
    check(&o, 5, "start without krbd");
    assert!(String::from_utf8_lossy(&o.stderr).contains("ocf-exit-reason:"));
    check(&sim.run("monitor", &p, &[]), 7, "probe");
}

#[test]
fn configuration_errors() {
    let sim = Sim::new("cfg");
    check(&sim.run("start", &[], &[]), 6, "no name");
    check(
        &sim.run("validate-all", &[("name", "a/b")], &[]),
        6,
        "bad name",
    );
    check(
        &sim.run("stop", &[("name", "a/b")], &[]),
        0,
        "stop with a bad name",
    );
    check(
        &sim.run(
            "start",
            &[("name", "x"), ("cephconf", "/nonexistent.conf")],
            &[],
        ),
        5,
        "missing ceph.conf",
    );
    check(
        &sim.run("migrate_to", &[("name", "x")], &[]),
        1,
        "migrate in map mode",
    );
    check(&sim.run("meta-data", &[], &[]), 0, "meta-data");
}
