//! A slave's data path: an AF_PACKET socket bound to the slave interface.
//!
//! Frames carry the same 10-byte virtio_net_hdr as the bond's TAP (`PACKET_VNET_HDR`), so a
//! GSO super-frame received here can be written to the TAP unchanged and vice versa.
//! Every frame we send is tagged with `TX_MARK` (SO_MARK): the slave's isolation lets only
//! marked frames leave the slave (see `isolate`).

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};

use super::{cvt, cvt_size, setsockopt, FRAME_BUF_LEN, VNET_HDR_LEN};

// <linux/if_packet.h>
const SOL_PACKET: libc::c_int = 263;
const PACKET_ADD_MEMBERSHIP: libc::c_int = 1;
const PACKET_DROP_MEMBERSHIP: libc::c_int = 2;
const PACKET_VNET_HDR: libc::c_int = 15;
const PACKET_IGNORE_OUTGOING: libc::c_int = 23;
const PACKET_FANOUT: libc::c_int = 18;
const PACKET_FANOUT_HASH: u32 = 0;
const PACKET_FANOUT_FLAG_UNIQUEID: u32 = 0x2000;
const PACKET_MR_MULTICAST: libc::c_ushort = 0;
const PACKET_MR_PROMISC: libc::c_ushort = 1;
const PACKET_MR_ALLMULTI: libc::c_ushort = 2;
const PACKET_OUTGOING: u8 = 4;
const ETH_P_ALL: u16 = 0x0003;

/// skb mark of every frame rbond transmits on a slave ("rbnd"). The slave's egress filter
/// drops everything else, i.e. what the slave's own stack would send.
pub const TX_MARK: u32 = 0x7262_6e64;

/// Most frames one `recv_batch`/`send_batch` call handles; the syscall's header arrays
/// live on the stack with this many entries, so the batched path allocates nothing.
pub const BATCH_MAX: usize = 64;

/// `slots` preallocated frame buffers of `FRAME_BUF_LEN` bytes each (room for any GSO
/// frame, so nothing is ever truncated), filled by `recv_batch` or by the caller (e.g. from
/// the TAP) and sent with `send_batch`. Allocate once and reuse: the memory is zero pages
/// until touched, so idle slots cost no RSS.
pub struct FrameBatch {
    buf: Box<[u8]>,
    lens: [usize; BATCH_MAX],
    count: usize,
}

impl FrameBatch {
    /// `slots` is capped at `BATCH_MAX`.
    pub fn new(slots: usize) -> FrameBatch {
        let slots = slots.clamp(1, BATCH_MAX);
        FrameBatch { buf: vec![0u8; slots * FRAME_BUF_LEN].into_boxed_slice(), lens: [0; BATCH_MAX], count: 0 }
    }

    pub fn slots(&self) -> usize {
        self.buf.len() / FRAME_BUF_LEN
    }

    /// Filled slots, 0..len(); set by `recv_batch` or `set_len`.
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn clear(&mut self) {
        self.count = 0;
    }

    /// The whole buffer of slot `i` (`FRAME_BUF_LEN` bytes), to read a frame into.
    pub fn slot_mut(&mut self, i: usize) -> &mut [u8] {
        &mut self.buf[i * FRAME_BUF_LEN..(i + 1) * FRAME_BUF_LEN]
    }

    /// Slot `i` now holds a frame of `n` bytes; slots up to `i` count as filled.
    pub fn set_len(&mut self, i: usize, n: usize) {
        self.lens[i] = n.min(FRAME_BUF_LEN);
        self.count = self.count.max(i + 1);
    }

    /// The frame in slot `i` (vnet header + Ethernet frame); empty for a slot that
    /// `recv_batch` skipped (our own outgoing frame, a truncated one).
    pub fn frame(&self, i: usize) -> &[u8] {
        &self.buf[i * FRAME_BUF_LEN..i * FRAME_BUF_LEN + self.lens[i]]
    }

    pub fn frame_mut(&mut self, i: usize) -> &mut [u8] {
        let n = self.lens[i];
        &mut self.buf[i * FRAME_BUF_LEN..i * FRAME_BUF_LEN + n]
    }
}

