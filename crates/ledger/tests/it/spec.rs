use luminex_ledger::compact::CompactError;
use luminex_ledger::spec::PowSpecError;
use luminex_ledger::spec::PRESETS;
use luminex_ledger::testkit::{dev_keys, lock_of};
use luminex_ledger::{ChainSpec, SpecError};

/// The dev preset's genesis coins belong to the well-known dev keys.
#[test]
fn dev_allocations_belong_to_dev_keys() {
    let spec = ChainSpec::preset("dev").unwrap();
    let keys = dev_keys(&spec);
    assert_eq!(spec.genesis.allocations.len(), keys.len());
    for (a, k) in spec.genesis.allocations.iter().zip(&keys) {
        assert_eq!(a.address, spec.address(lock_of(k)).to_string());
    }
}

#[test]
fn presets_parse_and_genesis_is_deterministic() {
    for p in PRESETS {
        let s = ChainSpec::preset(p).unwrap();
        assert_eq!(
            s.genesis_block().hash(),
            ChainSpec::preset(p).unwrap().genesis_block().hash()
        );
        // A preset's TOML round-trips through the spec type.
        let back = ChainSpec::from_toml(&toml::to_string(&s).unwrap()).unwrap();
        assert_eq!(back, s);
    }
    assert!(matches!(
        ChainSpec::preset("nope"),
        Err(SpecError::UnknownPreset(_))
    ));
}

#[test]
fn bad_specs_get_typed_errors() {
    let good = ChainSpec::preset_toml("dev").unwrap();
    assert!(matches!(
        ChainSpec::from_toml("name = 5"),
        Err(SpecError::Parse(_))
    ));
    let unknown_field = format!("bogus = 1\n{good}");
    assert!(matches!(
        ChainSpec::from_toml(&unknown_field),
        Err(SpecError::Parse(_))
    ));
    let bad_scheme = good.replace("default_scheme = \"ml-dsa-65\"", "default_scheme = \"rsa\"");
    assert!(matches!(
        ChainSpec::from_toml(&bad_scheme),
        Err(SpecError::Parse(_))
    ));
    let not_allowed = good.replace(
        "allowed_schemes = [\"ml-dsa-44\", \"ml-dsa-65\", \"ml-dsa-87\"]",
        "allowed_schemes = [\"ml-dsa-87\"]",
    );
    assert!(matches!(
        ChainSpec::from_toml(&not_allowed),
        Err(SpecError::Invalid(_))
    ));
    let wrong_prefix = good.replace("address_hrp = \"lmxdev\"", "address_hrp = \"lmx\"");
    assert!(matches!(
        ChainSpec::from_toml(&wrong_prefix),
        Err(SpecError::Invalid(_))
    ));
    // The name is a directory under the data directory: nothing that
    // leaves it or hides in it.
    for name in ["../../escape", "", "a/b", "..", "dev net", &"n".repeat(65)] {
        let named = good.replace("name = \"dev\"", &format!("name = {name:?}"));
        assert_ne!(named, good);
        assert!(
            matches!(ChainSpec::from_toml(&named), Err(SpecError::Invalid(_))),
            "{name:?}"
        );
    }
    let fine = good.replace("name = \"dev\"", "name = \"my-dev_2\"");
    assert_eq!(ChainSpec::from_toml(&fine).unwrap().name, "my-dev_2");
}

/// A proof-of-work spec's difficulty fields must be targets, the genesis
/// one no easier than the limit: a limit that is no target would leave the
/// difficulty without a floor, and genesis bits no block can meet (or that
/// every block inherits and the limit refuses) stop the chain at block 0.
#[test]
fn pow_difficulty_fields_are_checked() {
    let good = ChainSpec::preset_toml("qbtc").unwrap();
    let limit_line = "pow_limit_bits = 0x1f00ffff";
    let genesis_line = "\nbits = 0x1f00ffff";
    assert!(good.contains(limit_line) && good.contains(genesis_line));
    for (bits, reason) in [
        (0u32, CompactError::Zero),
        (0xffff_ffff, CompactError::Negative),
        (0x2300_ffff, CompactError::Overflow),
    ] {
        let limit = good.replace(limit_line, &format!("pow_limit_bits = {bits:#x}"));
        let err = ChainSpec::from_toml(&limit).unwrap_err();
        assert_eq!(
            err,
            SpecError::Pow(PowSpecError::PowLimitBits { bits, reason }),
            "{bits:#x}"
        );
        assert!(err.to_string().contains("pow_limit_bits"), "{err}");
        let genesis = good.replace(genesis_line, &format!("\nbits = {bits:#x}"));
        let err = ChainSpec::from_toml(&genesis).unwrap_err();
        assert_eq!(
            err,
            SpecError::Pow(PowSpecError::GenesisBits { bits, reason }),
            "{bits:#x}"
        );
        assert!(err.to_string().contains("genesis bits"), "{err}");
    }
    let easy = good.replace(genesis_line, "\nbits = 0x207fffff");
    let err = ChainSpec::from_toml(&easy).unwrap_err();
    assert_eq!(
        err,
        SpecError::Pow(PowSpecError::GenesisEasierThanLimit {
            bits: 0x207fffff,
            limit: 0x1f00ffff
        })
    );
    assert!(err.to_string().contains("pow_limit_bits"), "{err}");
    // A harder genesis than the limit is fine, and the preset's genesis
    // (its hash pinned by the qbtc tests) still passes.
    let harder = good.replace(genesis_line, "\nbits = 0x1e00ffff");
    assert_eq!(
        ChainSpec::from_toml(&harder).unwrap().genesis.bits,
        0x1e00ffff
    );
    assert!(ChainSpec::from_toml(good).is_ok());
}

