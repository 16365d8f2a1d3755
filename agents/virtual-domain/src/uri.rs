//! Building the migration URIs the way the heartbeat agent does (pure functions).
//!
//! - Remote libvirt URI: `remoteuri` with `%n` replaced by the target node; otherwise the
//!   hypervisor URI rewritten to `SCHEME[+TRANSPORT]://[USER@]TARGET[SUFFIX][:PORT]/PATH`
//!   (the heartbeat `sed` rewrite; an existing `+transport` is replaced rather than
//!   appended to).
//! - Data URI: `migrateuri` (`%n`), else `--migrateuri` from `migrate_options` (`%n`), else,
//!   with `migration_network_suffix`, `tcp:TARGETSUFFIX:PORT` for qemu and `TARGETSUFFIX` for
//!   xen; otherwise none (libvirt chooses).

/// Replaces every `%n` with the target node name.
pub fn substitute_node(template: &str, node: &str) -> String {
    template.replace("%n", node)
}

/// Appends `suffix` to the short host name: `node` → `node-mig`, `node.example.com` →
/// `node-mig.example.com`.
pub fn apply_suffix(node: &str, suffix: &str) -> String {
    match node.split_once('.') {
        Some((host, domain)) => format!("{host}{suffix}.{domain}"),
        None => format!("{node}{suffix}"),
    }
}

/// The parts of the remote URI computation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoteUriInput<'a> {
    /// The local hypervisor URI (parameter, else what libvirt connected to).
    pub hypervisor: &'a str,
    /// The Pacemaker target node.
    pub target: &'a str,
    /// `remoteuri`.
    pub remoteuri: Option<&'a str>,
    /// `migration_transport`.
    pub transport: Option<&'a str>,
    /// `migration_user` (already checked).
    pub user: Option<&'a str>,
    /// `migration_network_suffix`.
    pub suffix: Option<&'a str>,
}

