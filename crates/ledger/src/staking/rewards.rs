//! Rewards and fees (ADR 0038): the reward pot, its payout at each epoch
//! boundary under the spec's [`RewardRule`], what slashing may credit to it
//! or burn, and the supply invariant.
//!
//! Every block adds to the pot what its coinbase left unclaimed of its
//! subsidy and fees: under `proposer` normally nothing (the coinbase
//! claims them), under the pot rules everything (the coinbase may claim
//! nothing). The block that ends an epoch pays the pot out, after its
//! transactions and releases, as ordinary spendable outputs at the
//! outpoints (its coinbase's txid, index past the coinbase's outputs) —
//! never one giant coinbase. Integer division leaves at most a few base
//! units per recipient undivided; they stay in the pot for the next epoch,
//! as does a share owed to an address that is not a created account on a
//! chain that requires accounts, and the whole pot when nobody qualifies.
//! So no unit is ever created or lost.

use crate::ValidatorSet;
use luminex_primitives::{Amount, Block, CommitCertificate, Hash, Lock, OutPoint, TxOut};

use super::state::{EpochWork, StakingState, StakingUndo};
use super::{epoch_of, RewardRule, StakingError, StakingParams, BPS};
use crate::{BlockError, ChainSpec, Coin, TxError};

/// Whom the validator reward rules (`stake_weighted`, `proposer`) pay an
/// epoch's pot to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RewardBasis {
    /// Chains with commit certificates (BFT): the validators, by the power
    /// with which they signed the epoch's commits (ADR 0068).
    Signed,
    /// Chains without (the development chains with a `[staking]` table):
    /// those an election by stake seats at the payout, by power.
    Elected,
}

/// Who a reward share is for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Recipient {
    /// A validator: its commission plus the share of its own stake.
    Validator(Hash),
    /// A delegator's share of a validator's reward.
    Delegator {
        /// The validator delegated to.
        validator: Hash,
        /// The delegator.
        delegator: Hash,
    },
    /// A registered node live in the epoch (an equal share).
    Node(Hash),
}

/// One payout of an epoch's rewards.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct RewardShare {
    /// Who earned it.
    pub recipient: Recipient,
    /// Where it is paid.
    pub lock: Lock,
    /// How much (positive).
    pub amount: Amount,
}

/// What paying the pot out would do: the shares, in payout order, and
/// what stays in the pot for the next epoch.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct RewardPlan {
    /// The payouts, in the order their outputs are created.
    pub shares: Vec<RewardShare>,
    /// The pot after the payouts: undivided units, shares owed to
    /// uncreated accounts, or all of it when nobody qualifies.
    pub carried: Amount,
}

/// The supply invariant does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{found} base units exist (UTXOs, stake, pot, burned), {expected} were issued")]
pub struct SupplyMismatch {
    /// UTXO total plus [`StakingState::held`] plus the burned total.
    pub found: u128,
    /// The genesis supply plus every subsidy up to the height.
    pub expected: u128,
}

/// Checks the supply invariant after the block at `height`: the coins in
/// UTXOs (`utxo_total`, base units) plus those the staking state holds
/// (bonded, unbonding, the pot) plus those burned equal the genesis supply
/// plus every subsidy of blocks `1..=height`. On a chain without subsidy
/// (`almagill`) that is the genesis supply itself: nothing is created or
/// destroyed. (A coinbase can claim less than it may; the rest goes to
/// the pot on staking chains, so the check is exact there.)
pub fn check_supply(
    utxo_total: u128,
    state: &StakingState,
    spec: &ChainSpec,
    height: u64,
) -> Result<(), SupplyMismatch> {
    let found = utxo_total + state.held() + u128::from(state.burned().base());
    let expected = spec.issued_supply(height);
    if found == expected {
        Ok(())
    } else {
        Err(SupplyMismatch { found, expected })
    }
}

/// ⌊total × part / whole⌋, 0 when `whole` is 0; exact for every input
/// whose result fits in u128 (every call here has `part ≤ whole`, so the
/// result is at most `total`). The product itself may not fit: a pot of
/// up to [`Amount::MAX`] times a validator's signed power, which sums its
/// power over an epoch's commits, can pass 2^128 (ADR 0068).
pub fn mul_div(total: u128, part: u128, whole: u128) -> u128 {
    if whole == 0 {
        return 0;
    }
    match total.checked_mul(part) {
        Some(product) => product / whole,
        None => wide_div(mul_wide(total, part), whole),
    }
}

