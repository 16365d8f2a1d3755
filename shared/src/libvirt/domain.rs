//! The domain operations of [`Connection`], and [`DomainState`] from `virt`'s state enum.

use std::time::Instant;

use virt::connect::Connect;
use virt::domain::{Domain, DomainState as VirtState};
use virt::enumutil::Enum;
use virt::sys;

use super::conn::Connection;
use super::error::{LibvirtError, VirtError};
use super::state::{DomainState, DomainStatus, ShutdownMode};

#[path = "domain_migrate.rs"]
mod migrate;

pub use migrate::{Destination, MigrateFlag, MigrateRequest, MigrateTarget};

impl DomainState {
    /// Maps `virt`'s state enum.
    pub fn from_virt(state: Enum<VirtState, sys::virDomainState>) -> DomainState {
        match state {
            Enum::Known(VirtState::NoState) => DomainState::NoState,
            Enum::Known(VirtState::Running) => DomainState::Running,
            Enum::Known(VirtState::Blocked) => DomainState::Blocked,
            Enum::Known(VirtState::Paused) => DomainState::Paused,
            Enum::Known(VirtState::Shutdown) => DomainState::ShuttingDown,
            Enum::Known(VirtState::Shutoff) => DomainState::Shutoff,
            Enum::Known(VirtState::Crashed) => DomainState::Crashed,
            Enum::Known(VirtState::PMSuspended) => DomainState::PmSuspended,
            Enum::Unknown(raw) => DomainState::Unknown(raw),
        }
    }
}

fn lookup(conn: &Connect, name: &str) -> Result<Option<Domain>, virt::error::Error> {
    match conn.lookup_domain_by_name(name) {
        Ok(d) => Ok(Some(d)),
        Err(e) if VirtError(e.clone()).is_no_domain() => Ok(None),
        Err(e) => Err(e),
    }
}

fn owned(name: &str) -> String {
    name.to_owned()
}

impl Connection {
    /// Looks the domain up and reads its state, vCPUs and memory (`virDomainGetInfo`).
    /// `Ok(None)`: no such domain.
    pub fn domain_status(
        &self,
        name: &str,
        deadline: Instant,
    ) -> Result<Option<DomainStatus>, LibvirtError> {
        let n = owned(name);
        self.call(
            &format!("reading the state of domain {name}"),
            deadline,
            move |c| {
                let Some(dom) = lookup(c, &n)? else {
                    return Ok(None);
                };
                match dom.info() {
                    Ok(info) => Ok(Some(DomainStatus {
                        state: DomainState::from_virt(info.state),
                        vcpus: info.nr_virt_cpu,
                        max_mem_kib: info.max_mem,
                    })),
                    // The domain went away between lookup and info.
                    Err(e) if VirtError(e.clone()).is_no_domain() => Ok(None),
                    Err(e) => Err(e),
                }
            },
        )
    }

    /// Returns whether the domain is defined persistently; `Ok(None)`: no such domain.
    pub fn is_persistent(
        &self,
        name: &str,
        deadline: Instant,
    ) -> Result<Option<bool>, LibvirtError> {
        let n = owned(name);
        self.call(
            &format!("checking whether domain {name} is persistent"),
            deadline,
            move |c| match lookup(c, &n)? {
                Some(d) => d.is_persistent().map(Some),
                None => Ok(None),
            },
        )
    }

    /// The names of all active domains.
    pub fn active_domain_names(&self, deadline: Instant) -> Result<Vec<String>, LibvirtError> {
        self.call("listing active domains", deadline, |c| {
            c.list_all_domains(sys::VIR_CONNECT_LIST_DOMAINS_ACTIVE)?
                .iter()
                .map(Domain::name)
                .collect()
        })
    }

    /// The hypervisor URI libvirt actually connected to (`virConnectGetURI`).
    pub fn actual_uri(&self, deadline: Instant) -> Result<String, LibvirtError> {
        self.call("reading the connection URI", deadline, |c| c.uri())
    }

    /// Starts a transient domain from `xml` (`virDomainCreateXML`, like `virsh create`).
    pub fn create(&self, name: &str, xml: &str, deadline: Instant) -> Result<(), LibvirtError> {
        let x = xml.to_owned();
        self.call(&format!("creating domain {name}"), deadline, move |c| {
            c.create_domain_xml(&x, sys::VIR_DOMAIN_NONE).map(drop)
        })
    }

