//! The rules of the staking kinds: tier 1 ([`check_shape`]) and the
//! contextual checks and effects against the state ([`StakingState::apply_tx`],
//! [`StakingState::apply_block`]), the release of matured unbonding entries
//! and slashing.

use luminex_primitives::{
    Amount, Block, Hash, Lock, PublicKey, Transaction, TxKind, Unbond, Witness,
};

use super::state::{
    JailEntry, RegisteredNode, StakingState, StakingUndo, UnbondingEntry, UnbondingKey,
    ValidatorStake,
};
use super::unbonding::{release_outpoint, unbonding_start, Seats};
use super::{StakingError, StakingParams};
use crate::evidence::EvidenceError;
use crate::{BlockError, ChainSpec, TxError};

fn key_ok(key: &PublicKey, spec: &ChainSpec) -> bool {
    spec.allows(key.scheme) && key.bytes.len() == key.scheme.public_key_len()
}

fn payout_ok(lock: &Lock, spec: &ChainSpec) -> Result<(), StakingError> {
    match lock {
        Lock::Key { scheme, .. } if !spec.allows(*scheme) => Err(StakingError::BadPayout),
        _ => Ok(()),
    }
}

fn positive(amount: Amount) -> Result<(), StakingError> {
    if amount == Amount::ZERO {
        Err(StakingError::ZeroAmount)
    } else {
        Ok(())
    }
}

/// Tier 1 of a staking kind: what needs only the transaction and the spec.
/// The inputs, outputs and witness count are checked with every other
/// transaction's (`check_transaction`): one witness per input, plus the
/// acting key's for all kinds but `create-account`.
pub fn check_shape(tx: &Transaction, spec: &ChainSpec) -> Result<(), StakingError> {
    if spec.staking.is_none() {
        return Err(StakingError::Disabled);
    }
    match &tx.kind {
        TxKind::Stake(s) => {
            positive(s.amount)?;
            if !key_ok(&s.validator, spec) {
                return Err(StakingError::BadKey);
            }
        }
        TxKind::Delegate(d) => positive(d.amount)?,
        TxKind::Undelegate(u) | TxKind::Unstake(u) => {
            positive(u.amount)?;
            payout_ok(&u.payout, spec)?;
        }
        TxKind::RegisterNode(n) => {
            if !key_ok(&n.node, spec) {
                return Err(StakingError::BadKey);
            }
            payout_ok(&n.payout, spec)?;
        }
        TxKind::Unjail(_) | TxKind::Heartbeat(_) => {}
        TxKind::CreateAccount(c) => {
            if !spec.requires_account_creation() {
                return Err(StakingError::AccountsDisabled);
            }
            payout_ok(&c.lock, spec)?;
        }
        TxKind::Transfer | TxKind::Coinbase { .. } | TxKind::Authority(_) | TxKind::Evidence(_) => {
            return Ok(())
        }
    }
    if tx.kind.takes_actor_witness() {
        actor(tx)?;
    }
    Ok(())
}

/// Tier 1 of an `evidence` transaction (ADR 0039): a staking chain, no
/// inputs, outputs or witnesses, evidence of a conflict in canonical order
/// above genesis, a reporter lock of an allowed scheme. The votes'
/// signatures are checked against the set of their height by the
/// consensus rules (`evidence::check_block_evidence`).
pub fn check_evidence_tx(tx: &Transaction, spec: &ChainSpec) -> Result<(), TxError> {
    let TxKind::Evidence(report) = &tx.kind else {
        return Ok(());
    };
    if spec.staking.is_none() {
        return Err(StakingError::Disabled.into());
    }
    if !tx.inputs.is_empty() || !tx.outputs.is_empty() || !tx.witnesses.is_empty() {
        return Err(EvidenceError::NotBare.into());
    }
    crate::evidence::check_shape(&report.evidence)?;
    payout_ok(&report.reporter, spec)?;
    Ok(())
}

/// The acting key: the last witness of a kind that takes one.
fn actor(tx: &Transaction) -> Result<&PublicKey, StakingError> {
    match tx.witnesses.last() {
        Some(Witness::Key { public_key, .. }) if tx.witnesses.len() > tx.inputs.len() => {
            Ok(public_key)
        }
        _ => Err(StakingError::NoActorWitness),
    }
}

fn add(a: Amount, b: Amount) -> Result<Amount, StakingError> {
    a.checked_add(b).map_err(|_| StakingError::Overflow)
}

