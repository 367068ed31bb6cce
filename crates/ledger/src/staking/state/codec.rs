//! The canonical encoding of the staking state and of what undoes its
//! changes: every map in key order, so the bytes (and the state's hash) are
//! the same on every node.

use super::*;

impl Encode for ValidatorStake {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        self.public_key.encode_to(s);
        self.self_bond.encode_to(s);
        self.delegated.encode_to(s);
    }
}

impl Decode for ValidatorStake {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(ValidatorStake {
            public_key: PublicKey::decode(r)?,
            self_bond: Amount::decode(r)?,
            delegated: Amount::decode(r)?,
        })
    }
}

impl Encode for UnbondingKey {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        s.put(&self.release_height.to_le_bytes());
        self.outpoint.encode_to(s);
    }
}

impl Decode for UnbondingKey {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(UnbondingKey {
            release_height: r.u64("release height")?,
            outpoint: OutPoint::decode(r)?,
        })
    }
}

impl Encode for UnbondingEntry {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        self.validator.encode_to(s);
        self.owner.encode_to(s);
        self.amount.encode_to(s);
        self.payout.encode_to(s);
    }
}

impl Decode for UnbondingEntry {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(UnbondingEntry {
            validator: Hash::decode(r)?,
            owner: Hash::decode(r)?,
            amount: Amount::decode(r)?,
            payout: Lock::decode(r)?,
        })
    }
}

impl Encode for RegisteredNode {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        self.public_key.encode_to(s);
        self.payout.encode_to(s);
        s.put(&self.height.to_le_bytes());
    }
}

impl Decode for RegisteredNode {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(RegisteredNode {
            public_key: PublicKey::decode(r)?,
            payout: Lock::decode(r)?,
            height: r.u64("registration height")?,
        })
    }
}

fn put_bool<S: Sink>(s: &mut S, b: bool) {
    s.put(&[u8::from(b)]);
}

fn read_bool(r: &mut Reader<'_>, what: &'static str) -> Result<bool, DecodeError> {
    match r.u8(what)? {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(DecodeError::OutOfRange { field: what }),
    }
}

impl Encode for JailEntry {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        s.put(&self.until.to_le_bytes());
        put_bool(s, self.slashed);
    }
}

impl Decode for JailEntry {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(JailEntry {
            until: r.u64("jail until")?,
            slashed: read_bool(r, "jail slashed flag")?,
        })
    }
}

fn put_map<S: Sink, K, V>(s: &mut S, map: &BTreeMap<K, V>, mut f: impl FnMut(&mut S, &K, &V)) {
    put_length(s, map.len());
    for (k, v) in map {
        f(s, k, v);
    }
}

