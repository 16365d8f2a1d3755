//! `vm-mgr`: the operator CLI for highly available VMs on Pacemaker and Ceph RBD.
//!
//! Floors that only look down (each module uses only the floors below it; `layering_tests`
//! fails on an import cycle, on a verb using another verb, and on `error` using anything):
//! 1. [`cli`] (flags) and `main_with_args` here: parse, build the [`ctx::Ctx`], run one verb,
//!    map its error to an exit code.
//! 2. [`commands`]: one module per verb, read top to bottom: check, plan, storage work, one
//!    transaction, wait, report. A verb never calls another verb.
//! 3. The services the verbs share: [`cluster`] (read, change in one transaction, the one wait
//!    loop, confirm Stopped, budgets), [`steps`] (teardown, enabling, snapshots, copying),
//!    [`placement`] (plan moves, preflight), [`storage`] and [`checks`] (what `doctor` finds).
//! 4. The model: [`vm`], [`domain`], [`disk_xml`], [`resources`], [`fragment`], [`guest_node`],
//!    [`state`] (pure, tested on recorded CIBs and domain XML).
//! 5. Leaves: [`error`] (the error type and exit codes), [`output`] (rendering), time: `shared::clock`.
//!
//! Pacemaker, Ceph and libvirt are reached through `shared`'s typed calls. Every verb that
//! changes something logs one line to syslog ([`audit`]).

pub mod audit;
pub mod checks;
pub mod cli;
pub mod cli_balance;
pub mod cli_change;
pub mod cli_copies;
pub mod cli_create;
mod cli_ctx;
pub mod cli_guest;
pub mod cli_placement;
pub mod cli_trash;
pub mod cli_view;
pub mod cli_xml;
pub mod cluster;
pub mod commands;
pub mod config;
pub mod ctx;
pub mod diff;
pub mod disk_xml;
pub mod domain;
pub mod domain_edit;
pub mod error;
mod error_from;
pub mod fragment;
pub mod guest_node;
pub mod history;
pub mod output;
pub mod placement;
pub mod resources;
pub mod state;
pub mod steps;
pub mod storage;
pub mod vm;

#[cfg(test)]
mod dry_run_tests;
#[cfg(test)]
mod exit_code_tests;
#[cfg(test)]
mod ownership_tests;
#[cfg(test)]
mod property_tests;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

/// Parses the command line, runs the verb, prints its outcome or the error chain, and returns
/// the documented exit code. SIGINT and SIGTERM are caught for the whole run
/// ([`cluster::interrupt`]): the verb fails as on an error (undoing what it made), and the
/// exit code is 130.
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
    cluster::interrupt::install();
    let result = ctx::Ctx::from_cli(&cli).and_then(|ctx| {
        // Names are checked before anything runs.
        if let Some(name) = cli.vm_name() {
            vm::validate_name(name)?;
        }
        if !audit::changes(&cli) {
            return commands::run(&cli, &ctx);
        }
        // Every change is logged (issue 15), with the CIB version around it.
        let before = audit::cib_version(&ctx);
        let result = commands::run(&cli, &ctx);
        let error = result.as_ref().err().map(|e| error::chain(e).join(": "));
        audit::log(&cli, &before, &audit::cib_version(&ctx), error.as_deref());
        result
    });
    let interrupted = cluster::interrupt::was_interrupted();
    let layout = output::Layout::choose(cli.layout_asked(), std::io::stdout().is_terminal());
    match result {
        Ok(outcome) => match emit(&outcome.render_as(cli.output, layout)) {
            Ok(()) if interrupted => {
                eprintln!(
                    "vm-mgr {}: the interrupt came when the work was done; nothing was undone",
                    cli.command.verb()
                );
                ExitCode::from(outcome.exit_code)
            }
            Ok(()) => ExitCode::from(outcome.exit_code),
            Err(e) => {
                eprintln!(
                    "vm-mgr {}: cannot write the output: {e}",
                    cli.command.verb()
                );
                ExitCode::from(error::EXIT_FAILED)
            }
        },
        Err(e) => {
            if let Some(text) = commands::text_on_error(&cli, &e) {
                let _ = emit(&text);
            }
            report_error(&cli, &e, interrupted)
        }
    }
}

/// Prints the error chain (and, with `--output json`, the error as JSON on stdout); returns
/// its exit code, 130 for any error after SIGINT or SIGTERM (`interrupted`).
fn report_error(cli: &cli::Cli, e: &error::Error, interrupted: bool) -> ExitCode {
    let mut lines = error::chain(e);
    let code = if interrupted {
        if !lines[0].starts_with("Interrupted") {
            lines.insert(0, "interrupted".to_owned());
        }
        error::EXIT_INTERRUPTED
    } else {
        e.exit_code()
    };
    eprintln!("vm-mgr {}: {}", cli.command.verb(), lines[0]);
    for l in &lines[1..] {
        eprintln!("  caused by: {l}");
    }
    if cli.output == cli::OutputFormat::Json {
        let json = serde_json::json!({
            "error": lines[0],
            "causes": &lines[1..],
            "exit_code": code,
        });
        let _ = emit(&format!(
            "{}\n",
            serde_json::to_string_pretty(&json).unwrap_or_default()
        ));
    }
    ExitCode::from(code)
}

/// Writes `text` to stdout. A reader that went away (`vm-mgr list | head -1`: EPIPE) is not an
/// error of vm-mgr's: the rest is dropped quietly, as ripgrep does, where `print!` would panic.
/// Any other write error (a full disk) is returned.
fn emit(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod layering_tests;
