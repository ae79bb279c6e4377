//! Bond status: the model the driver fills from the live bond (`model`) and its
//! `/proc/net/bonding/<bond>` rendering (`render`, bond_procfs.c). The model derives
//! `Serialize` so the CLI can print the same data as JSON.

pub mod model;
pub mod render;

pub use model::{
    churn, AdInfo, AggregatorInfo, BondStatus, LacpPduDetails, LbInfo, RlbClientStatus, SlaveAdInfo, SlaveLacpCounters, SlaveStatus,
    TxBucketStatus,
};
pub use render::ipv6_compressed;
