//! `migrate_options`: the heartbeat agent's extra `virsh migrate` options, mapped to libvirt
//! flags and migration parameters (pure; the mapping is documented in the meta-data).

use shared::libvirt::MigrateFlag;

/// What `migrate_options` asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrateOptions {
    /// Flags besides `VIR_MIGRATE_LIVE`, which is always set.
    pub flags: Vec<MigrateFlag>,
    /// `--p2p`: peer-to-peer migration.
    pub p2p: bool,
    /// `--migrateuri`: the data URI (may contain `%n`).
    pub migrateuri: Option<String>,
    /// `--listen-address`.
    pub listen_address: Option<String>,
    /// `--bandwidth`, MiB/s.
    pub bandwidth_mib: Option<u64>,
    /// `--parallel-connections`.
    pub parallel_connections: Option<i32>,
    /// `--comp-methods`.
    pub compression: Option<String>,
    /// `--tls-destination`.
    pub tls_destination: Option<String>,
}

const FLAGS: &[(&str, MigrateFlag)] = &[
    ("--tunnelled", MigrateFlag::Tunnelled),
    ("--persistent", MigrateFlag::PersistDest),
    ("--undefinesource", MigrateFlag::UndefineSource),
    ("--suspend", MigrateFlag::Paused),
    ("--copy-storage-all", MigrateFlag::NonSharedDisk),
    ("--copy-storage-inc", MigrateFlag::NonSharedInc),
    ("--change-protection", MigrateFlag::ChangeProtection),
    ("--unsafe", MigrateFlag::Unsafe),
    ("--compressed", MigrateFlag::Compressed),
    ("--abort-on-error", MigrateFlag::AbortOnError),
    ("--auto-converge", MigrateFlag::AutoConverge),
    ("--rdma-pin-all", MigrateFlag::RdmaPinAll),
    ("--postcopy", MigrateFlag::Postcopy),
    ("--tls", MigrateFlag::Tls),
    ("--parallel", MigrateFlag::Parallel),
];

const VALUED: &[&str] = &[
    "--migrateuri",
    "--listen-address",
    "--bandwidth",
    "--parallel-connections",
    "--comp-methods",
    "--tls-destination",
];

/// Options of `virsh migrate` that this agent deliberately does not support, with the reason.
const REJECTED: &[(&str, &str)] = &[
    ("--offline", "the agent always migrates live"),
    (
        "--direct",
        "direct (hypervisor-native) migration is not supported",
    ),
    (
        "--dname",
        "renaming the domain would hide it from the agent",
    ),
    (
        "--xml",
        "the destination XML comes from the 'config' parameter",
    ),
    (
        "--persistent-xml",
        "the destination XML comes from the 'config' parameter",
    ),
    (
        "--desturi",
        "the destination comes from remoteuri or the target node",
    ),
    ("--domain", "the domain comes from the 'config' parameter"),
    ("--timeout", "the operation timeout bounds the migration"),
    (
        "--timeout-suspend",
        "the operation timeout bounds the migration",
    ),
    (
        "--timeout-postcopy",
        "the operation timeout bounds the migration",
    ),
    ("--postcopy-after-precopy", "not supported"),
    ("--async", "the agent waits for the migration"),
];

fn positive<T: std::str::FromStr + PartialOrd + Default>(opt: &str, v: &str) -> Result<T, String> {
    v.parse::<T>()
        .ok()
        .filter(|n| *n > T::default())
        .ok_or_else(|| format!("migrate_options: {opt} needs a positive number, got '{v}'"))
}

/// Parses `migrate_options` (whitespace-separated, as the heartbeat agent split it).
pub fn parse(text: &str) -> Result<MigrateOptions, String> {
    let mut out = MigrateOptions::default();
    let mut words = text.split_whitespace();
    while let Some(word) = words.next() {
        let (name, inline) = match word.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (word, None),
        };
        if let Some((_, flag)) = FLAGS.iter().find(|(n, _)| *n == name) {
            if inline.is_some() {
                return Err(format!("migrate_options: {name} takes no value"));
            }
            if !out.flags.contains(flag) {
                out.flags.push(*flag);
            }
            continue;
        }
        match name {
            "--live" | "--verbose" if inline.is_none() => continue,
            "--p2p" if inline.is_none() => {
                out.p2p = true;
                continue;
            }
            _ => {}
        }
        if VALUED.contains(&name) {
            let value = match inline {
                Some(v) => v.to_owned(),
                None => words
                    .next()
                    .filter(|v| !v.starts_with("--"))
                    .ok_or_else(|| format!("migrate_options: {name} needs a value"))?
                    .to_owned(),
            };
            if value.is_empty() {
                return Err(format!("migrate_options: {name} needs a value"));
            }
            match name {
                "--migrateuri" => out.migrateuri = Some(value),
                "--listen-address" => out.listen_address = Some(value),
                "--bandwidth" => out.bandwidth_mib = Some(positive(name, &value)?),
                "--parallel-connections" => {
                    out.parallel_connections = Some(positive(name, &value)?);
                }
                "--comp-methods" => out.compression = Some(value),
                _ => out.tls_destination = Some(value),
            }
            continue;
        }
        if let Some((_, why)) = REJECTED.iter().find(|(n, _)| *n == name) {
            return Err(format!("migrate_options: {name} is not supported ({why})"));
        }
        return Err(format!(
            "migrate_options: unknown option '{word}' (see the parameter's description for \
             the supported virsh migrate options)"
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_is_nothing() {
        assert_eq!(parse("").unwrap(), MigrateOptions::default());
        assert_eq!(
            parse("  --live --verbose ").unwrap(),
            MigrateOptions::default()
        );
    }

    #[test]
    fn flags_map_to_libvirt() {
        let o = parse("--p2p --tunnelled --auto-converge --auto-converge --compressed").unwrap();
        assert!(o.p2p);
        assert_eq!(
            o.flags,
            [
                MigrateFlag::Tunnelled,
                MigrateFlag::AutoConverge,
                MigrateFlag::Compressed
            ]
        );
    }

    #[test]
    fn valued_options_both_forms() {
        let o = parse(
            "--migrateuri=tcp://%n-mig:49152 --bandwidth 100 --listen-address=0.0.0.0 \
             --parallel-connections=4 --comp-methods xbzrle --tls-destination x.example",
        )
        .unwrap();
        assert_eq!(o.migrateuri.as_deref(), Some("tcp://%n-mig:49152"));
        assert_eq!(o.bandwidth_mib, Some(100));
        assert_eq!(o.listen_address.as_deref(), Some("0.0.0.0"));
        assert_eq!(o.parallel_connections, Some(4));
        assert_eq!(o.compression.as_deref(), Some("xbzrle"));
        assert_eq!(o.tls_destination.as_deref(), Some("x.example"));
    }

    #[test]
    fn rejects_with_reasons() {
        let e = parse("--offline").unwrap_err();
        assert!(e.contains("--offline") && e.contains("live"), "{e}");
        let e = parse("--frobnicate").unwrap_err();
        assert!(e.contains("unknown option '--frobnicate'"), "{e}");
        assert!(parse("--bandwidth").unwrap_err().contains("needs a value"));
        assert!(parse("--bandwidth --p2p")
            .unwrap_err()
            .contains("needs a value"));
        assert!(parse("--bandwidth=-3").unwrap_err().contains("positive"));
        assert!(parse("--tunnelled=yes").unwrap_err().contains("no value"));
        assert!(parse("--dname x").unwrap_err().contains("renaming"));
    }
}
