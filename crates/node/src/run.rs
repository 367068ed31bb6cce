//! Starting and stopping a node.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use luminex_ledger::spec::ConsensusKind;
use luminex_ledger::SigCache;
use luminex_storage::{ChainStore, FjallStore};
use tokio::sync::watch;

use crate::config::Config;
use luminex_primitives::SystemClock;
use luminex_service::Node;

/// Opens the chain database of `cfg` (creating it with genesis if new).
/// A database that cannot be opened is named with what to do about it.
pub fn open_chain(cfg: &Config) -> anyhow::Result<ChainStore> {
    let db = cfg.chain_dir.join("db");
    std::fs::create_dir_all(&db).with_context(|| format!("creating {}", db.display()))?;
    let kv = FjallStore::open(&db).map_err(|e| {
        anyhow::anyhow!(
            "opening database {}: {e}{}",
            db.display(),
            remedy_line(&e.to_string(), &cfg.chain_dir)
        )
    })?;
    let rules = luminex_consensus::rules_for(&cfg.spec);
    ChainStore::open_with(Arc::new(kv), cfg.spec.clone(), rules, cfg.store).map_err(|e| {
        anyhow::anyhow!(
            "opening the chain in {}: {e}{}",
            db.display(),
            remedy_line(&e.to_string(), &cfg.chain_dir)
        )
    })
}

/// [`open_remedy`] on a line of its own, or nothing when the store's own
/// words already say what to do (its checks of the block files at open
/// name a remedy): one error, one remedy.
fn remedy_line(error: &str, chain_dir: &std::path::Path) -> String {
    if error.contains("from a backup") {
        String::new()
    } else {
        format!("\n{}", open_remedy(error, chain_dir))
    }
}

/// What an operator can do about a database that would not open, from
/// the error's text (the engine's errors are strings by then): give the
/// node write access, or set the damaged chain aside and sync again, as
/// Bitcoin Core's `-reindex` advice does.
fn open_remedy(error: &str, chain_dir: &std::path::Path) -> String {
    // EACCES, EPERM (an immutable file) and EROFS, as io::Error prints
    // them (`kind: PermissionDenied`, the OS's message).
    let denied = [
        "PermissionDenied",
        "Permission denied",
        "Operation not permitted",
        "ReadOnlyFilesystem",
        "Read-only file system",
    ]
    .iter()
    .any(|m| error.contains(m));
    // The storage's own words for a lock held by another process
    // (`FjallStore::open`), and ENOSPC: neither is damage, and setting a
    // healthy database aside for them would throw a good chain away.
    if error.contains("in use by another process") {
        return "stop the process that has it open (a node, or a `luminex chain` command, on the \
                same data directory) first, or give this one its own --data-dir"
            .to_string();
    }
    if error.contains("StorageFull") || error.contains("No space left on device") {
        return format!(
            "the disk of {} is full: free some space and start the node again",
            chain_dir.display()
        );
    }
    if denied {
        format!(
            "the node needs to read and write everything under {}: check its owner, permissions and mount",
            chain_dir.display()
        )
    } else {
        format!(
            "the database looks damaged (a disk fault, or files changed by hand): move {} aside (keep it for a report) and start the node again to sync the chain from its peers, or `luminex chain import` an export",
            chain_dir.display()
        )
    }
}

/// Opens the chain database of `cfg` only if it exists: for commands that
/// read a chain (`luminex chain check`, `export`), where a mistyped data
/// directory or chain would otherwise create an empty chain and report on
/// it as if it were the node's.
pub fn open_existing_chain(cfg: &Config) -> anyhow::Result<ChainStore> {
    let db = cfg.chain_dir.join("db");
    if !db.is_dir() {
        anyhow::bail!(
            "no {} chain database at {} (check --data-dir and --chain)",
            cfg.spec.name,
            db.display()
        );
    }
    open_chain(cfg)
}

