//! One component per mode family. Everything that differs between the seven modes lives in
//! these files: which slaves may transmit, the bond carrier, the flags of a new or recovered
//! slave, the per-frame transmit and receive decisions, and the mode's own tables and timers
//! (the tlb table, later the LACP machines and the alb receive table).
//!
//! The `Bond` owns the slaves, the options and the link monitors, and calls the component's
//! hooks (the kernel's `bond_3ad_*` / `bond_alb_*` / `bond_xmit_*` entry points play the same
//! role in `drivers/net/bonding/bond_main.c`). A hook gets a read-only [`View`] of the bond and,
//! where it may emit something, the bond's action queue.

mod active_backup;
mod broadcast;
mod ieee8023ad;
mod round_robin;
mod tlb;
mod xor;

pub use active_backup::ActiveBackup;
pub use broadcast::Broadcast;
pub use ieee8023ad::Ieee8023ad;
pub use round_robin::RoundRobin;
pub use tlb::Tlb;
pub use xor::Xor;
// The per-frame rules the bond's components and the fast path (`bond::fastpath`) share.
pub(crate) use broadcast::each;
pub(crate) use round_robin::{active_if, RrCounter};
pub(crate) use xor::pick_by_hash;

use super::{Action, Slave};
use crate::options::BondOptions;
use crate::types::{LinkState, MacAddr, Millis, Mode, SlaveId, SlaveIdx};
use std::collections::VecDeque;

/// What the bond lets a mode see: the options, the slaves in enslave order, the current
/// active slave and the slaves that can transmit (positions and ids, in slave order).
pub struct View<'a> {
    pub opts: &'a BondOptions,
    pub slaves: &'a [Slave],
    pub active: Option<SlaveIdx>,
    pub usable: &'a [SlaveIdx],
    pub usable_ids: &'a [SlaveId],
}

impl View<'_> {
    pub fn id(&self, i: SlaveIdx) -> SlaveId {
        self.slaves[i].id
    }
}

/// Where a frame from the bond device goes: the one call per transmitted frame returns all of
/// it. A source-MAC rewrite (tlb/alb) has already been applied to the frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxDecision<'a> {
    Drop,
    Slave(SlaveId),
    /// A copy on each of these slaves (broadcast mode).
    Each(&'a [SlaveId]),
}

/// What happens to a frame received on a slave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RxDecision {
    /// Hand it to the bond device.
    Deliver,
    /// Suppressed (inactive slave, or not for the bond).
    Drop,
    /// Taken by the bond itself (LACPDUs and markers in 802.3ad).
    Consumed,
}

