//! The [`RbdAgent`]: meta-data and action dispatch.
//!
//! | Situation | start | stop | monitor (probe) | monitor (recurring) |
//! |---|---|---|---|---|
//! | parameters invalid | 6 | 0 (nothing can have started with them; logged) | 6 | 6 |
//! | cephconf/secret/keyring file missing here | 5 | 0 (logged) | 5 | 5 |
//! | `rbd`/`rados` missing | 5 | 5 | 5 | 5 |
//! | Ceph unreachable / no answer before the deadline | 1 | 1 | 1 | 1 |
//! | guard: image (or group) missing | 6 | 0 | 7 | 1 |
//! | guard: held by a live node / unsettled / unknown | 1 | 0 | 7 | 1 |
//! | guard: image in use by a live client elsewhere | 1 | 0 | - | - |
//! | guard: only clients that are gone still watch (stale) | waits, then 0, or 1 at its timeout | 0 | - | - |
//!
//! Every failure carries an `ocf-exit-reason:` line.

use shared::ocf::{Action, ActionSpec, Agent, AgentMeta, Context, OcfError, OcfRc};

use crate::guard::Guard;
use crate::map::Mapper;
use crate::params::{self, Config, Mode, PARAMS};

/// The `ocf:vmmgr:rbd` agent.
#[derive(Debug, Clone, Copy, Default)]
pub struct RbdAgent;

const LONGDESC: &str = "Ceph RBD images under Pacemaker. mode=map (default) maps an image as a \
block device like ocf:ceph:rbd (krbd or nbd, read-only for a snapshot). mode=guard protects \
the disks of a VM that QEMU opens through librbd: a lock tagged with the node name on every \
image (or every image of an RBD group), refused while a live node holds it, taken over from a \
node that left the cluster (whose Ceph clients are then blocklisted), handed from source to \
target on live migration. Every Ceph call is bounded by the operation timeout and uses JSON \
output; the cephx key is only passed as a file.";

fn config(ctx: &Context) -> Result<Config, OcfError> {
    params::parse(&ctx.params)
}

impl Agent for RbdAgent {
    fn meta(&self) -> AgentMeta {
        AgentMeta {
            name: "rbd",
            version: env!("CARGO_PKG_VERSION"),
            shortdesc: "Maps or guards Ceph RBD images",
            longdesc: LONGDESC,
            params: PARAMS.to_vec(),
            actions: vec![
                ActionSpec::new("start", 20),
                ActionSpec::new("stop", 20),
                ActionSpec::new("monitor", 20).interval(10).depth(0),
                ActionSpec::new("migrate_to", 20),
                ActionSpec::new("migrate_from", 20),
                ActionSpec::new("meta-data", 5),
                ActionSpec::new("validate-all", 20),
            ],
        }
    }

    fn handle(&self, action: &Action, ctx: &Context) -> Result<OcfRc, OcfError> {
        let cfg = match config(ctx).and_then(|c| {
            if *action == Action::ValidateAll && ctx.env.check_level() < 10 {
                Ok(c)
            } else {
                params::check_local(&c).map(|()| c)
            }
        }) {
            Ok(c) => c,
            Err(e) if *action == Action::Stop => {
                ctx.logger.warn(format!(
                    "stop: {} (rc {}); nothing can have been started with this \
                     configuration here",
                    e.reason,
                    e.rc.code()
                ));
                return Ok(OcfRc::Success);
            }
            Err(e) => return Err(e),
        };
        match cfg.mode {
            Mode::Guard => {
                let g = Guard::new(ctx, &cfg)?;
                match action {
                    Action::Start => g.start(),
                    Action::Stop => g.stop(),
                    Action::Monitor | Action::Status => g.monitor(),
                    Action::MigrateTo => g.migrate_to(),
                    Action::MigrateFrom => g.migrate_from(),
                    Action::ValidateAll => Ok(OcfRc::Success),
                    other => Err(OcfError::unimplemented(format!("{other} in guard mode"))),
                }
            }
            Mode::Map => {
                let m = Mapper::new(ctx, &cfg)?;
                match action {
                    Action::Start => m.start(),
                    Action::Stop => m.stop(),
                    Action::Monitor | Action::Status => m.monitor(),
                    Action::ValidateAll => Ok(OcfRc::Success),
                    Action::MigrateTo | Action::MigrateFrom => Err(OcfError::generic(
                        "a mapped device cannot live-migrate (mode=map); use mode=guard for VM \
                         disks opened through librbd",
                    )),
                    other => Err(OcfError::unimplemented(format!("{other} in map mode"))),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_data_is_valid_ocf_1_1() {
        shared::ocf::testing::assert_valid_meta(&RbdAgent.meta());
    }

    /// Every parameter of the stock agent (recorded: `/usr/lib/ocf/resource.d/ceph/rbd
    /// meta-data`, ceph-resource-agents 16.2.15) is declared, with the same default where the
    /// stock one is meaningful.
    #[test]
    fn stock_parameters_are_all_present() {
        let stock = include_str!("../../../tests/fixtures/ceph/stock-ocf-ceph-rbd-meta-data.xml");
        let mut names = Vec::new();
        for part in stock.split("<parameter name=\"").skip(1) {
            names.push(part.split('"').next().unwrap());
        }
        assert_eq!(
            names,
            [
                "name",
                "pool_namespace",
                "pool",
                "snap",
                "cephconf",
                "mon",
                "user",
                "secret"
            ]
        );
        let meta = RbdAgent.meta();
        for n in names {
            assert!(meta.params.iter().any(|p| p.name == n), "missing {n}");
        }
        let pool = meta.params.iter().find(|p| p.name == "pool").unwrap();
        assert_eq!(pool.default, Some("rbd"));
    }

    #[test]
    fn the_stock_meta_data_is_invalid_ocf() {
        let stock = include_str!("../../../tests/fixtures/ceph/stock-ocf-ceph-rbd-meta-data.xml");
        assert!(stock.contains("<version>0.1</version>"));
        let e =
            shared::ocf::testing::xmllint_relaxng(stock, &shared::ocf::testing::official_schema());
        assert!(e.is_err(), "the stock meta-data unexpectedly validates");
    }
}
