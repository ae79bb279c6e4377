//! The bond device: a TAP interface whose frames carry a virtio_net_hdr, so GSO/TSO
//! super-frames and partial checksums pass between it and the slaves' AF_PACKET sockets
//! unchanged (both sides use the same 10-byte header layout).

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use super::{cvt, cvt_size, ifreq_named};

pub use super::VNET_HDR_LEN;

// <linux/if_tun.h>
const IFF_TAP: libc::c_short = 0x0002;
const IFF_NO_PI: libc::c_short = 0x1000;
const IFF_VNET_HDR: libc::c_short = 0x4000;
const IFF_MULTI_QUEUE: libc::c_short = 0x0100;
const IFF_ATTACH_QUEUE: libc::c_short = 0x0200;
const IFF_DETACH_QUEUE: libc::c_short = 0x0400;
const TUNSETQUEUE: libc::c_ulong = 0x4004_54d9; // _IOW('T', 217, int)
const TUNSETIFF: libc::c_ulong = 0x4004_54ca; // _IOW('T', 202, int)
const TUNSETPERSIST: libc::c_ulong = 0x4004_54cb; // _IOW('T', 203, int)
const TUNSETOFFLOAD: libc::c_ulong = 0x4004_54d0; // _IOW('T', 208, unsigned int)
const TUNSETVNETHDRSZ: libc::c_ulong = 0x4004_54d8; // _IOW('T', 216, int)
const TUN_F_CSUM: libc::c_uint = 0x01;
const TUN_F_TSO4: libc::c_uint = 0x02;
const TUN_F_TSO6: libc::c_uint = 0x04;
const TUN_F_TSO_ECN: libc::c_uint = 0x08;

/// A TAP device. Made by `create` it is not persistent: closing the fd (drop) removes the
/// interface. `create_or_attach` makes it persistent (TUNSETPERSIST): then the kernel keeps
/// the interface, with its addresses and routes, when the fd is closed, also when the process
/// dies; `set_persist(false)` before the drop (or `Tap::delete`) removes it.
///
/// A multi-queue TAP (`IFF_MULTI_QUEUE`, Documentation/networking/tuntap.rst "Multiqueue
/// tuntap interface") has one fd per queue: `new_queue` opens another, and the kernel spreads
/// the frames the host sends over the attached queues by flow (tun_select_queue), so each
/// data-path worker reads its own queue. Such a device is not held exclusively by the kernel
/// (any process may attach one more queue), so `attach` refuses it on behalf of a live
/// daemon that owns it (sys::owner).
#[derive(Debug)]
pub struct Tap {
    fd: OwnedFd,
    name: String,
    ifindex: u32,
    multi_queue: bool,
}

impl Tap {
    /// Creates TAP `name` (IFF_TAP|IFF_NO_PI|IFF_VNET_HDR) in the calling thread's netns,
    /// with a 10-byte vnet header and CSUM|TSO4|TSO6|TSO_ECN offloads; the fd is O_NONBLOCK.
    /// The device starts administratively down; use `netlink::set_up`.
    pub fn create(name: &str) -> io::Result<Tap> {
        Self::open(name, false)
    }

    /// Attaches to TAP `name` if it exists (a persistent one left by an earlier daemon),
    /// else creates it; either way it is made persistent. Returns whether it existed.
    /// An existing device that is not a TAP is refused by the kernel (tun_set_iff: EINVAL);
    /// one whose queue another process holds gives EBUSY.
    pub fn create_or_attach(name: &str) -> io::Result<(Tap, bool)> {
        Self::create_or_attach_as(name, false)
    }

    /// As `create_or_attach`; a new device is made multi-queue when `multi_queue` (an existing
    /// one keeps the kind it has: see `attach`).
    pub fn create_or_attach_as(name: &str, multi_queue: bool) -> io::Result<(Tap, bool)> {
        if super::ifindex(name).is_ok() {
            let tap = Self::attach(name)?;
            tap.set_persist(true)?;
            return Ok((tap, true));
        }
        let tap = Self::open(name, multi_queue)?;
        tap.set_persist(true)?;
        Ok((tap, false))
    }