#[repr(C)]
struct PacketMreq {
    mr_ifindex: libc::c_int,
    mr_type: libc::c_ushort,
    mr_alen: libc::c_ushort,
    mr_address: [u8; 8],
}

/// Outcome of `PacketSocket::send_batch`: `sent + dropped` = frames given.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SendReport {
    pub sent: usize,
    pub dropped: usize,
    /// errno of the last failure, if any.
    pub last_err: Option<i32>,
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
        let mut s = Self::open()?;
        s.bind_to(ifindex)?;
        Ok(s)
    }

    /// As `bind`, and a member of the existing fanout group `group` (see `join_fanout`)
    /// from its first frame on: it never sees a frame that another member gets too.
    pub fn bind_fanout(ifindex: u32, group: u16) -> io::Result<Self> {
        let mut s = Self::open()?;
        // Until it is in the group, a bound socket gets a copy of every frame: a filter that
        // takes nothing (classic BPF "ret #0"), set before bind, keeps its queue empty until
        // it has joined; then it goes.
        let drop_all = [libc::sock_filter { code: 0x06, jt: 0, jf: 0, k: 0 }];
        let prog = libc::sock_fprog { len: 1, filter: drop_all.as_ptr() as *mut libc::sock_filter };
        setsockopt(s.fd(), libc::SOL_SOCKET, libc::SO_ATTACH_FILTER, &prog)?;
        s.bind_to(ifindex)?;
        s.join_fanout(Some(group))?;
        setsockopt(s.fd(), libc::SOL_SOCKET, libc::SO_DETACH_FILTER, &0 as &libc::c_int)?;
        Ok(s)
    }

    fn open() -> io::Result<Self> {
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
        Ok(PacketSocket { fd, ifindex: 0, promisc: AtomicBool::new(false), allmulti: AtomicBool::new(false) })
    }

    fn bind_to(&mut self, ifindex: u32) -> io::Result<()> {
        self.ifindex = ifindex;
        // SAFETY: sockaddr_ll is plain old data.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = ETH_P_ALL.to_be();
        sll.sll_ifindex = ifindex as i32;
        // SAFETY: sll is a valid sockaddr_ll of the given length.
        cvt(unsafe {
            libc::bind(
                self.fd(),
                &sll as *const libc::sockaddr_ll as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        })?;
        Ok(())
    }

    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Joins fanout group `group` (PACKET_FANOUT_HASH, Documentation/networking/packet_mmap.rst
    /// "AF_PACKET fanout mode"), or with `None` makes a new group with an id the kernel picks
    /// (PACKET_FANOUT_FLAG_UNIQUEID), and returns the group's id. The sockets of one group
    /// share the slave's frames by flow hash, so each flow stays in order on one socket. A
    /// socket cannot leave its group; a group of one gets every frame.
    pub fn join_fanout(&self, group: Option<u16>) -> io::Result<u16> {
        let arg: u32 = match group {
            Some(id) => (PACKET_FANOUT_HASH << 16) | id as u32,
            None => (PACKET_FANOUT_HASH | PACKET_FANOUT_FLAG_UNIQUEID) << 16,
        };
        setsockopt(self.fd(), SOL_PACKET, PACKET_FANOUT, &arg)?;
        let mut v: u32 = 0;
        let mut len = std::mem::size_of::<u32>() as libc::socklen_t;
        // SAFETY: v is a u32 of the stated length.
        cvt(unsafe { libc::getsockopt(self.fd(), SOL_PACKET, PACKET_FANOUT, (&mut v as *mut u32).cast(), &mut len) })?;
        Ok((v & 0xffff) as u16)
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

    /// Receives up to `batch.slots()` queued frames with one recvmmsg(2), into slots
    /// 0..`batch.len()` (returned too). Slots holding our own outgoing frames (kernels without
    /// PACKET_IGNORE_OUTGOING) or a truncated frame read as empty. `WouldBlock` when none is
    /// queued; a pending socket error (e.g. ENETDOWN) is returned, and thereby cleared.
    pub fn recv_batch(&self, batch: &mut FrameBatch) -> io::Result<usize> {
        batch.count = 0;
        let slots = batch.slots();
        // SAFETY: all three are plain old data; zero is a valid value.
        let mut sll: [libc::sockaddr_ll; BATCH_MAX] = unsafe { std::mem::zeroed() };
        let mut iov: [libc::iovec; BATCH_MAX] = unsafe { std::mem::zeroed() };
        let mut hdrs: [libc::mmsghdr; BATCH_MAX] = unsafe { std::mem::zeroed() };
        let base = batch.buf.as_mut_ptr();
        for i in 0..slots {
            // SAFETY: slot i lies inside batch.buf (slots * FRAME_BUF_LEN bytes).
            iov[i] = libc::iovec { iov_base: unsafe { base.add(i * FRAME_BUF_LEN) }.cast(), iov_len: FRAME_BUF_LEN };
            let m = &mut hdrs[i].msg_hdr;
            m.msg_name = (&mut sll[i] as *mut libc::sockaddr_ll).cast();
            m.msg_namelen = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
            m.msg_iov = &mut iov[i];
            m.msg_iovlen = 1;
        }
        // SAFETY: hdrs[..slots] point to live iovecs, buffers and sockaddrs of the stated sizes.
        let r = unsafe {
            libc::recvmmsg(self.fd(), hdrs.as_mut_ptr(), slots as libc::c_uint, libc::MSG_DONTWAIT, std::ptr::null_mut())
        };
        let n = cvt(r)? as usize;
        for i in 0..n {
            let skip = sll[i].sll_pkttype == PACKET_OUTGOING || hdrs[i].msg_hdr.msg_flags & libc::MSG_TRUNC != 0;
            batch.lens[i] = if skip { 0 } else { (hdrs[i].msg_len as usize).min(FRAME_BUF_LEN) };
        }
        batch.count = n;
        Ok(n)
    }

    /// Transmits `frames` (each vnet header + Ethernet frame) in order with sendmmsg(2),
    /// at most `BATCH_MAX` per call. Returns how many the kernel took and how many were
    /// dropped: a frame that fails alone (ENOBUFS from a full qdisc, ENETDOWN, EINVAL...)
    /// is dropped and the rest still go; on `WouldBlock` (send buffer full) the remaining
    /// frames are dropped rather than retried, so a congested slave cannot make us spin.
    pub fn send_batch(&self, frames: &[&[u8]]) -> SendReport {
        let mut rep = SendReport::default();
        for chunk in frames.chunks(BATCH_MAX) {
            // SAFETY: plain old data; zero is a valid value.
            let mut iov: [libc::iovec; BATCH_MAX] = unsafe { std::mem::zeroed() };
            let mut hdrs: [libc::mmsghdr; BATCH_MAX] = unsafe { std::mem::zeroed() };
            for (i, f) in chunk.iter().enumerate() {
                iov[i] = libc::iovec { iov_base: f.as_ptr() as *mut libc::c_void, iov_len: f.len() };
                hdrs[i].msg_hdr.msg_iov = &mut iov[i];
                hdrs[i].msg_hdr.msg_iovlen = 1;
            }
            let mut at = 0;
            while at < chunk.len() {
                // SAFETY: hdrs[at..len] point to live iovecs over the caller's frames.
                let r = unsafe {
                    libc::sendmmsg(self.fd(), hdrs.as_mut_ptr().add(at), (chunk.len() - at) as libc::c_uint, libc::MSG_DONTWAIT)
                };
                match cvt(r) {
                    Ok(k) => {
                        // k < asked: frame at+k failed; the next call reports its error.
                        rep.sent += k as usize;
                        at += k as usize;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        rep.dropped += frames.len() - rep.sent - rep.dropped;
                        rep.last_err = Some(e.raw_os_error().unwrap_or(0));
                        return rep;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        rep.dropped += 1;
                        rep.last_err = Some(e.raw_os_error().unwrap_or(0));
                        at += 1;
                    }
                }
            }
        }
        rep
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
