//! The bond's per-frame decisions as a read-only snapshot, for a data path spread over
//! several worker threads (issue 17).
//!
//! The kernel does the same: the transmit path reads the array of usable slaves that
//! bond_main.c: bond_update_slave_arr publishes by RCU (bond_xmit_xor_slave_get and
//! bond_3ad_xor_xmit index it, bond_xmit_broadcast walks the slave list), and balance-rr
//! counts with `rr_tx_counter`, which is per CPU. Here [`Bond::fast_path`] takes the
//! snapshot ([`FastPath`]): every state change stays on the control thread, which calls it
//! again after each event and publishes the new snapshot to the workers when it differs
//! (it is `PartialEq`); each worker keeps its own [`FastPathState`] (the rr counter and
//! rng) and decides frames with `&FastPath` alone, without a lock.
//!
//! Modes whose per-frame path changes the bond's state have no snapshot: balance-tlb and
//! balance-alb (the tx table's load accounting, bond_alb.c: tlb_choose_channel; the
//! receive table, bond_alb.c: rlb_arp_recv) and any mode with the ARP/NS monitor
//! (arp_interval > 0: it sees every received frame, bond_main.c: bond_rcv_validate). In
//! 802.3ad a received Slow Protocols frame (LACPDU, marker) is handed back to the core
//! ([`RxVerdict::ToCore`]).

use super::mode::{active_if, each, pick_by_hash, ModeState, RrCounter};
use super::{Bond, TxDecision};
use crate::frame;
use crate::types::{Mode, SlaveId, SlaveIdx, XmitHashPolicy};

/// What the per-frame decisions need of one slave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FpSlave {
    id: SlaveId,
    /// `Slave::can_tx` (balance-rr and active-backup test it per slave).
    can_tx: bool,
    /// The receive suppression flag: frames received on it are dropped
    /// (bond_main.c: bond_should_deliver_exact_match).
    inactive: bool,
}

/// A read-only snapshot of everything [`Bond::tx`] and [`Bond::rx`] need to decide a frame
/// in balance-rr, active-backup, balance-xor, broadcast and 802.3ad (see the module
/// documentation). Taken with [`Bond::fast_path`]; shared between threads as it is
/// (`Send + Sync`), compared with `==` to see whether a new one must be published.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FastPath {
    mode: Mode,
    xmit_hash_policy: XmitHashPolicy,
    packets_per_slave: u32,
    /// The current active slave (position in `slaves`).
    active: Option<SlaveIdx>,
    /// Every slave, in enslave order.
    slaves: Vec<FpSlave>,
    /// The transmit array: the slaves that can transmit (in 802.3ad: the ports in
    /// distribution), in slave order; the bond's own `usable_ids`.
    usable_ids: Vec<SlaveId>,
}

/// One worker's mutable state for [`FastPath::tx`]: the balance-rr counter and rng (the
/// kernel keeps `rr_tx_counter` per CPU). Other modes do not use it.
#[derive(Clone, Debug)]
pub struct FastPathState {
    rr: RrCounter,
}

impl FastPathState {
    /// A fresh state, as a fresh balance-rr bond starts: counter 0, the packets_per_slave=0
    /// rng seeded with `seed` (the same seed gives the same draws as a bond seeded with it,
    /// [`Bond::seed_rng`]). Workers should get different seeds.
    pub fn new(seed: u32) -> FastPathState {
        FastPathState { rr: RrCounter::new(seed) }
    }
}

/// What a worker does with a frame received on a slave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RxVerdict {
    /// Hand it to the bond device.
    Deliver,
    /// Suppress it (inactive slave, unknown slave).
    Drop,
    /// The frame needs the core (e.g. any ethertype 0x8809 Slow Protocols frame in
    /// 802.3ad): hand it to [`Bond::rx`] on the control thread.
    ToCore,
}

impl FastPath {
    /// Same decision as [`Bond::tx`] for the state the snapshot was taken from (in
    /// balance-rr: for the sequence `st` has counted). No allocation.
    #[inline]
    pub fn tx<'a>(&'a self, st: &mut FastPathState, frame: &mut [u8]) -> TxDecision<'a> {
        let pos = |p: Option<SlaveIdx>| p.map_or(TxDecision::Drop, |i| TxDecision::Slave(self.slaves[i].id));
        let can_tx = |i: SlaveIdx| self.slaves[i].can_tx;
        match self.mode {
            Mode::BalanceRr => pos(st.rr.pick(frame, self.packets_per_slave, self.active, self.slaves.len(), can_tx)),
            Mode::ActiveBackup => pos(active_if(self.active, can_tx)),
            Mode::Broadcast => each(&self.usable_ids),
            // balance-xor and 802.3ad (tlb/alb have no snapshot).
            _ => pick_by_hash(self.xmit_hash_policy, &self.usable_ids, frame),
        }
    }

    /// For a frame received on slave `id`: Deliver / Drop exactly as [`Bond::rx`] would
    /// decide for it, or ToCore when `Bond::rx` would look at it with side effects (LACP,
    /// markers). No allocation.
    #[inline]
    pub fn rx(&self, id: SlaveId, frame: &[u8]) -> RxVerdict {
        let Some(s) = self.slaves.iter().find(|s| s.id == id) else { return RxVerdict::Drop };
        // 802.3ad: LACPDUs and markers go to the LACP engine on every port, enabled or not
        // (IEEE 802.1AX-2020 6.4.2, 6.5.3; bond_3ad.c: bond_3ad_lacpdu_recv). Any Slow
        // Protocols frame goes back: the core tells them apart.
        if self.mode == Mode::Ieee8023ad && frame::parse_eth(frame).is_some_and(|m| m.ethertype == frame::ethertype::SLOW) {
            return RxVerdict::ToCore;
        }
        // bond_main.c: bond_should_deliver_exact_match: an inactive slave's frames are
        // dropped (only alb, which has no snapshot, delivers unicast there).
        if s.inactive {
            RxVerdict::Drop
        } else {
            RxVerdict::Deliver
        }
    }

    /// Every slave of the bond in enslave order (a worker keeps one socket per slave).
    pub fn slaves(&self) -> impl Iterator<Item = SlaveId> + '_ {
        self.slaves.iter().map(|s| s.id)
    }
}

impl Bond {
    /// The snapshot, or None when the mode needs the core for every frame: balance-tlb and
    /// balance-alb (tx table load accounting, RLB), and any mode with arp_interval > 0 (the
    /// ARP/NS monitor sees every received frame). Cheap enough to call after every event.
    pub fn fast_path(&self) -> Option<FastPath> {
        if self.opts.arp_interval > 0 {
            return None;
        }
        let mode = match self.mode {
            ModeState::RoundRobin(_) => Mode::BalanceRr,
            ModeState::ActiveBackup(_) => Mode::ActiveBackup,
            ModeState::Xor(_) => Mode::BalanceXor,
            ModeState::Broadcast(_) => Mode::Broadcast,
            ModeState::Ieee8023ad(_) => Mode::Ieee8023ad,
            ModeState::Tlb(_) => return None,
        };
        Some(FastPath {
            mode,
            xmit_hash_policy: self.opts.xmit_hash_policy,
            packets_per_slave: self.opts.packets_per_slave,
            active: self.curr_active,
            slaves: self.slaves.iter().map(|s| FpSlave { id: s.id, can_tx: s.can_tx(), inactive: s.inactive }).collect(),
            usable_ids: self.usable_ids.clone(),
        })
    }
}
