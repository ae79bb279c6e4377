//! Shared by the core's integration tests: link observations and two bonds back to back on a
//! virtual clock, their frames carried over "cables" between slave ids.
#![allow(dead_code)]

use rbond_core::bond::{Action, Bond};
use rbond_core::{Duplex, LinkObservation, SlaveId};

pub fn up(speed: u32) -> LinkObservation {
    LinkObservation { admin_up: true, carrier: true, speed_mbps: Some(speed), duplex: Duplex::Full }
}
pub fn down() -> LinkObservation {
    LinkObservation { admin_up: true, carrier: false, speed_mbps: None, duplex: Duplex::Unknown }
}

/// Two core bonds back to back: slave `a` of `l` is cabled to slave `b` of `r` for each
/// `(a, b)` in `cables`; frames the bonds send cross at once, a pulled cable carries nothing.
/// `run` steps a virtual clock by 10 ms.
pub struct Net {
    pub l: Bond,
    pub r: Bond,
    pub cables: Vec<(u32, u32)>,
    pub now: u64,
    /// LACPDUs the left bond sent, per slave id.
    pub left_sent: Vec<u32>,
    /// Right-side slave ids whose frames towards the left are dropped (a one-way fault with
    /// the carrier up).
    pub mute_right: Vec<u32>,
    pub logs: Vec<String>,
}

impl Net {
    pub fn new(l: Bond, r: Bond, cables: &[(u32, u32)]) -> Net {
        Net { l, r, cables: cables.to_vec(), now: 0, left_sent: Vec::new(), mute_right: Vec::new(), logs: Vec::new() }
    }
    pub fn shuttle(&mut self) {
        loop {
            let mut moved = false;
            while let Some(a) = self.l.poll_action() {
                match a {
                    Action::SendFrame { slave, frame } => {
                        self.left_sent.push(slave.0);
                        if let Some(&(_, r)) = self.cables.iter().find(|c| c.0 == slave.0) {
                            self.r.rx(SlaveId(r), &mut frame.clone(), self.now);
                            moved = true;
                        }
                    }
                    Action::Log { slave, msg, .. } => self.logs.push(format!("{}: {msg}", slave.unwrap_or_default())),
                    _ => {}
                }
            }
            while let Some(a) = self.r.poll_action() {
                if let Action::SendFrame { slave, frame } = a {
                    if self.mute_right.contains(&slave.0) {
                        continue;
                    }
                    if let Some(&(l, _)) = self.cables.iter().find(|c| c.1 == slave.0) {
                        self.l.rx(SlaveId(l), &mut frame.clone(), self.now);
                        moved = true;
                    }
                }
            }
            if !moved {
                return;
            }
        }
    }
    pub fn run(&mut self, ms: u64) {
        let end = self.now + ms;
        while self.now < end {
            self.now += 10;
            self.l.tick(self.now);
            self.r.tick(self.now);
            self.shuttle();
        }
    }
    /// Pull cable `i` (both ends lose carrier).
    pub fn pull(&mut self, i: usize) {
        let (a, b) = self.cables.remove(i);
        self.l.link_observed(SlaveId(a), down(), self.now);
        self.r.link_observed(SlaveId(b), down(), self.now);
        self.shuttle();
    }
    pub fn plug(&mut self, a: u32, b: u32) {
        self.cables.push((a, b));
        self.l.link_observed(SlaveId(a), up(1000), self.now);
        self.r.link_observed(SlaveId(b), up(1000), self.now);
        self.shuttle();
    }
}

