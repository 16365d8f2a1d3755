//! `add-to-cluster -n NAME`: a VM defined in libvirt on this node, made a cluster VM, as
//! SEAPATH's vm_manager does. Its definition is read from the local libvirt daemon (inactive,
//! with its secure parts), its disk files are imported as `create` imports them (system disk
//! first: `--image`, else its first disk file; its other disk files become additional disks),
//! and, when the VM keeps the domain's name, the local definition is removed before the VM is
//! enabled (its disk files are kept), so that only the cluster defines it.
//!
//! It is `create` fed from libvirt: the same step ([`crate::steps::creating`]) with
//! `--disable`, then the enable step every create ends with, so that both stay the same.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::json;
use shared::libvirt::rpc::{self, Client, RpcError};
use shared::pacemaker::xml::Element;
use shared::tempdir::PrivateDir;

use crate::cli::{AddToClusterArgs, CreateArgs};
use crate::ctx::Ctx;
use crate::error::{Error, Result, EXIT_NO_SUCH_VM, EXIT_REFUSED, EXIT_USAGE};
use crate::output::Outcome;
use crate::steps::enabling::{enable_or_remove, stored_fragment};
use crate::vm::VmIds;

/// How long each talk with the local libvirt daemon may take.
const LIBVIRT_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a libvirt domain cannot be added.
#[derive(Debug, thiserror::Error)]
pub enum AdoptError {
    /// No domain of that name in the local libvirt.
    #[error("libvirt on this node has no domain {name} (virsh list --all); nothing was changed.")]
    NoSuchDomain { name: String },
    /// The domain runs: its disks would change while they are copied.
    #[error(
        "Domain {name} is {state} on this node: shut it down first (virsh shutdown {name}), so \
         that its disks do not change while they are imported. Nothing was changed."
    )]
    Active { name: String, state: String },
    /// No disk file to import.
    #[error(
        "Domain {name} has no disk file to import (only network or block disks?); give the \
         system disk with --image. Nothing was changed."
    )]
    NoDisk { name: String },
    /// A disk that is not a file (network, volume): there is nothing to copy from.
    #[error(
        "Domain {name}'s disk {target} is not a file (type {kind}); add-to-cluster imports \
         disk files only. Nothing was changed."
    )]
    NotAFile {
        name: String,
        target: String,
        kind: String,
    },
}

impl From<AdoptError> for Error {
    fn from(e: AdoptError) -> Error {
        let code = match e {
            AdoptError::NoSuchDomain { .. } => EXIT_NO_SUCH_VM,
            AdoptError::Active { .. } => EXIT_REFUSED,
            AdoptError::NoDisk { .. } | AdoptError::NotAFile { .. } => EXIT_USAGE,
        };
        Error::Below {
            code,
            source: Box::new(e),
        }
    }
}

/// The disk files of domain `name`'s XML, in document order (the order libvirt boots them
/// without `<boot order>`): `<disk device="disk">` of type file (`<source file>`) or block
/// (`<source dev>`); cdroms and floppies are left to the XML. A disk of another type refuses.
pub fn disk_files(name: &str, xml: &str) -> Result<Vec<PathBuf>> {
    let root = Element::parse(xml, "the domain's XML").map_err(|e| Error::DomainXml {
        what: format!("of domain {name}"),
        detail: e.to_string(),
    })?;
    let mut files = Vec::new();
    let disks = root
        .child("devices")
        .into_iter()
        .flat_map(|d| d.children_named("disk"));
    for d in disks.filter(|d| matches!(d.attr("device"), None | Some("disk"))) {
        let kind = d.attr("type").unwrap_or("file");
        let source = d.child("source");
        let path = match kind {
            "file" => source.and_then(|s| s.attr("file")),
            "block" => source.and_then(|s| s.attr("dev")),
            _ => None,
        };
        match path {
            Some(p) => files.push(PathBuf::from(p)),
            None => {
                return Err(AdoptError::NotAFile {
                    name: name.to_owned(),
                    target: d
                        .child("target")
                        .and_then(|t| t.attr("dev"))
                        .unwrap_or("?")
                        .to_owned(),
                    kind: kind.to_owned(),
                }
                .into())
            }
        }
    }
    Ok(files)
}