/// Where what this node earns as producer goes (a block's fees on dev
/// chains, a reporter's share of a slash on BFT ones): `given` (the
/// `--producer-address`); else a validator's own key's address, where its
/// stake's rewards go too; else the chain's first development key, whose
/// private key everyone has — for `dev`-style chains only.
fn producer_lock(
    spec: &luminex_ledger::ChainSpec,
    given: Option<&str>,
    validator_key: Option<&luminex_crypto::SigningKey>,
) -> anyhow::Result<luminex_primitives::Lock> {
    Ok(match (given, validator_key) {
        (Some(a), _) => spec.parse_address(a).context("--producer-address")?.lock,
        (None, Some(key)) => key.public_key().lock(),
        (None, None) => spec
            .dev_key(0)
            .map(|k| k.public_key().lock())
            .context("this chain has no dev keys: set --producer-address")?,
    })
}

/// How one run of the node ended.
enum Exit {
    /// SIGINT or SIGTERM.
    Stop,
    /// `POST /admin/node/restart`.
    Restart,
}

/// Runs a node until SIGINT or SIGTERM, restarting it in place when an
/// admin asks.
pub async fn run_node(cfg: Config) -> anyhow::Result<()> {
    // Signal handlers first, before the database, the listeners or the
    // network: a SIGTERM that arrives while they start is kept and stops
    // the node gracefully once it runs, instead of killing the process.
    let mut signals = Signals::new().context("installing signal handlers")?;
    // One that came earlier, before tokio listened, is not lost.
    if early_signal_seen() {
        tracing::info!("stopped by a signal during start");
        return Ok(());
    }
    loop {
        match run_once(&cfg, &mut signals).await? {
            Exit::Stop => return Ok(()),
            Exit::Restart => tracing::info!("restarting"),
        }
    }
}