fn sub(a: Amount, b: Amount) -> Result<Amount, StakingError> {
    a.checked_sub(b).map_err(|_| StakingError::Overflow)
}

impl StakingState {
    /// Tiers 2 and 3 of one transaction of a block at `height` whose txid
    /// is `txid`: checks it against the state and, if valid, applies it,
    /// recording the prior values in `undo`. On error the state is as
    /// before the call.
    ///
    /// Every transaction goes through here (coinbase and transfers too):
    /// on a chain that requires account creation, each output must pay a
    /// created account. Signatures — the acting key's included, which
    /// signs the same message as the inputs' — are verified with the
    /// inputs' (`verify_signatures`); this checks who the key is.
    pub fn apply_tx(
        &mut self,
        tx: &Transaction,
        txid: &Hash,
        height: u64,
        spec: &ChainSpec,
        undo: &mut StakingUndo,
    ) -> Result<(), StakingError> {
        let mark = undo.changes.len();
        let r = self.apply_unchecked(tx, txid, height, spec, undo);
        if r.is_err() {
            let partial = StakingUndo {
                changes: undo.changes.split_off(mark),
                released: Vec::new(),
            };
            self.undo(&partial);
        }
        r
    }

    fn apply_unchecked(
        &mut self,
        tx: &Transaction,
        txid: &Hash,
        height: u64,
        spec: &ChainSpec,
        undo: &mut StakingUndo,
    ) -> Result<(), StakingError> {
        if tx.kind.is_staking() || tx.kind.evidence().is_some() {
            let params = spec.staking.as_ref().ok_or(StakingError::Disabled)?;
            self.apply_kind(tx, txid, height, spec, params, undo)?;
        }
        if spec.requires_account_creation() {
            for (i, o) in tx.outputs.iter().enumerate() {
                if !self.is_account(&o.lock) {
                    return Err(StakingError::UncreatedAccount {
                        output: i as u32,
                        lock: o.lock,
                        address: spec.address(o.lock).to_string(),
                    });
                }
            }
        }
        Ok(())
    }