/// `a × b` as (high, low) halves of 256 bits.
fn mul_wide(a: u128, b: u128) -> (u128, u128) {
    const LOW: u128 = u64::MAX as u128;
    let (a1, a0) = (a >> 64, a & LOW);
    let (b1, b0) = (b >> 64, b & LOW);
    let (p00, p01, p10, p11) = (a0 * b0, a0 * b1, a1 * b0, a1 * b1);
    // The middle column: the high half of p00 plus the low halves of the
    // cross products (at most three 64-bit values: fits in u128).
    let mid = (p00 >> 64) + (p01 & LOW) + (p10 & LOW);
    let low = (mid << 64) | (p00 & LOW);
    let high = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
    (high, low)
}

/// ⌊(high·2^128 + low) / d⌋ for `d > 0`, by binary long division (the
/// quotient's bits above 128, which no caller has, are dropped). Written
/// by hand rather than pulling in a big-integer crate for one division
/// that runs once per share of an epoch's payout.
fn wide_div((high, low): (u128, u128), d: u128) -> u128 {
    let mut rem: u128 = 0;
    let mut q: u128 = 0;
    for i in (0..256).rev() {
        let bit = if i >= 128 {
            (high >> (i - 128)) & 1
        } else {
            (low >> i) & 1
        };
        // The remainder is below d < 2^128 before the shift; the bit the
        // shift pushes out is the 2^128 place of the true remainder.
        let carry = rem >> 127;
        rem = (rem << 1) | bit;
        q <<= 1;
        if carry == 1 || rem >= d {
            rem = rem.wrapping_sub(d);
            q |= 1;
        }
    }
    q
}

fn amount(units: u128) -> Amount {
    u64::try_from(units)
        .ok()
        .and_then(Amount::from_base)
        .expect("a share is at most the pot, which is in range")
}

impl StakingState {
    /// Adds `amount` to the reward pot (slashed stake a spec
    /// redistributes), recording the change in `undo`. Paid with the
    /// epoch's rewards at the next boundary.
    pub fn credit_pot(
        &mut self,
        amount: Amount,
        undo: &mut StakingUndo,
    ) -> Result<(), StakingError> {
        if amount > Amount::ZERO {
            let pot = self
                .pot
                .checked_add(amount)
                .map_err(|_| StakingError::Overflow)?;
            self.set_pot(pot, undo);
        }
        Ok(())
    }

    /// Records `amount` as destroyed (slashed stake a spec burns), so the
    /// supply invariant ([`check_supply`]) still balances.
    pub fn burn(&mut self, amount: Amount, undo: &mut StakingUndo) -> Result<(), StakingError> {
        if amount > Amount::ZERO {
            let burned = self
                .burned
                .checked_add(amount)
                .map_err(|_| StakingError::Overflow)?;
            self.set_burned(burned, undo);
        }
        Ok(())
    }

    /// Adds to the pot what the coinbase of `block` (at `height`, whose
    /// transactions paid `fees`) left of its subsidy and fees.
    pub(super) fn accrue(
        &mut self,
        block: &Block,
        txids: &[Hash],
        height: u64,
        fees: Amount,
        spec: &ChainSpec,
        undo: &mut StakingUndo,
    ) -> Result<(), BlockError> {
        let overflow = || BlockError::Tx {
            index: 0,
            txid: txids.first().copied().unwrap_or(Hash::ZERO),
            error: TxError::OutputOverflow,
        };
        let allowed = spec
            .subsidy(height)
            .checked_add(fees)
            .map_err(|_| overflow())?;
        let claimed = match block.txs.first() {
            Some(cb) => cb.output_total().map_err(|_| overflow())?,
            None => return Err(BlockError::NoCoinbase),
        };
        let left = allowed
            .checked_sub(claimed)
            .map_err(|_| BlockError::CoinbaseTooLarge { claimed, allowed })?;
        self.credit_pot(left, undo).map_err(|_| overflow())
    }

