//! Validated names and Ceph client addresses.
//!
//! Names come from the CIB or an operator and end up on `rbd`/`rados` argvs and inside
//! `pool/namespace/image@snap` specs, so they are checked first: non-empty, at most 250
//! characters of `[A-Za-z0-9._+:=~-]`, not starting with `-` (it would read as an option), and
//! never `.` or `..`. That is narrower than what Ceph accepts (no `/`, `@`, spaces), which is
//! the point: no separator can be smuggled into a spec.

use std::fmt;
use std::net::IpAddr;
use std::path::Path;
use std::str::FromStr;

use super::error::CephError;

const MAX_NAME: usize = 250;

/// Checks one name (see the [module docs](self)); `what` names it in the error.
pub fn validate_name(what: &'static str, value: &str) -> Result<(), CephError> {
    let err = |reason| CephError::InvalidName {
        what,
        value: value.to_string(),
        reason,
    };
    if value.is_empty() {
        return Err(err("must not be empty"));
    }
    if value.len() > MAX_NAME {
        return Err(err("longer than 250 characters"));
    }
    if value.starts_with('-') {
        return Err(err("must not start with '-'"));
    }
    if value == "." || value == ".." {
        return Err(err("must not be '.' or '..'"));
    }
    if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._+:=~-".contains(c))
    {
        return Err(err("may only contain letters, digits and . _ + : = ~ -"));
    }
    Ok(())
}

/// Checks a cephx user id (without `client.`): a [name](validate_name) without `:` or `=`,
/// which would end or split the option list of a QEMU `rbd:` target.
pub fn validate_user(id: &str) -> Result<(), CephError> {
    validate_name("Ceph client id", id)?;
    if id.contains([':', '=']) {
        return Err(CephError::InvalidName {
            what: "Ceph client id",
            value: id.to_string(),
            reason: "must not contain ':' or '='",
        });
    }
    Ok(())
}

/// Checks a Ceph configuration file path: absolute, printable, without `:` or `@` (QEMU's
/// `rbd:` target syntax).
pub fn validate_conf_path(path: &Path) -> Result<(), CephError> {
    let s = path.to_string_lossy();
    if !path.is_absolute() || s.contains([':', '@']) || s.chars().any(char::is_control) {
        return Err(CephError::InvalidName {
            what: "Ceph configuration file",
            value: s.into_owned(),
            reason: "it must be an absolute path without ':' or '@'",
        });
    }
    Ok(())
}

/// An image (or one of its snapshots): `pool[/namespace]/image[@snap]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImageSpec {
    /// The pool.
    pub pool: String,
    /// The RADOS namespace ("" for the default one).
    pub namespace: String,
    /// The image name.
    pub image: String,
    /// The snapshot, if any.
    pub snap: Option<String>,
}

impl ImageSpec {
    /// Validates the parts and builds the spec; an empty namespace or snapshot means none.
    pub fn new(pool: &str, namespace: &str, image: &str, snap: &str) -> Result<Self, CephError> {
        validate_name("pool", pool)?;
        if !namespace.is_empty() {
            validate_name("pool namespace", namespace)?;
        }
        validate_name("image", image)?;
        if !snap.is_empty() {
            validate_name("snapshot", snap)?;
        }
        Ok(ImageSpec {
            pool: pool.to_string(),
            namespace: namespace.to_string(),
            image: image.to_string(),
            snap: (!snap.is_empty()).then(|| snap.to_string()),
        })
    }

    /// The same image without snapshot.
    pub fn head(&self) -> ImageSpec {
        ImageSpec {
            snap: None,
            ..self.clone()
        }
    }

    /// `pool[/namespace]/image`, without the snapshot.
    pub fn image_path(&self) -> String {
        if self.namespace.is_empty() {
            format!("{}/{}", self.pool, self.image)
        } else {
            format!("{}/{}/{}", self.pool, self.namespace, self.image)
        }
    }
}

impl fmt::Display for ImageSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.image_path())?;
        if let Some(s) = &self.snap {
            write!(f, "@{s}")?;
        }
        Ok(())
    }
}

/// An RBD group: `pool[/namespace]/group`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSpec {
    /// The pool.
    pub pool: String,
    /// The RADOS namespace ("" for the default one).
    pub namespace: String,
    /// The group name.
    pub group: String,
}

impl GroupSpec {
    /// Validates the parts and builds the spec.
    pub fn new(pool: &str, namespace: &str, group: &str) -> Result<Self, CephError> {
        validate_name("pool", pool)?;
        if !namespace.is_empty() {
            validate_name("pool namespace", namespace)?;
        }
        validate_name("group", group)?;
        Ok(GroupSpec {
            pool: pool.to_string(),
            namespace: namespace.to_string(),
            group: group.to_string(),
        })
    }
}

impl fmt::Display for GroupSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{}/{}", self.pool, self.group)
        } else {
            write!(f, "{}/{}/{}", self.pool, self.namespace, self.group)
        }
    }
}

/// A RADOS object: pool, namespace, object name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectSpec {
    /// The pool.
    pub pool: String,
    /// The RADOS namespace ("" for the default one).
    pub namespace: String,
    /// The object name.
    pub object: String,
}

