//! `drbdadm` and `drbdsetup` calls, each through [`Cmd`] with a deadline.
//!
//! The tools are looked up on `PATH` like every other program ([`crate::cmd`]), so a test can
//! put stand-ins first on `PATH` without any change to the code path.

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::error::DrbdError;
use super::events::{parse_events2_now, ResourceStatus};
use crate::cmd::{Cmd, CmdError};
use crate::xml::Element;

/// `drbdsetup`'s exit code when the DRBD generic-netlink family is missing, i.e. the kernel
/// module is not loaded (`EXIT_NO_FAMILY` in drbd-utils `user/v9/drbdsetup.c`).
pub const EXIT_NO_MODULE: i32 = 20;

/// `drbdadm primary`'s exit code when promotion is refused for want of UpToDate data or
/// because fencing the peer failed (drbd.ocf gives up at once on it).
pub const EXIT_PRIMARY_REFUSED: i32 = 17;

/// Checks a DRBD resource name the way drbd.ocf does: non-empty, only
/// `[-%+./0-9:=@A-Z_a-z]`, and (our addition) not starting with `-`, so it can never be read as
/// an option.
pub fn check_resource_name(name: &str) -> Result<(), DrbdError> {
    let invalid = |reason| DrbdError::InvalidName {
        name: name.to_owned(),
        reason,
    };
    if name.is_empty() {
        return Err(invalid("it is empty"));
    }
    if name.starts_with('-') {
        return Err(invalid("it starts with '-'"));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-%+./:=@_".contains(&b))
    {
        return Err(invalid("only [-%+./0-9:=@A-Z_a-z] are allowed"));
    }
    Ok(())
}

/// The state reported by `drbdsetup events2 --now <res>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Events2 {
    /// The resource exists in the kernel.
    Configured(ResourceStatus),
    /// The resource is not configured in the kernel (or the module is not loaded).
    NotConfigured {
        /// Why, for logs: "not configured" or "DRBD kernel module not loaded".
        why: &'static str,
    },
}

/// `drbdsetup events2 --now <resource>`, parsed.
pub fn events2_now(resource: &str, deadline: Instant) -> Result<Events2, DrbdError> {
    check_resource_name(resource)?;
    let cmd = Cmd::new("drbdsetup")
        .args(["events2", "--now", resource])
        .deadline(deadline);
    let fail = |source| DrbdError::Command {
        action: "read the state of",
        resource: resource.to_owned(),
        source,
    };
    let out = cmd.output().map_err(fail)?;
    match out.code() {
        Some(0) => {}
        Some(EXIT_NO_MODULE) => {
            return Ok(Events2::NotConfigured {
                why: "DRBD kernel module not loaded",
            })
        }
        _ => {
            return Err(fail(CmdError::Failed {
                cmdline: cmd.cmdline(),
                status: format!("{}", out.status),
                code: out.code(),
                stderr: out.stderr_tail(),
            }))
        }
    }
    Ok(match parse_events2_now(&out.stdout_str(), resource)? {
        Some(status) => Events2::Configured(status),
        None => Events2::NotConfigured {
            why: "not configured",
        },
    })
}

/// `drbdadm` with the global options of an agent instance (`-c <drbdconf>`, `-S`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Drbdadm {
    /// `-c FILE`.
    pub config: Option<PathBuf>,
    /// `-S` (stacked resource).
    pub stacked: bool,
}

impl Drbdadm {
    /// `drbdadm -c config`.
    pub fn with_config(config: impl Into<PathBuf>) -> Drbdadm {
        Drbdadm {
            config: Some(config.into()),
            stacked: false,
        }
    }

    /// The base command with the global options.
    pub fn command(&self) -> Cmd {
        let mut cmd = Cmd::new("drbdadm");
        if let Some(c) = &self.config {
            cmd = cmd.arg("-c").arg(c);
        }
        if self.stacked {
            cmd = cmd.arg("-S");
        }
        cmd
    }