    fn apply_kind(
        &mut self,
        tx: &Transaction,
        txid: &Hash,
        height: u64,
        spec: &ChainSpec,
        params: &StakingParams,
        undo: &mut StakingUndo,
    ) -> Result<(), StakingError> {
        let min = params.min_stake;
        match &tx.kind {
            TxKind::Stake(s) => {
                let signer = actor(tx)?;
                let id = s.validator.key_hash();
                if *signer != s.validator {
                    return Err(StakingError::NotOwner {
                        owner: id,
                        signer: signer.key_hash(),
                    });
                }
                let mut v = self.validators.get(&id).cloned().unwrap_or(ValidatorStake {
                    public_key: s.validator.clone(),
                    self_bond: Amount::ZERO,
                    delegated: Amount::ZERO,
                });
                v.self_bond = add(v.self_bond, s.amount)?;
                if v.self_bond < min {
                    return Err(StakingError::BelowMinimum {
                        bond: v.self_bond,
                        min,
                    });
                }
                self.set_validator(id, Some(v), undo);
                self.add_fresh(id, id, s.amount, undo)?;
            }
            TxKind::Delegate(d) => {
                let delegator = actor(tx)?.key_hash();
                if delegator == d.validator {
                    return Err(StakingError::SelfDelegation(delegator));
                }
                let mut v = self
                    .validators
                    .get(&d.validator)
                    .filter(|v| v.self_bond > Amount::ZERO)
                    .cloned()
                    .ok_or(StakingError::UnknownValidator(d.validator))?;
                v.delegated = add(v.delegated, d.amount)?;
                let had = self
                    .delegation(&d.validator, &delegator)
                    .unwrap_or(Amount::ZERO);
                let now = add(had, d.amount)?;
                self.set_validator(d.validator, Some(v), undo);
                self.set_delegation(d.validator, delegator, now, undo);
                self.add_fresh(d.validator, delegator, d.amount, undo)?;
                if !self.reward_locks.contains_key(&delegator) {
                    let lock = actor(tx)?.lock();
                    self.set_reward_lock(delegator, lock, undo);
                }
            }
            TxKind::Undelegate(u) => {
                let delegator = actor(tx)?.key_hash();
                let had = self.delegation(&u.validator, &delegator).ok_or(
                    StakingError::NoDelegation {
                        validator: u.validator,
                        delegator,
                    },
                )?;
                if u.amount > had {
                    return Err(StakingError::ExceedsBond {
                        requested: u.amount,
                        bonded: had,
                    });
                }
                let mut v = self
                    .validators
                    .get(&u.validator)
                    .cloned()
                    .ok_or(StakingError::UnknownValidator(u.validator))?;
                v.delegated = sub(v.delegated, u.amount)?;
                self.check_payout(&u.payout, spec)?;
                self.put_validator(u.validator, v, undo);
                self.set_delegation(u.validator, delegator, sub(had, u.amount)?, undo);
                self.withdraw_fresh(u.validator, delegator, u.amount, undo);
                self.start_unbonding(tx, txid, u, delegator, height, params, undo)?;
            }
            TxKind::Unstake(u) => {
                let signer = actor(tx)?.key_hash();
                if signer != u.validator {
                    return Err(StakingError::NotOwner {
                        owner: u.validator,
                        signer,
                    });
                }
                let mut v = self
                    .validators
                    .get(&u.validator)
                    .filter(|v| v.self_bond > Amount::ZERO)
                    .cloned()
                    .ok_or(StakingError::NotStaked(u.validator))?;
                if u.amount > v.self_bond {
                    return Err(StakingError::ExceedsBond {
                        requested: u.amount,
                        bonded: v.self_bond,
                    });
                }
                v.self_bond = sub(v.self_bond, u.amount)?;
                if v.self_bond != Amount::ZERO && v.self_bond < min {
                    return Err(StakingError::BelowMinimum {
                        bond: v.self_bond,
                        min,
                    });
                }
                self.check_payout(&u.payout, spec)?;
                // A node whose own stake is all unbonding is registered no
                // more (ADR 0063); registering again puts it behind the
                // next draw's seed.
                if v.self_bond == Amount::ZERO {
                    self.remove_node(&u.validator, undo);
                }
                self.put_validator(u.validator, v, undo);
                self.withdraw_fresh(u.validator, signer, u.amount, undo);
                self.start_unbonding(tx, txid, u, signer, height, params, undo)?;
            }
            TxKind::RegisterNode(n) => {
                let signer = actor(tx)?;
                let id = n.node.key_hash();
                if *signer != n.node {
                    return Err(StakingError::NotOwner {
                        owner: id,
                        signer: signer.key_hash(),
                    });
                }
                if self.nodes.contains_key(&id) {
                    return Err(StakingError::AlreadyRegistered(id));
                }
                // Stake at risk behind every registration (ADR 0063): the
                // committee draw, its slashing and its fee shares assume it.
                let bonded = self
                    .validators
                    .get(&id)
                    .map_or(Amount::ZERO, |v| v.self_bond);
                if bonded < params.min_stake {
                    return Err(StakingError::NodeNotStaked {
                        node: id,
                        bonded,
                        min: params.min_stake,
                    });
                }
                self.check_payout(&n.payout, spec)?;
                self.set_node(
                    id,
                    RegisteredNode {
                        public_key: n.node.clone(),
                        payout: n.payout,
                        height,
                    },
                    undo,
                );
            }
            TxKind::Unjail(u) => {
                let signer = actor(tx)?.key_hash();
                if signer != u.validator {
                    return Err(StakingError::NotOwner {
                        owner: u.validator,
                        signer,
                    });
                }
                // A key with nothing bonded was never a validator: say
                // so, rather than that it is not jailed.
                let jail = match self.jails.get(&u.validator) {
                    Some(j) => *j,
                    None if !self.validators.contains_key(&u.validator) => {
                        return Err(StakingError::UnknownValidator(u.validator))
                    }
                    None => return Err(StakingError::NotJailed(u.validator)),
                };
                if jail.slashed {
                    return Err(StakingError::StillSlashed(u.validator));
                }
                if height < jail.until {
                    return Err(StakingError::StillJailed {
                        until: jail.until,
                        height,
                    });
                }
                let bond = self
                    .validators
                    .get(&u.validator)
                    .map_or(Amount::ZERO, |v| v.self_bond);
                if bond < min {
                    return Err(StakingError::BelowMinimum { bond, min });
                }
                self.set_jail(u.validator, None, undo);
            }
            TxKind::CreateAccount(c) => {
                if !spec.requires_account_creation() {
                    return Err(StakingError::AccountsDisabled);
                }
                if self.is_account(&c.lock) {
                    return Err(StakingError::AccountExists {
                        address: spec.address(c.lock).to_string(),
                    });
                }
                self.add_account(c.lock, undo);
            }
            TxKind::Heartbeat(h) => {
                let signer = actor(tx)?.key_hash();
                if signer != h.node {
                    return Err(StakingError::NotOwner {
                        owner: h.node,
                        signer,
                    });
                }
                if !self.nodes.contains_key(&h.node) {
                    return Err(StakingError::UnknownNode(h.node));
                }
                let current = super::epoch_of(height, params.epoch_blocks);
                if h.epoch != current {
                    return Err(StakingError::HeartbeatEpoch {
                        epoch: h.epoch,
                        current,
                    });
                }
                if self.heartbeats.get(&h.node) == Some(&current) {
                    return Err(StakingError::AlreadyLive {
                        node: h.node,
                        epoch: current,
                    });
                }
                self.set_heartbeat(h.node, current, undo);
            }
            TxKind::Evidence(report) => {
                self.punish_double_sign(tx, txid, report, height, spec, params, undo)?
            }
            TxKind::Transfer | TxKind::Coinbase { .. } | TxKind::Authority(_) => {}
        }
        Ok(())
    }

