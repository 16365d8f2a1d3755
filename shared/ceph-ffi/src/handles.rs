//! Owners of the C handles: [`Cluster`] (`rados_t`), [`IoCtx`] (`rados_ioctx_t`), [`Image`]
//! (`rbd_image_t`, opened read-only), and the calls made through them.

use std::ffi::{c_char, c_int, CStr, CString};
use std::ptr;
use std::sync::Arc;

use crate::api::{Api, IoctxT, RadosT, RbdGroupImageInfo, RbdImageT, RbdImageWatcher};
use crate::{split_nul_list, until_nul, FfiError};

const ERANGE: i32 = 34;
const EINVAL: i32 = 22;

pub(crate) fn check(call: &'static str, rc: c_int) -> Result<c_int, FfiError> {
    if rc < 0 {
        Err(FfiError { call, rc })
    } else {
        Ok(rc)
    }
}

/// A copy of a string the library filled in; empty for null.
///
/// # Safety
///
/// `p` is null or points to a NUL-terminated string that stays valid during the call.
unsafe fn owned(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: not null, and NUL-terminated and valid as the caller guarantees.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}

/// A string for C; one holding a NUL is refused as EINVAL (the callers validate names first).
pub(crate) fn cstr(call: &'static str, s: &str) -> Result<CString, FfiError> {
    CString::new(s).map_err(|_| FfiError { call, rc: -EINVAL })
}

/// A connected cluster handle; shut down when dropped.
pub struct Cluster {
    api: &'static Api,
    handle: RadosT,
}

// SAFETY: a `rados_t` may be used from any thread, and concurrently: librados' C API is
// thread-safe for a connected cluster handle (the client serialises internally).
unsafe impl Send for Cluster {}
// SAFETY: as above; `&Cluster` only hands the handle to thread-safe librados calls.
unsafe impl Sync for Cluster {}

impl Cluster {
    /// `rados_create(user)`, `rados_conf_read_file(conf)` (None: the default search path),
    /// `rados_conf_set` of each option in order, then `rados_connect`. On a failure the
    /// half-made handle is shut down.
    pub fn connect(
        api: &'static Api,
        user: Option<&str>,
        conf: Option<&str>,
        options: &[(&str, String)],
    ) -> Result<Cluster, FfiError> {
        let user = user.map(|u| cstr("rados_create", u)).transpose()?;
        let mut handle: RadosT = ptr::null_mut();
        // SAFETY: `handle` is a valid out-pointer; `user` is NUL-terminated or null (the
        // default user), as rados_create accepts.
        let rc = unsafe {
            (api.create)(
                &mut handle,
                user.as_ref().map_or(ptr::null(), |u| u.as_ptr()),
            )
        };
        check("rados_create", rc)?;
        // From here on `cluster` owns the handle: any early return shuts it down.
        let cluster = Cluster { api, handle };
        let conf = conf.map(|c| cstr("rados_conf_read_file", c)).transpose()?;
        // SAFETY: a created, not yet connected handle; the path is NUL-terminated or null
        // (search the default locations).
        let rc = unsafe {
            (api.conf_read_file)(
                cluster.handle,
                conf.as_ref().map_or(ptr::null(), |c| c.as_ptr()),
            )
        };
        check("rados_conf_read_file", rc)?;
        for (key, value) in options {
            let k = cstr("rados_conf_set", key)?;
            let v = cstr("rados_conf_set", value)?;
            // SAFETY: a created handle and two NUL-terminated strings that outlive the call.
            let rc = unsafe { (api.conf_set)(cluster.handle, k.as_ptr(), v.as_ptr()) };
            check("rados_conf_set", rc)?;
        }
        // SAFETY: a created and configured handle, connected once.
        let rc = unsafe { (api.connect)(cluster.handle) };
        check("rados_connect", rc)?;
        Ok(cluster)
    }

