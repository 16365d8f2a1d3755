//! Editing what a VM keeps in its storage: the CIB fragment of a disabled VM (so that enable
//! brings the change back) and the settings (for clone, import and a rebuilt fragment). What
//! set-placement and add/remove-pacemaker-remote share.

use shared::xml::Element;

use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::fragment::{self, Fragment, FragmentError};
use crate::vm::{Settings, VmIds, META_FRAGMENT, META_SETTINGS};

/// Applies `apply` to the fragment kept for disabled VM `name`; whether it changed. Nothing is
/// written in a dry run.
pub fn edit_fragment(
    ctx: &Ctx,
    name: &str,
    apply: &dyn Fn(&mut Element) -> Result<bool, FragmentError>,
) -> Result<bool> {
    let ids = VmIds::new(name);
    let meta = ctx
        .storage
        .meta_list(&ids.system_image())
        .map_err(crate::cluster::vm_storage_error(name))?;
    let stored = super::enabling::stored_fragment(name, &meta, &ctx.ceph_access())?;
    // A scratch CIB holding exactly the stored fragment (constraints naming other, maybe
    // disabled, resources included: `fragment::insert` would drop those).
    let mut tree = stored.scratch_cib();
    if !apply(&mut tree).map_err(|e| Error::from(shared::pacemaker::TransactionError::Edit(e)))? {
        return Ok(false);
    }
    let edited: Fragment = fragment::extract(&tree, name).ok_or_else(|| Error::Stored {
        name: name.to_owned(),
        what: "CIB fragment",
        detail: "it has no group".into(),
    })?;
    if !ctx.dry_run {
        ctx.storage
            .meta_set(&ids.system_image(), META_FRAGMENT, &edited.to_xml())?;
    }
    Ok(true)
}

/// Changes VM `name`'s stored settings with `change`, when it has some (a VM made by hand, or
/// with `--no-storage`, has none: nothing to keep in step). Nothing is written in a dry run.
pub fn update_settings(ctx: &Ctx, name: &str, change: impl FnOnce(&mut Settings)) -> Result<()> {
    if ctx.dry_run || !ctx.storage.available() {
        return Ok(());
    }
    let image = VmIds::new(name).system_image();
    let Ok(meta) = ctx.storage.meta_list(&image) else {
        return Ok(());
    };
    let Some(json) = meta.get(META_SETTINGS) else {
        return Ok(());
    };
    let mut s = Settings::from_json(name, json)?;
    change(&mut s);
    ctx.storage.meta_set(&image, META_SETTINGS, &s.to_json())?;
    Ok(())
}
