//! SIGTERM and SIGINT while a verb runs a program (issue 13): the `vm-mgr` binary must exit 130
//! with "interrupted", leave no process of the program's group behind, no temporary file in
//! `TMPDIR`, and change nothing. These run the real binary on a recorded CIB (`--cib-file`, with
//! Pacemaker's real tools reading it) and `--no-storage`: no cluster needed.
//!
//! FAKES, labelled as such: a verb on a CIB file runs its programs for milliseconds, too short
//! to be interrupted on purpose. So a slow stand-in is put first in `PATH`: a `crm_simulate`
//! that never answers, and a `cibadmin` that waits before it runs the real one. Each is a
//! `/bin/sh` script that starts a `sleep` in the background and one in the foreground (a
//! program with a child of its own); the sleeps carry a marker argument that the test finds
//! in `/proc`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use shared::procfs::{group_members, pgid as pgid_of, with_arg as pids_with_arg};

const VM_MGR: &str = env!("CARGO_BIN_EXE_vm-mgr");
const CIB: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/vm-mgr/cib-vm-t1-started.xml"
);

/// A scratch directory for one case: `bin/` (the fakes), `tmp/` (vm-mgr's `TMPDIR`), the CIB.
struct Case {
    dir: PathBuf,
    marker: String,
}

