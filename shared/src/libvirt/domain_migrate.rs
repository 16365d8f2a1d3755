//! Live migration of a domain: the `virsh migrate` flags and parameters, and the
//! [`Connection`] calls that set the downtime and run the migration.

use std::sync::mpsc;
use std::thread;
use std::time::Instant;

use virt::connect::Connect;
use virt::domain::MigrateParameters;
use virt::sys;

use super::owned;
use crate::libvirt::conn::Connection;
use crate::libvirt::error::LibvirtError;

/// A `virDomainMigrateFlags` bit, named after the `virsh migrate` option that sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MigrateFlag {
    /// `--live`: `VIR_MIGRATE_LIVE`.
    Live,
    /// `--p2p`: `VIR_MIGRATE_PEER2PEER`.
    PeerToPeer,
    /// `--tunnelled`: `VIR_MIGRATE_TUNNELLED`.
    Tunnelled,
    /// `--persistent`: `VIR_MIGRATE_PERSIST_DEST`.
    PersistDest,
    /// `--undefinesource`: `VIR_MIGRATE_UNDEFINE_SOURCE`.
    UndefineSource,
    /// `--suspend`: `VIR_MIGRATE_PAUSED`.
    Paused,
    /// `--copy-storage-all`: `VIR_MIGRATE_NON_SHARED_DISK`.
    NonSharedDisk,
    /// `--copy-storage-inc`: `VIR_MIGRATE_NON_SHARED_INC`.
    NonSharedInc,
    /// `--change-protection`: `VIR_MIGRATE_CHANGE_PROTECTION`.
    ChangeProtection,
    /// `--unsafe`: `VIR_MIGRATE_UNSAFE`.
    Unsafe,
    /// `--compressed`: `VIR_MIGRATE_COMPRESSED`.
    Compressed,
    /// `--abort-on-error`: `VIR_MIGRATE_ABORT_ON_ERROR`.
    AbortOnError,
    /// `--auto-converge`: `VIR_MIGRATE_AUTO_CONVERGE`.
    AutoConverge,
    /// `--rdma-pin-all`: `VIR_MIGRATE_RDMA_PIN_ALL`.
    RdmaPinAll,
    /// `--postcopy`: `VIR_MIGRATE_POSTCOPY`.
    Postcopy,
    /// `--tls`: `VIR_MIGRATE_TLS`.
    Tls,
    /// `--parallel`: `VIR_MIGRATE_PARALLEL`.
    Parallel,
}

impl MigrateFlag {
    /// The libvirt flag bit.
    pub fn bits(self) -> u32 {
        match self {
            MigrateFlag::Live => sys::VIR_MIGRATE_LIVE,
            MigrateFlag::PeerToPeer => sys::VIR_MIGRATE_PEER2PEER,
            MigrateFlag::Tunnelled => sys::VIR_MIGRATE_TUNNELLED,
            MigrateFlag::PersistDest => sys::VIR_MIGRATE_PERSIST_DEST,
            MigrateFlag::UndefineSource => sys::VIR_MIGRATE_UNDEFINE_SOURCE,
            MigrateFlag::Paused => sys::VIR_MIGRATE_PAUSED,
            MigrateFlag::NonSharedDisk => sys::VIR_MIGRATE_NON_SHARED_DISK,
            MigrateFlag::NonSharedInc => sys::VIR_MIGRATE_NON_SHARED_INC,
            MigrateFlag::ChangeProtection => sys::VIR_MIGRATE_CHANGE_PROTECTION,
            MigrateFlag::Unsafe => sys::VIR_MIGRATE_UNSAFE,
            MigrateFlag::Compressed => sys::VIR_MIGRATE_COMPRESSED,
            MigrateFlag::AbortOnError => sys::VIR_MIGRATE_ABORT_ON_ERROR,
            MigrateFlag::AutoConverge => sys::VIR_MIGRATE_AUTO_CONVERGE,
            MigrateFlag::RdmaPinAll => sys::VIR_MIGRATE_RDMA_PIN_ALL,
            MigrateFlag::Postcopy => sys::VIR_MIGRATE_POSTCOPY,
            MigrateFlag::Tls => sys::VIR_MIGRATE_TLS,
            MigrateFlag::Parallel => sys::VIR_MIGRATE_PARALLEL,
        }
    }
}

/// The connection to a managed migration's destination, opened on a thread of its own from
/// the moment it is asked for ([`Destination::open`]), so that opening it (a TCP or SSH
/// connection, authentication, libvirt's handshake) overlaps what the source does before the
/// migration; [`Connection::migrate`] waits for it, within its own deadline.
#[derive(Debug)]
pub struct Destination {
    uri: String,
    opened: mpsc::Receiver<Result<Connect, virt::error::Error>>,
}

