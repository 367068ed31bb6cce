//! Who may use the dashboard: the two access keys (operator and viewer),
//! login sessions with idle expiry, and the CSRF token of each session.
//!
//! A key is 32 random bytes in hex, kept in a file readable by the node's
//! user only (mode 0600, like the JSON-RPC `.cookie`). Logging in with a key
//! opens a session: a random id in an `HttpOnly; SameSite=Strict;
//! Path=/admin` cookie, and a random CSRF token that every state-changing
//! form carries back. Keys are compared by their SHA-256 digests in constant
//! time; neither keys nor session ids ever appear in a URL or in the log.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "luminex_admin";

/// Sessions kept at most; logging in beyond that ends the least recently
/// used one.
const MAX_SESSIONS: usize = 64;

/// What a key lets its holder do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Sees every page, changes nothing.
    Viewer,
    /// Sees and acts: disconnects and bans peers, removes transactions.
    Operator,
}

impl Role {
    /// `operator` or `viewer`.
    pub fn name(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
        }
    }
}

/// A fresh random secret, 32 bytes in hex.
pub fn random_hex() -> String {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

/// Writes a fresh key to `path` (mode 0600, replacing what was there) and
/// returns it. What was at `path` is removed first and the key written to
/// a file created new: written through, an old file (or a link someone put
/// there) would keep its owner, and any process holding it open would read
/// the new key.
pub fn write_fresh_key(path: &Path) -> std::io::Result<String> {
    let key = random_hex();
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    std::io::Write::write_all(&mut opts.open(path)?, key.as_bytes())?;
    Ok(key)
}

/// Reads a key the operator keeps at `path` (surrounding white space
/// ignored). Shorter than 16 characters is refused: it could be guessed.
pub fn read_key(path: &Path) -> std::io::Result<String> {
    let key = std::fs::read_to_string(path)?.trim().to_string();
    if key.len() < 16 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "{}: an admin key must be at least 16 characters",
                path.display()
            ),
        ));
    }
    Ok(key)
}

fn digest(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}

fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The operator and viewer keys, kept as digests.
pub struct Keys {
    operator: [u8; 32],
    viewer: [u8; 32],
}

impl Keys {
    /// The two keys. They must differ: one key cannot have two roles.
    pub fn new(operator: &str, viewer: &str) -> Result<Keys, String> {
        if operator == viewer {
            return Err("the operator and viewer keys must differ".into());
        }
        Ok(Keys {
            operator: digest(operator),
            viewer: digest(viewer),
        })
    }

    /// The role a presented key grants, with the key's fingerprint (the
    /// first 8 hex digits of its SHA-256: names it in the audit log without
    /// revealing it).
    pub fn check(&self, presented: &str) -> Option<(Role, String)> {
        let d = digest(presented.trim());
        let fp = hex::encode(&d[..4]);
        // Both comparisons always run: the time taken says nothing.
        let op = same(&d, &self.operator);
        let view = same(&d, &self.viewer);
        if op {
            Some((Role::Operator, fp))
        } else if view {
            Some((Role::Viewer, fp))
        } else {
            None
        }
    }
}

/// A logged-in browser.
#[derive(Debug, Clone)]
pub struct Session {
    /// What the key allows.
    pub role: Role,
    /// The key's fingerprint.
    pub key_fp: String,
    /// The token every form of this session carries.
    pub csrf: String,
    last_seen: Instant,
}

impl Session {
    /// Who, for the audit log: `operator key 1a2b3c4d`.
    pub fn who(&self) -> String {
        format!("{} key {}", self.role.name(), self.key_fp)
    }

    /// Whether `token` is this session's CSRF token.
    pub fn csrf_ok(&self, token: Option<&str>) -> bool {
        token.is_some_and(|t| same(t.as_bytes(), self.csrf.as_bytes()))
    }
}

/// What a request's cookie amounts to.
#[derive(Debug, Clone)]
pub enum Lookup {
    /// No session cookie.
    None,
    /// A cookie naming no live session: expired after idling, logged out,
    /// or from before a restart.
    Expired,
    /// A live session (its idle clock restarted).
    Active(Session),
}

/// The live sessions of one part of the site: the dashboard's under
/// `/admin`, the wallet's under `/wallet`, each with its own cookie.
pub struct Sessions {
    idle: Duration,
    cookie: &'static str,
    path: &'static str,
    map: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    /// The dashboard's sessions, which end after `idle` without a request.
    pub fn new(idle: Duration) -> Sessions {
        Sessions::for_cookie(idle, SESSION_COOKIE, "/admin")
    }

