//! The staking state as key–value entries, for storage: one entry per
//! validator, delegation, unbonding entry, node, jail, account, heartbeat,
//! reward lock, punished offence, liveness record, epoch work record,
//! unseated election and entry of stake bonded this epoch,
//! so a block writes only the entries it changed, in the same batch as the
//! block, and a node loads the state by scanning the keyspace.
//!
//! Keys start with a one-byte kind; integers in keys are big-endian, so a
//! scan returns each kind in the state's own order (unbonding entries by
//! release height). Values are the canonical encodings; the pot and burned
//! totals are single entries, absent while zero.

use luminex_primitives::codec::{Decode, DecodeError, Encode};
use luminex_primitives::{Amount, Hash, Lock, OutPoint};

use super::state::{
    EpochWork, JailEntry, Liveness, RegisteredNode, StakingChange, StakingState, StakingUndo,
    UnbondingEntry, UnbondingKey, ValidatorStake,
};

const VALIDATOR: u8 = 1;
const DELEGATION: u8 = 2;
const UNBONDING: u8 = 3;
const NODE: u8 = 4;
const JAIL: u8 = 5;
const ACCOUNT: u8 = 6;
const POT: u8 = 7;
const BURNED: u8 = 8;
const HEARTBEAT: u8 = 9;
const REWARD_LOCK: u8 = 10;

/// A total's entry: absent while zero.
fn total(amount: Amount) -> Option<Vec<u8>> {
    (amount > Amount::ZERO).then(|| amount.encode())
}
const PUNISHED: u8 = 11;
const LIVENESS: u8 = 12;
const WORK: u8 = 13;
const UNSEATED: u8 = 14;
const FRESH: u8 = 15;

/// One write to the staking keyspace: the entry's key, and its value or
/// `None` to delete it.
pub type StakingWrite = (Vec<u8>, Option<Vec<u8>>);

fn key(kind: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut k = vec![kind];
    for p in parts {
        k.extend_from_slice(p);
    }
    k
}

fn unbonding_key(k: &UnbondingKey) -> Vec<u8> {
    key(
        UNBONDING,
        &[
            &k.release_height.to_be_bytes(),
            &k.outpoint.txid.0,
            &k.outpoint.vout.to_be_bytes(),
        ],
    )
}

fn hash_at(bytes: &[u8], at: usize) -> Result<Hash, DecodeError> {
    bytes
        .get(at..at + 32)
        .and_then(Hash::from_slice)
        .ok_or(DecodeError::UnexpectedEnd("staking key"))
}

fn exact(bytes: &[u8], len: usize) -> Result<(), DecodeError> {
    if bytes.len() == len {
        Ok(())
    } else {
        Err(DecodeError::OutOfRange {
            field: "staking key",
        })
    }
}

impl StakingState {
    /// Every entry of the state, in key order: what a store writes for a
    /// state it does not have yet.
    pub fn entries(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut out = Vec::new();
        for (id, v) in &self.validators {
            out.push((key(VALIDATOR, &[&id.0]), v.encode()));
        }
        for ((v, d), a) in &self.delegations {
            out.push((key(DELEGATION, &[&v.0, &d.0]), a.encode()));
        }
        for (k, e) in &self.unbonding {
            out.push((unbonding_key(k), e.encode()));
        }
        for (id, n) in &self.nodes {
            out.push((key(NODE, &[&id.0]), n.encode()));
        }
        for (id, j) in &self.jails {
            out.push((key(JAIL, &[&id.0]), j.encode()));
        }
        for lock in &self.accounts {
            out.push((key(ACCOUNT, &[&lock.encode()]), Vec::new()));
        }
        if let Some(v) = total(self.pot) {
            out.push((vec![POT], v));
        }
        if let Some(v) = total(self.burned) {
            out.push((vec![BURNED], v));
        }
        for (id, e) in &self.heartbeats {
            out.push((key(HEARTBEAT, &[&id.0]), e.to_le_bytes().to_vec()));
        }
        for (id, l) in &self.reward_locks {
            out.push((key(REWARD_LOCK, &[&id.0]), l.encode()));
        }
        for (h, id) in &self.punished {
            out.push((key(PUNISHED, &[&h.to_be_bytes(), &id.0]), Vec::new()));
        }
        for (id, l) in &self.liveness {
            out.push((key(LIVENESS, &[&id.0]), l.encode()));
        }
        for (id, w) in &self.work {
            out.push((key(WORK, &[&id.0]), w.encode()));
        }
        for h in &self.unseated {
            out.push((key(UNSEATED, &[&h.to_be_bytes()]), Vec::new()));
        }
        for ((v, o), a) in &self.fresh {
            out.push((key(FRESH, &[&v.0, &o.0]), a.encode()));
        }
        out
    }

