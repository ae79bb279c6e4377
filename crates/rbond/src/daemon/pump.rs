//! The transmit half of the per-frame path, shared by the event loop (deciding with the
//! core) and the data-path workers (deciding with a `FastPath`): read a batch from a TAP
//! queue, decide each frame in order, then give each slave its frames, in that order, with
//! one sendmmsg. Nothing here allocates.

use crate::sys::packet::{FrameBatch, PacketSocket, SendReport};
use crate::sys::tap::Tap;
use crate::sys::VNET_HDR_LEN;
use rbond_core::bond::TxDecision;
use rbond_core::SlaveId;

/// Frames per batch: per read burst from the TAP, per recvmmsg, per wake-up and fd, so one
/// busy direction cannot starve the others.
pub const BATCH: usize = 64;

/// The bit mask of the slaves a decision names: bit j for the j-th id `ids()` yields.
pub fn mask<I: Iterator<Item = SlaveId>>(decision: TxDecision<'_>, ids: impl Fn() -> I) -> u64 {
    let bit = |id: SlaveId| ids().position(|x| x == id).filter(|&j| j < 64).map_or(0, |j| 1u64 << j);
    match decision {
        TxDecision::Drop => 0,
        TxDecision::Slave(id) => bit(id),
        TxDecision::Each(list) => list.iter().fold(0, |m, &id| m | bit(id)),
    }
}

/// Reads up to `BATCH` frames from `tap` into `batch` and decides each with `decide` (which
/// may rewrite the frame, vnet header excluded, and returns its destination mask). Returns
/// how many were read.
pub fn read_and_decide(tap: &Tap, batch: &mut FrameBatch, dest: &mut [u64; BATCH], mut decide: impl FnMut(&mut [u8]) -> u64) -> usize {
    batch.clear();
    let mut n = 0;
    for _ in 0..BATCH {
        let len = match tap.read(batch.slot_mut(n)) {
            Ok(len) if len > VNET_HDR_LEN => len,
            Ok(_) => continue,
            Err(_) => break,
        };
        batch.set_len(n, len);
        dest[n] = decide(&mut batch.frame_mut(n)[VNET_HDR_LEN..]);
        n += 1;
    }
    n
}

/// Sends frame i of `batch` (i < dest.len()) on every socket j whose bit is set in
/// `dest[i]`, one sendmmsg per socket. `sent(j, report, bytes)` hears each socket's outcome.
/// Returns the frames lost that had one destination only: a failed copy of a broadcast is
/// not a lost frame (a bond's mode, hence the kind of decision, is fixed while it has slaves,
/// so one batch does not mix the two).
pub fn send_by_mask<'a>(
    batch: &FrameBatch,
    dest: &[u64],
    socks: impl Iterator<Item = &'a PacketSocket>,
    mut sent: impl FnMut(usize, &SendReport, u64),
) -> u64 {
    let mut lost = 0;
    for (j, sock) in socks.enumerate().take(64) {
        let bit = 1u64 << j;
        let mut out: [&[u8]; BATCH] = [&[]; BATCH];
        let (mut k, mut copies, mut bytes) = (0, false, 0);
        for (slot, &d) in dest.iter().enumerate() {
            if d & bit != 0 {
                out[k] = batch.frame(slot);
                bytes += out[k].len() - VNET_HDR_LEN;
                k += 1;
                copies |= d != bit;
            }
        }
        if k == 0 {
            continue;
        }
        let rep = sock.send_batch(&out[..k]);
        sent(j, &rep, bytes as u64);
        if !copies {
            lost += rep.dropped as u64;
        }
    }
    lost
}
