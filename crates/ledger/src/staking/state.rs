//! The staking state: bonded stake, delegations, unbonding entries,
//! registered nodes, jails and accounts, in ordered maps so that its
//! encoding, hash and every iteration are the same on every node.

use std::collections::{BTreeMap, BTreeSet};

use luminex_primitives::codec::{put_length, Decode, DecodeError, Encode, Reader, Sink};
use luminex_primitives::hash::Domain;
use luminex_primitives::{Amount, Hash, Lock, OutPoint, PublicKey};

use crate::Coin;

mod codec;

/// Domain of [`StakingState::hash`].
pub const STAKING_STATE: Domain = Domain("luminex/staking-state");

/// Bound on every collection when decoding (far above any real state).
const MAX_ENTRIES: u64 = u32::MAX as u64;

/// A validator's stake.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ValidatorStake {
    /// Its consensus key (its id is the key hash).
    pub public_key: PublicKey,
    /// Its own bonded stake.
    pub self_bond: Amount,
    /// The sum of the delegations to it.
    pub delegated: Amount,
}

impl ValidatorStake {
    /// Voting power from stake: own plus delegated, in base units.
    pub fn power(&self) -> u64 {
        self.self_bond.base().saturating_add(self.delegated.base())
    }
}

/// Where an unbonding entry is kept: its release height, then the outpoint
/// its coins will have (the unbonding transaction's txid and the index one
/// past its last output, ADR 0031). Ordered by release height, so the
/// entries a block may release — those due and those held past their
/// release height (ADR 0069) — are the front of the map.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct UnbondingKey {
    /// The end of the unbonding period: the height of the block that
    /// releases the coins (after its transactions), unless the stake still
    /// backs a validator set then, when a later block does
    /// ([`StakingState::release`], ADR 0069). Never changed: the
    /// unbonding's start, which slashing needs, follows from it.
    pub release_height: u64,
    /// The outpoint of the released coins.
    pub outpoint: OutPoint,
}

/// Stake on its way out: still slashable until released.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct UnbondingEntry {
    /// The validator it was bonded to.
    pub validator: Hash,
    /// Whose stake it is: the validator itself (an `unstake`) or a
    /// delegator (an `undelegate`).
    pub owner: Hash,
    /// The coins, after any slashing.
    pub amount: Amount,
    /// Who can spend them once released.
    pub payout: Lock,
}

/// A registered node (committee draws, fee sharing).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RegisteredNode {
    /// Its key.
    pub public_key: PublicKey,
    /// Where its share of fees is paid.
    pub payout: Lock,
    /// The height of the block that registered it.
    pub height: u64,
}

/// What a validator did in the current epoch (ADR 0068): the voting power
/// it had in each commit it signed, summed. The pot of the epoch is shared
/// by it at the boundary, and the record starts again.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct EpochWork {
    /// Σ, over the epoch's commits it signed, of its power in the set that
    /// signed that commit.
    pub signed_power: u128,
    /// Where its reward is paid: its key's address (kept here, since a
    /// validator that unstaked everything has no stake record left).
    pub lock: Lock,
}

/// A jailed validator: out of the validator set until it unjails.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct JailEntry {
    /// The first height at which an `unjail` is accepted.
    pub until: u64,
    /// Set by slashing: while set, `unjail` is refused whatever the height
    /// (the slashing rules decide when, if ever, it clears).
    pub slashed: bool,
}

