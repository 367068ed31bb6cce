//! Configuration: a TOML file < environment variables < command-line flags,
//! with defaults for everything. Flags and environment variables are merged
//! by clap (a flag wins over its variable); the file fills what neither set.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use luminex_ledger::{ChainSpec, SpecError};
use serde::Deserialize;

/// Default REST API address (loopback only).
pub const DEFAULT_HTTP_ADDR: &str = "127.0.0.1:8645";
/// Default JSON-RPC address (loopback only).
pub const DEFAULT_RPC_ADDR: &str = "127.0.0.1:8646";

/// Default peer-to-peer listen address.
pub const DEFAULT_P2P_LISTEN: &str = "/ip4/0.0.0.0/tcp/8647";
/// Default connection cap.
pub const DEFAULT_MAX_PEERS: u32 = 50;

/// Options every command shares: which chain and where its data lives.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CommonArgs {
    /// Chain preset (`dev`) or path to a chain spec TOML file.
    #[arg(long, env = "LUMINEX_CHAIN", global = true)]
    pub chain: Option<String>,
    /// Root data directory; each chain uses a subdirectory named after it.
    /// Default: ~/.luminex.
    #[arg(long, env = "LUMINEX_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// Config file. Default: `<data-dir>/luminex.toml` when it exists.
    #[arg(long, env = "LUMINEX_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Accept a chain spec that takes a preset's chain id with another
    /// genesis (signatures still differ: they commit to the genesis hash).
    #[arg(long, env = "LUMINEX_ALLOW_CHAIN_ID_REUSE", global = true)]
    pub allow_chain_id_reuse: bool,
    /// Memory for the UTXO cache in MiB (default 1024): coins changed since
    /// the last flush stay in memory and reach the database when the cache
    /// is full or the node stops; 0 writes them after every block.
    #[arg(long = "dbcache-mb", env = "LUMINEX_DBCACHE_MB", global = true)]
    pub dbcache_mb: Option<usize>,
    /// Memory for the recent blocks kept for reorganisations in MiB
    /// (default 2048): the last `max_reorg_depth` main-chain blocks with
    /// their undo data and recent side-branch blocks, so a reorganisation
    /// reads nothing back from disk; 0 keeps none.
    #[arg(long = "reorg-cache-mb", env = "LUMINEX_REORG_CACHE_MB", global = true)]
    pub reorg_cache_mb: Option<usize>,
    /// Keep the transaction index (txid → block; the explorer's and
    /// `getrawtransaction`'s lookups). Default true; turning it off
    /// deletes it, and it cannot be turned on again for that database.
    #[arg(long, env = "LUMINEX_TXINDEX", global = true, num_args = 0..=1, default_missing_value = "true")]
    pub txindex: Option<bool>,
    /// Keep the address indexes (an address's history, coins and balance:
    /// the explorer and wallets). Default true; as `--txindex`.
    #[arg(long, env = "LUMINEX_ADDRESSINDEX", global = true, num_args = 0..=1, default_missing_value = "true")]
    pub addressindex: Option<bool>,
}

