//! `vm-mgr`: the operator CLI for highly available VMs on Pacemaker and Ceph RBD.
//!
//! Flow of a verb (see `commands`): parse flags ([`cli`]), load the VM from storage
//! ([`storage`], [`vm`]), do the storage work, build the CIB fragment ([`fragment`]), apply it
//! as one CIB transaction (`shared::pacemaker::Transaction`), wait on `crm_mon`
//! ([`state`]), print text or JSON ([`output`]). Exit codes: [`error`].

pub mod cli;
pub mod cli_placement;
pub mod commands;
pub mod config;
pub mod ctx;
pub mod domain;
pub mod error;
pub mod fragment;
pub mod output;
pub mod placement;
pub mod state;
pub mod storage;
pub mod vm;

use std::process::ExitCode;

use clap::Parser;

/// Parses the command line, runs the verb, prints its outcome or the error chain, and returns
/// the documented exit code.
pub fn main_with_args<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match cli::Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(error::EXIT_USAGE));
        }
    };
    let result = ctx::Ctx::from_cli(&cli).and_then(|ctx| {
        // Names are checked before anything runs.
        if let Some(name) = cli.vm_name() {
            vm::validate_name(name)?;
        }
        commands::run(&cli, &ctx)
    });
    match result {
        Ok(outcome) => {
            print!("{}", outcome.render(cli.output));
            ExitCode::from(error::EXIT_OK)
        }
        Err(e) => {
            let lines = error::chain(&e);
            eprintln!("vm-mgr {}: {}", cli.command.verb(), lines[0]);
            for l in &lines[1..] {
                eprintln!("  caused by: {l}");
            }
            if cli.output == cli::OutputFormat::Json {
                let json = serde_json::json!({
                    "error": lines[0],
                    "causes": &lines[1..],
                    "exit_code": e.exit_code(),
                });
                println!(
                    "{}",
                    serde_json::to_string_pretty(&json).unwrap_or_default()
                );
            }
            ExitCode::from(e.exit_code())
        }
    }
}
