//! [`Api`]: the C functions, looked up once in `librados.so.2` and `librbd.so.1`.

use std::ffi::{c_char, c_int, c_void};
use std::sync::OnceLock;

use libloading::Library;

use crate::LoadError;

pub(crate) type RadosT = *mut c_void;
pub(crate) type IoctxT = *mut c_void;
pub(crate) type RbdImageT = *mut c_void;

/// `rbd_image_watcher_t` (librbd.h).
#[repr(C)]
pub(crate) struct RbdImageWatcher {
    pub addr: *mut c_char,
    pub id: i64,
    pub cookie: u64,
}

/// `rbd_group_image_info_t` (librbd.h; `state` is the enum `rbd_group_image_state_t`).
#[repr(C)]
pub(crate) struct RbdGroupImageInfo {
    pub name: *mut c_char,
    pub pool: i64,
    pub state: c_int,
}

/// The bound functions of librados and librbd. The libraries stay loaded for the life of the
/// process (the value lives in a static).
pub struct Api {
    _rados: Library,
    _rbd: Library,
    pub(crate) create: unsafe extern "C" fn(*mut RadosT, *const c_char) -> c_int,
    pub(crate) conf_read_file: unsafe extern "C" fn(RadosT, *const c_char) -> c_int,
    pub(crate) conf_set: unsafe extern "C" fn(RadosT, *const c_char, *const c_char) -> c_int,
    pub(crate) connect: unsafe extern "C" fn(RadosT) -> c_int,
    pub(crate) shutdown: unsafe extern "C" fn(RadosT),
    pub(crate) ioctx_create: unsafe extern "C" fn(RadosT, *const c_char, *mut IoctxT) -> c_int,
    pub(crate) ioctx_destroy: unsafe extern "C" fn(IoctxT),
    pub(crate) ioctx_set_namespace: unsafe extern "C" fn(IoctxT, *const c_char),
    #[allow(clippy::type_complexity)]
    pub(crate) list_lockers: unsafe extern "C" fn(
        IoctxT,
        *const c_char,
        *const c_char,
        *mut c_int,
        *mut c_char,
        *mut usize,
        *mut c_char,
        *mut usize,
        *mut c_char,
        *mut usize,
        *mut c_char,
        *mut usize,
    ) -> isize,
    pub(crate) lock_exclusive: unsafe extern "C" fn(
        IoctxT,
        *const c_char,
        *const c_char,
        *const c_char,
        *const c_char,
        *mut c_void,
        u8,
    ) -> c_int,
    pub(crate) break_lock: unsafe extern "C" fn(
        IoctxT,
        *const c_char,
        *const c_char,
        *const c_char,
        *const c_char,
    ) -> c_int,
    #[allow(clippy::type_complexity)]
    pub(crate) mon_command: unsafe extern "C" fn(
        RadosT,
        *mut *const c_char,
        usize,
        *const c_char,
        usize,
        *mut *mut c_char,
        *mut usize,
        *mut *mut c_char,
        *mut usize,
    ) -> c_int,
    pub(crate) buffer_free: unsafe extern "C" fn(*mut c_char),
    pub(crate) notify2: unsafe extern "C" fn(
        IoctxT,
        *const c_char,
        *const c_char,
        c_int,
        u64,
        *mut *mut c_char,
        *mut usize,
    ) -> c_int,
    pub(crate) pool_reverse_lookup: unsafe extern "C" fn(RadosT, i64, *mut c_char, usize) -> c_int,
    pub(crate) rbd_open_read_only:
        unsafe extern "C" fn(IoctxT, *const c_char, *mut RbdImageT, *const c_char) -> c_int,
    pub(crate) rbd_close: unsafe extern "C" fn(RbdImageT) -> c_int,
    pub(crate) rbd_get_id: unsafe extern "C" fn(RbdImageT, *mut c_char, usize) -> c_int,
    pub(crate) rbd_metadata_get:
        unsafe extern "C" fn(RbdImageT, *const c_char, *mut c_char, *mut usize) -> c_int,
    pub(crate) rbd_watchers_list:
        unsafe extern "C" fn(RbdImageT, *mut RbdImageWatcher, *mut usize) -> c_int,
    pub(crate) rbd_watchers_list_cleanup: unsafe extern "C" fn(*mut RbdImageWatcher, usize),
    pub(crate) rbd_group_image_list: unsafe extern "C" fn(
        IoctxT,
        *const c_char,
        *mut RbdGroupImageInfo,
        usize,
        *mut usize,
    ) -> c_int,
    pub(crate) rbd_group_image_list_cleanup:
        unsafe extern "C" fn(*mut RbdGroupImageInfo, usize, usize) -> c_int,
}