/// Decodes a map whose keys must come in strictly increasing order (one
/// encoding per state).
fn read_map<K: Ord + Clone, V>(
    r: &mut Reader<'_>,
    what: &'static str,
    mut item: impl FnMut(&mut Reader<'_>) -> Result<(K, V), DecodeError>,
) -> Result<BTreeMap<K, V>, DecodeError> {
    let items = r.seq(what, MAX_ENTRIES, |r| item(r))?;
    let mut map = BTreeMap::new();
    let mut last: Option<K> = None;
    for (k, v) in items {
        if last.as_ref().is_some_and(|l| *l >= k) {
            return Err(DecodeError::OutOfRange { field: what });
        }
        last = Some(k.clone());
        map.insert(k, v);
    }
    Ok(map)
}

impl Encode for StakingState {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        put_map(s, &self.validators, |s, k, v| {
            k.encode_to(s);
            v.encode_to(s);
        });
        put_map(s, &self.delegations, |s, (v, d), a| {
            v.encode_to(s);
            d.encode_to(s);
            a.encode_to(s);
        });
        put_map(s, &self.unbonding, |s, k, e| {
            k.encode_to(s);
            e.encode_to(s);
        });
        put_map(s, &self.nodes, |s, k, n| {
            k.encode_to(s);
            n.encode_to(s);
        });
        put_map(s, &self.jails, |s, k, j| {
            k.encode_to(s);
            j.encode_to(s);
        });
        put_length(s, self.accounts.len());
        for a in &self.accounts {
            a.encode_to(s);
        }
        self.pot.encode_to(s);
        self.burned.encode_to(s);
        put_map(s, &self.heartbeats, |s, k, e| {
            k.encode_to(s);
            s.put(&e.to_le_bytes());
        });
        put_map(s, &self.reward_locks, |s, k, l| {
            k.encode_to(s);
            l.encode_to(s);
        });
        put_length(s, self.punished.len());
        for (h, id) in &self.punished {
            s.put(&h.to_le_bytes());
            id.encode_to(s);
        }
        put_map(s, &self.liveness, |s, k, l| {
            k.encode_to(s);
            l.encode_to(s);
        });
        // Optional sections, each behind its tag in increasing order and
        // written only while non-empty (ADR 0068, 0069): a state without
        // them — every genesis, every chain without certificates — encodes
        // and hashes exactly as before they existed.
        if !self.work.is_empty() {
            s.put(&[WORK_SECTION]);
            put_map(s, &self.work, |s, k, w| {
                k.encode_to(s);
                w.encode_to(s);
            });
        }
        if !self.unseated.is_empty() {
            s.put(&[UNSEATED_SECTION]);
            put_length(s, self.unseated.len());
            for h in &self.unseated {
                s.put(&h.to_le_bytes());
            }
        }
        if !self.fresh.is_empty() {
            s.put(&[FRESH_SECTION]);
            put_map(s, &self.fresh, |s, (v, o), a| {
                v.encode_to(s);
                o.encode_to(s);
                a.encode_to(s);
            });
        }
    }
}

impl Encode for Liveness {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        s.put(&self.since.to_le_bytes());
        put_length(s, self.missed.len());
        for h in &self.missed {
            s.put(&h.to_le_bytes());
        }
    }
}

impl Decode for Liveness {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let since = r.u64("liveness since")?;
        let missed = r.seq("missed commits", MAX_ENTRIES, |r| r.u64("missed commit"))?;
        if missed.windows(2).any(|w| w[0] >= w[1]) {
            return Err(DecodeError::OutOfRange {
                field: "missed commits",
            });
        }
        Ok(Liveness { since, missed })
    }
}

/// Tag of the state encoding's epoch work section (ADR 0068).
const WORK_SECTION: u8 = 1;
/// Tag of its section of unseated elections (ADR 0069).
const UNSEATED_SECTION: u8 = 2;
/// Tag of its section of stake bonded this epoch (ADR 0071).
const FRESH_SECTION: u8 = 3;

impl Encode for EpochWork {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        s.put(&self.signed_power.to_le_bytes());
        self.lock.encode_to(s);
    }
}

impl Decode for EpochWork {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(EpochWork {
            signed_power: u128::from_le_bytes(r.array("signed power")?),
            lock: Lock::decode(r)?,
        })
    }
}

