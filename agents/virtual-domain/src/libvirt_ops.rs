//! What every action shares: the typed settings, the state directory, the domain name (from the
//! config, the state directory, or RBD), the libvirt connection, and the `/proc` fallback.
//!
//! # Deciding without libvirt
//!
//! | Situation | monitor / probe | stop |
//! |---|---|---|
//! | libvirt not installed on this node (no `libvirtd`/`virqemud`, local URI) | probe: 5 (`OCF_ERR_INSTALLED`: Pacemaker ≥ 2.1 treats a probe's 5 as "not running here" and keeps the resource off this node, which is true: no libvirt domain can run here); recurring: 1 | 0: nothing can run here |
//! | libvirtd down or hung, qemu process of the domain alive | 0 (warning logged) | the process is killed like `virDomainDestroy` does (SIGTERM, SIGKILL); 0 once it is gone |
//! | libvirtd down or hung, no qemu process of the domain | 1 (cannot ask libvirt; never 7) | 0: with the qemu driver a running domain is a qemu process, so the process table proves it is gone |
//! | libvirtd down or hung, non-local URI | 1 | 1 (fencing, correct when the state is unknowable) |
//!
//! The `/proc` fallback applies to `qemu:///system` (or no `hypervisor`, libvirt's default for
//! root) only.
//!
//! # Deciding without the domain name
//!
//! The name comes from the config; else from the state directory (remembered at every start,
//! migrate_from and monitor); else, with `rbd_xml_source`, from the XML fetched from RBD. When
//! none works (config unreadable on a node that never ran the resource since boot):
//! - probe and stop ask libvirt for the active domains: none, or all of them remembered by
//!   *other* resources of this agent → the domain is not running here: 7 / 0;
//! - otherwise a probe returns 5 (`OCF_ERR_INSTALLED`, "not runnable here", which Pacemaker
//!   records as stopped and bans the node) only if libvirt is not installed, and 1 otherwise;
//!   a stop returns 1 (a domain of unknown name may be running: fencing is the safe answer).

use std::path::Path;
use std::time::{Duration, Instant};

use shared::libvirt::{process, Connection, LibvirtError};
use shared::ocf::{Context, OcfError, OcfRc};

use crate::config;
use crate::params::Settings;
use crate::state::StateDir;

/// Time kept back from a libvirt call for the `/proc` fallback of a monitor.
pub const FALLBACK_RESERVE: Duration = Duration::from_millis(1500);

/// The domain name, if known.
#[derive(Debug, Clone)]
pub enum Name {
    /// Known.
    Known {
        /// The domain name.
        name: String,
    },
    /// Unknown: the config is unusable and nothing is remembered.
    Unknown {
        /// Why the config could not give it.
        why: String,
    },
}

/// One invocation's view of the resource.
pub struct Vd<'a> {
    /// The OCF context.
    pub ctx: &'a Context,
    /// The parameters.
    pub s: Settings,
    /// The state directory.
    pub state: StateDir,
}

/// Returns true if a libvirt daemon binary exists on this node.
pub fn libvirt_installed() -> bool {
    ["/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/sbin"]
        .iter()
        .any(|d| {
            ["libvirtd", "virtqemud"]
                .iter()
                .any(|b| Path::new(d).join(b).is_file())
        })
}

impl<'a> Vd<'a> {
    /// The view for `ctx` with checked settings.
    pub fn new(ctx: &'a Context, s: Settings) -> Vd<'a> {
        Vd {
            state: StateDir::new(ctx.env.var("HA_RSCTMP")),
            ctx,
            s,
        }
    }

    /// The resource instance (empty when Pacemaker did not say).
    pub fn instance(&self) -> &str {
        self.ctx.instance()
    }

    /// The hypervisor URI parameter.
    pub fn uri(&self) -> Option<&str> {
        self.s.hypervisor.as_deref()
    }

    /// True when the URI is the local qemu system instance, where `/proc` tells the truth.
    pub fn is_local_qemu(&self) -> bool {
        matches!(self.uri(), None | Some("qemu:///system"))
    }

    /// True when libvirt is certainly absent from this node (local URI, no daemon binary).
    pub fn libvirt_absent(&self) -> bool {
        self.is_local_qemu() && !libvirt_installed()
    }

    /// Logs a message at info level.
    pub fn info(&self, msg: impl std::fmt::Display) {
        self.ctx.logger.info(msg);
    }

    /// Logs a warning.
    pub fn warn(&self, msg: impl std::fmt::Display) {
        self.ctx.logger.warn(msg);
    }

    /// The deadline minus `reserve` (never before now).
    pub fn deadline_minus(&self, reserve: Duration) -> Instant {
        let d = self
            .ctx
            .deadline
            .checked_sub(reserve)
            .unwrap_or(self.ctx.deadline);
        d.max(Instant::now())
    }

    /// Opens the connection, bounded by `deadline`.
    pub fn connect(&self, deadline: Instant) -> Result<Connection, LibvirtError> {
        Connection::open(self.uri(), deadline)
    }

    /// Remembers `name` for this instance (a failure is only logged).
    pub fn remember(&self, name: &str) {
        if self.instance().is_empty() {
            return;
        }
        if let Err(e) = self.state.remember_name(self.instance(), name) {
            self.warn(format!(
                "cannot remember the domain name in the state directory: {e}"
            ));
        }
    }

    /// Finds the domain name: config, then remembered, then (if `allow_rbd`) RBD.
    pub fn resolve(&self, allow_rbd: bool) -> Name {
        let first = match config::read_config(&self.s.config) {
            Ok((_, dom)) => {
                self.remember(&dom.name);
                return Name::Known { name: dom.name };
            }
            Err(e) => e,
        };
        let why = shared::ocf::error_chain(&first);
        if let Some(name) = self.state.remembered_name(self.instance()) {
            if shared::libvirt::check_domain_name(&name).is_ok() {
                self.info(format!("{why}; using the remembered domain name {name}"));
                return Name::Known { name };
            }
        }
        if allow_rbd {
            if let Some(rbd) = &self.s.rbd {
                let deadline = self.deadline_minus(self.ctx.remaining() / 2);
                match config::fetch_rbd_xml(rbd, &self.s.config, deadline) {
                    Ok(_) => {
                        if let Ok((_, dom)) = config::read_config(&self.s.config) {
                            self.remember(&dom.name);
                            return Name::Known { name: dom.name };
                        }
                    }
                    Err(e) => self.warn(e.reason),
                }
            }
        }
        Name::Unknown { why }
    }

    /// With the domain name unknown: is it certain that no domain of ours runs here? Asks
    /// libvirt for the active domains; none, or only domains remembered by other resources,
    /// means certain. `Err`: libvirt could not answer.
    pub fn nothing_unaccounted_runs(&self) -> Result<bool, LibvirtError> {
        let deadline = self.deadline_minus(FALLBACK_RESERVE);
        let conn = self.connect(deadline)?;
        let active = conn.active_domain_names(deadline)?;
        let others = self.state.other_names(self.instance());
        Ok(active.iter().all(|n| others.contains(n)))
    }

    /// The qemu process of `name` when libvirt cannot answer (local qemu only).
    pub fn qemu_process(&self, name: &str) -> Option<i32> {
        if self.is_local_qemu() {
            process::find_qemu_process(name)
        } else {
            None
        }
    }
}

/// An `OCF_ERR_GENERIC` error from a libvirt failure, with context.
pub fn generic(e: &LibvirtError, context: impl AsRef<str>) -> OcfError {
    OcfError::from_error(OcfRc::ErrGeneric, e).context(context)
}
