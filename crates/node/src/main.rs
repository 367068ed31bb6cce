//! The `luminex` binary.

/// mimalloc, built without transparent huge pages (ADR 0011).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    luminex_node::cli::main()
}