    /// Attaches to the existing TAP `name`; NotFound when there is no such interface (the
    /// kernel would create one instead).
    /// A multi-queue device gets its first queue here; one that a live rbond daemon owns
    /// (sys::owner) is refused with EBUSY, as the kernel refuses a held single-queue one.
    pub fn attach(name: &str) -> io::Result<Tap> {
        let ifindex = match super::ifindex(name) {
            Err(e) if e.raw_os_error() == Some(libc::ENODEV) => {
                return Err(io::Error::new(io::ErrorKind::NotFound, format!("no interface {name}")))
            }
            r => r?,
        };
        match Self::open(name, false) {
            // tun_set_iff: the IFF_MULTI_QUEUE flag must match the device's.
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                if super::owner::other_owner(ifindex).is_some() {
                    return Err(io::Error::from_raw_os_error(libc::EBUSY));
                }
                Self::open(name, true)
            }
            r => r,
        }
    }

    /// Whether this is a multi-queue device.
    pub fn is_multi_queue(&self) -> bool {
        self.multi_queue
    }

    /// Another queue of this multi-queue device (its own fd, attached). Unsupported on a
    /// single-queue device.
    pub fn new_queue(&self) -> io::Result<Tap> {
        if !self.multi_queue {
            return Err(io::Error::new(io::ErrorKind::Unsupported, format!("{} is a single-queue TAP", self.name)));
        }
        Self::open(&self.name, true)
    }

    /// TUNSETQUEUE: attach (`on`) or detach this queue. The kernel sends nothing to a
    /// detached queue and a write on it fails (EBADFD); the device's other queues carry on.
    pub fn set_queue_attached(&self, on: bool) -> io::Result<()> {
        let mut ifr = ifreq_named(&self.name)?;
        ifr.ifr_ifru.ifru_flags = if on { IFF_ATTACH_QUEUE } else { IFF_DETACH_QUEUE };
        // SAFETY: TUNSETQUEUE reads an ifreq.
        match cvt(unsafe { libc::ioctl(self.fd(), TUNSETQUEUE as _, &mut ifr) }) {
            // Already in the state asked for.
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Ok(()),
            r => r.map(drop),
        }
    }

    /// TUNSETPERSIST: whether the interface outlives this fd.
    pub fn set_persist(&self, on: bool) -> io::Result<()> {
        // SAFETY: TUNSETPERSIST takes the flag by value.
        cvt(unsafe { libc::ioctl(self.fd(), TUNSETPERSIST as _, on as libc::c_ulong) }).map(drop)
    }

    /// Removes the persistent TAP `name` (attach, persist off, close). Ok(false) when there
    /// is no such interface; EBUSY while a process (a live daemon) still holds it.
    pub fn delete(name: &str) -> io::Result<bool> {
        let tap = match Self::attach(name) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            r => r?,
        };
        tap.set_persist(false)?;
        drop(tap);
        Ok(true)
    }

    fn open(name: &str, multi_queue: bool) -> io::Result<Tap> {
        let mut ifr = ifreq_named(name)?;
        // SAFETY: path is a valid C string; we own the returned fd.
        let fd = cvt(unsafe {
            libc::open(c"/dev/net/tun".as_ptr(), libc::O_RDWR | libc::O_NONBLOCK | libc::O_CLOEXEC)
        })?;
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        ifr.ifr_ifru.ifru_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | if multi_queue { IFF_MULTI_QUEUE } else { 0 };
        // SAFETY: TUNSETIFF reads and writes back an ifreq.
        cvt(unsafe { libc::ioctl(fd.as_raw_fd(), TUNSETIFF as _, &mut ifr) })?;
        let hdr_len: libc::c_int = VNET_HDR_LEN as libc::c_int;
        // SAFETY: TUNSETVNETHDRSZ reads an int.
        cvt(unsafe { libc::ioctl(fd.as_raw_fd(), TUNSETVNETHDRSZ as _, &hdr_len) })?;
        // Offloads we accept in frames *written* to the tap, and that the kernel may hand us
        // on read. USO is left out: it must come as USO4|USO6 and AF_PACKET on old kernels
        // does not carry it.
        let offload = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
        // SAFETY: TUNSETOFFLOAD takes the flags by value.
        cvt(unsafe { libc::ioctl(fd.as_raw_fd(), TUNSETOFFLOAD as _, offload as libc::c_ulong) })?;
        // The kernel may have expanded a pattern like "bond%d": read the real name back.
        let name = unsafe { CStr::from_ptr(ifr.ifr_name.as_ptr()) }.to_string_lossy().into_owned();
        let ifindex = super::ifindex(&name)?;
        Ok(Tap { fd, name, ifindex, multi_queue })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// One frame the bond's stack transmitted: vnet header (10 bytes) + Ethernet frame.
    /// `WouldBlock` when none is queued. Use a buffer of `FRAME_BUF_LEN`.
    pub fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        // SAFETY: buf is valid for buf.len() bytes.
        cvt_size(unsafe { libc::read(self.fd(), buf.as_mut_ptr().cast(), buf.len()) })
    }

    /// Hands one frame (vnet header + Ethernet frame) to the bond's stack as received.
    /// Fails with EIO while the TAP is down, EINVAL for a malformed vnet header.
    pub fn write(&self, buf: &[u8]) -> io::Result<usize> {
        // SAFETY: buf is valid for buf.len() bytes.
        cvt_size(unsafe { libc::write(self.fd(), buf.as_ptr().cast(), buf.len()) })
    }
}
