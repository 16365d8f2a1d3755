//! Everything a verb needs besides its own arguments: the Pacemaker tools (live or a CIB
//! file), the storage, the configuration, the output format, `--dry-run`.

use std::time::{Duration, Instant};

use shared::pacemaker::{Target, Tools};

use crate::config::Config;
use crate::output::Progress;
use crate::storage::Storage;

/// Time limit of one CIB read or transaction.
pub const CIB_TIMEOUT: Duration = Duration::from_secs(60);

/// The context of one vm-mgr run.
pub struct Ctx {
    /// Pacemaker tools on the live cluster or `--cib-file`.
    pub tools: Tools,
    /// Where images and metadata live.
    pub storage: Box<dyn Storage>,
    /// The configuration file's settings, overridden by flags.
    pub config: Config,
    /// Print the plan, change nothing.
    pub dry_run: bool,
    /// Whether the CIB is a file (nothing will react to changes: no waiting).
    pub offline: bool,
    /// Progress on stderr.
    pub progress: Progress,
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("tools", &self.tools)
            .field("dry_run", &self.dry_run)
            .finish()
    }
}

impl Ctx {
    /// A context for tests: a CIB file, the given storage, default configuration, quiet.
    pub fn for_test(cib_file: &std::path::Path, storage: Box<dyn Storage>, dry_run: bool) -> Ctx {
        Ctx {
            tools: Tools::new(Target::File(cib_file.to_path_buf())),
            storage,
            config: Config::default(),
            dry_run,
            offline: true,
            progress: Progress::quiet(),
        }
    }

    /// How the agents of the VMs this run writes reach Ceph: as vm-mgr itself does (the pool,
    /// `ceph-id` and `ceph-conf` of the configuration and flags, which the storage uses).
    pub fn ceph_access(&self) -> crate::fragment::CephAccess {
        crate::fragment::CephAccess {
            pool: self.config.pool.clone(),
            user: self.config.ceph_id.clone(),
            conf: self.config.ceph_conf.clone(),
        }
    }

    /// Deadline of a CIB read or transaction started now.
    pub fn cib_deadline(&self) -> Instant {
        Instant::now() + CIB_TIMEOUT
    }
}