    /// The state whose entries are `entries` (any order), as a store
    /// loads it.
    pub fn from_entries<K: AsRef<[u8]>, V: AsRef<[u8]>>(
        entries: impl IntoIterator<Item = (K, V)>,
    ) -> Result<StakingState, DecodeError> {
        let mut s = StakingState::default();
        for (k, v) in entries {
            let (k, v) = (k.as_ref(), v.as_ref());
            let Some((&kind, rest)) = k.split_first() else {
                return Err(DecodeError::UnexpectedEnd("staking key"));
            };
            match kind {
                VALIDATOR => {
                    exact(rest, 32)?;
                    s.validators
                        .insert(hash_at(rest, 0)?, ValidatorStake::decode_all(v)?);
                }
                DELEGATION => {
                    exact(rest, 64)?;
                    s.delegations.insert(
                        (hash_at(rest, 0)?, hash_at(rest, 32)?),
                        Amount::decode_all(v)?,
                    );
                }
                UNBONDING => {
                    exact(rest, 44)?;
                    let mut h = [0u8; 8];
                    h.copy_from_slice(&rest[..8]);
                    let mut vout = [0u8; 4];
                    vout.copy_from_slice(&rest[40..]);
                    let k = UnbondingKey {
                        release_height: u64::from_be_bytes(h),
                        outpoint: OutPoint {
                            txid: hash_at(rest, 8)?,
                            vout: u32::from_be_bytes(vout),
                        },
                    };
                    s.unbonding.insert(k, UnbondingEntry::decode_all(v)?);
                }
                NODE => {
                    exact(rest, 32)?;
                    s.nodes
                        .insert(hash_at(rest, 0)?, RegisteredNode::decode_all(v)?);
                }
                JAIL => {
                    exact(rest, 32)?;
                    s.jails.insert(hash_at(rest, 0)?, JailEntry::decode_all(v)?);
                }
                ACCOUNT => {
                    exact(v, 0)?;
                    s.accounts.insert(Lock::decode_all(rest)?);
                }
                POT => {
                    exact(rest, 0)?;
                    s.pot = Amount::decode_all(v)?;
                }
                PUNISHED => {
                    exact(rest, 40)?;
                    exact(v, 0)?;
                    let mut h = [0u8; 8];
                    h.copy_from_slice(&rest[..8]);
                    s.punished
                        .insert((u64::from_be_bytes(h), hash_at(rest, 8)?));
                }
                LIVENESS => {
                    exact(rest, 32)?;
                    s.liveness
                        .insert(hash_at(rest, 0)?, Liveness::decode_all(v)?);
                }
                UNSEATED => {
                    exact(rest, 8)?;
                    exact(v, 0)?;
                    let mut h = [0u8; 8];
                    h.copy_from_slice(rest);
                    s.unseated.insert(u64::from_be_bytes(h));
                }
                FRESH => {
                    exact(rest, 64)?;
                    s.fresh.insert(
                        (hash_at(rest, 0)?, hash_at(rest, 32)?),
                        Amount::decode_all(v)?,
                    );
                }
                WORK => {
                    exact(rest, 32)?;
                    s.work.insert(hash_at(rest, 0)?, EpochWork::decode_all(v)?);
                }
                BURNED => {
                    exact(rest, 0)?;
                    s.burned = Amount::decode_all(v)?;
                }
                HEARTBEAT => {
                    exact(rest, 32)?;
                    exact(v, 8)?;
                    let mut e = [0u8; 8];
                    e.copy_from_slice(v);
                    s.heartbeats
                        .insert(hash_at(rest, 0)?, u64::from_le_bytes(e));
                }
                REWARD_LOCK => {
                    exact(rest, 32)?;
                    s.reward_locks
                        .insert(hash_at(rest, 0)?, Lock::decode_all(v)?);
                }
                tag => {
                    return Err(DecodeError::UnknownTag {
                        field: "staking key",
                        tag: tag.into(),
                    })
                }
            }
        }
        Ok(s)
    }

