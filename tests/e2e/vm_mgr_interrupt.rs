//! SIGTERM to `vm-mgr create` (issue 13) while it imports a disk image into Ceph, while it
//! validates the domain XML, and while it waits for the new VM to start: vm-mgr must end the
//! program or the wait under way (a program with its children), undo what it made, remove its
//! temporary files, exit 130, and leave no RBD image or group and nothing in the CIB, as after
//! a failure.
//!
//! Run: `VMMGR_SANDBOX_NAME=vmm cargo test -p vmmgr-tests --test vm_mgr_interrupt -- --ignored
//! --test-threads=1` (after `cargo build`, so that the nodes see the current `vm-mgr`).

use std::io::{BufRead as _, Write as _};
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use shared::cmd::{Cmd, Output};
use vmmgr_tests::{describe, unique_name, vm_mgr, wait_for, Sandbox};

#[path = "vm_mgr_support.rs"]
mod support;
use support::*;

/// Size of the image: real data (not sparse: `qemu-img` skips holes), so that its import takes
/// a few seconds on the sandbox's memstore OSD (320 MiB took from under 1 s to 2 s).
const IMAGE_MIB: usize = 768;

/// Removes VM `name` and its input files when a case fails midway (the create it interrupts
/// may then have gone on), so that the cluster is left as it was found.
struct Leftovers<'a> {
    sb: &'a Sandbox,
    name: String,
}

impl Drop for Leftovers<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let _ = self
                .sb
                .exec("sim1", &["vm-mgr", "remove", "--purge", "-n", &self.name]);
        }
        let _ = std::fs::remove_file(format!("/var/tmp/vmmgr-e2e-{}.raw", self.name));
        cleanup_inputs(&self.name);
    }
}

/// A raw image of `IMAGE_MIB` MiB of non-zero bytes at `path`.
fn data_image(path: &str) {
    let mut f = std::fs::File::create(path).expect("create the image");
    let chunk = vec![0xa5u8; 1 << 20];
    for _ in 0..IMAGE_MIB {
        f.write_all(&chunk).expect("write the image");
    }
}

/// Sends SIGTERM to the one vm-mgr whose command line names `name`, then waits for it with
/// `wait`; returns what that returned and how long vm-mgr took to end after the signal.
fn sigterm<T>(name: &str, wait: impl FnOnce() -> T) -> (T, Duration) {
    let pid = pids("vm-mgr", name);
    assert_eq!(pid.len(), 1, "one vm-mgr works on {name}");
    let signalled = Instant::now();
    Cmd::new("kill")
        .args(["-TERM", &pid[0]])
        .timeout(Duration::from_secs(10))
        .run()
        .expect("SIGTERM to vm-mgr");
    let done = wait();
    (done, signalled.elapsed())
}