    fn run(
        &self,
        action: &'static str,
        args: &[&str],
        resource: &str,
        deadline: Instant,
    ) -> Result<String, DrbdError> {
        check_resource_name(resource.split(':').next().unwrap_or(resource))?;
        self.command()
            .args(args)
            .arg(resource)
            .deadline(deadline)
            .run_string()
            .map_err(|source| DrbdError::Command {
                action,
                resource: resource.to_owned(),
                source,
            })
    }

    /// `drbdadm up <res>`.
    pub fn up(&self, resource: &str, deadline: Instant) -> Result<(), DrbdError> {
        self.run("bring up", &["up"], resource, deadline).map(drop)
    }

    /// `drbdadm adjust <res>` (or `<res>:<peer>`).
    pub fn adjust(&self, resource: &str, deadline: Instant) -> Result<(), DrbdError> {
        self.run("adjust", &["adjust"], resource, deadline)
            .map(drop)
    }

    /// `drbdadm adjust --skip-net <res>`: attach the disks only (drbd.ocf's `do_attach`).
    pub fn attach(&self, resource: &str, deadline: Instant) -> Result<(), DrbdError> {
        self.run(
            "attach the disks of",
            &["adjust", "--skip-net"],
            resource,
            deadline,
        )
        .map(drop)
    }

    /// `drbdadm primary <res>`.
    pub fn primary(&self, resource: &str, deadline: Instant) -> Result<(), DrbdError> {
        self.run("promote", &["primary"], resource, deadline)
            .map(drop)
    }

    /// `drbdadm secondary <res>`.
    pub fn secondary(&self, resource: &str, deadline: Instant) -> Result<(), DrbdError> {
        self.run("demote", &["secondary"], resource, deadline)
            .map(drop)
    }

    /// `drbdadm down <res>`.
    pub fn down(&self, resource: &str, deadline: Instant) -> Result<(), DrbdError> {
        self.run("take down", &["down"], resource, deadline)
            .map(drop)
    }

    /// `drbdadm outdate <res>`.
    pub fn outdate(&self, resource: &str, deadline: Instant) -> Result<(), DrbdError> {
        self.run("outdate", &["outdate"], resource, deadline)
            .map(drop)
    }

    /// `drbdadm unfence-peer <res>`, with `OCF_RESKEY_unfence_extra_args` in its environment
    /// (the handler reads it from there).
    pub fn unfence_peer(
        &self,
        resource: &str,
        extra_args: &str,
        deadline: Instant,
    ) -> Result<(), DrbdError> {
        check_resource_name(resource)?;
        self.command()
            .args(["unfence-peer", resource])
            .env("OCF_RESKEY_unfence_extra_args", extra_args)
            .deadline(deadline)
            .run()
            .map(drop)
            .map_err(|source| DrbdError::Command {
                action: "unfence the peer of",
                resource: resource.to_owned(),
                source,
            })
    }

    /// `drbdadm sh-dev <res>`: the resource's device paths, one per volume. Fails when the
    /// resource is not in the configuration.
    pub fn sh_dev(&self, resource: &str, deadline: Instant) -> Result<Vec<String>, DrbdError> {
        let out = self.run("list the devices of", &["sh-dev"], resource, deadline)?;
        Ok(out.split_whitespace().map(str::to_owned).collect())
    }

    /// `drbdadm dump-xml <res>`, parsed.
    pub fn dump_xml(&self, resource: &str, deadline: Instant) -> Result<ResourceConfig, DrbdError> {
        let out = self.run(
            "read the configuration of",
            &["dump-xml"],
            resource,
            deadline,
        )?;
        parse_dump_xml(&out, resource)
    }

    /// `drbdadm --version`, parsed.
    pub fn version(&self, deadline: Instant) -> Result<Versions, DrbdError> {
        let out = Cmd::new("drbdadm")
            .arg("--version")
            .deadline(deadline)
            .run_string()
            .map_err(|source| DrbdError::Query {
                action: "read the DRBD version",
                source,
            })?;
        parse_version(&out)
    }
}

/// What the agent needs from a resource's configuration (`drbdadm dump-xml`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceConfig {
    /// The resource name.
    pub name: String,
    /// The host names of the `on` sections, in order.
    pub hosts: Vec<String>,
    /// `net { allow-two-primaries yes; }` at resource level (dual-primary allowed).
    pub allow_two_primaries: bool,
    /// The number of volumes of the first host.
    pub volumes: u32,
}

