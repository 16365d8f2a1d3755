//! Everything a verb needs besides its own arguments: the Pacemaker tools (live or a CIB
//! file), the storage, the configuration, the output format, `--dry-run`.

use std::time::{Duration, Instant};

use shared::pacemaker::{Target, Tools};

use crate::cli::Cli;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::output::Progress;
use shared::ceph::types::parse_host_port;

use crate::storage::rbd::Rbd;
use crate::storage::{NoStorage, Storage};

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
    /// The context for a parsed command line.
    pub fn from_cli(cli: &Cli) -> Result<Ctx> {
        let mut config = Config::load(cli.config.as_deref())?;
        if let Some(p) = &cli.pool {
            config.pool = p.clone();
        }
        if let Some(c) = &cli.ceph_conf {
            config.ceph_conf = Some(c.clone());
        }
        if let Some(i) = &cli.ceph_id {
            config.ceph_id = i.clone();
        }
        let storage: Box<dyn Storage> = if cli.no_storage {
            Box::new(NoStorage)
        } else {
            let mons = match &config.mon_hosts {
                None => None,
                Some(list) => Some(
                    list.split(',')
                        .map(|h| {
                            parse_host_port(h).ok_or_else(|| {
                                Error::invalid(format!(
                                    "Invalid monitor address {h:?} in mon-hosts."
                                ))
                            })
                        })
                        .collect::<Result<Vec<_>>>()?,
                ),
            };
            Box::new(Rbd::new(
                &config.pool,
                config.ceph_conf.clone(),
                &config.ceph_id,
                mons,
            )?)
        };
        let target = match &cli.cib_file {
            Some(path) => {
                if !path.is_file() {
                    return Err(Error::invalid(format!(
                        "The CIB file {} does not exist.",
                        path.display()
                    )));
                }
                Target::File(
                    std::fs::canonicalize(path).map_err(|source| Error::ReadFile {
                        path: path.clone(),
                        source,
                    })?,
                )
            }
            None => Target::Live,
        };
        Ok(Ctx {
            offline: cli.cib_file.is_some(),
            tools: Tools::new(target),
            storage,
            config,
            dry_run: cli.dry_run,
            progress: Progress::new(cli.output, cli.verbose),
        })
    }

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
