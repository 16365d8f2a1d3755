//! Tests of [`super`]. `sh -c` is used here (only) to build children with specific behaviour.

use super::*;
use nix::unistd::Pid;
use std::sync::atomic::{AtomicU32, Ordering};

fn sh(script: &str) -> Cmd {
    Cmd::new("sh").arg("-c").arg(script)
}

/// A `sleep` argument unique to this test run, findable in `/proc/*/cmdline`.
pub(super) fn marker() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "30.{}{:03}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Pids of live processes with `arg` as one of their arguments.
pub(super) fn pids_with_arg(arg: &str) -> Vec<i32> {
    crate::procfs::with_arg(arg)
}

/// Waits up to 1 s for no process to carry `arg`.
pub(super) fn gone_soon(arg: &str) -> bool {
    let until = Instant::now() + Duration::from_secs(1);
    while !pids_with_arg(arg).is_empty() {
        if Instant::now() > until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

/// The pid the child printed as the first line of its stderr.
fn first_line_pid(stderr: &str) -> i32 {
    stderr
        .lines()
        .next()
        .and_then(|l| l.trim().parse().ok())
        .expect("child printed its pid")
}

#[test]
fn captures_large_stdout_and_stderr_without_deadlock() {
    let out = sh("yes out | head -c 3000000 & yes err | head -c 2500000 >&2; wait")
        .timeout(Duration::from_secs(20))
        .run()
        .unwrap();
    assert_eq!(out.stdout.len(), 3_000_000);
    assert_eq!(out.stderr.len(), 2_500_000);
    assert!(out.stdout.starts_with(b"out\nout\n") && out.stderr.starts_with(b"err\nerr\n"));
    assert_eq!(out.code(), Some(0));
}

#[test]
fn stdin_is_closed_by_default() {
    let start = Instant::now();
    let out = Cmd::new("cat")
        .timeout(Duration::from_secs(10))
        .run()
        .unwrap();
    assert!(out.stdout.is_empty());
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "cat waited on stdin"
    );
}

#[test]
fn stdin_bytes_are_fed_then_closed() {
    let data: Vec<u8> = (0..2_000_000u32).map(|i| (i % 251) as u8).collect();
    let out = Cmd::new("cat")
        .stdin_bytes(data.clone())
        .timeout(Duration::from_secs(20))
        .run();
    assert_eq!(out.unwrap().stdout, data);
    // A child that does not read its stdin is not an error.
    let out = Cmd::new("true")
        .stdin_bytes(vec![b'x'; 1 << 20])
        .run()
        .unwrap();
    assert_eq!(out.code(), Some(0));
}

#[test]
fn nonzero_exit_is_failed_with_code_and_stderr_tail() {
    let script = r#"i=0; while [ $i -lt 300 ]; do echo "line $i" >&2; i=$((i+1)); done
                    echo "  the real problem  " >&2; exit 3"#;
    let err = sh(script).run().unwrap_err();
    assert_eq!(err.exit_code(), Some(3));
    let CmdError::Failed {
        status,
        stderr,
        cmdline,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(status, "exit status 3");
    assert!(cmdline.starts_with("sh -c $'i=0;"), "{cmdline}");
    assert!(
        stderr.len() <= STDERR_TAIL_BYTES && stderr.len() > 900,
        "{}",
        stderr.len()
    );
    assert!(stderr.ends_with("line 299\n  the real problem"), "{stderr}");
    assert!(!stderr.contains("line 1\n"), "tail must keep the end");
    let msg = err.to_string();
    assert!(!msg.contains('\n'), "one log line: {msg}");
    assert!(
        msg.contains("failed with exit status 3: ") && msg.ends_with("line 299; the real problem")
    );
    // output() returns the same run without an error.
    let out = sh("echo out; echo err >&2; exit 4").output().unwrap();
    assert_eq!(
        (out.code(), out.stdout_str(), out.stderr_tail()),
        (Some(4), "out\n".into(), "err".into())
    );
}

#[test]
fn death_by_signal_is_failed() {
    let err = sh("kill -9 $$").run().unwrap_err();
    assert_eq!(err.exit_code(), None);
    let CmdError::Failed { status, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(status, "killed by signal 9 (SIGKILL)");
    assert!(err
        .to_string()
        .ends_with("killed by signal 9 (SIGKILL) (no error output)"));
}

#[test]
fn missing_program_is_not_installed() {
    let err = Cmd::new("vmmgr-no-such-program-xyz").run().unwrap_err();
    assert!(err.is_not_installed(), "{err:?}");
    assert_eq!(
        err.to_string(),
        "vmmgr-no-such-program-xyz is not installed (not found on PATH)."
    );
    let err = Cmd::new("/nonexistent/vmmgr-tool").run().unwrap_err();
    assert!(err.is_not_installed(), "{err:?}");
    // The PATH given to the command is the one searched; relative entries are ignored.
    let err = Cmd::new("sh")
        .env("PATH", "/nonexistent:.:bin")
        .run()
        .unwrap_err();
    assert!(err.is_not_installed(), "{err:?}");
    let out = Cmd::new("sh")
        .env("PATH", "/nonexistent:/bin:/usr/bin")
        .arg("-c")
        .arg("exit 0");
    assert!(out.run().is_ok());
}

#[test]
fn relative_program_path_is_refused() {
    for p in ["./sh", "bin/sh", ""] {
        let err = Cmd::new(p).run().unwrap_err();
        let CmdError::Spawn { source, .. } = &err else {
            panic!("{p}: {err:?}")
        };
        assert_eq!(source.kind(), io::ErrorKind::InvalidInput);
    }
}

#[test]
fn env_is_set_and_removed() {
    let out = sh("echo \"$VMMGR_A-${VMMGR_B-unset}\"")
        .env("VMMGR_A", "a b")
        .env("VMMGR_B", "x")
        .env_remove("VMMGR_B")
        .run_string()
        .unwrap();
    assert_eq!(out, "a b-unset\n");
}

#[test]
fn term_ignoring_child_and_grandchild_are_killed_at_deadline() {
    let mark = marker();
    let script = format!("echo $$ >&2; trap '' TERM; sleep {mark}; echo not reached");
    let start = Instant::now();
    let err = sh(&script)
        .timeout(Duration::from_millis(300))
        .kill_grace(Duration::from_millis(300))
        .run()
        .unwrap_err();
    let took = start.elapsed();
    assert!(err.is_timeout(), "{err:?}");
    assert!(
        took >= Duration::from_millis(550) && took < Duration::from_secs(3),
        "{took:?}"
    );
    let CmdError::TimedOut { after, stderr, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(*after >= Duration::from_millis(300) && *after < Duration::from_secs(2));
    let pid = first_line_pid(stderr);
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "child {pid} not reaped"
    );
    assert!(gone_soon(&mark), "grandchild sleep survived");
    assert!(
        err.to_string()
            .contains("timed out after 0.3s and was killed: "),
        "{err}"
    );
}

#[test]
fn term_obeying_child_times_out_without_waiting_for_grace() {
    let mark = marker();
    let start = Instant::now();
    let err = sh(&format!("echo $$ >&2; sleep {mark}; echo not reached"))
        .timeout(Duration::from_millis(300))
        .kill_grace(Duration::from_secs(5))
        .output()
        .unwrap_err();
    assert!(
        start.elapsed() < Duration::from_millis(2500),
        "{:?}",
        start.elapsed()
    );
    let CmdError::TimedOut { stderr, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(!Path::new(&format!("/proc/{}", first_line_pid(stderr))).exists());
    assert!(gone_soon(&mark));
}

#[test]
fn escaped_grandchild_holding_pipes_does_not_block() {
    let mark = marker();
    let start = Instant::now();
    let out = sh(&format!("setsid sleep {mark} & echo started"))
        .timeout(Duration::from_secs(20))
        .run();
    let took = start.elapsed();
    for pid in pids_with_arg(&mark) {
        let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
    assert_eq!(out.unwrap().stdout_str(), "started\n");
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[test]
fn past_deadline_does_not_spawn() {
    let flag = std::env::temp_dir().join(format!("vmmgr-cmd-test-{}", marker()));
    let cmd = Cmd::new("touch").arg(&flag).deadline(Instant::now());
    let err = cmd.run().unwrap_err();
    assert!(
        matches!(err, CmdError::DeadlinePassed { .. }) && err.is_timeout(),
        "{err:?}"
    );
    assert!(!flag.exists());
    // Checked before the program lookup.
    let err = Cmd::new("vmmgr-no-such-program-xyz")
        .deadline(Instant::now())
        .run()
        .unwrap_err();
    assert!(matches!(err, CmdError::DeadlinePassed { .. }), "{err:?}");
    // With both, the earlier limit wins.
    let err = sh("sleep 5")
        .timeout(Duration::from_millis(200))
        .deadline(Instant::now() + Duration::from_secs(60));
    assert!(err.run().unwrap_err().is_timeout());
}

#[test]
fn cmdline_is_shell_quoted() {
    let cmd = Cmd::new("rbd").args(["ls", "--pool", "my pool", "it's", "", "a=b,c:d/e@f"]);
    assert_eq!(
        cmd.cmdline(),
        r#"rbd ls --pool 'my pool' 'it'\''s' '' a=b,c:d/e@f"#
    );
    let multi = Cmd::new("sh").args(["-c", "a\n\tb 'c' \\ \u{1}"]).cmdline();
    assert_eq!(multi, r"sh -c $'a\n\tb \'c\' \\ \x01'");
    let long = Cmd::new("echo").arg("x".repeat(1000)).cmdline();
    assert_eq!(long, format!("echo '{}…'", "x".repeat(MAX_ARG_DISPLAY)));
}

#[test]
fn stderr_tail_cuts_at_char_boundary_and_trims() {
    assert_eq!(tail_text(b"  hello \n", 1024), "hello");
    let s = "é".repeat(600); // 1200 bytes; the last 1023 start in the middle of a char
    let t = tail_text(s.as_bytes(), 1023);
    assert_eq!(t, "é".repeat(511));
    assert_eq!(tail_text("aé".as_bytes(), 1), "");
    assert_eq!(stderr_suffix(" a\n\n b \n"), ": a; b");
    assert_eq!(stderr_suffix("\n"), " (no error output)");
}

#[test]
fn observed_runs_see_stdout_as_it_comes_and_on_the_clock() {
    let mut seen: Vec<(Duration, String)> = Vec::new();
    let start = Instant::now();
    let out = sh("printf 'a\\r'; sleep 0.3; printf 'b\\r'; sleep 0.3")
        .run_observed(Duration::from_millis(100), &mut |so| {
            seen.push((start.elapsed(), String::from_utf8_lossy(so).into_owned()))
        })
        .unwrap();
    assert_eq!(out.stdout_str(), "a\rb\r");
    let first_a = seen.iter().find(|(_, s)| s == "a\r").expect("a seen");
    let first_b = seen.iter().find(|(_, s)| s == "a\rb\r").expect("b seen");
    assert!(first_a.0 < Duration::from_millis(250), "{seen:?}");
    assert!(first_b.0 >= Duration::from_millis(250), "{seen:?}");
    // nothing new between the two writes, but the observer was still called on the clock
    let quiet = seen.iter().filter(|(_, s)| s == "a\r").count();
    assert!(quiet >= 2, "{seen:?}");
}

#[test]
fn observed_runs_fail_like_run() {
    let err = sh("echo out; echo bad >&2; exit 3")
        .run_observed(Duration::from_millis(50), &mut |_| {})
        .unwrap_err();
    assert_eq!(err.exit_code(), Some(3));
    assert!(err.to_string().contains("bad"), "{err}");
}

#[test]
fn a_command_started_before_its_input_gets_it_later() {
    let cmd = sh("read -r line; echo \"got $line\"");
    let started = cmd.start_awaiting_stdin().unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let out = started.finish("hello\n").unwrap();
    assert_eq!(out.stdout_str(), "got hello\n");
    // its elapsed time counts from the start, not from the input
    assert!(
        out.elapsed >= Duration::from_millis(100),
        "{:?}",
        out.elapsed
    );
    let failed = sh("cat >/dev/null; echo no >&2; exit 4")
        .start_awaiting_stdin()
        .unwrap()
        .finish("x")
        .unwrap_err();
    assert_eq!(failed.exit_code(), Some(4));
}

#[test]
fn a_command_awaiting_input_that_is_dropped_is_killed_unfed() {
    let m = marker();
    let cmd = Cmd::new("sleep").arg(&m);
    let started = cmd.start_awaiting_stdin().unwrap();
    // (between fork and exec the child still shows the test's command line)
    let until = Instant::now() + Duration::from_secs(2);
    while pids_with_arg(&m).is_empty() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(pids_with_arg(&m).len(), 1);
    drop(started);
    assert!(gone_soon(&m), "sleep {m} still runs");
}

#[test]
fn the_deadline_of_a_command_awaiting_input_runs_from_its_start() {
    let cmd = sh("cat").timeout(Duration::from_millis(300));
    let started = cmd.start_awaiting_stdin().unwrap();
    std::thread::sleep(Duration::from_millis(400));
    let err = started.finish("late").unwrap_err();
    assert!(err.is_timeout(), "{err}");
}
