//! The agent's state directory: `$HA_RSCTMP/vmmgr-VirtualDomain` (default
//! `/run/resource-agents/vmmgr-VirtualDomain`, a tmpfs, emptied at boot like the domains).
//!
//! Per resource instance `INST`:
//! - `INST.name`: the domain name, written whenever the config was read, so that a probe or
//!   stop can still find the domain when the config is unreadable (never removed: a stale
//!   name only makes a probe look for a domain that is not there);
//! - `INST.util`: the utilization values last written to the CIB from this node, so that a
//!   monitor writes only changes (removed on start and migrate_from, so each start writes once).

use std::fs;
use std::io::{self, Write};
use std::path::PathBuf;

/// Default of `HA_RSCTMP` (resource-agents' shell library).
pub const DEFAULT_RSCTMP: &str = "/run/resource-agents";

/// The state directory of this agent.
#[derive(Debug, Clone)]
pub struct StateDir {
    dir: PathBuf,
}

/// Returns true if `instance` can be used as a file name: letters, digits, `_ . : @ -`, not
/// starting with `.`.
pub fn valid_instance(instance: &str) -> bool {
    !instance.is_empty()
        && !instance.starts_with('.')
        && instance.len() <= 200
        && instance
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '@' | '-'))
}

impl StateDir {
    /// The directory under `rsctmp` (`HA_RSCTMP`, else [`DEFAULT_RSCTMP`]).
    pub fn new(rsctmp: Option<&str>) -> StateDir {
        let base = rsctmp
            .filter(|s| s.starts_with('/'))
            .unwrap_or(DEFAULT_RSCTMP);
        StateDir {
            dir: PathBuf::from(base).join("vmmgr-VirtualDomain"),
        }
    }

    fn file(&self, instance: &str, ext: &str) -> Option<PathBuf> {
        valid_instance(instance).then(|| self.dir.join(format!("{instance}.{ext}")))
    }

    fn read(&self, instance: &str, ext: &str) -> Option<String> {
        shared::fsread::read_text(&self.file(instance, ext)?, shared::fsread::XML_CAP).ok()
    }

    fn write(&self, instance: &str, ext: &str, content: &str) -> io::Result<()> {
        let Some(path) = self.file(instance, ext) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("resource instance name '{instance}' is not usable as a file name"),
            ));
        };
        if self.read(instance, ext).as_deref() == Some(content) {
            return Ok(());
        }
        fs::create_dir_all(&self.dir)?;
        let tmp = self
            .dir
            .join(format!(".{instance}.{ext}.{}", std::process::id()));
        let mut f = fs::File::create(&tmp)?;
        f.write_all(content.as_bytes())?;
        f.sync_all()?;
        fs::rename(&tmp, &path)
    }

    /// The remembered domain name of `instance`.
    pub fn remembered_name(&self, instance: &str) -> Option<String> {
        self.read(instance, "name")
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    }

    /// Remembers the domain name of `instance` (no write when unchanged).
    pub fn remember_name(&self, instance: &str, name: &str) -> io::Result<()> {
        self.write(instance, "name", &format!("{name}\n"))
    }

    /// Domain names remembered for instances other than `instance`.
    pub fn other_names(&self, instance: &str) -> Vec<String> {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|e| {
                let file = e.file_name().into_string().ok()?;
                let inst = file.strip_suffix(".name")?;
                (inst != instance && valid_instance(inst))
                    .then(|| self.remembered_name(inst))
                    .flatten()
            })
            .collect()
    }

    /// The cached utilization text of `instance`.
    pub fn util_cache(&self, instance: &str) -> Option<String> {
        self.read(instance, "util")
    }

    /// Stores the utilization text of `instance`.
    pub fn set_util_cache(&self, instance: &str, text: &str) -> io::Result<()> {
        self.write(instance, "util", text)
    }

    /// Forgets the utilization cache of `instance`.
    pub fn clear_util_cache(&self, instance: &str) {
        if let Some(p) = self.file(instance, "util") {
            let _ = fs::remove_file(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp() -> (StateDir, PathBuf) {
        let base = std::env::temp_dir().join(format!(
            "vd-state-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = fs::remove_dir_all(&base);
        (StateDir::new(base.to_str()), base)
    }

    #[test]
    fn instance_names() {
        assert!(valid_instance("vm1") && valid_instance("vm:0") && valid_instance("a_b-c.d"));
        for bad in ["", ".x", "a/b", "a b", "..", "x\n"] {
            assert!(!valid_instance(bad), "{bad:?}");
        }
    }

    #[test]
    fn remembers_names_and_utilization() {
        let (s, base) = temp();
        assert_eq!(s.remembered_name("vm1"), None);
        s.remember_name("vm1", "dom1").unwrap();
        s.remember_name("vm1", "dom1").unwrap();
        s.remember_name("vm2", "dom2").unwrap();
        assert_eq!(s.remembered_name("vm1").as_deref(), Some("dom1"));
        assert_eq!(s.other_names("vm1"), ["dom2"]);
        assert!(s.remember_name("../x", "d").is_err());
        s.set_util_cache("vm1", "cpu=1\n").unwrap();
        assert_eq!(s.util_cache("vm1").as_deref(), Some("cpu=1\n"));
        s.clear_util_cache("vm1");
        assert_eq!(s.util_cache("vm1"), None);
        let _ = fs::remove_dir_all(base);
    }

    #[test]
    fn relative_rsctmp_is_ignored() {
        let s = StateDir::new(Some("relative"));
        assert_eq!(
            s.file("vm", "name").unwrap(),
            PathBuf::from("/run/resource-agents/vmmgr-VirtualDomain/vm.name")
        );
    }
}