/// The staking state after a block. Changes go through
/// [`StakingState::apply_tx`], [`StakingState::release`],
/// [`StakingState::slash`] and [`StakingState::set_jail`], each recording
/// in a [`StakingUndo`] what [`StakingState::undo`] needs to restore the
/// state exactly.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct StakingState {
    pub(super) validators: BTreeMap<Hash, ValidatorStake>,
    /// (validator, delegator) → amount.
    pub(super) delegations: BTreeMap<(Hash, Hash), Amount>,
    pub(super) unbonding: BTreeMap<UnbondingKey, UnbondingEntry>,
    pub(super) nodes: BTreeMap<Hash, RegisteredNode>,
    pub(super) jails: BTreeMap<Hash, JailEntry>,
    pub(super) accounts: BTreeSet<Lock>,
    /// Coins waiting to be paid as rewards at the next epoch boundary
    /// (ADR 0038): fees and subsidy under the pot rules, the units earlier
    /// payouts could not divide, coins credited by slashing.
    pub(super) pot: Amount,
    /// Coins destroyed on purpose (slashed stake a spec burns), so the
    /// supply invariant stays checkable.
    pub(super) burned: Amount,
    /// Registered node → the last epoch it sent a heartbeat in.
    pub(super) heartbeats: BTreeMap<Hash, u64>,
    /// Delegator → the lock its rewards are paid to (its key's address),
    /// recorded by its first delegation.
    pub(super) reward_locks: BTreeMap<Hash, Lock>,
    /// Offences punished, by (height of the votes, validator): the same
    /// evidence is never punished twice (ADR 0039). Entries older than the
    /// unbonding period are dropped: such evidence is refused anyway.
    pub(super) punished: BTreeSet<(u64, Hash)>,
    /// Liveness of the members of the set, by validator.
    pub(super) liveness: BTreeMap<Hash, Liveness>,
    /// What each validator signed in the current epoch (ADR 0068).
    pub(super) work: BTreeMap<Hash, EpochWork>,
    /// Epoch boundaries whose election seated nobody, so that the chain
    /// kept the set it had (BFT chains; ADR 0069): the slashing and
    /// release rules need to know which election seated the set in force
    /// at a height.
    ///
    /// Kept whole, one entry per failed election. The rules alone could
    /// forget every boundary below `seated_at(h − unbonding_blocks)` at
    /// block `h`: they ask only about heights from `h − unbonding_blocks`
    /// on (older evidence is refused), `seated_at` does not decrease with
    /// the height, and its walk down through unseated boundaries stops at
    /// the seated one it returns. But the node's payout lookup
    /// (`StakingState::expected_release` from an old entry's release
    /// height) finds the block that paid a held entry from these
    /// boundaries, however old; pruning would need a recorded floor and a
    /// search past it there, for a few bytes per failed election.
    pub(super) unseated: BTreeSet<u64>,
    /// Stake bonded in the current epoch, by (validator, owner) — the owner
    /// is the validator itself for its own bond, else the delegator (ADR
    /// 0071). It earns no share of the epoch's rewards: only stake bonded
    /// for the whole epoch does. At most the bond it is part of; withdrawn
    /// first (an `unstake`/`undelegate` takes the newest stake); cleared at
    /// each epoch boundary.
    pub(super) fresh: BTreeMap<(Hash, Hash), Amount>,
}

/// A validator's record of signed commits while it is in the set: the
/// first commit height observed, and the heights in the liveness window
/// whose commit it did not sign (ascending). A validator that signs every
/// commit never changes its record.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Liveness {
    /// The height of the first commit observed since it (re)joined the set
    /// or was last punished.
    pub since: u64,
    /// Heights of commits it missed, ascending; only those within the
    /// window are kept once the list changes.
    pub missed: Vec<u64>,
}

impl Liveness {
    /// Commits observed up to and including the commit of `height`.
    pub fn observed(&self, height: u64) -> u64 {
        (height + 1).saturating_sub(self.since)
    }

    /// Commits missed among the `window` commits ending with the commit of
    /// `height`.
    pub fn missed_in(&self, height: u64, window: u64) -> u64 {
        let first = (height + 1).saturating_sub(window);
        self.missed
            .iter()
            .filter(|h| **h >= first && **h <= height)
            .count() as u64
    }
}

/// One recorded change: the key and the value it had before.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum StakingChange {
    /// A validator's record.
    Validator(Hash, Option<ValidatorStake>),
    /// A delegation (validator, delegator).
    Delegation(Hash, Hash, Option<Amount>),
    /// An unbonding entry.
    Unbonding(UnbondingKey, Option<UnbondingEntry>),
    /// A node registration.
    Node(Hash, Option<RegisteredNode>),
    /// A jail entry.
    Jail(Hash, Option<JailEntry>),
    /// An account: whether it existed.
    Account(Lock, bool),
    /// The reward pot.
    Pot(Amount),
    /// The burned total.
    Burned(Amount),
    /// A node's last heartbeat epoch.
    Heartbeat(Hash, Option<u64>),
    /// A delegator's reward lock.
    RewardLock(Hash, Option<Lock>),
    /// A punished offence (height, validator): whether it was recorded.
    Punished(u64, Hash, bool),
    /// A validator's liveness record.
    Liveness(Hash, Option<Liveness>),
    /// A validator's work in the epoch.
    Work(Hash, Option<EpochWork>),
    /// A boundary whose election seated nobody: whether it was recorded.
    Unseated(u64, bool),
    /// Stake bonded this epoch (validator, owner).
    Fresh(Hash, Hash, Option<Amount>),
}

