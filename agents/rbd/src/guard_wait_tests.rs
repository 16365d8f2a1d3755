//! Unit tests of the start's wait decision, on recorded real outputs.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use shared::ceph::types::{parse_lock_ls, parse_status};
use shared::ceph::ClientAddr;

use super::*;

fn a(s: &str) -> ClientAddr {
    s.parse().unwrap()
}

/// The recorded watchers: `rbd watch` on sim2 (client 4482) and a writing `qemu-io` on sim3
/// (client 4484, also the `rbd_lock` holder, recorded beside it).
fn recorded() -> (Vec<Watcher>, Vec<ClientAddr>) {
    let w = parse_status(include_str!(
        "../../../tests/fixtures/ceph/rbd-status-watchers.out"
    ))
    .unwrap();
    let l = parse_lock_ls(include_str!(
        "../../../tests/fixtures/ceph/rbd-lock-ls-librbd.out"
    ))
    .unwrap();
    (w, l.into_iter().map(|l| l.address).collect())
}

#[test]
fn only_watchers_that_answer_no_notify_are_waited_for() {
    let (w, _) = recorded();
    let sim2 = a("10.78.0.2:0/694617243");
    let sim3 = a("10.78.0.3:0/1653474555");
    // both answered: live users, refused at once
    assert_eq!(
        judge(&[sim2, sim3], &w, Some(&[])),
        Verdict::Live(vec![sim2, sim3])
    );
    // sim2's client is gone (no answer), sim3's answered: still refused at once
    let missed = [(4482, 94779051824112)];
    assert_eq!(
        judge(&[sim2, sim3], &w, Some(&missed)),
        Verdict::Live(vec![sim2, sim3])
    );
    // only the gone one is foreign (sim3 is this node): wait
    assert_eq!(
        judge(&[sim2], &w, Some(&missed)),
        Verdict::Stale(vec![sim2])
    );
    // both gone: wait
    let both = [(4482, 94779051824112), (4484, 139652673664016)];
    assert_eq!(
        judge(&[sim2, sim3], &w, Some(&both)),
        Verdict::Stale(vec![sim2, sim3])
    );
    // a miss of another watch of the same client id does not count (cookie differs)
    assert_eq!(
        judge(&[sim2], &w, Some(&[(4482, 1)])),
        Verdict::Live(vec![sim2])
    );
    // liveness unknown (no librados): never wait
    assert_eq!(judge(&[sim2], &w, None), Verdict::Live(vec![sim2]));
    // nobody foreign
    assert_eq!(judge(&[], &w, None), Verdict::Free);
}

#[test]
fn a_lock_holder_that_watches_nothing_is_never_waited_for() {
    let (w, lockers) = recorded();
    let holder = lockers[0];
    // the holder's watch gone from the list (only sim2's left): its lock never goes by itself
    let only_sim2: Vec<Watcher> = w.iter().filter(|x| x.client == 4482).cloned().collect();
    assert_eq!(
        judge(&[holder], &only_sim2, Some(&[(4482, 94779051824112)])),
        Verdict::Live(vec![holder])
    );
    // while it still has a watch that does not answer, it is a gone client: wait
    assert_eq!(
        judge(&[holder], &w, Some(&[(4484, 139652673664016)])),
        Verdict::Stale(vec![holder])
    );
}

/// The recorded notify of a killed `rbd watch` (`rados-notify2-killed.hex`) against the
/// recorded `rbd status` right after the kill: its one watch is a miss, so it is waited for;
/// the same watcher answering (`rados-notify2-live.hex`) is refused at once.
#[test]
fn the_recorded_killed_watcher_is_waited_for_and_the_live_one_refused() {
    let w = parse_status(include_str!(
        "../../../tests/fixtures/ceph/rbd-status-killed-watcher.out"
    ))
    .unwrap();
    let hex = |s: &str| -> Vec<u8> {
        let s = s.trim();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    };
    let parse = |f: &str| shared::ceph::notify::parse_notify_reply(&hex(f)).unwrap();
    let killed = parse(include_str!(
        "../../../tests/fixtures/ceph/rados-notify2-killed.hex"
    ));
    let live = parse(include_str!(
        "../../../tests/fixtures/ceph/rados-notify2-live.hex"
    ));
    let foreign = [w[0].address];
    assert_eq!(
        judge(&foreign, &w, Some(&killed.missed)),
        Verdict::Stale(foreign.to_vec())
    );
    assert_eq!(
        judge(&foreign, &w, Some(&live.missed)),
        Verdict::Live(foreign.to_vec())
    );
}

/// A writer (`rbd bench --io-type write` on sim2, holding librbd's exclusive lock) killed
/// with SIGKILL: once its watch expired, `rbd status` shows no watcher but `rbd lock ls`
/// still shows its lock (recorded). It is dead for sure only if this start saw it stale.
#[test]
fn a_dead_writers_lock_is_broken_only_when_this_start_saw_it_stale() {
    let no_watchers = parse_status(include_str!(
        "../../../tests/fixtures/ceph/rbd-status-no-watchers.out"
    ))
    .unwrap();
    let locks = parse_lock_ls(include_str!(
        "../../../tests/fixtures/ceph/rbd-lock-ls-killed-writer.out"
    ))
    .unwrap();
    let writer = locks[0].address;
    let seen: BTreeSet<ClientAddr> = [writer].into();
    let dead = dead_lockers(&[writer], &no_watchers, &locks, &seen);
    assert_eq!(dead, [&locks[0]]);
    // never seen stale here (an advisory lock, or died before the start): not touched, and
    // the holder is refused at once
    assert!(dead_lockers(&[writer], &no_watchers, &locks, &BTreeSet::new()).is_empty());
    assert_eq!(
        judge(&[writer], &no_watchers, Some(&[])),
        Verdict::Live(vec![writer])
    );
    // still watching (its watch not expired yet): not yet
    let (w, _) = recorded();
    let mut watching = w.clone();
    watching[0].address = writer;
    assert!(dead_lockers(&[writer], &watching, &locks, &seen).is_empty());
    // this node's own lock (not foreign): never
    assert!(dead_lockers(&[], &no_watchers, &locks, &seen).is_empty());
}

#[test]
fn a_live_image_decides_for_the_whole_start() {
    let x = a("10.78.0.2:0/1");
    let y = a("10.78.0.3:0/2");
    assert_eq!(overall(&[Verdict::Free, Verdict::Free]), Verdict::Free);
    assert_eq!(
        overall(&[
            Verdict::Stale(vec![x]),
            Verdict::Free,
            Verdict::Stale(vec![y])
        ]),
        Verdict::Stale(vec![x, y])
    );
    assert_eq!(
        overall(&[Verdict::Stale(vec![x]), Verdict::Live(vec![y])]),
        Verdict::Live(vec![y])
    );
}

#[test]
fn the_wait_keeps_a_margin_before_the_deadline() {
    let now = Instant::now();
    // the guard's start timeout (vm-mgr: 60 s, deadline at 54 s): the wait ends at 48 s,
    // beyond Ceph's 30 s watch timeout
    let deadline = now + Duration::from_secs(54);
    assert_eq!(
        wait_until(deadline, Duration::from_secs(60)),
        now + Duration::from_secs(48)
    );
    // the default 20 s (deadline 18 s): at least 3 s are kept
    let deadline = now + Duration::from_secs(18);
    assert_eq!(
        wait_until(deadline, Duration::from_secs(20)),
        now + Duration::from_secs(15)
    );
    assert_eq!(
        wait_margin(Duration::from_secs(300)),
        Duration::from_secs(30)
    );
}