    /// Defines `xml` persistently (`virsh define`).
    pub fn define(&self, name: &str, xml: &str, deadline: Instant) -> Result<(), LibvirtError> {
        let x = xml.to_owned();
        self.call(&format!("defining domain {name}"), deadline, move |c| {
            c.define_domain_xml(&x).map(drop)
        })
    }

    /// Starts the defined domain `name` (`virsh start`).
    pub fn start_defined(&self, name: &str, deadline: Instant) -> Result<(), LibvirtError> {
        let n = owned(name);
        self.call(&format!("starting domain {name}"), deadline, move |c| {
            c.lookup_domain_by_name(&n)?.create()
        })
    }

    /// Restores a domain saved with `virsh save` (`virDomainRestore`).
    pub fn restore(&self, path: &str, deadline: Instant) -> Result<(), LibvirtError> {
        let p = path.to_owned();
        self.call(&format!("restoring {path}"), deadline, move |c| {
            c.restore_domain(&p)
        })
    }

    /// Asks the guest to shut down (`virDomainShutdownFlags` with the OR of `modes`; none =
    /// the hypervisor's default). `Ok(false)`: the domain is not running or does not exist.
    pub fn shutdown(
        &self,
        name: &str,
        modes: &[ShutdownMode],
        deadline: Instant,
    ) -> Result<bool, LibvirtError> {
        let n = owned(name);
        let flags = modes.iter().fold(0, |acc, m| acc | m.bits());
        self.call(
            &format!("shutting down domain {name}"),
            deadline,
            move |c| {
                let Some(d) = lookup(c, &n)? else {
                    return Ok(false);
                };
                match d.shutdown_flags(flags) {
                    Ok(()) => Ok(true),
                    Err(e) if VirtError(e.clone()).is_operation_invalid() => Ok(false),
                    Err(e) => Err(e),
                }
            },
        )
    }

    /// Destroys (powers off) the domain. `Ok(false)`: it was not running or does not exist,
    /// which is also a success for a stop.
    pub fn destroy(&self, name: &str, deadline: Instant) -> Result<bool, LibvirtError> {
        let n = owned(name);
        self.call(&format!("destroying domain {name}"), deadline, move |c| {
            let Some(d) = lookup(c, &n)? else {
                return Ok(false);
            };
            match d.destroy() {
                Ok(()) => Ok(true),
                Err(e) => {
                    let ve = VirtError(e.clone());
                    if ve.is_no_domain() || ve.is_operation_invalid() {
                        Ok(false)
                    } else {
                        Err(e)
                    }
                }
            }
        })
    }

    /// The domain's XML; `inactive_secure` gives `dumpxml --inactive --security-info`.
    /// `Ok(None)`: no such domain.
    pub fn xml(
        &self,
        name: &str,
        inactive_secure: bool,
        deadline: Instant,
    ) -> Result<Option<String>, LibvirtError> {
        let n = owned(name);
        let flags = if inactive_secure {
            sys::VIR_DOMAIN_XML_INACTIVE | sys::VIR_DOMAIN_XML_SECURE
        } else {
            0
        };
        self.call(
            &format!("reading the XML of domain {name}"),
            deadline,
            move |c| match lookup(c, &n)? {
                Some(d) => d.xml_desc(flags).map(Some),
                None => Ok(None),
            },
        )
    }

    /// Starts (if inactive) or refreshes (if active) the storage pool `pool`.
    pub fn ensure_pool(&self, pool: &str, deadline: Instant) -> Result<(), LibvirtError> {
        let p = owned(pool);
        self.call(
            &format!("starting storage pool {pool}"),
            deadline,
            move |c| {
                let sp = c.lookup_storage_pool_by_name(&p)?;
                if sp.is_active()? {
                    sp.refresh(0)
                } else {
                    sp.create(0)
                }
            },
        )
    }

    /// Starts the virtual network `net` unless it is active.
    pub fn ensure_network(&self, net: &str, deadline: Instant) -> Result<(), LibvirtError> {
        let n = owned(net);
        self.call(&format!("starting network {net}"), deadline, move |c| {
            let nw = c.lookup_network_by_name(&n)?;
            if nw.is_active()? {
                Ok(())
            } else {
                nw.create()
            }
        })
    }
}

#[cfg(test)]
#[path = "domain_tests.rs"]
mod tests;
