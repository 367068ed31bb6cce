//! Coin selection: coins taken largest first until they cover an amount
//! and the fee of the transaction that spends them, in time linear in the
//! coins offered.
//!
//! A wallet holding thousands of tiny coins (dust anyone can send it for
//! little) must still answer at once. So a coin worth no more than the fee
//! of spending it is never taken; the size is kept as a running lower bound
//! (each input adds at least its outpoint and its witness) and the
//! transaction is encoded in full only when that bound says the coins may
//! be enough; and the walk stops as soon as the bound passes the chain's
//! size limit.

use luminex_primitives::{Amount, Encode, OutPoint, TxOut};

/// A coin offered: where it is and what it holds.
pub type Coin = (OutPoint, TxOut);

/// The coins chosen, in the order taken, and what they make.
#[derive(Debug)]
pub struct Selection<'a> {
    /// The coins, largest first.
    pub coins: Vec<&'a (OutPoint, TxOut)>,
    /// What they hold together.
    pub total: Amount,
    /// The fee at the rate asked for, on the transaction's exact size.
    pub fee: Amount,
    /// That size in bytes.
    pub size: usize,
}

/// Why no selection covers the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelectError {
    /// The coins worth spending hold less than the target and the fee.
    Insufficient {
        /// What the coins worth spending hold (a coin worth no more than
        /// the fee of spending it counts for nothing).
        available: Amount,
        /// The target plus the fee of the coins tried.
        needed: Amount,
    },
    /// Covering it takes more coins than one transaction may spend.
    TooLarge {
        /// Coins taken when the size passed the limit.
        inputs: usize,
        /// The size then (at least).
        size: usize,
        /// The limit.
        max: usize,
    },
    /// An amount overflowed.
    Amount,
}