/// The hooks of a mode component. Defaults are the behaviour most modes share.
pub(crate) trait ModeOps {
    /// Modes with a current active slave chosen by primary / primary_reselect (bond_main.c: bond_find_best_slave).
    fn uses_primary(&self) -> bool {
        false
    }
    /// `bond_slave_can_tx` as this mode applies it: may `s` be in the transmit array?
    fn usable(&self, s: &Slave) -> bool {
        s.can_tx()
    }
    /// The transmit array was rebuilt (a slave's state changed).
    fn usable_changed(&mut self, _v: &View) {}
    /// The bond carrier (all modes but 802.3ad: some slave has link UP, bonding.rst, mode).
    fn carrier(&self, v: &View) -> bool {
        v.slaves.iter().any(|s| s.link == LinkState::Up)
    }
    /// A new slave starts active (modes 0, 2, 3) or as not-the-active-one until the
    /// selection (or LACP) says otherwise.
    fn new_slave_active(&self) -> bool {
        false
    }
    /// Mode 1: a failover applies fail_over_mac and notifies peers (bond_main.c: bond_find_best_slave actions 4–5).
    fn announces_failover(&self) -> bool {
        false
    }
    /// A slave that is not the one carrying traffic is a "backup" (sysfs `state`). tlb/alb
    /// slaves always read `active` (bond_main.c: bond_should_deliver_exact_match): only their receive flag changes.
    fn inactive_means_backup(&self) -> bool {
        true
    }
    /// Modes 4, 5, 6 keep a slave whose speed cannot be read DOWN (bond_main.c: bond_miimon_inspect).
    fn needs_speed(&self) -> bool {
        false
    }
    /// The slave flags when the MII monitor commits a slave to UP (bond_main.c: bond_miimon_inspect).
    fn on_commit_up(&self, s: &mut Slave) {
        s.backup = false;
    }
    /// Whether committing a slave to DOWN marks it inactive (modes 1 and 4).
    fn down_marks_inactive(&self) -> bool {
        false
    }
    /// Whether the updelay is skipped (bond_main.c: bond_miimon_inspect: no usable slave at all).
    fn ignore_updelay(&self, v: &View) -> bool {
        v.usable.is_empty()
    }
    /// The word the MII monitor's log uses for slave `i` ("active "/"backup " in mode 1).
    fn log_role(&self, _v: &View, _i: SlaveIdx) -> &'static str {
        ""
    }
    /// Whether new slaves keep their own MAC (mode 1 with fail_over_mac ≠ none).
    fn slaves_keep_own_mac(&self, _o: &BondOptions) -> bool {
        false
    }
    /// Whether the bond MAC is the active slave's (mode 1 with fail_over_mac=active), so
    /// that setting it by hand is ignored (bond_main.c: bond_do_fail_over_mac).
    fn bond_mac_follows_active(&self, _o: &BondOptions) -> bool {
        false
    }
    /// Whether a released slave gets its permanent MAC back (not in mode 1 with
    /// fail_over_mac=active, whose slaves never had theirs changed).
    fn restores_mac_on_release(&self, _o: &BondOptions) -> bool {
        true
    }
    fn slave_added(&mut self, _v: &View, _i: SlaveIdx, _now: Millis) {}
    /// Slave `i` (still in the view) is being released.
    fn slave_removed(&mut self, _v: &View, _i: SlaveIdx, _now: Millis) {}
    /// The MII monitor committed slave `i` to UP / DOWN (bond_main.c: bond_miimon_inspect).
    fn link_up(&mut self, _v: &View, _i: SlaveIdx, _now: Millis) {}
    fn link_down(&mut self, _v: &View, _i: SlaveIdx, _now: Millis) {}
    /// The driver's observation of slave `i` changed (carrier, speed, duplex), whatever the
    /// MII monitor makes of it (802.3ad re-derives the port key from speed and duplex, bond_3ad.c: __get_link_speed, ad key).
    fn slave_observed(&mut self, _v: &View, _i: SlaveIdx, _now: Millis) {}
    /// The bond device was brought up or down.
    fn admin_changed(&mut self, _v: &View, _up: bool, _now: Millis) {}
    /// The bond's MAC changed (802.3ad: the actor system when ad_actor_system is zero).
    fn bond_mac_changed(&mut self, _mac: MacAddr) {}
    /// Some option changed (or the component is new): the mode re-reads what it uses.
    fn options_changed(&mut self, _v: &View, _now: Millis) {}
    /// Hands over what the mode's own machines produced since the last call (frames to send,
    /// log lines) and says whether the slave flags, the transmit array or the carrier may
    /// have to change (then the bond asks `port_flags` for every slave).
    fn drain(&mut self, _v: &View, _out: &mut VecDeque<Action>) -> bool {
        false
    }
    /// Where the mode itself decides a slave's flags (802.3ad: LACP, bond_main.c: bond_should_deliver_exact_match): (may transmit,
    /// may receive). None: the bond's generic rules apply.
    fn port_flags(&self, _s: &Slave) -> Option<(bool, bool)> {
        None
    }
    /// The current active slave changed from `old` to `new` (positions in the view).
    fn active_changed(&mut self, _v: &View, _old: Option<SlaveIdx>, _new: Option<SlaveIdx>) {}
    /// Time passes for the mode's own timers (only while the bond is up).
    fn tick(&mut self, _v: &View, _now: Millis, _out: &mut VecDeque<Action>) {}
    fn poll_timeout(&self, _v: &View) -> Option<Millis> {
        None
    }
    /// The transmit decision for one frame from the bond device.
    fn tx<'a>(&mut self, v: &View<'a>, frame: &mut [u8]) -> TxDecision<'a>;
    /// The mode's receive hook: it sees every frame first (bond_main.c: bond_should_deliver_exact_match step 1) and may take it.
    fn rx_hook(&mut self, _v: &View, _i: SlaveIdx, _frame: &[u8], _now: Millis, _out: &mut VecDeque<Action>) -> Option<RxDecision> {
        None
    }
    /// What an inactive slave does with a frame (bond_main.c: bond_should_deliver_exact_match step 2): dropped, except where the mode
    /// says otherwise (alb unicast).
    fn rx_inactive(&self, _frame: &[u8]) -> RxDecision {
        RxDecision::Drop
    }

    // ----- MAC handling and timed link events of tlb/alb (bond_alb.c: rlb_*, bond_alb.c: alb_set_slave_mac_addr, alb_swap_mac_addr) ----------------------
    // Later additions, with defaults that change nothing for the other modes.

    /// Slave `i` (already in the view) was just enslaved while the bond's MAC is `bond_mac`:
    /// the mode programs its MAC itself (actions in `out`) and returns true, or returns false
    /// and the bond gives it the bond MAC (bonding.rst, mode).
    fn enslave_macs(&mut self, _v: &View, _i: SlaveIdx, _bond_mac: MacAddr, _now: Millis, _out: &mut VecDeque<Action>) -> bool {
        false
    }
    /// Slave `i` (still in the view) is being released: the mode restores the MACs itself
    /// (the leaving slave's included) and returns true, or returns false for the generic
    /// restore of its permanent MAC.
    fn release_macs(&mut self, _v: &View, _i: SlaveIdx, _now: Millis, _out: &mut VecDeque<Action>) -> bool {
        false
    }
    /// The administrator set the bond MAC to `mac`: true if the mode programmed the slaves.
    fn admin_set_bond_mac(&mut self, _v: &View, _mac: MacAddr, _out: &mut VecDeque<Action>) -> bool {
        false
    }
    /// The MAC the mode last programmed into slave `id`'s NIC (keeps `Slave::cur_mac` true).
    fn nic_mac(&self, _id: SlaveId) -> Option<MacAddr> {
        None
    }
    /// Like `link_up`/`link_down`, with the time and the action queue: slave `i` was just
    /// committed UP (`up`) or DOWN, before any reselection.
    fn link_changed(&mut self, _v: &View, _i: SlaveIdx, _up: bool, _now: Millis, _out: &mut VecDeque<Action>) {}
    /// After `active_changed`, with the time and the action queue (tlb/alb MAC swap).
    fn active_moved(&mut self, _v: &View, _old: Option<SlaveIdx>, _new: Option<SlaveIdx>, _now: Millis, _out: &mut VecDeque<Action>) {}
    /// A frame received on slave `i` is being handed to the bond device: the mode may fix it
    /// for the bond device (alb: a frame for the slave's own MAC gets the bond MAC).
    fn rx_deliver_fixup(&self, _v: &View, _i: SlaveIdx, _frame: &mut [u8]) {}
}

