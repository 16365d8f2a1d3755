//! A minimal client for libvirt's own RPC protocol over the local UNIX socket, for callers that
//! must not load the libvirt client library (`libvirt.so` pulls in ~57 shared libraries, ~9 ms
//! of dynamic loading per process: more than a whole monitor, or a `vm-mgr` command, should
//! cost).
//!
//! It speaks exactly what the libvirt client library sends on the wire for the few calls its
//! users need (libvirt `src/rpc/virnetprotocol.x` and `src/remote/remote_protocol.x`;
//! procedure numbers and structures are libvirt's stable ABI):
//!
//! - a message is a 4-byte big-endian length (counting itself), a header `{prog, vers, proc,
//!   type, serial, status}` and an XDR payload ([`xdr`]);
//! - [`Client::connect`] sends `REMOTE_PROC_AUTH_LIST` (for root on the UNIX socket libvirtd
//!   answers "none", bypassing polkit), then `REMOTE_PROC_CONNECT_OPEN`;
//! - [`Client::domain_status`] sends `REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME` then
//!   `REMOTE_PROC_DOMAIN_GET_INFO` (`virDomainLookupByName` + `virDomainGetInfo`);
//!   `VIR_ERR_NO_DOMAIN` is `Ok(None)`;
//! - [`Client::list_all_secrets`] sends `REMOTE_PROC_CONNECT_LIST_ALL_SECRETS`
//!   (`virConnectListAllSecrets`) and [`Client::secret_xml_desc`]
//!   `REMOTE_PROC_SECRET_GET_XML_DESC` (`virSecretGetXMLDesc`);
//! - [`Client::domain_xml`] sends `REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME` then
//!   `REMOTE_PROC_DOMAIN_GET_XML_DESC` (`virDomainGetXMLDesc`), and
//!   [`Client::domain_undefine`] `REMOTE_PROC_DOMAIN_UNDEFINE_FLAGS` (`virDomainUndefineFlags`),
//!   [`Client::domain_define`] `REMOTE_PROC_DOMAIN_DEFINE_XML` (`virDomainDefineXML`);
//! - [`Client::close`] sends `REMOTE_PROC_CONNECT_CLOSE`.
//!
//! Every step is bounded by the caller's deadline (connect on a helper thread, socket read and
//! write timeouts), so a frozen daemon gives [`RpcError::Timeout`] instead of a hang. Errors
//! say whether the daemon could not be reached ([`RpcError::is_unreachable`]: the state is
//! unknown, exactly like `LibvirtError::is_unreachable` of the `libvirt-api` feature) or
//! answered with an error.
//!
//! Only for the local system instance of a libvirt daemon (`qemu:///system` or the default URI
//! as root); everything else goes through `shared::libvirt::Connection` (feature
//! `libvirt-api`) or `virsh`.
//!
//! Layout: [`xdr`] (encoding, message framing), [`error`] ([`RpcError`]), `client` (the
//! connection and [`Client::call`]), `procs` (the typed procedures and their structures).

mod client;
pub mod error;
mod procs;
mod procs_domain;
pub mod xdr;

use std::path::{Path, PathBuf};

pub use client::Client;
pub use error::{RemoteError, RpcError};
pub use procs::{
    decode_auth_list, decode_domain_info, decode_secret_list, DomainInfo, RemoteDomain,
    RemoteSecret,
};
pub use procs_domain::{
    UNDEFINE_KEEP_NVRAM, UNDEFINE_MANAGED_SAVE, UNDEFINE_SNAPSHOTS_METADATA, XML_INACTIVE,
    XML_SECURE,
};
pub use xdr::{
    decode_error, decode_header, decode_length, encode_call, Header, Reply, XdrError, XdrReader,
    XdrWriter,
};

