//! The end of unbonding: when an entry's coins are released, and when it
//! is held past its release height because its stake still backs a
//! validator set (ADR 0069, ADR 0072).
//!
//! An entry's stake backs a set when the election that seated the set (or
//! has elected it to come) counted it — the unbonding began at or after
//! that election's boundary, whose state was read before the boundary's
//! transactions (ADR 0033) — and the entry's validator is a member. Such
//! stake must stay slashable while the set can still sign: an offence in
//! it is punished from the power it gave. On BFT chains the block's
//! consensus record names the sets ([`Seats`]); where no sets are known
//! (chains without certificates, tests of the state alone) every entry
//! that began after the election of the set in force is held, members or
//! not.

use luminex_primitives::{Hash, OutPoint, Transaction, TxOut};

use super::state::{StakingState, StakingUndo, UnbondingEntry, UnbondingKey};
use super::StakingParams;
use crate::{ChainSpec, Coin, ConsensusRecord, ValidatorSet};

/// The validator sets known at a height, from the consensus record of the
/// block before it: the ones unbonding stake can back there.
#[derive(Clone, Copy, Debug)]
pub struct Seats<'a> {
    /// The height the sets are known at: `in_force` finalizes it.
    pub height: u64,
    /// The set in force at `height`.
    pub in_force: &'a ValidatorSet,
    /// The set in force at `height + 1`: `in_force` but at the last height
    /// before an elected set takes over.
    pub next: &'a ValidatorSet,
    /// A set an election seated that is not in force yet, with the first
    /// height it finalizes.
    pub scheduled: Option<(&'a ValidatorSet, u64)>,
}

impl<'a> Seats<'a> {
    /// The sets known at the height after the block `record` follows.
    pub fn of(record: &'a ConsensusRecord) -> Seats<'a> {
        Seats {
            height: record.height + 1,
            in_force: &record.validators,
            next: &record.next_validators,
            scheduled: record
                .scheduled
                .as_ref()
                .map(|s| (&s.set, s.effective_height)),
        }
    }
}

impl StakingState {
    /// Releases the unbonding entries due at `height`: removes them and
    /// returns their coins (created by the block at `height`, after its
    /// transactions), recording both in `undo`.
    ///
    /// An entry is due at the first block at or after its release height
    /// at which it is not held: with the sets known at `height` (`seats`),
    /// while its stake backs one of them and its validator is a member of
    /// it ([`StakingState::unbonding_held`]); without them, while its
    /// unbonding began at or after the election of the set in force
    /// ([`StakingState::unbonding_backed_at`]), member or not. A held entry
    /// keeps its key (its start, and so its slashing scope, follows from
    /// it).
    ///
    /// Entries whose release height has passed are held ones: they are the
    /// front of the map, so this reads only them and those due now.
    pub fn release(
        &mut self,
        height: u64,
        params: &StakingParams,
        seats: Option<&Seats<'_>>,
        undo: &mut StakingUndo,
    ) -> Vec<(OutPoint, Coin)> {
        let due: Vec<(UnbondingKey, UnbondingEntry)> = self
            .unbonding
            .iter()
            .take_while(|(k, _)| k.release_height <= height)
            .filter(|(k, e)| !self.unbonding_held(k, &e.validator, height, params, seats))
            .map(|(k, e)| (*k, *e))
            .collect();
        let mut coins = Vec::with_capacity(due.len());
        for (k, e) in due {
            self.set_unbonding(k, None, undo);
            let coin = Coin {
                output: TxOut {
                    amount: e.amount,
                    lock: e.payout,
                },
                height,
                is_coinbase: false,
            };
            undo.released.push((k.outpoint, coin));
            coins.push((k.outpoint, coin));
        }
        coins
    }

    /// The height of the block that releases (or released) the unbonding
    /// entry `key` of `validator`, as far as the state knows at `from`
    /// (the height of the next block, or of any block since the entry's
    /// release height up to it) with the sets known there (`seats`, of
    /// height `from`; `None` where the chain knows none): the first height
    /// at or after both `from` and the entry's release height at which
    /// [`StakingState::release`] does not hold it. Sets elected after
    /// `from` never count the entry's stake (its unbonding began before);
    /// boundaries not yet reached are assumed to seat a set, so for a held
    /// entry this is the earliest release the chain can still give it —
    /// an election that seats nobody puts it later.
    pub fn expected_release(
        &self,
        key: &UnbondingKey,
        validator: &Hash,
        params: &StakingParams,
        from: u64,
        seats: Option<&Seats<'_>>,
    ) -> u64 {
        let e = params.epoch_blocks.max(1);
        let mut h = key.release_height.max(from);
        // Holds change only at the first height of an epoch (`B + E + 1`),
        // where a set takes over; past the recorded boundaries every
        // election is taken to seat one, so this ends.
        while self.unbonding_held(key, validator, h, params, seats) {
            h = (h.saturating_sub(1) / e + 1) * e + 1;
        }
        h
    }