    /// On a chain that requires accounts, a payout must be one.
    fn check_payout(&self, lock: &Lock, spec: &ChainSpec) -> Result<(), StakingError> {
        if spec.requires_account_creation() && !self.is_account(lock) {
            return Err(StakingError::UncreatedPayout {
                lock: *lock,
                address: spec.address(*lock).to_string(),
            });
        }
        Ok(())
    }

    /// Records `amount` more stake bonded this epoch by `owner` to
    /// `validator` (ADR 0071).
    fn add_fresh(
        &mut self,
        validator: Hash,
        owner: Hash,
        amount: Amount,
        undo: &mut StakingUndo,
    ) -> Result<(), StakingError> {
        let now = add(self.fresh(&validator, &owner), amount)?;
        self.set_fresh(validator, owner, now, undo);
        Ok(())
    }

    /// `amount` of `owner`'s stake with `validator` leaves the bond: the
    /// newest first, so what was bonded this epoch goes before stake that
    /// has earned its share.
    fn withdraw_fresh(
        &mut self,
        validator: Hash,
        owner: Hash,
        amount: Amount,
        undo: &mut StakingUndo,
    ) {
        let fresh = self.fresh(&validator, &owner);
        let left = fresh.checked_sub(amount).unwrap_or(Amount::ZERO);
        self.set_fresh(validator, owner, left, undo);
    }

    /// After a slash left `owner` with `bond` staked to `validator`: the
    /// stake bonded this epoch is at most the bond (the slash is taken
    /// from the seasoned stake first, so no unseasoned coin starts earning
    /// because of it).
    fn clamp_fresh(&mut self, validator: Hash, owner: Hash, bond: Amount, undo: &mut StakingUndo) {
        let fresh = self.fresh(&validator, &owner);
        if fresh > bond {
            self.set_fresh(validator, owner, bond, undo);
        }
    }

    /// Stores `v`, or drops the record once it holds no stake at all.
    fn put_validator(&mut self, id: Hash, v: ValidatorStake, undo: &mut StakingUndo) {
        let empty = v.self_bond == Amount::ZERO && v.delegated == Amount::ZERO;
        self.set_validator(id, (!empty).then_some(v), undo);
    }

    #[allow(clippy::too_many_arguments)]
    fn start_unbonding(
        &mut self,
        tx: &Transaction,
        txid: &Hash,
        u: &Unbond,
        owner: Hash,
        height: u64,
        params: &StakingParams,
        undo: &mut StakingUndo,
    ) -> Result<(), StakingError> {
        let key = UnbondingKey {
            release_height: height
                .checked_add(params.unbonding_blocks)
                .ok_or(StakingError::Overflow)?,
            outpoint: release_outpoint(tx, txid),
        };
        self.set_unbonding(
            key,
            Some(UnbondingEntry {
                validator: u.validator,
                owner,
                amount: u.amount,
                payout: u.payout,
            }),
            undo,
        );
        Ok(())
    }

