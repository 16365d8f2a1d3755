//! The domain XML file: reading it, fetching it from RBD image metadata, saving the running
//! domain's XML back into it, and the systemd drop-ins the heartbeat agent installs.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use shared::ceph::{Ceph, CephError, ImageSpec};
use shared::cmd::Cmd;
use shared::libvirt::{DomainXml, DomainXmlError};
use shared::ocf::{OcfError, OcfRc};

use crate::params::RbdSource;

/// Why the config file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Missing or unreadable.
    #[error("configuration file {} does not exist or is not readable", .path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Readable, but not a usable domain XML.
    #[error("configuration file {} is not a usable domain XML", .path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        #[source]
        source: DomainXmlError,
    },
}

/// Reads and parses the config file.
pub fn read_config(path: &Path) -> Result<(String, DomainXml), ConfigError> {
    let xml = shared::fsread::read_text(path, shared::fsread::XML_CAP).map_err(|source| {
        ConfigError::Unreadable {
            path: path.to_owned(),
            source,
        }
    })?;
    let dom = DomainXml::parse(&xml).map_err(|source| ConfigError::Invalid {
        path: path.to_owned(),
        source,
    })?;
    Ok((xml, dom))
}

/// Writes `content` to `path` atomically (temporary file in the same directory, then rename),
/// unless the file already holds exactly that. Returns true if it wrote.
pub fn write_if_changed(path: &Path, content: &str) -> io::Result<bool> {
    if fs::read_to_string(path).is_ok_and(|old| old == content) {
        return Ok(false);
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("/"));
    fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.vmmgr-{}", std::process::id()));
    let mut f = fs::File::create(&tmp)?;
    f.write_all(content.as_bytes())?;
    f.sync_all()?;
    drop(f);
    fs::rename(&tmp, path).inspect_err(|_| {
        let _ = fs::remove_file(&tmp);
    })?;
    Ok(true)
}

/// The image of `rbd_xml_source` (`POOL/IMAGE` or `POOL/NAMESPACE/IMAGE`, checked by
/// [`crate::params::parse_rbd_source`]).
fn source_image(rbd: &RbdSource) -> Result<ImageSpec, CephError> {
    let parts: Vec<&str> = rbd.spec.split('/').collect();
    match parts[..] {
        [pool, image] => ImageSpec::new(pool, "", image, ""),
        [pool, ns, image] => ImageSpec::new(pool, ns, image, ""),
        _ => ImageSpec::new(&rbd.spec, "", "", ""),
    }
}

/// Fetches the domain XML from RBD image metadata (`rbd image-meta get SPEC KEY` through
/// `shared::ceph`, as `rbd_xml_user` with `rbd_xml_cephconf` when they are set, connecting for
/// no longer than the deadline allows) and writes it to `config` if it differs. Returns true if
/// the file changed.
///
/// Codes: `rbd` or the `rbd_xml_cephconf` file missing → `OCF_ERR_INSTALLED`; `rbd` failing
/// or timing out (Ceph unreachable, no such image or key, no key for the user) →
/// `OCF_ERR_GENERIC`; a value that is not a domain XML → `OCF_ERR_CONFIGURED`; the file cannot
/// be written → `OCF_ERR_GENERIC`.
pub fn fetch_rbd_xml(rbd: &RbdSource, config: &Path, deadline: Instant) -> Result<bool, OcfError> {
    crate::params::check_rbd_local(rbd)?;
    let what = || {
        format!(
            "cannot fetch the domain XML from RBD image metadata {}/{}",
            rbd.spec, rbd.key
        )
    };
    let fetched = source_image(rbd)
        .and_then(|image| Ceph::agent(rbd.conn.clone(), deadline).meta_get(&image, &rbd.key))
        .map_err(|e| {
            let rc = if e.is_not_installed() {
                OcfRc::ErrInstalled
            } else {
                OcfRc::ErrGeneric
            };
            OcfError::from_error(rc, &e).context(what())
        })?;
    let Some(mut xml) = fetched else {
        return Err(OcfError::generic(format!(
            "{}: the image has no key {}",
            what(),
            rbd.key
        )));
    };
    if !xml.ends_with('\n') {
        xml.push('\n');
    }
    DomainXml::parse(&xml).map_err(|e| {
        OcfError::from_error(OcfRc::ErrConfigured, &e).context(format!(
            "RBD image metadata {}/{} is not a domain XML",
            rbd.spec, rbd.key
        ))
    })?;
    write_if_changed(config, &xml).map_err(|e| {
        OcfError::from_error(OcfRc::ErrGeneric, &e).context(format!(
            "cannot write the domain XML fetched from RBD to {}",
            config.display()
        ))
    })
}