    /// Whether the unbonding entry `key` of `validator` is held at
    /// `height` (ADR 0069, ADR 0072). With `seats`, the sets known at
    /// `seats.height <= height`: whether one of them that is in force at
    /// `height` or comes after it was elected at or before the entry's
    /// unbonding began (so its election counted the stake) and has
    /// `validator` as a member. Without them:
    /// [`StakingState::unbonding_backed_at`].
    pub fn unbonding_held(
        &self,
        key: &UnbondingKey,
        validator: &Hash,
        height: u64,
        params: &StakingParams,
        seats: Option<&Seats<'_>>,
    ) -> bool {
        let Some(seats) = seats else {
            return self.unbonding_backed_at(key, height, params);
        };
        let start = unbonding_start(key, params);
        // The election of the set in force at `height`: sets elected
        // before it are no longer in force there.
        let floor = self.seated_at(height, params);
        let e = params.epoch_blocks.max(1);
        let known = [
            Some((self.seated_at(seats.height, params), seats.in_force)),
            Some((self.seated_at(seats.height + 1, params), seats.next)),
            seats
                .scheduled
                .map(|(set, effective)| (effective.saturating_sub(e + 1), set)),
        ];
        known.into_iter().flatten().any(|(elected, set)| {
            floor <= elected && elected <= start && set.index_of(validator).is_some()
        })
    }

    /// Records what the election of the block at `height` did, on a BFT
    /// chain (ADR 0069): at an epoch boundary whose election seated nobody
    /// (`seated` false: the chain keeps the set it has), the boundary is
    /// remembered, so that [`StakingState::unbonding_backed_at`] knows the
    /// set in force later is an older election's. Nothing elsewhere.
    pub fn note_election(
        &mut self,
        height: u64,
        seated: bool,
        spec: &ChainSpec,
        undo: &mut StakingUndo,
    ) {
        let Some(params) = &spec.staking else {
            return;
        };
        if !seated && super::is_epoch_boundary(height, params.epoch_blocks) {
            self.set_unseated(height, undo);
        }
    }

    /// Whether the stake of the unbonding entry `key` still backed its
    /// validator's voting power at `height`, if the validator was in the
    /// set in force then (ADR 0069). The set in force at `height` was
    /// seated by the election at boundary `B`: the last one with
    /// `B + E + 1 <= height` whose election seated a set (the others kept
    /// the set before; genesis counts as boundary 0). That election read
    /// the state before `B`'s transactions (ADR 0033), so the entry, whose
    /// unbonding began at `release_height − unbonding_blocks`, was still
    /// bonded in it when it began at `B` or later. Slashing for an offence
    /// at `height` cuts such entries (the offender was a member); release
    /// without known sets holds them.
    pub fn unbonding_backed_at(
        &self,
        key: &UnbondingKey,
        height: u64,
        params: &StakingParams,
    ) -> bool {
        unbonding_start(key, params) >= self.seated_at(height, params)
    }

    /// The boundary whose election seated the set in force at `height`
    /// (0: the genesis set).
    pub(super) fn seated_at(&self, height: u64, params: &StakingParams) -> u64 {
        let e = params.epoch_blocks.max(1);
        let mut b = height.checked_sub(e + 1).map_or(0, |x| x / e * e);
        while b > 0 && self.unseated.contains(&b) {
            b -= e;
        }
        b
    }
}

/// The height of the block whose transaction began the unbonding of `key`.
pub(super) fn unbonding_start(key: &UnbondingKey, params: &StakingParams) -> u64 {
    key.release_height.saturating_sub(params.unbonding_blocks)
}

/// The outpoint of the coins an `unstake` or `undelegate` releases: its
/// txid and the index one past its last output (ADR 0031). No transaction
/// output can have it, so it never collides.
pub fn release_outpoint(tx: &Transaction, txid: &Hash) -> OutPoint {
    OutPoint {
        txid: *txid,
        vout: tx.outputs.len() as u32,
    }
}

#[cfg(test)]
mod tests {
    use luminex_primitives::Amount;

    use super::*;
    use crate::Validator;

    use crate::staking::test_key as key;

    fn id(i: u8) -> Hash {
        key(i).key_hash()
    }

    fn set(members: &[u8]) -> ValidatorSet {
        ValidatorSet::new(
            members
                .iter()
                .map(|i| Validator {
                    public_key: key(*i),
                    power: 1,
                })
                .collect(),
        )
        .unwrap()
    }

    /// 5-block epochs, 3 blocks of unbonding.
    fn params() -> StakingParams {
        let mut p = StakingParams::new(Amount::from_base(1).unwrap(), 3);
        p.epoch_blocks = 5;
        p
    }

