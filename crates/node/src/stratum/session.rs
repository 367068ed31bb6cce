//! One Stratum connection: reads bounded lines, answers requests, pushes
//! jobs and difficulty, checks shares and submits blocks.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;

use luminex_ledger::U256;
use luminex_primitives::Lock;
use luminex_service::metrics::{ShareLabels, WorkerLabels};
use luminex_service::pool::ShareOutcome;
use luminex_storage::AcceptStatus;
use prometheus_client::metrics::counter::Counter;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::job::{
    stratum_prevhash, target_for_difficulty, CoinbaseParts, Job, Share, ShareError,
    EXTRANONCE1_LEN, EXTRANONCE2_LEN,
};
use super::vardiff::Vardiff;
use super::{Published, Shared, JOBS_KEPT, MAX_INVALID_STREAK, MAX_LINE};

/// Longest worker name.
const MAX_WORKER_NAME: usize = 128;
/// Worker names one connection may authorize: a rig authorizes one, a proxy
/// a few; a connection making up thousands would only fill the pool's table.
const MAX_WORKERS_PER_CONNECTION: usize = 16;

/// A job as this connection received it.
struct SessionJob {
    job: Arc<Job>,
    /// Its coinbase for this connection's payout.
    parts: CoinbaseParts,
    difficulty: f64,
    target: U256,
    /// Void since a new tip.
    stale: bool,
    /// Shares accepted on it (duplicates are refused).
    seen: HashSet<Share>,
}

struct Session {
    shared: Arc<Shared>,
    peer: SocketAddr,
    extranonce1: [u8; EXTRANONCE1_LEN],
    subscribed: bool,
    payout: Option<Lock>,
    workers: Vec<String>,
    vardiff: Vardiff,
    jobs: VecDeque<SessionJob>,
    invalid_streak: u32,
    writer: OwnedWriteHalf,
    /// This connection's share counters, by worker and result.
    counters: HashMap<String, HashMap<&'static str, Counter>>,
}

/// Why the connection ends.
#[derive(Debug)]
enum Close {
    Io,
    Abusive,
}

fn now_secs(shared: &Shared) -> u64 {
    shared.node.clock.now_unix()
}

pub(super) async fn run(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let (read, writer) = stream.into_split();
    let mut reader = BufReader::new(read);
    let now = now_secs(&shared) as f64;
    let mut jobs = shared.jobs.clone();
    jobs.mark_unchanged();
    let mut s = Session {
        extranonce1: shared.extranonce1(),
        vardiff: Vardiff::new(shared.cfg.vardiff, now),
        shared,
        peer,
        subscribed: false,
        payout: None,
        workers: Vec::new(),
        jobs: VecDeque::new(),
        invalid_streak: 0,
        writer,
        counters: HashMap::new(),
    };
    tracing::debug!(%peer, "stratum connection");
    // A read cut short by another branch keeps what it read in `line`
    // (`read_until` is not cancel-safe), so the line is cleared only once
    // handled.
    let mut line = Vec::with_capacity(512);
    let result: Result<(), Close> = loop {
        let idle = s.shared.cfg.idle_timeout;
        let room = (MAX_LINE + 1).saturating_sub(line.len()) as u64;
        let mut limited = (&mut reader).take(room);
        tokio::select! {
            r = tokio::time::timeout(idle, limited.read_until(b'\n', &mut line)) => {
                match r {
                    Err(_) => break Ok(()), // idle
                    Ok(Err(_)) | Ok(Ok(0)) => break Ok(()),
                    Ok(Ok(_)) => {}
                }
                if line.last() != Some(&b'\n') {
                    if line.len() > MAX_LINE {
                        let _ = s.send(&json!({"id": null, "result": null, "error": [20, "line too long", null]})).await;
                        break Err(Close::Abusive);
                    }
                    break Ok(()); // closed in the middle of a line
                }
                let handled = s.on_line(&line).await;
                line.clear();
                if let Err(c) = handled {
                    break Err(c);
                }
            }
            r = jobs.changed() => {
                if r.is_err() {
                    break Ok(());
                }
                let published = jobs.borrow_and_update().clone();
                if let Some(p) = published {
                    if let Err(c) = s.on_job(p).await {
                        break Err(c);
                    }
                }
            }
            _ = stop.changed() => break Ok(()),
        }
    };
    if let Err(reason) = result {
        tracing::info!(peer = %s.peer, ?reason, "stratum connection closed");
    }
    for w in &s.workers {
        s.shared.node.pool.disconnect(w);
    }
}

