use super::*;

use std::fs;
use std::io::{Read, Write};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::libvirt::{DomainState, DomainStatus};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/libvirt/rpc");

/// The recorded messages of one exchange, in order: (file name, bytes).
pub(super) fn recorded(dir: &str) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = fs::read_dir(Path::new(FIXTURES).join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                fs::read(&p).unwrap(),
            )
        })
        .collect()
}

pub(super) fn message(dir: &str, suffix: &str) -> Vec<u8> {
    recorded(dir)
        .into_iter()
        .find(|(n, _)| n.ends_with(suffix))
        .unwrap_or_else(|| panic!("{dir}/*{suffix}"))
        .1
}

pub(super) fn ok_payload(msg: &[u8]) -> Vec<u8> {
    Reply::decode(msg).unwrap().result().unwrap().to_vec()
}

pub(super) fn soon(ms: u64) -> Instant {
    Instant::now() + Duration::from_millis(ms)
}

pub(super) fn temp_socket(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vd-rpc-{}-{tag}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir.join("sock")
}

#[test]
fn recorded_replies_decode() {
    let auth = ok_payload(&message("running", "reply-auth_list.bin"));
    assert_eq!(
        decode_auth_list(&mut XdrReader::new(&auth)).unwrap(),
        [AUTH_NONE]
    );
    assert!(ok_payload(&message("running", "reply-connect_open.bin")).is_empty());

    let lookup = ok_payload(&message("running", "reply-domain_lookup_by_name.bin"));
    let mut r = XdrReader::new(&lookup);
    let dom = r.domain().unwrap();
    assert_eq!((dom.name.as_str(), dom.id), ("fx1", 1));
    assert_eq!(r.remaining(), 0);
    let shutoff = ok_payload(&message("shutoff", "reply-domain_lookup_by_name.bin"));
    assert_eq!(XdrReader::new(&shutoff).domain().unwrap().id, -1);

    for (dir, state) in [
        ("running", DomainState::Running),
        ("paused", DomainState::Paused),
        ("shutoff", DomainState::Shutoff),
    ] {
        let p = ok_payload(&message(dir, "reply-domain_get_info.bin"));
        let mut r = XdrReader::new(&p);
        let info = decode_domain_info(&mut r).unwrap();
        assert_eq!(r.remaining(), 0, "{dir}");
        assert_eq!(
            info.status(),
            DomainStatus {
                state,
                vcpus: 1,
                max_mem_kib: 65536
            },
            "{dir}"
        );
    }
    let running = ok_payload(&message("running", "reply-domain_get_info.bin"));
    assert!(
        decode_domain_info(&mut XdrReader::new(&running))
            .unwrap()
            .cpu_time
            > 0
    );

    let err = Reply::decode(&message("nosuch", "reply-domain_lookup_by_name.bin")).unwrap();
    assert_eq!(err.header.status, STATUS_ERROR);
    let e = err.result().unwrap_err().unwrap();
    assert_eq!(e.code, VIR_ERR_NO_DOMAIN);
    assert_eq!(
        e.to_string(),
        "Domain not found: no domain with matching name 'nosuchdom'"
    );
}

#[test]
fn calls_encode_like_the_recorded_ones() {
    let msgs = recorded("running");
    let call = |suffix: &str| {
        msgs.iter()
            .find(|(n, _)| n.ends_with(suffix))
            .unwrap()
            .1
            .clone()
    };
    assert_eq!(
        encode_call(PROC_AUTH_LIST, 1, &[]),
        call("call-auth_list.bin")
    );
    let mut w = XdrWriter::new();
    w.opt_string(Some("qemu:///system")).u32(0);
    assert_eq!(
        encode_call(PROC_CONNECT_OPEN, 2, &w.into_bytes()),
        call("call-connect_open.bin")
    );
    let mut w = XdrWriter::new();
    w.string("fx1");
    assert_eq!(
        encode_call(PROC_DOMAIN_LOOKUP_BY_NAME, 3, &w.into_bytes()),
        call("call-domain_lookup_by_name.bin")
    );
    let lookup = ok_payload(&call("reply-domain_lookup_by_name.bin"));
    let dom = XdrReader::new(&lookup).domain().unwrap();
    let mut w = XdrWriter::new();
    w.domain(&dom);
    assert_eq!(
        encode_call(PROC_DOMAIN_GET_INFO, 4, &w.into_bytes()),
        call("call-domain_get_info.bin")
    );
    assert_eq!(
        encode_call(PROC_CONNECT_CLOSE, 5, &[]),
        call("call-connect_close.bin")
    );
}

