//! Pacemaker: typed views of its tools' output and thin wrappers around the tools.
//!
//! - [`status`]: `crm_mon --output-as=xml` → [`ClusterStatus`] (nodes, DC and quorum, resources
//!   flattened out of groups/clones/bundles with their parent, failures, fencing, history).
//! - [`cib`]: `cibadmin --query` → [`Cib`] (version, properties, nodes with attributes and
//!   utilization, the resource tree, constraints), with the XML tree kept for later edits.
//!   [`cib::tree`] reads and edits that tree by name (sections, nvpair sets with their ids,
//!   groups and primitives, constraints by id or by the resources they name, node attributes)
//!   and [`cib::history`] reads the status section's operation history per node and resource:
//!   callers never walk `configuration`/`status` elements themselves.
//! - [`tools`]: [`Tools`] runs `crm_mon`, `cibadmin`, `crm_node`, `crm_attribute`,
//!   `crm_resource`, `crm_diff`, `crm_simulate` with a deadline, on the live cluster or a
//!   `CIB_file`; [`simulate`] reads `crm_simulate`'s actions.
//! - [`argv`] and [`output`]: the pure halves of those wrappers (command lines; exit code and
//!   output interpretation), tested against recorded Pacemaker 2.1.5 outputs in
//!   `tests/fixtures/pacemaker/`.
//! - [`types`]: roles, scores. Everything is read into the XML tree of [`crate::xml`].
//!
//! Parsers never run anything and ignore elements and attributes they do not know, so a newer
//! Pacemaker adding some does not break them.

/// The text of a recorded fixture in tests/fixtures/pacemaker/.
#[cfg(test)]
macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/pacemaker/",
            $name
        ))
    };
}

pub mod argv;
pub mod cib;
pub mod crm;
pub mod derive;
pub mod error;
pub mod output;
pub mod patch;
mod precheck;
pub mod simulate;
pub mod status;
pub mod tools;
pub mod transaction;
pub mod types;

/// The XML tree, which moved to [`crate::xml`]; kept here so that `pacemaker::xml::Element`
/// paths still work.
pub use crate::xml;

pub use argv::{AttrOp, Lifetime};
pub use cib::{Cib, CibResource, CibVersion};
pub use error::PacemakerError;
pub use output::{ClusterNode, Membership};
pub use simulate::SimAction;
pub use status::{ClusterStatus, NodeStatus, ResourceStatus};
pub use tools::{PendingPatch, Target, Tools};
pub use transaction::{Committed, Edit, Plan, Transaction, TransactionError};
pub use types::{Role, Score};
