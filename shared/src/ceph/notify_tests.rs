//! Tests of the notify reply decoder.

use super::*;

fn le32(v: u32) -> Vec<u8> {
    v.to_le_bytes().to_vec()
}
fn le64(v: u64) -> Vec<u8> {
    v.to_le_bytes().to_vec()
}

/// A reply as librados encodes it: answers (gid, cookie, payload), then misses.
fn reply(answers: &[(u64, u64, &[u8])], missed: &[(u64, u64)]) -> Vec<u8> {
    let mut b = le32(u32::try_from(answers.len()).unwrap());
    for (g, c, p) in answers {
        b.extend(le64(*g));
        b.extend(le64(*c));
        b.extend(le32(u32::try_from(p.len()).unwrap()));
        b.extend_from_slice(p);
    }
    b.extend(le32(u32::try_from(missed.len()).unwrap()));
    for (g, c) in missed {
        b.extend(le64(*g));
        b.extend(le64(*c));
    }
    b
}

#[test]
fn answers_and_misses_are_decoded() {
    let r = parse_notify_reply(&reply(&[(4122, 94296965875600, b"")], &[(4130, 7)])).unwrap();
    assert_eq!(r.answered, [((4122, 94296965875600), 0)]);
    assert_eq!(r.missed, [(4130, 7)]);
    let r = parse_notify_reply(&reply(&[(1, 2, b"reply"), (3, 4, b"")], &[])).unwrap();
    assert_eq!(r.answered, [((1, 2), 5), ((3, 4), 0)]);
    assert!(r.missed.is_empty());
    assert_eq!(parse_notify_reply(&[]).unwrap(), NotifyReply::default());
}

#[test]
fn the_recorded_replies_decode() {
    // recorded from the sandbox's Ceph 16.2.15 (see tests/fixtures/ceph/README.md): one live
    // `rbd watch` answering, then the same watcher after a SIGKILL of its process
    let live = hex(fixture!("rados-notify2-live.hex"));
    let r = parse_notify_reply(&live).unwrap();
    assert_eq!(r.answered.len(), 1);
    assert!(r.missed.is_empty());
    let dead = hex(fixture!("rados-notify2-killed.hex"));
    let r = parse_notify_reply(&dead).unwrap();
    assert!(r.answered.is_empty());
    assert_eq!(r.missed.len(), 1);
}

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn broken_replies_are_errors_never_a_panic() {
    let full = reply(&[(1, 2, b"xyz")], &[(5, 6)]);
    for cut in 1..full.len() {
        assert!(parse_notify_reply(&full[..cut]).is_err(), "cut at {cut}");
    }
    let mut extra = full.clone();
    extra.push(0);
    assert!(parse_notify_reply(&extra).is_err());
    // a count that cannot fit is refused before any allocation
    let mut huge = le32(u32::MAX);
    huge.extend(le32(0));
    assert!(parse_notify_reply(&huge).is_err());
}