/// Coins of `sorted` (largest first) covering `target` plus the fee at
/// `fee_rate` base units per byte. `input_bytes` is what spending a coin
/// adds at least (its outpoint and its witness); `exact_bytes` the signed
/// size of the transaction spending the coins given (none: its fixed
/// part). A transaction over `max_bytes` is refused.
pub fn largest_first<'a>(
    sorted: &[&'a (OutPoint, TxOut)],
    target: Amount,
    fee_rate: u64,
    max_bytes: usize,
    input_bytes: &dyn Fn(&TxOut) -> usize,
    exact_bytes: &dyn Fn(&[&'a Coin]) -> usize,
) -> Result<Selection<'a>, SelectError> {
    let fee = |bytes: usize| Amount::from_base(fee_rate.saturating_mul(bytes as u64));
    let cost = |o: &TxOut| fee_rate.saturating_mul(input_bytes(o) as u64);
    let worth: Vec<&'a (OutPoint, TxOut)> = sorted
        .iter()
        .copied()
        .filter(|(_, o)| o.amount.base() > cost(o))
        .collect();
    let available =
        Amount::sum(worth.iter().map(|(_, o)| o.amount)).map_err(|_| SelectError::Amount)?;
    let mut bound = exact_bytes(&[]);
    let needed = |bytes: usize| {
        fee(bytes)
            .and_then(|f| target.checked_add(f).ok())
            .ok_or(SelectError::Amount)
    };
    // Each coin worth spending adds more than its fee, so spending them all
    // leaves the most: if even that falls short, no selection covers the
    // target, and that (not the size) is what to say.
    let all = bound
        + worth
            .iter()
            .map(|c| c.0.encoded_len() + input_bytes(&c.1))
            .sum::<usize>();
    if available < needed(all)? {
        return Err(SelectError::Insufficient {
            available,
            needed: needed(all)?,
        });
    }
    let mut chosen = Vec::new();
    let mut total = Amount::ZERO;
    for coin in worth {
        chosen.push(coin);
        total = total
            .checked_add(coin.1.amount)
            .map_err(|_| SelectError::Amount)?;
        bound += coin.0.encoded_len() + input_bytes(&coin.1);
        if bound > max_bytes {
            return Err(SelectError::TooLarge {
                inputs: chosen.len(),
                size: bound,
                max: max_bytes,
            });
        }
        if total < needed(bound)? {
            continue;
        }
        let size = exact_bytes(&chosen);
        if size > max_bytes {
            return Err(SelectError::TooLarge {
                inputs: chosen.len(),
                size,
                max: max_bytes,
            });
        }
        if total >= needed(size)? {
            return Ok(Selection {
                fee: fee(size).ok_or(SelectError::Amount)?,
                coins: chosen,
                total,
                size,
            });
        }
    }
    Err(SelectError::Insufficient {
        available,
        needed: needed(bound).unwrap_or(Amount::MAX),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use luminex_primitives::{Hash, Lock, SchemeId};

    fn coin(i: u32, amount: u64) -> (OutPoint, TxOut) {
        (
            OutPoint {
                txid: Hash([1; 32]),
                vout: i,
            },
            TxOut {
                amount: Amount::from_base(amount).unwrap(),
                lock: Lock::Key {
                    scheme: SchemeId::MlDsa65,
                    key_hash: Hash([2; 32]),
                },
            },
        )
    }

    /// A fixed part of 100 bytes, 1,000 per input, one byte more per input
    /// than the bound (the exact size is never below it).
    fn pick<'a>(
        coins: &'a [(OutPoint, TxOut)],
        target: u64,
        max: usize,
    ) -> Result<Selection<'a>, SelectError> {
        let sorted: Vec<&(OutPoint, TxOut)> = coins.iter().collect();
        largest_first(
            &sorted,
            Amount::from_base(target).unwrap(),
            1,
            max,
            &|_| 1_000 - 36,
            &|c| 100 + c.len() * 1_001,
        )
    }

    #[test]
    fn takes_the_largest_until_amount_and_fee_are_covered() {
        let coins = [coin(0, 5_000), coin(1, 4_000), coin(2, 3_000)];
        let s = pick(&coins, 6_000, 100_000).unwrap();
        assert_eq!(s.coins.len(), 2);
        assert_eq!(s.size, 100 + 2 * 1_001);
        assert_eq!(s.fee, Amount::from_base(2_102).unwrap());
        // 9,000 held, 6,000 + 2,102 needed: two suffice; 8,200 would not.
        assert!(matches!(
            pick(&coins, 8_200, 100_000),
            Ok(Selection { coins, .. }) if coins.len() == 3
        ));
        let e = pick(&coins, 9_000, 100_000).unwrap_err();
        assert!(matches!(e, SelectError::Insufficient { .. }), "{e:?}");
    }

    /// Coins worth no more than their input's fee are never taken nor
    /// counted as available; tens of thousands of them answer at once.
    #[test]
    fn dust_is_left_and_counts_for_nothing() {
        let mut coins = vec![coin(0, 10_000)];
        coins.extend((1..50_000).map(|i| coin(i, 900)));
        let e = pick(&coins, 20_000, 1_000_000_000).unwrap_err();
        assert_eq!(
            e,
            SelectError::Insufficient {
                available: Amount::from_base(10_000).unwrap(),
                needed: Amount::from_base(20_000 + 100 + 1_000).unwrap(),
            }
        );
        let s = pick(&coins, 5_000, 1_000_000_000).unwrap();
        assert_eq!(s.coins.len(), 1);
    }

    /// Coins that cannot cover the amount are refused as insufficient,
    /// not as too large, even when spending them all would pass the limit.
    #[test]
    fn insufficient_before_too_large() {
        let coins: Vec<_> = (0..100).map(|i| coin(i, 2_000)).collect();
        let e = pick(&coins, 500_000, 50_000).unwrap_err();
        assert!(matches!(e, SelectError::Insufficient { .. }), "{e:?}");
    }

    /// The walk stops at the size limit, however many coins are left.
    #[test]
    fn stops_at_the_size_limit() {
        let coins: Vec<_> = (0..100_000).map(|i| coin(i, 2_000)).collect();
        // Enough in all (2,000 each, 1,000 of fee each): too large only.
        let e = pick(&coins, 50_000_000, 50_000).unwrap_err();
        assert!(
            matches!(e, SelectError::TooLarge { inputs, max: 50_000, .. } if inputs < 60),
            "{e:?}"
        );
    }
}
