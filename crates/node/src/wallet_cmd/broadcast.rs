//! Sending a transaction the wallet built and signed (a payment, a staking
//! transaction): the checks before it leaves — its size against the
//! chain's limit, its fee against `--max-fee` — the change address kept or
//! given back, and waiting for it to be confirmed.

use std::collections::HashMap;
use std::path::Path;

use anyhow::bail;
use luminex_api::types::{BroadcastResponse, TxJson};
use luminex_ledger::ChainSpec;
use luminex_primitives::{Amount, Encode, Lock, OutPoint, Transaction, TxOut};
use luminex_wallet::Wallet;

use crate::client::{Client, ClientError};

/// The default of `--max-fee`, in coins ([`luminex_wallet::DEFAULT_MAX_FEE`],
/// which the browser wallet holds to as well).
pub const DEFAULT_MAX_FEE: &str = luminex_wallet::DEFAULT_MAX_FEE;

/// Parses `--amount` of a payment or a staking command: coins, more than
/// zero (an output of 0 is invalid on every chain, and a stake of 0 bonds
/// nothing), refused here rather than by the node after the wallet has
/// planned and signed it.
pub fn positive_amount(s: &str) -> Result<Amount, String> {
    let a: Amount = s.parse().map_err(|e| format!("{e}"))?;
    if a == Amount::ZERO {
        return Err("must be more than 0".into());
    }
    Ok(a)
}

/// The fee `tx` pays: what its inputs (found in `coins`) bring, less its
/// outputs and what it bonds. `None` when an input is not among `coins`
/// or the amounts do not add up (the wallet built neither).
pub fn fee_paid(tx: &Transaction, coins: &[(OutPoint, TxOut)]) -> Option<Amount> {
    let by_outpoint: HashMap<&OutPoint, Amount> =
        coins.iter().map(|(op, o)| (op, o.amount)).collect();
    let inputs = tx
        .inputs
        .iter()
        .map(|op| by_outpoint.get(op).copied())
        .collect::<Option<Vec<Amount>>>()?;
    Amount::sum(inputs)
        .ok()?
        .checked_sub(tx.output_total().ok()?)
        .ok()?
        .checked_sub(tx.kind.bonded())
        .ok()
}

/// Refuses a fee past `max` (`--max-fee`).
pub fn check_max_fee(fee: Amount, max: Amount) -> anyhow::Result<()> {
    if fee > max {
        bail!(
            "this transaction would pay a fee of {fee} coins, more than --max-fee {max}: check --fee-rate, or pass a higher --max-fee to pay it"
        );
    }
    Ok(())
}

/// A transaction the wallet signed, ready to leave.
pub struct Outgoing<'a> {
    /// The signed transaction.
    pub tx: &'a Transaction,
    /// The fee it pays.
    pub fee: Amount,
    /// The change address taken for it (the newest): given back if the
    /// transaction has no change, is refused here or by the node.
    pub change: Lock,
    /// The most it may pay in fees (`--max-fee`).
    pub max_fee: Amount,
}

/// Checks `out` (size, fee), saves the wallet with the change address it
/// keeps, and broadcasts it; returns the transaction id. A refusal — here,
/// or a definite one by the node (a 4xx answer other than a timeout) —
/// gives the change address back; an unclear failure (no answer, a
/// timeout, a server error) keeps it, as the payment may have been admitted.
pub async fn broadcast(
    client: &Client,
    spec: &ChainSpec,
    w: &mut Wallet,
    path: &Path,
    out: Outgoing<'_>,
) -> anyhow::Result<String> {
    let tx = out.tx;
    let has_change = tx.outputs.iter().any(|o| o.lock == out.change);
    if !has_change {
        w.forget_change(out.change);
    }
    if let Err(e) = check_max_fee(out.fee, out.max_fee) {
        w.forget_change(out.change);
        return Err(e);
    }
    // A transaction the chain would refuse for its size (too many coins to
    // spend) is not sent: the node could only refuse it, past 4 MiB
    // without reading it.
    let size = tx.encoded_len();
    if size > spec.max_tx_bytes {
        w.forget_change(out.change);
        bail!(
            "this transaction would spend {} coins in {size} bytes, over the chain's limit of {} bytes: send less at once, or first send smaller amounts to yourself to merge coins",
            tx.inputs.len(),
            spec.max_tx_bytes
        );
    }
    // The change address is remembered before the transaction leaves.
    w.save(path, false)?;
    match client
        .post_bytes::<BroadcastResponse>("/transactions/broadcast", tx.encode())
        .await
    {
        Ok(r) => Ok(r.txid),
        Err(e) => {
            let refused = matches!(
                &e,
                ClientError::Problem(p) if (400..500).contains(&p.status) && p.status != 408
            );
            if refused && has_change {
                w.forget_change(out.change);
                w.save(path, false)?;
            }
            Err(e.into())
        }
    }
}

/// Waits until transaction `txid` is in a block and says at which height.
pub async fn wait_confirmed(client: &Client, txid: &str) -> anyhow::Result<()> {
    loop {
        let t: TxJson = client.get(&format!("/transactions/{txid}")).await?;
        if t.status == "confirmed" {
            println!("confirmed at height {}", t.height.unwrap_or_default());
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use luminex_primitives::{Delegation, Hash, SchemeId, TxKind};

    const LOCK: Lock = Lock::Key {
        scheme: SchemeId::MlDsa65,
        key_hash: Hash([7; 32]),
    };

    fn base(n: u64) -> Amount {
        Amount::from_base(n).unwrap()
    }

    fn coin(n: u8, amount: u64) -> (OutPoint, TxOut) {
        (
            OutPoint {
                txid: Hash([n; 32]),
                vout: 0,
            },
            TxOut {
                amount: base(amount),
                lock: LOCK,
            },
        )
    }

    #[test]
    fn the_fee_is_what_inputs_bring_less_outputs_and_bonds() {
        let coins = vec![coin(1, 1_000), coin(2, 500)];
        let mut tx = Transaction {
            version: 1,
            chain_id: 0,
            kind: TxKind::Transfer,
            inputs: vec![coins[0].0, coins[1].0],
            outputs: vec![TxOut {
                amount: base(1_200),
                lock: LOCK,
            }],
            expiry_height: 0,
            witnesses: vec![],
            data: vec![],
        };
        assert_eq!(fee_paid(&tx, &coins), Some(base(300)));
        tx.kind = TxKind::Delegate(Delegation {
            validator: Hash([9; 32]),
            amount: base(100),
        });
        assert_eq!(fee_paid(&tx, &coins), Some(base(200)));
        // An input the wallet did not offer, or outputs past the inputs.
        tx.inputs.push(coin(3, 1).0);
        assert_eq!(fee_paid(&tx, &coins), None);
        tx.inputs.pop();
        tx.outputs[0].amount = base(2_000);
        assert_eq!(fee_paid(&tx, &coins), None);
    }
}
