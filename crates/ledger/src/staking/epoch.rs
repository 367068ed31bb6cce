//! Elections (ADR 0033): at each epoch boundary the staking state chooses
//! the validator set of the epoch after next — the top validators by
//! bonded power (`nextgen`, `almagill`), or a committee of registered
//! nodes drawn by a seed (`sidechain`). Both are pure functions of the
//! state (and the seed), so every node computes the same set.

use luminex_primitives::hash::Domain;
use luminex_primitives::{Amount, Hash};

use super::{StakingParams, StakingState};
use crate::validators::{Validator, ValidatorSet, ValidatorSetError};

/// Domain of the committee draw's per-node tickets.
const COMMITTEE: Domain = Domain("luminex/committee-draw");

/// Whether a block at `height` ends an epoch of `epoch_blocks` blocks (the
/// genesis block, height 0, ends none).
pub fn is_epoch_boundary(height: u64, epoch_blocks: u64) -> bool {
    height > 0 && epoch_blocks > 0 && height.is_multiple_of(epoch_blocks)
}

/// The epoch a height belongs to: blocks `1..=epoch_blocks` are epoch 0.
pub fn epoch_of(height: u64, epoch_blocks: u64) -> u64 {
    height.saturating_sub(1) / epoch_blocks.max(1)
}

impl StakingState {
    /// The validators an election by stake seats: those with at least
    /// `min_stake` of their own stake bonded that are not jailed, the `max`
    /// with the most power (ties to the lower id), each with its bonded
    /// power (own plus delegated, base units) as voting power. An error
    /// when no one qualifies: the chain keeps its set rather than stop.
    pub fn elect(&self, max: usize, min_stake: Amount) -> Result<ValidatorSet, ValidatorSetError> {
        ValidatorSet::new(
            self.top_by_power(max, min_stake)
                .into_iter()
                .map(|(_, v)| Validator {
                    public_key: v.public_key.clone(),
                    power: v.power(),
                })
                .collect(),
        )
    }

    /// The candidates an election by stake seats, most power first (ties
    /// to the lower id): those not jailed with at least `min_stake` of
    /// their own stake bonded, at most `max`. Delegated stake alone seats
    /// no one (ADR 0066): a validator that unstaked its own bond, or was
    /// slashed below the minimum, has nothing of its own at risk, and its
    /// delegators would bear every slash.
    pub fn top_by_power(
        &self,
        max: usize,
        min_stake: Amount,
    ) -> Vec<(Hash, &super::ValidatorStake)> {
        let mut candidates: Vec<(u64, Hash, &super::ValidatorStake)> = self
            .validators
            .iter()
            .filter(|(id, v)| {
                v.power() > 0
                    && v.self_bond >= min_stake
                    && v.self_bond > Amount::ZERO
                    && !self.jails.contains_key(*id)
            })
            .map(|(id, v)| (v.power(), *id, v))
            .collect();
        // Most power first, then the lower id: a total order, so the cut
        // at `max` is the same everywhere.
        candidates.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        candidates.truncate(max);
        candidates.into_iter().map(|(_, id, v)| (id, v)).collect()
    }