    /// Sessions kept in the cookie `cookie`, sent back only under `path`.
    pub fn for_cookie(idle: Duration, cookie: &'static str, path: &'static str) -> Sessions {
        Sessions {
            idle,
            cookie,
            path,
            map: Mutex::new(HashMap::new()),
        }
    }

    /// The `Set-Cookie` value that stores a session id.
    pub fn set_cookie(&self, id: &str) -> String {
        format!(
            "{}={id}; HttpOnly; SameSite=Strict; Path={}",
            self.cookie, self.path
        )
    }

    /// The `Set-Cookie` value that removes the session cookie.
    pub fn clear_cookie(&self) -> String {
        format!(
            "{}=; HttpOnly; SameSite=Strict; Path={}; Max-Age=0",
            self.cookie, self.path
        )
    }

    /// The session id a `Cookie` header carries (live or not).
    pub fn id_in<'a>(&self, cookie_header: Option<&'a str>) -> Option<&'a str> {
        cookie_header.and_then(|h| cookie_value(h, self.cookie))
    }

    /// How long a session may idle.
    pub fn idle(&self) -> Duration {
        self.idle
    }

    /// Opens a session; returns its id (the cookie's value) and the session.
    pub fn open(&self, role: Role, key_fp: String) -> (String, Session) {
        let id = random_hex();
        let s = Session {
            role,
            key_fp,
            csrf: random_hex(),
            last_seen: Instant::now(),
        };
        let mut map = self.map.lock();
        let idle = self.idle;
        map.retain(|_, s| s.last_seen.elapsed() < idle);
        if map.len() >= MAX_SESSIONS {
            // The least recently used session of the same role goes first:
            // logging in again and again with the viewer key must not end
            // the operator's session.
            let oldest = |same_role: bool| {
                map.iter()
                    .filter(|(_, o)| !same_role || o.role == role)
                    .min_by_key(|(_, o)| o.last_seen)
                    .map(|(k, _)| k.clone())
            };
            if let Some(k) = oldest(true).or_else(|| oldest(false)) {
                map.remove(&k);
            }
        }
        map.insert(id.clone(), s.clone());
        (id, s)
    }

    /// The session a `Cookie` header names, if it is live.
    pub fn lookup(&self, cookie_header: Option<&str>) -> Lookup {
        let Some(id) = self.id_in(cookie_header) else {
            return Lookup::None;
        };
        let mut map = self.map.lock();
        match map.get_mut(id) {
            Some(s) if s.last_seen.elapsed() < self.idle => {
                s.last_seen = Instant::now();
                Lookup::Active(s.clone())
            }
            Some(_) => {
                map.remove(id);
                Lookup::Expired
            }
            None => Lookup::Expired,
        }
    }

    /// Ends the session a `Cookie` header names.
    pub fn close(&self, cookie_header: Option<&str>) {
        if let Some(id) = self.id_in(cookie_header) {
            self.map.lock().remove(id);
        }
    }
}

/// The non-empty value of cookie `name` in a `Cookie` header.
pub fn cookie_value<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == name && !v.is_empty()).then_some(v)
    })
}

/// The `Set-Cookie` value that stores a dashboard session id.
pub fn set_cookie(id: &str) -> String {
    format!("{SESSION_COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/admin")
}

/// The `Set-Cookie` value that removes the dashboard's session cookie.
pub fn clear_cookie() -> String {
    format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/admin; Max-Age=0")
}

/// Wrong keys at a login form, against their allowed rate: past
/// `per_minute` (a burst of that many, then one every 60/n seconds), login
/// is refused for `lockout`, the right key included.
pub struct LoginThrottle {
    failed: governor::DefaultDirectRateLimiter,
    locked_until: Mutex<Option<Instant>>,
    lockout: Duration,
}

impl LoginThrottle {
    /// A throttle allowing `per_minute` wrong keys (at least 1).
    pub fn new(per_minute: std::num::NonZeroU32, lockout: Duration) -> LoginThrottle {
        LoginThrottle {
            failed: governor::RateLimiter::direct(governor::Quota::per_minute(per_minute)),
            locked_until: Mutex::new(None),
            lockout,
        }
    }

    /// Whether login is locked now.
    pub fn is_locked(&self) -> bool {
        self.locked_until
            .lock()
            .is_some_and(|until| Instant::now() < until)
    }

    /// Counts a wrong key; true if that exceeded the rate and login is now
    /// locked.
    pub fn failed(&self) -> bool {
        if self.failed.check().is_err() {
            *self.locked_until.lock() = Some(Instant::now() + self.lockout);
            return true;
        }
        false
    }

