//! Peer-to-peer networking for Luminex on rust-libp2p.
//!
//! - [`wire`]: gossip payloads and the sync request/response messages, in
//!   the canonical codec, zstd-compressed when large.
//! - [`compact`]: BIP 152-style compact block announcements and rebuilding
//!   blocks from the mempool.
//! - [`sync`]: the header-first download planner, free of I/O.
//! - [`admission`]: caps on half-open inbound connections, in total and
//!   per IP address.
//! - [`connections`]: the slots of established connections — per address
//!   and subnet limits, eviction by usefulness, priority peers.
//! - [`behaviour`]: the libp2p behaviour (TCP + noise + yamux, identify,
//!   ping, Kademlia, gossipsub with peer scoring, request/response, AutoNAT)
//!   and the per-chain protocol names.
//! - [`network`]: the event loop, the block importer and the node's
//!   [`Handle`].
//!
//! The chain is reached only through the [`ChainAccess`] trait, so this
//! crate knows nothing of storage or validation.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod admission;
pub mod behaviour;
pub mod compact;
pub mod connections;
pub mod network;
pub mod sync;
pub mod wire;

pub use libp2p::{identity, Multiaddr, PeerId};
pub use network::{
    load_or_create_key, parse_dial_addr, start, BanInfo, BlockVerdict, ChainAccess, Handle,
    HandleError, NetConfig, NetInfo, PeerInfo, PeerStateCounts, Verdict, MAX_DIAL_ADDR,
    TX_BATCH_DELAY,
};
pub use sync::{Progress, SyncConfig};
pub use wire::{Role, Status};
