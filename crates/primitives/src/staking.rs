//! Payloads of the proof-of-stake transaction kinds (ADR 0031): bonding
//! coins to a validator, delegating, unbonding, registering a node key,
//! leaving jail and creating an account.
//!
//! Every payload's encoding starts with a version byte
//! ([`STAKING_PAYLOAD_VERSION`]), so a payload can gain fields later under a
//! new version without a new transaction kind; decoding refuses versions it
//! does not know.
//!
//! The rules — who must sign, the minimum stake, the unbonding period — are
//! the ledger's (`luminex_ledger::staking`); these types only carry the
//! bytes.

use crate::codec::{Decode, DecodeError, Encode, Reader, Sink};
use crate::{Amount, Hash, Lock, PublicKey};

/// The only payload version so far.
pub const STAKING_PAYLOAD_VERSION: u8 = 1;

fn put_version<S: Sink>(s: &mut S) {
    s.put(&[STAKING_PAYLOAD_VERSION]);
}

fn read_version(r: &mut Reader<'_>) -> Result<(), DecodeError> {
    match r.u8("staking payload version")? {
        STAKING_PAYLOAD_VERSION => Ok(()),
        v => Err(DecodeError::UnknownTag {
            field: "staking payload version",
            tag: v.into(),
        }),
    }
}

/// `stake`: bonds `amount` of the transaction's inputs to the validator
/// `validator` as its own stake. The validator's key signs the transaction.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Stake {
    /// The validator's consensus key; its key hash is the validator's id.
    pub validator: PublicKey,
    /// Coins bonded, taken from the inputs beside outputs and fee.
    pub amount: Amount,
}

impl Encode for Stake {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        put_version(s);
        self.validator.encode_to(s);
        self.amount.encode_to(s);
    }
}

impl Decode for Stake {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        read_version(r)?;
        Ok(Stake {
            validator: PublicKey::decode(r)?,
            amount: Amount::decode(r)?,
        })
    }
}

/// `delegate`: bonds `amount` of the transaction's inputs to someone
/// else's validator. The delegator's key signs; its key hash names the
/// delegation.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Delegation {
    /// Id (key hash) of the validator delegated to.
    pub validator: Hash,
    /// Coins bonded.
    pub amount: Amount,
}

impl Encode for Delegation {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        put_version(s);
        self.validator.encode_to(s);
        self.amount.encode_to(s);
    }
}

impl Decode for Delegation {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        read_version(r)?;
        Ok(Delegation {
            validator: Hash::decode(r)?,
            amount: Amount::decode(r)?,
        })
    }
}

/// `unstake` and `undelegate`: starts unbonding `amount` of the signer's
/// stake with `validator`. After the spec's unbonding period the coins
/// become an output locked to `payout` (ADR 0031).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Unbond {
    /// Id (key hash) of the validator the stake is bonded to.
    pub validator: Hash,
    /// Coins to unbond.
    pub amount: Amount,
    /// Who may spend the coins once released.
    pub payout: Lock,
}

impl Encode for Unbond {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        put_version(s);
        self.validator.encode_to(s);
        self.amount.encode_to(s);
        self.payout.encode_to(s);
    }
}

impl Decode for Unbond {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        read_version(r)?;
        Ok(Unbond {
            validator: Hash::decode(r)?,
            amount: Amount::decode(r)?,
            payout: Lock::decode(r)?,
        })
    }
}

/// `register-node`: registers a node key for committee draws and fee
/// sharing. The node key signs the transaction, and must have the chain's
/// minimum stake of its own bonded (ADR 0063).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct NodeRegistration {
    /// The node's key; its key hash is the node's id.
    pub node: PublicKey,
    /// Where the node's share of fees is paid.
    pub payout: Lock,
}

impl Encode for NodeRegistration {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        put_version(s);
        self.node.encode_to(s);
        self.payout.encode_to(s);
    }
}

impl Decode for NodeRegistration {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        read_version(r)?;
        Ok(NodeRegistration {
            node: PublicKey::decode(r)?,
            payout: Lock::decode(r)?,
        })
    }
}

/// `unjail`: asks for a jailed validator to be eligible again. The
/// validator's key signs.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Unjail {
    /// Id (key hash) of the validator.
    pub validator: Hash,
}

impl Encode for Unjail {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        put_version(s);
        self.validator.encode_to(s);
    }
}

impl Decode for Unjail {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        read_version(r)?;
        Ok(Unjail {
            validator: Hash::decode(r)?,
        })
    }
}

/// `create-account`: on a chain that requires it, lets `lock` receive
/// coins. The owners of the inputs (existing accounts) create it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct AccountCreation {
    /// The account (an address's lock) to create.
    pub lock: Lock,
}

impl Encode for AccountCreation {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        put_version(s);
        self.lock.encode_to(s);
    }
}

impl Decode for AccountCreation {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        read_version(r)?;
        Ok(AccountCreation {
            lock: Lock::decode(r)?,
        })
    }
}

/// `heartbeat`: a registered node says it is live in epoch `epoch` (the
/// fee-sharing rule `equal_registered_nodes` pays only nodes live in the
/// epoch). The node key signs; at most one per node and epoch, and only in
/// a block of that epoch.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Heartbeat {
    /// Id (key hash) of the registered node.
    pub node: Hash,
    /// The epoch it is live in: the epoch of the block that carries it.
    pub epoch: u64,
}

impl Encode for Heartbeat {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        put_version(s);
        self.node.encode_to(s);
        s.put(&self.epoch.to_le_bytes());
    }
}

impl Decode for Heartbeat {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        read_version(r)?;
        Ok(Heartbeat {
            node: Hash::decode(r)?,
            epoch: r.u64("heartbeat epoch")?,
        })
    }
}