/// The domain's XML, after checking it exists and is shut off.
fn read_domain(c: &mut Client, name: &str) -> Result<String> {
    let deadline = Instant::now() + LIBVIRT_TIMEOUT;
    let missing = || AdoptError::NoSuchDomain {
        name: name.to_owned(),
    };
    let status = c.domain_status(name, deadline)?.ok_or_else(missing)?;
    if status.state.is_active() {
        return Err(AdoptError::Active {
            name: name.to_owned(),
            state: status.state.as_str().to_owned(),
        }
        .into());
    }
    let flags = rpc::XML_INACTIVE | rpc::XML_SECURE;
    Ok(c.domain_xml(name, flags, deadline)?.ok_or_else(missing)?)
}

/// The `create` request for the domain: its XML (written to `dir`) and disk files.
fn create_args(a: &AddToClusterArgs, xml: &str, dir: &PrivateDir) -> Result<CreateArgs> {
    let mut files = disk_files(&a.name, xml)?.into_iter();
    let first = files.next();
    let image = a
        .image
        .clone()
        .or(first)
        .ok_or_else(|| AdoptError::NoDisk {
            name: a.name.clone(),
        })?;
    let path = dir
        .write("domain.xml", xml)
        .map_err(|source| Error::WriteFile {
            path: dir.path().join("domain.xml"),
            source,
        })?;
    let mut vm = a.vm.clone();
    vm.disable = true;
    Ok(CreateArgs {
        name: a.new_name.clone().unwrap_or_else(|| a.name.clone()),
        xml: path,
        image,
        additional_disk: files.collect(),
        vm,
    })
}

/// Runs `add-to-cluster`.
pub fn run(ctx: &Ctx, a: &AddToClusterArgs) -> Result<Outcome> {
    let name = a.new_name.as_deref().unwrap_or(&a.name);
    crate::vm::validate_name(name)?;
    let connect = || Client::connect(&rpc::system_socket(), rpc::SYSTEM_URI, deadline());
    let mut c = connect()?;
    let xml = read_domain(&mut c, &a.name)?;
    c.close(deadline());
    let dir = PrivateDir::new("vmmgr-adopt").map_err(|source| Error::WriteFile {
        path: std::env::temp_dir().join("vmmgr-adopt-*"),
        source,
    })?;
    let args = create_args(a, &xml, &dir)?;
    let undefine = a.new_name.is_none() || a.new_name.as_deref() == Some(&a.name);
    let created = crate::steps::creating::create(ctx, &args)?;
    drop(dir);
    if ctx.dry_run {
        return Ok(dry_run(a, created, undefine, &args));
    }
    if undefine {
        ctx.progress.say(&format!(
            "{}: removing the local libvirt definition (its disk files are kept)",
            a.name
        ));
        if let Err(e) = undefine_local(&connect, &a.name) {
            let undo = undo(ctx, name);
            return Err(undone(name, undo, e));
        }
    }
    if a.vm.disable {
        return Ok(outcome(a, created, undefine));
    }
    let meta = ctx.storage.meta_list(&VmIds::new(name).system_image())?;
    let fragment = stored_fragment(name, &meta, &ctx.ceph_access())?;
    let what = format!("Enabling VM {name}, added from libvirt");
    let enabled = enable_or_remove(ctx, name, &fragment, a.vm.nostart, what, "it was removed")
        .inspect_err(|_| {
            if undefine {
                let _cleanup = crate::cluster::interrupt::cleanup();
                match redefine(&connect, &xml) {
                    Ok(d) => ctx.progress.say(&format!("{d}: defined in libvirt again")),
                    Err(e) => ctx.progress.say(&format!(
                        "warning: defining domain {} in libvirt again failed: {e}",
                        a.name
                    )),
                }
            }
        })?;
    Ok(outcome(a, enabled.new_vm_outcome(name, "added"), undefine))
}

fn deadline() -> Instant {
    Instant::now() + LIBVIRT_TIMEOUT
}

fn undefine_local(
    connect: &dyn Fn() -> std::result::Result<Client, RpcError>,
    name: &str,
) -> std::result::Result<(), RpcError> {
    let mut c = connect()?;
    let flags = rpc::UNDEFINE_SNAPSHOTS_METADATA | rpc::UNDEFINE_KEEP_NVRAM;
    c.domain_undefine(name, flags, deadline())?;
    c.close(deadline());
    Ok(())
}

fn redefine(
    connect: &dyn Fn() -> std::result::Result<Client, RpcError>,
    xml: &str,
) -> std::result::Result<String, RpcError> {
    let mut c = connect()?;
    let name = c.domain_define(xml, deadline())?;
    c.close(deadline());
    Ok(name)
}

