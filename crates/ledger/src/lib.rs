//! The Luminex ledger: what a valid transaction and block are, and how a block
//! changes the UTXO set.
//!
//! Validation comes in three tiers, after Bitcoin Core:
//!
//! 1. **context-free** ([`check_transaction`], [`check_block`]): structure,
//!    sizes, chain id, allowed schemes — nothing but the bytes and the spec;
//! 2. **against a UTXO view** ([`check_tx_inputs`], [`verify_signatures`]):
//!    inputs exist and are spendable, the owner signed, no overspend, the fee
//!    pays the minimum rate, not expired, coinbase maturity;
//! 3. **connect/disconnect** ([`connect_block`], [`disconnect_block`]): apply
//!    a whole block to the UTXO set, producing the [`BlockUndo`] that reverses
//!    it exactly.
//!
//! Everything here is deterministic and free of I/O: the UTXO set is reached
//! through the [`UtxoView`] trait and time is passed in.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod authority;
pub mod compact;
mod connect;
mod error;
pub mod evidence;
pub mod rules;
mod sigcache;
pub mod spec;
pub mod staking;
#[cfg(feature = "testkit")]
pub mod testkit;
mod utxo;
mod validate;
pub mod validators;

pub use authority::{check_authority_change, AuthorityError};
pub use connect::{
    connect_block, connect_checked, connect_genesis, disconnect_block, disconnect_block_with_ids,
    BlockContext, CheckedBlock, Connected,
};
pub use error::{BlockError, ErrorClass, MultisigError, TxError};
pub use rules::{ChainContext, ConsensusRules, Finality, HeaderChain, Parent, U256};
pub use sigcache::SigCache;
pub use spec::{ChainSpec, CoinbaseExtraError, SpecError};
pub use staking::{StakingError, StakingState, StakingUndo};
pub use utxo::{BlockUndo, Coin, UtxoChanges, UtxoView};
pub use validate::{
    check_block, check_transaction, check_tx_inputs, verify_signatures, verify_spent_outputs,
    InputCheck,
};

pub use validate::{body_matches_header, check_block_known, BlockIds, KnownTx};
pub use validators::{
    ConsensusRecord, PendingChange, ScheduledSet, Validator, ValidatorSet, ValidatorSetError,
};
