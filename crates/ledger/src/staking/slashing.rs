//! Punishments (ADR 0039): double signing proven by an `evidence`
//! transaction, and downtime judged from the commit certificates blocks
//! carry.
//!
//! - **Double sign.** The offender loses the spec's `double_sign_slash` of
//!   its bonded and unbonding stake ([`StakingState::slash_offence`], pro
//!   rata over its own bond, its delegators and those of its unbonding
//!   entries whose stake still backed its power at the offence's height,
//!   ADR 0069) and is jailed
//!   for good (`slashed`). The reporter named in the transaction gets
//!   `reporter_share` of the cut as a spendable output at the
//!   transaction's release outpoint (its txid, index 0: it has no
//!   outputs); the rest is burned (and counted), or on a chain with a
//!   fixed supply credited to the reward pot, which the rewards rules
//!   redistribute at the epoch's end (ADR 0038).
//!   The offence (validator, height) is recorded, so the same evidence —
//!   or other evidence of the same offence — is never punished twice, and
//!   a validator jailed for good is not punished again for another height
//!   (a double signer is slashed once, as CometBFT's tombstone); evidence
//!   older than the unbonding period is refused (the stake may have left),
//!   and so the record is dropped once that old.
//! - **Downtime.** Block *h* carries the certificate of *h* − 1, whose
//!   signers bitmap indexes the set in force at *h* − 1; it names every
//!   precommit the proposer received before its commit pause ended, not
//!   only the first quorum (ADR 0042). Each member's
//!   missed commits are kept ([`Liveness`]); a member that has been in the
//!   set for a whole `downtime_window` of commits and signed fewer than
//!   `downtime_min_signed` of the last `downtime_window` loses
//!   `downtime_slash` (burned, or credited to the pot, alike) and is jailed for
//!   `jail_blocks` blocks, after which it may unjail. Its record starts
//!   afresh.

use std::collections::BTreeSet;

use luminex_primitives::{
    Amount, CommitCertificate, EvidenceReport, Hash, Lock, Transaction, TxOut,
};

use super::state::{JailEntry, Liveness, StakingState, StakingUndo};
use super::unbonding::release_outpoint;
use super::{StakingError, StakingParams};
use crate::{ChainSpec, Coin, ValidatorSet};