impl Case {
    fn new() -> Case {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let id = std::process::id();
        let dir = std::env::temp_dir().join(format!("vmmgr-interrupt-{id}-{n}"));
        let _ = std::fs::remove_dir_all(&dir);
        for sub in ["bin", "tmp"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        std::fs::copy(CIB, dir.join("cib.xml")).unwrap();
        Case {
            dir,
            marker: format!("30.{id}{n:03}"),
        }
    }

    /// Writes the FAKE `program`: after `prelude` (a shell line, or nothing) it sleeps (two
    /// `sleep`s, one its own background child), then runs `then` (a command line, or nothing).
    fn fake(&self, program: &str, prelude: &str, then: &str) {
        let m = &self.marker;
        let script = format!(
            "#!/bin/sh\n# FAKE {program} of vm-mgr/tests/interrupt.rs: slow on purpose.\n\
             {prelude}\nsleep {m} &\nsleep {m}\n{then}\n"
        );
        let path = self.dir.join("bin").join(program);
        std::fs::write(&path, script).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn cib(&self) -> PathBuf {
        self.dir.join("cib.xml")
    }

    fn tmp(&self) -> PathBuf {
        self.dir.join("tmp")
    }

    /// Starts vm-mgr with the fakes first in `PATH` and `TMPDIR` set to the case's.
    fn start(&self, args: &[&str]) -> Child {
        let path = format!(
            "{}:{}",
            self.dir.join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        Command::new(VM_MGR)
            .arg("--cib-file")
            .arg(self.cib())
            .arg("--no-storage")
            .args(args)
            .env("PATH", path)
            .env("TMPDIR", self.tmp())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run vm-mgr")
    }
}

impl Drop for Case {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Waits up to 10 s until both sleeps of the fake run; returns their process group.
fn fake_running(marker: &str) -> i32 {
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let pids = pids_with_arg(marker);
        if pids.len() == 2 {
            let g = pgid_of(pids[0]).expect("the fake's process group");
            assert_eq!(pgid_of(pids[1]), Some(g), "both sleeps in one group");
            return g;
        }
        assert!(Instant::now() < until, "the fake never ran");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sends `sig` to vm-mgr and waits up to 10 s for it (then kills it, so that a regression
/// fails the test rather than hanging it); returns its exit code and stderr.
fn interrupt(mut child: Child, sig: Signal) -> (Option<i32>, String, Duration) {
    let pid = Pid::from_raw(i32::try_from(child.id()).unwrap());
    kill(pid, sig).expect("signal vm-mgr");
    let t = Instant::now();
    while child.try_wait().expect("wait for vm-mgr").is_none() {
        if t.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = t.elapsed();
    let out = child.wait_with_output().expect("collect vm-mgr's output");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code(), err, took)
}

fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| Some(e.ok()?.file_name().to_string_lossy().into_owned()))
                .collect()
        })
        .unwrap_or_default()
}

/// The checks every case makes once vm-mgr has exited.
fn assert_clean_exit(case: &Case, code: Option<i32>, err: &str, took: Duration, group: i32) {
    assert_eq!(code, Some(130), "exit status: {err}");
    assert!(err.contains("interrupted"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(took < Duration::from_secs(5), "took {took:?}: {err}");
    assert_eq!(
        group_members(group),
        Vec::<i32>::new(),
        "the group lives on"
    );
    assert_eq!(
        pids_with_arg(&case.marker),
        Vec::<i32>::new(),
        "a sleep lives on"
    );
    assert_eq!(entries(&case.tmp()), Vec::<String>::new(), "left in TMPDIR");
    let cib = std::fs::read(case.cib()).unwrap();
    assert_eq!(cib, std::fs::read(CIB).unwrap(), "the CIB changed");
}

#[test]
fn sigterm_and_sigint_during_crm_simulate_end_its_group_and_remove_the_temp_files() {
    for sig in [Signal::SIGTERM, Signal::SIGINT] {
        let case = Case::new();
        case.fake("crm_simulate", "", "");
        // drain's preview: crm_simulate on a copy of the CIB in a private temporary directory.
        let child = case.start(&["--dry-run", "drain", "--node", "sim1"]);
        let group = fake_running(&case.marker);
        assert_ne!(
            Some(group),
            pgid_of(i32::try_from(child.id()).unwrap()),
            "the fake runs in a group of its own"
        );
        let tmp = entries(&case.tmp());
        assert!(
            tmp.iter().any(|e| e.starts_with("vmmgr-sim-")),
            "{sig}: the simulation's files exist while it runs: {tmp:?}"
        );
        let (code, err, took) = interrupt(child, sig);
        assert_clean_exit(&case, code, &err, took, group);
    }
}

#[test]
fn sigterm_while_a_cib_change_is_under_way_changes_nothing() {
    let case = Case::new();
    let real = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join("cibadmin"))
        .find(|p| p.is_file())
        .expect("Pacemaker's cibadmin is installed");
    // The FAKE cibadmin waits only when it would patch; queries run the real one at once.
    let script_then = format!("exec {} \"$@\"", real.display());
    case.fake("cibadmin-slow", "", &script_then);
    let quick = format!(
        "#!/bin/sh\n# FAKE cibadmin of vm-mgr/tests/interrupt.rs: a patch waits first.\n\
         case \"$1\" in --patch) exec {} \"$@\";; esac\nexec {} \"$@\"\n",
        case.dir.join("bin").join("cibadmin-slow").display(),
        real.display()
    );
    let path = case.dir.join("bin").join("cibadmin");
    std::fs::write(&path, quick).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();

    let child = case.start(&[
        "set-placement",
        "-n",
        "t1",
        "--strategy",
        "pinned",
        "--node",
        "sim2",
    ]);
    let group = fake_running(&case.marker);
    let (code, err, took) = interrupt(child, Signal::SIGTERM);
    assert_clean_exit(&case, code, &err, took, group);
}

#[test]
fn a_second_signal_exits_at_once_killing_the_group_and_removing_the_temp_files() {
    let case = Case::new();
    // This fake and its sleeps ignore SIGTERM: after the first signal, vm-mgr would wait out
    // the command's kill grace (2 s) before its SIGKILL.
    case.fake("crm_simulate", "trap '' TERM", "");
    let child = case.start(&["--dry-run", "drain", "--node", "sim1"]);
    let group = fake_running(&case.marker);
    let pid = Pid::from_raw(i32::try_from(child.id()).unwrap());
    kill(pid, Signal::SIGTERM).expect("signal vm-mgr");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        group_members(group).len(),
        3,
        "the fake ignored the SIGTERM"
    );
    let (code, err, took) = interrupt(child, Signal::SIGINT);
    assert!(took < Duration::from_secs(1), "took {took:?}: {err}");
    // SIGKILLed: wait up to 1 s for the kernel to finish them off.
    let until = Instant::now() + Duration::from_secs(1);
    while !group_members(group).is_empty() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_clean_exit(&case, code, &err, took, group);
}