    /// Adds to the epoch's work record (ADR 0068) the power of each member
    /// of `set` whose precommit `commit` carries: a block at height `h`
    /// carries the certificate of `h - 1`, so an epoch's record holds the
    /// commits of its blocks' parents. Only the validator reward rules
    /// (`stake_weighted`, `proposer`) read it.
    pub(super) fn record_work(
        &mut self,
        commit: &CommitCertificate,
        set: &ValidatorSet,
        params: &StakingParams,
        undo: &mut StakingUndo,
    ) {
        if params.rewards == RewardRule::EqualRegisteredNodes {
            return;
        }
        for (i, v) in set.validators().iter().enumerate() {
            if !commit.signed_by(i) {
                continue;
            }
            let id = v.id();
            let w = match self.work.get(&id) {
                Some(w) => EpochWork {
                    signed_power: w.signed_power.saturating_add(u128::from(v.power)),
                    lock: w.lock,
                },
                None => EpochWork {
                    signed_power: u128::from(v.power),
                    lock: v.public_key.lock(),
                },
            };
            self.set_work(id, Some(w), undo);
        }
    }

    /// How the pot would be paid out at the end of `epoch` under `params`
    /// if the state stayed as it is: what the boundary block pays
    /// ([`StakingState::apply_block`]) and what the API shows as the
    /// coming payout.
    ///
    /// - `stake_weighted`, and `proposer` (whose pot holds only what
    ///   coinbases left and slashing credited): each validator earns a cut
    ///   of the pot — with [`RewardBasis::Signed`] (chains with commit
    ///   certificates; ADR 0068) ⌊pot × signed / total⌋, `signed` being
    ///   the power with which it signed the epoch's commits
    ///   ([`StakingState::epoch_work`]), except a validator slashed for
    ///   double-signing, whose cut stays in the pot; with
    ///   [`RewardBasis::Elected`] (chains without certificates) those an
    ///   election by stake seats now ([`StakingState::top_by_power`]),
    ///   ⌊pot × power / total⌋, `power` counting only stake bonded for the
    ///   whole epoch ([`StakingState::seasoned_power`]). Of its cut a
    ///   validator keeps the commission ⌊cut × commission_bps / 10,000⌋,
    ///   and the rest is split by the stake bonded for the whole epoch
    ///   (ADR 0071: stake bonded in it earns from the next) between its
    ///   own bond (paid to it with the commission, at its key's address)
    ///   and each delegation (paid to the delegator's key's address), each
    ///   ⌊rest × stake / power⌋ — all of it to the validator when no such
    ///   stake is behind it.
    /// - `equal_registered_nodes`: the registered nodes live in `epoch` (a
    ///   heartbeat in it) get ⌊pot / n⌋ each at their payout address.
    ///
    /// Shares of zero are left out; what is not paid stays in the pot.
    pub fn reward_plan(
        &self,
        params: &StakingParams,
        epoch: u64,
        spec: &ChainSpec,
        basis: RewardBasis,
    ) -> RewardPlan {
        let pot = u128::from(self.pot.base());
        let mut shares = Vec::new();
        let mut push = |recipient, lock: Lock, units: u128| {
            let payable = !spec.requires_account_creation() || self.is_account(&lock);
            if units > 0 && payable {
                shares.push(RewardShare {
                    recipient,
                    lock,
                    amount: amount(units),
                });
            }
        };
        if pot > 0 {
            match params.rewards {
                RewardRule::Proposer | RewardRule::StakeWeighted => {
                    // (validator, where it is paid, its weight).
                    let earners: Vec<(Hash, Lock, u128)> = match basis {
                        RewardBasis::Signed => self
                            .work
                            .iter()
                            .filter(|(id, _)| !self.jails.get(id).is_some_and(|j| j.slashed))
                            .map(|(id, w)| (*id, w.lock, w.signed_power))
                            .collect(),
                        RewardBasis::Elected => self
                            .top_by_power(params.max_validators as usize, params.min_stake)
                            .into_iter()
                            .map(|(id, v)| {
                                (
                                    id,
                                    v.public_key.lock(),
                                    u128::from(self.seasoned_power(&id)),
                                )
                            })
                            .collect(),
                    };
                    let total: u128 = earners.iter().map(|e| e.2).sum();
                    for (id, lock, weight) in earners {
                        let cut = mul_div(pot, weight, total);
                        let commission = cut * u128::from(params.commission_bps) / u128::from(BPS);
                        let rest = cut - commission;
                        // Stake bonded this epoch earns nothing (ADR 0071).
                        let seasoned = self.seasoned_power(&id);
                        let Some(v) = self.validators.get(&id).filter(|_| seasoned > 0) else {
                            // No stake behind it that served the whole
                            // epoch: all its own.
                            push(Recipient::Validator(id), lock, cut);
                            continue;
                        };
                        let power = u128::from(seasoned);
                        let own_stake = self.seasoned(&id, &id, v.self_bond);
                        let own = mul_div(rest, u128::from(own_stake), power);
                        push(Recipient::Validator(id), lock, commission + own);
                        for (d, a) in self.delegations_of(&id) {
                            let stake = self.seasoned(&id, d, *a);
                            let units = mul_div(rest, u128::from(stake), power);
                            if let Some(lock) = self.reward_locks.get(d) {
                                let recipient = Recipient::Delegator {
                                    validator: id,
                                    delegator: *d,
                                };
                                push(recipient, *lock, units);
                            }
                        }
                    }
                }
                RewardRule::EqualRegisteredNodes => {
                    let live: Vec<(Hash, Lock)> = self
                        .live_nodes(epoch)
                        .map(|(id, n)| (*id, n.payout))
                        .collect();
                    let each = mul_div(pot, 1, live.len() as u128);
                    for (id, payout) in live {
                        push(Recipient::Node(id), payout, each);
                    }
                }
            }
        }
        let paid: u128 = shares.iter().map(|s| u128::from(s.amount.base())).sum();
        RewardPlan {
            shares,
            carried: amount(pot - paid),
        }
    }

