//! Validator sets and the consensus state a BFT chain carries from block to
//! block: who may sign at the next heights, with what voting power, and the
//! proposer priorities that decide whose turn it is to propose.
//!
//! The state after each block is hashed into that block's header
//! (`state_root`), priorities included: a hash that left out what decides
//! the proposer would let a peer lie about whose turn it is.

use luminex_primitives::codec::{put_seq, Decode, DecodeError, Encode, Reader, Sink};
use luminex_primitives::commit::MAX_VALIDATORS;
use luminex_primitives::hash::Domain;
use luminex_primitives::{Hash, PublicKey};

/// Largest total voting power of a set (CometBFT's bound, so that
/// priorities, which stay within a few times the total, never overflow).
pub const MAX_TOTAL_POWER: u64 = (i64::MAX / 8) as u64;

/// Domain of [`ValidatorSet::hash`].
pub const VALIDATOR_SET: Domain = Domain("luminex/validator-set");
/// Domain of [`ConsensusRecord::hash`].
pub const CONSENSUS_STATE: Domain = Domain("luminex/consensus-state");

/// One validator: its key and voting power. Its id is the key hash.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Validator {
    /// Public key that signs proposals and votes.
    pub public_key: PublicKey,
    /// Voting power (positive).
    pub power: u64,
}

impl Validator {
    /// The validator's id: its key hash (what addresses commit to).
    pub fn id(&self) -> Hash {
        self.public_key.key_hash()
    }
}

impl Encode for Validator {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        self.public_key.encode_to(s);
        s.put(&self.power.to_le_bytes());
    }
}

impl Decode for Validator {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Validator {
            public_key: PublicKey::decode(r)?,
            power: r.u64("validator power")?,
        })
    }
}

/// Why a validator set cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidatorSetError {
    /// No validators.
    #[error("a validator set needs at least one validator")]
    Empty,
    /// More validators than the bound.
    #[error("{0} validators, at most {MAX_VALIDATORS} allowed")]
    TooMany(usize),
    /// A validator with zero power.
    #[error("validator {0} has zero voting power")]
    ZeroPower(Hash),
    /// The same key twice.
    #[error("validator {0} appears twice")]
    Duplicate(Hash),
    /// The powers add up past [`MAX_TOTAL_POWER`].
    #[error("total voting power exceeds {MAX_TOTAL_POWER}")]
    TooMuchPower,
}

/// A validator set, ordered by id. Indexes into it name signers in commit
/// certificates.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ValidatorSet {
    validators: Vec<Validator>,
    ids: Vec<Hash>,
    total: u64,
}

impl ValidatorSet {
    /// A set of `validators` (any order), checked.
    pub fn new(mut validators: Vec<Validator>) -> Result<ValidatorSet, ValidatorSetError> {
        if validators.is_empty() {
            return Err(ValidatorSetError::Empty);
        }
        if validators.len() > MAX_VALIDATORS {
            return Err(ValidatorSetError::TooMany(validators.len()));
        }
        validators.sort_by_cached_key(|v| v.id());
        let ids: Vec<Hash> = validators.iter().map(|v| v.id()).collect();
        let mut total: u64 = 0;
        for (i, v) in validators.iter().enumerate() {
            if v.power == 0 {
                return Err(ValidatorSetError::ZeroPower(ids[i]));
            }
            if i > 0 && ids[i] == ids[i - 1] {
                return Err(ValidatorSetError::Duplicate(ids[i]));
            }
            total = total
                .checked_add(v.power)
                .filter(|t| *t <= MAX_TOTAL_POWER)
                .ok_or(ValidatorSetError::TooMuchPower)?;
        }
        Ok(ValidatorSet {
            validators,
            ids,
            total,
        })
    }

    /// The validators, by id.
    pub fn validators(&self) -> &[Validator] {
        &self.validators
    }

    /// Number of validators.
    pub fn len(&self) -> usize {
        self.validators.len()
    }