async fn run_once(cfg: &Config, signals: &mut Signals) -> anyhow::Result<Exit> {
    let cfg = cfg.clone();
    let restart = Arc::new(tokio::sync::Notify::new());
    let stop_requested = Arc::new(tokio::sync::Notify::new());
    let chain = Arc::new(open_chain(&cfg)?);
    // What produces blocks: a miner, the dev timer, or the BFT engine.
    let (is_pow, is_bft) = match cfg.spec.consensus {
        ConsensusKind::Pow => (true, false),
        ConsensusKind::Dev => (false, false),
        ConsensusKind::Bft => (false, true),
    };
    let validator_key = match (&cfg.validator_key, cfg.dev_validator) {
        _ if !is_bft && (cfg.validator_key.is_some() || cfg.dev_validator.is_some()) => {
            anyhow::bail!(
                "--validator-key and --dev-validator need a BFT chain; {} is not one",
                cfg.spec.name
            )
        }
        // A node told not to produce follows the chain and signs nothing,
        // whatever key its configuration names (a follower sharing a
        // validator's configuration must never vote in its name).
        (Some(_), _) | (_, Some(_)) if !cfg.produce => {
            tracing::warn!("--no-produce: the validator key is not used; this node only follows");
            None
        }
        (Some(path), _) => Some(crate::consensus::read_validator_key(path, &cfg.spec)?),
        (None, Some(i)) => Some(luminex_crypto::SigningKey::from_seed(
            cfg.spec.default_scheme,
            &luminex_ledger::ChainSpec::dev_validator_seed(i),
        )),
        (None, None) => None,
    };
    let reward_lock = producer_lock(
        &cfg.spec,
        cfg.producer_address.as_deref(),
        validator_key.as_ref(),
    )?;
    // Where accounts must be created, a block paying an uncreated address
    // is invalid: a producer paid there would only make blocks the others
    // refuse. A node that makes no blocks is not concerned; a validator
    // may not have synced the block that created its account yet, so it
    // starts and proposes nothing while the account is missing
    // (`NodeHost::build_block`); a lone producer's chain is its own, so it
    // is refused.
    let makes_blocks = if is_bft {
        validator_key.is_some()
    } else {
        cfg.produce
    };
    if makes_blocks
        && cfg.spec.requires_account_creation()
        && !chain.with_staking(|s| s.is_account(&reward_lock))
    {
        let whose = if cfg.producer_address.is_some() {
            "--producer-address"
        } else if validator_key.is_some() {
            "the validator's own address (where its producer rewards go unless --producer-address says otherwise)"
        } else {
            "development key 0 (the default --producer-address)"
        };
        let address = cfg.spec.address(reward_lock);
        if is_bft {
            tracing::warn!(
                "{whose} {address} is not a created account at this node's height {}: it will propose no block until it is one (synced, or created with `luminex wallet create-account`)",
                chain.tip().height
            );
        } else {
            anyhow::bail!(
                "{whose} {address} is not a created account on {}: create it first (`luminex wallet create-account`)",
                cfg.spec.name
            );
        }
    }
    let cache = SigCache::default();
    let node = Arc::new(Node {
        mempool: parking_lot::RwLock::new(luminex_service::mempool_for(
            &chain,
            cfg.spec.clone(),
            cache.clone(),
            cfg.mempool_max_bytes,
        )),
        spec: cfg.spec.clone(),
        chain: chain.clone(),
        cache,
        clock: Arc::new(SystemClock::new()),
        started: Instant::now(),
        reward_lock,
        // A dev node seals blocks, a BFT node with a key validates, a
        // proof-of-work node produces only when it mines (or serves
        // Stratum miners); any other node follows.
        producing: cfg.produce
            && match cfg.spec.consensus {
                ConsensusKind::Dev => true,
                ConsensusKind::Bft => cfg.validator_key.is_some() || cfg.dev_validator.is_some(),
                ConsensusKind::Pow => cfg.mine || cfg.stratum_addr.is_some(),
            },
        validator_id: validator_key
            .as_ref()
            .filter(|_| cfg.spec.consensus == ConsensusKind::Bft)
            .map(|k| k.public_key().key_hash()),
        tip_changed: tokio::sync::watch::channel(chain.tip().hash).0,
        metrics: Arc::new(luminex_service::metrics::Metrics::new()),
        events: tokio::sync::broadcast::channel(luminex_service::events::EVENT_BUFFER).0,
        finality_mark: luminex_service::events::FinalityMark::new(chain.finalized().height),
        restart: restart.clone(),
        net: Default::default(),
        pool: Default::default(),
        admission: Default::default(),
        follow_order: Default::default(),
        held_back: Default::default(),
        consensus_view: Default::default(),
    });
    // Punishments are counted from the state the chain opened with.
    node.chain.with_staking(|s| node.metrics.staking.observe(s));
    let mempool_file = cfg.chain_dir.join("mempool.dat");
    if mempool_file.exists() {
        let n = node.clone();
        let file = mempool_file.clone();
        match tokio::task::spawn_blocking(move || n.load_mempool(&file)).await? {
            Ok((admitted, dropped)) => {
                tracing::info!(admitted, dropped, "restored the saved mempool")
            }
            Err(e) => tracing::warn!(error = %e, "could not restore the saved mempool"),
        }
    }
    let tip = chain.tip();
    tracing::info!(chain = %cfg.spec.name, height = tip.height, tip = %tip.hash, dir = %cfg.chain_dir.display(), "chain opened");

    let listener = tokio::net::TcpListener::bind(cfg.http_addr)
        .await
        .with_context(|| format!("binding the API to {}", cfg.http_addr))?;
    tracing::info!(addr = %listener.local_addr()?, "REST API listening");

    let miner_lock = match &cfg.miner_address {
        Some(a) => Some(cfg.spec.parse_address(a).context("--miner-address")?.lock),
        None => None,
    };
    if cfg.mine && !is_pow {
        anyhow::bail!(
            "--mine needs a proof-of-work chain; {} produces blocks on a timer",
            cfg.spec.name
        );
    }
    if cfg.mine && miner_lock.is_none() {
        anyhow::bail!("--mine needs --miner-address");
    }

    // JSON-RPC with a fresh cookie.
    // Removed when `cookie` drops: at shutdown, or on any error below.
    let cookie_path = cfg.chain_dir.join(".cookie");
    let (cookie, cookie_cred) =
        crate::rpc::CookieFile::write(&cookie_path).context("writing the RPC cookie")?;
    let mut credentials = vec![cookie_cred];
    credentials.extend(cfg.rpc_credentials.clone());
    // The dashboard's keys before the JSON-RPC port opens: a client that
    // waits for that port finds them written.
    let (admin, wallets) = admin_dashboard(&cfg, &node)?;
    let (admin, wallets) = (Arc::new(admin), Arc::new(wallets));
    let rpc = Arc::new(crate::rpc::RpcServer {
        module: crate::rpc::module(
            crate::rpc::RpcContext::new(node.clone(), miner_lock).with_stop(stop_requested.clone()),
        ),
        auth: crate::rpc::RpcAuth { credentials },
        limits: cfg.rpc_request_limits,
    });
    let rpc_listener = tokio::net::TcpListener::bind(cfg.rpc_addr)
        .await
        .with_context(|| format!("binding JSON-RPC to {}", cfg.rpc_addr))?;
    tracing::info!(addr = %rpc_listener.local_addr()?, cookie = %cookie_path.display(), "JSON-RPC listening");

    let (stop_tx, stop_rx) = watch::channel(false);
    let consensus = if is_bft {
        Some(crate::consensus::start(
            node.clone(),
            validator_key,
            cfg.validator_key.as_deref(),
            &cfg.chain_dir,
            cfg.block_time,
            stop_rx.clone(),
        )?)
    } else {
        None
    };
    let network = crate::p2p::start(&cfg, &node, consensus.as_ref().map(|c| c.0.clone()))?;
    let stratum = match cfg.stratum_addr {
        Some(addr) => {
            let server = crate::stratum::StratumServer::bind(
                addr,
                node.clone(),
                miner_lock,
                cfg.stratum.clone(),
            )
            .await
            .with_context(|| format!("starting Stratum on {addr}"))?;
            tracing::info!(addr = %server.local_addr()?, "Stratum listening");
            Some(tokio::spawn(server.run(stop_rx.clone())))
        }
        None => None,
    };
    let bar = tokio::spawn(crate::p2p::progress_bar(node.clone(), stop_rx.clone()));
    let producer = (cfg.produce && !is_pow && !is_bft).then(|| {
        tokio::spawn(crate::producer::run(
            node.clone(),
            cfg.block_time,
            stop_rx.clone(),
        ))
    });
    let miner_stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let miner = match (cfg.mine, miner_lock) {
        (true, Some(lock)) => {
            let (n, stop, threads) = (node.clone(), miner_stop.clone(), cfg.threads);
            tracing::info!(threads, "mining");
            Some(std::thread::spawn(move || {
                crate::miner::run(n, lock, threads, stop)
            }))
        }
        _ => None,
    };
    let mut rpc_stop = stop_rx.clone();
    let rpc_server = tokio::spawn(luminex_api::serve::serve(
        rpc_listener,
        crate::rpc::router(rpc),
        "rpc",
        cfg.rpc_limits.clone(),
        node.metrics.clone(),
        crate::rpc::overloaded,
        async move {
            let _ = rpc_stop.changed().await;
        },
    ));
    let mut api_stop = stop_rx.clone();
    let server = tokio::spawn(luminex_api::serve::serve(
        listener,
        luminex_web::router_with_admin(node.clone(), cfg.api.clone(), admin)
            .merge(luminex_web::wallet::routes(wallets)),
        "rest",
        cfg.rest_limits.clone(),
        node.metrics.clone(),
        luminex_api::overloaded,
        async move {
            let _ = api_stop.changed().await;
        },
    ));

    let exit = tokio::select! {
        _ = signals.recv() => Exit::Stop,
        _ = stop_requested.notified() => Exit::Stop,
        _ = restart.notified() => Exit::Restart,
    };
    tracing::info!("shutting down");
    let _ = stop_tx.send(true);
    miner_stop.store(true, std::sync::atomic::Ordering::Relaxed);
    if let Some(m) = miner {
        let _ = tokio::task::spawn_blocking(move || m.join()).await;
    }
    if let Some(p) = producer {
        let _ = p.await;
    }
    if let Some((_, c)) = consensus {
        let _ = c.await;
    }
    let _ = server.await;
    let _ = rpc_server.await;
    if let Some(s) = stratum {
        let _ = s.await;
    }
    let _ = bar.await;
    if let Some(n) = network {
        // Dropping the swarm closes its listeners and connections.
        n.abort();
        let _ = n.await;
    }
    drop(cookie);
    match node.save_mempool(&mempool_file) {
        Ok(n) => tracing::info!(transactions = n, "saved the mempool"),
        Err(e) => tracing::warn!(error = %e, "could not save the mempool"),
    }
    drop(node);
    // The UTXO cache to disk, so the next start has no blocks to apply
    // again; a store still held somewhere writes nothing more.
    let closing = chain.clone();
    match tokio::task::spawn_blocking(move || closing.close()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "could not flush the UTXO cache"),
        Err(e) => tracing::warn!(error = %e, "could not flush the UTXO cache"),
    }
    tracing::info!(height = chain.tip().height, "stopped");
    Ok(exit)
}