impl StakingState {
    /// Applies an `evidence` transaction of a block at `height` whose txid
    /// is `txid`. Its votes were checked against the set of their height by
    /// the consensus rules (`evidence::check_block_evidence`); this checks
    /// that the offence is still punishable and punishes it.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn punish_double_sign(
        &mut self,
        tx: &Transaction,
        txid: &Hash,
        report: &EvidenceReport,
        height: u64,
        spec: &ChainSpec,
        params: &StakingParams,
        undo: &mut StakingUndo,
    ) -> Result<(), StakingError> {
        let key = report.evidence.key();
        if key.height > height {
            return Err(StakingError::EvidenceFromFuture {
                height: key.height,
                block: height,
            });
        }
        if height - key.height > params.unbonding_blocks {
            return Err(StakingError::EvidenceTooOld {
                height: key.height,
                oldest: height - params.unbonding_blocks,
            });
        }
        if self.is_punished(&key.validator, key.height) {
            return Err(StakingError::AlreadyPunished {
                validator: key.validator,
                height: key.height,
            });
        }
        if self.jail(&key.validator).is_some_and(|j| j.slashed) {
            return Err(StakingError::Tombstoned(key.validator));
        }
        let r = params.double_sign_slash;
        let cut = self.slash_offence(
            &key.validator,
            key.height,
            params,
            r.numerator,
            r.denominator,
            undo,
        )?;
        self.set_punished(key.height, key.validator, true, undo);
        let until = match self.jail(&key.validator) {
            Some(j) => j.until.max(height.saturating_add(params.jail_blocks)),
            None => height.saturating_add(params.jail_blocks),
        };
        self.set_jail(
            key.validator,
            Some(JailEntry {
                until,
                slashed: true,
            }),
            undo,
        );
        if self.liveness.contains_key(&key.validator) {
            self.set_liveness(key.validator, None, undo);
        }
        let mut share = Amount::from_base(params.reporter_share.of(cut.base()))
            .ok_or(StakingError::Overflow)?;
        if !self.can_receive(&report.reporter, spec) {
            // An address that may not receive coins here: its share stays
            // with the rest of the cut.
            share = Amount::ZERO;
        }
        let rest = cut.checked_sub(share).map_err(|_| StakingError::Overflow)?;
        self.dispose(rest, spec, undo)?;
        if share > Amount::ZERO {
            undo.released.push((
                release_outpoint(tx, txid),
                Coin {
                    output: TxOut {
                        amount: share,
                        lock: report.reporter,
                    },
                    height,
                    is_coinbase: false,
                },
            ));
        }
        Ok(())
    }

    fn can_receive(&self, lock: &Lock, spec: &ChainSpec) -> bool {
        !spec.requires_account_creation() || self.is_account(lock)
    }

    /// What becomes of slashed coins no reporter is paid: burned (and
    /// counted, [`StakingState::burn`]), except on a chain with a fixed
    /// supply, where they join the reward pot and are redistributed with
    /// the epoch's rewards ([`StakingState::credit_pot`], ADR 0038).
    fn dispose(
        &mut self,
        amount: Amount,
        spec: &ChainSpec,
        undo: &mut StakingUndo,
    ) -> Result<(), StakingError> {
        if spec.requires_account_creation() {
            self.credit_pot(amount, undo)
        } else {
            self.burn(amount, undo)
        }
    }

    /// The liveness side of a block at `height`: `commit` is the
    /// certificate it carries (of the block at `height - 1`), signed by
    /// members of `set`, the set in force at that height. Records which
    /// members signed, forgets members that left the set or are jailed,
    /// and slashes and jails any member below the spec's minimum over a
    /// full window (see the module docs). Nothing happens on chains whose
    /// `downtime_window` is 0.
    pub fn apply_liveness(
        &mut self,
        commit: &CommitCertificate,
        set: &ValidatorSet,
        height: u64,
        spec: &ChainSpec,
        undo: &mut StakingUndo,
    ) -> Result<(), StakingError> {
        let params = spec.staking.as_ref().ok_or(StakingError::Disabled)?;
        let window = params.downtime_window;
        if window == 0 {
            return Ok(());
        }
        let at = commit.height;
        let members: BTreeSet<Hash> = set.validators().iter().map(|v| v.id()).collect();
        let gone: Vec<Hash> = self
            .liveness
            .keys()
            .filter(|id| !members.contains(id))
            .copied()
            .collect();
        for id in gone {
            self.set_liveness(id, None, undo);
        }
        let first_kept = (at + 1).saturating_sub(window);
        for (i, v) in set.validators().iter().enumerate() {
            let id = v.id();
            if self.jails.contains_key(&id) {
                if self.liveness.contains_key(&id) {
                    self.set_liveness(id, None, undo);
                }
                continue;
            }
            let known = self.liveness.get(&id);
            let signed = commit.signed_by(i);
            let record = match (known, signed) {
                (Some(l), true) => l.clone(),
                (known, _) => {
                    let mut l = known.cloned().unwrap_or(Liveness {
                        since: at,
                        missed: Vec::new(),
                    });
                    if !signed {
                        l.missed.retain(|h| *h >= first_kept);
                        l.missed.push(at);
                    }
                    self.set_liveness(id, Some(l.clone()), undo);
                    l
                }
            };
            if record.observed(at) < window {
                continue;
            }
            let signed_in = window - record.missed_in(at, window);
            let m = params.downtime_min_signed;
            if u128::from(signed_in) * u128::from(m.denominator)
                >= u128::from(window) * u128::from(m.numerator)
            {
                continue;
            }
            let r = params.downtime_slash;
            let cut = self.slash_offence(&id, at, params, r.numerator, r.denominator, undo)?;
            self.dispose(cut, spec, undo)?;
            self.set_jail(
                id,
                Some(JailEntry {
                    until: height.saturating_add(params.jail_blocks),
                    slashed: false,
                }),
                undo,
            );
            self.set_liveness(id, None, undo);
        }
        Ok(())
    }

    /// Forgets punished offences that evidence can no longer name at
    /// `height` (older than the unbonding period), recording the change.
    pub(super) fn prune_punished(
        &mut self,
        height: u64,
        params: &StakingParams,
        undo: &mut StakingUndo,
    ) {
        let Some(oldest) = height.checked_sub(params.unbonding_blocks) else {
            return;
        };
        let stale: Vec<(u64, Hash)> = self
            .punished
            .range(..(oldest, Hash::ZERO))
            .copied()
            .collect();
        for (h, id) in stale {
            self.set_punished(h, id, false, undo);
        }
    }
}