    /// An entry of validator `v` whose unbonding began at `start`.
    fn entry(s: &mut StakingState, v: u8, start: u64, n: u8) -> UnbondingKey {
        let k = UnbondingKey {
            release_height: start + 3,
            outpoint: OutPoint {
                txid: Hash([n; 32]),
                vout: 0,
            },
        };
        let e = UnbondingEntry {
            validator: id(v),
            owner: id(v),
            amount: Amount::from_base(10).unwrap(),
            payout: key(v).lock(),
        };
        s.set_unbonding(k, Some(e), &mut StakingUndo::default());
        k
    }

    /// Genesis seats validators 1 and 2. Validator 1's unstake of block 2
    /// backs that set, in force through 10, and is held until 11 (what
    /// the time rule alone says too); validator 3's, of a key in no set,
    /// is released at its release height — the time rule would hold it
    /// to 11 as well.
    #[test]
    fn only_a_member_s_stake_is_held() {
        let p = params();
        let mut s = StakingState::default();
        let member = entry(&mut s, 1, 2, 1);
        let outsider = entry(&mut s, 3, 2, 2);
        let genesis = set(&[1, 2]);
        let seats = Seats {
            height: 5,
            in_force: &genesis,
            next: &genesis,
            scheduled: None,
        };
        assert!(s.unbonding_held(&member, &id(1), 5, &p, Some(&seats)));
        assert!(!s.unbonding_held(&outsider, &id(3), 5, &p, Some(&seats)));
        assert!(s.unbonding_held(&outsider, &id(3), 5, &p, None));
        assert_eq!(s.expected_release(&member, &id(1), &p, 5, Some(&seats)), 11);
        assert_eq!(
            s.expected_release(&outsider, &id(3), &p, 5, Some(&seats)),
            5
        );
        assert_eq!(s.expected_release(&outsider, &id(3), &p, 5, None), 11);

        let mut undo = StakingUndo::default();
        let released = s.release(5, &p, Some(&seats), &mut undo);
        assert_eq!(released.len(), 1);
        assert_eq!(released[0].0, outsider.outpoint);
        assert_eq!(s.unbonding().map(|(k, _)| *k).collect::<Vec<_>>(), [member]);
        s.undo(&undo);
        assert_eq!(s.unbonding().count(), 2);
    }

    /// The election at 5 seats validators 2 and 3 from 11. Validator 3's
    /// unstake of block 6 was counted by it (bonded when block 5's state
    /// was read): held from its release height 9 while that set is to
    /// come and while it is in force, through 15. Its unstake of block 4
    /// was not (already unbonding at the election): released at 7.
    #[test]
    fn a_set_elected_to_come_holds_the_stake_it_counted() {
        let p = params();
        let mut s = StakingState::default();
        let counted = entry(&mut s, 3, 6, 1);
        let before = entry(&mut s, 3, 4, 2);
        let genesis = set(&[1, 2]);
        let elected = set(&[2, 3]);
        let at = |h: u64| Seats {
            height: h,
            in_force: &genesis,
            next: &genesis,
            scheduled: Some((&elected, 11)),
        };
        assert!(!s.unbonding_held(&before, &id(3), 7, &p, Some(&at(7))));
        assert_eq!(s.expected_release(&before, &id(3), &p, 7, Some(&at(7))), 7);
        assert!(s.unbonding_held(&counted, &id(3), 9, &p, Some(&at(9))));
        assert_eq!(
            s.expected_release(&counted, &id(3), &p, 9, Some(&at(9))),
            16
        );
        // At 10, the last height before the switch, the record names the
        // elected set as the next one.
        let last = Seats {
            height: 10,
            in_force: &genesis,
            next: &elected,
            scheduled: None,
        };
        assert!(s.unbonding_held(&counted, &id(3), 10, &p, Some(&last)));
        // In force from 11, seated by the election at 5.
        let seated = Seats {
            height: 11,
            in_force: &elected,
            next: &elected,
            scheduled: None,
        };
        assert!(s.unbonding_held(&counted, &id(3), 15, &p, Some(&seated)));
        assert!(!s.unbonding_held(&counted, &id(3), 16, &p, Some(&seated)));
        // A validator dropped by the election is held only by the set in
        // force: its unstake of block 6 until 11.
        let dropped = entry(&mut s, 1, 6, 3);
        assert!(s.unbonding_held(&dropped, &id(1), 10, &p, Some(&last)));
        assert!(!s.unbonding_held(&dropped, &id(1), 11, &p, Some(&seated)));
        assert_eq!(
            s.expected_release(&dropped, &id(1), &p, 9, Some(&at(9))),
            11
        );
    }
}