    /// The writes that bring a stored copy of the state up to `self` after
    /// the changes recorded in `undo`: each key they touched, once, with
    /// its value in `self` (or a delete). The same call serves both
    /// directions: after connecting a block (`self` the state after it)
    /// and after disconnecting it (`self` the state [`StakingState::undo`]
    /// restored), with that block's undo data.
    pub fn writes(&self, undo: &StakingUndo) -> Vec<StakingWrite> {
        let mut keys: Vec<(Vec<u8>, &StakingChange)> = undo
            .changes
            .iter()
            .map(|c| {
                let k = match c {
                    StakingChange::Validator(id, _) => key(VALIDATOR, &[&id.0]),
                    StakingChange::Delegation(v, d, _) => key(DELEGATION, &[&v.0, &d.0]),
                    StakingChange::Unbonding(k, _) => unbonding_key(k),
                    StakingChange::Node(id, _) => key(NODE, &[&id.0]),
                    StakingChange::Jail(id, _) => key(JAIL, &[&id.0]),
                    StakingChange::Account(lock, _) => key(ACCOUNT, &[&lock.encode()]),
                    StakingChange::Pot(_) => vec![POT],
                    StakingChange::Burned(_) => vec![BURNED],
                    StakingChange::Heartbeat(id, _) => key(HEARTBEAT, &[&id.0]),
                    StakingChange::RewardLock(id, _) => key(REWARD_LOCK, &[&id.0]),
                    StakingChange::Punished(h, id, _) => key(PUNISHED, &[&h.to_be_bytes(), &id.0]),
                    StakingChange::Liveness(id, _) => key(LIVENESS, &[&id.0]),
                    StakingChange::Work(id, _) => key(WORK, &[&id.0]),
                    StakingChange::Unseated(h, _) => key(UNSEATED, &[&h.to_be_bytes()]),
                    StakingChange::Fresh(v, o, _) => key(FRESH, &[&v.0, &o.0]),
                };
                (k, c)
            })
            .collect();
        keys.sort_by(|a, b| a.0.cmp(&b.0));
        keys.dedup_by(|a, b| a.0 == b.0);
        keys.into_iter()
            .map(|(k, c)| {
                let value = match c {
                    StakingChange::Validator(id, _) => self.validators.get(id).map(Encode::encode),
                    StakingChange::Delegation(v, d, _) => {
                        self.delegations.get(&(*v, *d)).map(Encode::encode)
                    }
                    StakingChange::Unbonding(u, _) => self.unbonding.get(u).map(Encode::encode),
                    StakingChange::Node(id, _) => self.nodes.get(id).map(Encode::encode),
                    StakingChange::Jail(id, _) => self.jails.get(id).map(Encode::encode),
                    StakingChange::Account(lock, _) => self.accounts.contains(lock).then(Vec::new),
                    StakingChange::Pot(_) => total(self.pot),
                    StakingChange::Burned(_) => total(self.burned),
                    StakingChange::Heartbeat(id, _) => {
                        self.heartbeats.get(id).map(|e| e.to_le_bytes().to_vec())
                    }
                    StakingChange::RewardLock(id, _) => {
                        self.reward_locks.get(id).map(Encode::encode)
                    }
                    StakingChange::Punished(h, id, _) => {
                        self.punished.contains(&(*h, *id)).then(Vec::new)
                    }
                    StakingChange::Liveness(id, _) => self.liveness.get(id).map(Encode::encode),
                    StakingChange::Work(id, _) => self.work.get(id).map(Encode::encode),
                    StakingChange::Unseated(h, _) => self.unseated.contains(h).then(Vec::new),
                    StakingChange::Fresh(v, o, _) => self.fresh.get(&(*v, *o)).map(Encode::encode),
                };
                (k, value)
            })
            .collect()
    }
}
