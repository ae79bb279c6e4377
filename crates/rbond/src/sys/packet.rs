//! A slave's data path: an AF_PACKET socket bound to the slave interface.
//!
//! Frames carry the same 10-byte virtio_net_hdr as the bond's TAP (`PACKET_VNET_HDR`), so a
//! GSO super-frame received here can be written to the TAP unchanged and vice versa.
//! Every frame we send is tagged with `TX_MARK` (SO_MARK): the slave's isolation lets only
//! marked frames leave the slave (see `isolate`).

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};

use super::{cvt, cvt_size, setsockopt, VNET_HDR_LEN};

// <linux/if_packet.h>
const SOL_PACKET: libc::c_int = 263;
const PACKET_ADD_MEMBERSHIP: libc::c_int = 1;
const PACKET_DROP_MEMBERSHIP: libc::c_int = 2;
const PACKET_VNET_HDR: libc::c_int = 15;
const PACKET_IGNORE_OUTGOING: libc::c_int = 23;
const PACKET_MR_MULTICAST: libc::c_ushort = 0;
const PACKET_MR_PROMISC: libc::c_ushort = 1;
const PACKET_MR_ALLMULTI: libc::c_ushort = 2;
const PACKET_OUTGOING: u8 = 4;
const ETH_P_ALL: u16 = 0x0003;

/// skb mark of every frame rbond transmits on a slave ("rbnd"). The slave's egress filter
/// drops everything else, i.e. what the slave's own stack would send.
pub const TX_MARK: u32 = 0x7262_6e64;

#[repr(C)]
struct PacketMreq {
    mr_ifindex: libc::c_int,
    mr_type: libc::c_ushort,
    mr_alen: libc::c_ushort,
    mr_address: [u8; 8],
}

#[derive(Debug)]
pub struct PacketSocket {
    fd: OwnedFd,
    ifindex: u32,
    promisc: AtomicBool,
    allmulti: AtomicBool,
}