    /// `rados_mon_command` with one JSON command: `(rc, output, status text)`; a negative rc
    /// is returned as such with the status text (the monitor's explanation), not as an error.
    pub fn mon_command(&self, json: &str) -> Result<(i32, String, String), FfiError> {
        let cmd = cstr("rados_mon_command", json)?;
        let mut cmds = [cmd.as_ptr()];
        let (mut out, mut out_len) = (ptr::null_mut::<c_char>(), 0usize);
        let (mut outs, mut outs_len) = (ptr::null_mut::<c_char>(), 0usize);
        // SAFETY: a connected handle; `cmds` is an array of one NUL-terminated string that
        // outlives the call; no input buffer (null, 0); the out-pointers are valid and receive
        // buffers allocated by librados, freed below with rados_buffer_free.
        let rc = unsafe {
            (self.api.mon_command)(
                self.handle,
                cmds.as_mut_ptr(),
                1,
                ptr::null(),
                0,
                &mut out,
                &mut out_len,
                &mut outs,
                &mut outs_len,
            )
        };
        let text = |p: *mut c_char, len: usize| -> String {
            if p.is_null() {
                return String::new();
            }
            // SAFETY: librados returned `p` with `len` valid bytes.
            let bytes = unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len) };
            let s = String::from_utf8_lossy(bytes).into_owned();
            // SAFETY: `p` was allocated by librados for this call and is freed once.
            unsafe { (self.api.buffer_free)(p) };
            s
        };
        Ok((rc, text(out, out_len), text(outs, outs_len)))
    }

    /// `rados_pool_reverse_lookup`: the name of pool `id`.
    pub fn pool_name(&self, id: i64) -> Result<String, FfiError> {
        let mut buf = vec![0u8; 256];
        loop {
            // SAFETY: a connected handle; `buf` is writable for its full length.
            let rc = unsafe {
                (self.api.pool_reverse_lookup)(self.handle, id, buf.as_mut_ptr().cast(), buf.len())
            };
            if rc == -ERANGE && buf.len() < 65_536 {
                buf.resize(buf.len().saturating_mul(4), 0);
                continue;
            }
            check("rados_pool_reverse_lookup", rc)?;
            return Ok(until_nul(&buf));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // SAFETY: the handle was created by rados_create and is shut down exactly once; every
        // IoCtx and Image holds an Arc of this Cluster, so none outlives it.
        unsafe { (self.api.shutdown)(self.handle) };
    }
}

/// An I/O context on one pool and namespace; destroyed when dropped.
pub struct IoCtx {
    cluster: Arc<Cluster>,
    pub(crate) handle: IoctxT,
}

// SAFETY: an ioctx may move between threads; it is used by one thread at a time (the methods
// take `&self` but the safe layer never shares an IoCtx between threads at once), and librados
// ioctx calls themselves are thread-safe.
unsafe impl Send for IoCtx {}

/// The holders of one cls_lock lock (`rados_list_lockers`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lockers {
    /// Whether the lock is exclusive.
    pub exclusive: bool,
    /// The lock's tag.
    pub tag: String,
    /// `(client, cookie, address)` of each holder.
    pub holders: Vec<(String, String, String)>,
}

/// One watcher of an image (`rbd_watchers_list`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watcher {
    /// The client instance address.
    pub addr: String,
    /// The client id.
    pub id: i64,
    /// The watch cookie.
    pub cookie: u64,
}

/// One member of a group (`rbd_group_image_list`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupImage {
    /// The image name.
    pub name: String,
    /// Its pool id.
    pub pool: i64,
    /// The membership state (0 attached).
    pub state: i32,
}

impl IoCtx {
    /// `rados_ioctx_create(pool)`, then `rados_ioctx_set_namespace(namespace)`.
    pub fn new(cluster: &Arc<Cluster>, pool: &str, namespace: &str) -> Result<IoCtx, FfiError> {
        let p = cstr("rados_ioctx_create", pool)?;
        let ns = cstr("rados_ioctx_set_namespace", namespace)?;
        let mut handle: IoctxT = ptr::null_mut();
        // SAFETY: a connected cluster; NUL-terminated pool name; valid out-pointer.
        let rc = unsafe { (cluster.api.ioctx_create)(cluster.handle, p.as_ptr(), &mut handle) };
        check("rados_ioctx_create", rc)?;
        let io = IoCtx {
            cluster: Arc::clone(cluster),
            handle,
        };
        // SAFETY: a valid ioctx; the namespace string is copied by librados.
        unsafe { (cluster.api.ioctx_set_namespace)(io.handle, ns.as_ptr()) };
        Ok(io)
    }

