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
    /// Unbonding until its height (still slashable): the end of the
    /// unbonding period, or for an entry held past it while its stake
    /// backs a validator set (ADR 0069) the release the state expects.
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
    /// staking state, or paid by the block at its release height or, for
    /// an entry held while its stake backed a validator set, by the block
    /// that released it (ADR 0069). Empty for anything else and on chains
    /// without staking.
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
            TxKind::Unstake(u) | TxKind::Undelegate(u) => {
                let Some(params) = &self.spec.staking else {
                    return Ok(Vec::new());
                };
                let release = luminex_ledger::staking::release_outpoint(tx, txid);
                let due = height + params.unbonding_blocks;
                let key = luminex_ledger::staking::UnbondingKey {
                    release_height: due,
                    outpoint: release,
                };
                let tip = self.chain.tip().height;
                // An entry still backing a validator set at its release
                // height is held past it (ADR 0069, ADR 0072): pending until
                // the release the state expects with the sets known after
                // the tip, paid by the block that made it.
                let record = self.chain.consensus_record(tip)?;
                let seats = record.as_ref().map(luminex_ledger::staking::Seats::of);
                let (pending, last) = self.chain.with_staking(|s| {
                    let pending: Vec<LedgerPayout> = s
                        .unbonding()
                        .filter(|(k, _)| k.outpoint == release)
                        .map(|(k, e)| {
                            let at = s.expected_release(
                                k,
                                &e.validator,
                                params,
                                tip + 1,
                                seats.as_ref(),
                            );
                            LedgerPayout {
                                outpoint: release,
                                coin: Coin {
                                    output: luminex_primitives::TxOut {
                                        amount: e.amount,
                                        lock: e.payout,
                                    },
                                    height: at,
                                    is_coinbase: false,
                                },
                                kind: PayoutKind::Unbonding,
                                height: at,
                                status: PayoutStatus::Pending,
                            }
                        })
                        .collect();
                    // The latest block that can have released it: the
                    // time rule (members or not) bounds the hold.
                    (
                        pending,
                        s.expected_release(&key, &u.validator, params, due, None),
                    )
                });
                if !pending.is_empty() {
                    return Ok(pending);
                }
                // Released at `due` or, held, at the first height of an
                // epoch after it (where holds end), up to that bound.
                let epoch = params.epoch_blocks.max(1);
                let mut at = due;
                loop {
                    let paid = paid_at(at, PayoutKind::Unbonding, &|op| *op == release)?;
                    if !paid.is_empty() {
                        return Ok(paid);
                    }
                    if at >= last.min(tip) {
                        break;
                    }
                    at = (at.saturating_sub(1) / epoch + 1) * epoch + 1;
                }
                // Neither unbonding nor paid: a slash took all of it (an
                // entry slashed to nothing leaves the state).
                let payout = u.payout;
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
