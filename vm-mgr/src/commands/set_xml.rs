//! `set-xml -n VM --xml FILE`: replace the VM's stored domain XML (see
//! [`crate::steps::xml_change`]): checked as create checks one (name, UUID kept, the VM's own
//! disks, libvirt's schema, the size limit), the diff printed, stored, applied at the VM's
//! next start. `--dry-run` prints the diff and writes nothing.

use crate::cli_xml::SetXmlArgs;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::output::Outcome;
use crate::steps::xml_change;

/// Runs `set-xml`.
pub fn run(ctx: &Ctx, a: &SetXmlArgs) -> Result<Outcome> {
    // The VM first: an unknown VM is exit 3 whatever the file.
    let current = xml_change::current(ctx, &a.name)?;
    let text = shared::fsread::read_text(&a.xml, shared::fsread::XML_CAP).map_err(|source| {
        Error::ReadFile {
            path: a.xml.clone(),
            source,
        }
    })?;
    let what = a.xml.display().to_string();
    let proposal = xml_change::propose(ctx, current, &text, &what)?;
    xml_change::store(ctx, &proposal, "set-xml")
}