    pub(crate) fn api(&self) -> &'static Api {
        self.cluster.api
    }

    /// `rados_list_lockers(oid, name)`.
    pub fn list_lockers(&self, oid: &str, name: &str) -> Result<Lockers, FfiError> {
        const CALL: &str = "rados_list_lockers";
        let (o, n) = (cstr(CALL, oid)?, cstr(CALL, name)?);
        let mut lens = [1024usize; 4];
        loop {
            let [mut tag, mut clients, mut cookies, mut addrs] = lens.map(|l| vec![0u8; l]);
            let mut got = lens;
            let mut exclusive: c_int = 0;
            let [tag_len, clients_len, cookies_len, addrs_len] = &mut got;
            // SAFETY: a valid ioctx; NUL-terminated names; every buffer is writable for the
            // length passed beside it, and the lengths are valid in/out pointers.
            let rc = unsafe {
                (self.api().list_lockers)(
                    self.handle,
                    o.as_ptr(),
                    n.as_ptr(),
                    &mut exclusive,
                    tag.as_mut_ptr().cast(),
                    tag_len,
                    clients.as_mut_ptr().cast(),
                    clients_len,
                    cookies.as_mut_ptr().cast(),
                    cookies_len,
                    addrs.as_mut_ptr().cast(),
                    addrs_len,
                )
            };
            if rc == -(ERANGE as isize) && got.iter().zip(&lens).any(|(g, l)| g > l) {
                lens = got.map(|g| g.clamp(1, 1 << 20));
                continue;
            }
            let count = usize::try_from(rc).map_err(|_| FfiError {
                call: CALL,
                rc: i32::try_from(rc).unwrap_or(-EINVAL),
            })?;
            let c = split_nul_list(&clients, count);
            let k = split_nul_list(&cookies, count);
            let a = split_nul_list(&addrs, count);
            let holders = c
                .into_iter()
                .zip(k)
                .zip(a)
                .map(|((c, k), a)| (c, k, a))
                .collect();
            return Ok(Lockers {
                exclusive: exclusive != 0,
                tag: until_nul(&tag),
                holders,
            });
        }
    }

    /// `rados_lock_exclusive(oid, name, cookie, description)`, no expiry, no flags: `-EBUSY`
    /// when another holder has it, `-EEXIST` when this cookie holds it already.
    pub fn lock_exclusive(
        &self,
        oid: &str,
        name: &str,
        cookie: &str,
        description: &str,
    ) -> Result<(), FfiError> {
        const CALL: &str = "rados_lock_exclusive";
        let (o, n) = (cstr(CALL, oid)?, cstr(CALL, name)?);
        let (c, d) = (cstr(CALL, cookie)?, cstr(CALL, description)?);
        // SAFETY: a valid ioctx; NUL-terminated strings; a null duration means "never
        // expires", as librados.h documents.
        let rc = unsafe {
            (self.api().lock_exclusive)(
                self.handle,
                o.as_ptr(),
                n.as_ptr(),
                c.as_ptr(),
                d.as_ptr(),
                ptr::null_mut(),
                0,
            )
        };
        check(CALL, rc).map(drop)
    }

    /// `rados_break_lock(oid, name, client, cookie)`.
    pub fn break_lock(
        &self,
        oid: &str,
        name: &str,
        client: &str,
        cookie: &str,
    ) -> Result<(), FfiError> {
        const CALL: &str = "rados_break_lock";
        let (o, n) = (cstr(CALL, oid)?, cstr(CALL, name)?);
        let (cl, co) = (cstr(CALL, client)?, cstr(CALL, cookie)?);
        // SAFETY: a valid ioctx; NUL-terminated strings that outlive the call.
        let rc = unsafe {
            (self.api().break_lock)(
                self.handle,
                o.as_ptr(),
                n.as_ptr(),
                cl.as_ptr(),
                co.as_ptr(),
            )
        };
        check(CALL, rc).map(drop)
    }

    /// `rbd_group_image_list(group)`.
    pub fn group_images(&self, group: &str) -> Result<Vec<GroupImage>, FfiError> {
        const CALL: &str = "rbd_group_image_list";
        let g = cstr(CALL, group)?;
        let size = std::mem::size_of::<RbdGroupImageInfo>();
        let mut cap = 16usize;
        loop {
            let mut infos: Vec<RbdGroupImageInfo> = (0..cap)
                .map(|_| RbdGroupImageInfo {
                    name: ptr::null_mut(),
                    pool: 0,
                    state: 0,
                })
                .collect();
            let mut n = cap;
            // SAFETY: a valid ioctx; `infos` holds `n` writable entries of the size passed.
            let rc = unsafe {
                (self.api().rbd_group_image_list)(
                    self.handle,
                    g.as_ptr(),
                    infos.as_mut_ptr(),
                    size,
                    &mut n,
                )
            };
            if rc == -ERANGE && n > cap && n <= 1 << 16 {
                cap = n;
                continue;
            }
            check(CALL, rc)?;
            let n = n.min(cap);
            let out = infos[..n]
                .iter()
                .map(|i| GroupImage {
                    // SAFETY: librbd filled `name` with a NUL-terminated string (or null)
                    // it owns until the cleanup below.
                    name: unsafe { owned(i.name) },
                    pool: i.pool,
                    state: i.state,
                })
                .collect();
            // SAFETY: the `n` entries filled by the successful call, freed once.
            unsafe { (self.api().rbd_group_image_list_cleanup)(infos.as_mut_ptr(), size, n) };
            return Ok(out);
        }
    }

    /// `rbd_open_read_only(name)` of the image's head (a read-only open registers no watch).
    pub fn open_read_only(&self, name: &str) -> Result<Image, FfiError> {
        let n = cstr("rbd_open_read_only", name)?;
        let mut handle: RbdImageT = ptr::null_mut();
        // SAFETY: a valid ioctx; NUL-terminated name; valid out-pointer; null snapshot = head.
        let rc = unsafe {
            (self.api().rbd_open_read_only)(self.handle, n.as_ptr(), &mut handle, ptr::null())
        };
        check("rbd_open_read_only", rc)?;
        Ok(Image {
            _cluster: Arc::clone(&self.cluster),
            api: self.api(),
            handle,
        })
    }
}