/// The component of the bond's current mode.
#[derive(Clone, Debug)]
pub enum ModeState {
    RoundRobin(RoundRobin),
    ActiveBackup(ActiveBackup),
    Xor(Xor),
    Broadcast(Broadcast),
    Ieee8023ad(Ieee8023ad),
    /// balance-tlb and balance-alb (the alb receive balancing lives inside).
    Tlb(Tlb),
}

macro_rules! with_mode {
    ($self:expr, $m:ident => $body:expr) => {
        match $self {
            ModeState::RoundRobin($m) => $body,
            ModeState::ActiveBackup($m) => $body,
            ModeState::Xor($m) => $body,
            ModeState::Broadcast($m) => $body,
            ModeState::Ieee8023ad($m) => $body,
            ModeState::Tlb($m) => $body,
        }
    };
}

impl ModeState {
    /// A fresh component for `mode` (the kernel re-initialises the mode's state when the mode
    /// is set, which it allows only without slaves).
    pub fn new(mode: Mode, seed: u32) -> ModeState {
        match mode {
            Mode::BalanceRr => ModeState::RoundRobin(RoundRobin::new(seed)),
            Mode::ActiveBackup => ModeState::ActiveBackup(ActiveBackup),
            Mode::BalanceXor => ModeState::Xor(Xor),
            Mode::Broadcast => ModeState::Broadcast(Broadcast),
            Mode::Ieee8023ad => ModeState::Ieee8023ad(Ieee8023ad::default()),
            Mode::BalanceTlb => ModeState::Tlb(Tlb::new(false)),
            Mode::BalanceAlb => ModeState::Tlb(Tlb::new(true)),
        }
    }

    pub(crate) fn ops(&self) -> &dyn ModeOps {
        with_mode!(self, m => m)
    }

    pub(crate) fn ops_mut(&mut self) -> &mut dyn ModeOps {
        with_mode!(self, m => m)
    }

    /// The per-frame transmit decision, statically dispatched (this is the hot path).
    #[inline]
    pub(crate) fn tx<'a>(&mut self, v: &View<'a>, frame: &mut [u8]) -> TxDecision<'a> {
        with_mode!(self, m => m.tx(v, frame))
    }

    pub fn as_8023ad(&self) -> Option<&Ieee8023ad> {
        match self {
            ModeState::Ieee8023ad(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_8023ad_mut(&mut self) -> Option<&mut Ieee8023ad> {
        match self {
            ModeState::Ieee8023ad(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_tlb(&self) -> Option<&Tlb> {
        match self {
            ModeState::Tlb(m) => Some(m),
            _ => None,
        }
    }
}
