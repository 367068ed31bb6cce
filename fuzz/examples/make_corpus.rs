//! Writes the seed corpus (`corpus/<target>/seed-*`): valid encodings of
//! everything the targets decode, so fuzzing starts from the formats
//! rather than from nothing. `cargo run --example make_corpus` in `fuzz/`.

use std::path::Path;

use luminex_consensus::bft::message::{Proposal, SignedProposal, SignedVote, Vote, VoteKind};
use luminex_consensus::bft::{BftRules, CompactProposal, ConsensusMessage, Gossip};
use luminex_ledger::staking::StakingParams;
use luminex_ledger::testkit::{dev_keys, lock_of, staking_tx, transfer, TestChain};
use luminex_ledger::{BlockUndo, ChainContext, ChainSpec, ConsensusRecord, HeaderChain, Parent};
use luminex_p2p::compact::CompactBlock;
use luminex_p2p::wire::{to_frame, to_plain_frame, Request};
use luminex_primitives::{
    AccountCreation, Amount, Delegation, DuplicateVoteEvidence, Encode, Hash, Header, Heartbeat,
    NodeRegistration, SchemeId, Stake, TxKind, TxOut, Unbond, Unjail,
};
use luminex_wallet::pst::{InputPolicy, PartialTx};
use luminex_wallet::{multipart, Wallet};

/// The chain of a genesis block alone, as the first BFT block sees it.
struct GenesisOnly(Header);

impl HeaderChain for GenesisOnly {
    fn ancestor(&self, _tip: &Hash, height: u64) -> Option<Header> {
        (height == 0).then_some(self.0)
    }
}

impl ChainContext for GenesisOnly {
    fn consensus_record(&self, _: u64) -> Option<ConsensusRecord> {
        None
    }
}

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    std::fs::create_dir_all(&dir).expect("corpus directory");
    std::fs::write(dir.join(format!("seed-{name}")), bytes).expect("corpus file");
}