impl ObjectSpec {
    /// The header object of a format-2 image (`rbd_header.<id>`), the object librbd and the
    /// guard lock live on. `id` comes from `rbd info` and must be lowercase hex.
    pub fn image_header(image: &ImageSpec, id: &str) -> Result<Self, CephError> {
        if id.is_empty() || id.len() > 64 || !id.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(CephError::InvalidName {
                what: "image id",
                value: id.to_string(),
                reason: "must be hexadecimal (format-2 images only)",
            });
        }
        Ok(ObjectSpec {
            pool: image.pool.clone(),
            namespace: image.namespace.clone(),
            object: format!("rbd_header.{id}"),
        })
    }
}

impl fmt::Display for ObjectSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{}/{}", self.pool, self.object)
        } else {
            write!(f, "{}/{}/{}", self.pool, self.namespace, self.object)
        }
    }
}

/// A Ceph client instance address as the tools print it: `10.78.0.1:0/3651279444`
/// (`[2001:db8::1]:0/42` for IPv6; an optional `v1:`/`v2:`/`any:` prefix is accepted).
/// The nonce tells instances on one host apart: blocklisting this exact address fences one
/// client instance, not the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientAddr {
    /// The IP address.
    pub ip: IpAddr,
    /// The port (0 for clients).
    pub port: u16,
    /// The instance nonce.
    pub nonce: u64,
}

impl FromStr for ClientAddr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("not a Ceph client address: '{s}'");
        let body = ["v1:", "v2:", "any:"]
            .iter()
            .find_map(|p| s.strip_prefix(p))
            .unwrap_or(s);
        let (hostport, nonce) = body.rsplit_once('/').ok_or_else(bad)?;
        let nonce = nonce.parse().map_err(|_| bad())?;
        let (host, port) = hostport.rsplit_once(':').ok_or_else(bad)?;
        let port = port.parse().map_err(|_| bad())?;
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let ip = host.parse().map_err(|_| bad())?;
        Ok(ClientAddr { ip, port, nonce })
    }
}

impl fmt::Display for ClientAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ip {
            IpAddr::V4(ip) => write!(f, "{ip}:{}/{}", self.port, self.nonce),
            IpAddr::V6(ip) => write!(f, "[{ip}]:{}/{}", self.port, self.nonce),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["rbd", "vm1-disk", "system_vm1", ".rgw", "a.b+c:d=e~f", "X9"] {
            validate_name("image", ok).unwrap();
        }
        for bad in [
            "", "-x", ".", "..", "a/b", "a@b", "a b", "a\nb", "é", "a;b", "$(x)",
        ] {
            assert!(validate_name("image", bad).is_err(), "{bad:?}");
        }
        assert!(validate_name("image", &"a".repeat(251)).is_err());
    }

    #[test]
    fn specs() {
        let s = ImageSpec::new("rbd", "", "vm1", "").unwrap();
        assert_eq!(s.to_string(), "rbd/vm1");
        let s = ImageSpec::new("rbd", "ns1", "vm1", "base").unwrap();
        assert_eq!(s.to_string(), "rbd/ns1/vm1@base");
        assert_eq!(s.image_path(), "rbd/ns1/vm1");
        assert_eq!(s.head().to_string(), "rbd/ns1/vm1");
        assert!(ImageSpec::new("rbd", "", "vm/1", "").is_err());
        assert!(ImageSpec::new("rbd", "a/b", "vm1", "").is_err());
        assert!(ImageSpec::new("rbd", "", "vm1", "s@x").is_err());
        assert_eq!(
            GroupSpec::new("rbd", "ns", "g").unwrap().to_string(),
            "rbd/ns/g"
        );
        let h =
            ObjectSpec::image_header(&ImageSpec::new("rbd", "", "x", "").unwrap(), "10b0ef9447be")
                .unwrap();
        assert_eq!(h.object, "rbd_header.10b0ef9447be");
        assert!(ObjectSpec::image_header(&s, "../x").is_err());
        assert!(ObjectSpec::image_header(&s, "").is_err());
    }

    #[test]
    fn client_addresses() {
        let a: ClientAddr = "10.78.0.1:0/3651279444".parse().unwrap();
        assert_eq!(a.ip.to_string(), "10.78.0.1");
        assert_eq!((a.port, a.nonce), (0, 3651279444));
        assert_eq!(a.to_string(), "10.78.0.1:0/3651279444");
        let b: ClientAddr = "v1:10.78.0.2:6789/0".parse().unwrap();
        assert_eq!(b.to_string(), "10.78.0.2:6789/0");
        let c: ClientAddr = "[2001:db8::1]:0/42".parse().unwrap();
        assert_eq!(c.to_string(), "[2001:db8::1]:0/42");
        for bad in [
            "",
            "10.0.0.1",
            "10.0.0.1:0",
            "x:0/1",
            "10.0.0.1:0/x",
            "-1:0/1",
        ] {
            assert!(bad.parse::<ClientAddr>().is_err(), "{bad}");
        }
    }
}
