//! CPU time of the bench process, shared by the storage benches (a file
//! under `benches/support/` is not a bench target of its own).

/// CPU time this process has used, seconds (user and system, from
/// `/proc/self/stat`, in the kernel's 100 Hz clock ticks; 0 where there
/// is no `/proc`).
pub fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces): utime and
    // stime are the 12th and 13th.
    let after = stat.rsplit_once(") ").map_or("", |(_, a)| a);
    let ticks: u64 = after
        .split(' ')
        .skip(11)
        .take(2)
        .filter_map(|f| f.parse::<u64>().ok())
        .sum();
    ticks as f64 / 100.0
}

/// The cores the machine has.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
