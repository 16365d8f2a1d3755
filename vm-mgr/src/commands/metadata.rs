//! `get-metadata`, `set-metadata`, `list-metadata`: user keys in the metadata of the VM's
//! system image. vm-mgr's own keys (`xml`, `vm_name`, `_*`) are hidden unless `--all` and
//! cannot be set.

use serde_json::json;

use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::output::Outcome;
use crate::vm::{is_internal_key, validate_user_key, VmIds};

/// `get-metadata`.
pub fn get(ctx: &Ctx, name: &str, key: &str) -> Result<Outcome> {
    let image = VmIds::new(name).system_image();
    let value = ctx
        .storage
        .meta_get(&image, key)
        .map_err(crate::cluster::vm_storage_error(name))?
        .ok_or_else(|| Error::invalid(format!("VM {name} has no metadata key {key:?}.")))?;
    Ok(Outcome::new(
        json!({"name": name, "key": key, "value": value}),
        format!("{value}\n"),
    ))
}

/// `set-metadata`.
pub fn set(ctx: &Ctx, name: &str, key: &str, value: &str) -> Result<Outcome> {
    validate_user_key(key)?;
    ctx.storage.check_meta(key, value)?;
    let image = VmIds::new(name).system_image();
    if !ctx.storage.image_exists(&image)? {
        return Err(Error::NoSuchVm {
            name: name.to_owned(),
        });
    }
    if ctx.dry_run {
        let action = format!("set metadata {key} on {}/{image}", ctx.storage.pool());
        return Ok(crate::output::dry_run_outcome(
            name,
            "set-metadata",
            &[action],
            None,
        ));
    }
    ctx.storage
        .meta_set(&image, key, value)
        .map_err(crate::cluster::vm_storage_error(name))?;
    Ok(Outcome::new(
        json!({"name": name, "key": key, "value": value}),
        format!("{name}: {key} set\n"),
    ))
}

/// `list-metadata`.
pub fn list(ctx: &Ctx, name: &str, all: bool) -> Result<Outcome> {
    let image = VmIds::new(name).system_image();
    let meta = ctx
        .storage
        .meta_list(&image)
        .map_err(crate::cluster::vm_storage_error(name))?;
    let shown: serde_json::Map<String, serde_json::Value> = meta
        .into_iter()
        .filter(|(k, _)| all || !is_internal_key(k))
        .map(|(k, v)| (k, json!(v)))
        .collect();
    let text: String = shown.keys().map(|k| format!("{k}\n")).collect();
    Ok(Outcome::new(json!({"name": name, "metadata": shown}), text))
}
