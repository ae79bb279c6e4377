//! rbond-core: the sans-IO heart of rbond.
//!
//! No system calls, no threads, no clock: callers feed events (a frame, a link observation,
//! a tick at time `t`, an admin command) and act on what the core decides (send this frame on
//! slave `i`, deliver to the bond, set a MAC, log a line). The Linux driver in `crates/rbond`
//! is a thin shell around it.

#![forbid(unsafe_code)]

pub mod bond;
pub mod types;
pub mod frame;
pub mod hash;
pub mod lacp;
pub mod options;
pub mod status;
pub mod tlb;
pub mod rlb;
pub mod alb_mac;

pub use types::*;
