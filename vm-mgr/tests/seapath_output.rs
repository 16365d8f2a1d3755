//! The text layouts SEAPATH's tools parse (issue 18), from the real binary with stdout a pipe,
//! as SEAPATH's Cockpit plugin runs it (`cockpit.spawn`): `list` prints the names alone,
//! `status` the state word alone, an unknown VM `Undefined` (exit 3); `--long` and `--names`
//! choose a layout whatever stdout is; `--output json` does not change. On a recorded CIB
//! (`--cib-file`, read by Pacemaker's `crm_mon`) with `--no-storage`: no cluster needed.

use std::process::{Command, Output, Stdio};

const VM_MGR: &str = env!("CARGO_BIN_EXE_vm-mgr");
const CIB: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/vm-mgr/cib-vm-t1-started.xml"
);

/// Runs `vm-mgr --no-storage --cib-file CIB ARGS` with stdout and stderr pipes.
fn run(args: &[&str]) -> Output {
    Command::new(VM_MGR)
        .args(["--no-storage", "--cib-file", CIB])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("run vm-mgr")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn list_prints_names_alone_on_a_pipe_and_the_table_with_long() {
    let o = run(&["list"]);
    assert!(o.status.success(), "{o:?}");
    // The plugin's rule: trim, split on newlines, every line is a VM name.
    assert_eq!(stdout(&o), "t1\n");
    let names = run(&["list", "--names"]);
    assert_eq!(stdout(&names), "t1\n");
    let long = run(&["list", "--long"]);
    assert_eq!(stdout(&long), "NAME  STATE    NODE\nt1    Started  sim2\n");
    let json = run(&["--output", "json", "list"]);
    assert_eq!(
        stdout(&json),
        "[\n  {\n    \"guest_node\": null,\n    \"name\": \"t1\",\n    \"node\": \"sim2\",\n    \"state\": \"Started\",\n    \"storage\": \"rbd\"\n  }\n]\n"
    );
    assert_eq!(
        stdout(&run(&["--output", "json", "list", "--long"])),
        stdout(&json)
    );
    let both = run(&["list", "--long", "--names"]);
    assert_eq!(both.status.code(), Some(2), "{both:?}");
}

#[test]
fn status_prints_the_state_word_first_and_undefined_for_an_unknown_vm() {
    let o = run(&["status", "-n", "t1"]);
    assert!(o.status.success(), "{o:?}");
    assert_eq!(stdout(&o), "Started\n");
    let long = stdout(&run(&["status", "--name", "t1", "--long"]));
    assert!(
        long.starts_with("Started\n  name: t1\n  node: sim2\n"),
        "{long}"
    );
    let unknown = run(&["status", "--name", "nosuch"]);
    assert_eq!(unknown.status.code(), Some(3), "{unknown:?}");
    assert_eq!(stdout(&unknown), "Undefined\n");
    let err = String::from_utf8_lossy(&unknown.stderr);
    assert!(err.contains("There is no VM called nosuch"), "{err}");
    // JSON keeps its error object, without the SEAPATH word.
    let json = run(&["--output", "json", "status", "-n", "nosuch"]);
    assert_eq!(json.status.code(), Some(3));
    let text = stdout(&json);
    assert!(
        text.contains("\"exit_code\": 3") && !text.contains("Undefined"),
        "{text}"
    );
}

#[test]
fn create_accepts_the_plugins_flags() {
    // `-p` and `--disk-bus usb` parse (nothing runs: the image does not exist, exit 2).
    let o = run(&[
        "create",
        "-p",
        "--name",
        "u1",
        "--image",
        "/nonexistent/u1.qcow2",
        "--xml",
        "/nonexistent/u1.xml",
        "--disk-bus",
        "usb",
    ]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("invalid value"), "{err}");
    assert!(err.contains("/nonexistent/u1"), "{err}");
}