/// The operator's dashboard: its two keys (read from the operator's files,
/// or fresh ones written to the chain directory, mode 0600, like the RPC
/// cookie) and its audit log; and the wallet pages over the CLI's wallet
/// directory, which open with the same operator key. The log names the key
/// files, never the keys.
fn admin_dashboard(
    cfg: &Config,
    node: &Arc<Node>,
) -> anyhow::Result<(luminex_web::admin::Admin, luminex_web::wallet::Wallets)> {
    use luminex_web::admin::access::{read_key, write_fresh_key};
    let key = |configured: &Option<std::path::PathBuf>,
               default: &str|
     -> anyhow::Result<(String, std::path::PathBuf)> {
        match configured {
            Some(p) => Ok((
                read_key(p).with_context(|| format!("reading the admin key {}", p.display()))?,
                p.clone(),
            )),
            None => {
                let p = cfg.chain_dir.join(default);
                Ok((
                    write_fresh_key(&p)
                        .with_context(|| format!("writing the admin key {}", p.display()))?,
                    p,
                ))
            }
        }
    };
    let (operator, operator_path) = key(&cfg.admin.operator_key_file, "admin-operator.key")?;
    let (viewer, viewer_path) = key(&cfg.admin.viewer_key_file, "admin-viewer.key")?;
    let audit = cfg.chain_dir.join("admin-audit.log");
    tracing::info!(
        operator_key = %operator_path.display(),
        viewer_key = %viewer_path.display(),
        audit_log = %audit.display(),
        remote = cfg.admin.options.allow_remote,
        "admin dashboard at /admin"
    );
    let admin = luminex_web::admin::Admin::new(
        node.clone(),
        &operator,
        &viewer,
        audit,
        format!("{} and {}", operator_path.display(), viewer_path.display()),
        cfg.admin.options.clone(),
    )
    .map(|a| a.with_settings(settings(cfg, &operator_path, &viewer_path)))
    .map_err(|e| anyhow::anyhow!("admin dashboard: {e}"))?;
    let wallet_dir = cfg.chain_dir.join("wallets");
    tracing::info!(
        wallets = %wallet_dir.display(),
        remote = cfg.wallet.allow_remote,
        "wallet pages at /wallet (log in with the operator key)"
    );
    let wallets = luminex_web::wallet::Wallets::new(
        node.clone(),
        wallet_dir,
        &operator,
        &viewer,
        operator_path.display().to_string(),
        cfg.wallet.clone(),
    )
    .map_err(|e| anyhow::anyhow!("wallet pages: {e}"))?;
    Ok((admin, wallets))
}

