//! The thin Linux layer of rbond: everything that talks to the kernel lives here.
//!
//! All of it is synchronous. Objects that the daemon waits on (`Tap`, `PacketSocket`,
//! `LinkEvents`) own a non-blocking fd meant for poll(2): on `WouldBlock`, poll again.
//! Every socket and device is created in the network namespace of the *calling thread*,
//! so tests can `setns()` one thread and drive a whole namespace from it.

pub mod ethtool;
pub mod isolate;
pub mod netlink;
pub mod owner;
pub mod packet;
pub mod tap;

use std::ffi::CStr;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

/// Size of `struct virtio_net_hdr` (without `num_buffers`): the header that both the TAP
/// (`TUNSETVNETHDRSZ`) and AF_PACKET (`PACKET_VNET_HDR`) put in front of every frame.
pub const VNET_HDR_LEN: usize = 10;

/// A buffer of this size holds any frame `Tap::read` or `PacketSocket::recv` can return:
/// vnet header + a GSO super-frame of up to 64 KiB (veth and tap default to
/// gso_max_size = 65536; BIG TCP is not enabled on them).
pub const FRAME_BUF_LEN: usize = VNET_HDR_LEN + 65536 + 512;

/// Kernel release string (`uname -r`), for the /proc/net/bonding-style header.
pub fn uname_release() -> String {
    // SAFETY: utsname is plain old data; uname fills it with NUL-terminated strings.
    unsafe {
        let mut u: libc::utsname = std::mem::zeroed();
        if libc::uname(&mut u) != 0 {
            return String::from("unknown");
        }
        CStr::from_ptr(u.release.as_ptr()).to_string_lossy().into_owned()
    }
}

/// Interface index of `name` in the calling thread's network namespace.
pub fn ifindex(name: &str) -> io::Result<u32> {
    let c = std::ffi::CString::new(name)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in interface name"))?;
    // SAFETY: c is a valid NUL-terminated string.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if i == 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(i)
    }
}

pub(crate) fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

pub(crate) fn cvt_size(r: libc::ssize_t) -> io::Result<usize> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r as usize)
    }
}

/// socket(2) wrapped into an OwnedFd.
pub(crate) fn socket(domain: libc::c_int, ty: libc::c_int, proto: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: plain syscall; on success we own the returned fd.
    let fd = cvt(unsafe { libc::socket(domain, ty | libc::SOCK_CLOEXEC, proto) })?;
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// setsockopt(2) with a value of any plain type.
pub(crate) fn setsockopt<T>(fd: libc::c_int, level: libc::c_int, opt: libc::c_int, val: &T) -> io::Result<()> {
    // SAFETY: val points to size_of::<T>() readable bytes.
    cvt(unsafe {
        libc::setsockopt(
            fd,
            level,
            opt,
            val as *const T as *const libc::c_void,
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    })
    .map(|_| ())
}

/// An `ifreq` with `ifr_name` set; rejects names the kernel would reject (empty, too long).
pub(crate) fn ifreq_named(name: &str) -> io::Result<libc::ifreq> {
    let b = name.as_bytes();
    if b.is_empty() || b.len() >= libc::IFNAMSIZ || b.contains(&0) {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("bad interface name {name:?}")));
    }
    // SAFETY: ifreq is plain old data; all-zero is a valid value.
    let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, s) in ifr.ifr_name.iter_mut().zip(b) {
        *d = *s as libc::c_char;
    }
    Ok(ifr)
}