    /// A committee of `size` registered nodes (all of them when fewer),
    /// drawn uniformly without replacement by `seed`, the hash of the block
    /// at `seed_height`: each node's ticket is a tagged hash of the seed
    /// and its id, and the lowest tickets win. Only nodes registered at or
    /// before `seed_height` take part — otherwise anyone who saw the seed
    /// could make keys offline until one draws a low ticket and register
    /// it — and of those only the ones with at least `min_stake` of their
    /// own stake bonded that are not jailed (ADR 0063: a registration is
    /// stake at risk, and a node slashed or jailed sits out). Members vote
    /// with power 1 each.
    ///
    /// Nodes live since epoch `live_since` — a heartbeat in it or later
    /// (ADR 0038) — are drawn first, the others only for the seats left
    /// (ADR 0074): a node registered but not running would otherwise hold
    /// a seat, and a third of the committee absent stops the chain before
    /// downtime could jail anyone.
    pub fn draw_committee(
        &self,
        seed: &Hash,
        seed_height: u64,
        live_since: u64,
        size: usize,
        min_stake: Amount,
    ) -> Result<ValidatorSet, ValidatorSetError> {
        let mut tickets: Vec<(bool, Hash, &super::RegisteredNode)> = self
            .nodes
            .iter()
            .filter(|(id, node)| {
                node.height <= seed_height
                    && !self.jails.contains_key(*id)
                    && self
                        .validators
                        .get(*id)
                        .is_some_and(|v| v.self_bond >= min_stake)
            })
            .map(|(id, node)| {
                let mut h = COMMITTEE.hasher();
                h.update(seed.as_bytes());
                h.update(id.as_bytes());
                let idle = self.heartbeats.get(id).is_none_or(|e| *e < live_since);
                (idle, h.finish(), node)
            })
            .collect();
        // Live nodes first, each group by ticket.
        tickets.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.as_bytes().cmp(b.1.as_bytes())));
        tickets.truncate(size);
        ValidatorSet::new(
            tickets
                .into_iter()
                .map(|(_, _, node)| Validator {
                    public_key: node.public_key.clone(),
                    power: 1,
                })
                .collect(),
        )
    }

    /// The set the spec's election seats from this state: a committee when
    /// `params.committee_size` is set (drawn by `seed`, the hash of the
    /// block at `seed_height`, live nodes first: a heartbeat in the epoch
    /// of the seed block or later — the two epochs before the election's
    /// boundary), else the top validators by power.
    pub fn election(
        &self,
        params: &StakingParams,
        seed: &Hash,
        seed_height: u64,
    ) -> Result<ValidatorSet, ValidatorSetError> {
        match params.committee_size {
            Some(size) => self.draw_committee(
                seed,
                seed_height,
                super::epoch_of(seed_height, params.epoch_blocks),
                size as usize,
                params.min_stake,
            ),
            None => self.elect(params.max_validators as usize, params.min_stake),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use luminex_primitives::{Amount, Lock, SchemeId};

    use super::*;
    use crate::staking::{JailEntry, RegisteredNode, ValidatorStake};

    use crate::staking::test_key as key;

    fn with_validators(stakes: &[(u8, u64, u64)]) -> StakingState {
        let mut s = StakingState::default();
        for (i, own, delegated) in stakes {
            let k = key(*i);
            s.validators.insert(
                k.key_hash(),
                ValidatorStake {
                    public_key: k,
                    self_bond: Amount::from_base(*own).unwrap(),
                    delegated: Amount::from_base(*delegated).unwrap(),
                },
            );
        }
        s
    }

    /// The minimum stake of the committee tests.
    const MIN: u64 = 100;

    /// `n` registered nodes, each with [`MIN`] of its own stake.
    fn with_nodes(n: u8) -> StakingState {
        let mut s = StakingState::default();
        for i in 0..n {
            let height = 1 + u64::from(i / 10);
            let k = key(i);
            s.validators.insert(
                k.key_hash(),
                ValidatorStake {
                    public_key: k.clone(),
                    self_bond: Amount::from_base(MIN).unwrap(),
                    delegated: Amount::ZERO,
                },
            );
            s.nodes.insert(
                k.key_hash(),
                RegisteredNode {
                    payout: Lock::Key {
                        scheme: SchemeId::MlDsa65,
                        key_hash: k.key_hash(),
                    },
                    public_key: k,
                    height,
                },
            );
        }
        s
    }

    #[test]
    fn boundaries_and_epochs() {
        assert!(!is_epoch_boundary(0, 10));
        assert!(is_epoch_boundary(10, 10));
        assert!(!is_epoch_boundary(11, 10));
        assert_eq!(epoch_of(1, 10), 0);
        assert_eq!(epoch_of(10, 10), 0);
        assert_eq!(epoch_of(11, 10), 1);
    }

    /// The top validators by own plus delegated power, not jailed, ties to
    /// the lower id, at most `max`.
    #[test]
    fn election_seats_the_most_power() {
        let mut s = with_validators(&[(1, 50, 0), (2, 10, 20), (3, 30, 0), (4, 5, 0), (5, 90, 0)]);
        s.jails.insert(
            key(5).key_hash(),
            JailEntry {
                until: 100,
                slashed: false,
            },
        );
        let set = s.elect(3, Amount::ZERO).unwrap();
        let seated: BTreeSet<Hash> = set.validators().iter().map(|v| v.id()).collect();
        // 2 and 3 tie at 30: the lower id of the two is seated.
        let (lo, hi) = if key(2).key_hash() < key(3).key_hash() {
            (2, 3)
        } else {
            (3, 2)
        };
        assert_eq!(
            seated,
            BTreeSet::from([key(1).key_hash(), key(2).key_hash(), key(3).key_hash()])
        );
        assert_eq!(set.total_power(), 50 + 30 + 30);
        let two = s.elect(2, Amount::ZERO).unwrap();
        let seated: BTreeSet<Hash> = two.validators().iter().map(|v| v.id()).collect();
        assert_eq!(
            seated,
            BTreeSet::from([key(1).key_hash(), key(lo).key_hash()])
        );
        assert!(!seated.contains(&key(hi).key_hash()));
        // Jailed or powerless validators alone elect no one.
        let empty = with_validators(&[(7, 0, 0)]);
        assert!(matches!(
            empty.elect(10, Amount::ZERO),
            Err(ValidatorSetError::Empty)
        ));
    }

    /// Delegations alone seat no one (ADR 0066): a validator whose own
    /// bond is gone, or below the minimum, is left out however much is
    /// delegated to it; at the minimum it sits.
    #[test]
    fn election_needs_the_minimum_of_own_stake() {
        let s = with_validators(&[(1, 0, 500), (2, 99, 400), (3, 100, 0), (4, 150, 10)]);
        let set = s.elect(10, min()).unwrap();
        let seated: BTreeSet<Hash> = set.validators().iter().map(|v| v.id()).collect();
        assert_eq!(
            seated,
            BTreeSet::from([key(3).key_hash(), key(4).key_hash()])
        );
        assert_eq!(set.total_power(), 100 + 160);
        let top = s.top_by_power(10, min());
        assert_eq!(top.len(), 2);
        // Without a minimum, an own bond of zero still seats no one.
        let any = s.elect(10, Amount::ZERO).unwrap();
        assert_eq!(any.validators().len(), 3);
        let only_delegated = with_validators(&[(1, 0, 500)]);
        assert!(matches!(
            only_delegated.elect(10, Amount::ZERO),
            Err(ValidatorSetError::Empty)
        ));
    }

    fn min() -> Amount {
        Amount::from_base(MIN).unwrap()
    }

    /// Only registrations with stake at risk sit (ADR 0063): a node whose
    /// own stake fell below the minimum (slashed), or that has none, or
    /// that is jailed, is left out of the draw.
    #[test]
    fn a_committee_seats_only_staked_nodes_out_of_jail() {
        let mut s = with_nodes(12);
        let (slashed, unstaked, jailed) = (key(0).key_hash(), key(1).key_hash(), key(2).key_hash());
        s.validators.get_mut(&slashed).unwrap().self_bond = Amount::from_base(MIN - 1).unwrap();
        s.validators.remove(&unstaked);
        s.jails.insert(
            jailed,
            JailEntry {
                until: 100,
                slashed: false,
            },
        );
        for i in 0..20 {
            let c = s.draw_committee(&Hash([i; 32]), 2, 0, 12, min()).unwrap();
            let ids: BTreeSet<Hash> = c.validators().iter().map(|v| v.id()).collect();
            assert_eq!(ids.len(), 9);
            assert!(!ids.contains(&slashed) && !ids.contains(&unstaked) && !ids.contains(&jailed));
        }
    }

    /// A committee is the same for the same seed, another for another
    /// seed, of the asked size (or every node), and over many seeds every
    /// node sits in one.
    #[test]
    fn committees_are_drawn_by_the_seed() {
        // Nodes 0–9 registered at height 1, 10–19 at 2, 20–29 at 3.
        let s = with_nodes(30);
        let seed = |i: u8| Hash([i; 32]);
        let a = s.draw_committee(&seed(1), 3, 0, 10, min()).unwrap();
        assert_eq!(a.len(), 10);
        assert_eq!(a, s.draw_committee(&seed(1), 3, 0, 10, min()).unwrap());
        assert_ne!(a, s.draw_committee(&seed(2), 3, 0, 10, min()).unwrap());
        assert!(a.validators().iter().all(|v| v.power == 1));
        let mut sat = BTreeSet::new();
        for i in 0..100 {
            let c = s.draw_committee(&seed(i), 3, 0, 10, min()).unwrap();
            sat.extend(c.validators().iter().map(|v| v.id()));
        }
        assert_eq!(sat.len(), 30);
        // Nodes registered after the seed's block take no part.
        let early: BTreeSet<Hash> = (0..10).map(|i| key(i).key_hash()).collect();
        for i in 0..20 {
            let c = s.draw_committee(&seed(i), 1, 0, 10, min()).unwrap();
            let ids: BTreeSet<Hash> = c.validators().iter().map(|v| v.id()).collect();
            assert_eq!(ids, early);
        }
        assert_eq!(s.draw_committee(&seed(1), 2, 0, 5, min()).unwrap().len(), 5);
        assert!(s.draw_committee(&seed(1), 0, 0, 10, min()).is_err());
        assert_eq!(
            with_nodes(4)
                .draw_committee(&seed(1), 1, 0, 10, min())
                .unwrap()
                .len(),
            4
        );
        assert!(StakingState::default()
            .draw_committee(&seed(1), 9, 0, 10, min())
            .is_err());
    }

    /// Live nodes are drawn first (ADR 0074): with 30 registered and six
    /// of them live since epoch 4, every committee of ten holds the six,
    /// and four others by ticket; heartbeats before epoch 4 do not count;
    /// with twelve live, only live nodes sit. Without heartbeats the draw
    /// is the plain one.
    #[test]
    fn live_nodes_are_drawn_first() {
        let mut s = with_nodes(30);
        let seed = |i: u8| Hash([i; 32]);
        let plain = s.draw_committee(&seed(1), 3, 4, 10, min()).unwrap();
        assert_eq!(plain, s.draw_committee(&seed(1), 3, 0, 10, min()).unwrap());
        let live: BTreeSet<Hash> = (20..26).map(|i| key(i).key_hash()).collect();
        for (n, id) in live.iter().enumerate() {
            s.heartbeats.insert(*id, 4 + n as u64 % 2);
        }
        // An older heartbeat: not live since 4.
        s.heartbeats.insert(key(0).key_hash(), 3);
        for i in 0..20 {
            let c = s.draw_committee(&seed(i), 3, 4, 10, min()).unwrap();
            let ids: BTreeSet<Hash> = c.validators().iter().map(|v| v.id()).collect();
            assert_eq!(ids.len(), 10);
            assert!(live.is_subset(&ids), "{i}");
        }
        assert_eq!(
            s.draw_committee(&seed(1), 3, 6, 10, min()).unwrap(),
            plain,
            "nobody live since 6"
        );
        let more: BTreeSet<Hash> = (14..26).map(|i| key(i).key_hash()).collect();
        for id in &more {
            s.heartbeats.insert(*id, 5);
        }
        for i in 0..20 {
            let c = s.draw_committee(&seed(i), 3, 4, 10, min()).unwrap();
            assert!(c.validators().iter().all(|v| more.contains(&v.id())), "{i}");
        }
    }
}