impl Drop for IoCtx {
    fn drop(&mut self) {
        // SAFETY: created by rados_ioctx_create, destroyed once; images opened through it hold
        // their own copy of the context.
        unsafe { (self.api().ioctx_destroy)(self.handle) };
    }
}

/// An image opened read-only; closed when dropped.
pub struct Image {
    _cluster: Arc<Cluster>,
    api: &'static Api,
    handle: RbdImageT,
}

// SAFETY: an open image may move between threads; it is used by one thread at a time.
unsafe impl Send for Image {}

impl Image {
    /// `rbd_get_id`: the image id (its header object is `rbd_header.<id>`).
    pub fn id(&self) -> Result<String, FfiError> {
        let mut buf = vec![0u8; 64];
        loop {
            // SAFETY: an open image; `buf` is writable for its length.
            let rc =
                unsafe { (self.api.rbd_get_id)(self.handle, buf.as_mut_ptr().cast(), buf.len()) };
            if rc == -ERANGE && buf.len() < 4096 {
                buf.resize(buf.len().saturating_mul(4), 0);
                continue;
            }
            check("rbd_get_id", rc)?;
            return Ok(until_nul(&buf));
        }
    }

    /// `rbd_metadata_get(key)`: `-ENOENT` when the key is not set.
    pub fn metadata_get(&self, key: &str) -> Result<String, FfiError> {
        const CALL: &str = "rbd_metadata_get";
        let k = cstr(CALL, key)?;
        let mut len = 4096usize;
        loop {
            let mut buf = vec![0u8; len];
            let mut got = len;
            // SAFETY: an open image; NUL-terminated key; `buf` is writable for `got` bytes.
            let rc = unsafe {
                (self.api.rbd_metadata_get)(
                    self.handle,
                    k.as_ptr(),
                    buf.as_mut_ptr().cast(),
                    &mut got,
                )
            };
            if rc == -ERANGE && got > len && got <= 64 << 20 {
                len = got;
                continue;
            }
            check(CALL, rc)?;
            return Ok(until_nul(&buf));
        }
    }

    /// `rbd_watchers_list`.
    pub fn watchers(&self) -> Result<Vec<Watcher>, FfiError> {
        const CALL: &str = "rbd_watchers_list";
        let mut cap = 16usize;
        loop {
            let mut list: Vec<RbdImageWatcher> = (0..cap)
                .map(|_| RbdImageWatcher {
                    addr: ptr::null_mut(),
                    id: 0,
                    cookie: 0,
                })
                .collect();
            let mut n = cap;
            // SAFETY: an open image; `list` holds `n` writable entries.
            let rc =
                unsafe { (self.api.rbd_watchers_list)(self.handle, list.as_mut_ptr(), &mut n) };
            if rc == -ERANGE && n > cap && n <= 1 << 16 {
                cap = n;
                continue;
            }
            check(CALL, rc)?;
            let n = n.min(cap);
            let out = list[..n]
                .iter()
                .map(|w| Watcher {
                    // SAFETY: librbd filled `addr` with a NUL-terminated string (or null)
                    // it owns until the cleanup below.
                    addr: unsafe { owned(w.addr) },
                    id: w.id,
                    cookie: w.cookie,
                })
                .collect();
            // SAFETY: the `n` entries filled by the successful call, freed once.
            unsafe { (self.api.rbd_watchers_list_cleanup)(list.as_mut_ptr(), n) };
            return Ok(out);
        }
    }
}

impl Drop for Image {
    fn drop(&mut self) {
        // SAFETY: opened by rbd_open_read_only, closed once.
        unsafe { (self.api.rbd_close)(self.handle) };
    }
}
