use super::*;

#[test]
fn file_fills_what_flags_leave_unset() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("luminex.toml"),
        "http_addr = \"127.0.0.1:9999\"\nblock_time_ms = 250\nmempool_max_mb = 8\n",
    )
    .unwrap();
    let mut args = NodeArgs::default();
    args.common.data_dir = Some(dir.path().into());
    let c = resolve(&args).unwrap();
    assert_eq!(c.http_addr.port(), 9999);
    assert_eq!(c.block_time, Duration::from_millis(250));
    assert_eq!(c.chain_dir, dir.path().join("dev"));
    args.http_addr = Some("127.0.0.1:7777".parse().unwrap());
    assert_eq!(resolve(&args).unwrap().http_addr.port(), 7777);
}

#[test]
fn storage_options_from_flags_and_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = NodeArgs::default();
    args.common.data_dir = Some(dir.path().into());
    let c = resolve(&args).unwrap();
    assert_eq!(c.store, luminex_storage::StoreOptions::default());
    std::fs::write(
        dir.path().join("luminex.toml"),
        "dbcache_mb = 16\nreorg_cache_mb = 8\ntxindex = false\naddressindex = false\n",
    )
    .unwrap();
    let c = resolve(&args).unwrap();
    assert_eq!(c.store.utxo_cache_bytes, 16 << 20);
    assert_eq!(c.store.recent_block_bytes, 8 << 20);
    assert!(!c.store.indexes.tx && !c.store.indexes.address);
    // Flags win over the file.
    args.common.addressindex = Some(true);
    args.common.dbcache_mb = Some(0);
    args.common.reorg_cache_mb = Some(0);
    let c = resolve(&args).unwrap();
    assert_eq!(c.store.utxo_cache_bytes, 0);
    assert_eq!(c.store.recent_block_bytes, 0);
    assert!(!c.store.indexes.tx && c.store.indexes.address);
    // As clap reads them: a bare flag is true.
    let cli = <crate::cli::Cli as clap::Parser>::try_parse_from([
        "luminex",
        "node",
        "--txindex",
        "--addressindex=false",
    ])
    .unwrap();
    let crate::cli::Command::Node(n) = cli.command else {
        panic!("not the node command")
    };
    assert_eq!(
        (n.common.txindex, n.common.addressindex),
        (Some(true), Some(false))
    );
}

#[test]
fn bad_files_and_values_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.toml");
    std::fs::write(&p, "no_such_setting = 1\n").unwrap();
    let mut args = NodeArgs::default();
    args.common.config = Some(p.clone());
    assert!(matches!(resolve(&args), Err(ConfigError::Parse { .. })));
    std::fs::write(&p, "admin_key_hashes = [\"not-hex\"]\n").unwrap();
    assert!(matches!(resolve(&args), Err(ConfigError::Value(_))));
    // Zero seals on demand on `dev`, and means nothing elsewhere.
    std::fs::write(&p, "block_time_ms = 0\n").unwrap();
    args.common.data_dir = Some(dir.path().into());
    assert_eq!(resolve(&args).unwrap().block_time, Duration::ZERO);
    for chain in ["qbtc", "poa"] {
        args.common.chain = Some(chain.into());
        let e = resolve(&args).unwrap_err();
        assert!(
            matches!(&e, ConfigError::Value(v) if v.contains("seal on demand")),
            "{e}"
        );
    }
    args.common.chain = None;
    args.common.config = Some(dir.path().join("missing.toml"));
    assert!(matches!(resolve(&args), Err(ConfigError::Read { .. })));
    let args = NodeArgs {
        common: CommonArgs {
            chain: Some("nonexistent-chain".into()),
            data_dir: Some(dir.path().into()),
            ..CommonArgs::default()
        },
        ..NodeArgs::default()
    };
    assert!(matches!(resolve(&args), Err(ConfigError::Spec(_))));
    // A path to a spec file that is not there is reported as such.
    for missing in ["specs/nonexistent", "nonexistent.toml"] {
        let args = NodeArgs {
            common: CommonArgs {
                chain: Some(dir.path().join(missing).display().to_string()),
                data_dir: Some(dir.path().into()),
                ..CommonArgs::default()
            },
            ..NodeArgs::default()
        };
        let e = resolve(&args).unwrap_err();
        assert!(matches!(&e, ConfigError::ReadSpec { .. }), "{e}");
        assert!(
            e.to_string().starts_with("cannot read chain spec file"),
            "{e}"
        );
    }
    assert!(matches!(
        load_spec("nonexistent.toml", false),
        Err(ConfigError::ReadSpec { .. })
    ));
}

