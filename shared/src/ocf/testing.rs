//! Helpers for agents' tests: validate meta-data against the OCF 1.1 schemas with `xmllint`.
//!
//! These spawn `xmllint` directly (test tooling, not agent code). A missing `xmllint` or schema
//! file is an error, never a silent pass: CI installs `libxml2-utils` and `pcs`.
//!
//! ```no_run
//! # struct MyAgent;
//! # impl shared::ocf::Agent for MyAgent {
//! #     fn meta(&self) -> shared::ocf::AgentMeta { unimplemented!() }
//! #     fn handle(&self, _: &shared::ocf::Action, _: &shared::ocf::Context)
//! #         -> Result<shared::ocf::OcfRc, shared::ocf::OcfError> { unimplemented!() }
//! # }
//! use shared::ocf::{testing, Agent};
//! testing::assert_valid_meta(&MyAgent.meta());
//! ```

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::meta::AgentMeta;
use crate::cmd::Cmd;

/// pcs's relaxed OCF 1.1 schema, installed with the `pcs` package.
pub const PCS_SCHEMA: &str = "/usr/share/pcs/data/ocf-1.1.rng";

/// Returns the path of the official OCF 1.1 schema kept in the workspace
/// (`tests/fixtures/schemas/ocf-ra-api-1.1.rng`).
pub fn official_schema() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("tests/fixtures/schemas/ocf-ra-api-1.1.rng")
}

/// Validates `xml` with `xmllint --noout --relaxng <schema> -`, returning a description of the
/// failure (including xmllint's output) when xmllint is missing, the schema is missing, or the
/// document is invalid.
pub fn xmllint_relaxng(xml: &str, schema: &Path) -> Result<(), String> {
    if !schema.is_file() {
        return Err(format!(
            "schema {} not found (install pcs for the pcs schema; the official one lives in \
             tests/fixtures/schemas)",
            schema.display()
        ));
    }
    xmllint(xml, &[OsStr::new("--relaxng"), schema.as_os_str()])
}

/// Validates `xml` with `xmllint --noout --valid -`, the check `ocf-tester` runs: against the
/// DTD the document itself carries.
pub fn xmllint_dtd(xml: &str) -> Result<(), String> {
    xmllint(xml, &[OsStr::new("--valid")])
}

fn xmllint(xml: &str, args: &[&OsStr]) -> Result<(), String> {
    let out = Cmd::new("xmllint")
        .arg("--noout")
        .args(args)
        .arg("-")
        .stdin_bytes(xml.as_bytes())
        .timeout(Duration::from_secs(30))
        .output()
        .map_err(|e| format!("cannot run xmllint (install libxml2-utils): {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`{}` failed ({}):\n{}{}",
            Cmd::new("xmllint")
                .arg("--noout")
                .args(args)
                .arg("-")
                .cmdline(),
            out.status,
            out.stdout_str(),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// Panics unless `meta` has no [`lint`](AgentMeta::lint) problems and its XML validates
/// against its internal OCF 1.1 DTD (as `ocf-tester` checks), the official OCF 1.1 schema and
/// pcs's schema.
pub fn assert_valid_meta(meta: &AgentMeta) {
    let problems = meta.lint();
    assert!(
        problems.is_empty(),
        "meta-data of {} has problems:\n  {}",
        meta.name,
        problems.join("\n  ")
    );
    let xml = meta.to_xml();
    if let Err(e) = xmllint_dtd(&xml) {
        panic!(
            "meta-data of {} is invalid: {e}\n--- XML ---\n{xml}",
            meta.name
        );
    }
    for schema in [official_schema(), PathBuf::from(PCS_SCHEMA)] {
        if let Err(e) = xmllint_relaxng(&xml, &schema) {
            panic!(
                "meta-data of {} is invalid: {e}\n--- XML ---\n{xml}",
                meta.name
            );
        }
    }
}