/// Options of `luminex node`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct NodeArgs {
    #[command(flatten)]
    /// Chain and data directory.
    pub common: CommonArgs,
    /// REST API listen address.
    #[arg(long, env = "LUMINEX_HTTP_ADDR")]
    pub http_addr: Option<SocketAddr>,
    /// Time between blocks in milliseconds: the dev producer's pace (0: a
    /// block as soon as transactions wait, none while the mempool is
    /// empty), and on BFT chains the pause after a finalized block
    /// (default: the spec's; shortens `nextgen`'s 5 minutes for tests and
    /// local networks). On BFT chains it also caps the wait for late
    /// precommits (the spec's `timeout_commit_ms`, ADR 0042): below that,
    /// a validator whose votes arrive late misses certificates and, on
    /// staking chains, earns less and can be jailed for downtime.
    #[arg(long, env = "LUMINEX_BLOCK_TIME_MS")]
    pub block_time_ms: Option<u64>,
    /// Address that receives what this node earns as producer: a block's
    /// fees and rewards on dev and proof-of-work chains, a reporter's share
    /// of a slash on BFT ones (default: a validator's own key's address;
    /// otherwise development key 0, whose private key is public).
    #[arg(long, env = "LUMINEX_PRODUCER_ADDRESS")]
    pub producer_address: Option<String>,
    /// Mempool size cap in MiB (default 512).
    #[arg(long, env = "LUMINEX_MEMPOOL_MAX_MB")]
    pub mempool_max_mb: Option<usize>,
    /// Do not produce blocks.
    #[arg(long)]
    pub no_produce: bool,
    /// Validate on a BFT chain with the key in this file (the hex of a
    /// 32-byte seed, as `luminex chain testnet` writes it).
    #[arg(long, env = "LUMINEX_VALIDATOR_KEY")]
    pub validator_key: Option<PathBuf>,
    /// Validate on a BFT chain as well-known development validator N (local
    /// chains only: the key is public).
    #[arg(long, conflicts_with = "validator_key")]
    pub dev_validator: Option<u32>,
    /// JSON-RPC listen address (Bitcoin Core-compatible methods).
    #[arg(long, env = "LUMINEX_RPC_ADDR")]
    pub rpc_addr: Option<SocketAddr>,
    /// JSON-RPC user (with --rpc-password; the cookie file always works).
    #[arg(long, env = "LUMINEX_RPC_USER")]
    pub rpc_user: Option<String>,
    /// JSON-RPC password.
    #[arg(long, env = "LUMINEX_RPC_PASSWORD")]
    pub rpc_password: Option<String>,
    /// Mine blocks (proof-of-work chains).
    #[arg(long)]
    pub mine: bool,
    /// Address that receives mined blocks' fees and subsidy (also used by getblocktemplate).
    #[arg(long, env = "LUMINEX_MINER_ADDRESS")]
    pub miner_address: Option<String>,
    /// Mining threads (default: all cores).
    #[arg(long, env = "LUMINEX_THREADS")]
    pub threads: Option<usize>,
    /// Serve Stratum v1 mining on this address (off by default; chains with
    /// Bitcoin's Merkle commitment such as qbtc).
    #[arg(long, env = "LUMINEX_STRATUM_ADDR")]
    pub stratum_addr: Option<SocketAddr>,
    /// SHA-256 (hex) of an admin API key; repeat for several keys.
    #[arg(
        long = "admin-key-hash",
        env = "LUMINEX_ADMIN_KEY_HASHES",
        value_delimiter = ','
    )]
    pub admin_key_hashes: Vec<String>,
    /// An origin allowed to call the API from a browser (CORS); repeatable.
    #[arg(
        long = "cors-origin",
        env = "LUMINEX_CORS_ORIGINS",
        value_delimiter = ','
    )]
    pub cors_origins: Vec<String>,
    /// Peer-to-peer listen multiaddr; repeatable (default /ip4/0.0.0.0/tcp/8647).
    #[arg(long = "listen", env = "LUMINEX_LISTEN", value_delimiter = ',')]
    pub listen: Vec<String>,
    /// Peers to bootstrap from (multiaddr with `/p2p/<peer id>`); none makes
    /// this a bootstrap node.
    #[arg(long = "bootnodes", env = "LUMINEX_BOOTNODES", value_delimiter = ',', num_args = 1..)]
    pub bootnodes: Vec<String>,
    /// Address other peers should dial to reach this node; repeatable.
    #[arg(
        long = "external-addr",
        env = "LUMINEX_EXTERNAL_ADDR",
        value_delimiter = ','
    )]
    pub external_addrs: Vec<String>,
    /// Most peer connections (default 50); bootnodes, anchors and peers an
    /// operator adds come on top.
    #[arg(long, env = "LUMINEX_MAX_PEERS")]
    pub max_peers: Option<u32>,
    /// Most inbound peer connections from one IP address (default 8).
    #[arg(long, env = "LUMINEX_MAX_INBOUND_PER_IP")]
    pub max_inbound_per_ip: Option<u32>,
    /// Most inbound peer connections from one subnet, a /24 of IPv4 or a
    /// /48 of IPv6 (default 16).
    #[arg(long, env = "LUMINEX_MAX_INBOUND_PER_SUBNET")]
    pub max_inbound_per_subnet: Option<u32>,
    /// Run without peer-to-peer networking.
    #[arg(long)]
    pub no_p2p: bool,
    /// Whether this node may be alone: ready (`/health/ready`) with no
    /// peers. Default: true without bootnodes (a dev chain, a network's
    /// first node), false with them.
    #[arg(long, env = "LUMINEX_LONE", num_args = 0..=1, default_missing_value = "true")]
    pub lone: Option<bool>,
}

