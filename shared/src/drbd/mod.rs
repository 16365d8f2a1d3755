//! DRBD 9: state from `drbdsetup events2`, the promotion-score rules of `ocf:linbit:drbd`, and
//! `drbdadm` calls.
//!
//! - [`events`]: the DRBD state vocabulary (roles, disk, connection and replication states)
//!   and a pure parser of `drbdsetup events2 --now <res>` into a [`ResourceStatus`];
//! - [`score`]: the promotion score as a pure function of that state ([`score::decide`]);
//! - [`adm`]: `drbdadm`/`drbdsetup` through [`crate::cmd::Cmd`] with deadlines, plus parsers
//!   of `drbdadm dump-xml` and `drbdadm --version`;
//! - [`error`]: the module's one error type, [`DrbdError`].
//!
//! DRBD cannot run on the test machines (no kernel module): the parsers are tested on
//! transcriptions of real outputs in `tests/fixtures/drbd/`, and the agent end to end against
//! the DRBD simulator in `tests/drbd-sim/`.

pub mod adm;
pub mod error;
pub mod events;
pub mod score;

pub use adm::{check_resource_name, events2_now, Drbdadm, Events2, ResourceConfig, Versions};
pub use error::DrbdError;
pub use events::{
    parse_events2_now, Connection, ConnectionState, Device, DiskState, PeerDevice,
    ReplicationState, ResourceStatus, Role,
};
pub use score::{decide, Decision, PeerPrimaryPolicy, ScoreAction, ScoreSettings, Summary};