/// What undoes the staking changes of a block (or of any sequence of
/// changes): the prior values, in the order they were changed, and the
/// coins released to the UTXO set.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct StakingUndo {
    /// Prior values, oldest change first; undone newest first.
    pub changes: Vec<StakingChange>,
    /// Coins the changes released (matured unbonding entries): the UTXO
    /// set gains them with the block and loses them when it disconnects.
    pub released: Vec<(OutPoint, Coin)>,
}

impl StakingUndo {
    /// Whether nothing was changed.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.released.is_empty()
    }
}

/// Queries, for consensus (the next validator set), the API and tests.
impl StakingState {
    /// An empty state whose accounts are `accounts` (the genesis
    /// allocations' locks on a chain that requires account creation).
    pub fn with_accounts(accounts: impl IntoIterator<Item = Lock>) -> StakingState {
        StakingState {
            accounts: accounts.into_iter().collect(),
            ..StakingState::default()
        }
    }

    /// The state at genesis of `spec`: each genesis validator of a staking
    /// chain bonded with its power as self-bond in base units (ADR 0034:
    /// otherwise the first staker to appear would be elected alone); on a
    /// chain that requires account creation, the allocations' addresses
    /// and the genesis validators' key addresses (where their rewards are
    /// paid) are the accounts.
    pub fn genesis(spec: &crate::ChainSpec) -> StakingState {
        let mut state = if spec.requires_account_creation() {
            StakingState::with_accounts(spec.genesis_block().txs.iter().flat_map(|tx| {
                tx.outputs
                    .iter()
                    .map(|o| o.lock)
                    .collect::<Vec<_>>()
                    .into_iter()
            }))
        } else {
            StakingState::default()
        };
        if spec.staking.is_some() {
            // A checked spec's genesis powers are valid amounts.
            for v in spec
                .genesis_validators()
                .iter()
                .flat_map(|s| s.validators())
            {
                if let Some(self_bond) = Amount::from_base(v.power) {
                    // A validator bonded at genesis holds an account where
                    // accounts must be created: its rewards are paid to its
                    // key's address, which nothing else would create.
                    if spec.requires_account_creation() {
                        state.accounts.insert(v.public_key.lock());
                    }
                    state.validators.insert(
                        v.id(),
                        ValidatorStake {
                            public_key: v.public_key.clone(),
                            self_bond,
                            delegated: Amount::ZERO,
                        },
                    );
                }
            }
        }
        state
    }

    /// The coins bonded at genesis (the genesis validators' self-bonds):
    /// minted with the genesis block, part of its supply.
    pub fn genesis_bonded(spec: &crate::ChainSpec) -> u128 {
        StakingState::genesis(spec).total_bonded()
    }

    /// The validator with id `id`.
    pub fn validator(&self, id: &Hash) -> Option<&ValidatorStake> {
        self.validators.get(id)
    }

    /// Every validator with stake (own or delegated), by id.
    pub fn validators(&self) -> impl Iterator<Item = (&Hash, &ValidatorStake)> {
        self.validators.iter()
    }

    /// Bonded power of validator `id` (own plus delegated stake, in base
    /// units); 0 if it has none.
    pub fn bonded_power(&self, id: &Hash) -> u64 {
        self.validators.get(id).map_or(0, ValidatorStake::power)
    }

    /// The delegations to validator `id`: delegator and amount, by
    /// delegator.
    pub fn delegations_of(&self, id: &Hash) -> impl Iterator<Item = (&Hash, &Amount)> {
        self.delegations
            .range((*id, Hash::ZERO)..=(*id, Hash([0xff; 32])))
            .map(|((_, d), a)| (d, a))
    }

    /// What `delegator` has delegated to `validator`.
    pub fn delegation(&self, validator: &Hash, delegator: &Hash) -> Option<Amount> {
        self.delegations.get(&(*validator, *delegator)).copied()
    }

    /// Every delegation: (validator, delegator) and amount.
    pub fn delegations(&self) -> impl Iterator<Item = (&(Hash, Hash), &Amount)> {
        self.delegations.iter()
    }

