//! Finding a restored wallet's used addresses with a gap limit.
//!
//! A mnemonic recovers every key, but not how many were used. As BIP 44
//! and Electrum do, each chain is scanned from index 0 and the scan stops
//! after `gap` consecutive addresses that were never used: 20 on the
//! receive chain (addresses handed out may stay unpaid), 10 on the change
//! chain (every change address is used by the payment that made it).
//! Coins on an address further than `gap` past the last used one are not
//! found: restore again with a larger gap.

use luminex_ledger::ChainSpec;

use crate::{KeyChain, Wallet};

/// Default gap of the receive chain.
pub const RECEIVE_GAP: u32 = 20;
/// Default gap of the change chain.
pub const CHANGE_GAP: u32 = 10;

/// The scan of one chain: which index to ask about next, and when to stop.
#[derive(Debug, Clone)]
pub struct GapScan {
    gap: u32,
    next: u32,
    last_used: Option<u32>,
}

impl GapScan {
    /// A scan from index 0 stopping after `gap` unused addresses in a row.
    pub fn new(gap: u32) -> GapScan {
        GapScan {
            gap,
            next: 0,
            last_used: None,
        }
    }

    /// A scan of a chain whose first `kept` addresses the wallet already
    /// keeps: from index `kept`, stopping after `gap` unused in a row.
    pub fn after(kept: u32, gap: u32) -> GapScan {
        GapScan {
            gap,
            next: kept,
            last_used: kept.checked_sub(1),
        }
    }

    /// The index to ask about next, or `None` when the scan is over.
    pub fn next_index(&self) -> Option<u32> {
        let end = self
            .last_used
            .map_or(0, |u| u.saturating_add(1))
            .saturating_add(self.gap);
        (self.next < end).then_some(self.next)
    }

    /// Records whether the address at [`GapScan::next_index`] was used.
    pub fn report(&mut self, used: bool) {
        if used {
            self.last_used = Some(self.next);
        }
        self.next = self.next.saturating_add(1);
    }

    /// How many addresses are in use: one past the last used index.
    pub fn used(&self) -> u32 {
        self.last_used.map_or(0, |u| u.saturating_add(1))
    }
}

/// What a scan found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    /// Receive addresses in use (one past the last used index).
    pub receive: u32,
    /// Change addresses in use.
    pub change: u32,
    /// Addresses asked about.
    pub queries: u32,
    /// Addresses the wallet gained (derived and kept) by the scan.
    pub added: u32,
}

/// A gap scan of both key chains of a wallet, receive then change, driven
/// by its caller: ask whether the address [`Scan::next_address`] gives
/// was ever used, [`Scan::report`] the answer, and once it gives `None`,
/// [`Scan::finish`] keeps what was found. It does no I/O, so a caller
/// that asks a node over the network drives it the same way as
/// [`scan`] and [`look_ahead`] drive it with a function.
#[derive(Debug, Clone)]
pub struct Scan {
    /// The receive chain's scan, then the change chain's.
    chains: [GapScan; 2],
    /// The chain being scanned (0 receive, 1 change; 2 when done).
    slot: usize,
    /// Receive addresses kept past the last used one at the end.
    fresh: u32,
    queries: u32,
}

impl Scan {
    /// The scan of a restore: each chain from index 0, stopping after
    /// `receive_gap` (`change_gap`) unused addresses in a row; it keeps
    /// every address up to the last used one and one fresh receive
    /// address.
    pub fn restore(receive_gap: u32, change_gap: u32) -> Scan {
        Scan {
            chains: [GapScan::new(receive_gap), GapScan::new(change_gap)],
            slot: 0,
            fresh: 1,
            queries: 0,
        }
    }

    /// The scan past the addresses `w` keeps on each chain, `receive_gap`
    /// and `change_gap` of them from the last one kept; it keeps every
    /// address up to the last used one found. A wallet without key chains
    /// (development key, imported key, watch-only, version 1) has none to
    /// find: its scan asks nothing.
    pub fn past_kept(w: &Wallet, receive_gap: u32, change_gap: u32) -> Scan {
        let (receive_gap, change_gap) = if w.has_chains() {
            (receive_gap, change_gap)
        } else {
            (0, 0)
        };
        Scan {
            chains: [
                GapScan::after(w.keys().len() as u32, receive_gap),
                GapScan::after(w.change_keys().len() as u32, change_gap),
            ],
            slot: 0,
            fresh: 0,
            queries: 0,
        }
    }

    /// The address of `w` to ask about next, or `None` when the scan is
    /// over.
    pub fn next_address(&mut self, w: &Wallet, spec: &ChainSpec) -> Option<String> {
        while let Some(s) = self.chains.get(self.slot) {
            if let Some(i) = s.next_index() {
                let chain = [KeyChain::Receive, KeyChain::Change][self.slot];
                return Some(w.address_at(spec, chain, i));
            }
            self.slot += 1;
        }
        None
    }