impl Session {
    async fn send(&mut self, v: &Value) -> Result<(), Close> {
        let mut bytes = serde_json::to_vec(v).map_err(|_| Close::Io)?;
        bytes.push(b'\n');
        match tokio::time::timeout(self.shared.cfg.write_timeout, self.writer.write_all(&bytes))
            .await
        {
            Ok(Ok(())) => Ok(()),
            _ => Err(Close::Io),
        }
    }

    async fn reply(
        &mut self,
        id: &Value,
        result: Result<Value, (i64, String)>,
    ) -> Result<(), Close> {
        let msg = match result {
            Ok(r) => json!({"id": id, "result": r, "error": null}),
            Err((code, m)) => {
                // Stale shares are normal after a new tip (shares in
                // flight): they do not count as abuse.
                if code != ShareError::Stale.code() {
                    self.invalid_streak += 1;
                }
                json!({"id": id, "result": null, "error": [code, m, null]})
            }
        };
        self.send(&msg).await?;
        if self.invalid_streak >= MAX_INVALID_STREAK {
            return Err(Close::Abusive);
        }
        Ok(())
    }

    async fn on_line(&mut self, line: &[u8]) -> Result<(), Close> {
        let text = line.trim_ascii();
        if text.is_empty() {
            return Ok(());
        }
        let Ok(req) = serde_json::from_slice::<Value>(text) else {
            return self
                .reply(&Value::Null, Err((20, "malformed request".into())))
                .await;
        };
        let id = req.get("id").cloned().unwrap_or(Value::Null);
        let params = req
            .get("params")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let Some(method) = req.get("method").and_then(Value::as_str) else {
            return self.reply(&id, Err((20, "missing method".into()))).await;
        };
        match method {
            "mining.subscribe" => {
                self.subscribed = true;
                let sid = hex::encode(self.extranonce1);
                let r = json!([
                    [["mining.set_difficulty", sid], ["mining.notify", sid]],
                    hex::encode(self.extranonce1),
                    EXTRANONCE2_LEN,
                ]);
                self.reply(&id, Ok(r)).await
            }
            "mining.authorize" => {
                let user = params.first().and_then(Value::as_str).unwrap_or("");
                match self.authorize(user) {
                    Ok(()) => {
                        self.reply(&id, Ok(json!(true))).await?;
                        self.send_current_job().await
                    }
                    Err(m) => self.reply(&id, Err((24, m))).await,
                }
            }
            "mining.submit" => {
                let r = self.submit(&params).await;
                self.reply(&id, r.map(|()| json!(true))).await
            }
            "mining.extranonce.subscribe" => self.reply(&id, Ok(json!(true))).await,
            "mining.suggest_difficulty" => {
                if let Some(d) = params.first().and_then(Value::as_f64) {
                    self.vardiff.suggest(d);
                }
                self.reply(&id, Ok(json!(true))).await
            }
            // BIP 310: no extension (version rolling) is offered.
            "mining.configure" => self.reply(&id, Ok(json!({}))).await,
            _ => {
                self.reply(&id, Err((20, format!("unknown method {method}"))))
                    .await
            }
        }
    }

