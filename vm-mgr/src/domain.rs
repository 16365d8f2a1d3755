//! The domain XML of a VM: the rewrite create does (name, RBD network disks with cephx, or
//! qcow2 files on the dir backend), its
//! validation with libvirt's schema, and finding the cephx secret in libvirt.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use shared::cmd::Cmd;
use shared::libvirt::rpc;
use shared::pacemaker::xml::Element;
use shared::tempdir::PrivateDir;

use crate::error::{Error, Result};
use crate::storage::MonHost;

/// How a rewritten disk is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RbdDisks<'a> {
    /// Pool.
    pub pool: &'a str,
    /// Images, system disk first.
    pub images: &'a [String],
    /// virtio, scsi, sata, ide, usb (as `<target bus>`; `sd*` names but for virtio and ide).
    pub bus: &'a str,
    /// Ceph client id (`<auth username>`).
    pub client_id: &'a str,
    /// libvirt secret holding the cephx key; `None`: no `<auth>` (cephx off).
    pub secret_uuid: Option<&'a str>,
    /// Monitors (msgr v1 addresses).
    pub mons: &'a [MonHost],
}

/// Disks of the dir backend: qcow2 files on the shared directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDisks<'a> {
    /// Files, system disk first.
    pub paths: &'a [PathBuf],
    /// virtio, scsi, sata, ide.
    pub bus: &'a str,
}

/// The disks a rewrite puts in: on RBD or in files.
#[derive(Debug, Clone, Copy)]
pub enum Disks<'a> {
    /// RBD network disks.
    Rbd(&'a RbdDisks<'a>),
    /// qcow2 files.
    Files(&'a FileDisks<'a>),
}

impl Disks<'_> {
    fn bus(&self) -> &str {
        match self {
            Disks::Rbd(d) => d.bus,
            Disks::Files(d) => d.bus,
        }
    }

    fn count(&self) -> usize {
        match self {
            Disks::Rbd(d) => d.images.len(),
            Disks::Files(d) => d.paths.len(),
        }
    }

    /// Disk `i` as `<disk>` with target `dev`.
    fn disk(&self, i: usize, dev: &str) -> Element {
        match self {
            Disks::Rbd(d) => rbd_disk(d, &d.images[i], dev),
            Disks::Files(d) => {
                let mut disk = el("disk", &[("type", "file"), ("device", "disk")]);
                // cache=none: what libvirt wants for live migration on a shared filesystem
                disk.children.push(el(
                    "driver",
                    &[("name", "qemu"), ("type", "qcow2"), ("cache", "none")],
                ));
                let file = d.paths[i].to_string_lossy();
                disk.children.push(el("source", &[("file", &file)]));
                disk.children
                    .push(el("target", &[("dev", dev), ("bus", d.bus)]));
                disk
            }
        }
    }
}

/// One RBD network disk.
fn rbd_disk(disks: &RbdDisks<'_>, image: &str, dev: &str) -> Element {
    let mut disk = el("disk", &[("type", "network"), ("device", "disk")]);
    disk.children.push(el(
        "driver",
        &[("name", "qemu"), ("type", "raw"), ("cache", "none")],
    ));
    if let Some(uuid) = disks.secret_uuid {
        let mut auth = el("auth", &[("username", disks.client_id)]);
        auth.children
            .push(el("secret", &[("type", "ceph"), ("uuid", uuid)]));
        disk.children.push(auth);
    }
    let spec = format!("{}/{image}", disks.pool);
    let mut source = el("source", &[("protocol", "rbd"), ("name", &spec)]);
    for m in disks.mons {
        source.children.push(el(
            "host",
            &[("name", &m.host), ("port", &m.port.to_string())],
        ));
    }
    disk.children.push(source);
    disk.children
        .push(el("target", &[("dev", dev), ("bus", disks.bus)]));
    disk
}

fn el(name: &str, attrs: &[(&str, &str)]) -> Element {
    let mut e = Element::new(name);
    for (k, v) in attrs {
        e.set_attr(k, *v);
    }
    e
}

