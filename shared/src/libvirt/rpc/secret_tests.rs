//! Secrets: the recorded exchange with libvirtd 9.0.0 (`tests/fixtures/libvirt/rpc/secrets`,
//! three secrets) and hand-made bytes.

use std::fs;

use super::tests::{message, ok_payload, recorded, replay, reply, serve, soon};
use super::*;

const CEPH_ADMIN: &str = "a1f0c3e2-5b1d-4c3a-9e8f-5a4db0c0ffee";
const ISCSI: &str = "0fc0ffee-0000-4000-8000-00000000000a";
const CEPH_LIBVIRT: &str = "0fc0ffee-0000-4000-8000-00000000000b";

/// The recorded messages of `secrets/` whose file name ends with `suffix`, in order.
fn all(suffix: &str) -> Vec<Vec<u8>> {
    recorded("secrets")
        .into_iter()
        .filter(|(n, _)| n.ends_with(suffix))
        .map(|(_, b)| b)
        .collect()
}

fn listed() -> Vec<RemoteSecret> {
    let p = ok_payload(&message("secrets", "reply-connect_list_all_secrets.bin"));
    let mut r = XdrReader::new(&p);
    let secrets = decode_secret_list(&mut r).unwrap();
    assert_eq!(r.remaining(), 0);
    secrets
}

#[test]
fn recorded_secret_list_decodes() {
    let got: Vec<_> = listed()
        .iter()
        .map(|s| (s.uuid_string(), s.usage_type, s.usage_id.clone()))
        .collect();
    assert_eq!(
        got,
        [
            (ISCSI.to_owned(), 3, "client.admin secret".to_owned()),
            (
                CEPH_LIBVIRT.to_owned(),
                SECRET_USAGE_TYPE_CEPH,
                "client.libvirt secret".to_owned()
            ),
            (
                CEPH_ADMIN.to_owned(),
                SECRET_USAGE_TYPE_CEPH,
                "client.admin secret".to_owned()
            ),
        ]
    );
}

#[test]
fn recorded_secret_xml_decodes() {
    let xmls: Vec<String> = all("reply-secret_get_xml_desc.bin")
        .iter()
        .map(|m| {
            let p = ok_payload(m);
            let mut r = XdrReader::new(&p);
            let xml = r.string().unwrap();
            assert_eq!(r.remaining(), 0);
            xml
        })
        .collect();
    assert_eq!(xmls.len(), 3);
    assert!(
        xmls[0].contains(&format!("<uuid>{ISCSI}</uuid>")),
        "{}",
        xmls[0]
    );
    assert!(xmls[0].contains("<usage type='iscsi'>"), "{}", xmls[0]);
    assert!(xmls[2].starts_with("<secret ephemeral='no' private='no'>"));
    assert!(xmls[2].contains(&format!("<uuid>{CEPH_ADMIN}</uuid>")));
    assert!(xmls[2].contains("<name>client.admin secret</name>"));
    // flags 0: never the value
    assert!(!xmls.iter().any(|x| x.contains("<value")));
}

#[test]
fn secret_calls_encode_like_the_recorded_ones() {
    let mut w = XdrWriter::new();
    w.i32(1).u32(0);
    assert_eq!(
        encode_call(PROC_CONNECT_LIST_ALL_SECRETS, 3, &w.into_bytes()),
        message("secrets", "call-connect_list_all_secrets.bin")
    );
    let calls = all("call-secret_get_xml_desc.bin");
    for (i, (s, recorded)) in listed().iter().zip(&calls).enumerate() {
        let mut w = XdrWriter::new();
        w.secret(s).u32(0);
        assert_eq!(
            &encode_call(PROC_SECRET_GET_XML_DESC, 4 + i as u32, &w.into_bytes()),
            recorded,
            "{}",
            s.uuid_string()
        );
    }
    assert_eq!(calls.len(), 3);
}

#[test]
fn replayed_secret_listing() {
    let (sock, done) = replay("secrets", "secrets");
    let deadline = soon(5000);
    let mut c = Client::connect(&sock, SYSTEM_URI, deadline).unwrap();
    let secrets = c.list_all_secrets(deadline).unwrap();
    assert_eq!(secrets.len(), 3);
    for s in &secrets {
        let xml = c.secret_xml_desc(s, deadline).unwrap().unwrap();
        assert!(xml.contains(&s.uuid_string()), "{xml}");
    }
    c.close(deadline);
    assert_eq!(done.recv().unwrap(), Ok(()));
    let _ = fs::remove_dir_all(sock.parent().unwrap());
}