    fn authorize(&mut self, user: &str) -> Result<(), String> {
        if !self.subscribed {
            return Err("not subscribed".into());
        }
        if user.is_empty() || user.len() > MAX_WORKER_NAME {
            return Err(format!("worker name must be 1-{MAX_WORKER_NAME} bytes"));
        }
        let spec = &self.shared.node.spec;
        let address = user.split_once('.').map_or(user, |(a, _)| a);
        let payout = match spec.parse_address(address) {
            Ok(a) => a.lock,
            Err(_) => self
                .shared
                .default_payout
                .ok_or("the worker name must start with a payout address (the node has no --miner-address)")?,
        };
        if self.payout.is_some_and(|p| p != payout) {
            return Err("one payout address per connection".into());
        }
        if !self.workers.iter().any(|w| w == user) {
            if self.workers.len() >= MAX_WORKERS_PER_CONNECTION {
                return Err(format!(
                    "too many workers on this connection (at most {MAX_WORKERS_PER_CONNECTION})"
                ));
            }
            if !self.shared.node.pool.connect(user, now_secs(&self.shared)) {
                return Err("too many workers".into());
            }
            self.workers.push(user.to_string());
        }
        self.payout = Some(payout);
        Ok(())
    }

    /// Sends the newest job (after authorizing).
    async fn send_current_job(&mut self) -> Result<(), Close> {
        let published = self.shared.jobs.borrow().clone();
        match published {
            Some(p) => self.on_job(Published { clean: true, ..p }).await,
            None => Ok(()),
        }
    }

    async fn on_job(&mut self, p: Published) -> Result<(), Close> {
        let Some(lock) = self.payout else {
            return Ok(()); // not authorized yet: nothing to mine for
        };
        if self
            .jobs
            .back()
            .is_some_and(|j| Arc::ptr_eq(&j.job, &p.job))
        {
            return Ok(());
        }
        if p.clean {
            for j in &mut self.jobs {
                j.stale = true;
            }
        }
        self.vardiff.on_idle(now_secs(&self.shared) as f64);
        // A share harder than a block is a block: never ask for more.
        let block_difficulty = luminex_consensus::pow::difficulty(p.job.header.bits);
        let difficulty = self.vardiff.difficulty().min(block_difficulty);
        if self.jobs.back().is_none_or(|j| j.difficulty != difficulty) {
            self.send(
                &json!({"id": null, "method": "mining.set_difficulty", "params": [difficulty]}),
            )
            .await?;
        }
        let job = p.job;
        let parts = job.parts_for(lock);
        let branch: Vec<String> = job.branch.iter().map(|h| hex::encode(h.0)).collect();
        let notify = json!({
            "id": null,
            "method": "mining.notify",
            "params": [
                job.id,
                stratum_prevhash(&job.header.prev_hash),
                hex::encode(&parts.coinb1),
                hex::encode(&parts.coinb2),
                branch,
                format!("{:08x}", job.header.version),
                format!("{:08x}", job.header.bits),
                format!("{:08x}", job.header.time),
                p.clean,
            ],
        });
        self.jobs.push_back(SessionJob {
            job,
            parts,
            difficulty,
            target: target_for_difficulty(difficulty),
            stale: false,
            seen: HashSet::new(),
        });
        while self.jobs.len() > JOBS_KEPT {
            self.jobs.pop_front();
        }
        self.send(&notify).await
    }

