//! JSON shapes of the REST API, shared by the server and the CLI client.
//! Amounts appear as integer base units and as decimal coin strings.

use serde::{Deserialize, Serialize};

/// Body of `POST /transactions/broadcast` in JSON form.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BroadcastRequest {
    /// The canonical transaction encoding, hex.
    #[schema(pattern = "^[ \\t\\n\\f\\r]*(?:[0-9a-fA-F]{2})+[ \\t\\n\\f\\r]*$")]
    pub tx: String,
}

/// Reply of `POST /transactions/broadcast`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BroadcastResponse {
    /// The accepted transaction's id.
    pub txid: String,
}

/// Body of `POST /transactions/broadcast/batch` in JSON form.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchBroadcastRequest {
    /// The transactions' canonical encodings, hex, 1 to 1,000 of them.
    pub txs: Vec<String>,
}

/// Reply of `POST /transactions/broadcast/batch`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BatchBroadcastResponse {
    /// How many of the transactions were admitted.
    pub accepted: usize,
    /// One result per transaction of the request, in its order.
    pub results: Vec<BatchResult>,
}

/// The verdict on one transaction of a batch: exactly one of the fields.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BatchResult {
    /// The admitted transaction's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub txid: Option<String>,
    /// Why it was refused: the problem `POST /transactions/broadcast` would
    /// have answered for it alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Problem>,
}

/// An RFC 9457 problem document: every error of the API.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the problem type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary.
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// What happened.
    pub detail: String,
    /// Stable machine-readable code (`bad-signature`, `not-found`, …).
    pub code: String,
}

/// A transaction input.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InputJson {
    /// Spent txid.
    pub txid: String,
    /// Spent output index.
    pub vout: u32,
    /// Spent amount, when known.
    pub amount: Option<u64>,
    /// The same in coins.
    #[serde(default)]
    pub amount_coins: Option<String>,
    /// Spent from, when known.
    pub address: Option<String>,
}

/// A transaction output.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OutputJson {
    /// Index.
    pub vout: u32,
    /// Base units.
    pub amount: u64,
    /// Decimal coins.
    pub amount_coins: String,
    /// Receiving address.
    pub address: String,
    /// The lock's kind: the key's scheme (`ml-dsa-65`) or `multisig`.
    #[serde(default)]
    pub lock: String,
    /// A multisig lock's policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multisig: Option<MultisigJson>,
}

/// What a multisig lock shows: `threshold` of `keys` keys, committed to by
/// the Merkle root `key_set_root` (the keys themselves are revealed only by
/// a spend, and only those that sign).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema, PartialEq, Eq)]
pub struct MultisigJson {
    /// Signatures needed (`m`).
    pub threshold: u8,
    /// Keys in the set (`n`).
    pub keys: u8,
    /// Root of the key set's Merkle tree (hex, display order).
    pub key_set_root: String,
}

impl MultisigJson {
    /// The policy of a multisig lock; `None` for a key lock.
    pub fn of(lock: &luminex_primitives::Lock) -> Option<MultisigJson> {
        match lock {
            luminex_primitives::Lock::Multisig {
                threshold,
                keys,
                root,
            } => Some(MultisigJson {
                threshold: *threshold,
                keys: *keys,
                key_set_root: root.to_string(),
            }),
            luminex_primitives::Lock::Key { .. } => None,
        }
    }
}

/// `GET /transactions/{txid}`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TxJson {
    /// Transaction id.
    pub txid: String,
    /// Witness transaction id.
    pub wtxid: String,
    /// `confirmed` or `pending`.
    pub status: String,
    /// Containing block.
    pub block_hash: Option<String>,
    /// Its height.
    pub height: Option<u64>,
    /// Blocks on top, including its own (0 while pending).
    pub confirmations: u64,
    /// `transfer`, `coinbase` or `authority`.
    pub kind: String,
    /// Fee in base units, when the inputs are known.
    pub fee: Option<u64>,
    /// The same in coins.
    #[serde(default)]
    pub fee_coins: Option<String>,
    /// Encoded size.
    pub size: usize,
    /// Expiry height (0: none).
    pub expiry_height: u64,
    /// The validator-set change, for an `authority` transaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority: Option<AuthorityJson>,
    /// Data carried (hex), for version-2 transactions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// Inputs.
    pub inputs: Vec<InputJson>,
    /// Outputs.
    pub outputs: Vec<OutputJson>,
    /// Coins the ledger pays for this transaction (ADR 0031), outputs of no
    /// transaction: a coinbase's block's staking rewards, or the stake an
    /// `unstake` or `undelegate` releases (pending while it unbonds, still
    /// slashable).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ledger_payouts: Vec<LedgerPayoutJson>,
}