#[test]
fn subsidy_halves() {
    let s = ChainSpec::preset("dev").unwrap();
    let first = s.subsidy(1).base();
    assert_eq!(s.subsidy(s.monetary.halving_interval).base(), first / 2);
    assert_eq!(s.subsidy(s.monetary.halving_interval * 64).base(), 0);
}

/// The dev genesis is pinned: changing the preset or the block format
/// changes it, which must be a deliberate decision.
#[test]
fn dev_genesis_hash_is_pinned() {
    let g = ChainSpec::preset("dev").unwrap().genesis_block();
    assert_eq!(
        g.hash().to_string(),
        "02fabde0fcf8678e2d394460f66f1ef6df61a89a84ca62225cd5da46f86da268"
    );
    let q = ChainSpec::preset("qbtc").unwrap().genesis_block();
    assert_eq!(
        q.hash().to_string(),
        "df64b822de35cf4c9f604a68c996624106515946010e4d31311ae3db05c5b06e"
    );
}

/// qbtc: 21,000,000 coins at genesis, owned by its dev key 0 (ML-DSA-87).
#[test]
fn qbtc_supply_is_21_million_coins() {
    let spec = ChainSpec::preset("qbtc").unwrap();
    let total: u64 = spec
        .genesis
        .allocations
        .iter()
        .map(|a| a.amount.base())
        .sum();
    assert_eq!(total, 21_000_000 * luminex_primitives::amount::COIN);
    assert_eq!(spec.subsidy(1).base(), 0);
    let k = spec.dev_key(0).unwrap();
    assert_eq!(k.public_key().scheme, luminex_primitives::SchemeId::MlDsa87);
    assert_eq!(
        spec.genesis.allocations[0].address,
        spec.address(lock_of(&k)).to_string()
    );
}

/// A spec may not take a preset's chain id with another genesis; the
/// presets themselves, an unchanged copy and a spec with its own id pass.
#[test]
fn a_preset_chain_id_with_another_genesis_is_refused() {
    for p in PRESETS {
        ChainSpec::preset(p)
            .unwrap()
            .check_chain_id_is_its_own()
            .unwrap();
    }
    let mut copy = ChainSpec::preset("dev").unwrap();
    copy.name = "my-dev".into();
    copy.check_chain_id_is_its_own().unwrap();
    copy.genesis.time += 1;
    match copy.check_chain_id_is_its_own() {
        Err(SpecError::ChainIdOfPreset {
            chain_id, preset, ..
        }) => {
            assert_eq!(chain_id, 1001);
            assert_eq!(preset, "dev");
        }
        other => panic!("expected ChainIdOfPreset, got {other:?}"),
    }
    copy.chain_id = 424_242;
    copy.check_chain_id_is_its_own().unwrap();
}

/// A BFT spec chooses how proposers are picked; rotation unless it says
/// otherwise, and an unknown rule is a parse error.
#[test]
fn proposer_selection_is_read_from_the_spec() {
    use luminex_ledger::spec::ProposerSelection;
    let poa = ChainSpec::preset_toml("poa").unwrap();
    let bft = |s: &ChainSpec| s.bft.clone().unwrap().proposer_selection;
    assert_eq!(
        bft(&ChainSpec::from_toml(poa).unwrap()),
        ProposerSelection::Rotation
    );
    let drawn = poa.replace(
        "authority_changes = true",
        "authority_changes = true\nproposer_selection = \"stake_and_view\"",
    );
    assert_eq!(
        bft(&ChainSpec::from_toml(&drawn).unwrap()),
        ProposerSelection::StakeAndView
    );
    let unknown = poa.replace(
        "authority_changes = true",
        "authority_changes = true\nproposer_selection = \"lottery\"",
    );
    assert!(matches!(
        ChainSpec::from_toml(&unknown),
        Err(SpecError::Parse(_))
    ));
}