    async fn submit(&mut self, params: &[Value]) -> Result<(), (i64, String)> {
        let str_at = |i: usize| params.get(i).and_then(Value::as_str);
        let (Some(worker), Some(job_id), Some(en2), Some(ntime), Some(nonce)) =
            (str_at(0), str_at(1), str_at(2), str_at(3), str_at(4))
        else {
            return Err((
                20,
                "submit takes worker, job id, extranonce2, ntime, nonce".into(),
            ));
        };
        let Some(lock) = self.payout else {
            return Err((24, "unauthorized worker".into()));
        };
        if !self.workers.iter().any(|w| w == worker) {
            return Err((24, "unauthorized worker".into()));
        }
        let worker = worker.to_string();
        let now = now_secs(&self.shared);
        let result = self.check_share(lock, job_id, en2, ntime, nonce, now);
        match result {
            Err(e) => {
                self.record(&worker, ShareOutcome::Rejected(e.label()), now);
                Err((e.code(), e.to_string()))
            }
            Ok((difficulty, block)) => {
                self.record(&worker, ShareOutcome::Accepted { difficulty }, now);
                self.invalid_streak = 0;
                if let Some(d) = self.vardiff.on_share(now as f64) {
                    tracing::debug!(peer = %self.peer, difficulty = d, "stratum difficulty changes with the next job");
                }
                if let Some(block) = block {
                    self.submit_block(&worker, block).await;
                }
                Ok(())
            }
        }
    }

    /// Counts a share in the pool's accounting and the metrics. The
    /// counters are looked up once per worker and result, not per share.
    fn record(&mut self, worker: &str, outcome: ShareOutcome, now: u64) {
        let node = &self.shared.node;
        node.pool.record_share(worker, outcome, now);
        let result = match outcome {
            ShareOutcome::Accepted { .. } => "accepted",
            ShareOutcome::Rejected(reason) => reason,
        };
        if let Some(c) = self.counters.get(worker).and_then(|m| m.get(result)) {
            c.inc();
            return;
        }
        let counter = node
            .metrics
            .stratum_shares
            .get_or_create(&ShareLabels {
                worker: worker.to_string(),
                result: result.to_string(),
            })
            .clone();
        counter.inc();
        self.counters
            .entry(worker.to_string())
            .or_default()
            .insert(result, counter);
    }

    /// Checks a share; returns the difficulty it met and, when it meets
    /// the block target, the block.
    fn check_share(
        &mut self,
        lock: Lock,
        job_id: &str,
        en2: &str,
        ntime: &str,
        nonce: &str,
        now: u64,
    ) -> Result<(f64, Option<luminex_primitives::Block>), ShareError> {
        let share = Share::parse(en2, ntime, nonce)?;
        let tip = self.shared.node.chain.tip().hash;
        let Some(sj) = self.jobs.iter_mut().find(|j| j.job.id == job_id) else {
            return Err(ShareError::Stale);
        };
        if sj.stale || sj.job.header.prev_hash != tip {
            sj.stale = true;
            return Err(ShareError::Stale);
        }
        if sj.seen.contains(&share) {
            return Err(ShareError::Duplicate);
        }
        let max_future = self.shared.node.spec.max_future_block_time_secs;
        let accepted = sj.job.check(
            &sj.parts,
            &self.extranonce1,
            &share,
            sj.target,
            now,
            max_future,
        )?;
        sj.seen.insert(share);
        let block = accepted
            .is_block
            .then(|| sj.job.block(lock, &self.extranonce1, &share, &accepted));
        Ok((sj.difficulty, block))
    }

    async fn submit_block(&self, worker: &str, block: luminex_primitives::Block) {
        let node = self.shared.node.clone();
        let hash = block.hash();
        let r = tokio::task::spawn_blocking(move || node.accept_shared(&Arc::new(block))).await;
        match r {
            Ok(Ok(a)) if a.status == AcceptStatus::MainChain => {
                self.shared.node.pool.record_block(worker);
                self.shared
                    .node
                    .metrics
                    .stratum_blocks_found
                    .get_or_create(&WorkerLabels {
                        worker: worker.to_string(),
                    })
                    .inc();
                tracing::info!(%hash, worker, "stratum: block found");
            }
            Ok(Ok(a)) => {
                tracing::info!(%hash, worker, status = ?a.status, "stratum: block found, not on the main chain")
            }
            Ok(Err(e)) => tracing::warn!(%hash, worker, error = %e, "stratum: block refused"),
            Err(e) => tracing::warn!(%hash, worker, error = %e, "stratum: block submission failed"),
        }
    }
}