    /// Every unbonding entry, by release height.
    pub fn unbonding(&self) -> impl Iterator<Item = (&UnbondingKey, &UnbondingEntry)> {
        self.unbonding.iter()
    }

    /// The unbonding entries of stake bonded to validator `id`.
    pub fn unbonding_of(
        &self,
        id: &Hash,
    ) -> impl Iterator<Item = (&UnbondingKey, &UnbondingEntry)> {
        let id = *id;
        self.unbonding
            .iter()
            .filter(move |(_, e)| e.validator == id)
    }

    /// Every registered node, by id.
    pub fn nodes(&self) -> impl Iterator<Item = (&Hash, &RegisteredNode)> {
        self.nodes.iter()
    }

    /// The registered node with id `id`.
    pub fn node(&self, id: &Hash) -> Option<&RegisteredNode> {
        self.nodes.get(id)
    }

    /// The jail entry of validator `id`, if jailed.
    pub fn jail(&self, id: &Hash) -> Option<&JailEntry> {
        self.jails.get(id)
    }

    /// Every jailed validator, by id.
    pub fn jails(&self) -> impl Iterator<Item = (&Hash, &JailEntry)> {
        self.jails.iter()
    }

    /// Whether `lock` is a created account.
    pub fn is_account(&self, lock: &Lock) -> bool {
        self.accounts.contains(lock)
    }

    /// Number of created accounts.
    pub fn account_count(&self) -> usize {
        self.accounts.len()
    }

    /// Whether the offence of `validator` at `height` was punished (and
    /// is not yet older than the unbonding period).
    pub fn is_punished(&self, validator: &Hash, height: u64) -> bool {
        self.punished.contains(&(height, *validator))
    }

    /// Punished offences still remembered: (height of the votes,
    /// validator), oldest first.
    pub fn punished(&self) -> impl Iterator<Item = &(u64, Hash)> {
        self.punished.iter()
    }

    /// The liveness record of validator `id`, while it is in the set.
    pub fn liveness(&self, id: &Hash) -> Option<&Liveness> {
        self.liveness.get(id)
    }

    /// What validator `id` has signed in the current epoch (ADR 0068), if
    /// anything.
    pub fn epoch_work(&self, id: &Hash) -> Option<&EpochWork> {
        self.work.get(id)
    }

    /// The epoch boundaries whose election seated nobody (ADR 0069).
    pub fn unseated(&self) -> impl Iterator<Item = &u64> {
        self.unseated.iter()
    }

    /// Every validator's work in the current epoch, by id.
    pub fn work(&self) -> impl Iterator<Item = (&Hash, &EpochWork)> {
        self.work.iter()
    }

    /// Stake `owner` bonded to `validator` in the current epoch (the
    /// validator's own bond when `owner` is `validator`; ADR 0071): it
    /// earns no share of this epoch's rewards.
    pub fn fresh(&self, validator: &Hash, owner: &Hash) -> Amount {
        self.fresh
            .get(&(*validator, *owner))
            .copied()
            .unwrap_or(Amount::ZERO)
    }

    /// Every entry of stake bonded in the current epoch: (validator,
    /// owner) and amount.
    pub fn fresh_stake(&self) -> impl Iterator<Item = (&(Hash, Hash), &Amount)> {
        self.fresh.iter()
    }

    /// The part of `bond` (what `owner` has bonded to `validator`) that
    /// was bonded for the whole current epoch: what earns its rewards.
    pub fn seasoned(&self, validator: &Hash, owner: &Hash, bond: Amount) -> u64 {
        bond.base()
            .saturating_sub(self.fresh(validator, owner).base())
    }

    /// All bonded stake (own and delegated), in base units.
    pub fn total_bonded(&self) -> u128 {
        self.validators
            .values()
            .map(|v| u128::from(v.power()))
            .sum()
    }

    /// All stake unbonding, in base units.
    pub fn total_unbonding(&self) -> u128 {
        self.unbonding
            .values()
            .map(|e| u128::from(e.amount.base()))
            .sum()
    }

    /// Coins waiting in the reward pot for the next epoch boundary.
    pub fn pot(&self) -> Amount {
        self.pot
    }

    /// Coins burned so far (slashed stake a spec destroys).
    pub fn burned(&self) -> Amount {
        self.burned
    }

    /// The last epoch node `id` sent a heartbeat in.
    pub fn last_heartbeat(&self, id: &Hash) -> Option<u64> {
        self.heartbeats.get(id).copied()
    }

