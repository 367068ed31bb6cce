//! `luminex chain testnet`: everything a local BFT network of N validators
//! needs, written to one directory — a validator key per node, a chain spec
//! whose genesis lists them with equal power, and per node a data directory
//! with its config and its peer-to-peer key, so that every node knows the
//! others' addresses and peer ids before any of them starts.

use std::path::{Path, PathBuf};

use anyhow::Context;
use luminex_crypto::SigningKey;
use luminex_ledger::spec::{ConsensusKind, GenesisValidator};
use luminex_ledger::ChainSpec;

/// What [`write_testnet`] made.
#[derive(Debug)]
pub struct Testnet {
    /// The chain spec file.
    pub spec_path: PathBuf,
    /// Each node's data directory (its `luminex.toml` inside).
    pub node_dirs: Vec<PathBuf>,
    /// Each node's REST address.
    pub http: Vec<String>,
    /// The spec's target time between blocks, milliseconds.
    pub block_interval_ms: u64,
}

/// Writes a testnet of `validators` nodes of `base` (a BFT spec) under
/// `out`, which must not exist yet or be empty. Node `i` listens on
/// `base_port + 10 i` (REST), `+1` (JSON-RPC) and `+2` (peer to peer).
pub fn write_testnet(
    base: &ChainSpec,
    validators: u32,
    out: &Path,
    base_port: u16,
) -> anyhow::Result<Testnet> {
    if base.consensus != ConsensusKind::Bft {
        anyhow::bail!(
            "{} is not a BFT chain: a testnet needs validators",
            base.name
        );
    }
    if !(1..=100).contains(&validators) {
        anyhow::bail!("--validators must be between 1 and 100");
    }
    let last_port = u32::from(base_port) + 10 * validators + 2;
    if base_port < 1024 || last_port > u32::from(u16::MAX) {
        anyhow::bail!("--base-port {base_port} leaves no room for {validators} nodes");
    }
    if out.exists() && std::fs::read_dir(out)?.next().is_some() {
        anyhow::bail!(
            "{} exists and is not empty: refusing to overwrite keys",
            out.display()
        );
    }
    std::fs::create_dir_all(out)?;
    let out = out.canonicalize()?;
    let mut spec = base.clone();
    spec.name = format!("{}-testnet", base.name);
    // A chain id of its own (presets' ids are below 10000) and a genesis
    // time of now: another testnet's signatures never verify here.
    spec.chain_id = 10_000 + rand::random::<u32>() % 50_000;
    spec.genesis.time = u32::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs(),
    )?;
    // On a staking chain a validator's power is its bonded stake (ADR
    // 0034): each starts with the minimum stake.
    let stake_power = spec.staking.as_ref().map_or(1, |s| s.min_stake.base());
    let mut genesis = Vec::new();
    let mut node_dirs = Vec::new();
    let mut peers = Vec::new();
    for i in 0..validators {
        let dir = out.join(format!("node{i}"));
        let chain_dir = dir.join(&spec.name);
        std::fs::create_dir_all(&chain_dir)?;
        let seed: [u8; 32] = rand::random();
        crate::consensus::write_validator_key(&dir.join("validator.key"), &seed)
            .context("writing a validator key")?;
        let key = SigningKey::from_seed(spec.default_scheme, &seed);
        genesis.push(GenesisValidator {
            scheme: spec.default_scheme,
            public_key: hex::encode(&key.public_key().bytes),
            power: stake_power,
        });
        let p2p = luminex_p2p::load_or_create_key(&chain_dir.join("p2p_key"))
            .context("writing a peer-to-peer key")?;
        let port = base_port + 10 * i as u16;
        peers.push(format!(
            "/ip4/127.0.0.1/tcp/{}/p2p/{}",
            port + 2,
            p2p.public().to_peer_id()
        ));
        node_dirs.push(dir);
    }
    let bft = spec.bft.as_mut().context("a BFT spec has a [bft] table")?;
    bft.validators = genesis;
    bft.dev_validators = 0;
    let spec_path = out.join("spec.toml");
    std::fs::write(&spec_path, toml::to_string(&spec)?)?;
    // The written spec must load as it will at start.
    let text = std::fs::read_to_string(&spec_path)?;
    ChainSpec::from_toml(&text).context("the written spec does not load")?;
    let mut http = Vec::new();
    for (i, dir) in node_dirs.iter().enumerate() {
        let port = base_port + 10 * i as u16;
        let others: Vec<&String> = peers
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, p)| p)
            .collect();
        let mut config = toml::Table::new();
        let text = |v: String| toml::Value::String(v);
        config.insert("chain".into(), text(spec_path.display().to_string()));
        config.insert("http_addr".into(), text(format!("127.0.0.1:{port}")));
        config.insert("rpc_addr".into(), text(format!("127.0.0.1:{}", port + 1)));
        config.insert(
            "listen".into(),
            toml::Value::Array(vec![text(format!("/ip4/127.0.0.1/tcp/{}", port + 2))]),
        );
        config.insert(
            "bootnodes".into(),
            toml::Value::Array(others.iter().map(|p| text((*p).clone())).collect()),
        );
        config.insert(
            "validator_key".into(),
            text(dir.join("validator.key").display().to_string()),
        );
        std::fs::write(dir.join("luminex.toml"), toml::to_string(&config)?)?;
        http.push(format!("127.0.0.1:{port}"));
    }
    Ok(Testnet {
        spec_path,
        node_dirs,
        http,
        block_interval_ms: spec.block_interval_ms,
    })
}