impl PacketSocket {
    /// AF_PACKET/SOCK_RAW socket receiving every protocol on `ifindex` only, with vnet
    /// headers, our own transmissions ignored, `TX_MARK` on sends, O_NONBLOCK.
    pub fn bind(ifindex: u32) -> io::Result<Self> {
        // Protocol 0 at socket() so nothing is queued before bind() narrows it to ifindex.
        let fd = super::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_NONBLOCK, 0)?;
        let raw = fd.as_raw_fd();
        setsockopt(raw, SOL_PACKET, PACKET_VNET_HDR, &1 as &libc::c_int)?;
        // Not fatal before Linux 4.20: recv() also filters on sll_pkttype.
        let _ = setsockopt(raw, SOL_PACKET, PACKET_IGNORE_OUTGOING, &1 as &libc::c_int);
        setsockopt(raw, libc::SOL_SOCKET, libc::SO_MARK, &TX_MARK)?;
        // GSO frames are up to 64 KiB each: give bursts room.
        // As root, the FORCE variants pass net.core.{r,w}mem_max (212 KiB by default), which
        // would otherwise cap a daemon that misses a few milliseconds of CPU.
        for (force, plain) in [(libc::SO_RCVBUFFORCE, libc::SO_RCVBUF), (libc::SO_SNDBUFFORCE, libc::SO_SNDBUF)] {
            if setsockopt(raw, libc::SOL_SOCKET, force, &(4 << 20) as &libc::c_int).is_err() {
                let _ = setsockopt(raw, libc::SOL_SOCKET, plain, &(4 << 20) as &libc::c_int);
            }
        }
        // SAFETY: sockaddr_ll is plain old data.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = ETH_P_ALL.to_be();
        sll.sll_ifindex = ifindex as i32;
        // SAFETY: sll is a valid sockaddr_ll of the given length.
        cvt(unsafe {
            libc::bind(
                raw,
                &sll as *const libc::sockaddr_ll as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        })?;
        Ok(PacketSocket { fd, ifindex, promisc: AtomicBool::new(false), allmulti: AtomicBool::new(false) })
    }

    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// Next frame received on the slave: vnet header + Ethernet frame (as `Tap::read`).
    /// Our own outgoing frames are skipped. `WouldBlock` when none is queued.
    /// A frame longer than `buf` yields `InvalidData` (and is consumed); use `FRAME_BUF_LEN`.
    /// Known limit: a VLAN tag stripped by rx offload is not re-inserted (no PACKET_AUXDATA).
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            // SAFETY: sockaddr_ll is plain old data; buf is valid for buf.len() bytes.
            let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
            let mut len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
            let n = cvt_size(unsafe {
                libc::recvfrom(
                    self.fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    libc::MSG_TRUNC,
                    &mut sll as *mut libc::sockaddr_ll as *mut libc::sockaddr,
                    &mut len,
                )
            })?;
            if sll.sll_pkttype == PACKET_OUTGOING {
                continue;
            }
            if n > buf.len() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("frame of {n} bytes truncated to {}", buf.len()),
                ));
            }
            return Ok(n);
        }
    }

    /// Transmits vnet header + Ethernet frame on the slave. A frame dropped on the way out
    /// (full qdisc, e.g. tbf; the device down) fails with ENOBUFS or ENETDOWN: count it as
    /// a tx drop, it is not fatal. `WouldBlock` when the socket send buffer is full.
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        // SAFETY: buf is valid for buf.len() bytes; the bound ifindex is the destination.
        cvt_size(unsafe { libc::send(self.fd(), buf.as_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) })
    }

    /// Transmits a plain Ethernet frame (e.g. a gratuitous ARP or an LACPDU built by the
    /// core) behind an all-zero vnet header (no GSO, checksums complete).
    /// Returns the frame bytes sent (without the header).
    pub fn send_plain(&self, frame: &[u8]) -> io::Result<usize> {
        let hdr = [0u8; VNET_HDR_LEN];
        let iov = [
            libc::iovec { iov_base: hdr.as_ptr() as *mut libc::c_void, iov_len: hdr.len() },
            libc::iovec { iov_base: frame.as_ptr() as *mut libc::c_void, iov_len: frame.len() },
        ];
        // SAFETY: msghdr is plain old data; iov entries point to live buffers.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = iov.as_ptr() as *mut libc::iovec;
        msg.msg_iovlen = iov.len() as _;
        let n = cvt_size(unsafe { libc::sendmsg(self.fd(), &msg, libc::MSG_DONTWAIT) })?;
        Ok(n.saturating_sub(VNET_HDR_LEN))
    }

    /// Promiscuous mode through a socket membership: counted by the kernel, undone when the
    /// socket closes, and independent of what `ip link set promisc` says.
    pub fn set_promisc(&self, on: bool) -> io::Result<()> {
        self.membership(&self.promisc, PACKET_MR_PROMISC, on)
    }

    /// Receive all multicast (like the bonding driver's dev_set_allmulti on slaves).
    pub fn set_allmulti(&self, on: bool) -> io::Result<()> {
        self.membership(&self.allmulti, PACKET_MR_ALLMULTI, on)
    }

    /// Joins (on=true) or leaves one link-layer multicast address, e.g. the Slow Protocols
    /// address 01:80:c2:00:00:02 for LACP.
    pub fn set_multicast(&self, mac: [u8; 6], on: bool) -> io::Result<()> {
        let mut mr = self.mreq(PACKET_MR_MULTICAST);
        mr.mr_alen = 6;
        mr.mr_address[..6].copy_from_slice(&mac);
        let opt = if on { PACKET_ADD_MEMBERSHIP } else { PACKET_DROP_MEMBERSHIP };
        setsockopt(self.fd(), SOL_PACKET, opt, &mr)
    }

    fn mreq(&self, ty: libc::c_ushort) -> PacketMreq {
        PacketMreq { mr_ifindex: self.ifindex as i32, mr_type: ty, mr_alen: 0, mr_address: [0; 8] }
    }

    // Memberships stack per socket; remember ours so repeated calls stay idempotent.
    fn membership(&self, state: &AtomicBool, ty: libc::c_ushort, on: bool) -> io::Result<()> {
        if state.load(Ordering::Relaxed) == on {
            return Ok(());
        }
        let opt = if on { PACKET_ADD_MEMBERSHIP } else { PACKET_DROP_MEMBERSHIP };
        setsockopt(self.fd(), SOL_PACKET, opt, &self.mreq(ty))?;
        state.store(on, Ordering::Relaxed);
        Ok(())
    }
}