/// A coin the ledger pays (ADR 0031).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LedgerPayoutJson {
    /// Its output index under the transaction's txid (past the
    /// transaction's own outputs).
    pub vout: u32,
    /// Base units (while pending: after any slashing so far).
    pub amount: u64,
    /// Decimal coins.
    pub amount_coins: String,
    /// Receiving address.
    pub address: String,
    /// `reward` or `unbonding`.
    pub kind: String,
    /// The height of the block that pays it, or will.
    pub height: u64,
    /// `paid`, `pending` until that height, or `slashed` (a slash took all
    /// of it while it unbonded: nothing is paid).
    pub status: String,
}

/// The validator-set change an authority transaction makes (ADR 0025).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuthorityJson {
    /// First height whose block the changed set finalizes.
    pub effective_height: u64,
    /// The validator's id (hash of its key).
    pub validator: String,
    /// Its key's scheme.
    pub scheme: String,
    /// Its voting power from then on; 0 removes it.
    pub power: u64,
    /// Ids of the authorities that signed.
    pub signers: Vec<String>,
}

impl AuthorityJson {
    /// The change `tx` makes, if it is an authority transaction.
    pub fn of(tx: &luminex_primitives::Transaction) -> Option<AuthorityJson> {
        let change = tx.authority_change()?;
        Some(AuthorityJson {
            effective_height: change.effective_height,
            validator: change.public_key.key_hash().to_string(),
            scheme: change.public_key.scheme.to_string(),
            power: change.power,
            signers: tx
                .witnesses
                .iter()
                .flat_map(|w| w.signatures())
                .map(|(k, _)| k.key_hash().to_string())
                .collect(),
        })
    }
}

/// `GET /blocks/{id}`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BlockJson {
    /// Block hash.
    pub hash: String,
    /// Height.
    pub height: u64,
    /// Blocks on top, including itself; 0 for a block off the main chain.
    pub confirmations: u64,
    /// Whether the block is on the main chain (false: a side branch, or a
    /// block a reorganisation disconnected).
    pub in_main_chain: bool,
    /// Set when the node will not connect this block: `failed` (it or an
    /// ancestor failed validation) or `invalidated` (the operator's
    /// `invalidateblock` on it or an ancestor; `reconsiderblock` clears it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^(failed|invalidated)$")]
    pub invalid: Option<String>,
    /// Header version.
    pub version: u32,
    /// Parent hash.
    pub prev_hash: String,
    /// Merkle root.
    pub merkle_root: String,
    /// Header time, Unix seconds.
    pub time: u64,
    /// Compact target (proof-of-work and `dev` headers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bits: Option<u32>,
    /// Nonce (proof-of-work and `dev` headers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<u32>,
    /// The fields of a BFT header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bft: Option<BftHeaderJson>,
    /// Encoded size.
    pub size: usize,
    /// Number of transactions.
    pub tx_count: usize,
    /// Transaction ids.
    pub txids: Vec<String>,
}

/// The fields only a BFT header has.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BftHeaderJson {
    /// Header time, Unix milliseconds.
    pub time_ms: u64,
    /// Validator id (key hash) of the proposer.
    pub proposer: String,
    /// Hash of the validator set that finalizes this block.
    pub validators_hash: String,
    /// Hash of the validator set that finalizes the next block.
    pub next_validators_hash: String,
    /// Hash of the parent's commit certificate carried in the block.
    pub last_commit_hash: String,
    /// Hash of the consensus state after the block.
    pub state_root: String,
    /// Whether the block is final.
    pub finalized: bool,
}

/// `GET /address/{address}/balance`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BalanceJson {
    /// The address.
    pub address: String,
    /// Confirmed balance in base units.
    pub confirmed: u64,
    /// Confirmed balance in coins.
    pub confirmed_coins: String,
    /// Confirmed balance after pending mempool transactions, base units.
    pub pending: u64,
    /// The same in coins.
    pub pending_coins: String,
    /// Confirmed unspent outputs.
    pub utxo_count: usize,
    /// Mempool transactions paying to the address (whether or not another
    /// pending transaction spends what they pay): it has pending activity.
    #[serde(default)]
    pub mempool_txs: usize,
    /// The lock's kind: the key's scheme (`ml-dsa-65`) or `multisig`.
    #[serde(default)]
    pub lock: String,
    /// A multisig address's policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multisig: Option<MultisigJson>,
}

/// One unspent output of `GET /address/{address}/utxos`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UtxoJson {
    /// Creating txid.
    pub txid: String,
    /// Output index.
    pub vout: u32,
    /// Base units.
    pub amount: u64,
    /// Decimal coins.
    pub amount_coins: String,
    /// Creating block height; none while pending.
    pub height: Option<u64>,
    /// Whether it is confirmed.
    pub confirmed: bool,
    /// Whether a coinbase created it.
    pub coinbase: bool,
    /// Whether it may be spent in the next block.
    pub spendable: bool,
}