/// The config file's fields; all optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Chain preset or spec path.
    pub chain: Option<String>,
    /// Accept a spec that takes a preset's chain id with another genesis.
    pub allow_chain_id_reuse: Option<bool>,
    /// Root data directory.
    pub data_dir: Option<PathBuf>,
    /// REST API address.
    pub http_addr: Option<SocketAddr>,
    /// Producer block time in ms (0 on `dev`: seal on demand).
    pub block_time_ms: Option<u64>,
    /// Reward address.
    pub producer_address: Option<String>,
    /// Mempool cap in MiB.
    pub mempool_max_mb: Option<usize>,
    /// Whether to produce blocks.
    pub produce: Option<bool>,
    /// BFT validator key file.
    pub validator_key: Option<PathBuf>,
    /// JSON-RPC address.
    pub rpc_addr: Option<SocketAddr>,
    /// JSON-RPC user.
    pub rpc_user: Option<String>,
    /// JSON-RPC password.
    pub rpc_password: Option<String>,
    /// Whether to mine.
    pub mine: Option<bool>,
    /// Miner reward address.
    pub miner_address: Option<String>,
    /// Mining threads.
    pub threads: Option<usize>,
    /// Stratum v1 address.
    pub stratum_addr: Option<SocketAddr>,
    /// Text written in every Stratum coinbase (at most 40 bytes).
    pub stratum_pool_tag: Option<String>,
    /// Stratum connections at most.
    pub stratum_max_connections: Option<usize>,
    /// Lowest Stratum share difficulty (vardiff floor).
    pub stratum_min_difficulty: Option<f64>,
    /// Share difficulty a Stratum connection starts at.
    pub stratum_initial_difficulty: Option<f64>,
    /// Highest Stratum share difficulty (vardiff ceiling).
    pub stratum_max_difficulty: Option<f64>,
    /// Admin API key hashes (SHA-256, hex).
    pub admin_key_hashes: Option<Vec<String>>,
    /// CORS origins.
    pub cors_origins: Option<Vec<String>>,
    /// Requests per second per client on ordinary routes.
    pub rate_limit_per_second: Option<u32>,
    /// Burst per client on ordinary routes.
    pub rate_limit_burst: Option<u32>,
    /// Requests per second per client on expensive routes.
    pub rate_limit_expensive_per_second: Option<u32>,
    /// Burst per client on expensive routes.
    pub rate_limit_expensive_burst: Option<u32>,
    /// Whether loopback clients skip rate limits.
    pub rate_limit_exempt_loopback: Option<bool>,
    /// Peer-to-peer listen multiaddrs.
    pub listen: Option<Vec<String>>,
    /// Bootnode multiaddrs.
    pub bootnodes: Option<Vec<String>>,
    /// External multiaddrs.
    pub external_addrs: Option<Vec<String>>,
    /// Connection cap.
    pub max_peers: Option<u32>,
    /// UTXO cache in MiB.
    pub dbcache_mb: Option<usize>,
    /// Recent blocks kept for reorganisations, in MiB.
    pub reorg_cache_mb: Option<usize>,
    /// Inbound connections from one IP address at most.
    pub max_inbound_per_ip: Option<u32>,
    /// Inbound connections from one subnet (/24, /48) at most.
    pub max_inbound_per_subnet: Option<u32>,
    /// Whether to keep the transaction index.
    pub txindex: Option<bool>,
    /// Whether to keep the address indexes.
    pub addressindex: Option<bool>,
    /// Whether to run peer-to-peer networking.
    pub p2p: Option<bool>,
    /// Seconds a misbehaving peer stays banned.
    pub ban_secs: Option<u64>,
    /// Whether the node may be alone (ready with no peers); default: true
    /// without bootnodes, false with them.
    pub lone: Option<bool>,
    /// File holding the dashboard's operator key (kept by the operator;
    /// default: a fresh key in `<chain dir>/admin-operator.key` at each start).
    pub admin_operator_key_file: Option<PathBuf>,
    /// File holding the dashboard's viewer key (default: a fresh key in
    /// `<chain dir>/admin-viewer.key` at each start).
    pub admin_viewer_key_file: Option<PathBuf>,
    /// Serve `/admin` to clients other than loopback.
    pub admin_allow_remote: Option<bool>,
    /// Minutes a dashboard session may idle (default 15); the wallet
    /// pages' sessions too.
    pub admin_idle_minutes: Option<u64>,
    /// Serve the wallet pages (`/wallet`) to clients other than loopback.
    pub wallet_allow_remote: Option<bool>,
    /// Minutes an unlocked wallet stays unlocked without use (default 5).
    pub wallet_lock_minutes: Option<u64>,
    /// Connection limits of the REST API.
    pub rest_connections: Option<LimitsFile>,
    /// Connection limits of the JSON-RPC.
    pub rpc_connections: Option<LimitsFile>,
    /// Calls in one JSON-RPC batch (default 1,000).
    pub rpc_max_batch: Option<usize>,
    /// Bytes of one JSON-RPC request (default: twice the largest block plus
    /// 1 MiB, room for `submitblock`).
    pub rpc_max_request_bytes: Option<usize>,
}

