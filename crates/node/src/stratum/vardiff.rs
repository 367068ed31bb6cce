//! Variable difficulty per connection: aim at one share every
//! `target_secs`, so a fast worker does not flood the server and a slow one
//! still shows its hash rate. Free of I/O; time is passed in.

/// Vardiff settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VardiffConfig {
    /// Difficulty a new connection starts at.
    pub initial: f64,
    /// Lowest difficulty.
    pub min: f64,
    /// Highest difficulty.
    pub max: f64,
    /// Wanted seconds between shares.
    pub target_secs: f64,
    /// Seconds between adjustments (an adjustment also happens after
    /// [`VardiffConfig::burst`] shares, whichever comes first).
    pub retarget_secs: f64,
    /// Shares that trigger an adjustment before `retarget_secs` passed.
    pub burst: u32,
}

impl Default for VardiffConfig {
    fn default() -> Self {
        VardiffConfig {
            initial: 1.0,
            min: 1.0 / 1_048_576.0,
            max: 1e12,
            target_secs: 10.0,
            retarget_secs: 60.0,
            burst: 30,
        }
    }
}

/// One connection's difficulty.
#[derive(Debug, Clone)]
pub struct Vardiff {
    cfg: VardiffConfig,
    difficulty: f64,
    window_start: f64,
    shares: u32,
}

impl Vardiff {
    /// Starts at `cfg.initial` (within min and max) at time `now` (seconds).
    pub fn new(cfg: VardiffConfig, now: f64) -> Vardiff {
        Vardiff {
            cfg,
            difficulty: cfg.initial.clamp(cfg.min, cfg.max),
            window_start: now,
            shares: 0,
        }
    }

    /// The current difficulty.
    pub fn difficulty(&self) -> f64 {
        self.difficulty
    }

    /// Records an accepted share at `now`; returns the new difficulty when
    /// it changed. The change is at most ×4 or ÷4 per adjustment, and small
    /// changes (under 20 %) are skipped.
    pub fn on_share(&mut self, now: f64) -> Option<f64> {
        self.shares += 1;
        let elapsed = now - self.window_start;
        if elapsed < self.cfg.retarget_secs && self.shares < self.cfg.burst {
            return None;
        }
        let elapsed = elapsed.max(0.001);
        let per_share = elapsed / f64::from(self.shares);
        let wanted = self.difficulty * self.cfg.target_secs / per_share;
        let new = wanted
            .clamp(self.difficulty / 4.0, self.difficulty * 4.0)
            .clamp(self.cfg.min, self.cfg.max);
        self.window_start = now;
        self.shares = 0;
        if (new / self.difficulty - 1.0).abs() < 0.2 {
            return None;
        }
        self.difficulty = new;
        Some(new)
    }

    /// Called when a job is handed out at `now`: a worker that found no
    /// share for `retarget_secs` gets a quarter of its difficulty (it may
    /// be far too slow to ever find one).
    pub fn on_idle(&mut self, now: f64) -> Option<f64> {
        if self.shares > 0 || now - self.window_start < self.cfg.retarget_secs {
            return None;
        }
        self.window_start = now;
        let new = (self.difficulty / 4.0).max(self.cfg.min);
        if new == self.difficulty {
            return None;
        }
        self.difficulty = new;
        Some(new)
    }

    /// Sets the difficulty a miner asked for (`mining.suggest_difficulty`),
    /// within min and max.
    pub fn suggest(&mut self, difficulty: f64) {
        if difficulty.is_finite() && difficulty > 0.0 {
            self.difficulty = difficulty.clamp(self.cfg.min, self.cfg.max);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> VardiffConfig {
        VardiffConfig {
            initial: 1.0,
            min: 0.01,
            max: 100.0,
            target_secs: 10.0,
            retarget_secs: 60.0,
            burst: 30,
        }
    }

    #[test]
    fn a_fast_worker_goes_up_at_most_four_times() {
        let mut v = Vardiff::new(cfg(), 0.0);
        // 30 shares in 3 s: a share every 0.1 s, 100x too fast.
        let mut changed = None;
        for i in 1..=30 {
            changed = v.on_share(f64::from(i) * 0.1);
        }
        assert_eq!(changed, Some(4.0));
        assert_eq!(v.difficulty(), 4.0);
    }

    #[test]
    fn a_slow_worker_goes_down_and_a_steady_one_stays() {
        let mut v = Vardiff::new(cfg(), 0.0);
        // One share in two minutes: 12x too slow, clamped to /4.
        assert_eq!(v.on_share(120.0), Some(0.25));
        let mut steady = Vardiff::new(cfg(), 0.0);
        for i in 1..=6 {
            assert_eq!(steady.on_share(f64::from(i) * 10.0), None);
        }
        assert_eq!(steady.difficulty(), 1.0);
    }

    #[test]
    fn a_silent_worker_goes_down() {
        let mut v = Vardiff::new(cfg(), 0.0);
        assert_eq!(v.on_idle(30.0), None);
        assert_eq!(v.on_idle(61.0), Some(0.25));
        assert_eq!(v.on_idle(62.0), None, "a new window started");
    }

    #[test]
    fn limits_hold() {
        let mut v = Vardiff::new(cfg(), 0.0);
        for round in 0..10 {
            v.on_share(f64::from(round + 1) * 1000.0);
        }
        assert_eq!(v.difficulty(), 0.01);
        v.suggest(1e9);
        assert_eq!(v.difficulty(), 100.0);
        v.suggest(f64::NAN);
        assert_eq!(v.difficulty(), 100.0);
    }
}
