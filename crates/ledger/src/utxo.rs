//! Coins (unspent outputs with their creation context), the [`UtxoView`]
//! trait through which validation reads the UTXO set, and undo data.

use std::collections::HashMap;

use luminex_primitives::codec::{put_length, Decode, DecodeError, Encode, Reader, Sink};
use luminex_primitives::{OutPoint, TxOut};

/// An unspent output and where it came from.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Coin {
    /// The output.
    pub output: TxOut,
    /// Height of the block that created it.
    pub height: u64,
    /// Whether a coinbase created it (maturity applies).
    pub is_coinbase: bool,
}

impl Encode for Coin {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        self.output.encode_to(s);
        s.put(&self.height.to_le_bytes());
        s.put(&[u8::from(self.is_coinbase)]);
    }
}

impl Decode for Coin {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let output = TxOut::decode(r)?;
        let height = r.u64("coin height")?;
        let is_coinbase = match r.u8("coin flags")? {
            0 => false,
            1 => true,
            _ => {
                return Err(DecodeError::OutOfRange {
                    field: "coin flags",
                })
            }
        };
        Ok(Coin {
            output,
            height,
            is_coinbase,
        })
    }
}

/// Read access to a UTXO set.
pub trait UtxoView {
    /// The coin at `outpoint`, if unspent.
    fn coin(&self, outpoint: &OutPoint) -> Option<Coin>;
}

impl UtxoView for HashMap<OutPoint, Coin> {
    fn coin(&self, outpoint: &OutPoint) -> Option<Coin> {
        self.get(outpoint).copied()
    }
}

impl<T: UtxoView + ?Sized> UtxoView for &T {
    fn coin(&self, outpoint: &OutPoint) -> Option<Coin> {
        (**self).coin(outpoint)
    }
}

/// What connecting a block does to the UTXO set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UtxoChanges {
    /// Coins the block creates that are still unspent at its end.
    pub created: Vec<(OutPoint, Coin)>,
    /// Coins from before the block that it spends.
    pub spent: Vec<(OutPoint, Coin)>,
}

impl UtxoChanges {
    /// Applies the changes to an in-memory UTXO map.
    pub fn apply_to(&self, utxos: &mut HashMap<OutPoint, Coin>) {
        for (op, _) in &self.spent {
            utxos.remove(op);
        }
        for (op, coin) in &self.created {
            utxos.insert(*op, *coin);
        }
    }
}

/// What is needed to disconnect a block: the coins it spent, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlockUndo {
    /// The spent coins with their outpoints.
    pub spent: Vec<(OutPoint, Coin)>,
}

impl Encode for BlockUndo {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        put_length(s, self.spent.len());
        for (op, coin) in &self.spent {
            op.encode_to(s);
            coin.encode_to(s);
        }
    }
}

impl Decode for BlockUndo {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(BlockUndo {
            spent: r.seq("undo coins", u64::from(u32::MAX), |r| {
                Ok((OutPoint::decode(r)?, Coin::decode(r)?))
            })?,
        })
    }
}