/// The effective configuration for the dashboard's settings page. Secrets
/// are left out: the JSON-RPC password, the admin API key hashes and the
/// dashboard's keys (only where they are kept).
fn settings(
    cfg: &Config,
    operator_key: &std::path::Path,
    viewer_key: &std::path::Path,
) -> Vec<(String, String)> {
    let list = |v: &[luminex_p2p::Multiaddr]| {
        if v.is_empty() {
            "none".to_string()
        } else {
            v.iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let opt = |v: Option<String>| v.unwrap_or_else(|| "none".into());
    let l = &cfg.api.limits;
    let rows: Vec<(&str, String)> = vec![
        ("chain", cfg.spec.name.clone()),
        ("data_dir", cfg.root.display().to_string()),
        ("chain_dir", cfg.chain_dir.display().to_string()),
        ("http_addr", cfg.http_addr.to_string()),
        ("rpc_addr", cfg.rpc_addr.to_string()),
        (
            "rpc_user",
            opt(cfg
                .rpc_credentials
                .as_deref()
                .map(|c| format!("{} (password redacted)", c.split(':').next().unwrap_or("")))),
        ),
        ("produce", cfg.produce.to_string()),
        ("block_time_ms", cfg.block_time.as_millis().to_string()),
        ("producer_address", opt(cfg.producer_address.clone())),
        ("mempool_max_bytes", cfg.mempool_max_bytes.to_string()),
        (
            "validator_key",
            opt(cfg.validator_key.as_ref().map(|p| p.display().to_string())),
        ),
        (
            "dev_validator",
            opt(cfg.dev_validator.map(|n| n.to_string())),
        ),
        ("mine", cfg.mine.to_string()),
        ("miner_address", opt(cfg.miner_address.clone())),
        ("threads", cfg.threads.to_string()),
        ("stratum_addr", opt(cfg.stratum_addr.map(|a| a.to_string()))),
        (
            "admin_key_hashes",
            format!("{} configured (redacted)", cfg.api.admin_keys.0.len()),
        ),
        (
            "cors_origins",
            if cfg.api.cors_origins.is_empty() {
                "none".into()
            } else {
                cfg.api.cors_origins.join(", ")
            },
        ),
        (
            "rate_limit",
            format!(
                "{}/s burst {}; expensive {}/s burst {}; loopback exempt: {}",
                l.per_second, l.burst, l.expensive_per_second, l.expensive_burst, l.exempt_loopback
            ),
        ),
        ("p2p", cfg.p2p.enabled.to_string()),
        ("listen", list(&cfg.p2p.listen)),
        ("bootnodes", list(&cfg.p2p.bootnodes)),
        ("external_addrs", list(&cfg.p2p.external)),
        ("max_peers", cfg.p2p.max_peers.to_string()),
        ("max_inbound_per_ip", cfg.p2p.inbound_per_ip.to_string()),
        (
            "max_inbound_per_subnet",
            cfg.p2p.inbound_per_subnet.to_string(),
        ),
        ("ban_secs", cfg.p2p.ban.as_secs().to_string()),
        ("lone", cfg.p2p.lone.to_string()),
        (
            "admin_operator_key_file",
            operator_key.display().to_string(),
        ),
        ("admin_viewer_key_file", viewer_key.display().to_string()),
        (
            "admin_allow_remote",
            cfg.admin.options.allow_remote.to_string(),
        ),
        (
            "admin_idle_minutes",
            (cfg.admin.options.idle.as_secs() / 60).to_string(),
        ),
        ("wallet_allow_remote", cfg.wallet.allow_remote.to_string()),
        (
            "wallet_lock_minutes",
            (cfg.wallet.lock_after.as_secs() / 60).to_string(),
        ),
    ];
    rows.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// Set by a SIGINT or SIGTERM that arrived before the node's own handlers
/// ([`Signals`]) were registered.
static EARLY_SIGNAL: std::sync::OnceLock<EarlySignals> = std::sync::OnceLock::new();

struct EarlySignals {
    /// A signal arrived.
    seen: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// When set, a signal does what it does by default (terminate): for
    /// every command but `node`.
    default: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// Catches SIGINT and SIGTERM from the first moment of `main`, before
/// arguments are parsed and the async runtime exists, so a signal that
/// arrives while a node starts stops it gracefully instead of killing it
/// (`docker stop` right after `docker start`). Until
/// [`early_signals_for_node`] says otherwise, a signal keeps its default
/// action unless the command line looks like `luminex node …`.
pub fn catch_early_signals() {
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;
    let node = std::env::args_os().skip(1).any(|a| a == "node");
    let early = EarlySignals {
        seen: Arc::new(AtomicBool::new(false)),
        default: Arc::new(AtomicBool::new(!node)),
    };
    // The binary's `main` calls this with SIGTERM and SIGINT blocked and
    // unblocks them after: the OS shows the signal as caught as soon as
    // the first registration installs the handler, before its action is
    // in place, and a signal in between would run no action at all — lost
    // (the node started and ran on). Blocked, it waits until every action
    // below is registered. The flag that keeps the signal comes before
    // the action that may end the process.
    #[cfg(unix)]
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        let installed = signal_hook::flag::register(sig, early.seen.clone()).and_then(|_| {
            signal_hook::flag::register_conditional_default(sig, early.default.clone())
        });
        if let Err(e) = installed {
            eprintln!("cannot install a signal handler: {e}");
        }
    }
    let _ = EARLY_SIGNAL.set(early);
}

/// After parsing: signals stop a `node` gracefully; any other command is
/// terminated by them as usual.
pub fn early_signals_for_node(node: bool) {
    if let Some(e) = EARLY_SIGNAL.get() {
        e.default.store(!node, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Whether a SIGINT or SIGTERM arrived before [`Signals`] existed.
fn early_signal_seen() -> bool {
    EARLY_SIGNAL
        .get()
        .is_some_and(|e| e.seen.load(std::sync::atomic::Ordering::SeqCst))
}

/// SIGINT and SIGTERM, registered once for the life of the process (tokio
/// keeps a signal that arrives before anyone waits for it).
struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> std::io::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Signals {
                term: signal(SignalKind::terminate())?,
                int: signal(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    async fn recv(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database that would not open is named with a remedy: access for
    /// a permission error (as the engine reports it), else setting the
    /// damaged chain aside.
    #[test]
    fn a_database_that_will_not_open_comes_with_a_remedy() {
        let dir = std::path::Path::new("/data/dev");
        let denied = open_remedy(
            r#"FjallError: Io(Os { code: 13, kind: PermissionDenied, message: "Permission denied" })"#,
            dir,
        );
        assert!(
            denied.contains("read and write everything under /data/dev"),
            "{denied}"
        );
        // An immutable lock file (`chattr +i`): EPERM, also access.
        let immutable = open_remedy(
            r#"FjallError: Io(Os { code: 1, kind: PermissionDenied, message: "Operation not permitted" })"#,
            dir,
        );
        assert!(immutable.contains("read and write"), "{immutable}");
        let read_only = open_remedy(
            r#"FjallError: Io(Os { code: 30, kind: ReadOnlyFilesystem, message: "Read-only file system" })"#,
            dir,
        );
        assert!(read_only.contains("read and write"), "{read_only}");
        let in_use = open_remedy(
            "opening the database /data/dev/db: it is in use by another process (another luminex node on the same data directory?)",
            dir,
        );
        assert!(in_use.contains("stop the process"), "{in_use}");
        assert!(
            !in_use.contains("aside"),
            "a database in use is not damaged: {in_use}"
        );
        let full = open_remedy(
            r#"FjallError: Io(Os { code: 28, kind: StorageFull, message: "No space left on device" })"#,
            dir,
        );
        assert!(full.contains("free some space"), "{full}");
        assert!(!full.contains("aside"), "{full}");
        // The store's checks at open name their own remedy: not a second.
        let said = "block 4 (ab…) cannot be read: checksum mismatch. The block files are damaged \
                    or missing: restore the data directory from a backup, or remove its db \
                    directory to sync the chain again";
        assert_eq!(remedy_line(said, dir), "");
        assert!(remedy_line("FjallError: Storage(Unrecoverable)", dir).starts_with('\n'));
        let damaged = open_remedy("FjallError: Storage(Unrecoverable)", dir);
        assert!(damaged.contains("move /data/dev aside"), "{damaged}");
        assert!(
            damaged.contains("sync the chain from its peers"),
            "{damaged}"
        );
    }

    /// A validator's producer rewards (a reporter's share of a slash) go to
    /// its own address unless one is given; a node with neither pays
    /// development key 0; a malformed address is an error naming the flag.
    #[test]
    fn a_validator_earns_at_its_own_address_by_default() {
        let spec = luminex_ledger::ChainSpec::preset("nextgen").unwrap();
        let key = luminex_crypto::SigningKey::from_seed(spec.default_scheme, &[7; 32]);
        assert_eq!(
            producer_lock(&spec, None, Some(&key)).unwrap(),
            key.public_key().lock()
        );
        let other = luminex_crypto::SigningKey::from_seed(spec.default_scheme, &[8; 32]);
        let given = spec.address(other.public_key().lock()).to_string();
        assert_eq!(
            producer_lock(&spec, Some(&given), Some(&key)).unwrap(),
            other.public_key().lock()
        );
        let dev = luminex_ledger::ChainSpec::preset("dev").unwrap();
        assert_eq!(
            producer_lock(&dev, None, None).unwrap(),
            dev.dev_key(0).unwrap().public_key().lock()
        );
        let e = producer_lock(&spec, Some("nonsense"), None).unwrap_err();
        assert!(format!("{e:#}").contains("--producer-address"), "{e:#}");
    }

    #[test]
    fn the_settings_page_shows_no_secret() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("luminex.toml"),
            "admin_idle_minutes = 5\nadmin_allow_remote = true\n",
        )
        .unwrap();
        let mut args = crate::config::NodeArgs::default();
        args.common.data_dir = Some(dir.path().into());
        args.rpc_user = Some("alice".into());
        args.rpc_password = Some("hunter2-secret".into());
        args.admin_key_hashes = vec!["ab".repeat(32)];
        let cfg = crate::config::resolve(&args).unwrap();
        let rows = settings(
            &cfg,
            std::path::Path::new("/k/op"),
            std::path::Path::new("/k/view"),
        );
        let text = format!("{rows:?}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(!text.contains(&"ab".repeat(32)), "{text}");
        let get = |k: &str| rows.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("rpc_user"), Some("alice (password redacted)"));
        assert_eq!(get("admin_key_hashes"), Some("1 configured (redacted)"));
        assert_eq!(get("admin_idle_minutes"), Some("5"));
        assert_eq!(get("admin_allow_remote"), Some("true"));
        assert_eq!(get("admin_operator_key_file"), Some("/k/op"));
    }

    #[test]
    fn idle_minutes_out_of_range_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("luminex.toml"), "admin_idle_minutes = 0\n").unwrap();
        let mut args = crate::config::NodeArgs::default();
        args.common.data_dir = Some(dir.path().into());
        assert!(crate::config::resolve(&args).is_err());
    }
}
