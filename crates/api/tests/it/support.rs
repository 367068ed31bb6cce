//! Helpers: an in-process node.

pub use luminex_service::testkit::{memory_node, memory_node_for};