/// Builds the remote libvirt URI, or says why the hypervisor URI cannot be rewritten.
pub fn remote_uri(input: &RemoteUriInput<'_>) -> Result<String, String> {
    if let Some(r) = input.remoteuri {
        return Ok(substitute_node(r, input.target));
    }
    let Some((scheme, rest)) = input.hypervisor.split_once("://") else {
        return Err(format!(
            "cannot build the remote URI from hypervisor URI '{}' (no '://'); set remoteuri",
            input.hypervisor
        ));
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let port = authority
        .rsplit_once(':')
        .map(|(_, p)| p)
        .filter(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
    let driver = scheme.split('+').next().unwrap_or(scheme);
    let scheme = match input.transport {
        Some(t) => format!("{driver}+{t}"),
        None => scheme.to_owned(),
    };
    let mut host = match input.suffix {
        Some(s) => apply_suffix(input.target, s),
        None => input.target.to_owned(),
    };
    if let Some(u) = input.user {
        host = format!("{u}@{host}");
    }
    let port = port.map(|p| format!(":{p}")).unwrap_or_default();
    Ok(format!("{scheme}://{host}{port}{path}"))
}

/// The parts of the data URI computation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DataUriInput<'a> {
    /// The local hypervisor URI.
    pub hypervisor: &'a str,
    /// The Pacemaker target node.
    pub target: &'a str,
    /// `migrateuri`.
    pub migrateuri: Option<&'a str>,
    /// `--migrateuri` from `migrate_options`.
    pub options_migrateuri: Option<&'a str>,
    /// `migration_network_suffix`.
    pub suffix: Option<&'a str>,
    /// The port (`migrateport`, or the random default).
    pub port: u16,
}

/// Builds the migration data URI; `Ok(None)` lets libvirt choose. `Err` carries a warning for
/// a suffix on a hypervisor other than qemu or xen (the URI is then left to libvirt).
pub fn data_uri(input: &DataUriInput<'_>) -> Result<Option<String>, String> {
    if let Some(u) = input.migrateuri.or(input.options_migrateuri) {
        return Ok(Some(substitute_node(u, input.target)));
    }
    let Some(suffix) = input.suffix else {
        return Ok(None);
    };
    let host = apply_suffix(input.target, suffix);
    let driver = input
        .hypervisor
        .split(['+', ':'])
        .next()
        .unwrap_or(input.hypervisor);
    match driver {
        "qemu" => Ok(Some(format!("tcp:{host}:{}", input.port))),
        "xen" => Ok(Some(host)),
        other => Err(format!(
            "migration via a dedicated network is not supported for hypervisor '{other}'; \
             libvirt chooses the data URI"
        )),
    }
}

/// The heartbeat default `migrateport`: 49152 plus a pseudo-random number below 64.
pub fn random_port(seed: u64) -> u16 {
    49152 + (seed % 64) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote(h: &str) -> RemoteUriInput<'_> {
        RemoteUriInput {
            hypervisor: h,
            target: "node2",
            ..RemoteUriInput::default()
        }
    }

    #[test]
    fn suffix_goes_before_the_domain() {
        assert_eq!(apply_suffix("node2", "-mig"), "node2-mig");
        assert_eq!(
            apply_suffix("node2.example.com", "-mig"),
            "node2-mig.example.com"
        );
    }

    #[test]
    fn remote_uri_rewrites_the_hypervisor_uri() {
        assert_eq!(
            remote_uri(&remote("qemu:///system")).unwrap(),
            "qemu://node2/system"
        );
        let i = RemoteUriInput {
            transport: Some("tcp"),
            ..remote("qemu:///system")
        };
        assert_eq!(remote_uri(&i).unwrap(), "qemu+tcp://node2/system");
        let i = RemoteUriInput {
            transport: Some("ssh"),
            user: Some("admin"),
            suffix: Some("-mig"),
            ..remote("qemu+tls://node1:16514/system?no_verify=1")
        };
        assert_eq!(
            remote_uri(&i).unwrap(),
            "qemu+ssh://admin@node2-mig:16514/system?no_verify=1"
        );
        assert_eq!(
            remote_uri(&remote("xen://")).unwrap(),
            "xen://node2/",
            "no path"
        );
        assert!(remote_uri(&remote("qemu")).is_err());
    }

    #[test]
    fn remoteuri_wins_and_substitutes_n() {
        let i = RemoteUriInput {
            remoteuri: Some("qemu+ssh://%n.example/system"),
            transport: Some("tcp"),
            user: Some("u"),
            suffix: Some("-x"),
            ..remote("qemu:///system")
        };
        assert_eq!(remote_uri(&i).unwrap(), "qemu+ssh://node2.example/system");
    }

    #[test]
    fn data_uri_precedence() {
        let base = DataUriInput {
            hypervisor: "qemu:///system",
            target: "node2",
            port: 49155,
            ..DataUriInput::default()
        };
        assert_eq!(data_uri(&base).unwrap(), None);
        let i = DataUriInput {
            suffix: Some("-mig"),
            ..base.clone()
        };
        assert_eq!(
            data_uri(&i).unwrap().as_deref(),
            Some("tcp:node2-mig:49155")
        );
        let i = DataUriInput {
            options_migrateuri: Some("tcp://%n:1"),
            suffix: Some("-mig"),
            ..base.clone()
        };
        assert_eq!(data_uri(&i).unwrap().as_deref(), Some("tcp://node2:1"));
        let i = DataUriInput {
            migrateuri: Some("tcp://%n-a:2"),
            options_migrateuri: Some("tcp://%n:1"),
            ..base.clone()
        };
        assert_eq!(data_uri(&i).unwrap().as_deref(), Some("tcp://node2-a:2"));
        let i = DataUriInput {
            hypervisor: "xen:///system",
            suffix: Some("-mig"),
            ..base.clone()
        };
        assert_eq!(data_uri(&i).unwrap().as_deref(), Some("node2-mig"));
        let i = DataUriInput {
            hypervisor: "lxc:///",
            suffix: Some("-mig"),
            ..base
        };
        assert!(data_uri(&i).is_err());
    }

    #[test]
    fn random_port_range() {
        for seed in [0, 1, 63, 64, 1_000_003] {
            assert!((49152..49216).contains(&random_port(seed)));
        }
    }
}