/// A fake daemon that expects the recorded calls byte for byte and answers the recorded
/// replies; reports whether every call matched.
pub(super) fn replay(dir: &str, tag: &str) -> (PathBuf, mpsc::Receiver<Result<(), String>>) {
    let sock = temp_socket(tag);
    let listener = UnixListener::bind(&sock).unwrap();
    let msgs = recorded(dir);
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        for (name, bytes) in msgs {
            if name.contains("-call-") {
                let mut got = vec![0u8; bytes.len()];
                if let Err(e) = s.read_exact(&mut got) {
                    let _ = tx.send(Err(format!("{name}: {e}")));
                    return;
                }
                if got != bytes {
                    let _ = tx.send(Err(format!("{name}: got {got:02x?}")));
                    return;
                }
            } else {
                s.write_all(&bytes).unwrap();
            }
        }
        let _ = tx.send(Ok(()));
    });
    (sock, rx)
}

#[test]
fn replayed_conversations() {
    for (dir, name, expected) in [
        ("running", "fx1", Some(DomainState::Running)),
        ("paused", "fx1", Some(DomainState::Paused)),
        ("shutoff", "fx2", Some(DomainState::Shutoff)),
        ("nosuch", "nosuchdom", None),
    ] {
        let (sock, done) = replay(dir, dir);
        let deadline = soon(5000);
        let mut c = Client::connect(&sock, "qemu:///system", deadline).unwrap();
        let st = c.domain_status(name, deadline).unwrap();
        assert_eq!(st.map(|s| s.state), expected, "{dir}");
        c.close(deadline);
        assert_eq!(done.recv().unwrap(), Ok(()), "{dir}");
        let _ = fs::remove_dir_all(sock.parent().unwrap());
    }
}

#[test]
fn a_missing_socket_is_unreachable() {
    let sock = temp_socket("missing");
    let e = Client::connect(&sock, "qemu:///system", soon(1000)).unwrap_err();
    assert!(matches!(e, RpcError::Connect { .. }), "{e:?}");
    assert!(e.is_unreachable());
    // A stale socket file (daemon killed): refused.
    drop(UnixListener::bind(&sock).unwrap());
    let e = Client::connect(&sock, "qemu:///system", soon(1000)).unwrap_err();
    assert!(matches!(e, RpcError::Connect { .. }), "{e:?}");
    let _ = fs::remove_dir_all(sock.parent().unwrap());
}

#[test]
fn a_frozen_daemon_times_out_at_the_deadline() {
    // Like a SIGSTOPped libvirtd: the kernel accepts the connection into the backlog, nothing
    // ever answers.
    let sock = temp_socket("frozen");
    let _listener = UnixListener::bind(&sock).unwrap();
    let started = Instant::now();
    let e = Client::connect(&sock, "qemu:///system", soon(300)).unwrap_err();
    let took = started.elapsed();
    assert!(e.is_timeout() && e.is_unreachable(), "{e:?}");
    assert!(
        took >= Duration::from_millis(290) && took < Duration::from_millis(1000),
        "{took:?}"
    );
    assert!(e.to_string().contains("did not answer"), "{e}");
    let _ = fs::remove_dir_all(sock.parent().unwrap());
}

#[test]
fn a_daemon_dying_mid_call_is_unreachable() {
    let sock = temp_socket("dying");
    let listener = UnixListener::bind(&sock).unwrap();
    thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = [0u8; 28];
        let _ = s.read_exact(&mut buf);
        // half a reply, then the daemon is gone
        let _ = s.write_all(&message("running", "reply-auth_list.bin")[..10]);
    });
    let e = Client::connect(&sock, "qemu:///system", soon(2000)).unwrap_err();
    assert!(matches!(e, RpcError::Io { .. }), "{e:?}");
    assert!(e.is_unreachable());
    let _ = fs::remove_dir_all(sock.parent().unwrap());
}

/// A fake daemon answering each call with `answer(call header, serial)`.
pub(super) fn serve(tag: &str, answer: fn(&Header) -> Vec<Vec<u8>>) -> PathBuf {
    let sock = temp_socket(tag);
    let listener = UnixListener::bind(&sock).unwrap();
    thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        loop {
            let mut word = [0u8; 4];
            if s.read_exact(&mut word).is_err() {
                return;
            }
            let len = decode_length(word).unwrap();
            let mut rest = vec![0u8; len - 4];
            s.read_exact(&mut rest).unwrap();
            let h = decode_header(&mut XdrReader::new(&rest)).unwrap();
            for m in answer(&h) {
                s.write_all(&m).unwrap();
            }
        }
    });
    sock
}

pub(super) fn reply(h: &Header, prog: u32, status: i32, payload: &[u8]) -> Vec<u8> {
    let mut m = encode_call(h.proc_, h.serial, payload);
    m[4..8].copy_from_slice(&prog.to_be_bytes());
    m[16..20].copy_from_slice(&TYPE_REPLY.to_be_bytes());
    m[24..28].copy_from_slice(&status.to_be_bytes());
    m
}