    /// The registered nodes live in `epoch` (a heartbeat in it), by id.
    pub fn live_nodes(&self, epoch: u64) -> impl Iterator<Item = (&Hash, &RegisteredNode)> {
        self.nodes
            .iter()
            .filter(move |(id, _)| self.heartbeats.get(*id) == Some(&epoch))
    }

    /// The lock delegator `id`'s rewards are paid to.
    pub fn reward_lock(&self, id: &Hash) -> Option<&Lock> {
        self.reward_locks.get(id)
    }

    /// Every coin the state holds outside the UTXO set, in base units:
    /// bonded, unbonding and the reward pot. On every chain, the UTXO
    /// total plus this plus [`StakingState::burned`] is the genesis supply
    /// plus every subsidy (`super::check_supply`).
    pub fn held(&self) -> u128 {
        self.total_bonded() + self.total_unbonding() + u128::from(self.pot.base())
    }

    /// The commitment to the whole state (the BFT header's `state_root`
    /// includes it): the tagged hash of [`Encode`]'s canonical encoding.
    pub fn hash(&self) -> Hash {
        let mut h = STAKING_STATE.hasher();
        self.encode_to(&mut h);
        h.finish()
    }
}

/// Recording setters: every change of the state goes through one of these.
impl StakingState {
    pub(super) fn set_validator(
        &mut self,
        id: Hash,
        v: Option<ValidatorStake>,
        undo: &mut StakingUndo,
    ) {
        let prior = match v {
            Some(v) => self.validators.insert(id, v),
            None => self.validators.remove(&id),
        };
        undo.changes.push(StakingChange::Validator(id, prior));
    }

    pub(super) fn set_delegation(
        &mut self,
        validator: Hash,
        delegator: Hash,
        amount: Amount,
        undo: &mut StakingUndo,
    ) {
        let key = (validator, delegator);
        let prior = if amount == Amount::ZERO {
            self.delegations.remove(&key)
        } else {
            self.delegations.insert(key, amount)
        };
        undo.changes
            .push(StakingChange::Delegation(validator, delegator, prior));
    }

    pub(super) fn set_unbonding(
        &mut self,
        key: UnbondingKey,
        e: Option<UnbondingEntry>,
        undo: &mut StakingUndo,
    ) {
        let prior = match e {
            Some(e) => self.unbonding.insert(key, e),
            None => self.unbonding.remove(&key),
        };
        undo.changes.push(StakingChange::Unbonding(key, prior));
    }

    pub(super) fn set_node(&mut self, id: Hash, n: RegisteredNode, undo: &mut StakingUndo) {
        let prior = self.nodes.insert(id, n);
        undo.changes.push(StakingChange::Node(id, prior));
    }

    /// Ends node `id`'s registration (its own stake is all unbonding),
    /// recording the change in `undo`.
    pub(super) fn remove_node(&mut self, id: &Hash, undo: &mut StakingUndo) {
        if let Some(prior) = self.nodes.remove(id) {
            undo.changes.push(StakingChange::Node(*id, Some(prior)));
        }
    }

    /// Jails validator `id` (`Some`) or frees it (`None`), recording the
    /// change in `undo`. For the slashing and downtime rules; a jailed
    /// validator leaves jail by an `unjail` transaction.
    pub fn set_jail(&mut self, id: Hash, jail: Option<JailEntry>, undo: &mut StakingUndo) {
        let prior = match jail {
            Some(j) => self.jails.insert(id, j),
            None => self.jails.remove(&id),
        };
        undo.changes.push(StakingChange::Jail(id, prior));
    }

    pub(super) fn set_pot(&mut self, pot: Amount, undo: &mut StakingUndo) {
        let prior = std::mem::replace(&mut self.pot, pot);
        undo.changes.push(StakingChange::Pot(prior));
    }

    pub(super) fn set_burned(&mut self, burned: Amount, undo: &mut StakingUndo) {
        let prior = std::mem::replace(&mut self.burned, burned);
        undo.changes.push(StakingChange::Burned(prior));
    }

    pub(super) fn set_heartbeat(&mut self, id: Hash, epoch: u64, undo: &mut StakingUndo) {
        let prior = self.heartbeats.insert(id, epoch);
        undo.changes.push(StakingChange::Heartbeat(id, prior));
    }