/// Removes the VM made from the domain again (after its definition could not be removed).
fn undo(ctx: &Ctx, name: &str) -> String {
    let _cleanup = crate::cluster::interrupt::cleanup();
    match crate::steps::teardown::remove_vm(ctx, name) {
        Ok(()) => "the VM was removed again".into(),
        Err(u) => format!("removing the VM again failed too: {u}"),
    }
}

fn undone(name: &str, undo: String, e: RpcError) -> Error {
    Error::Undone {
        what: format!("Adding VM {name} from libvirt"),
        undo,
        source: Box::new(Error::from(e)),
    }
}

fn outcome(a: &AddToClusterArgs, mut out: Outcome, undefined: bool) -> Outcome {
    if let Some(o) = out.json.as_object_mut() {
        o.insert("domain".into(), json!(a.name));
        o.insert("local_definition_removed".into(), json!(undefined));
    }
    out
}

/// Create's dry run with what add-to-cluster adds: the libvirt actions, and the enable.
fn dry_run(a: &AddToClusterArgs, mut out: Outcome, undefine: bool, args: &CreateArgs) -> Outcome {
    let disks: Vec<String> = std::iter::once(&args.image)
        .chain(&args.additional_disk)
        .map(|p| p.display().to_string())
        .collect();
    let mut actions = vec![format!(
        "read domain {} from libvirt on this node (shut off); its disks: {}",
        a.name,
        disks.join(", ")
    )];
    if undefine {
        actions.push(format!(
            "undefine domain {} in libvirt on this node (its disk files kept)",
            a.name
        ));
    }
    if !a.vm.disable {
        actions.push(format!("enable {} as create does", args.name));
    }
    out.text.push_str("libvirt and cluster actions:\n");
    for line in &actions {
        out.text.push_str(&format!("  - {line}\n"));
    }
    if let Some(o) = out.json.as_object_mut() {
        o.insert("libvirt_actions".into(), json!(actions));
    }
    outcome(a, out, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape `virsh dumpxml --inactive` gives (libvirt 9), trimmed to what is read.
    const DOMAIN: &str = r#"<domain type='kvm'>
  <name>web1</name>
  <uuid>6f1c8a52-3c3e-4b8e-9d57-1a2b3c4d5e6f</uuid>
  <memory unit='KiB'>65536</memory>
  <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type></os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <source file='/var/lib/libvirt/images/install.iso'/>
      <target dev='sda' bus='sata'/>
      <readonly/>
    </disk>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/var/lib/libvirt/images/web1.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='block' device='disk'>
      <driver name='qemu' type='raw'/>
      <source dev='/dev/vg0/web1-data'/>
      <target dev='vdb' bus='virtio'/>
    </disk>
  </devices>
</domain>"#;

    #[test]
    fn disk_files_are_the_disks_in_document_order_without_cdroms() {
        assert_eq!(
            disk_files("web1", DOMAIN).unwrap(),
            vec![
                PathBuf::from("/var/lib/libvirt/images/web1.qcow2"),
                PathBuf::from("/dev/vg0/web1-data"),
            ]
        );
    }

    #[test]
    fn a_network_disk_is_refused_as_invalid_input() {
        let net = DOMAIN.replace(
            "<disk type='block' device='disk'>",
            "<disk type='network' device='disk'>",
        );
        let e = disk_files("web1", &net).unwrap_err();
        assert_eq!(e.exit_code(), EXIT_USAGE, "{e}");
        assert!(
            e.to_string()
                .contains("disk vdb is not a file (type network)"),
            "{e}"
        );
    }

    #[test]
    fn a_domain_without_disks_gives_none_and_bad_xml_is_refused() {
        let none = "<domain type='kvm'><name>x</name><devices/></domain>";
        assert!(disk_files("x", none).unwrap().is_empty());
        assert_eq!(
            disk_files("x", "<domain").unwrap_err().exit_code(),
            EXIT_USAGE
        );
    }

    #[test]
    fn errors_map_to_the_documented_exit_codes() {
        let code = |e: AdoptError| Error::from(e).exit_code();
        let name = || "web1".to_owned();
        assert_eq!(
            code(AdoptError::NoSuchDomain { name: name() }),
            EXIT_NO_SUCH_VM
        );
        let active = AdoptError::Active {
            name: name(),
            state: "running".into(),
        };
        assert_eq!(code(active), EXIT_REFUSED);
        assert_eq!(code(AdoptError::NoDisk { name: name() }), EXIT_USAGE);
    }
}
