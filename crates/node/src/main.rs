//! The `luminex` binary.

/// mimalloc, built without transparent huge pages (ADR 0011).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    // Rust starts programs with SIGPIPE ignored, so a command whose output
    // is cut short (`luminex wallet history | head`) panicked on the broken
    // pipe. Every command but `node` gets the Unix default back and ends
    // quietly like any other tool. The node keeps it ignored: its sockets
    // report a closed peer as an error, never as a signal.
    #[cfg(unix)]
    if !std::env::args_os().skip(1).any(|a| a == "node") {
        // SAFETY: `signal` with SIG_DFL installs no handler code; this runs
        // first in `main`, before any thread is started.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    luminex_node::cli::main()
}