/// `REMOTE_PROGRAM` (remote_protocol.x).
pub const REMOTE_PROGRAM: u32 = 0x2000_8086;
/// `REMOTE_PROTOCOL_VERSION`.
pub const REMOTE_PROTOCOL_VERSION: u32 = 1;
/// `REMOTE_PROC_CONNECT_OPEN`.
pub const PROC_CONNECT_OPEN: i32 = 1;
/// `REMOTE_PROC_CONNECT_CLOSE`.
pub const PROC_CONNECT_CLOSE: i32 = 2;
/// `REMOTE_PROC_DOMAIN_DEFINE_XML`.
pub const PROC_DOMAIN_DEFINE_XML: i32 = 11;
/// `REMOTE_PROC_DOMAIN_GET_XML_DESC`.
pub const PROC_DOMAIN_GET_XML_DESC: i32 = 14;
/// `REMOTE_PROC_DOMAIN_GET_INFO`.
pub const PROC_DOMAIN_GET_INFO: i32 = 16;
/// `REMOTE_PROC_DOMAIN_LOOKUP_BY_NAME`.
pub const PROC_DOMAIN_LOOKUP_BY_NAME: i32 = 23;
/// `REMOTE_PROC_AUTH_LIST`.
pub const PROC_AUTH_LIST: i32 = 66;
/// `REMOTE_PROC_SECRET_GET_XML_DESC`.
pub const PROC_SECRET_GET_XML_DESC: i32 = 143;
/// `REMOTE_PROC_DOMAIN_UNDEFINE_FLAGS`.
pub const PROC_DOMAIN_UNDEFINE_FLAGS: i32 = 231;
/// `REMOTE_PROC_CONNECT_LIST_ALL_SECRETS`.
pub const PROC_CONNECT_LIST_ALL_SECRETS: i32 = 287;

/// `VIR_NET_CALL` (virnetprotocol.x `virNetMessageType`).
pub const TYPE_CALL: i32 = 0;
/// `VIR_NET_REPLY`.
pub const TYPE_REPLY: i32 = 1;
/// `VIR_NET_OK` (`virNetMessageStatus`).
pub const STATUS_OK: i32 = 0;
/// `VIR_NET_ERROR`.
pub const STATUS_ERROR: i32 = 1;

/// `REMOTE_AUTH_NONE` (`remote_auth_type`).
pub const AUTH_NONE: i32 = 0;
/// `VIR_ERR_NO_DOMAIN` (virterror.h).
pub const VIR_ERR_NO_DOMAIN: i32 = 42;
/// `VIR_ERR_NO_SECRET` (virterror.h).
pub const VIR_ERR_NO_SECRET: i32 = 66;
/// `VIR_SECRET_USAGE_TYPE_CEPH` (libvirt-secret.h `virSecretUsageType`).
pub const SECRET_USAGE_TYPE_CEPH: i32 = 2;
/// `REMOTE_SECRET_LIST_MAX`.
pub const SECRET_LIST_MAX: usize = 16384;

/// `VIR_NET_MESSAGE_MAX` of current libvirt (32 MiB); nothing we read comes close.
pub const MESSAGE_MAX: usize = 32 * 1024 * 1024;
/// Bytes of the length word plus the header.
pub const HEADER_LEN: usize = 4 + 24;

/// The monolithic daemon's read-write socket.
pub const LIBVIRTD_SOCKET: &str = "/run/libvirt/libvirt-sock";
/// The modular qemu daemon's socket.
pub const VIRTQEMUD_SOCKET: &str = "/run/libvirt/virtqemud-sock";
/// The URI this client opens on the system socket.
pub const SYSTEM_URI: &str = "qemu:///system";

/// The socket a root client of `qemu:///system` talks to, as libvirt's remote driver picks it
/// in its default ("auto") mode: the monolithic daemon's socket if it exists, else the modular
/// `virtqemud` one (which forwards secret calls to `virtsecretd` itself).
pub fn system_socket() -> PathBuf {
    if Path::new(LIBVIRTD_SOCKET).exists() || !Path::new(VIRTQEMUD_SOCKET).exists() {
        PathBuf::from(LIBVIRTD_SOCKET)
    } else {
        PathBuf::from(VIRTQEMUD_SOCKET)
    }
}

/// The name of a procedure this client uses (for messages and traces).
pub fn proc_name(proc_: i32) -> &'static str {
    match proc_ {
        PROC_CONNECT_OPEN => "connect_open",
        PROC_CONNECT_CLOSE => "connect_close",
        PROC_DOMAIN_DEFINE_XML => "domain_define_xml",
        PROC_DOMAIN_GET_XML_DESC => "domain_get_xml_desc",
        PROC_DOMAIN_GET_INFO => "domain_get_info",
        PROC_DOMAIN_UNDEFINE_FLAGS => "domain_undefine_flags",
        PROC_DOMAIN_LOOKUP_BY_NAME => "domain_lookup_by_name",
        PROC_AUTH_LIST => "auth_list",
        PROC_SECRET_GET_XML_DESC => "secret_get_xml_desc",
        PROC_CONNECT_LIST_ALL_SECRETS => "connect_list_all_secrets",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod secret_tests;