    /// Applies the staking side of a whole block at `height` (`txids` in
    /// block order, `fees` the total of its transactions' fees, as
    /// connecting it found): every transaction through
    /// [`StakingState::apply_tx`], then what the coinbase left of the
    /// block's subsidy and fees into the reward pot, the releases due at
    /// `height` and, at an epoch boundary, the epoch's rewards (ADR 0038).
    /// Returns the undo data, whose `released` coins (matured unbonding
    /// entries and rewards) the UTXO set gains with the block. On error
    /// the state is as before.
    pub fn apply_block(
        &mut self,
        block: &Block,
        txids: &[Hash],
        height: u64,
        fees: Amount,
        spec: &ChainSpec,
    ) -> Result<StakingUndo, BlockError> {
        self.apply_block_with(block, txids, height, fees, spec, None, None)
    }

    /// [`StakingState::apply_block`] with liveness: `signers` is the set in
    /// force at `height - 1`, whose members the block's certificate
    /// (`last_commit`) names; with it, after the transactions, the block's
    /// signers are recorded — in the epoch's work record, which its rewards
    /// follow (ADR 0068), and for liveness — and downtime punished
    /// ([`StakingState::apply_liveness`]). Then punished offences too old
    /// to matter are forgotten, and the releases due at `height` are made,
    /// holding entries whose stake backs a set of `seats` (the sets known
    /// at `height`; ADR 0072).
    #[allow(clippy::too_many_arguments)]
    pub fn apply_block_with(
        &mut self,
        block: &Block,
        txids: &[Hash],
        height: u64,
        fees: Amount,
        spec: &ChainSpec,
        signers: Option<&crate::ValidatorSet>,
        seats: Option<&Seats<'_>>,
    ) -> Result<StakingUndo, BlockError> {
        let mut undo = StakingUndo::default();
        if let Err(e) = self.accrue(block, txids, height, fees, spec, &mut undo) {
            self.undo(&undo);
            return Err(e);
        }
        for (index, (tx, txid)) in block.txs.iter().zip(txids).enumerate() {
            if let Err(e) = self.apply_tx(tx, txid, height, spec, &mut undo) {
                self.undo(&undo);
                return Err(BlockError::Tx {
                    index,
                    txid: *txid,
                    error: TxError::Staking(e),
                });
            }
        }
        if let (Some(set), Some(commit), Some(params)) =
            (signers, &block.last_commit, &spec.staking)
        {
            self.record_work(commit, set, params, &mut undo);
            if let Err(e) = self.apply_liveness(commit, set, height, spec, &mut undo) {
                self.undo(&undo);
                return Err(BlockError::BadLastCommit(format!("liveness: {e}")));
            }
        }
        if let Some(params) = &spec.staking {
            self.prune_punished(height, params, &mut undo);
            self.release(height, params, seats, &mut undo);
            if super::is_epoch_boundary(height, params.epoch_blocks) {
                // Chains whose blocks carry certificates pay by what was
                // signed (ADR 0068); the others as an election would seat.
                let basis = match signers {
                    Some(_) => super::RewardBasis::Signed,
                    None => super::RewardBasis::Elected,
                };
                self.pay_rewards(block, txids, height, spec, basis, &mut undo);
            }
        }
        Ok(undo)
    }

    /// Slashes validator `id` by `numerator / denominator` of all the stake
    /// that backs it: its own bond, every delegation to it and every
    /// unbonding entry of stake bonded to it. Returns the coins removed,
    /// which the caller pays out (to a reporter, redistributed) or burns.
    /// The slashing rules use [`StakingState::slash_offence`], which leaves
    /// out unbonding stake that no longer backed the validator.
    ///
    /// The amount removed is exactly `floor(total × n / d)`; it is shared
    /// among the pieces pro rata by the largest-remainder method (each
    /// piece first loses the floor of its share, then the units left over
    /// go one each to the pieces with the largest fractional remainders,
    /// ties to the earlier piece in the state's order), so no unit is lost
    /// or made up and every node cuts the same amounts.
    pub fn slash(
        &mut self,
        id: &Hash,
        numerator: u64,
        denominator: u64,
        undo: &mut StakingUndo,
    ) -> Result<Amount, StakingError> {
        self.slash_backing(id, numerator, denominator, |_| true, undo)
    }