    pub(super) fn set_reward_lock(&mut self, id: Hash, lock: Lock, undo: &mut StakingUndo) {
        let prior = self.reward_locks.insert(id, lock);
        undo.changes.push(StakingChange::RewardLock(id, prior));
    }

    pub(super) fn add_account(&mut self, lock: Lock, undo: &mut StakingUndo) {
        let existed = !self.accounts.insert(lock);
        undo.changes.push(StakingChange::Account(lock, existed));
    }

    pub(super) fn set_punished(
        &mut self,
        height: u64,
        validator: Hash,
        on: bool,
        undo: &mut StakingUndo,
    ) {
        let key = (height, validator);
        let existed = if on {
            !self.punished.insert(key)
        } else {
            self.punished.remove(&key)
        };
        undo.changes
            .push(StakingChange::Punished(height, validator, existed));
    }

    pub(super) fn set_liveness(&mut self, id: Hash, l: Option<Liveness>, undo: &mut StakingUndo) {
        let prior = match l {
            Some(l) => self.liveness.insert(id, l),
            None => self.liveness.remove(&id),
        };
        undo.changes.push(StakingChange::Liveness(id, prior));
    }

    pub(super) fn set_unseated(&mut self, height: u64, undo: &mut StakingUndo) {
        let existed = !self.unseated.insert(height);
        undo.changes.push(StakingChange::Unseated(height, existed));
    }

    pub(super) fn set_work(&mut self, id: Hash, w: Option<EpochWork>, undo: &mut StakingUndo) {
        let prior = match w {
            Some(w) => self.work.insert(id, w),
            None => self.work.remove(&id),
        };
        undo.changes.push(StakingChange::Work(id, prior));
    }

    pub(super) fn set_fresh(
        &mut self,
        validator: Hash,
        owner: Hash,
        amount: Amount,
        undo: &mut StakingUndo,
    ) {
        let key = (validator, owner);
        let prior = if amount == Amount::ZERO {
            self.fresh.remove(&key)
        } else {
            self.fresh.insert(key, amount)
        };
        if prior.unwrap_or(Amount::ZERO) != amount {
            undo.changes
                .push(StakingChange::Fresh(validator, owner, prior));
        }
    }

    /// Reverses `undo`: restores every recorded prior value, newest first.
    /// Applied to the state its changes left, gives back the state before
    /// them exactly (the released coins are the caller's to remove from
    /// the UTXO set).
    pub fn undo(&mut self, undo: &StakingUndo) {
        for c in undo.changes.iter().rev() {
            match c.clone() {
                StakingChange::Validator(id, prior) => restore(&mut self.validators, id, prior),
                StakingChange::Delegation(v, d, prior) => {
                    restore(&mut self.delegations, (v, d), prior)
                }
                StakingChange::Unbonding(k, prior) => restore(&mut self.unbonding, k, prior),
                StakingChange::Node(id, prior) => restore(&mut self.nodes, id, prior),
                StakingChange::Jail(id, prior) => restore(&mut self.jails, id, prior),
                StakingChange::Account(lock, existed) => {
                    if existed {
                        self.accounts.insert(lock);
                    } else {
                        self.accounts.remove(&lock);
                    }
                }
                StakingChange::Pot(prior) => self.pot = prior,
                StakingChange::Burned(prior) => self.burned = prior,
                StakingChange::Heartbeat(id, prior) => restore(&mut self.heartbeats, id, prior),
                StakingChange::RewardLock(id, prior) => restore(&mut self.reward_locks, id, prior),
                StakingChange::Punished(height, id, existed) => {
                    if existed {
                        self.punished.insert((height, id));
                    } else {
                        self.punished.remove(&(height, id));
                    }
                }
                StakingChange::Liveness(id, prior) => restore(&mut self.liveness, id, prior),
                StakingChange::Work(id, prior) => restore(&mut self.work, id, prior),
                StakingChange::Unseated(height, existed) => {
                    if !existed {
                        self.unseated.remove(&height);
                    }
                }
                StakingChange::Fresh(v, o, prior) => restore(&mut self.fresh, (v, o), prior),
            }
        }
    }
}

fn restore<K: Ord, V>(map: &mut BTreeMap<K, V>, key: K, prior: Option<V>) {
    match prior {
        Some(v) => {
            map.insert(key, v);
        }
        None => {
            map.remove(&key);
        }
    }
}
