//! The `vm-mgr` binary on hostile input (issue 13): file arguments that are not regular files,
//! and a stdout whose reader has gone. Each case must end quickly with a clear message and the
//! documented exit code, never a panic. These run the real binary on a recorded CIB
//! (`--cib-file`, with Pacemaker's `crm_mon` reading it) and `--no-storage`: no cluster needed.

use std::os::fd::OwnedFd;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const VM_MGR: &str = env!("CARGO_BIN_EXE_vm-mgr");
const CIB: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/vm-mgr/cib-vm-t1-started.xml"
);

/// Runs vm-mgr, killing it after 10 s (a regression must fail the test, not hang it).
fn run(args: &[&str]) -> (Output, Duration) {
    let t = Instant::now();
    let mut child = Command::new(VM_MGR)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run vm-mgr");
    while child.try_wait().expect("wait for vm-mgr").is_none() {
        if t.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("collect vm-mgr's output");
    (out, t.elapsed())
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn assert_refused(args: &[&str], says: &str) {
    let (out, took) = run(args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert!(err.contains(says), "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{args:?}: {err}");
    assert!(took < Duration::from_secs(10), "{args:?} took {took:?}");
}

/// `create --dry-run` of a VM whose domain XML is `xml`, on the recorded CIB.
fn dry_run_create(xml: &str) -> [&str; 11] {
    [
        "--cib-file",
        CIB,
        "--no-storage",
        "--dry-run",
        "create",
        "-n",
        "vm9",
        "--xml",
        xml,
        "-i",
        "/nonexistent.qcow2",
    ]
}

#[test]
fn dev_zero_as_domain_xml_or_config_is_refused_at_once() {
    let create = dry_run_create("/dev/zero");
    assert_refused(
        &create,
        "/dev/zero is a character device, not a regular file",
    );
    let list = [
        "--config",
        "/dev/zero",
        "--cib-file",
        CIB,
        "--no-storage",
        "list",
    ];
    assert_refused(&list, "/dev/zero is a character device");
}

#[test]
fn a_fifo_as_domain_xml_does_not_block() {
    let dir = std::env::temp_dir().join(format!("vmmgr-bounded-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("vm.xml");
    let _ = std::fs::remove_file(&fifo);
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    let f = fifo.to_str().unwrap();
    let create = dry_run_create(f);
    assert_refused(&create, "is a FIFO, not a regular file");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_domain_xml_nested_100k_deep_is_refused_at_once() {
    let dir = std::env::temp_dir().join(format!("vmmgr-deep-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let xml = dir.join("deep.xml");
    std::fs::write(
        &xml,
        format!(
            "{}{}",
            "<domain>".repeat(100_000),
            "</domain>".repeat(100_000)
        ),
    )
    .unwrap();
    let create = dry_run_create(xml.to_str().unwrap());
    assert_refused(&create, "nested deeper than 256 levels");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A CIB whose op timeouts overflow every unit (the issue's "hostile op timeout"): vm-mgr
/// cannot tell how long to wait for such a VM, so every verb that waits refuses it before its
/// first write: exit 2, a message naming the member and op, the CIB file unchanged, no panic.
#[test]
fn hostile_op_timeouts_in_the_cib_are_refused_before_any_write() {
    let dir = std::env::temp_dir().join(format!("vmmgr-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cib = dir.join("cib.xml");
    let text = std::fs::read_to_string(CIB).unwrap();
    let hostile = text
        .replace(r#"timeout="30s""#, r#"timeout="999999999999999999h""#)
        .replace(r#"timeout="60s""#, r#"timeout="18446744073709551615s""#);
    assert_ne!(hostile, text);
    std::fs::write(&cib, &hostile).unwrap();
    let c = cib.to_str().unwrap();
    let base = ["--cib-file", c, "--no-storage"];
    let verbs: [&[&str]; 6] = [
        &[
            "--dry-run",
            "migrate",
            "-n",
            "t1",
            "--node",
            "sim3",
            "--offline",
        ],
        &["--dry-run", "stop", "-n", "t1"],
        &["--dry-run", "drain", "--node", "sim2"],
        &["stop", "-n", "t1"],
        &["start", "-n", "t1"],
        &["drain", "--node", "sim2"],
    ];
    for v in verbs {
        let a: Vec<&str> = base.iter().chain(v.iter()).copied().collect();
        let (out, took) = run(&a);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{v:?}: {err}");
        assert!(err.contains("cannot be read"), "{v:?}: {err}");
        assert!(err.contains("Nothing was changed"), "{v:?}: {err}");
        assert!(!err.contains("panicked"), "{v:?}: {err}");
        assert!(took < Duration::from_secs(10), "{v:?} took {took:?}");
    }
    let after = std::fs::read_to_string(&cib).unwrap();
    assert_eq!(after, hostile, "a refused verb changed the CIB");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_closed_stdout_ends_quietly_without_a_panic() {
    // A pipe whose reading end is closed before vm-mgr writes: every write gets EPIPE
    // (`vm-mgr list | head -0`). Rust ignores SIGPIPE, so this is the path print! panics on.
    let (read_end, write_end): (OwnedFd, OwnedFd) = nix::unistd::pipe().unwrap();
    drop(read_end);
    for format in ["text", "json"] {
        let out = Command::new(VM_MGR)
            .args([
                "--cib-file",
                CIB,
                "--no-storage",
                "--output",
                format,
                "list",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::from(write_end.try_clone().unwrap()))
            .stderr(Stdio::piped())
            .output()
            .expect("run vm-mgr");
        let err = stderr(&out);
        assert!(!err.contains("panicked"), "{format}: {err}");
        assert_eq!(out.status.code(), Some(0), "{format}: {err}");
        assert!(err.is_empty(), "{format}: nothing on stderr, got {err}");
    }
}