impl Decode for StakingState {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let validators = read_map(r, "validators", |r| {
            Ok((Hash::decode(r)?, ValidatorStake::decode(r)?))
        })?;
        let delegations = read_map(r, "delegations", |r| {
            Ok(((Hash::decode(r)?, Hash::decode(r)?), Amount::decode(r)?))
        })?;
        let unbonding = read_map(r, "unbonding", |r| {
            Ok((UnbondingKey::decode(r)?, UnbondingEntry::decode(r)?))
        })?;
        let nodes = read_map(r, "nodes", |r| {
            Ok((Hash::decode(r)?, RegisteredNode::decode(r)?))
        })?;
        let jails = read_map(r, "jails", |r| {
            Ok((Hash::decode(r)?, JailEntry::decode(r)?))
        })?;
        let accounts = read_map(r, "accounts", |r| Ok((Lock::decode(r)?, ())))?
            .into_keys()
            .collect();
        let pot = Amount::decode(r)?;
        let burned = Amount::decode(r)?;
        let heartbeats = read_map(r, "heartbeats", |r| {
            Ok((Hash::decode(r)?, r.u64("heartbeat epoch")?))
        })?;
        let reward_locks = read_map(r, "reward locks", |r| {
            Ok((Hash::decode(r)?, Lock::decode(r)?))
        })?;
        let punished = read_map(r, "punished", |r| {
            Ok(((r.u64("punished height")?, Hash::decode(r)?), ()))
        })?
        .into_keys()
        .collect();
        let liveness = read_map(r, "liveness", |r| {
            Ok((Hash::decode(r)?, Liveness::decode(r)?))
        })?;
        let mut work = BTreeMap::new();
        let mut unseated = BTreeSet::new();
        let mut fresh = BTreeMap::new();
        let mut last_tag = 0u8;
        while r.remaining() > 0 {
            let tag = r.u8("staking state section")?;
            // One encoding per state: sections in tag order, each once and
            // never empty.
            if tag <= last_tag {
                return Err(DecodeError::OutOfRange {
                    field: "staking state section",
                });
            }
            last_tag = tag;
            let empty = match tag {
                WORK_SECTION => {
                    work = read_map(r, "epoch work", |r| {
                        Ok((Hash::decode(r)?, EpochWork::decode(r)?))
                    })?;
                    work.is_empty()
                }
                UNSEATED_SECTION => {
                    unseated = read_map(r, "unseated elections", |r| {
                        Ok((r.u64("unseated election")?, ()))
                    })?
                    .into_keys()
                    .collect();
                    unseated.is_empty()
                }
                FRESH_SECTION => {
                    fresh = read_map(r, "fresh stake", |r| {
                        let key = (Hash::decode(r)?, Hash::decode(r)?);
                        let amount = Amount::decode(r)?;
                        if amount == Amount::ZERO {
                            return Err(DecodeError::OutOfRange {
                                field: "fresh stake",
                            });
                        }
                        Ok((key, amount))
                    })?;
                    fresh.is_empty()
                }
                tag => {
                    return Err(DecodeError::UnknownTag {
                        field: "staking state section",
                        tag: tag.into(),
                    })
                }
            };
            if empty {
                return Err(DecodeError::OutOfRange {
                    field: "staking state section",
                });
            }
        }
        Ok(StakingState {
            validators,
            delegations,
            unbonding,
            nodes,
            jails,
            accounts,
            pot,
            burned,
            heartbeats,
            reward_locks,
            punished,
            liveness,
            work,
            unseated,
            fresh,
        })
    }
}

fn put_option<S: Sink, T>(s: &mut S, v: &Option<T>, f: impl FnOnce(&mut S, &T)) {
    match v {
        None => s.put(&[0]),
        Some(v) => {
            s.put(&[1]);
            f(s, v);
        }
    }
}

fn read_option<T>(
    r: &mut Reader<'_>,
    what: &'static str,
    f: impl FnOnce(&mut Reader<'_>) -> Result<T, DecodeError>,
) -> Result<Option<T>, DecodeError> {
    Ok(if read_bool(r, what)? {
        Some(f(r)?)
    } else {
        None
    })
}

impl Encode for StakingChange {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        match self {
            StakingChange::Validator(id, v) => {
                s.put(&[0]);
                id.encode_to(s);
                put_option(s, v, |s, v| v.encode_to(s));
            }
            StakingChange::Delegation(v, d, a) => {
                s.put(&[1]);
                v.encode_to(s);
                d.encode_to(s);
                put_option(s, a, |s, a| a.encode_to(s));
            }
            StakingChange::Unbonding(k, e) => {
                s.put(&[2]);
                k.encode_to(s);
                put_option(s, e, |s, e| e.encode_to(s));
            }
            StakingChange::Node(id, n) => {
                s.put(&[3]);
                id.encode_to(s);
                put_option(s, n, |s, n| n.encode_to(s));
            }
            StakingChange::Jail(id, j) => {
                s.put(&[4]);
                id.encode_to(s);
                put_option(s, j, |s, j| j.encode_to(s));
            }
            StakingChange::Account(lock, existed) => {
                s.put(&[5]);
                lock.encode_to(s);
                put_bool(s, *existed);
            }
            StakingChange::Pot(prior) => {
                s.put(&[6]);
                prior.encode_to(s);
            }
            StakingChange::Burned(prior) => {
                s.put(&[7]);
                prior.encode_to(s);
            }
            StakingChange::Heartbeat(id, prior) => {
                s.put(&[8]);
                id.encode_to(s);
                put_option(s, prior, |s, e| s.put(&e.to_le_bytes()));
            }
            StakingChange::RewardLock(id, prior) => {
                s.put(&[9]);
                id.encode_to(s);
                put_option(s, prior, |s, l| l.encode_to(s));
            }
            StakingChange::Punished(height, id, existed) => {
                s.put(&[10]);
                s.put(&height.to_le_bytes());
                id.encode_to(s);
                put_bool(s, *existed);
            }
            StakingChange::Liveness(id, l) => {
                s.put(&[11]);
                id.encode_to(s);
                put_option(s, l, |s, l| l.encode_to(s));
            }
            StakingChange::Work(id, w) => {
                s.put(&[12]);
                id.encode_to(s);
                put_option(s, w, |s, w| w.encode_to(s));
            }
            StakingChange::Unseated(height, existed) => {
                s.put(&[13]);
                s.put(&height.to_le_bytes());
                put_bool(s, *existed);
            }
            StakingChange::Fresh(v, o, prior) => {
                s.put(&[14]);
                v.encode_to(s);
                o.encode_to(s);
                put_option(s, prior, |s, a| a.encode_to(s));
            }
        }
    }
}