/// A listener's connection limits in the config file; unset fields keep the
/// listener's defaults (`luminex_api::serve::ConnectionLimits`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsFile {
    /// Connections open at once.
    pub max_connections: Option<usize>,
    /// Connections open at once from one IP address.
    pub max_per_client: Option<usize>,
    /// Seconds to send a request's headers (and between requests).
    pub header_timeout_secs: Option<u64>,
    /// Seconds to send a request's body.
    pub body_timeout_secs: Option<u64>,
    /// Requests handled at once.
    pub workers: Option<usize>,
    /// Requests waiting for a worker before the answer is 503.
    pub work_queue: Option<usize>,
}

impl LimitsFile {
    fn apply(
        self,
        what: &str,
        base: luminex_api::serve::ConnectionLimits,
    ) -> Result<luminex_api::serve::ConnectionLimits, ConfigError> {
        let l = luminex_api::serve::ConnectionLimits {
            max_connections: self.max_connections.unwrap_or(base.max_connections),
            max_per_client: self.max_per_client.unwrap_or(base.max_per_client),
            header_timeout: self
                .header_timeout_secs
                .map_or(base.header_timeout, Duration::from_secs),
            body_timeout: self
                .body_timeout_secs
                .map_or(base.body_timeout, Duration::from_secs),
            workers: self.workers.unwrap_or(base.workers),
            work_queue: self.work_queue.unwrap_or(base.work_queue),
        };
        l.check()
            .map_err(|e| ConfigError::Value(format!("{what}: {e}")))?;
        Ok(l)
    }
}

/// Peer-to-peer settings.
#[derive(Debug, Clone)]
pub struct P2pConfig {
    /// Whether networking runs at all.
    pub enabled: bool,
    /// Listen addresses.
    pub listen: Vec<luminex_p2p::Multiaddr>,
    /// Bootnodes.
    pub bootnodes: Vec<luminex_p2p::Multiaddr>,
    /// External addresses.
    pub external: Vec<luminex_p2p::Multiaddr>,
    /// Connection cap.
    pub max_peers: u32,
    /// Inbound connections from one IP address at most.
    pub inbound_per_ip: u32,
    /// Inbound connections from one subnet at most.
    pub inbound_per_subnet: u32,
    /// Ban length.
    pub ban: Duration,
    /// Ready with no peers (see `--lone`).
    pub lone: bool,
}

fn multiaddrs(flag: &str, v: &[String]) -> Result<Vec<luminex_p2p::Multiaddr>, ConfigError> {
    v.iter()
        .map(|a| {
            a.parse()
                .map_err(|e| ConfigError::Value(format!("{flag} {a:?}: {e}")))
        })
        .collect()
}

fn pick(flag: &[String], file: Option<Vec<String>>) -> Vec<String> {
    if flag.is_empty() {
        file.unwrap_or_default()
    } else {
        flag.to_vec()
    }
}

/// A configuration problem.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {error}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        error: std::io::Error,
    },
    /// The file is not valid.
    #[error("config file {path} is invalid: {error}")]
    Parse {
        /// The file.
        path: String,
        /// Why.
        error: String,
    },
    /// A chain spec file could not be read.
    #[error("cannot read chain spec file {path}: {error}")]
    ReadSpec {
        /// The file.
        path: String,
        /// Why.
        error: std::io::Error,
    },
    /// The chain spec is unusable.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// A value is out of range.
    #[error("invalid setting: {0}")]
    Value(String),
}