    /// [`StakingState::slash`] for an offence committed at `height` (ADR
    /// 0069): an unbonding entry is cut only if its stake still backed the
    /// validator's voting power at that height
    /// ([`StakingState::unbonding_backed_at`]). Stake that had left the validator's
    /// power before the offence took no part in it.
    pub fn slash_offence(
        &mut self,
        id: &Hash,
        height: u64,
        params: &StakingParams,
        numerator: u64,
        denominator: u64,
        undo: &mut StakingUndo,
    ) -> Result<Amount, StakingError> {
        let seated_at = self.seated_at(height, params);
        self.slash_backing(
            id,
            numerator,
            denominator,
            |k| unbonding_start(k, params) >= seated_at,
            undo,
        )
    }

    /// [`StakingState::slash`] over the unbonding entries `keep` accepts.
    fn slash_backing(
        &mut self,
        id: &Hash,
        numerator: u64,
        denominator: u64,
        keep: impl Fn(&UnbondingKey) -> bool,
        undo: &mut StakingUndo,
    ) -> Result<Amount, StakingError> {
        if denominator == 0 || numerator > denominator {
            return Err(StakingError::BadFraction {
                numerator,
                denominator,
            });
        }
        #[derive(Clone, Copy)]
        enum Piece {
            Own,
            Delegation(Hash),
            Unbonding(UnbondingKey),
        }
        let mut pieces: Vec<(Piece, u64)> = Vec::new();
        if let Some(v) = self.validators.get(id) {
            pieces.push((Piece::Own, v.self_bond.base()));
        }
        pieces.extend(
            self.delegations_of(id)
                .map(|(d, a)| (Piece::Delegation(*d), a.base())),
        );
        pieces.extend(
            self.unbonding_of(id)
                .filter(|(k, _)| keep(k))
                .map(|(k, e)| (Piece::Unbonding(*k), e.amount.base())),
        );
        let total: u128 = pieces.iter().map(|(_, a)| u128::from(*a)).sum();
        if total == 0 {
            return Ok(Amount::ZERO);
        }
        let target = total * u128::from(numerator) / u128::from(denominator);
        let mut cuts: Vec<u128> = Vec::with_capacity(pieces.len());
        let mut rems: Vec<(u128, usize)> = Vec::with_capacity(pieces.len());
        for (i, (_, a)) in pieces.iter().enumerate() {
            let share = u128::from(*a) * target;
            cuts.push(share / total);
            rems.push((share % total, i));
        }
        let mut left = target - cuts.iter().sum::<u128>();
        // Largest remainder first; equal remainders in state order.
        rems.sort_by(|x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)));
        for (rem, i) in rems {
            if left == 0 || rem == 0 {
                break;
            }
            cuts[i] += 1;
            left -= 1;
        }
        debug_assert_eq!(left, 0, "remainders sum to the units left over");
        let cut = |i: usize| Amount::from_base(cuts[i] as u64).expect("a cut is within its piece");
        let mut delegated_cut = Amount::ZERO;
        let mut own_cut = Amount::ZERO;
        for (i, (piece, amount)) in pieces.iter().enumerate() {
            let c = cut(i);
            if c == Amount::ZERO {
                continue;
            }
            let rest =
                Amount::from_base(amount - c.base()).expect("a piece minus its cut is in range");
            match piece {
                Piece::Own => {
                    own_cut = c;
                    self.clamp_fresh(*id, *id, rest, undo);
                }
                Piece::Delegation(d) => {
                    delegated_cut = add(delegated_cut, c)?;
                    self.set_delegation(*id, *d, rest, undo);
                    self.clamp_fresh(*id, *d, rest, undo);
                }
                Piece::Unbonding(k) => {
                    let mut e = self.unbonding[k];
                    e.amount = rest;
                    self.set_unbonding(*k, (rest > Amount::ZERO).then_some(e), undo);
                }
            }
        }
        if let Some(mut v) = self.validators.get(id).cloned() {
            if own_cut > Amount::ZERO || delegated_cut > Amount::ZERO {
                v.self_bond = sub(v.self_bond, own_cut)?;
                v.delegated = sub(v.delegated, delegated_cut)?;
                self.put_validator(*id, v, undo);
            }
        }
        Ok(Amount::from_base(target as u64).expect("at most the stake, which is in range"))
    }

    /// Jails validator `id` until height `until` (`slashed` for a jail that
    /// [`StakingState::set_jail`] must clear before an `unjail` is
    /// accepted), recording the change in `undo`.
    pub fn jail_validator(&mut self, id: Hash, until: u64, slashed: bool, undo: &mut StakingUndo) {
        self.set_jail(id, Some(JailEntry { until, slashed }), undo);
    }
}