/// What to print after writing a testnet.
pub fn instructions(t: &Testnet) -> String {
    let mut s = format!(
        "Wrote a chain spec to {}.\nStart each validator in its own terminal:\n\n",
        t.spec_path.display()
    );
    for d in &t.node_dirs {
        s.push_str(&format!("  luminex node --data-dir {}\n", d.display()));
    }
    s.push_str(&format!(
        "\nThen watch them finalize: curl -s http://{}/health/node-status\n",
        t.http[0]
    ));
    s.push_str(&format!(
        "A block every {} s (block_interval_ms in the spec; `luminex chain testnet \
         --block-interval-ms` sets it when writing a testnet).\n",
        t.block_interval_ms as f64 / 1000.0
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_testnet_has_a_loadable_spec_with_its_validators_and_configs_that_resolve() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("net");
        let base = ChainSpec::preset("poa").unwrap();
        let t = write_testnet(&base, 4, &out, 19_000).unwrap();
        assert!(
            instructions(&t).contains("A block every 1 s"),
            "{}",
            instructions(&t)
        );
        let spec = ChainSpec::from_toml(&std::fs::read_to_string(&t.spec_path).unwrap()).unwrap();
        let set = spec.genesis_validators().unwrap();
        assert_eq!(set.len(), 4);
        assert!(set.validators().iter().all(|v| v.power == 1));
        assert_ne!(spec.chain_id, base.chain_id);
        for d in &t.node_dirs {
            let key =
                crate::consensus::read_validator_key(&d.join("validator.key"), &spec).unwrap();
            assert!(set.index_of(&key.public_key().key_hash()).is_some());
            let cfg = crate::config::resolve(&crate::config::NodeArgs {
                common: crate::config::CommonArgs {
                    data_dir: Some(d.clone()),
                    ..Default::default()
                },
                ..Default::default()
            })
            .unwrap();
            assert_eq!(cfg.spec, spec);
            assert_eq!(cfg.p2p.bootnodes.len(), 3);
            assert!(cfg.validator_key.is_some());
        }
        // Never over existing keys; never for a chain without validators.
        assert!(write_testnet(&base, 4, &out, 19_000).is_err());
        let dev = ChainSpec::preset("dev").unwrap();
        assert!(write_testnet(&dev, 4, &dir.path().join("x"), 19_000).is_err());
        assert!(write_testnet(&base, 0, &dir.path().join("y"), 19_000).is_err());
    }

    /// The staking presets make testnets too: each validator starts bonded
    /// with the minimum stake, which is its power (ADR 0034), and the
    /// genesis staking state holds those bonds.
    #[test]
    fn staking_presets_make_testnets_with_bonded_validators() {
        for name in ["nextgen", "almagill", "sidechain"] {
            let dir = tempfile::tempdir().unwrap();
            let base = ChainSpec::preset(name).unwrap();
            let t = write_testnet(&base, 4, &dir.path().join("net"), 19_000).unwrap();
            let spec =
                ChainSpec::from_toml(&std::fs::read_to_string(&t.spec_path).unwrap()).unwrap();
            let min = spec.staking.as_ref().unwrap().min_stake.base();
            let set = spec.genesis_validators().unwrap();
            assert_eq!(set.len(), 4, "{name}");
            assert!(set.validators().iter().all(|v| v.power == min), "{name}");
            let state = luminex_ledger::StakingState::genesis(&spec);
            assert_eq!(state.total_bonded(), 4 * u128::from(min), "{name}");
            for v in set.validators() {
                assert_eq!(state.bonded_power(&v.id()), min, "{name}");
            }
        }
    }
}
