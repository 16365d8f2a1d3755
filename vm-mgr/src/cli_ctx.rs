//! The context of a run built from the parsed command line (floor 1: [`Ctx`] itself, used by
//! every floor, knows nothing of the flags).

use shared::ceph::types::parse_host_port;
use shared::pacemaker::{Target, Tools};

use crate::cli::Cli;
use crate::config::Config;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::output::Progress;
use crate::storage::dir::Dir;
use crate::storage::rbd::Rbd;
use crate::storage::{Backend, NoStorage, Storage};

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
        } else if !config.ceph_id_set {
            config.ceph_id = crate::config::default_ceph_id(config.ceph_conf.as_deref()).into();
        }
        if let Some(s) = &cli.storage {
            config.storage = crate::config::parse_backend(s).map_err(Error::invalid)?;
        }
        if let Some(d) = &cli.dir {
            config.dir = Some(d.clone());
        }
        let storage: Box<dyn Storage> = if cli.no_storage {
            Box::new(NoStorage)
        } else if config.storage == Backend::Dir {
            let dir = config.dir.as_deref().ok_or_else(|| {
                Error::invalid(
                    "The dir backend needs its directory: --dir PATH, or dir = PATH in the \
                     configuration file.",
                )
            })?;
            Box::new(Dir::new(dir)?)
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
            progress: if cli.progress_on_stdout() {
                Progress::on_stdout()
            } else {
                Progress::new(cli.output, cli.verbose)
            },
        })
    }
}
