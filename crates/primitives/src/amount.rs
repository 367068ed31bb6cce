//! Amounts in integer base units. There are no floats anywhere in Luminex:
//! 1 coin = 10^8 base units, and decimal strings are parsed and printed
//! exactly.

use std::fmt;
use std::str::FromStr;

use crate::codec::{Decode, DecodeError, Encode, Reader, Sink};

/// Base units per coin.
pub const COIN: u64 = 100_000_000;

/// An amount of base units, never above [`Amount::MAX`].
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Debug)]
pub struct Amount(u64);

/// Arithmetic or parsing failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AmountError {
    /// The result would exceed [`Amount::MAX`] (or go below zero).
    #[error("amount out of range")]
    OutOfRange,
    /// The string is not a decimal amount with at most 8 fractional digits.
    #[error(
        "not a decimal amount of coins with at most 8 decimal places (e.g. 12.5 or 0.00000001)"
    )]
    Invalid,
}

impl Amount {
    /// Zero.
    pub const ZERO: Amount = Amount(0);
    /// The largest amount any value may hold: 10^18 base units (10^10 coins).
    /// Any sum of valid outputs of one transaction or block stays below
    /// `u64::MAX`, so checked sums detect every overflow.
    pub const MAX: Amount = Amount(1_000_000_000_000_000_000);

    /// An amount from base units, if within range.
    pub const fn from_base(units: u64) -> Option<Amount> {
        if units <= Self::MAX.0 {
            Some(Amount(units))
        } else {
            None
        }
    }

    /// Whole coins, if within range.
    pub fn from_coins(coins: u64) -> Option<Amount> {
        coins.checked_mul(COIN).and_then(Amount::from_base)
    }

    /// The number of base units.
    pub const fn base(self) -> u64 {
        self.0
    }

    /// `self + other`, or an error past [`Amount::MAX`].
    pub fn checked_add(self, other: Amount) -> Result<Amount, AmountError> {
        self.0
            .checked_add(other.0)
            .and_then(Amount::from_base)
            .ok_or(AmountError::OutOfRange)
    }

    /// `self - other`, or an error below zero.
    pub fn checked_sub(self, other: Amount) -> Result<Amount, AmountError> {
        self.0
            .checked_sub(other.0)
            .map(Amount)
            .ok_or(AmountError::OutOfRange)
    }

    /// Sum of many amounts with overflow checks.
    pub fn sum<I: IntoIterator<Item = Amount>>(iter: I) -> Result<Amount, AmountError> {
        iter.into_iter()
            .try_fold(Amount::ZERO, |acc, a| acc.checked_add(a))
    }
}

impl fmt::Display for Amount {
    /// Decimal coins with trailing zeros trimmed (`1.5`, `0.00000001`, `21`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.0 / COIN;
        let frac = self.0 % COIN;
        if frac == 0 {
            write!(f, "{whole}")
        } else {
            let s = format!("{frac:08}");
            write!(f, "{whole}.{}", s.trim_end_matches('0'))
        }
    }
}

impl FromStr for Amount {
    type Err = AmountError;
    /// Parses decimal coins such as `12`, `0.5` or `0.00000001`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (whole, frac) = match s.split_once('.') {
            Some((w, f)) => (w, f),
            None => (s, ""),
        };
        let digits = |x: &str| x.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !digits(whole) || !digits(frac) || frac.len() > 8 {
            return Err(AmountError::Invalid);
        }
        if s.contains('.') && frac.is_empty() {
            return Err(AmountError::Invalid);
        }
        let w: u64 = whole.parse().map_err(|_| AmountError::OutOfRange)?;
        let f: u64 = if frac.is_empty() {
            0
        } else {
            format!("{frac:0<8}")
                .parse()
                .map_err(|_| AmountError::Invalid)?
        };
        w.checked_mul(COIN)
            .and_then(|x| x.checked_add(f))
            .and_then(Amount::from_base)
            .ok_or(AmountError::OutOfRange)
    }
}

impl Encode for Amount {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        s.put(&self.0.to_le_bytes());
    }
}

impl Decode for Amount {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Amount::from_base(r.u64("amount")?).ok_or(DecodeError::OutOfRange { field: "amount" })
    }
}

impl serde::Serialize for Amount {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Amount {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = u64::deserialize(d)?;
        Amount::from_base(v).ok_or_else(|| serde::de::Error::custom("amount out of range"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_round_trip() {
        for (s, base) in [
            ("0", 0),
            ("1", COIN),
            ("1.5", COIN + COIN / 2),
            ("0.00000001", 1),
        ] {
            let a: Amount = s.parse().unwrap();
            assert_eq!(a.base(), base);
            assert_eq!(a.to_string(), s);
        }
        for bad in [
            "",
            ".",
            "1.",
            ".5",
            "-1",
            "1e5",
            "0.000000001",
            "1,5",
            "99999999999999999999",
        ] {
            assert!(bad.parse::<Amount>().is_err(), "{bad}");
        }
    }

    #[test]
    fn checked_arithmetic() {
        assert!(Amount::MAX.checked_add(Amount(1)).is_err());
        assert!(Amount::ZERO.checked_sub(Amount(1)).is_err());
        assert!(Amount::from_base(Amount::MAX.base() + 1).is_none());
    }
}