/// What every case checks afterwards: exit 130 saying "interrupted", soon, and nothing of VM
/// `name` in the CIB or in RBD.
fn assert_interrupted_and_nothing_left(sb: &Sandbox, name: &str, out: &Output, took: Duration) {
    println!("vm-mgr {name}, SIGTERM: {took:.1?}\n{}", describe(out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.code(), Some(130), "{}", describe(out));
    assert!(stderr.contains("interrupted"), "{}", describe(out));
    assert!(!stderr.contains("panicked"), "{}", describe(out));
    // 15 s: an import killed without fencing its watch took 30 s to undo.
    assert!(
        took < Duration::from_secs(15),
        "vm-mgr took {took:?} to stop"
    );
    assert!(
        !cib_config(sb).contains(name),
        "the interrupted create left {name} in the CIB"
    );
    let (images, groups) = rbd_names(sb);
    assert!(
        !images.contains(name) && !groups.contains(name),
        "the interrupted create left images {images} / groups {groups}"
    );
}

#[test]
#[ignore = "needs root and the sandbox cluster; run by tests/run-all"]
fn sigterm_during_the_import_of_create_undoes_it_and_exits_130() {
    let sb = sandbox();
    let name = unique_name("ir");
    let _leftovers = Leftovers {
        sb: &sb,
        name: name.clone(),
    };
    let (xml, qcow2) = inputs(&sb, &name);
    let _ = std::fs::remove_file(&qcow2);
    let image = format!("/var/tmp/vmmgr-e2e-{name}.raw");
    data_image(&image);
    let system = format!("system_{name}");

    let create = {
        let (sb, name, xml, image) = (sb.clone(), name.clone(), xml.clone(), image.clone());
        std::thread::spawn(move || {
            vm_mgr(
                &sb,
                "sim1",
                &["create", "-n", &name, "--xml", &xml, "-i", &image],
            )
        })
    };
    // The import has begun: qemu-img writes into the VM's system image.
    wait_for(Duration::from_secs(30), "qemu-img to import", || {
        (!pids("qemu-img", &system).is_empty()).then_some(())
    });
    std::thread::sleep(Duration::from_millis(200));
    let (out, took) = sigterm(&name, || create.join().expect("the create thread"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("qemu-img convert") && stderr.contains("was ended by an interrupt"),
        "the signal must end the import (make the image larger if it had finished): {}",
        describe(&out)
    );
    assert_interrupted_and_nothing_left(&sb, &name, &out, took);
    assert!(stderr.contains("was undone"), "{}", describe(&out));
    assert_eq!(
        pids("qemu-img", &system),
        Vec::<String>::new(),
        "qemu-img left running"
    );
    assert_eq!(
        pids("setpriv", &system),
        Vec::<String>::new(),
        "setpriv left running"
    );
}

/// The case the issue found: SIGTERM while `virt-xml-validate` checks the domain XML left
/// the validator running and the XML (with the cephx secret's UUID) in the temporary
/// directory. The validator is a FAKE here (a `/bin/sh` script that sleeps, with a `sleep` of
/// its own in the background), put first in `PATH`: the real one answers in milliseconds.
#[test]
#[ignore = "needs root and the sandbox cluster; run by tests/run-all"]
fn sigterm_while_the_domain_xml_is_validated_leaves_no_validator_and_no_xml_copy() {
    let sb = sandbox();
    let name = unique_name("iv");
    let _leftovers = Leftovers {
        sb: &sb,
        name: name.clone(),
    };
    let (xml, image) = inputs(&sb, &name);
    let dir = format!("/var/tmp/vmmgr-e2e-{name}-dir");
    let (bin, tmp) = (format!("{dir}/bin"), format!("{dir}/tmp"));
    for d in [&bin, &tmp] {
        std::fs::create_dir_all(d).expect("make the case's directories");
    }
    let marker = format!("30.{}", std::process::id());
    let fake = format!("{bin}/virt-xml-validate");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\n# FAKE virt-xml-validate of tests/e2e/vm_mgr_interrupt.rs: slow on \
             purpose.\nsleep {marker} &\nsleep {marker}\n"
        ),
    )
    .expect("write the fake validator");
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "PATH={bin}:{}",
        sb.exec_ok("sim1", &["printenv", "PATH"]).trim()
    );
    let tmpdir = format!("TMPDIR={tmp}");

    let create = {
        let sb = sb.clone();
        let argv: Vec<String> = ["env", &path, &tmpdir, "vm-mgr", "create", "-n", &name]
            .into_iter()
            .chain(["--xml", &xml, "-i", &image])
            .map(str::to_owned)
            .collect();
        std::thread::spawn(move || {
            let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
            sb.exec("sim1", &argv).expect("run vm-mgr")
        })
    };
    wait_for(Duration::from_secs(30), "the fake validator to run", || {
        (pids("sleep", &marker).len() == 2).then_some(())
    });
    let copies: Vec<_> = std::fs::read_dir(&tmp).unwrap().flatten().collect();
    assert_eq!(
        copies.len(),
        1,
        "the XML's private directory exists while validated"
    );
    let (out, took) = sigterm(&name, || create.join().expect("the create thread"));
    assert_interrupted_and_nothing_left(&sb, &name, &out, took);
    assert_eq!(
        pids("sleep", &marker),
        Vec::<String>::new(),
        "the validator's sleeps live on"
    );
    let left: Vec<_> = std::fs::read_dir(&tmp)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "left in TMPDIR: {left:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// SIGTERM while `create` waits for the new VM to start: the wait ends at once and, as when the
/// start fails, the VM is removed again: nothing in the CIB or in RBD.
#[test]
#[ignore = "needs root and the sandbox cluster; run by tests/run-all"]
fn sigterm_while_create_waits_for_the_start_removes_the_vm_again() {
    let sb = sandbox();
    let name = unique_name("iw");
    let _leftovers = Leftovers {
        sb: &sb,
        name: name.clone(),
    };
    let (xml, image) = inputs(&sb, &name);
    let mut child =
        std::process::Command::new(vmmgr_tests::repo_root().join("tests/sandbox/sandbox"))
            .args(["exec", "sim1", "--", "vm-mgr", "create", "-n", &name])
            .args(["--xml", &xml, "-i", &image])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run vm-mgr create");
    // The wait prints the VM's state as `NAME: Stopped (0.1s)`; the import says "Importing".
    let mut lines = std::io::BufReader::new(child.stderr.take().expect("stderr")).lines();
    let mut seen = Vec::new();
    let waiting = format!("{name}: ");
    for line in lines.by_ref() {
        let line = line.expect("read vm-mgr's stderr");
        let found = line.starts_with(&waiting);
        seen.push(line);
        if found {
            break;
        }
    }
    assert!(
        seen.last().is_some_and(|l| l.starts_with(&waiting)),
        "create never waited for the start: {seen:?}"
    );
    let (status, took) = sigterm(&name, || child.wait().expect("wait for vm-mgr"));
    seen.extend(lines.map_while(Result::ok));
    let stderr = seen.join("\n");
    println!("vm-mgr create {name}, SIGTERM while it waits: {took:.1?}\n{stderr}");
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(stderr.contains("the VM was removed again"), "{stderr}");
    // The undo stops the VM it had started and removes it: seconds, not the start's budget.
    assert!(
        took < Duration::from_secs(30),
        "vm-mgr took {took:?} to stop"
    );
    assert!(
        !cib_config(&sb).contains(&name),
        "the interrupted create left {name} in the CIB"
    );
    let (images, groups) = rbd_names(&sb);
    assert!(
        !images.contains(&name) && !groups.contains(&name),
        "the interrupted create left images {images} / groups {groups}"
    );
}
