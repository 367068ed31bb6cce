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
    #[cfg(unix)]
    if std::env::args_os().skip(1).any(|a| a == "node") {
        raise_descriptor_limit();
    }
    // First of all: a SIGTERM during start must stop a node gracefully.
    #[cfg(unix)]
    with_termination_signals_blocked(luminex_node::run::catch_early_signals);
    #[cfg(not(unix))]
    luminex_node::run::catch_early_signals();
    luminex_node::cli::main()
}

/// Raises this process's soft limit on open files to its hard limit (at
/// most 2^20), as Bitcoin Core and Go programs do at start: the listeners
/// admit up to 1,024 REST and 256 RPC connections besides peers and the
/// database's files, past a common soft limit of 1,024, where a full
/// descriptor table would stop every listener from accepting. Says so on
/// stderr if it cannot (logging is not set up yet).
#[cfg(unix)]
fn raise_descriptor_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    let target;
    // SAFETY: getrlimit and setrlimit only read and write `lim`, a local;
    // this runs first in `main`, before any thread exists.
    let ok = unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return;
        }
        target = lim.rlim_max.min(1 << 20);
        if lim.rlim_cur >= target {
            return;
        }
        let raised = libc::rlimit {
            rlim_cur: target,
            rlim_max: lim.rlim_max,
        };
        libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0
    };
    if !ok {
        eprintln!(
            "warning: could not raise the open-file limit from {} to {target}",
            lim.rlim_cur
        );
    }
}

/// Runs `f` with SIGTERM and SIGINT blocked, then restores the signal mask:
/// a signal that arrives meanwhile stays pending and is delivered at the
/// restore, to whatever `f` installed.
#[cfg(unix)]
fn with_termination_signals_blocked(f: impl FnOnce()) {
    // SAFETY: libc calls on local, initialised signal sets; only this
    // thread's mask changes, and this runs first in `main`, before any
    // other thread exists, so no other thread could take the signal.
    let old = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGINT);
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old);
        old
    };
    f();
    // SAFETY: as above; `old` is the mask `pthread_sigmask` returned.
    unsafe {
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
    }
}