#[test]
fn authentication_other_than_none_is_refused() {
    let sock = serve("sasl", |h| {
        let mut w = XdrWriter::new();
        w.u32(1).i32(1); // [REMOTE_AUTH_SASL]
        vec![reply(h, REMOTE_PROGRAM, STATUS_OK, &w.into_bytes())]
    });
    let e = Client::connect(&sock, "qemu:///system", soon(2000)).unwrap_err();
    assert!(
        matches!(e, RpcError::AuthRequired { ref types } if types == &[1]),
        "{e:?}"
    );
    assert!(!e.is_unreachable());
    let _ = fs::remove_dir_all(sock.parent().unwrap());
}

#[test]
fn unrelated_messages_are_skipped() {
    let sock = serve("skip", |h| {
        let mut keepalive = reply(h, 0x6b65_6570, STATUS_OK, &[]);
        keepalive[16..20].copy_from_slice(&2i32.to_be_bytes()); // VIR_NET_MESSAGE
        let mut stale = reply(h, REMOTE_PROGRAM, STATUS_OK, &[]);
        stale[20..24].copy_from_slice(&(h.serial + 100).to_be_bytes());
        let payload = if h.proc_ == PROC_AUTH_LIST {
            let mut w = XdrWriter::new();
            w.u32(1).i32(AUTH_NONE);
            w.into_bytes()
        } else {
            Vec::new()
        };
        vec![
            keepalive,
            stale,
            reply(h, REMOTE_PROGRAM, STATUS_OK, &payload),
        ]
    });
    let c = Client::connect(&sock, "qemu:///system", soon(2000)).unwrap();
    c.close(soon(2000));
    let _ = fs::remove_dir_all(sock.parent().unwrap());
}

#[test]
fn libvirt_errors_are_answers_not_unreachable() {
    let sock = serve("error", |h| {
        if h.proc_ != PROC_CONNECT_OPEN {
            let mut w = XdrWriter::new();
            w.u32(1).i32(AUTH_NONE);
            return vec![reply(h, REMOTE_PROGRAM, STATUS_OK, &w.into_bytes())];
        }
        let mut w = XdrWriter::new();
        w.i32(38)
            .i32(10)
            .opt_string(Some("internal error: boom"))
            .i32(2);
        w.u32(0).u32(0).u32(0).u32(0).i32(-1).i32(-1).u32(0);
        vec![reply(h, REMOTE_PROGRAM, STATUS_ERROR, &w.into_bytes())]
    });
    let e = Client::connect(&sock, "qemu:///system", soon(2000)).unwrap_err();
    assert!(!e.is_unreachable(), "{e:?}");
    assert_eq!(e.remote().map(|r| r.code), Some(38));
    assert_eq!(
        shared_chain(&e),
        "libvirt failed opening qemu:///system: internal error: boom"
    );
    let _ = fs::remove_dir_all(sock.parent().unwrap());
}

fn shared_chain(e: &RpcError) -> String {
    crate::ocf::error_chain(e)
}

#[test]
fn malformed_input_is_rejected() {
    assert!(decode_length([0, 0, 0, 4]).is_err());
    assert!(decode_length([0x7f, 0, 0, 0]).is_err());
    assert_eq!(decode_length([0, 0, 0, 28]), Ok(28));
    let mut r = XdrReader::new(&[0, 0, 0, 9, b'a']);
    assert!(r.string().unwrap_err().0.contains("truncated"));
    let mut r = XdrReader::new(&[0, 0, 0, 2, 0, 0, 0, 0]);
    assert!(r.optional(XdrReader::u32).is_err());
    let mut m = message("running", "reply-connect_open.bin");
    m.push(0);
    assert!(Reply::decode(&m).is_err(), "length word disagrees");
    let mut w = XdrWriter::new();
    w.string("abcde").opt_string(None).opaque_fixed(&[1, 2]);
    assert_eq!(
        w.into_bytes(),
        [0, 0, 0, 5, b'a', b'b', b'c', b'd', b'e', 0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0]
    );
}

#[test]
fn raw_states_map_like_virt() {
    for (raw, s) in [
        (0, DomainState::NoState),
        (1, DomainState::Running),
        (2, DomainState::Blocked),
        (3, DomainState::Paused),
        (4, DomainState::ShuttingDown),
        (5, DomainState::Shutoff),
        (6, DomainState::Crashed),
        (7, DomainState::PmSuspended),
        (8, DomainState::Unknown(8)),
    ] {
        assert_eq!(DomainState::from_raw(raw), s);
        #[cfg(feature = "libvirt-api")]
        if raw < 8 {
            assert_eq!(
                DomainState::from_virt(virt::enumutil::Enum::from_raw(raw)),
                s,
                "{raw}"
            );
        }
    }
}