/// The resolved configuration of a command.
#[derive(Debug, Clone)]
pub struct Config {
    /// Connection limits of the REST API.
    pub rest_limits: luminex_api::serve::ConnectionLimits,
    /// Connection limits of the JSON-RPC.
    pub rpc_limits: luminex_api::serve::ConnectionLimits,
    /// Bounds of one JSON-RPC request.
    pub rpc_request_limits: crate::rpc::RpcLimits,
    /// The chain.
    pub spec: ChainSpec,
    /// Root data directory.
    pub root: PathBuf,
    /// This chain's directory.
    pub chain_dir: PathBuf,
    /// API address.
    pub http_addr: SocketAddr,
    /// Producer interval (zero: seal on demand).
    pub block_time: Duration,
    /// Reward address.
    pub producer_address: Option<String>,
    /// Mempool cap in bytes.
    pub mempool_max_bytes: usize,
    /// Whether to produce blocks.
    pub produce: bool,
    /// BFT validator key file.
    pub validator_key: Option<PathBuf>,
    /// Well-known development validator index.
    pub dev_validator: Option<u32>,
    /// JSON-RPC address.
    pub rpc_addr: SocketAddr,
    /// Configured `user:password` for JSON-RPC, if any.
    pub rpc_credentials: Option<String>,
    /// Whether to mine.
    pub mine: bool,
    /// Miner reward address.
    pub miner_address: Option<String>,
    /// Mining threads.
    pub threads: usize,
    /// Stratum v1 address, when serving it.
    pub stratum_addr: Option<SocketAddr>,
    /// Stratum server settings.
    pub stratum: crate::stratum::StratumConfig,
    /// REST API options (rate limits, admin keys, CORS).
    pub api: luminex_api::ApiOptions,
    /// Peer-to-peer networking.
    pub p2p: P2pConfig,
    /// The operator's dashboard (`/admin`).
    pub admin: AdminConfig,
    /// The browser wallet (`/wallet`): who may reach it, when it locks.
    pub wallet: luminex_web::wallet::WalletOptions,
    /// How the chain store keeps its state (the UTXO cache's budget, the
    /// optional indexes).
    pub store: luminex_storage::StoreOptions,
}

/// The operator's dashboard: where its keys come from and who may reach it.
#[derive(Debug, Clone, Default)]
pub struct AdminConfig {
    /// The operator key's file when the operator keeps it; `None` writes a
    /// fresh key to `<chain dir>/admin-operator.key` at each start.
    pub operator_key_file: Option<PathBuf>,
    /// The viewer key's file, likewise (`admin-viewer.key`).
    pub viewer_key_file: Option<PathBuf>,
    /// Loopback only or not, and the idle time of a session.
    pub options: luminex_web::admin::AdminOptions,
}

/// A CORS origin as browsers send it: `http` or `https`, a host, an
/// optional port, and nothing after (no path, no trailing slash).
fn check_origin(o: &str) -> Result<(), &'static str> {
    let rest = o
        .strip_prefix("https://")
        .or_else(|| o.strip_prefix("http://"))
        .ok_or("must start with http:// or https://")?;
    if rest.is_empty() || rest.contains(['/', '?', '#', ' ']) {
        return Err("must be scheme://host[:port], with no path");
    }
    let uri: axum::http::Uri = o.parse().map_err(|_| "is not a valid origin")?;
    match uri.host() {
        Some(h) if !h.is_empty() => Ok(()),
        _ => Err("names no host"),
    }
}

fn default_root() -> PathBuf {
    std::env::var_os("HOME")
        .map(|h| PathBuf::from(h).join(".luminex"))
        .unwrap_or_else(|| PathBuf::from(".luminex"))
}

/// Loads a chain spec from a preset name or a TOML file path (what is not
/// a preset and names a file, or looks like a path: a missing file is
/// reported as such, not as an unknown preset). A file that takes a
/// preset's chain id with another genesis is refused unless
/// `allow_chain_id_reuse`.
pub fn load_spec(chain: &str, allow_chain_id_reuse: bool) -> Result<ChainSpec, ConfigError> {
    let path_like = |c: &str| {
        Path::new(c).is_file() || c.contains(std::path::MAIN_SEPARATOR) || c.ends_with(".toml")
    };
    match ChainSpec::preset(chain) {
        Ok(s) => Ok(s),
        Err(SpecError::UnknownPreset(_)) if path_like(chain) => {
            let text = std::fs::read_to_string(chain).map_err(|error| ConfigError::ReadSpec {
                path: chain.into(),
                error,
            })?;
            let spec = ChainSpec::from_toml(&text)?;
            if !allow_chain_id_reuse {
                spec.check_chain_id_is_its_own()?;
            }
            Ok(spec)
        }
        Err(e) => Err(e.into()),
    }
}

impl ConfigFile {
    /// Parses a config file's text; `path` names the file in the error.
    pub fn parse(text: &str, path: &str) -> Result<ConfigFile, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.into(),
            error: e.to_string(),
        })
    }
}

