//! 802.3ad (mode 4), reference §4 and §6.2: transmit over the ports the LACP machines enable
//! in the active aggregator, by `xmit_hash_policy`; LACPDUs and markers are the bond's own.
//!
//! The LACP state machines (IEEE 802.1AX clause 6.4) drive `set_port_enabled` and
//! `set_active_aggregator`; until they run, those are inputs for tests.

use super::{ModeOps, RxDecision, TxDecision, View};
use crate::bond::{Action, Slave};
use crate::frame;
use crate::status::AggregatorInfo;
use crate::types::{Millis, SlaveId, SlaveIdx};
use std::collections::VecDeque;

#[derive(Clone, Debug, Default)]
pub struct Ieee8023ad {
    /// Ports LACP has enabled (collecting and distributing in the active aggregator, §4.8).
    enabled: Vec<SlaveId>,
    /// The active aggregator, as the LACP machines report it.
    aggregator: Option<AggregatorInfo>,
}

impl Ieee8023ad {
    pub fn port_enabled(&self, id: SlaveId) -> bool {
        self.enabled.contains(&id)
    }
    pub fn set_port_enabled(&mut self, id: SlaveId, on: bool) {
        self.enabled.retain(|&e| e != id);
        if on {
            self.enabled.push(id);
        }
    }
    pub fn active_aggregator(&self) -> Option<&AggregatorInfo> {
        self.aggregator.as_ref()
    }
    pub fn set_active_aggregator(&mut self, agg: Option<AggregatorInfo>) {
        self.aggregator = agg;
    }
}

impl ModeOps for Ieee8023ad {
    fn usable(&self, s: &Slave) -> bool {
        s.can_tx() && self.port_enabled(s.id)
    }
    /// Carrier: an active aggregator with at least `min_links` enabled ports (§4.9; 0 and 1
    /// behave the same).
    fn carrier(&self, v: &View) -> bool {
        let enabled = v.slaves.iter().filter(|s| self.port_enabled(s.id) && s.link == crate::types::LinkState::Up).count() as u32;
        self.aggregator.is_some() && enabled >= v.opts.min_links.max(1)
    }
    fn needs_speed(&self) -> bool {
        true
    }
    /// Backup until LACP enables the port.
    fn on_commit_up(&self, s: &mut Slave) {
        s.backup = !self.port_enabled(s.id);
    }
    fn down_marks_inactive(&self) -> bool {
        true
    }
    fn slave_removed(&mut self, v: &View, i: SlaveIdx) {
        let id = v.id(i);
        self.enabled.retain(|&e| e != id);
    }
    #[inline]
    fn tx<'a>(&mut self, v: &View<'a>, frame: &mut [u8]) -> TxDecision<'a> {
        super::xor::hash_pick(v, frame)
    }
    /// LACPDUs and markers go to the LACP machines on every port, enabled or not (§4.2).
    fn rx_hook(&mut self, _v: &View, _i: SlaveIdx, f: &[u8], _now: Millis, _out: &mut VecDeque<Action>) -> Option<RxDecision> {
        frame::is_lacp(f).then_some(RxDecision::Consumed)
    }
}