/// The target device prefix of a bus.
pub fn dev_prefix(bus: &str) -> &'static str {
    match bus {
        "virtio" => "vd",
        "ide" => "hd",
        _ => "sd",
    }
}

/// Rewrites `xml` (from `what`, for messages) for VM `name`: `<name>` set to it, every
/// `<disk device="disk">` replaced by RBD network disks for `disks` (system disk first); other
/// devices (cdrom, interfaces ...) are kept. Comments are dropped.
pub fn rewrite(xml: &str, what: &str, name: &str, disks: &RbdDisks<'_>) -> Result<String> {
    rewrite_disks(xml, what, name, Disks::Rbd(disks))
}

/// Parses `xml` (from `what`, for messages) as a libvirt domain: a `<domain>` with a type.
pub fn parse_domain(xml: &str, what: &str) -> Result<Element> {
    let bad = |detail: String| Error::DomainXml {
        what: what.to_owned(),
        detail,
    };
    let root = Element::parse(xml, what).map_err(|e| bad(e.to_string()))?;
    if root.name != "domain" {
        return Err(bad(format!(
            "the root element is <{}>, not <domain>",
            root.name
        )));
    }
    if root.attr("type").is_none() {
        return Err(bad("<domain> has no type attribute".into()));
    }
    Ok(root)
}

/// [`rewrite`] with any kind of [`Disks`] (the dir backend's qcow2 files).
pub fn rewrite_disks(xml: &str, what: &str, name: &str, disks: Disks<'_>) -> Result<String> {
    let bad = |detail: String| Error::DomainXml {
        what: what.to_owned(),
        detail,
    };
    let mut root = parse_domain(xml, what)?;
    match root.child_mut("name") {
        Some(n) => n.text = name.to_owned(),
        None => {
            let mut n = Element::new("name");
            n.text = name.to_owned();
            root.children.insert(0, n);
        }
    }
    if root.child("devices").is_none() {
        root.children.push(Element::new("devices"));
    }
    let Some(devices) = root.child_mut("devices") else {
        return Err(bad("no <devices>".into()));
    };
    let no_usb = devices
        .children_named("controller")
        .any(|c| c.attr("type") == Some("usb") && c.attr("model") == Some("none"));
    if disks.bus() == "usb" && no_usb {
        return Err(bad(
            "it turns USB off (<controller type=\"usb\" model=\"none\">), and --disk-bus usb \
             needs a USB controller"
                .into(),
        ));
    }
    devices
        .children
        .retain(|c| !(c.name == "disk" && matches!(c.attr("device"), None | Some("disk"))));
    let used: Vec<String> = devices
        .children_named("disk")
        .filter_map(|d| {
            d.child("target")
                .and_then(|t| t.attr("dev"))
                .map(str::to_owned)
        })
        .collect();
    let prefix = dev_prefix(disks.bus());
    let mut letters = (b'a'..=b'z')
        .map(|c| format!("{prefix}{}", c as char))
        .filter(|d| !used.contains(d));
    let at = devices
        .children
        .iter()
        .position(|c| c.name == "emulator")
        .map_or(0, |p| p + 1);
    let mut new_disks = Vec::new();
    for i in 0..disks.count() {
        let dev = letters
            .next()
            .ok_or_else(|| bad("too many disks for one bus".into()))?;
        new_disks.push(disks.disk(i, &dev));
    }
    devices.children.splice(at..at, new_disks);
    Ok(root.to_xml())
}