const DROP_IN_DIR: &str = "/run/systemd/system/resource-agents-deps.target.d";

/// The heartbeat agent's systemd drop-ins, so that at host shutdown Pacemaker stops the
/// domains before libvirtd goes away: `After=libvirtd.service` and
/// `Wants=virt-guest-shutdown.target` on `resource-agents-deps.target`. Only where systemd
/// runs; `systemctl` is called only when a drop-in was created. Problems are returned as a
/// warning text, never as a failure.
pub fn systemd_drop_ins(deadline: Instant) -> Option<String> {
    if !Path::new("/run/systemd/system").is_dir() {
        return None;
    }
    let files = [
        (
            "99-VirtualDomain-libvirt.conf",
            "[Unit]\nAfter=libvirtd.service\n",
        ),
        (
            "99-VirtualDomain-machines.conf",
            "[Unit]\nWants=virt-guest-shutdown.target\n",
        ),
    ];
    let mut changed = false;
    for (file, content) in files {
        match write_if_changed(&Path::new(DROP_IN_DIR).join(file), content) {
            Ok(c) => changed |= c,
            Err(e) => return Some(format!("cannot write systemd drop-in {file}: {e}")),
        }
    }
    if !changed {
        return None;
    }
    for args in [
        &["daemon-reload"][..],
        &["start", "virt-guest-shutdown.target"][..],
    ] {
        if let Err(e) = Cmd::new("systemctl").args(args).deadline(deadline).run() {
            return Some(format!("systemd drop-ins: {e}"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_or_fifo_as_config_is_refused_at_once() {
        let t = std::time::Instant::now();
        let e = read_config(Path::new("/dev/zero")).unwrap_err();
        assert!(matches!(e, ConfigError::Unreadable { .. }), "{e:?}");
        let fifo = std::env::temp_dir().join(format!("vd-config-{}.xml", std::process::id()));
        let _ = std::fs::remove_file(&fifo);
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let e = read_config(&fifo).unwrap_err();
        std::fs::remove_file(&fifo).unwrap();
        let ConfigError::Unreadable { source, .. } = e else {
            panic!("{e:?}")
        };
        assert!(source.to_string().contains("is a FIFO"), "{source}");
        assert!(t.elapsed() < std::time::Duration::from_secs(2));
    }

    #[test]
    fn fetch_with_a_missing_cephconf_is_not_installed() {
        let rbd = RbdSource {
            spec: "rbd/system_a".into(),
            key: "xml".into(),
            conn: shared::ceph::Conn {
                conf: Some("/nonexistent/ceph.conf".into()),
                ..Default::default()
            },
        };
        let deadline = Instant::now() + std::time::Duration::from_secs(5);
        let e = fetch_rbd_xml(&rbd, Path::new("/nonexistent/vm.xml"), deadline).unwrap_err();
        assert_eq!(e.rc, OcfRc::ErrInstalled, "{e}");
    }

    #[test]
    fn write_if_changed_is_atomic_and_idempotent() {
        let dir = std::env::temp_dir().join(format!("vd-config-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let path = dir.join("sub/vm.xml");
        assert!(write_if_changed(&path, "<domain/>").unwrap());
        assert!(!write_if_changed(&path, "<domain/>").unwrap());
        assert!(write_if_changed(&path, "<domain><name>x</name></domain>").unwrap());
        assert_eq!(
            fs::read_dir(dir.join("sub")).unwrap().count(),
            1,
            "no temp left"
        );
        let (_, d) = read_config(&path).unwrap();
        assert_eq!(d.name, "x");
        assert!(matches!(
            read_config(&dir.join("missing.xml")),
            Err(ConfigError::Unreadable { .. })
        ));
        fs::write(dir.join("bad.xml"), "<network/>").unwrap();
        assert!(matches!(
            read_config(&dir.join("bad.xml")),
            Err(ConfigError::Invalid { .. })
        ));
        let _ = fs::remove_dir_all(dir);
    }
}