fn read_file(path: &Path) -> Result<ConfigFile, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
        path: path.display().to_string(),
        error,
    })?;
    ConfigFile::parse(&text, &path.display().to_string())
}

impl NodeArgs {
    /// The options of a command that talks to a node (`luminex wallet`,
    /// `luminex chain`): the chain and data directory given, and the node's
    /// API address from `LUMINEX_HTTP_ADDR` as `luminex node` reads it, so
    /// config file < environment holds for them too.
    pub fn for_client(common: &CommonArgs) -> Result<NodeArgs, ConfigError> {
        let http_addr = match std::env::var("LUMINEX_HTTP_ADDR") {
            Ok(v) if !v.is_empty() => Some(v.parse().map_err(|_| {
                ConfigError::Value(format!(
                    "LUMINEX_HTTP_ADDR: {v:?} is not an address such as 127.0.0.1:8645"
                ))
            })?),
            _ => None,
        };
        Ok(NodeArgs {
            common: common.clone(),
            http_addr,
            ..NodeArgs::default()
        })
    }
}

/// Resolves the configuration: flags/environment, then the file, then defaults.
pub fn resolve(args: &NodeArgs) -> Result<Config, ConfigError> {
    let c = &args.common;
    let file = match &c.config {
        Some(p) => read_file(p)?,
        None => {
            let p = c
                .data_dir
                .clone()
                .unwrap_or_else(default_root)
                .join("luminex.toml");
            if p.is_file() {
                read_file(&p)?
            } else {
                ConfigFile::default()
            }
        }
    };
    resolve_with(args, file)
}