    /// The whole seconds (rounded up, at least 1) left of the lockout in
    /// force, for `Retry-After`; the full lockout if none is.
    pub fn retry_after_secs(&self) -> u64 {
        self.retry_after_secs_at(Instant::now())
    }

    fn retry_after_secs_at(&self, now: Instant) -> u64 {
        let left = match *self.locked_until.lock() {
            Some(until) => until.saturating_duration_since(now),
            None => self.lockout,
        };
        let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        secs.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_grant_their_roles_and_nothing_else() {
        let k = Keys::new("operator-secret-123", "viewer-secret-4567").unwrap();
        assert_eq!(k.check("operator-secret-123").unwrap().0, Role::Operator);
        assert_eq!(k.check(" viewer-secret-4567\n").unwrap().0, Role::Viewer);
        assert!(k.check("operator-secret-12").is_none());
        assert!(k.check("").is_none());
        assert!(Keys::new("same-key-same-key", "same-key-same-key").is_err());
    }

    #[test]
    fn sessions_expire_after_idling() {
        let s = Sessions::new(Duration::from_secs(3600));
        let (id, sess) = s.open(Role::Viewer, "00112233".into());
        let cookie = format!("other=1; {SESSION_COOKIE}={id}");
        assert!(matches!(s.lookup(Some(&cookie)), Lookup::Active(a) if a.csrf == sess.csrf));
        assert!(matches!(s.lookup(Some("other=1")), Lookup::None));
        assert!(matches!(
            s.lookup(Some(&format!("{SESSION_COOKIE}=forged"))),
            Lookup::Expired
        ));
        s.close(Some(&cookie));
        assert!(matches!(s.lookup(Some(&cookie)), Lookup::Expired));

        let s = Sessions::new(Duration::ZERO);
        let (id, _) = s.open(Role::Operator, "00112233".into());
        let cookie = format!("{SESSION_COOKIE}={id}");
        assert!(matches!(s.lookup(Some(&cookie)), Lookup::Expired));
    }

    #[test]
    fn retry_after_counts_down_the_lockout_rounded_up() {
        let t = LoginThrottle::new(std::num::NonZeroU32::MIN, Duration::from_secs(60));
        assert_eq!(t.retry_after_secs(), 60);
        assert!(!t.failed());
        assert!(t.failed(), "the second wrong key in a minute locks");
        let until = t.locked_until.lock().unwrap();
        let start = until - Duration::from_secs(60);
        assert_eq!(t.retry_after_secs_at(start), 60);
        assert_eq!(t.retry_after_secs_at(start + Duration::from_secs(34)), 26);
        let mid = start + Duration::from_millis(34_500);
        assert_eq!(t.retry_after_secs_at(mid), 26, "25.5 s left is 26");
        assert_eq!(t.retry_after_secs_at(until), 1);
    }

    #[test]
    fn csrf_tokens_must_match_exactly() {
        let s = Sessions::new(Duration::from_secs(60));
        let (_, sess) = s.open(Role::Operator, "00112233".into());
        assert!(sess.csrf_ok(Some(&sess.csrf.clone())));
        assert!(!sess.csrf_ok(None));
        assert!(!sess.csrf_ok(Some("")));
        assert!(!sess.csrf_ok(Some(&sess.csrf[1..])));
    }

    #[cfg(unix)]
    #[test]
    fn fresh_keys_are_private_files() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("luminex-admin-key-{}", random_hex()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("k");
        let k = write_fresh_key(&p).unwrap();
        assert_eq!(read_key(&p).unwrap(), k);
        let mode = std::fs::metadata(&p).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_ne!(write_fresh_key(&p).unwrap(), k, "a new key each time");
        std::fs::write(&p, "short").unwrap();
        assert!(read_key(&p).is_err());
        // A link put where the key goes: the key goes to a new file, never
        // through the link, and the file it pointed at is unchanged.
        let elsewhere = dir.join("public.txt");
        std::fs::write(&elsewhere, "public").unwrap();
        std::fs::remove_file(&p).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &p).unwrap();
        let k = write_fresh_key(&p).unwrap();
        assert_eq!(std::fs::read_to_string(&elsewhere).unwrap(), "public");
        assert!(!std::fs::symlink_metadata(&p)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(read_key(&p).unwrap(), k);
        // A file someone else holds open keeps its old bytes.
        let held = std::fs::File::open(&p).unwrap();
        let newer = write_fresh_key(&p).unwrap();
        let mut old = String::new();
        std::io::Read::read_to_string(&mut &held, &mut old).unwrap();
        assert_eq!(old, k);
        assert_ne!(old, newer);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
