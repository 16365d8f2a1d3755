//! The procedures [`Client`] offers beyond connecting, with their remote_protocol.x structures:
//! domain state (`remote_nonnull_domain`, `remote_domain_get_info_ret`) and secrets
//! (`remote_nonnull_secret`, `remote_connect_list_all_secrets_ret`,
//! `remote_secret_get_xml_desc_ret`).

use std::time::Instant;

use super::client::Client;
use super::error::RpcError;
use super::xdr::{XdrError, XdrReader, XdrWriter};
use super::{
    PROC_CONNECT_LIST_ALL_SECRETS, PROC_DOMAIN_GET_INFO, PROC_SECRET_GET_XML_DESC, SECRET_LIST_MAX,
    VIR_ERR_NO_DOMAIN, VIR_ERR_NO_SECRET,
};
use crate::libvirt::{DomainState, DomainStatus};

/// `REMOTE_AUTH_TYPE_LIST_MAX`.
const AUTH_TYPE_LIST_MAX: usize = 20;

/// `remote_nonnull_domain`: how the protocol names a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteDomain {
    /// The name.
    pub name: String,
    /// The UUID.
    pub uuid: [u8; 16],
    /// The id while running, else -1.
    pub id: i32,
}

/// `remote_domain_get_info_ret`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DomainInfo {
    /// `virDomainState`.
    pub state: u32,
    /// Maximum memory, KiB.
    pub max_mem: u64,
    /// Current memory, KiB.
    pub memory: u64,
    /// Number of vCPUs.
    pub nr_virt_cpu: u32,
    /// CPU time used, ns.
    pub cpu_time: u64,
}

impl DomainInfo {
    /// The typed status (`Connection::domain_status`'s answer).
    pub fn status(&self) -> DomainStatus {
        DomainStatus {
            state: DomainState::from_raw(self.state),
            vcpus: self.nr_virt_cpu,
            max_mem_kib: self.max_mem,
        }
    }
}

/// `remote_nonnull_secret`: how the protocol names a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteSecret {
    /// The UUID.
    pub uuid: [u8; 16],
    /// `virSecretUsageType`, e.g. [`super::SECRET_USAGE_TYPE_CEPH`].
    pub usage_type: i32,
    /// The usage's identifier (for a ceph secret its `<usage><name>`).
    pub usage_id: String,
}

impl RemoteSecret {
    /// The UUID in libvirt's text form (`virUUIDFormat`: lowercase, 8-4-4-4-12).
    pub fn uuid_string(&self) -> String {
        let hex: String = self.uuid.iter().map(|b| format!("{b:02x}")).collect();
        format!(
            "{}-{}-{}-{}-{}",
            &hex[..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..]
        )
    }
}

impl XdrWriter {
    /// `remote_nonnull_domain`.
    pub fn domain(&mut self, d: &RemoteDomain) -> &mut Self {
        self.string(&d.name).opaque_fixed(&d.uuid).i32(d.id)
    }

    /// `remote_nonnull_secret`.
    pub fn secret(&mut self, s: &RemoteSecret) -> &mut Self {
        self.opaque_fixed(&s.uuid)
            .i32(s.usage_type)
            .string(&s.usage_id)
    }
}

impl XdrReader<'_> {
    /// `remote_nonnull_domain`.
    pub fn domain(&mut self) -> Result<RemoteDomain, XdrError> {
        Ok(RemoteDomain {
            name: self.string()?,
            uuid: self.opaque_fixed::<16>()?,
            id: self.i32()?,
        })
    }

    /// `remote_nonnull_secret`.
    pub fn secret(&mut self) -> Result<RemoteSecret, XdrError> {
        Ok(RemoteSecret {
            uuid: self.opaque_fixed::<16>()?,
            usage_type: self.i32()?,
            usage_id: self.string()?,
        })
    }
}

/// `remote_auth_list_ret`: the offered `remote_auth_type`s.
pub fn decode_auth_list(r: &mut XdrReader<'_>) -> Result<Vec<i32>, XdrError> {
    r.array(AUTH_TYPE_LIST_MAX, "auth types", XdrReader::i32)
}

/// `remote_domain_get_info_ret`.
pub fn decode_domain_info(r: &mut XdrReader<'_>) -> Result<DomainInfo, XdrError> {
    Ok(DomainInfo {
        state: r.u32()?,
        max_mem: r.u64()?,
        memory: r.u64()?,
        nr_virt_cpu: r.u32()?,
        cpu_time: r.u64()?,
    })
}

/// `remote_connect_list_all_secrets_ret`: the secrets (its `ret`, their count, is read and
/// not kept).
pub fn decode_secret_list(r: &mut XdrReader<'_>) -> Result<Vec<RemoteSecret>, XdrError> {
    let secrets = r.array(SECRET_LIST_MAX, "secrets", XdrReader::secret)?;
    r.u32()?;
    Ok(secrets)
}

impl Client {
    /// The state, vCPUs and maximum memory of domain `name` (`Ok(None)`: no such domain), as
    /// `Connection::domain_status` gives them: lookup by name, then get-info.
    pub fn domain_status(
        &mut self,
        name: &str,
        deadline: Instant,
    ) -> Result<Option<DomainStatus>, RpcError> {
        let what = format!("reading the state of domain {name}");
        let Some(dom) = self.lookup(name, deadline)? else {
            return Ok(None);
        };
        let mut w = XdrWriter::new();
        w.domain(&dom);
        match self.call(PROC_DOMAIN_GET_INFO, &w.into_bytes(), &what, deadline) {
            Ok(p) => {
                let info =
                    decode_domain_info(&mut XdrReader::new(&p)).map_err(|e| self.bad(&what, e))?;
                Ok(Some(info.status()))
            }
            // The domain went away between lookup and info.
            Err(e) if e.is_remote_code(VIR_ERR_NO_DOMAIN) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every secret of the daemon (`virConnectListAllSecrets` with no filter).
    pub fn list_all_secrets(&mut self, deadline: Instant) -> Result<Vec<RemoteSecret>, RpcError> {
        let what = "listing secrets";
        let mut w = XdrWriter::new();
        w.i32(1).u32(0); // need_results, flags
        let p = self.call(
            PROC_CONNECT_LIST_ALL_SECRETS,
            &w.into_bytes(),
            what,
            deadline,
        )?;
        decode_secret_list(&mut XdrReader::new(&p)).map_err(|e| self.bad(what, e))
    }

    /// The XML of `secret` (`virSecretGetXMLDesc`, flags 0: never the secret's value);
    /// `Ok(None)` when it no longer exists.
    pub fn secret_xml_desc(
        &mut self,
        secret: &RemoteSecret,
        deadline: Instant,
    ) -> Result<Option<String>, RpcError> {
        let what = format!("reading the XML of secret {}", secret.uuid_string());
        let mut w = XdrWriter::new();
        w.secret(secret).u32(0);
        match self.call(PROC_SECRET_GET_XML_DESC, &w.into_bytes(), &what, deadline) {
            Ok(p) => XdrReader::new(&p)
                .string()
                .map(Some)
                .map_err(|e| self.bad(&what, e)),
            Err(e) if e.is_remote_code(VIR_ERR_NO_SECRET) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