#[test]
fn hand_made_secret_bytes() {
    // remote_nonnull_secret: opaque[16] uuid, int usageType, string usageID (padded to 4)
    let s = RemoteSecret {
        uuid: [
            0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd,
            0xee, 0xff,
        ],
        usage_type: SECRET_USAGE_TYPE_CEPH,
        usage_id: "abcde".into(),
    };
    assert_eq!(s.uuid_string(), "00112233-4455-6677-8899-aabbccddeeff");
    let mut w = XdrWriter::new();
    w.secret(&s);
    let bytes = w.into_bytes();
    let mut want = s.uuid.to_vec();
    want.extend_from_slice(&[
        0, 0, 0, 2, 0, 0, 0, 5, b'a', b'b', b'c', b'd', b'e', 0, 0, 0,
    ]);
    assert_eq!(bytes, want);
    assert_eq!(XdrReader::new(&bytes).secret().unwrap(), s);

    // An empty list: count 0, ret 0.
    let none = [0u8; 8];
    assert_eq!(decode_secret_list(&mut XdrReader::new(&none)), Ok(vec![]));
    // More than REMOTE_SECRET_LIST_MAX, or a list cut short: refused.
    let mut r = XdrReader::new(&[0, 0, 0x40, 0x01]);
    assert!(decode_secret_list(&mut r)
        .unwrap_err()
        .0
        .contains("more than the protocol's maximum"));
    let mut truncated = vec![0, 0, 0, 1];
    truncated.extend_from_slice(&bytes[..20]);
    assert!(decode_secret_list(&mut XdrReader::new(&truncated))
        .unwrap_err()
        .0
        .contains("truncated"));
}

/// A daemon whose secret XML calls answer `code` (or succeed when 0).
fn xml_answering(tag: &str, answer: fn(&Header) -> Vec<Vec<u8>>) -> Client {
    let sock = serve(tag, answer);
    Client::connect(&sock, SYSTEM_URI, soon(2000)).unwrap()
}

fn error_payload(code: i32, message: &str) -> Vec<u8> {
    let mut w = XdrWriter::new();
    w.i32(code).i32(44).opt_string(Some(message)).i32(2);
    w.u32(0).u32(0).u32(0).u32(0).i32(-1).i32(-1).u32(0);
    w.into_bytes()
}

fn auth_none(h: &Header) -> Option<Vec<Vec<u8>>> {
    (h.proc_ != PROC_SECRET_GET_XML_DESC).then(|| {
        let mut w = XdrWriter::new();
        if h.proc_ == PROC_AUTH_LIST {
            w.u32(1).i32(AUTH_NONE);
        }
        vec![reply(h, REMOTE_PROGRAM, STATUS_OK, &w.into_bytes())]
    })
}

#[test]
fn a_secret_undefined_since_listing_is_none_other_errors_are_errors() {
    let s = RemoteSecret {
        uuid: [7; 16],
        usage_type: SECRET_USAGE_TYPE_CEPH,
        usage_id: "client.admin secret".into(),
    };
    let mut c = xml_answering("nosecret", |h| {
        auth_none(h).unwrap_or_else(|| {
            let p = error_payload(
                VIR_ERR_NO_SECRET,
                "Secret not found: no secret with matching uuid",
            );
            vec![reply(h, REMOTE_PROGRAM, STATUS_ERROR, &p)]
        })
    });
    assert_eq!(c.secret_xml_desc(&s, soon(2000)).unwrap(), None);

    let mut c = xml_answering("secreterr", |h| {
        auth_none(h).unwrap_or_else(|| {
            let p = error_payload(55, "Requested operation is not valid: boom");
            vec![reply(h, REMOTE_PROGRAM, STATUS_ERROR, &p)]
        })
    });
    let e = c.secret_xml_desc(&s, soon(2000)).unwrap_err();
    assert!(!e.is_unreachable() && e.is_remote_code(55), "{e:?}");
    assert_eq!(
        crate::ocf::error_chain(&e),
        "libvirt failed reading the XML of secret 07070707-0707-0707-0707-070707070707: \
         Requested operation is not valid: boom"
    );
}
