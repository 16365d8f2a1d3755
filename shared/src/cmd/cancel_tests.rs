//! Tests of [`super::cancel`]: each uses a switch of its own, never [`super::cancel::GLOBAL`],
//! so the other tests of this binary, running meanwhile, are not cancelled.

use std::path::Path;
use std::time::{Duration, Instant};

use super::cancel::Cancel;
use super::tests::{gone_soon, marker, pids_with_arg};
use super::{Cmd, CmdError};
use crate::procfs::{group_members, pgid as pgid_of};

/// Waits up to 5 s for `n` processes carrying `arg`; returns them.
fn running(arg: &str, n: usize) -> Vec<i32> {
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        let pids = pids_with_arg(arg);
        if pids.len() >= n || Instant::now() > until {
            return pids;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_cancel_ends_the_whole_group_of_a_running_command() {
    static SWITCH: Cancel = Cancel::new();
    let m = marker();
    // The shell and both its sleeps ignore SIGTERM (so the SIGKILL after the grace is needed);
    // one sleep is the shell's own child in the background, one in the foreground.
    let cmd = Cmd::new("sh")
        .arg("-c")
        .arg(format!("trap '' TERM; sleep {m} & sleep {m}; wait"))
        .timeout(Duration::from_secs(60))
        .kill_grace(Duration::from_millis(300))
        .cancel_by(&SWITCH);
    let run = std::thread::spawn(move || cmd.run());
    let sleeps = running(&m, 2);
    assert_eq!(sleeps.len(), 2, "both sleeps started");
    let pgid = pgid_of(sleeps[0]).expect("the sleep's process group");
    assert_eq!(pgid_of(sleeps[1]), Some(pgid));
    assert!(
        group_members(pgid).len() >= 3,
        "the shell and its two sleeps"
    );

    let cancelled = Instant::now();
    SWITCH.cancel();
    let res = run.join().expect("the run does not panic");
    let took = cancelled.elapsed();
    match &res {
        Err(e @ CmdError::Interrupted { started: true, .. }) => {
            assert!(e.is_interrupted());
            assert!(!e.is_timeout());
            assert!(e.to_string().contains("was ended by an interrupt"), "{e}");
        }
        other => panic!("expected Interrupted, got {other:?}"),
    }
    assert!(took < Duration::from_secs(2), "ended in {took:?}");
    assert!(gone_soon(&m), "a sleep of the group survived");
    assert_eq!(group_members(pgid), Vec::<i32>::new(), "the group is empty");
}

#[test]
fn once_cancelled_only_cleanup_commands_run() {
    static SWITCH: Cancel = Cancel::new();
    let dir = std::env::temp_dir().join(format!("vmmgr-cancel-test-{}", marker()));
    std::fs::create_dir_all(&dir).unwrap();
    let flag = |n: &str| dir.join(n);
    let touch = |name: &str| {
        Cmd::new("sh")
            .arg("-c")
            // Several ticks of the I/O loop: a cleanup command is not ended midway either.
            .arg("sleep 0.3; touch \"$1\"")
            .arg("sh")
            .arg(flag(name))
            .cancel_by(&SWITCH)
    };
    assert!(!SWITCH.stops_work());
    touch("before").run().expect("runs before the cancel");
    SWITCH.cancel();
    assert!(SWITCH.stops_work() && SWITCH.was_cancelled());

    let refused = touch("refused").run();
    assert!(
        matches!(refused, Err(CmdError::Interrupted { started: false, .. })),
        "{refused:?}"
    );
    assert!(refused
        .unwrap_err()
        .to_string()
        .contains("was not started: interrupted"));
    {
        let _scope = SWITCH.cleanup();
        assert!(!SWITCH.stops_work());
        let out = touch("cleanup").run().expect("a cleanup command runs");
        assert!(
            out.elapsed >= Duration::from_millis(300),
            "{:?}",
            out.elapsed
        );
    }
    assert!(SWITCH.stops_work(), "the scope closed");
    assert!(touch("after").run().unwrap_err().is_interrupted());

    let made = |n: &str| Path::new(&flag(n)).exists();
    assert!(made("before") && made("cleanup"));
    assert!(!made("refused") && !made("after"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn kill_all_ends_every_running_group_at_once() {
    static SWITCH: Cancel = Cancel::new();
    let (a, b) = (marker(), marker());
    let start = |m: &str| {
        let cmd = Cmd::new("sleep")
            .arg(m)
            .timeout(Duration::from_secs(60))
            .cancel_by(&SWITCH);
        std::thread::spawn(move || cmd.run())
    };
    let runs = [start(&a), start(&b)];
    assert_eq!(running(&a, 1).len(), 1);
    assert_eq!(running(&b, 1).len(), 1);
    let t = Instant::now();
    SWITCH.kill_all();
    for r in runs {
        let res = r.join().expect("the run does not panic");
        let e = res.expect_err("killed");
        assert!(e.to_string().contains("SIGKILL"), "{e}");
    }
    assert!(t.elapsed() < Duration::from_secs(1), "{:?}", t.elapsed());
    assert!(gone_soon(&a) && gone_soon(&b));
}