static API: OnceLock<Result<Api, LoadError>> = OnceLock::new();

/// The library names, overridable for tests of the fallback (`VMMGR_LIBRADOS`,
/// `VMMGR_LIBRBD`: a path or soname; a name that cannot be loaded makes [`Api::get`] fail).
fn lib_name(var: &str, default: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| default.to_owned())
}

macro_rules! sym {
    ($lib:expr, $name:literal) => {{
        // SAFETY: the symbol is looked up by its C name and stored as the function pointer
        // type written in the field it initialises, which follows the declaration in
        // librados.h / librbd.h of Ceph 16; the library it comes from is kept loaded in the
        // same `Api` value for as long as the pointer exists.
        let s = unsafe { $lib.get(concat!($name, "\0").as_bytes()) }
            .map_err(|e| LoadError(format!("{}: {e}", $name)))?;
        *s
    }};
}

impl Api {
    /// The functions, loading the libraries on the first call; the result (also a failure) is
    /// kept for the rest of the process.
    pub fn get() -> Result<&'static Api, LoadError> {
        API.get_or_init(Api::load).as_ref().map_err(Clone::clone)
    }

    fn load() -> Result<Api, LoadError> {
        let rados_name = lib_name("VMMGR_LIBRADOS", "librados.so.2");
        let rbd_name = lib_name("VMMGR_LIBRBD", "librbd.so.1");
        // SAFETY: loading runs the libraries' initialisers; librados and librbd are the
        // system's Ceph client libraries, whose initialisers have no preconditions on the
        // calling process.
        let rados = unsafe { Library::new(&rados_name) }
            .map_err(|e| LoadError(format!("{rados_name}: {e}")))?;
        // SAFETY: as above, for librbd (which itself links librados).
        let rbd = unsafe { Library::new(&rbd_name) }
            .map_err(|e| LoadError(format!("{rbd_name}: {e}")))?;
        Ok(Api {
            create: sym!(rados, "rados_create"),
            conf_read_file: sym!(rados, "rados_conf_read_file"),
            conf_set: sym!(rados, "rados_conf_set"),
            connect: sym!(rados, "rados_connect"),
            shutdown: sym!(rados, "rados_shutdown"),
            ioctx_create: sym!(rados, "rados_ioctx_create"),
            ioctx_destroy: sym!(rados, "rados_ioctx_destroy"),
            ioctx_set_namespace: sym!(rados, "rados_ioctx_set_namespace"),
            list_lockers: sym!(rados, "rados_list_lockers"),
            lock_exclusive: sym!(rados, "rados_lock_exclusive"),
            break_lock: sym!(rados, "rados_break_lock"),
            mon_command: sym!(rados, "rados_mon_command"),
            buffer_free: sym!(rados, "rados_buffer_free"),
            notify2: sym!(rados, "rados_notify2"),
            pool_reverse_lookup: sym!(rados, "rados_pool_reverse_lookup"),
            rbd_open_read_only: sym!(rbd, "rbd_open_read_only"),
            rbd_close: sym!(rbd, "rbd_close"),
            rbd_get_id: sym!(rbd, "rbd_get_id"),
            rbd_metadata_get: sym!(rbd, "rbd_metadata_get"),
            rbd_watchers_list: sym!(rbd, "rbd_watchers_list"),
            rbd_watchers_list_cleanup: sym!(rbd, "rbd_watchers_list_cleanup"),
            rbd_group_image_list: sym!(rbd, "rbd_group_image_list"),
            rbd_group_image_list_cleanup: sym!(rbd, "rbd_group_image_list_cleanup"),
            _rados: rados,
            _rbd: rbd,
        })
    }
}
