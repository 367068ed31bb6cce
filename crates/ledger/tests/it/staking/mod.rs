//! The staking kinds (ADR 0031): every path of stake, delegation,
//! unbonding, node registration, unjail and account creation, good and
//! bad, through the real tiers (check_transaction, connect_block with its
//! signature checks, then the staking state); slashing; undo; the spec's
//! `[staking]` table.
//!
//! The fixture is here; `paths` has the transaction kinds' good and bad
//! paths, `slashing` the cuts and a bad block's undo, `encoding` the
//! state's encodings and the spec's table.

use luminex_crypto::SigningKey;
use luminex_ledger::staking::{
    JailEntry, StakingParams, StakingParamsError, StakingState, StakingUndo,
};
use luminex_ledger::testkit::{lock_of, signature_bytes_mut, staking_tx, transfer, TestChain};
use luminex_ledger::{
    check_transaction, connect_block, BlockError, ChainSpec, Coin, SpecError, StakingError, TxError,
};
use luminex_primitives::{
    AccountCreation, Amount, Block, Decode, Delegation, Encode, Hash, Lock, NodeRegistration,
    OutPoint, SchemeId, Stake, Transaction, TxKind, TxOut, Unbond, Unjail, Witness,
};

pub const MIN: u64 = 1_000_000;
pub const UNBONDING: u64 = 3;
/// The unbonding period of [`Staked::unheld`]: more than two of its
/// 3-block epochs, so that no entry outlasts it (ADR 0069).
pub const UNHELD: u64 = 7;

mod encoding;
mod paths;
mod slashing;

fn amount(n: u64) -> Amount {
    Amount::from_base(n).unwrap()
}

pub fn params(accounts: bool) -> StakingParams {
    StakingParams {
        require_account_creation: accounts,
        ..StakingParams::new(amount(MIN), UNBONDING)
    }
}

/// A dev chain with a `[staking]` table and the staking state beside it,
/// connecting blocks through `connect_block` (signatures and fees) and
/// then the staking state, as a node does.
pub(super) struct Staked {
    pub(super) chain: TestChain,
    pub(super) state: StakingState,
    /// Per connected block: its UTXO changes and its staking undo.
    pub(super) undos: Vec<(luminex_ledger::UtxoChanges, StakingUndo)>,
    /// The chain's signing domain (for votes in evidence).
    pub(super) domain: luminex_primitives::ChainDomain,
}

impl Staked {
    pub(super) fn new(accounts: bool) -> Staked {
        let mut spec = ChainSpec::preset("dev").unwrap();
        spec.staking = Some(params(accounts));
        let state = StakingState::genesis(&spec);
        let domain = luminex_primitives::ChainDomain::new(spec.chain_id, spec.genesis_hash());
        Staked {
            chain: TestChain::new(spec),
            state,
            undos: Vec::new(),
            domain,
        }
    }

    /// The chain's staking parameters, to change.
    pub(super) fn params(&mut self) -> &mut StakingParams {
        self.chain.spec.staking.as_mut().unwrap()
    }

    /// Epochs of 3 blocks and an unbonding period of [`UNHELD`] blocks:
    /// every entry is released at its release height, since its stake has
    /// left every set by then (with the fixture's 100-block epochs an entry
    /// is held until the set its stake backed leaves, ADR 0069).
    pub(super) fn unheld(&mut self) {
        let p = self.params();
        p.epoch_blocks = 3;
        p.unbonding_blocks = UNHELD;
    }

    pub(super) fn spec(&self) -> &ChainSpec {
        &self.chain.spec
    }

    pub(super) fn key(&self, i: usize) -> SigningKey {
        self.chain.keys[i].clone()
    }

    /// The largest coin of dev key `i`.
    pub(super) fn coin(&self, i: usize) -> (OutPoint, Coin) {
        *self
            .chain
            .coins_of(&lock_of(&self.chain.keys[i]))
            .iter()
            .max_by_key(|(_, c)| c.output.amount)
            .expect("a funded key")
    }

    /// A staking transaction paid by dev key `payer`, acted by `actor`.
    pub(super) fn tx(&self, payer: usize, kind: TxKind, actor: Option<&SigningKey>) -> Transaction {
        staking_tx(
            self.spec(),
            &self.chain.keys[payer],
            &[self.coin(payer)],
            kind,
            actor,
        )
    }

    /// Connects a block of `txs`: UTXO tiers first, then the staking state;
    /// on any error nothing changes.
    pub(super) fn mine(&mut self, txs: Vec<Transaction>) -> Result<Block, BlockError> {
        let fees = self.chain.fees_of(&txs);
        let block = self.chain.build_block(txs, fees);
        let ctx = self.chain.context();
        let c = connect_block(
            &block,
            &self.chain.utxos,
            &ctx,
            &self.chain.spec,
            &self.chain.cache,
        )?;
        let undo =
            self.state
                .apply_block(&block, &c.txids, ctx.height, c.fees, &self.chain.spec)?;
        let mut changes = c.changes;
        changes.created.extend(undo.released.iter().copied());
        changes.apply_to(&mut self.chain.utxos);
        self.chain.blocks.push(block.clone());
        self.undos.push((changes, undo));
        Ok(block)
    }

    /// Disconnects the tip: UTXO changes and staking state.
    pub(super) fn unmine(&mut self) {
        let (changes, undo) = self.undos.pop().expect("a block to disconnect");
        for (op, _) in &changes.created {
            self.chain.utxos.remove(op);
        }
        for (op, coin) in &changes.spent {
            self.chain.utxos.insert(*op, *coin);
        }
        self.state.undo(&undo);
        self.chain.blocks.pop();
    }

    /// Mines `txs` expecting the staking error `e` on the first of them.
    pub(super) fn refused(&mut self, txs: Vec<Transaction>) -> StakingError {
        let before = (self.state.clone(), self.chain.utxos.clone());
        match self.mine(txs) {
            Err(BlockError::Tx {
                error: TxError::Staking(e),
                ..
            }) => {
                assert_eq!(
                    (self.state.clone(), self.chain.utxos.clone()),
                    before,
                    "a refused block changes nothing"
                );
                e
            }
            other => panic!("expected a staking error, got {other:?}"),
        }
    }

    pub(super) fn supply(&self) -> u128 {
        self.chain
            .utxos
            .values()
            .map(|c| u128::from(c.output.amount.base()))
            .sum::<u128>()
            + self.state.total_bonded()
            + self.state.total_unbonding()
            + u128::from(self.state.pot().base())
            + u128::from(self.state.burned().base())
    }

    fn empty_blocks(&mut self, n: u64) {
        for _ in 0..n {
            self.mine(vec![]).unwrap();
        }
    }
}

fn stake(key: &SigningKey, n: u64) -> TxKind {
    TxKind::Stake(Stake {
        validator: key.public_key().clone(),
        amount: amount(n),
    })
}

fn delegate(validator: &SigningKey, n: u64) -> TxKind {
    TxKind::Delegate(Delegation {
        validator: validator.public_key().key_hash(),
        amount: amount(n),
    })
}

fn unbond(validator: &SigningKey, n: u64, payout: Lock) -> Unbond {
    Unbond {
        validator: validator.public_key().key_hash(),
        amount: amount(n),
        payout,
    }
}

fn id(key: &SigningKey) -> Hash {
    key.public_key().key_hash()
}

fn validator_key(seed: u8) -> SigningKey {
    SigningKey::from_seed(SchemeId::MlDsa65, &[seed; 32])
}
