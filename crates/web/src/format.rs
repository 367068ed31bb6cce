//! How figures read on the pages: coins, hashes, times, sizes, fee rates.

use luminex_primitives::{Amount, Hash};

/// Base units as coins ("12.5"), or the raw units if out of range.
pub fn coins(base: u64) -> String {
    Amount::from_base(base).map_or_else(|| base.to_string(), |a| a.to_string())
}

/// A hash shortened for tables: the first 10 and last 6 hex characters.
pub fn short(h: &Hash) -> String {
    let s = h.to_string();
    format!("{}…{}", &s[..10], &s[s.len() - 6..])
}

/// A long string (an address) shortened for tables.
pub fn short_str(s: &str) -> String {
    if s.chars().count() <= 24 {
        return s.to_string();
    }
    let head: String = s.chars().take(14).collect();
    let tail: String = s.chars().skip(s.chars().count() - 8).collect();
    format!("{head}…{tail}")
}

/// A Unix time as an HTTP date ("Wed, 02 Dec 2026 14:54:47 GMT"), the
/// format every reader knows; `httpdate` does the calendar arithmetic.
pub fn time(unix: u64) -> String {
    httpdate::fmt_http_date(std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix))
}

/// How long ago `then` was, seen from `now` ("5 s", "3 min", "2 h", "4 d").
pub fn age(now: u64, then: u64) -> String {
    let d = now.saturating_sub(then);
    match d {
        0..=59 => format!("{d} s"),
        60..=3599 => format!("{} min", d / 60),
        3600..=86_399 => format!("{} h", d / 3600),
        _ => format!("{} d", d / 86_400),
    }
}

/// A byte count ("812 B", "4.2 kB", "1.3 MB"; decimal units).
pub fn bytes(n: u64) -> String {
    match n {
        0..=999 => format!("{n} B"),
        1000..=999_999 => format!("{:.1} kB", n as f64 / 1e3),
        _ => format!("{:.1} MB", n as f64 / 1e6),
    }
}

/// A fee rate given per 1,000 bytes (the mempool's key), per byte.
pub fn rate_per_kb(per_1000: u64) -> String {
    format!("{:.2}", per_1000 as f64 / 1000.0)
}

/// A large number with thin grouping ("1 234 567").
pub fn grouped(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push('\u{202f}');
        }
        out.push(c);
    }
    out
}

/// A proof-of-work difficulty: grouped whole numbers from 1,000 up, four
/// decimals from 1, and below 1 (a test chain's easiest targets) six
/// significant digits, so no difficulty reads as zero.
pub fn difficulty(d: f64) -> String {
    if !d.is_finite() || d <= 0.0 {
        return "0".into();
    }
    if d >= 1000.0 {
        return grouped(d.round() as u64);
    }
    if d >= 1.0 {
        return format!("{d:.4}");
    }
    // Digits after the point for six significant ones.
    let places = (5 - d.log10().floor() as i64).clamp(0, 20) as usize;
    let s = format!("{d:.places$}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_well() {
        assert_eq!(coins(1_250_000_000), "12.5");
        assert_eq!(age(100, 40), "1 min");
        assert_eq!(age(100, 41), "59 s");
        assert_eq!(age(100, 100), "0 s");
        assert_eq!(age(0, 100), "0 s");
        assert_eq!(bytes(999), "999 B");
        assert_eq!(bytes(4200), "4.2 kB");
        assert_eq!(rate_per_kb(1500), "1.50");
        assert_eq!(grouped(1_234_567), "1\u{202f}234\u{202f}567");
        assert_eq!(grouped(12), "12");
        assert_eq!(time(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(short_str("abc"), "abc");
        let long = "lmxdev1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq";
        assert!(short_str(long).contains('…'));
        assert_eq!(short(&Hash::ZERO).chars().count(), 17);
        assert_eq!(difficulty(0.0000152587890625), "0.0000152588");
        assert_eq!(difficulty(0.5), "0.5");
        assert_eq!(difficulty(1.0), "1.0000");
        assert_eq!(difficulty(123.456789), "123.4568");
        assert_eq!(difficulty(1_234_567.8), "1\u{202f}234\u{202f}568");
        assert_eq!(difficulty(0.0), "0");
    }
}
