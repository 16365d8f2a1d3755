//! `vmmgr-gen-docs`: writes the man pages and shell completions that `packaging/build-deb`
//! puts in the Debian package. Not installed; run at package build time.
//!
//! - `vm-mgr`'s pages and completions come from its clap definition ([`cli_docs`]);
//! - each agent's section 7 page comes from the meta-data the given agent binary prints
//!   ([`agent_man`]), so the page describes exactly the binary that is shipped.
//!
//! Output (`--out DIR`): `man1/*.1`, `man7/*.7`, `completions/{vm-mgr.bash,_vm-mgr,vm-mgr.fish}`,
//! uncompressed; where they are installed is `build-deb`'s business.

mod agent_man;
mod cli_docs;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;

use agent_man::AgentDoc;

/// Write vm-mgr's man pages and shell completions, and the OCF agents' man pages.
#[derive(Debug, Parser)]
struct Args {
    /// Directory to write man1/, man7/ and completions/ into (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Date printed in the pages' footers (YYYY-MM-DD; the package's date, for reproducibility).
    #[arg(long, value_name = "DATE")]
    date: String,
    /// OCF agent binaries to document (each is run with `meta-data`).
    #[arg(value_name = "AGENT")]
    agents: Vec<PathBuf>,
}

fn write(dir: &Path, name: &str, contents: &[u8]) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join(name);
    std::fs::write(&path, contents).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(())
}

fn run(args: &Args) -> Result<(), String> {
    let source = format!("vm-mgr {}", env!("CARGO_PKG_VERSION"));
    let mut agent_pages = Vec::new();
    for binary in &args.agents {
        // shared::cmd runs programs by absolute path or from PATH, never relative to "."
        let binary =
            &std::path::absolute(binary).map_err(|e| format!("{}: {e}", binary.display()))?;
        let doc = AgentDoc::parse(&agent_man::meta_data_of(binary)?)
            .map_err(|e| format!("{} meta-data: {e}", binary.display()))?;
        let page = doc.page_name();
        write(
            &args.out.join("man7"),
            &format!("{page}.7"),
            doc.man_page(&args.date, &source).as_bytes(),
        )?;
        agent_pages.push(page);
    }
    let pages = cli_docs::man_pages(&args.date, &agent_pages);
    for f in &pages {
        write(&args.out.join("man1"), &f.name, &f.contents)?;
    }
    let completions = cli_docs::completions();
    for f in &completions {
        write(&args.out.join("completions"), &f.name, &f.contents)?;
    }
    println!(
        "vmmgr-gen-docs: {} section 1 and {} section 7 man pages, {} completion scripts in {}",
        pages.len(),
        agent_pages.len(),
        completions.len(),
        args.out.display()
    );
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vmmgr-gen-docs: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use vm_mgr::config::Config;

    /// The example configuration the package installs as /etc/vm-mgr/vm-mgr.conf.
    const CONFFILE: &str = include_str!("../../vm-mgr.conf");

    #[test]
    fn shipped_conffile_is_all_defaults_and_documents_every_key() {
        let path = Path::new("vm-mgr.conf");
        // as shipped (everything commented out) it changes nothing
        assert_eq!(Config::parse(CONFFILE, path).unwrap(), Config::default());
        // every commented-out "# key = value" is a key vm-mgr accepts, with a valid value
        let settings: Vec<&str> = CONFFILE
            .lines()
            .filter_map(|l| l.strip_prefix("# "))
            .filter(|l| {
                l.split_once(" = ")
                    .is_some_and(|(k, _)| k.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
            })
            .collect();
        let keys: Vec<&str> = settings
            .iter()
            .filter_map(|l| l.split_once(" = ").map(|(k, _)| k))
            .collect();
        assert_eq!(
            keys,
            [
                "pool",
                "ceph-conf",
                "ceph-id",
                "secret-uuid",
                "mon-hosts",
                "disk-guard",
                "hypervisor",
                "migration-transport",
                "storage",
                "dir",
                "storage-resource",
                "trash-days"
            ]
        );
        let uncommented = settings.join("\n");
        let c = Config::parse(&uncommented, path).unwrap();
        assert_eq!(c.pool, "rbd");
        assert_eq!(c.ceph_id, "admin");
        assert!(c.disk_guard);
        assert_eq!(c.hypervisor, "qemu:///system");
        assert_eq!(c.storage, vm_mgr::vm::Backend::Rbd);
        assert_eq!(c.trash_days, 7);
    }
}