/// Resolves the configuration from flags/environment over a config file
/// already read: the checks and defaults of [`resolve`], without reading a
/// config file (a chain spec named by path is still read).
pub fn resolve_with(args: &NodeArgs, file: ConfigFile) -> Result<Config, ConfigError> {
    let c = &args.common;
    let chain = c
        .chain
        .clone()
        .or(file.chain)
        .unwrap_or_else(|| "dev".into());
    let allow_reuse = c.allow_chain_id_reuse || file.allow_chain_id_reuse.unwrap_or(false);
    let spec = load_spec(&chain, allow_reuse)?;
    let root = c
        .data_dir
        .clone()
        .or(file.data_dir)
        .unwrap_or_else(default_root);
    let chain_dir = root.join(&spec.name);
    let http_addr = match args.http_addr.or(file.http_addr) {
        Some(a) => a,
        None => DEFAULT_HTTP_ADDR
            .parse()
            .expect("the default address parses"),
    };
    let block_time_ms = args
        .block_time_ms
        .or(file.block_time_ms)
        .unwrap_or(spec.block_interval_ms);
    if block_time_ms == 0 && spec.consensus != luminex_ledger::spec::ConsensusKind::Dev {
        return Err(ConfigError::Value(format!(
            "block time 0 (seal on demand) is for chains of the dev producer; {} is {}",
            spec.name,
            spec.consensus.name()
        )));
    }
    let mb = args.mempool_max_mb.or(file.mempool_max_mb).unwrap_or(512);
    let dbcache_mb = c
        .dbcache_mb
        .or(file.dbcache_mb)
        .unwrap_or(luminex_storage::DEFAULT_UTXO_CACHE_BYTES >> 20);
    let reorg_cache_mb = c
        .reorg_cache_mb
        .or(file.reorg_cache_mb)
        .unwrap_or(luminex_storage::DEFAULT_RECENT_BLOCK_BYTES >> 20);
    let store = luminex_storage::StoreOptions {
        utxo_cache_bytes: dbcache_mb
            .checked_mul(1 << 20)
            .ok_or_else(|| ConfigError::Value(format!("--dbcache-mb {dbcache_mb} is too large")))?,
        indexes: luminex_storage::IndexSet {
            tx: c.txindex.or(file.txindex).unwrap_or(true),
            address: c.addressindex.or(file.addressindex).unwrap_or(true),
        },
        recent_block_bytes: reorg_cache_mb.checked_mul(1 << 20).ok_or_else(|| {
            ConfigError::Value(format!("--reorg-cache-mb {reorg_cache_mb} is too large"))
        })?,
    };
    if mb == 0 || mb > 1 << 20 {
        return Err(ConfigError::Value(
            "mempool size must be 1 MiB..1 TiB".into(),
        ));
    }
    let rpc_credentials = match (
        args.rpc_user.clone().or(file.rpc_user),
        args.rpc_password.clone().or(file.rpc_password),
    ) {
        (Some(u), Some(p)) if !u.contains(':') => Some(format!("{u}:{p}")),
        (None, None) => None,
        _ => {
            return Err(ConfigError::Value(
                "set both rpc user and rpc password; the user may not contain ':'".into(),
            ))
        }
    };
    let threads = args
        .threads
        .or(file.threads)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if threads == 0 || threads > 1024 {
        return Err(ConfigError::Value("threads must be 1..=1024".into()));
    }
    let hashes = if args.admin_key_hashes.is_empty() {
        file.admin_key_hashes.unwrap_or_default()
    } else {
        args.admin_key_hashes.clone()
    };
    let d = luminex_api::guard::RateLimitConfig::default();
    for (key, value) in [
        ("rate_limit_per_second", file.rate_limit_per_second),
        ("rate_limit_burst", file.rate_limit_burst),
        (
            "rate_limit_expensive_per_second",
            file.rate_limit_expensive_per_second,
        ),
        (
            "rate_limit_expensive_burst",
            file.rate_limit_expensive_burst,
        ),
    ] {
        if value == Some(0) {
            return Err(ConfigError::Value(format!(
                "{key} must be at least 1 (clients on this machine are exempt with \
                 rate_limit_exempt_loopback)"
            )));
        }
    }
    let cors_origins = if args.cors_origins.is_empty() {
        file.cors_origins.unwrap_or_default()
    } else {
        args.cors_origins.clone()
    };
    for o in &cors_origins {
        check_origin(o).map_err(|e| ConfigError::Value(format!("CORS origin {o:?}: {e}")))?;
    }
    let api = luminex_api::ApiOptions {
        limits: luminex_api::guard::RateLimitConfig {
            per_second: file.rate_limit_per_second.unwrap_or(d.per_second),
            burst: file.rate_limit_burst.unwrap_or(d.burst),
            expensive_per_second: file
                .rate_limit_expensive_per_second
                .unwrap_or(d.expensive_per_second),
            expensive_burst: file.rate_limit_expensive_burst.unwrap_or(d.expensive_burst),
            exempt_loopback: file.rate_limit_exempt_loopback.unwrap_or(d.exempt_loopback),
        },
        admin_keys: luminex_api::guard::AdminKeys::from_hex(&hashes).map_err(ConfigError::Value)?,
        cors_origins,
        ..luminex_api::ApiOptions::default()
    };
    let mut listen = pick(&args.listen, file.listen);
    if listen.is_empty() {
        listen.push(DEFAULT_P2P_LISTEN.into());
    }
    let max_peers = args
        .max_peers
        .or(file.max_peers)
        .unwrap_or(DEFAULT_MAX_PEERS);
    if max_peers == 0 || max_peers > 10_000 {
        return Err(ConfigError::Value("max peers must be 1..=10000".into()));
    }
    let inbound_per_ip = args
        .max_inbound_per_ip
        .or(file.max_inbound_per_ip)
        .unwrap_or(luminex_p2p::connections::MAX_INBOUND_PER_IP);
    let inbound_per_subnet = args
        .max_inbound_per_subnet
        .or(file.max_inbound_per_subnet)
        .unwrap_or(luminex_p2p::connections::MAX_INBOUND_PER_SUBNET);
    if inbound_per_ip == 0 || inbound_per_subnet == 0 {
        return Err(ConfigError::Value(
            "inbound connections per address and per subnet must be at least 1".into(),
        ));
    }
    let bootnodes = multiaddrs("--bootnodes", &pick(&args.bootnodes, file.bootnodes))?;
    let p2p = P2pConfig {
        enabled: !args.no_p2p && file.p2p.unwrap_or(true),
        listen: multiaddrs("--listen", &listen)?,
        lone: args.lone.or(file.lone).unwrap_or(bootnodes.is_empty()),
        bootnodes,
        external: multiaddrs(
            "--external-addr",
            &pick(&args.external_addrs, file.external_addrs),
        )?,
        max_peers,
        inbound_per_ip,
        inbound_per_subnet,
        ban: Duration::from_secs(file.ban_secs.unwrap_or(24 * 3600)),
    };
    let mut stratum = crate::stratum::StratumConfig::default();
    if let Some(tag) = file.stratum_pool_tag {
        stratum.pool_tag = tag.into_bytes();
    }
    if let Some(n) = file.stratum_max_connections {
        if n == 0 || n > 100_000 {
            return Err(ConfigError::Value(
                "stratum_max_connections must be 1..=100000".into(),
            ));
        }
        stratum.max_connections = n;
    }
    let positive = |v: f64| v.is_finite() && v > 0.0;
    if let Some(d) = file.stratum_min_difficulty {
        // Below 2^-32 the share target no longer fits miners' arithmetic.
        if !positive(d) || d < 2f64.powi(-32) {
            return Err(ConfigError::Value(
                "stratum_min_difficulty must be at least 2^-32".into(),
            ));
        }
        stratum.vardiff.min = d;
    }
    if let Some(d) = file.stratum_initial_difficulty {
        if !positive(d) {
            return Err(ConfigError::Value(
                "stratum_initial_difficulty must be positive".into(),
            ));
        }
        stratum.vardiff.initial = d;
    }
    if let Some(d) = file.stratum_max_difficulty {
        if !positive(d) || d < stratum.vardiff.min {
            return Err(ConfigError::Value(
                "stratum_max_difficulty must be at least the minimum difficulty".into(),
            ));
        }
        stratum.vardiff.max = d;
    }
    let rest_limits = file.rest_connections.clone().unwrap_or_default().apply(
        "rest_connections",
        luminex_api::serve::ConnectionLimits::default(),
    )?;
    let rpc_limits = file.rpc_connections.clone().unwrap_or_default().apply(
        "rpc_connections",
        luminex_api::serve::ConnectionLimits::rpc(),
    )?;
    let mut rpc_request_limits = crate::rpc::RpcLimits::for_blocks(spec.max_block_bytes);
    if let Some(n) = file.rpc_max_batch {
        rpc_request_limits.max_batch = n;
    }
    if let Some(n) = file.rpc_max_request_bytes {
        rpc_request_limits.max_request_bytes = n;
    }
    if rpc_request_limits.max_batch == 0 || rpc_request_limits.max_request_bytes == 0 {
        return Err(ConfigError::Value(
            "rpc_max_batch and rpc_max_request_bytes must be positive".into(),
        ));
    }
    let admin_idle = file.admin_idle_minutes.unwrap_or(15);
    if !(1..=24 * 60).contains(&admin_idle) {
        return Err(ConfigError::Value(
            "admin_idle_minutes must be 1..=1440".into(),
        ));
    }
    let admin = AdminConfig {
        operator_key_file: file.admin_operator_key_file.clone(),
        viewer_key_file: file.admin_viewer_key_file.clone(),
        options: luminex_web::admin::AdminOptions {
            allow_remote: file.admin_allow_remote.unwrap_or(false),
            idle: Duration::from_secs(admin_idle * 60),
            ..luminex_web::admin::AdminOptions::default()
        },
    };
    let wallet_lock = file.wallet_lock_minutes.unwrap_or(5);
    if !(1..=24 * 60).contains(&wallet_lock) {
        return Err(ConfigError::Value(
            "wallet_lock_minutes must be 1..=1440".into(),
        ));
    }
    let wallet = luminex_web::wallet::WalletOptions {
        allow_remote: file.wallet_allow_remote.unwrap_or(false),
        idle: Duration::from_secs(admin_idle * 60),
        lock_after: Duration::from_secs(wallet_lock * 60),
        ..luminex_web::wallet::WalletOptions::default()
    };
    Ok(Config {
        admin,
        wallet,
        rest_limits,
        rpc_limits,
        rpc_request_limits,
        p2p,
        api,
        rpc_addr: match args.rpc_addr.or(file.rpc_addr) {
            Some(a) => a,
            None => DEFAULT_RPC_ADDR
                .parse()
                .expect("the default address parses"),
        },
        rpc_credentials,
        mine: args.mine || file.mine.unwrap_or(false),
        miner_address: args.miner_address.clone().or(file.miner_address),
        threads,
        stratum_addr: args.stratum_addr.or(file.stratum_addr),
        stratum,
        root,
        chain_dir,
        http_addr,
        block_time: Duration::from_millis(block_time_ms),
        producer_address: args.producer_address.clone().or(file.producer_address),
        mempool_max_bytes: mb * 1024 * 1024,
        produce: !args.no_produce && file.produce.unwrap_or(true),
        validator_key: args.validator_key.clone().or(file.validator_key),
        dev_validator: args.dev_validator,
        spec,
        store,
    })
}

#[cfg(test)]
mod tests;