/// Values that would silently do something else are refused: a rate of
/// zero, and a CORS origin no browser sends.
#[test]
fn zero_rate_limits_and_malformed_cors_origins_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("luminex.toml");
    let mut args = NodeArgs::default();
    args.common.config = Some(p.clone());
    args.common.data_dir = Some(dir.path().into());
    for bad in [
        "rate_limit_per_second = 0\n",
        "rate_limit_expensive_burst = 0\n",
        "cors_origins = [\"not a url\"]\n",
        "cors_origins = [\"https://example.org/path\"]\n",
        "cors_origins = [\"ftp://example.org\"]\n",
        "cors_origins = [\"https://\"]\n",
        // A deadline past the clock's range failed every connection.
        "[rest_connections]\nheader_timeout_secs = 9223372036854775807\n",
        "[rpc_connections]\nbody_timeout_secs = 86401\n",
    ] {
        std::fs::write(&p, bad).unwrap();
        assert!(
            matches!(resolve(&args), Err(ConfigError::Value(_))),
            "{bad}"
        );
    }
    std::fs::write(
        &p,
        "rate_limit_per_second = 1\ncors_origins = [\"https://example.org\", \"http://127.0.0.1:3000\"]\n",
    )
    .unwrap();
    let cfg = resolve(&args).unwrap();
    assert_eq!(cfg.api.cors_origins.len(), 2);
    // The flag too.
    std::fs::write(&p, "").unwrap();
    args.cors_origins = vec!["not a url".into()];
    assert!(matches!(resolve(&args), Err(ConfigError::Value(_))));
}

/// The file's text resolves without a file on disk, with the same
/// typed errors (the fuzz target `node_config` drives this path).
#[test]
fn parsed_text_resolves_as_a_file_does() {
    let args = NodeArgs {
        common: CommonArgs {
            data_dir: Some("/nonexistent/luminex".into()),
            ..CommonArgs::default()
        },
        ..NodeArgs::default()
    };
    let file = ConfigFile::parse("max_peers = 7\nchain = \"dev\"\n", "t.toml").unwrap();
    assert_eq!(resolve_with(&args, file).unwrap().p2p.max_peers, 7);
    assert!(matches!(
        ConfigFile::parse("max_peers = -1\n", "t.toml"),
        Err(ConfigError::Parse { .. })
    ));
    let file = ConfigFile::parse("rpc_max_batch = 0\n", "t.toml").unwrap();
    assert!(matches!(
        resolve_with(&args, file),
        Err(ConfigError::Value(_))
    ));
}

/// An edited copy of a preset that keeps the preset's chain id starts
/// only when told so (by flag or file); with its own id it just starts.
#[test]
fn a_spec_reusing_a_preset_chain_id_needs_permission() {
    let dir = tempfile::tempdir().unwrap();
    let spec_path = dir.path().join("mine.toml");
    let mut spec = ChainSpec::preset("dev").unwrap();
    spec.name = "mine".into();
    spec.genesis.time += 60;
    std::fs::write(&spec_path, toml::to_string(&spec).unwrap()).unwrap();
    let mut args = NodeArgs::default();
    args.common.data_dir = Some(dir.path().into());
    args.common.chain = Some(spec_path.display().to_string());
    assert!(matches!(
        resolve(&args),
        Err(ConfigError::Spec(SpecError::ChainIdOfPreset { .. }))
    ));
    args.common.allow_chain_id_reuse = true;
    assert_eq!(resolve(&args).unwrap().spec, spec);
    args.common.allow_chain_id_reuse = false;
    std::fs::write(
        dir.path().join("luminex.toml"),
        "allow_chain_id_reuse = true\n",
    )
    .unwrap();
    assert_eq!(resolve(&args).unwrap().spec, spec);
    std::fs::remove_file(dir.path().join("luminex.toml")).unwrap();
    spec.chain_id = 77_001;
    std::fs::write(&spec_path, toml::to_string(&spec).unwrap()).unwrap();
    assert_eq!(resolve(&args).unwrap().spec, spec);
}