    /// Records whether the address [`Scan::next_address`] gave was used.
    pub fn report(&mut self, used: bool) {
        if let Some(s) = self.chains.get_mut(self.slot) {
            s.report(used);
            self.queries += 1;
        }
    }

    /// Derives and keeps in `w` every address up to the last used one
    /// found on each chain (and a restore's fresh receive address); what
    /// was found. Save the wallet if it gained addresses.
    pub fn finish(self, w: &mut Wallet, spec: &ChainSpec) -> Found {
        let [receive, change] = self.chains.map(|s| s.used());
        let before = w.keys().len() + w.change_keys().len();
        w.extend_to(spec, receive.saturating_add(self.fresh), change);
        let after = w.keys().len() + w.change_keys().len();
        Found {
            receive,
            change,
            queries: self.queries,
            added: (after - before) as u32,
        }
    }

    /// Runs the scan to its end on `w`, asking `used` whether an address
    /// ever received coins.
    pub fn run<E>(
        mut self,
        w: &mut Wallet,
        spec: &ChainSpec,
        mut used: impl FnMut(&str) -> Result<bool, E>,
    ) -> Result<Found, E> {
        while let Some(a) = self.next_address(w, spec) {
            self.report(used(&a)?);
        }
        Ok(self.finish(w, spec))
    }
}

/// Scans both chains of `w`, asking `used` whether an address ever
/// received coins, and derives every address up to the last used one on
/// each chain plus one fresh receive address ([`Scan::restore`]).
pub fn scan<E>(
    w: &mut Wallet,
    spec: &ChainSpec,
    receive_gap: u32,
    change_gap: u32,
    used: impl FnMut(&str) -> Result<bool, E>,
) -> Result<Found, E> {
    Scan::restore(receive_gap, change_gap).run(w, spec, used)
}

