//! Map mode: the image as a block device (`rbd device map`), the drop-in behaviour of
//! `ocf:ceph:rbd`, with JSON listing, nbd support, deadlines and read-only snapshots.
//!
//! Mapping cannot run on the test machines (no krbd, no nbd): this path is tested against
//! recorded and constructed `rbd device list` outputs and a stand-in `rbd` on `PATH`
//! (`tests/map_simulated.rs`), through the very same code.

use std::os::unix::fs::FileTypeExt;
use std::path::Path;
use std::time::Duration;

use shared::ceph::{Ceph, CephError, DeviceType, ImageSpec, MappedDevice};
use shared::ocf::{Context, OcfError, OcfRc};

use crate::guard::ceph_error;
use crate::params::{Config, Target};

const POLL: Duration = Duration::from_millis(250);

/// Finds the mapping of `image` (pool, namespace, image and snapshot all equal) (pure).
pub fn find<'a>(devices: &'a [MappedDevice], image: &ImageSpec) -> Option<&'a MappedDevice> {
    devices.iter().find(|d| {
        d.pool == image.pool
            && d.namespace == image.namespace
            && d.image == image.image
            && d.snap == image.snap
    })
}

/// Whether a failed map/list says the driver is missing on this node.
pub fn driver_missing(e: &CephError) -> bool {
    let text = e.to_string();
    [
        "failed to load rbd kernel module",
        "rbd-nbd: exec failed",
        "modprobe: not found",
    ]
    .iter()
    .any(|m| text.contains(m))
}

/// The map-mode actions of one invocation.
pub struct Mapper<'a> {
    ctx: &'a Context,
    image: ImageSpec,
    kind: DeviceType,
    options: Option<String>,
    ceph: Ceph,
}

impl<'a> Mapper<'a> {
    /// Builds the mapper (map mode has exactly one image).
    pub fn new(ctx: &'a Context, cfg: &Config) -> Result<Self, OcfError> {
        let Target::Image(image) = &cfg.target else {
            return Err(OcfError::configured("mode=map needs parameter 'name'"));
        };
        Ok(Mapper {
            ctx,
            image: image.clone(),
            kind: cfg.device_type,
            options: cfg.map_options.clone(),
            ceph: Ceph::new(cfg.conn.clone(), ctx.deadline),
        })
    }

    /// The device the image is mapped to, if any. A missing nbd driver means nothing can be
    /// mapped through it: `None`.
    fn mapped(&self) -> Result<Option<MappedDevice>, CephError> {
        match self.ceph.device_list(self.kind) {
            Ok(list) => Ok(find(&list, &self.image).cloned()),
            Err(e) if driver_missing(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// monitor: 0 mapped to a block device, 7 not mapped, 1 listed but not a block device.
    pub fn monitor(&self) -> Result<OcfRc, OcfError> {
        match self.mapped().map_err(|e| ceph_error("monitor", &e))? {
            None => Ok(OcfRc::NotRunning),
            Some(d) if is_block_device(&d.device) => Ok(OcfRc::Success),
            Some(d) => Err(OcfError::generic(format!(
                "{} is listed as mapped to {}, which is not a block device",
                self.image, d.device
            ))),
        }
    }

    /// start: map (read-only for a snapshot), then wait until the device is listed.
    pub fn start(&self) -> Result<OcfRc, OcfError> {
        if let Some(d) = self.mapped().map_err(|e| ceph_error("start", &e))? {
            self.ctx
                .logger
                .info(format!("{} already mapped to {}", self.image, d.device));
            return Ok(OcfRc::Success);
        }
        let read_only = self.image.snap.is_some();
        let dev = self
            .ceph
            .device_map(&self.image, self.kind, read_only, self.options.as_deref())
            .map_err(|e| {
                let oe = ceph_error("start", &e);
                if driver_missing(&e) {
                    OcfError::installed(oe.reason)
                } else {
                    oe
                }
            })?;
        self.ctx
            .logger
            .info(format!("mapped {} to {dev}", self.image));
        loop {
            if self.monitor()? == OcfRc::Success {
                return Ok(OcfRc::Success);
            }
            if self.ctx.expired() {
                return Err(OcfError::generic(format!(
                    "{} mapped to {dev} but not listed as a block device before the deadline",
                    self.image
                )));
            }
            std::thread::sleep(POLL);
        }
    }

    /// stop: unmap, then wait until the mapping is gone.
    pub fn stop(&self) -> Result<OcfRc, OcfError> {
        let Some(d) = self.mapped().map_err(|e| ceph_error("stop", &e))? else {
            return Ok(OcfRc::Success);
        };
        self.ceph
            .device_unmap(&d.device, self.kind)
            .map_err(|e| ceph_error("stop", &e))?;
        loop {
            if self.mapped().map_err(|e| ceph_error("stop", &e))?.is_none() {
                self.ctx
                    .logger
                    .info(format!("unmapped {} from {}", self.image, d.device));
                return Ok(OcfRc::Success);
            }
            if self.ctx.expired() {
                return Err(OcfError::generic(format!(
                    "{} still mapped to {} at the deadline",
                    self.image, d.device
                )));
            }
            std::thread::sleep(POLL);
        }
    }
}

fn is_block_device(path: &str) -> bool {
    std::fs::metadata(Path::new(path)).is_ok_and(|m| m.file_type().is_block_device())
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::ceph::types::parse_device_list;

    #[test]
    fn finds_the_exact_mapping() {
        // CONSTRUCTED fixture (no krbd here), in the JSON shape of src/krbd.cc
        let list = parse_device_list(include_str!(
            "../../../tests/fixtures/ceph/constructed-rbd-device-list-krbd.json"
        ))
        .unwrap();
        let head = ImageSpec::new("rbd", "", "vm1-disk", "").unwrap();
        assert_eq!(find(&list, &head).unwrap().device, "/dev/rbd0");
        let ns = ImageSpec::new("rbd", "ns1", "vm1-disk", "").unwrap();
        assert_eq!(find(&list, &ns).unwrap().device, "/dev/rbd1");
        let snap = ImageSpec::new("rbd", "", "vm1-disk", "base").unwrap();
        assert_eq!(find(&list, &snap).unwrap().device, "/dev/rbd2");
        let other = ImageSpec::new("rbd", "", "data", "").unwrap();
        assert!(find(&list, &other).is_none());
        // real: nothing mapped
        let empty = parse_device_list(include_str!(
            "../../../tests/fixtures/ceph/rbd-device-list-empty.out"
        ))
        .unwrap();
        assert!(find(&empty, &head).is_none());
    }

    #[test]
    fn missing_drivers_are_recognised() {
        // recorded stderr of `rbd device map` without krbd, and of nbd without rbd-nbd
        let krbd = CephError::Failed {
            cmdline: "rbd device map rbd/rec1".into(),
            code: Some(2),
            errno: Some(2),
            stderr: include_str!("../../../tests/fixtures/ceph/rbd-device-map-no-krbd.err").into(),
        };
        assert!(driver_missing(&krbd));
        let nbd = CephError::Failed {
            cmdline: "rbd device map --device-type nbd rbd/rec1".into(),
            code: Some(22),
            errno: Some(22),
            stderr: include_str!("../../../tests/fixtures/ceph/rbd-device-map-no-nbd.err").into(),
        };
        assert!(driver_missing(&nbd));
    }
}