impl Destination {
    /// Starts opening `uri`.
    pub fn open(uri: &str) -> Result<Destination, LibvirtError> {
        virt::error::clear_error_callback();
        let (tx, opened) = mpsc::channel();
        let owned = uri.to_owned();
        thread::Builder::new()
            .name("libvirt-destination".into())
            .spawn(move || {
                let _ = tx.send(Connect::open(Some(&owned)));
            })
            .map_err(LibvirtError::Thread)?;
        Ok(Destination {
            uri: uri.to_owned(),
            opened,
        })
    }

    /// The destination URI.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The opened connection. Runs on the source connection's worker, inside
    /// [`Connection::call`], whose deadline bounds the wait as it bounds any call.
    fn wait(self) -> Result<Connect, virt::error::Error> {
        self.opened
            .recv()
            .unwrap_or_else(|_| Err(virt::error::Error::last_error()))
    }
}

/// Where a migration goes.
#[derive(Debug)]
pub enum MigrateTarget {
    /// Managed migration (`virsh migrate` without `--p2p`): this process opens the destination
    /// libvirt URI and calls `virDomainMigrate3`.
    Managed {
        /// The destination libvirt URI, e.g. `qemu+tcp://node2/system`.
        dest_uri: String,
    },
    /// Managed migration to a destination whose connection is being opened already.
    ManagedOpened {
        /// The destination.
        dest: Destination,
    },
    /// Peer-to-peer (`--p2p`): the source libvirtd connects to `dest_uri` itself
    /// (`virDomainMigrateToURI3`).
    PeerToPeer {
        /// The destination libvirt URI.
        dest_uri: String,
    },
}

/// One migration: the flags and the `virTypedParameter`s the agent sets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrateRequest {
    /// The flags.
    pub flags: Vec<MigrateFlag>,
    /// `VIR_MIGRATE_PARAM_URI`: the hypervisor data URI, e.g. `tcp://node2-mig:49152`.
    pub data_uri: Option<String>,
    /// `VIR_MIGRATE_PARAM_BANDWIDTH`, MiB/s.
    pub bandwidth_mib: Option<u64>,
    /// `VIR_MIGRATE_PARAM_LISTEN_ADDRESS`.
    pub listen_address: Option<String>,
    /// `VIR_MIGRATE_PARAM_PARALLEL_CONNECTIONS`.
    pub parallel_connections: Option<i32>,
    /// `VIR_MIGRATE_PARAM_COMPRESSION` (comma-separated methods are split).
    pub compression: Option<String>,
    /// `VIR_MIGRATE_PARAM_TLS_DESTINATION`.
    pub tls_destination: Option<String>,
}

impl MigrateRequest {
    /// The OR of all flag bits.
    pub fn flag_bits(&self) -> u32 {
        self.flags.iter().fold(0, |acc, f| acc | f.bits())
    }

    fn parameters(&self) -> MigrateParameters {
        MigrateParameters {
            uri: self.data_uri.clone(),
            bandwidth: self.bandwidth_mib,
            listen_address: self.listen_address.clone(),
            parallel_connections: self.parallel_connections,
            compression: self.compression.clone(),
            tls_destination: self.tls_destination.clone(),
            ..MigrateParameters::default()
        }
    }
}

impl Connection {
    /// Sets the maximum downtime of the domain's migrations, ms
    /// (`virDomainMigrateSetMaxDowntime`).
    pub fn set_max_downtime(
        &self,
        name: &str,
        ms: u64,
        deadline: Instant,
    ) -> Result<(), LibvirtError> {
        let n = owned(name);
        self.call(
            &format!("setting the migration downtime of domain {name}"),
            deadline,
            move |c| c.lookup_domain_by_name(&n)?.migrate_set_max_downtime(ms, 0),
        )
    }

    /// Migrates the domain (always adding nothing to `req.flags`; callers choose `--live`).
    /// Blocks until libvirt reports the end of the migration or `deadline`.
    pub fn migrate(
        &self,
        name: &str,
        target: MigrateTarget,
        req: &MigrateRequest,
        deadline: Instant,
    ) -> Result<(), LibvirtError> {
        let n = owned(name);
        let params = req.parameters();
        let flags = req.flag_bits();
        let dest = match &target {
            MigrateTarget::Managed { dest_uri } | MigrateTarget::PeerToPeer { dest_uri } => {
                dest_uri.clone()
            }
            MigrateTarget::ManagedOpened { dest } => dest.uri().to_owned(),
        };
        self.call(
            &format!("migrating domain {name} to {dest}"),
            deadline,
            move |c| {
                let dom = c.lookup_domain_by_name(&n)?;
                match target {
                    MigrateTarget::Managed { dest_uri } => {
                        let dconn = Connect::open(Some(&dest_uri))?;
                        dom.migrate3(&dconn, params, flags).map(drop)
                    }
                    MigrateTarget::ManagedOpened { dest } => {
                        let dconn = dest.wait()?;
                        dom.migrate3(&dconn, params, flags).map(drop)
                    }
                    MigrateTarget::PeerToPeer { dest_uri } => dom.migrate_to_uri3(
                        Some(&dest_uri),
                        params,
                        flags | sys::VIR_MIGRATE_PEER2PEER,
                    ),
                }
            },
        )
    }
}