/// `GET /address/{address}/utxos`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UtxosJson {
    /// The address.
    pub address: String,
    /// Its unspent outputs not spent by a pending transaction, including
    /// pending outputs.
    pub utxos: Vec<UtxoJson>,
}

/// One history entry.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HistoryEntryJson {
    /// Transaction.
    pub txid: String,
    /// Block height.
    pub height: u64,
    /// Received, base units.
    pub received: u64,
    /// The same in coins.
    #[serde(default)]
    pub received_coins: String,
    /// Sent, base units.
    pub sent: u64,
    /// The same in coins.
    #[serde(default)]
    pub sent_coins: String,
    /// Received minus sent, in coins (with sign).
    pub net_coins: String,
}

/// `GET /address/{address}/transactions`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HistoryJson {
    /// The address.
    pub address: String,
    /// Newest first.
    pub transactions: Vec<HistoryEntryJson>,
    /// Pass as `cursor` for the next page.
    pub next_cursor: Option<String>,
}

/// `GET /health/block-sync`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BlockSyncJson {
    /// Local tip height.
    pub height: u64,
    /// Local tip hash.
    pub hash: String,
    /// Whether the node is downloading blocks.
    pub syncing: bool,
    /// Highest height a peer reported (none without peers).
    pub best_peer_height: Option<u64>,
    /// 0..1.
    pub progress: f64,
}

/// `GET /health/node-status`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NodeStatusJson {
    /// Software version.
    pub version: String,
    /// Chain name.
    pub chain: String,
    /// Chain id.
    pub chain_id: u32,
    /// Address prefix.
    pub address_hrp: String,
    /// Genesis hash.
    pub genesis: String,
    /// Tip height.
    pub height: u64,
    /// Tip hash.
    pub tip: String,
    /// `producer` or `full`; on BFT chains `validator` while the node's
    /// key is in the set that finalizes the next block, `follower`
    /// otherwise (no key, or a key not in the set: see `validator_id`).
    pub role: String,
    /// On BFT chains, the id (key hash) of the validator key the node is
    /// configured to sign with; null without one. With `role: "follower"`
    /// the key is not in the set in force (removed by an authority change,
    /// not added yet, or never).
    #[serde(default)]
    pub validator_id: Option<String>,
    /// Seconds since start.
    pub uptime_secs: u64,
    /// Transactions in the mempool.
    pub mempool_txs: usize,
    /// Their bytes.
    pub mempool_bytes: usize,
    /// Bytes of the database on disk.
    pub disk_bytes: u64,
    /// CPU time of the process.
    pub cpu_seconds: f64,
    /// Resident memory of the process.
    pub memory_bytes: u64,
    /// Peer-to-peer identity and addresses (absent when networking is off).
    pub p2p: Option<P2pStatusJson>,
    /// Height of the last final block: certified on BFT chains, the reorg
    /// limit below the tip on others.
    pub finalized_height: u64,
    /// BFT chains: the certificate that finalized the tip.
    pub last_commit: Option<LastCommitJson>,
}

/// The commit certificate of the tip (BFT chains).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LastCommitJson {
    /// Height of the certified block.
    pub height: u64,
    /// Round it was decided in.
    pub round: u32,
    /// The block.
    pub block: String,
    /// Validators whose precommit it carries.
    pub signers: usize,
}

/// The network part of `GET /health/node-status`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct P2pStatusJson {
    /// This node's peer id.
    pub peer_id: String,
    /// Listen addresses with `/p2p/<peer id>`: paste one as `--bootnodes`.
    pub listen_addrs: Vec<String>,
    /// Confirmed external addresses.
    pub external_addrs: Vec<String>,
    /// AutoNAT's verdict: `unknown`, `public (<addr>)` or `private`.
    pub reachability: String,
    /// Inbound connections.
    pub inbound: usize,
    /// Outbound connections.
    pub outbound: usize,
    /// Addresses where a node answered with this node's own peer id: the
    /// two share a `p2p_key` (a copied data directory) and cannot connect.
    pub identity_clashes: Vec<String>,
}

/// Signed decimal coins of `received - sent`.
pub fn net_coins(received: u64, sent: u64) -> String {
    if received >= sent {
        coins(received - sent)
    } else {
        format!("-{}", coins(sent - received))
    }
}

/// An amount of base units in decimal coins (`12.5`), the `*_coins`
/// fields beside every amount; a figure past the largest amount (a sum of
/// several) in base units.
pub fn coins(base: u64) -> String {
    luminex_primitives::Amount::from_base(base).map_or_else(|| base.to_string(), |a| a.to_string())
}