/// Looks past the addresses `w` keeps on each chain, `receive_gap` and
/// `change_gap` of them from the last one kept, asking `used` whether an
/// address ever received coins, and keeps every address up to the last
/// used one found ([`Scan::past_kept`]). Another wallet file of the same
/// phrase may have used them since this one was restored (its payments'
/// change goes to change addresses this file never derived). Returns how
/// many addresses were added (save the wallet if any were); a wallet
/// without key chains (development key, imported key, version 1) has none
/// to find.
pub fn look_ahead<E>(
    w: &mut Wallet,
    spec: &ChainSpec,
    receive_gap: u32,
    change_gap: u32,
    used: impl FnMut(&str) -> Result<bool, E>,
) -> Result<u32, E> {
    let found = Scan::past_kept(w, receive_gap, change_gap).run(w, spec, used)?;
    Ok(found.added)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lock_of;
    use luminex_ledger::testkit::{transfer, TestChain};
    use luminex_primitives::{Amount, Lock, OutPoint, SchemeId, TxOut};

    /// Whether any output of the chain ever paid `address`.
    fn ever_paid(chain: &TestChain, address: &str) -> bool {
        let lock = chain.spec.parse_address(address).unwrap().lock;
        chain
            .blocks
            .iter()
            .flat_map(|b| &b.txs)
            .any(|t| t.outputs.iter().any(|o| o.lock == lock))
    }

    fn coins(chain: &TestChain, w: &Wallet) -> Vec<(OutPoint, TxOut)> {
        w.all_keys()
            .iter()
            .flat_map(|(k, _)| chain.coins_of(&lock_of(k)))
            .map(|(o, c)| (o, c.output))
            .collect()
    }

    #[test]
    fn restore_from_the_mnemonic_alone_finds_every_coin() {
        let mut chain = TestChain::dev();
        let spec = chain.spec.clone();
        let (original, phrase) = Wallet::create(&spec, SchemeId::MlDsa65, "pw");
        let pay = |i, index| TxOut {
            amount: Amount::from_base(1_000_000 * (i + 1)).unwrap(),
            lock: spec
                .parse_address(&original.address_at(&spec, KeyChain::Receive, index))
                .unwrap()
                .lock,
        };
        let mut outputs: Vec<TxOut> = [5u32, 24, 43]
            .iter()
            .enumerate()
            .map(|(i, &index)| pay(i as u64, index))
            .collect();
        // Change addresses 0 to 12, as thirteen payments would have left
        // them (each is used by the payment that made it); 12 holds most.
        for index in 0..=12 {
            outputs.push(TxOut {
                amount: Amount::from_base(if index == 12 { 7_000_000 } else { 100_000 }).unwrap(),
                lock: spec
                    .parse_address(&original.address_at(&spec, KeyChain::Change, index))
                    .unwrap()
                    .lock,
            });
        }
        // And one past the gap after 43 on the receive chain: not found.
        outputs.push(TxOut {
            amount: Amount::from_base(9_000_000).unwrap(),
            lock: spec
                .parse_address(&original.address_at(&spec, KeyChain::Receive, 64))
                .unwrap()
                .lock,
        });
        let dev = chain.keys[0].clone();
        let mut src = chain.coins_of(&lock_of(&dev));
        src.retain(|(_, c)| !c.is_coinbase);
        let fund = transfer(&spec, &dev, &src[..1], outputs);
        chain.mine(vec![fund]).unwrap();

        let mut restored = Wallet::restore(&spec, SchemeId::MlDsa65, &phrase, "new").unwrap();
        let found = scan(&mut restored, &spec, RECEIVE_GAP, CHANGE_GAP, |a| {
            Ok::<_, ()>(ever_paid(&chain, a))
        })
        .unwrap();
        assert_eq!((found.receive, found.change), (44, 13));
        assert_eq!(found.queries, 64 + 23);
        // Every address up to the last used, and one fresh receive address.
        assert_eq!(restored.file.addresses.len(), 45);
        assert_eq!(restored.file.change.len(), 13);
        let total: u64 = coins(&chain, &restored)
            .iter()
            .map(|(_, o)| o.amount.base())
            .sum();
        assert_eq!(
            total,
            1_000_000 + 2_000_000 + 3_000_000 + 7_000_000 + 12 * 100_000
        );
        // A larger gap reaches the coin at 64.
        let mut wide = Wallet::restore(&spec, SchemeId::MlDsa65, &phrase, "new").unwrap();
        let found = scan(&mut wide, &spec, 21, CHANGE_GAP, |a| {
            Ok::<_, ()>(ever_paid(&chain, a))
        })
        .unwrap();
        assert_eq!(found.receive, 65);

        // The restored wallet spends them all; each payment's change goes to
        // a change address never used before.
        let mut seen: Vec<Lock> = Vec::new();
        for _ in 0..3 {
            let tx = restored
                .pay(
                    &spec,
                    &coins(&chain, &restored),
                    lock_of(&dev),
                    Amount::from_base(1_500_000).unwrap(),
                    spec.min_fee_rate,
                )
                .unwrap();
            let change = tx.outputs[1].lock;
            assert!(!seen.contains(&change), "change address reused");
            assert!(!ever_paid(&chain, &spec.address(change).to_string()));
            seen.push(change);
            chain.mine(vec![tx]).unwrap();
        }
        assert_eq!(restored.file.change.len(), 16);
    }

    /// Two files of one phrase: the change of a payment made by one, to a
    /// change address the other never derived, is found by the other's
    /// look-ahead (a gap past what it keeps), and kept.
    #[test]
    fn a_look_ahead_adopts_change_another_file_of_the_phrase_used() {
        let mut chain = TestChain::dev();
        let spec = chain.spec.clone();
        let (mut alice, phrase) = Wallet::create(&spec, SchemeId::MlDsa65, "pw");
        let dev = chain.keys[0].clone();
        let mut src = chain.coins_of(&lock_of(&dev));
        src.retain(|(_, c)| !c.is_coinbase);
        let to_alice = TxOut {
            amount: Amount::from_base(50_000_000).unwrap(),
            lock: lock_of(&alice.keys()[0]),
        };
        chain
            .mine(vec![transfer(&spec, &dev, &src[..1], vec![to_alice])])
            .unwrap();
        let mut alice2 = Wallet::restore(&spec, SchemeId::MlDsa65, &phrase, "pw2").unwrap();
        scan(&mut alice2, &spec, RECEIVE_GAP, CHANGE_GAP, |a| {
            Ok::<_, ()>(ever_paid(&chain, a))
        })
        .unwrap();
        assert_eq!(alice2.change_keys().len(), 0);
        // Alice pays from her file: change to change address 0, and again
        // from there to change address 1.
        for _ in 0..2 {
            let tx = alice
                .pay(
                    &spec,
                    &coins(&chain, &alice),
                    lock_of(&dev),
                    Amount::from_base(1_000_000).unwrap(),
                    spec.min_fee_rate,
                )
                .unwrap();
            chain.mine(vec![tx]).unwrap();
        }
        assert_eq!(alice.change_keys().len(), 2);
        let total =
            |w: &Wallet| -> u64 { coins(&chain, w).iter().map(|(_, o)| o.amount.base()).sum() };
        assert_ne!(
            total(&alice2),
            total(&alice),
            "the restored file misses the change"
        );
        let added = look_ahead(&mut alice2, &spec, RECEIVE_GAP, CHANGE_GAP, |a| {
            Ok::<_, ()>(ever_paid(&chain, a))
        })
        .unwrap();
        assert_eq!(added, 2);
        assert_eq!(alice2.file.change, alice.file.change);
        assert_eq!(total(&alice2), total(&alice));
        // Nothing more to find: nothing added, the receive chain as it was.
        let receive = alice2.file.addresses.clone();
        let again = look_ahead(&mut alice2, &spec, RECEIVE_GAP, CHANGE_GAP, |a| {
            Ok::<_, ()>(ever_paid(&chain, a))
        });
        assert_eq!(again, Ok(0));
        assert_eq!(alice2.file.addresses, receive);
    }

    /// A scan driven step by step (as the command line drives it, a node
    /// query between steps) asks what [`look_ahead`] asks and keeps what
    /// it keeps; a wallet without key chains is asked nothing about.
    #[test]
    fn a_scan_driven_by_hand_asks_and_keeps_what_look_ahead_does() {
        let spec = TestChain::dev().spec;
        let (w, phrase) = Wallet::create(&spec, SchemeId::MlDsa65, "pw");
        // Receive address 7 and change address 3 were used elsewhere.
        let used = [
            w.address_at(&spec, KeyChain::Receive, 7),
            w.address_at(&spec, KeyChain::Change, 3),
        ];
        let mut by_fn = Wallet::restore(&spec, SchemeId::MlDsa65, &phrase, "pw").unwrap();
        let mut asked_fn = Vec::new();
        let added = look_ahead(&mut by_fn, &spec, 20, 10, |a| {
            asked_fn.push(a.to_string());
            Ok::<_, ()>(used.iter().any(|u| u == a))
        });
        assert_eq!(added, Ok(8 + 4 - 1));
        let mut by_hand = Wallet::restore(&spec, SchemeId::MlDsa65, &phrase, "pw").unwrap();
        let mut s = Scan::past_kept(&by_hand, 20, 10);
        let mut asked_hand = Vec::new();
        while let Some(a) = s.next_address(&by_hand, &spec) {
            // Asking twice before answering asks about the same address.
            assert_eq!(s.next_address(&by_hand, &spec).as_ref(), Some(&a));
            s.report(used.contains(&a));
            asked_hand.push(a);
        }
        assert_eq!(s.next_address(&by_hand, &spec), None);
        let found = s.finish(&mut by_hand, &spec);
        assert_eq!(asked_hand, asked_fn);
        // Receive 1 to 27 (20 past 7), change 0 to 13 (10 past 3).
        assert_eq!(asked_hand.len(), 27 + 14);
        assert_eq!(
            found,
            Found {
                receive: 8,
                change: 4,
                queries: 41,
                added: 11
            }
        );
        assert_eq!(by_hand.file.addresses, by_fn.file.addresses);
        assert_eq!(by_hand.file.change, by_fn.file.change);
        assert_eq!(by_hand.file.change[3], used[1]);

        let mut dev = Wallet::dev_key(&spec, 0, "pw");
        let mut asked = 0;
        let added = look_ahead(&mut dev, &spec, 20, 10, |_| {
            asked += 1;
            Ok::<_, ()>(true)
        });
        assert_eq!((added, asked), (Ok(0), 0));
        assert_eq!(dev.keys().len(), 1);
    }

    #[test]
    fn the_scan_stops_after_gap_unused_addresses() {
        let used = [5u32, 24, 43];
        let mut s = GapScan::new(20);
        let mut asked = Vec::new();
        while let Some(i) = s.next_index() {
            asked.push(i);
            s.report(used.contains(&i));
        }
        assert_eq!(s.used(), 44);
        assert_eq!(asked, (0..64).collect::<Vec<_>>(), "20 past the last used");
        // An address past the gap is not reached.
        let mut s = GapScan::new(20);
        while let Some(i) = s.next_index() {
            s.report(i == 5 || i == 26);
        }
        assert_eq!(s.used(), 6);
        let mut s = GapScan::new(10);
        assert_eq!(s.next_index(), Some(0));
        for _ in 0..10 {
            s.report(false);
        }
        assert_eq!((s.next_index(), s.used()), (None, 0));
        // After 3 kept addresses: from 3, 10 past the last used.
        let mut s = GapScan::after(3, 10);
        let mut asked = Vec::new();
        while let Some(i) = s.next_index() {
            asked.push(i);
            s.report(i == 4);
        }
        assert_eq!(asked, (3..15).collect::<Vec<_>>());
        assert_eq!(s.used(), 5);
        assert_eq!(GapScan::after(3, 0).used(), 3);
    }
}