/// Parses `drbdadm dump-xml` output and returns the configuration of `resource`.
///
/// The output is read into a [`crate::xml`] tree (well-formed, one root, nesting bounded);
/// its root must be `<resource name=…>` (what `drbdadm dump-xml <res>` prints).
pub fn parse_dump_xml(xml: &str, resource: &str) -> Result<ResourceConfig, DrbdError> {
    let bad = |reason: String| DrbdError::DumpXml { reason };
    let root = Element::parse(xml, "drbdadm dump-xml output")
        .map_err(|e| bad(format!("invalid XML: {}", e.detail)))?;
    if root.name != "resource" || root.attr("name").unwrap_or_default() != resource {
        return Err(bad(format!("no resource named {resource}")));
    }
    let mut config = ResourceConfig {
        name: resource.to_owned(),
        ..ResourceConfig::default()
    };
    for child in &root.children {
        match child.name.as_str() {
            "host" => {
                if let Some(name) = child.attr("name") {
                    config.hosts.push(name.to_owned());
                }
                // the volumes of the first named host
                if config.hosts.len() == 1 {
                    let volumes = child.children_named("volume").count();
                    config.volumes = config
                        .volumes
                        .saturating_add(u32::try_from(volumes).unwrap_or(u32::MAX));
                }
            }
            "section" if child.attr("name") == Some("net") => {
                let options = child.children_named("option");
                for option in options.filter(|o| o.attr("name") == Some("allow-two-primaries")) {
                    config.allow_two_primaries = option.attr("value").unwrap_or("yes") == "yes";
                }
            }
            _ => {}
        }
    }
    Ok(config)
}

/// The versions `drbdadm --version` reports (shell assignments).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Versions {
    /// `DRBD_KERNEL_VERSION_CODE` (0x090202 for 9.2.2); 0 when the module is not loaded.
    pub kernel: u32,
    /// `DRBDADM_VERSION_CODE`.
    pub utils: u32,
}

/// Parses `drbdadm --version` output (`KEY=value` lines).
pub fn parse_version(text: &str) -> Result<Versions, DrbdError> {
    let get = |key: &str| {
        text.lines()
            .filter_map(|l| l.trim().split_once('='))
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.trim())
    };
    let hex = |key: &str| -> Result<u32, DrbdError> {
        let v = get(key).ok_or_else(|| DrbdError::Version {
            reason: format!("no {key}"),
        })?;
        u32::from_str_radix(v.trim_start_matches("0x"), 16).map_err(|_| DrbdError::Version {
            reason: format!("{key}={v} is not a hexadecimal number"),
        })
    };
    Ok(Versions {
        kernel: hex("DRBD_KERNEL_VERSION_CODE")?,
        utils: hex("DRBDADM_VERSION_CODE").unwrap_or(0),
    })
}

/// Parses an `x.y.z` version into a version code (`x << 16 | y << 8 | z`), as drbd.ocf's
/// `require_drbd_module_version_*` checks do; `None` if malformed or a part exceeds 255.
pub fn version_code(text: &str) -> Option<u32> {
    let parts: Vec<&str> = text.trim().split('.').collect();
    let [a, b, c] = parts.as_slice() else {
        return None;
    };
    let n = |s: &str| -> Option<u32> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse::<u32>().ok().filter(|v| *v <= 255)
    };
    Some(n(a)? << 16 | n(b)? << 8 | n(c)?)
}

/// Formats a version code as `x.y.z`.
pub fn version_string(code: u32) -> String {
    format!("{}.{}.{}", code >> 16, (code >> 8) & 0xff, code & 0xff)
}

/// Returns true if `path` is readable as a file (for `drbdconf` validation).
pub fn readable(path: &Path) -> bool {
    // open_regular never blocks (a FIFO as drbdconf would hang a plain open)
    crate::fsread::open_regular(path).is_ok()
}

#[cfg(test)]
#[path = "adm_tests.rs"]
mod tests;