/// One Stratum worker's figures (`GET /mining/workers`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WorkerJson {
    /// The worker name (`mining.authorize`'s user).
    pub worker: String,
    /// Shares accepted.
    pub shares_accepted: u64,
    /// Shares rejected, by reason (`stale`, `duplicate`, `low-difficulty`,
    /// `malformed`, `time`).
    pub shares_rejected: std::collections::BTreeMap<String, u64>,
    /// Blocks found and accepted onto the main chain.
    pub blocks_found: u64,
    /// Unix time of the last share; 0 if none.
    pub last_share_time: u64,
    /// Estimated hashes per second over the last ten minutes.
    pub hashrate: f64,
    /// Open connections authorized as this worker.
    pub connections: u64,
}

/// Every Stratum worker the node tracks (`GET /mining/workers`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WorkersJson {
    /// Workers by name.
    pub workers: Vec<WorkerJson>,
}

/// A block in a list (`GET /blocks`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BlockSummaryJson {
    /// Block hash.
    pub hash: String,
    /// Height.
    pub height: u64,
    /// Header time (Unix seconds).
    pub time: u64,
    /// Transactions, the coinbase included.
    pub tx_count: usize,
    /// Parent's hash.
    pub prev_hash: String,
}

/// A page of blocks, latest first (`GET /blocks`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BlocksJson {
    /// The blocks.
    pub blocks: Vec<BlockSummaryJson>,
    /// `from` of the next page; `null` after genesis.
    pub next_from: Option<u64>,
}

/// What a search term is (`GET /search`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum SearchJson {
    /// A block of the main chain, or a known block by hash.
    Block {
        /// Its height.
        height: u64,
        /// Its hash.
        hash: String,
    },
    /// A confirmed or pending transaction.
    Transaction {
        /// Its id.
        txid: String,
        /// Its block's height; `null` while pending.
        height: Option<u64>,
    },
    /// An address of this chain.
    Address {
        /// The address.
        address: String,
        /// Confirmed balance, base units.
        balance: u64,
        /// Confirmed unspent outputs.
        utxo_count: usize,
    },
}

/// Transactions per second over three windows (`GET /stats`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TpsJson {
    /// Over the last minute of block time.
    #[serde(rename = "1m")]
    pub one_minute: f64,
    /// Over the last five minutes.
    #[serde(rename = "5m")]
    pub five_minutes: f64,
    /// Over the last hour.
    #[serde(rename = "1h")]
    pub one_hour: f64,
}

/// Chain statistics (`GET /stats`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StatsJson {
    /// Tip height.
    pub height: u64,
    /// Tip hash.
    pub tip: String,
    /// Transactions per second (coinbases not counted).
    pub tps: TpsJson,
    /// Mean seconds between the last hundred blocks.
    pub average_block_time_secs: f64,
    /// Transactions waiting.
    pub mempool_txs: usize,
    /// Their bytes.
    pub mempool_bytes: usize,
    /// Proof-of-work difficulty of the tip (0 on chains without work).
    pub difficulty: f64,
    /// Coins in existence, base units: in unspent outputs and, on staking
    /// chains, bonded, unbonding or in the reward pot.
    pub supply: u64,
    /// The same as a decimal coin string.
    pub supply_coins: String,
}

/// A fee rate estimate (`GET /transactions/estimate-fee`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FeeEstimateJson {
    /// The confirmation target asked for.
    pub blocks: u64,
    /// Base units per byte likely to confirm within `blocks`.
    pub fee_rate: u64,
    /// The chain's minimum fee rate.
    pub min_fee_rate: u64,
    /// Always `base units per byte`.
    pub unit: String,
}

/// An input of a planned payment (`POST /transactions/create`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PlannedInputJson {
    /// Spent txid.
    pub txid: String,
    /// Spent output index.
    pub vout: u32,
    /// Its amount, base units.
    pub amount: u64,
    /// The same in coins.
    #[serde(default)]
    pub amount_coins: String,
}

/// An unsigned payment to sign (`POST /transactions/create`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CreatedTxJson {
    /// The unsigned transaction, hex.
    pub tx: String,
    /// Its id (witnesses do not change it).
    pub txid: String,
    /// Fee it pays, base units.
    pub fee: u64,
    /// The same in coins.
    #[serde(default)]
    pub fee_coins: String,
    /// The coins it spends.
    pub inputs: Vec<PlannedInputJson>,
    /// The message every witness signs, hex.
    pub signature_message: String,
    /// Witnesses to add (one per input).
    pub witnesses_needed: usize,
    /// The sender's signature scheme (`ml-dsa-65`, …).
    pub scheme: String,
}
