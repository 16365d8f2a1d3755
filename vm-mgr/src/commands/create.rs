//! `create`: a VM from a domain XML and disk images ([`crate::steps::creating`], which
//! `add-to-cluster` shares).

use crate::cli::CreateArgs;
use crate::ctx::Ctx;
use crate::error::Result;
use crate::output::Outcome;

/// Runs `create`.
pub fn run(ctx: &Ctx, a: &CreateArgs) -> Result<Outcome> {
    crate::steps::creating::create(ctx, a)
}
