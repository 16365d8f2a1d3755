//! Whether Pacemaker would take a CIB patch, found at a cost that does not double with the
//! CIB (issue 17): [`Tools::check_change`], the check `create` and the other verbs that copy a
//! VM make before their storage work, and a dry run of `create` instead of its patch.
//!
//! `cibadmin --patch` on a private copy of the CIB ([`Tools::check_patch`]) loads the copy and
//! checks it against the schema, copies it, tracks the changes, checks the schema again and
//! writes the file back: on a 6 MB CIB of 1,000 VMs about 1.4 s of CPU, more than one
//! `crm_mon`. The same checks, split in two runs of Pacemaker's own code on the configuration:
//! 1. `crm_diff --cib --patch` applies the patch to a copy of the CIB (Pacemaker's patch code,
//!    with the same version check: exit 103 is [`PacemakerError::PatchRejected`]; a path it
//!    cannot follow is a failure of `crm_diff`);
//! 2. `cibadmin --query` on the result: a CIB file is checked against its schema as it is
//!    loaded (value types, unique ids, references), and refused with exit 78
//!    ([`PacemakerError::SchemaRefused`]).
//!
//! The copy leaves out the status section when the patch changes only the configuration: the
//! status holds no id or reference the schema checks against the configuration (its ids repeat
//! the resources' and nodes'), and it is what the patch does not touch. Together about 0.6 s
//! on that CIB.

use std::path::PathBuf;
use std::time::Instant;

use super::argv;
use super::cib::Cib;
use super::error::PacemakerError;
use super::output;
use super::tools::{Target, Tools};
use crate::xml::Element;

impl Tools {
    /// Whether Pacemaker takes `patch` (made against `cib`) on that CIB: applied by
    /// `crm_diff`, the result checked by `cibadmin` against the schema, both on private copies
    /// (mode 0600 in a 0700 directory, removed after). Nothing reaches any CIB.
    pub fn check_change(cib: &Cib, patch: &str, deadline: Instant) -> Result<(), PacemakerError> {
        let temp_err = |path: PathBuf| move |source| PacemakerError::TempFile { path, source };
        let dir = crate::tempdir::PrivateDir::new("vmmgr-check")
            .map_err(temp_err(std::env::temp_dir()))?;
        let text = if configuration_only(patch)? {
            cib.element().to_xml_without("status")
        } else {
            cib.raw().to_owned()
        };
        let original = dir
            .write("cib.xml", &text)
            .map_err(temp_err(dir.path().join("cib.xml")))?;
        drop(text);
        let patch_file = dir
            .write("patch.xml", patch)
            .map_err(temp_err(dir.path().join("patch.xml")))?;
        // crm_diff reads no CIB_file; the target only keeps the live CIB out of reach.
        let applied = Tools::new(Target::File(original.clone())).run(
            &argv::crm_diff_apply(&original, &patch_file)?,
            deadline,
            output::crm_diff_apply,
        )?;
        let result = dir
            .write("new.xml", &applied)
            .map_err(temp_err(dir.path().join("new.xml")))?;
        drop(applied);
        Tools::new(Target::File(result)).run(
            &argv::cib_load_check(),
            deadline,
            output::cib_load_check,
        )
    }
}

/// Whether every change of `patch` is below `/cib/configuration`, or the version attributes
/// of `/cib` itself (a `modify` of the root): then the status section plays no part.
fn configuration_only(patch: &str) -> Result<bool, PacemakerError> {
    let diff = Element::parse(patch, "the patch")?;
    let only = diff.children_named("change").all(|c| {
        let path = c.attr("path").unwrap_or("");
        path.starts_with("/cib/configuration")
            || (path == "/cib" && c.attr("operation") == Some("modify"))
    });
    Ok(only)
}

#[cfg(test)]
#[path = "precheck_tests.rs"]
mod tests;
