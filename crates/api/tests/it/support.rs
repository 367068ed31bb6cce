//! Helpers: an in-process node.

pub use luminex_service::testkit::{memory_node, memory_node_for};

/// This crate's directory: the one cargo gives the test at run time, so a
/// build shared between two checkouts reads the files of the checkout
/// being tested (the compile-time value names whichever checkout built
/// it); the compile-time one when run outside cargo.
pub fn manifest_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| env!("CARGO_MANIFEST_DIR").into(), Into::into)
}