    /// Pays the pot out at the boundary block `block` at `height` (txids
    /// `txids`): each share of [`StakingState::reward_plan`] becomes a coin
    /// at (the coinbase's txid, the coinbase's output count + its index),
    /// spendable at once; the pot keeps what is carried. The epoch's work
    /// record then starts again, and the stake bonded in the epoch counts
    /// as bonded for the whole of the next (ADR 0071).
    pub(super) fn pay_rewards(
        &mut self,
        block: &Block,
        txids: &[Hash],
        height: u64,
        spec: &ChainSpec,
        basis: RewardBasis,
        undo: &mut StakingUndo,
    ) {
        let (Some(params), Some(coinbase), Some(txid)) =
            (&spec.staking, block.txs.first(), txids.first())
        else {
            return;
        };
        let plan = self.reward_plan(params, epoch_of(height, params.epoch_blocks), spec, basis);
        let first = coinbase.outputs.len() as u32;
        for (i, s) in plan.shares.iter().enumerate() {
            let outpoint = OutPoint {
                txid: *txid,
                vout: first.saturating_add(i as u32),
            };
            let coin = Coin {
                output: TxOut {
                    amount: s.amount,
                    lock: s.lock,
                },
                height,
                is_coinbase: false,
            };
            undo.released.push((outpoint, coin));
        }
        if plan.carried != self.pot {
            self.set_pot(plan.carried, undo);
        }
        let done: Vec<Hash> = self.work.keys().copied().collect();
        for id in done {
            self.set_work(id, None, undo);
        }
        // Everything bonded now has been bonded since the epoch began.
        let bonded: Vec<(Hash, Hash)> = self.fresh.keys().copied().collect();
        for (v, o) in bonded {
            self.set_fresh(v, o, Amount::ZERO, undo);
        }
    }

    /// The voting power of validator `id` from stake bonded for the whole
    /// current epoch (own and delegated, ADR 0071): what its reward is
    /// split by, and its weight where rewards go to those an election
    /// seats.
    pub fn seasoned_power(&self, id: &Hash) -> u64 {
        let Some(v) = self.validators.get(id) else {
            return 0;
        };
        let own = self.seasoned(id, id, v.self_bond);
        self.delegations_of(id)
            .map(|(d, a)| self.seasoned(id, d, *a))
            .fold(own, u64::saturating_add)
    }
}
