//! The steps verbs share (floor 3, beside [`crate::cluster`]): a verb never calls another
//! verb; where two verbs do the same thing, it is a step here that both call.

pub mod changing;
pub mod clone_xml;
pub mod copying;
pub mod creating;
pub mod dir_live;
pub mod enabling;
pub mod quiesce;
pub mod snapshots;
pub mod stored;
pub mod teardown;
pub mod trash;
pub mod xml_change;
