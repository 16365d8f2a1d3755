//! `ocf:vmmgr:rbd`: Ceph RBD images under Pacemaker, in two modes.
//!
//! - **map** (default, a drop-in for `ocf:ceph:rbd`): [`map`] maps the image with `rbd device
//!   map` (krbd or nbd), read-only for a snapshot, and monitors it through `rbd device list
//!   --format json`.
//! - **guard** (for VM disks QEMU opens through librbd): [`guard`] holds a lock tagged with the
//!   node name on each image so that no second node starts the VM; see that module for the
//!   lock scheme and the takeover of images held by a node that left the cluster.
//!
//! [`params`] declares and parses the parameters, [`agent`] dispatches the actions, [`node`]
//! answers "who am I" and "is node X still in the cluster".

pub mod agent;
pub mod guard;
pub mod map;
pub mod node;
pub mod params;

pub use agent::RbdAgent;