/// Validates a domain XML against libvirt's schema (`virt-xml-validate`). Returns a warning
/// instead when the validator is not installed. The XML (it names the cephx secret) is given
/// to the validator in a private directory, removed on every way out (an interrupt too).
pub fn validate(xml: &str, what: &str) -> Result<Option<String>> {
    let dir = PrivateDir::new("vmmgr-validate").map_err(|source| Error::WriteFile {
        path: std::env::temp_dir().join("vmmgr-validate-*"),
        source,
    })?;
    let path = dir
        .write("domain.xml", xml)
        .map_err(|source| Error::WriteFile {
            path: dir.path().join("domain.xml"),
            source,
        })?;
    let res = Cmd::new("virt-xml-validate")
        .arg(&path)
        .arg("domain")
        .timeout(Duration::from_secs(30))
        .run();
    drop(dir);
    match res {
        Ok(_) => Ok(None),
        Err(e) if e.is_not_installed() => Ok(Some(
            "virt-xml-validate is not installed: the domain XML was not validated".into(),
        )),
        Err(shared::cmd::CmdError::Failed { stderr, .. }) => Err(Error::DomainXml {
            what: what.to_owned(),
            detail: format!(
                "libvirt's schema refuses it: {}",
                stderr
                    .lines()
                    .filter(|l| !l.trim().is_empty())
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        }),
        Err(e) => Err(crate::storage::StorageError::from(e).into()),
    }
}

/// Environment variable: a directory where [`find_ceph_secret`] writes every libvirt RPC message
/// it sends and receives (for recording test fixtures, like the VirtualDomain agent's monitor).
pub const RPC_TRACE_VAR: &str = "VMMGR_LIBVIRT_RPC_TRACE";

/// The UUID of the libvirt secret whose usage is `client.ID secret` (type ceph), asked of the
/// local libvirt daemon (`qemu:///system`).
///
/// Through libvirt's RPC protocol on the daemon's socket ([`shared::libvirt::rpc`]), so that
/// vm-mgr does not load `libvirt.so`: the secrets are listed, then each one's XML is read and
/// its `<usage>` matched ([`secret_for_usage`]).
pub fn find_ceph_secret(client_id: &str) -> Result<Option<String>> {
    let trace = std::env::var_os(RPC_TRACE_VAR).map(PathBuf::from);
    find_ceph_secret_at(&rpc::system_socket(), trace.as_deref(), client_id)
}

/// [`find_ceph_secret`] asked of the daemon at `socket`, every message written to `trace`.
pub fn find_ceph_secret_at(
    socket: &Path,
    trace: Option<&Path>,
    client_id: &str,
) -> Result<Option<String>> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut c = rpc::Client::connect_traced(socket, rpc::SYSTEM_URI, deadline, trace)?;
    let mut xmls = Vec::new();
    for secret in c.list_all_secrets(deadline)? {
        // None: undefined since it was listed.
        if let Some(xml) = c.secret_xml_desc(&secret, deadline)? {
            xmls.push((secret.uuid_string(), xml));
        }
    }
    c.close(deadline);
    Ok(secret_for_usage(
        &xmls,
        &format!("client.{client_id} secret"),
    ))
}

