//! CPU time and page faults of the bench process, shared by the storage
//! benches (a file under `benches/support/` is not a bench target of its
//! own).

/// Fields of `/proc/self/stat` after the command name (which may hold
/// spaces), numbered from 0 (the state, field 3 of proc(5)); empty where
/// there is no `/proc`.
fn stat_fields() -> Vec<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(") ").map_or("", |(_, a)| a);
    after
        .split(' ')
        .map(|f| f.parse::<u64>().unwrap_or(0))
        .collect()
}

/// CPU time this process has used, seconds (user and system time, fields
/// 14 and 15, in the kernel's 100 Hz clock ticks).
pub fn cpu_seconds() -> f64 {
    let f = stat_fields();
    let ticks: u64 = f.iter().skip(11).take(2).sum();
    ticks as f64 / 100.0
}

/// Minor page faults this process has taken (field 10): first touches of
/// fresh memory, which cost several microseconds each on this project's
/// VMs (BENCHMARKS.md, "First touches").
pub fn minor_faults() -> u64 {
    stat_fields().get(7).copied().unwrap_or(0)
}

/// The cores the machine has.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