impl Decode for StakingChange {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        const W: &str = "staking undo value";
        Ok(match r.u8("staking change")? {
            0 => StakingChange::Validator(
                Hash::decode(r)?,
                read_option(r, W, ValidatorStake::decode)?,
            ),
            1 => StakingChange::Delegation(
                Hash::decode(r)?,
                Hash::decode(r)?,
                read_option(r, W, Amount::decode)?,
            ),
            2 => StakingChange::Unbonding(
                UnbondingKey::decode(r)?,
                read_option(r, W, UnbondingEntry::decode)?,
            ),
            3 => StakingChange::Node(Hash::decode(r)?, read_option(r, W, RegisteredNode::decode)?),
            4 => StakingChange::Jail(Hash::decode(r)?, read_option(r, W, JailEntry::decode)?),
            5 => StakingChange::Account(Lock::decode(r)?, read_bool(r, W)?),
            6 => StakingChange::Pot(Amount::decode(r)?),
            7 => StakingChange::Burned(Amount::decode(r)?),
            8 => StakingChange::Heartbeat(
                Hash::decode(r)?,
                read_option(r, W, |r| r.u64("heartbeat epoch"))?,
            ),
            9 => StakingChange::RewardLock(Hash::decode(r)?, read_option(r, W, Lock::decode)?),
            10 => StakingChange::Punished(
                r.u64("punished height")?,
                Hash::decode(r)?,
                read_bool(r, W)?,
            ),
            11 => StakingChange::Liveness(Hash::decode(r)?, read_option(r, W, Liveness::decode)?),
            12 => StakingChange::Work(Hash::decode(r)?, read_option(r, W, EpochWork::decode)?),
            13 => StakingChange::Unseated(r.u64("unseated election")?, read_bool(r, W)?),
            14 => StakingChange::Fresh(
                Hash::decode(r)?,
                Hash::decode(r)?,
                read_option(r, W, Amount::decode)?,
            ),
            tag => {
                return Err(DecodeError::UnknownTag {
                    field: "staking change",
                    tag: tag.into(),
                })
            }
        })
    }
}

impl Encode for StakingUndo {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        put_length(s, self.changes.len());
        for c in &self.changes {
            c.encode_to(s);
        }
        put_length(s, self.released.len());
        for (op, coin) in &self.released {
            op.encode_to(s);
            coin.encode_to(s);
        }
    }
}

impl Decode for StakingUndo {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(StakingUndo {
            changes: r.seq("staking changes", MAX_ENTRIES, StakingChange::decode)?,
            released: r.seq("released coins", MAX_ENTRIES, |r| {
                Ok((OutPoint::decode(r)?, Coin::decode(r)?))
            })?,
        })
    }
}