/// Among (uuid, secret XML) pairs, the UUID of the ceph secret with usage name `usage`.
pub fn secret_for_usage(secrets: &[(String, String)], usage: &str) -> Option<String> {
    secrets.iter().find_map(|(uuid, xml)| {
        let root = Element::parse(xml, "a libvirt secret").ok()?;
        let u = root.child("usage")?;
        (u.attr("type") == Some("ceph") && u.child("name")?.text_trimmed() == usage)
            .then(|| uuid.clone())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GUEST: &str = r#"<domain type='kvm'>
  <name>whatever</name>
  <memory unit='MiB'>64</memory>
  <!-- a comment -->
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'><source file='/var/lib/x.qcow2'/><target dev='vda' bus='virtio'/></disk>
    <disk type='file' device='cdrom'><target dev='sda' bus='sata'/></disk>
    <serial type='pty'><target port='0'/></serial>
  </devices>
</domain>"#;

    fn mons() -> Vec<MonHost> {
        vec![MonHost {
            host: "10.78.0.254".into(),
            port: 6789,
        }]
    }

    #[test]
    fn disks_become_rbd_network_disks_with_cephx() {
        let images = vec!["system_a".to_string(), "data_a_0".to_string()];
        let m = mons();
        let d = RbdDisks {
            pool: "rbd",
            images: &images,
            bus: "virtio",
            client_id: "admin",
            secret_uuid: Some("a1f0c3e2-5b1d-4c3a-9e8f-5a4db0c0ffee"),
            mons: &m,
        };
        let out = rewrite(GUEST, "g.xml", "a", &d).unwrap();
        let dom = shared::libvirt::DomainXml::parse(&out).unwrap();
        assert_eq!(dom.name, "a");
        for needle in [
            r#"<disk type="network" device="disk">"#,
            r#"<auth username="admin">"#,
            r#"<secret type="ceph" uuid="a1f0c3e2-5b1d-4c3a-9e8f-5a4db0c0ffee"/>"#,
            r#"<source protocol="rbd" name="rbd/system_a">"#,
            r#"<host name="10.78.0.254" port="6789"/>"#,
            r#"<target dev="vda" bus="virtio"/>"#,
            r#"<source protocol="rbd" name="rbd/data_a_0">"#,
            r#"<target dev="vdb" bus="virtio"/>"#,
            r#"device="cdrom""#,
        ] {
            assert!(out.contains(needle), "{needle} missing:\n{out}");
        }
        assert!(!out.contains("/var/lib/x.qcow2"));
        // The system disk comes right after the emulator.
        assert!(out.find("emulator").unwrap() < out.find("system_a").unwrap());
        // SATA disks skip the cdrom's sda.
        let d = RbdDisks {
            bus: "sata",
            secret_uuid: None,
            ..d
        };
        let out = rewrite(GUEST, "g.xml", "a", &d).unwrap();
        assert!(out.contains(r#"<target dev="sdb" bus="sata"/>"#), "{out}");
        assert!(!out.contains("<auth"));
        // USB disks (SEAPATH's plugin offers them) are sd* on bus usb, after the cdrom's sda.
        let d = RbdDisks { bus: "usb", ..d };
        let out = rewrite(GUEST, "g.xml", "a", &d).unwrap();
        assert!(out.contains(r#"<target dev="sdb" bus="usb"/>"#), "{out}");
        assert!(out.contains(r#"<target dev="sdc" bus="usb"/>"#), "{out}");
        // ... and need USB: a domain that turns it off is refused, with the reason.
        let off = GUEST.replace(
            "<devices>",
            "<devices><controller type='usb' model='none'/>",
        );
        assert_ne!(off, GUEST);
        let e = rewrite(&off, "g.xml", "a", &d).unwrap_err();
        assert!(e.to_string().contains("needs a USB controller"), "{e}");
        let d = RbdDisks { bus: "virtio", ..d };
        assert!(rewrite(&off, "g.xml", "a", &d).is_ok());
    }

    #[test]
    fn disks_become_qcow2_files_on_the_dir_backend() {
        let paths = vec![
            PathBuf::from("/srv/vms/a/system.qcow2"),
            PathBuf::from("/srv/vms/a/data_1.qcow2"),
        ];
        let d = FileDisks {
            paths: &paths,
            bus: "virtio",
        };
        let out = rewrite_disks(GUEST, "g.xml", "a", Disks::Files(&d)).unwrap();
        let dom = shared::libvirt::DomainXml::parse(&out).unwrap();
        assert_eq!(dom.name, "a");
        for needle in [
            r#"<disk type="file" device="disk">"#,
            r#"<driver name="qemu" type="qcow2" cache="none"/>"#,
            r#"<source file="/srv/vms/a/system.qcow2"/>"#,
            r#"<target dev="vda" bus="virtio"/>"#,
            r#"<source file="/srv/vms/a/data_1.qcow2"/>"#,
            r#"<target dev="vdb" bus="virtio"/>"#,
            r#"device="cdrom""#,
        ] {
            assert!(out.contains(needle), "{needle} missing:\n{out}");
        }
        assert!(!out.contains("/var/lib/x.qcow2"), "{out}");
        assert!(!out.contains("rbd"), "{out}");
        let d = FileDisks { bus: "sata", ..d };
        let out = rewrite_disks(GUEST, "g.xml", "a", Disks::Files(&d)).unwrap();
        assert!(out.contains(r#"<target dev="sdb" bus="sata"/>"#), "{out}");
    }

    #[test]
    fn ceph_secret_is_found_by_usage_name() {
        let xml = |t: &str, n: &str| {
            format!("<secret ephemeral='no' private='yes'><uuid>u</uuid><usage type='{t}'><name>{n}</name></usage></secret>")
        };
        let secrets = vec![
            ("u1".to_string(), xml("iscsi", "client.admin secret")),
            ("u2".to_string(), xml("ceph", "client.libvirt secret")),
            ("u3".to_string(), xml("ceph", "client.admin secret")),
        ];
        assert_eq!(
            secret_for_usage(&secrets, "client.admin secret").as_deref(),
            Some("u3")
        );
        assert_eq!(secret_for_usage(&secrets, "client.x secret"), None);
    }

    /// A libvirtd stand-in on a UNIX socket: expects the calls recorded from the real libvirtd
    /// 9.0.0 (`tests/fixtures/libvirt/rpc/secrets`: three secrets, an iscsi one first with the
    /// same usage ID as the ceph `client.admin secret`) byte for byte and answers its replies.
    fn replayed_daemon(tag: &str) -> (PathBuf, std::thread::JoinHandle<()>) {
        use std::io::{Read, Write};
        let dir =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/libvirt/rpc/secrets");
        let mut msgs: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        msgs.sort();
        let sock_dir =
            std::env::temp_dir().join(format!("vm-mgr-secret-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&sock_dir);
        std::fs::create_dir_all(&sock_dir).unwrap();
        let sock = sock_dir.join("sock");
        let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            for m in msgs {
                let bytes = std::fs::read(&m).unwrap();
                if m.to_string_lossy().contains("-call-") {
                    let mut got = vec![0u8; bytes.len()];
                    s.read_exact(&mut got).unwrap();
                    assert_eq!(got, bytes, "{}", m.display());
                } else {
                    s.write_all(&bytes).unwrap();
                }
            }
        });
        (sock, server)
    }

    #[test]
    fn ceph_secret_is_asked_of_libvirt_over_its_rpc_protocol() {
        for (client, want) in [
            ("admin", Some("a1f0c3e2-5b1d-4c3a-9e8f-5a4db0c0ffee")),
            ("libvirt", Some("0fc0ffee-0000-4000-8000-00000000000b")),
            ("nobody", None),
        ] {
            let (sock, server) = replayed_daemon(client);
            let got = find_ceph_secret_at(&sock, None, client).unwrap();
            server.join().expect("the exchange is the recorded one");
            assert_eq!(got.as_deref(), want, "{client}");
            let _ = std::fs::remove_dir_all(sock.parent().unwrap());
        }
        // No daemon: the error names the socket.
        let e =
            find_ceph_secret_at(Path::new("/nonexistent/libvirt-sock"), None, "admin").unwrap_err();
        assert_eq!(
            e.to_string(),
            "Cannot connect to libvirt at /nonexistent/libvirt-sock"
        );
    }

    #[test]
    fn malformed_or_foreign_xml_is_refused() {
        let images = vec!["system_a".to_string()];
        let m = mons();
        let d = RbdDisks {
            pool: "rbd",
            images: &images,
            bus: "virtio",
            client_id: "admin",
            secret_uuid: None,
            mons: &m,
        };
        for (xml, needle) in [
            ("<domain type='kvm'><name>a</name>", "not usable"),
            ("not xml at all", "not usable"),
            ("<network><name>a</name></network>", "not <domain>"),
            ("<domain><name>a</name></domain>", "no type"),
        ] {
            let e = rewrite(xml, "bad.xml", "a", &d).unwrap_err();
            assert!(e.to_string().contains(needle), "{xml}: {e}");
            assert_eq!(e.exit_code(), 2);
        }
    }
}
