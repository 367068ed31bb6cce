//! Writes the seed corpus (`corpus/<target>/seed-*`): valid encodings of
//! everything the targets decode, so fuzzing starts from the formats
//! rather than from nothing. `cargo run --example make_corpus` in `fuzz/`.

use std::path::Path;

use luminex_consensus::bft::message::{Proposal, SignedProposal, SignedVote, Vote, VoteKind};
use luminex_consensus::bft::{BftRules, CompactProposal, ConsensusMessage, Gossip};
use luminex_ledger::staking::StakingParams;
use luminex_ledger::testkit::{dev_keys, lock_of, staking_tx, transfer, TestChain};
use luminex_ledger::{BlockUndo, ChainSpec, Parent};
use luminex_p2p::compact::CompactBlock;
use luminex_p2p::wire::{to_frame, to_plain_frame, Request};
use luminex_primitives::{
    AccountCreation, Amount, Delegation, Encode, Hash, NodeRegistration, SchemeId, Stake, TxKind,
    TxOut, Unbond, Unjail,
};
use luminex_wallet::{multipart, Wallet};

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
    let vote = ConsensusMessage::Vote(SignedVote { vote, signature });
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
    println!("corpus written");
}