    /// Never true: a set is not empty.
    pub fn is_empty(&self) -> bool {
        self.validators.is_empty()
    }

    /// Validator `i`.
    pub fn get(&self, i: usize) -> Option<&Validator> {
        self.validators.get(i)
    }

    /// The id of validator `i`.
    pub fn id(&self, i: usize) -> Option<Hash> {
        self.ids.get(i).copied()
    }

    /// The index of the validator with `id`.
    pub fn index_of(&self, id: &Hash) -> Option<usize> {
        self.ids.binary_search(id).ok()
    }

    /// Total voting power.
    pub fn total_power(&self) -> u64 {
        self.total
    }

    /// The least power that is more than two thirds of the total: a quorum.
    pub fn quorum(&self) -> u64 {
        (u128::from(self.total) * 2 / 3 + 1) as u64
    }

    /// The least power that is more than one third of the total: enough
    /// that at least one honest validator is among them.
    pub fn one_third_plus(&self) -> u64 {
        self.total / 3 + 1
    }

    /// The set's hash (keys and powers in order).
    pub fn hash(&self) -> Hash {
        VALIDATOR_SET.hash(&self.encode())
    }
}

impl Encode for ValidatorSet {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        put_seq(s, &self.validators);
    }
}

impl Decode for ValidatorSet {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let v = r.seq("validators", MAX_VALIDATORS as u64, Validator::decode)?;
        let set = ValidatorSet::new(v.clone()).map_err(|_| DecodeError::OutOfRange {
            field: "validator set",
        })?;
        if set.validators != v {
            return Err(DecodeError::OutOfRange {
                field: "validator set order",
            });
        }
        Ok(set)
    }
}

/// A change to the validator set that a block scheduled for a later height.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PendingChange {
    /// First height finalized by the changed set.
    pub effective_height: u64,
    /// The validator to add (or whose power to set); power 0 removes it.
    pub validator: Validator,
}

impl Encode for PendingChange {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        s.put(&self.effective_height.to_le_bytes());
        self.validator.encode_to(s);
    }
}

impl Decode for PendingChange {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(PendingChange {
            effective_height: r.u64("change height")?,
            validator: Validator::decode(r)?,
        })
    }
}

/// The consensus state after the block at `height`: the set that finalizes
/// the next block, its proposer priorities, the set after that, and changes
/// scheduled for later heights.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ConsensusRecord {
    /// Height of the block this state follows.
    pub height: u64,
    /// The set that finalizes block `height + 1`.
    pub validators: ValidatorSet,
    /// Proposer priorities of `validators` (same order) before the proposer
    /// of block `height + 1` is chosen.
    pub priorities: Vec<i64>,
    /// The set that finalizes block `height + 2`.
    pub next_validators: ValidatorSet,
    /// Changes for heights after `height + 2`, by height.
    pub pending: Vec<PendingChange>,
    /// On staking chains: the set the last epoch boundary elected and the
    /// first height it finalizes (ADR 0033, ADR 0034). It replaces
    /// `next_validators` two heights before then.
    pub scheduled: Option<ScheduledSet>,
}

/// A whole validator set scheduled to take over at a later height: what an
/// election at an epoch boundary produces.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ScheduledSet {
    /// First height the set finalizes.
    pub effective_height: u64,
    /// The set.
    pub set: ValidatorSet,
}

impl ConsensusRecord {
    /// The hash the block's header carries as `state_root`.
    pub fn hash(&self) -> Hash {
        CONSENSUS_STATE.hash(&self.encode())
    }
}

impl Encode for ConsensusRecord {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        s.put(&self.height.to_le_bytes());
        self.validators.encode_to(s);
        for p in &self.priorities {
            s.put(&p.to_le_bytes());
        }
        self.next_validators.encode_to(s);
        put_seq(s, &self.pending);
        // Written only when present, behind a tag: a record without one
        // encodes (and hashes) exactly as before scheduled sets existed,
        // so authority chains' states and stored records are unchanged.
        if let Some(sch) = &self.scheduled {
            s.put(&[1]);
            s.put(&sch.effective_height.to_le_bytes());
            sch.set.encode_to(s);
        }
    }
}

