//! Coins the ledger pays for a transaction (ADR 0031): outputs of no
//! transaction, which the API and the explorer show with the transaction
//! they belong to.

use luminex_ledger::Coin;
use luminex_primitives::{Hash, OutPoint, Transaction, TxKind};
use luminex_storage::StoreError;

use crate::Node;

/// What a [`LedgerPayout`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayoutKind {
    /// A staking reward, under the paying block's coinbase txid.
    Reward,
    /// Stake an `unstake` or `undelegate` released, under its txid.
    Unbonding,
}

impl PayoutKind {
    /// `reward` or `unbonding`.
    pub fn name(self) -> &'static str {
        match self {
            PayoutKind::Reward => "reward",
            PayoutKind::Unbonding => "unbonding",
        }
    }
}

/// Where a [`LedgerPayout`] stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayoutStatus {
    /// The block at its height paid it.
    Paid,
    /// Unbonding until its height (still slashable).
    Pending,
    /// Slashed to nothing while it unbonded: nothing is or will be paid.
    Slashed,
}

impl PayoutStatus {
    /// `paid`, `pending` or `slashed`.
    pub fn name(self) -> &'static str {
        match self {
            PayoutStatus::Paid => "paid",
            PayoutStatus::Pending => "pending",
            PayoutStatus::Slashed => "slashed",
        }
    }
}

/// A coin the ledger pays, or will.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LedgerPayout {
    /// Where the coin is (or will be).
    pub outpoint: OutPoint,
    /// The coin (while pending: its amount after any slashing so far).
    pub coin: Coin,
    /// What it is.
    pub kind: PayoutKind,
    /// The height of the block that pays it, or will.
    pub height: u64,
    /// Paid, pending until `height`, or slashed away.
    pub status: PayoutStatus,
}

impl Node {
    /// What the ledger pays for the confirmed transaction `tx` (txid
    /// `txid`, at `height`): the rewards its block paid under a coinbase's
    /// txid, or the release of an `unstake`/`undelegate` — pending in the
    /// staking state, or paid by the block at its release height. Empty for
    /// anything else and on chains without staking.
    pub fn ledger_payouts(
        &self,
        tx: &Transaction,
        txid: &Hash,
        height: u64,
    ) -> Result<Vec<LedgerPayout>, StoreError> {
        let paid_at = |h: u64, kind, only: &dyn Fn(&OutPoint) -> bool| {
            let Some(hash) = self.chain.hash_at(h)? else {
                return Ok(Vec::new());
            };
            Ok(self
                .chain
                .ledger_payouts(&hash)?
                .into_iter()
                .filter(|(op, _)| only(op))
                .map(|(outpoint, coin)| LedgerPayout {
                    outpoint,
                    coin,
                    kind,
                    height: h,
                    status: PayoutStatus::Paid,
                })
                .collect())
        };
        match &tx.kind {
            TxKind::Coinbase { .. } => paid_at(height, PayoutKind::Reward, &|op| op.txid == *txid),
            TxKind::Unstake(_) | TxKind::Undelegate(_) => {
                let Some(params) = &self.spec.staking else {
                    return Ok(Vec::new());
                };
                let release = luminex_ledger::staking::release_outpoint(tx, txid);
                let pending: Vec<LedgerPayout> = self.chain.with_staking(|s| {
                    s.unbonding()
                        .filter(|(k, _)| k.outpoint == release)
                        .map(|(k, e)| LedgerPayout {
                            outpoint: release,
                            coin: Coin {
                                output: luminex_primitives::TxOut {
                                    amount: e.amount,
                                    lock: e.payout,
                                },
                                height: k.release_height,
                                is_coinbase: false,
                            },
                            kind: PayoutKind::Unbonding,
                            height: k.release_height,
                            status: PayoutStatus::Pending,
                        })
                        .collect()
                });
                if !pending.is_empty() {
                    return Ok(pending);
                }
                let due = height + params.unbonding_blocks;
                let paid = paid_at(due, PayoutKind::Unbonding, &|op| *op == release)?;
                if !paid.is_empty() {
                    return Ok(paid);
                }
                // Neither unbonding nor paid: a slash took all of it (an
                // entry slashed to nothing leaves the state).
                let payout = match &tx.kind {
                    TxKind::Unstake(u) | TxKind::Undelegate(u) => u.payout,
                    _ => return Ok(Vec::new()),
                };
                Ok(vec![LedgerPayout {
                    outpoint: release,
                    coin: Coin {
                        output: luminex_primitives::TxOut {
                            amount: luminex_primitives::Amount::ZERO,
                            lock: payout,
                        },
                        height: due,
                        is_coinbase: false,
                    },
                    kind: PayoutKind::Unbonding,
                    height: due,
                    status: PayoutStatus::Slashed,
                }])
            }
            _ => Ok(Vec::new()),
        }
    }
}
