//! The domain procedures [`Client`] offers for `vm-mgr add-to-cluster`: read a domain's
//! definition (`remote_domain_get_xml_desc_args`/`_ret`), undefine it
//! (`remote_domain_undefine_flags_args`) and, to undo that, define it again
//! (`remote_domain_define_xml_args`/`_ret`).

use std::time::Instant;

use super::client::Client;
use super::error::RpcError;
use super::procs::RemoteDomain;
use super::xdr::{XdrReader, XdrWriter};
use super::{
    PROC_DOMAIN_DEFINE_XML, PROC_DOMAIN_GET_XML_DESC, PROC_DOMAIN_LOOKUP_BY_NAME,
    PROC_DOMAIN_UNDEFINE_FLAGS, VIR_ERR_NO_DOMAIN,
};

/// `VIR_DOMAIN_XML_SECURE`: include what is sensitive (passwords of graphics, ...).
pub const XML_SECURE: u32 = 1;
/// `VIR_DOMAIN_XML_INACTIVE`: the persistent definition, not the running one.
pub const XML_INACTIVE: u32 = 2;
/// `VIR_DOMAIN_UNDEFINE_MANAGED_SAVE`: also remove a managed save image.
pub const UNDEFINE_MANAGED_SAVE: u32 = 1;
/// `VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA`: also forget its snapshots' metadata.
pub const UNDEFINE_SNAPSHOTS_METADATA: u32 = 2;
/// `VIR_DOMAIN_UNDEFINE_KEEP_NVRAM`: keep its NVRAM file (UEFI variables).
pub const UNDEFINE_KEEP_NVRAM: u32 = 8;

impl Client {
    /// `virDomainLookupByName`; `Ok(None)`: no such domain.
    pub(super) fn lookup(
        &mut self,
        name: &str,
        deadline: Instant,
    ) -> Result<Option<RemoteDomain>, RpcError> {
        let what = format!("looking up domain {name}");
        let mut w = XdrWriter::new();
        w.string(name);
        match self.call(PROC_DOMAIN_LOOKUP_BY_NAME, &w.into_bytes(), &what, deadline) {
            Ok(p) => XdrReader::new(&p)
                .domain()
                .map(Some)
                .map_err(|e| self.bad(&what, e)),
            Err(e) if e.is_remote_code(VIR_ERR_NO_DOMAIN) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The XML of domain `name` with `flags` ([`XML_INACTIVE`], [`XML_SECURE`]);
    /// `Ok(None)`: no such domain.
    pub fn domain_xml(
        &mut self,
        name: &str,
        flags: u32,
        deadline: Instant,
    ) -> Result<Option<String>, RpcError> {
        let Some(dom) = self.lookup(name, deadline)? else {
            return Ok(None);
        };
        let what = format!("reading the XML of domain {name}");
        let mut w = XdrWriter::new();
        w.domain(&dom).u32(flags);
        match self.call(PROC_DOMAIN_GET_XML_DESC, &w.into_bytes(), &what, deadline) {
            Ok(p) => XdrReader::new(&p)
                .string()
                .map(Some)
                .map_err(|e| self.bad(&what, e)),
            Err(e) if e.is_remote_code(VIR_ERR_NO_DOMAIN) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Undefines domain `name` with `flags` (its disks are never touched); `Ok(false)`: there
    /// was no such domain.
    pub fn domain_undefine(
        &mut self,
        name: &str,
        flags: u32,
        deadline: Instant,
    ) -> Result<bool, RpcError> {
        let Some(dom) = self.lookup(name, deadline)? else {
            return Ok(false);
        };
        let what = format!("undefining domain {name}");
        let mut w = XdrWriter::new();
        w.domain(&dom).u32(flags);
        match self.call(PROC_DOMAIN_UNDEFINE_FLAGS, &w.into_bytes(), &what, deadline) {
            Ok(_) => Ok(true),
            Err(e) if e.is_remote_code(VIR_ERR_NO_DOMAIN) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Defines (persistently) the domain of `xml`; returns its name.
    pub fn domain_define(&mut self, xml: &str, deadline: Instant) -> Result<String, RpcError> {
        let what = "defining a domain";
        let mut w = XdrWriter::new();
        w.string(xml);
        let p = self.call(PROC_DOMAIN_DEFINE_XML, &w.into_bytes(), what, deadline)?;
        XdrReader::new(&p)
            .domain()
            .map(|d| d.name)
            .map_err(|e| self.bad(what, e))
    }
}