impl Decode for ConsensusRecord {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let height = r.u64("consensus height")?;
        let validators = ValidatorSet::decode(r)?;
        let mut priorities = Vec::with_capacity(validators.len());
        for _ in 0..validators.len() {
            priorities.push(r.u64("proposer priority")? as i64);
        }
        Ok(ConsensusRecord {
            height,
            validators,
            priorities,
            next_validators: ValidatorSet::decode(r)?,
            pending: r.seq(
                "pending changes",
                MAX_VALIDATORS as u64,
                PendingChange::decode,
            )?,
            scheduled: if r.remaining() == 0 {
                None
            } else {
                if r.u8("scheduled set tag")? != 1 {
                    return Err(DecodeError::OutOfRange {
                        field: "scheduled set tag",
                    });
                }
                Some(ScheduledSet {
                    effective_height: r.u64("scheduled set height")?,
                    set: ValidatorSet::decode(r)?,
                })
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use luminex_primitives::SchemeId;

    fn v(b: u8, power: u64) -> Validator {
        Validator {
            public_key: PublicKey {
                scheme: SchemeId::MlDsa65,
                bytes: vec![b; 8],
            },
            power,
        }
    }

    #[test]
    fn thresholds() {
        let s = ValidatorSet::new(vec![v(1, 1), v(2, 1), v(3, 1), v(4, 1)]).unwrap();
        assert_eq!((s.quorum(), s.one_third_plus()), (3, 2));
        let s = ValidatorSet::new(vec![v(1, 10), v(2, 20), v(3, 30)]).unwrap();
        assert_eq!((s.quorum(), s.one_third_plus()), (41, 21));
    }

    #[test]
    fn bad_sets_are_refused() {
        assert_eq!(ValidatorSet::new(vec![]), Err(ValidatorSetError::Empty));
        assert!(matches!(
            ValidatorSet::new(vec![v(1, 0)]),
            Err(ValidatorSetError::ZeroPower(_))
        ));
        assert!(matches!(
            ValidatorSet::new(vec![v(1, 1), v(1, 2)]),
            Err(ValidatorSetError::Duplicate(_))
        ));
        assert_eq!(
            ValidatorSet::new(vec![v(1, MAX_TOTAL_POWER), v(2, 1)]),
            Err(ValidatorSetError::TooMuchPower)
        );
    }

    #[test]
    fn record_round_trip_and_order() {
        let set = ValidatorSet::new(vec![v(3, 1), v(1, 2), v(2, 3)]).unwrap();
        let ids: Vec<Hash> = set.validators().iter().map(|x| x.id()).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
        let rec = ConsensusRecord {
            height: 4,
            validators: set.clone(),
            priorities: vec![-3, 0, 3],
            next_validators: set,
            pending: vec![PendingChange {
                effective_height: 9,
                validator: v(7, 0),
            }],
            scheduled: None,
        };
        assert_eq!(ConsensusRecord::decode_all(&rec.encode()).unwrap(), rec);
        let plain = rec.encode();
        let rec = ConsensusRecord {
            scheduled: Some(ScheduledSet {
                effective_height: 21,
                set: ValidatorSet::new(vec![v(5, 9)]).unwrap(),
            }),
            ..rec
        };
        let with = rec.encode();
        assert_eq!(ConsensusRecord::decode_all(&with).unwrap(), rec);
        assert_eq!(&with[..plain.len()], &plain[..], "the schedule is a suffix");
        let mut bad = with.clone();
        bad[plain.len()] = 2;
        assert!(ConsensusRecord::decode_all(&bad).is_err());
        let mut other = rec.clone();
        other.priorities[0] += 1;
        assert_ne!(other.hash(), rec.hash());
    }
}