fn main() {
    // A dev chain with a transfer in a block.
    let mut chain = TestChain::dev();
    let spec = chain.spec.clone();
    let keys = dev_keys(&spec);
    let coins = chain.coins_of(&lock_of(&keys[0]));
    let pay = TxOut {
        amount: Amount::from_base(1_000).expect("in range"),
        lock: lock_of(&keys[1]),
    };
    let tx = transfer(&spec, &keys[0], &coins[..1], vec![pay]);
    let fees = chain.fees_of(std::slice::from_ref(&tx));
    let block = chain.build_block(vec![tx.clone()], fees);
    chain.connect(block.clone()).expect("a valid block");
    write("transaction", "transfer", &tx.encode());
    write("transaction", "coinbase", &block.txs[0].encode());

    // One of each staking kind (ADR 0031), signed on the dev chain with a
    // `[staking]` table that requires account creation.
    let mut staked = spec.clone();
    staked.staking = Some(StakingParams {
        require_account_creation: true,
        ..StakingParams::new(Amount::from_base(1_000_000).expect("in range"), 10)
    });
    let payer = &keys[2];
    let coin = chain.coins_of(&lock_of(payer))[0];
    let validator = &keys[3];
    let id = validator.public_key().key_hash();
    let amount = Amount::from_base(2_000_000).expect("in range");
    let unbond = Unbond {
        validator: id,
        amount,
        payout: lock_of(validator),
    };
    let kinds = [
        (
            "stake",
            TxKind::Stake(Stake {
                validator: validator.public_key().clone(),
                amount,
            }),
            Some(validator),
        ),
        (
            "delegate",
            TxKind::Delegate(Delegation {
                validator: id,
                amount,
            }),
            Some(payer),
        ),
        ("undelegate", TxKind::Undelegate(unbond), Some(payer)),
        ("unstake", TxKind::Unstake(unbond), Some(validator)),
        (
            "register-node",
            TxKind::RegisterNode(NodeRegistration {
                node: validator.public_key().clone(),
                payout: lock_of(validator),
            }),
            Some(validator),
        ),
        (
            "unjail",
            TxKind::Unjail(Unjail { validator: id }),
            Some(validator),
        ),
        (
            "heartbeat",
            TxKind::Heartbeat(Heartbeat {
                node: validator.public_key().key_hash(),
                epoch: 1,
            }),
            Some(validator),
        ),
        (
            "create-account",
            TxKind::CreateAccount(AccountCreation {
                lock: lock_of(&keys[1]),
            }),
            None,
        ),
    ];
    for (name, kind, actor) in kinds {
        let tx = staking_tx(&staked, payer, &[coin], kind, actor);
        write("transaction", name, &tx.encode());
    }
    write("block", "dev-1", &block.encode());
    write("header", "dev-1", &block.header.encode());
    write(
        "compact_block",
        "dev-1",
        &CompactBlock::new(&block, 7).encode(),
    );
    for name in ["dev", "qbtc", "poa"] {
        let s = ChainSpec::preset(name).expect("a preset");
        let g = s.genesis_block();
        write("block", &format!("{name}-genesis"), &g.encode());
        write("header", &format!("{name}-genesis"), &g.header.encode());
    }
    // Every preset's spec as the node writes it back, the staking presets'
    // `[staking]` and `[bft]` tables included.
    for name in luminex_ledger::spec::PRESETS {
        let s = ChainSpec::preset(name).expect("a preset");
        write(
            "spec_toml",
            name,
            toml::to_string(&s).expect("toml").as_bytes(),
        );
    }

    // A BFT block, a proposal and a vote on the poa chain.
    let poa = ChainSpec::preset("poa").expect("poa");
    let rules = BftRules::for_spec(&poa).expect("a BFT spec");
    let record = poa.bft_genesis().expect("genesis validators");
    let g = poa.genesis_block();
    let parent = Parent {
        hash: g.hash(),
        height: 0,
        header: g.header,
    };
    let proposer = rules.proposer(&record, 0);
    let coinbase = poa.coinbase(1, vec![], &[], &[]).expect("a coinbase");
    let bft_block = rules.build_block(
        &parent,
        &record,
        &GenesisOnly(g.header),
        None,
        proposer,
        1_767_225_601_000,
        vec![coinbase],
    );
    write("block", "poa-1", &bft_block.encode());
    write("header", "poa-1", &bft_block.header.encode());
    let vkey = luminex_crypto::SigningKey::from_seed(
        poa.default_scheme,
        &ChainSpec::dev_validator_seed(0),
    );
    let vote = Vote {
        kind: VoteKind::Precommit,
        height: 1,
        round: 0,
        block: Some(bft_block.hash()),
        validator: vkey.public_key().key_hash(),
    };
    let signature = vkey.sign(&vote.digest(rules.domain()));
    let signed = SignedVote { vote, signature };
    // Evidence (transaction tag 10): the same validator's precommit for
    // nothing at the same height and round.
    let nil = Vote {
        block: None,
        ..signed.vote
    };
    let nil_signature = vkey.sign(&nil.digest(rules.domain()));
    let evidence = luminex_ledger::evidence::evidence_tx(
        poa.chain_id,
        DuplicateVoteEvidence {
            first: signed.clone(),
            second: SignedVote {
                vote: nil,
                signature: nil_signature,
            },
        },
        lock_of(&keys[0]),
    );
    write("transaction", "evidence", &evidence.encode());
    let vote = ConsensusMessage::Vote(signed);
    write("consensus_message", "precommit", &vote.encode());
    let proposal = Proposal {
        height: 1,
        round: 0,
        pol_round: None,
        block: bft_block.clone(),
    };
    let signature = vkey.sign(&proposal.digest(rules.domain()));
    let proposal = ConsensusMessage::Proposal(Box::new(SignedProposal {
        proposal,
        signature,
    }));
    write("consensus_message", "proposal", &proposal.encode());
    if let ConsensusMessage::Proposal(p) = &proposal {
        let compact = Gossip::CompactProposal(Box::new(CompactProposal::new(p)));
        write("consensus_message", "compact-proposal", &compact.encode());
        let want = Gossip::WantTxs {
            time_ms: 1,
            height: 1,
            block: p.proposal.block.hash(),
            indexes: vec![0],
        };
        write("consensus_message", "want-txs", &want.encode());
        let txs = Gossip::ProposalTxs {
            time_ms: 2,
            block: p.proposal.block.hash(),
            indexes: vec![0],
            txs: p.proposal.block.txs[..1].to_vec(),
        };
        write("consensus_message", "proposal-txs", &txs.encode());
    }

    // Sync frames.
    let h = Hash([7; 32]);
    write("wire", "status", &to_frame(&Request::Status));
    write("wire", "blocks", &to_frame(&Request::Blocks(vec![h; 64])));
    write(
        "wire",
        "blocks-plain",
        &to_plain_frame(&Request::Blocks(vec![h; 2])),
    );
    write(
        "wire",
        "headers",
        &to_frame(&Request::Headers {
            locator: vec![h, Hash::ZERO],
            max: 2000,
        }),
    );

    // Stored values: the first byte picks the table (see the target).
    let with = |tag: u8, bytes: Vec<u8>| [vec![tag], bytes].concat();
    write(
        "storage_values",
        "consensus-record",
        &with(5, record.encode()),
    );
    write(
        "storage_values",
        "undo",
        &with(7, BlockUndo::default().encode()),
    );
    if let Some((_, coin)) = chain.coins_of(&lock_of(&keys[1])).first() {
        write("storage_values", "coin", &with(8, coin.encode()));
    }

    // Wallet formats.
    let phrase = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon art";
    let w = Wallet::restore(&spec, SchemeId::MlDsa65, phrase, "corpus").expect("a valid phrase");
    write(
        "wallet_file",
        "mnemonic",
        &serde_json::to_vec(&w.file).expect("json"),
    );
    // An encrypted key file, and a partially signed transfer before and
    // after its signature (a decoder that starts from nothing does not get
    // past the container's magic bytes).
    let key_file = w
        .export_key_file(&spec, 0, "corpus")
        .expect("the restored wallet's first receive key");
    write("key_file", "sealed", key_file.to_json().as_bytes());
    let spent: Vec<TxOut> = coins[..1].iter().map(|(_, c)| c.output).collect();
    let mut pst = PartialTx::new(
        &spec,
        tx.clone(),
        spent,
        vec![InputPolicy::Key(keys[0].public_key().clone())],
    )
    .expect("a transfer of the dev key's coin");
    write("pst", "unsigned", &pst.to_bytes());
    pst.sign(&spec, [&keys[0]]).expect("signed by its key");
    write("pst", "signed", &pst.to_bytes());
    write(
        "qr_frames",
        "transaction",
        multipart::encode(&tx.encode(), 300).join("\n").as_bytes(),
    );
    let addr = spec.address(lock_of(&keys[1]));
    write(
        "payment_request",
        "plain",
        format!("luminex:{addr}").as_bytes(),
    );
    write(
        "payment_request",
        "amount-memo",
        format!("luminex:{addr}?amount=1.5&memo=rent%20march").as_bytes(),
    );
    // The node's config file: every field set.
    write(
        "node_config",
        "full",
        br#"chain = "dev"
data_dir = "/var/lib/luminex"
http_addr = "127.0.0.1:8645"
rpc_addr = "127.0.0.1:8646"
rpc_user = "miner"
rpc_password = "secret"
block_time_ms = 2000
mempool_max_mb = 256
produce = false
mine = true
threads = 2
stratum_addr = "127.0.0.1:3333"
stratum_pool_tag = "/luminex/"
stratum_max_connections = 100
stratum_min_difficulty = 0.001
stratum_initial_difficulty = 1.0
stratum_max_difficulty = 1000000.0
admin_key_hashes = ["6712f9c9ac960f9c86c92a7be5a3ac97dfc1d9d3c25d16cd7955a68088401848"]
cors_origins = ["https://example.org"]
rate_limit_per_second = 20
rate_limit_burst = 40
rate_limit_expensive_per_second = 2
rate_limit_expensive_burst = 4
rate_limit_exempt_loopback = true
listen = ["/ip4/0.0.0.0/tcp/8647"]
bootnodes = ["/ip4/10.0.0.1/tcp/8647"]
external_addrs = ["/dns4/node.example.org/tcp/8647"]
max_peers = 40
max_inbound_per_ip = 4
max_inbound_per_subnet = 8
dbcache_mb = 64
reorg_cache_mb = 32
txindex = true
addressindex = false
p2p = true
ban_secs = 3600
lone = false
admin_allow_remote = false
admin_idle_minutes = 10
wallet_allow_remote = false
wallet_lock_minutes = 3
rpc_max_batch = 100
rpc_max_request_bytes = 1048576

[rest_connections]
max_connections = 512
max_per_client = 32
header_timeout_secs = 10
body_timeout_secs = 30
workers = 8
work_queue = 64

[rpc_connections]
max_connections = 16
"#,
    );
    write("node_config", "empty", b"");
    write(
        "node_config",
        "poa",
        b"chain = \"poa\"\nvalidator_key = \"v.key\"\n",
    );

    // REST requests: the first byte picks the route (see the target).
    let addr0 = spec.address(lock_of(&keys[0])).to_string();
    let txid = tx.txid().to_string();
    let pst = luminex_wallet::pst::PartialTx::new(
        &spec,
        tx.clone(),
        vec![coins[0].1.output],
        vec![luminex_wallet::pst::InputPolicy::Key(
            keys[0].public_key().clone(),
        )],
    )
    .expect("a container");
    let pst_hex = hex::encode(pst.to_bytes());
    let rest: Vec<(&str, u8, Vec<u8>)> = vec![
        ("broadcast-json", 0, format!(r#"{{"tx": "{}"}}"#, hex::encode(tx.encode())).into_bytes()),
        ("broadcast-raw", 1, tx.encode()),
        (
            "create",
            2,
            format!(r#"{{"from": "{addr0}", "to": "{addr}", "amount": "1.5", "fee_rate": 10, "expiry_height": 100, "data": "cafe"}}"#)
                .into_bytes(),
        ),
        ("create-base", 2, format!(r#"{{"from": "{addr0}", "to": "{addr}", "amount": 1e3}}"#).into_bytes()),
        ("pst-inspect", 3, format!(r#"{{"pst": "{pst_hex}"}}"#).into_bytes()),
        ("pst-combine", 4, format!(r#"{{"psts": ["{pst_hex}", "{pst_hex}"]}}"#).into_bytes()),
        ("pst-finalize", 5, format!(r#"{{"pst": "{pst_hex}"}}"#).into_bytes()),
        ("pst-broadcast", 6, format!(r#"{{"pst": "{pst_hex}"}}"#).into_bytes()),
        ("nodes-add", 7, br#"{"address": "/ip4/127.0.0.1/tcp/8647"}"#.to_vec()),
        ("nodes-remove", 8, br#"{"peer_id": "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA"}"#.to_vec()),
        ("blocks", 9, b"limit=5&from=1".to_vec()),
        ("search-height", 10, b"q=1".to_vec()),
        ("search-address", 10, format!("q={addr}").into_bytes()),
        ("estimate-fee", 11, b"blocks=6".to_vec()),
        ("rewards", 12, b"limit=10".to_vec()),
        ("unbonding", 13, b"limit=10".to_vec()),
        ("utxos", 14, b"limit=10".to_vec()),
        (
            "history",
            15,
            format!("limit=5&direction=in&format=csv&cursor=1:{txid}&from_height=0&to_height=9").into_bytes(),
        ),
        ("block-height", 16, b"1".to_vec()),
        ("block-hash", 16, block.hash().to_string().into_bytes()),
        ("transaction", 17, txid.clone().into_bytes()),
        ("balance", 18, addr0.clone().into_bytes()),
        ("validator", 19, keys[3].public_key().key_hash().to_string().into_bytes()),
        ("validator-delegations", 20, keys[3].public_key().key_hash().to_string().into_bytes()),
        ("delegations", 21, addr0.clone().into_bytes()),
        ("account", 22, addr0.clone().into_bytes()),
    ];
    for (name, route, rest) in rest {
        write("rest_bodies", name, &[vec![route], rest].concat());
    }

    // JSON-RPC requests, 1.0 and 2.0, single and batched.
    let rpc = [
        ("getblockhash", r#"{"jsonrpc": "1.0", "id": "t", "method": "getblockhash", "params": [1]}"#.to_string()),
        ("getblock", format!(r#"{{"jsonrpc": "2.0", "id": 1, "method": "getblock", "params": ["{}", 2]}}"#, block.hash())),
        ("getblockheader", format!(r#"{{"id": 2, "method": "getblockheader", "params": ["{}", false]}}"#, block.hash())),
        ("getrawtransaction", format!(r#"{{"id": 3, "method": "getrawtransaction", "params": ["{txid}", true]}}"#)),
        ("sendrawtransaction", format!(r#"{{"id": 4, "method": "sendrawtransaction", "params": ["{}"]}}"#, hex::encode(tx.encode()))),
        ("submitblock", format!(r#"{{"id": 5, "method": "submitblock", "params": ["{}"]}}"#, hex::encode(block.encode()))),
        ("estimatesmartfee", r#"{"id": 6, "method": "estimatesmartfee", "params": [6]}"#.to_string()),
        ("getblocktemplate", r#"{"id": 7, "method": "getblocktemplate", "params": [{"rules": ["segwit"], "mode": "template"}]}"#.to_string()),
        (
            "batch",
            r#"[{"id": 1, "method": "getblockcount"}, {"id": 2, "method": "getrawmempool", "params": [true]}, {"id": 3, "method": "getmempoolinfo"}, {"id": 4, "method": "getblockchaininfo"}, {"id": 5, "method": "gettxoutsetinfo"}, {"id": 6, "method": "getstakinginfo"}, {"id": 7, "method": "getnetworkinfo"}, {"id": 8, "method": "getbestblockhash"}]"#
                .to_string(),
        ),
    ];
    for (name, body) in rpc {
        write("jsonrpc", name, body.as_bytes());
    }
    println!("corpus written");
}
