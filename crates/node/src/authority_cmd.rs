//! `luminex chain authority`: governance of an authority chain (`poa`,
//! ADR 0025). One authority proposes a change into a file, the others sign
//! that file in turn (offline if need be: signing needs only the chain
//! spec and the key; with a node in reach, a key that is not an authority
//! is refused), and anyone submits it once more than two thirds have
//! signed. `list` prints the node's validator sets.
//!
//! ```text
//! luminex chain --chain poa authority keygen --out new.key       # the newcomer
//! luminex chain --chain poa authority propose --add <pubkey> --at 500 --out change.tx
//! luminex chain --chain poa authority sign --validator-key node0/validator.key --tx change.tx
//! luminex chain --chain poa authority submit --tx change.tx
//! ```

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::Subcommand;
use luminex_api::consensus::ValidatorSetsJson;
use luminex_api::types::{AuthorityJson, BroadcastResponse, NodeStatusJson};
use luminex_ledger::authority::{add_signature, unsigned_change, MIN_CHANGE_DELAY};
use luminex_ledger::{check_transaction, ChainSpec};
use luminex_primitives::{AuthorityChange, Decode, Encode, PublicKey, Transaction};
use rand::RngCore;

use crate::client::{Client, ClientError};
use crate::consensus::{read_validator_key, write_validator_key};

/// `luminex chain authority …`.
#[derive(Debug, Subcommand)]
pub enum AuthorityCommand {
    /// Write a new validator key (mode 0600) and print its public key.
    Keygen {
        /// Key file to create (must not exist).
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the public key (hex) of a validator key file.
    Pubkey {
        /// Validator key file.
        #[arg(long)]
        validator_key: PathBuf,
    },
    /// Write an unsigned change: add (or re-weight) or remove an authority
    /// from height `--at`.
    Propose {
        /// Public key (hex, from `pubkey` or `keygen`) of the authority to add.
        #[arg(long, conflicts_with = "remove", required_unless_present = "remove")]
        add: Option<String>,
        /// Public key (hex) of the authority to remove.
        #[arg(long)]
        remove: Option<String>,
        /// Voting power of the added authority (authority chains use 1).
        #[arg(long, default_value_t = 1)]
        power: u64,
        /// First height whose block the changed set finalizes.
        #[arg(long)]
        at: u64,
        /// Last height a block may carry the change (default: `at` − 3,
        /// the last that can still carry it).
        #[arg(long)]
        expiry: Option<u64>,
        /// File to write (must not exist).
        #[arg(long)]
        out: PathBuf,
        /// Do not ask the node whether it would take the change (by
        /// default a change it would refuse whatever its signatures, such
        /// as one whose `--at` has passed, is not written).
        #[arg(long)]
        offline: bool,
    },
    /// Add this authority's signature to a change file. When the node can
    /// be reached, a key that is not an authority of its chain is refused
    /// (its signature would make the node refuse the change); on an
    /// offline machine the key is not checked.
    Sign {
        /// The signing authority's validator key file.
        #[arg(
            long,
            required_unless_present = "dev_validator",
            conflicts_with = "dev_validator"
        )]
        validator_key: Option<PathBuf>,
        /// Sign with the preset's well-known development validator key N
        /// (as `luminex node --dev-validator N`; never for anything of value).
        #[arg(long, value_name = "N")]
        dev_validator: Option<u32>,
        /// Change file (rewritten in place).
        #[arg(long)]
        tx: PathBuf,
        /// Do not ask the node whether the key is an authority.
        #[arg(long)]
        offline: bool,
    },
    /// Print the node's validator sets as JSON: the authorities in force,
    /// those of the next block, and the changes still to take effect.
    List,
    /// Print a change file as JSON: what it changes and who signed.
    Show {
        /// Change file.
        #[arg(long)]
        tx: PathBuf,
    },
    /// Submit a signed change to the node.
    Submit {
        /// Change file.
        #[arg(long)]
        tx: PathBuf,
    },
}

/// Hex of a public key's encoding.
pub fn public_key_hex(key: &PublicKey) -> String {
    hex::encode(key.encode())
}

/// A public key from `public_key_hex`'s output.
pub fn parse_public_key(text: &str) -> anyhow::Result<PublicKey> {
    let bytes = hex::decode(text.trim()).context("the public key is not hex")?;
    PublicKey::decode_all(&bytes).map_err(|e| anyhow::anyhow!("not a public key: {e}"))
}

/// Reads a change file (hex of the transaction) and checks its shape.
pub fn read_change(path: &Path, spec: &ChainSpec) -> anyhow::Result<Transaction> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the change {}", path.display()))?;
    let bytes = hex::decode(text.trim()).with_context(|| format!("{}: not hex", path.display()))?;
    let tx = Transaction::decode_all(&bytes)
        .map_err(|e| anyhow::anyhow!("{}: not a transaction: {e}", path.display()))?;
    if tx.authority_change().is_none() {
        bail!("{}: not an authority change", path.display());
    }
    if tx.witnesses.is_empty() {
        check_unsigned(&tx, spec)?;
    } else {
        check_transaction(&tx, spec)?;
    }
    Ok(tx)
}

/// Checks an unsigned change as the node will once it is signed (unsigned
/// is a normal state of a proposal): with a throwaway signature added.
fn check_unsigned(tx: &Transaction, spec: &ChainSpec) -> anyhow::Result<()> {
    let mut probe = tx.clone();
    let key = luminex_crypto::SigningKey::from_seed(spec.default_scheme, &[0; 32]);
    add_signature(&mut probe, &spec.genesis_hash(), &key);
    check_transaction(&probe, spec)?;
    Ok(())
}

fn write_change(path: &Path, tx: &Transaction, create: bool) -> anyhow::Result<()> {
    let text = format!("{}\n", hex::encode(tx.encode()));
    if create {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .with_context(|| format!("creating {}", path.display()))?;
        std::io::Write::write_all(&mut f, text.as_bytes())?;
    } else {
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, path)?;
    }
    Ok(())
}

/// Runs an authority subcommand on the chain of `spec`; `client` reaches
/// the node (`propose` and `sign` ask it whether it would take the change
/// when it can be reached; `list` and `submit` need it).
pub async fn run(cmd: AuthorityCommand, spec: &ChainSpec, client: &Client) -> anyhow::Result<()> {
    // Keys and the set can be read on any chain; changes need a chain that
    // takes them.
    let changes = matches!(
        cmd,
        AuthorityCommand::Propose { .. }
            | AuthorityCommand::Sign { .. }
            | AuthorityCommand::Submit { .. }
    );
    if changes && !spec.authority_changes() {
        bail!(
            "chain {} does not take authority changes (its spec's [bft] authority_changes is off)",
            spec.name
        );
    }
    match cmd {
        AuthorityCommand::Keygen { out } => {
            let mut seed = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut seed);
            write_validator_key(&out, &seed)
                .with_context(|| format!("writing {}", out.display()))?;
            let key = read_validator_key(&out, spec)?;
            println!("{}", public_key_hex(key.public_key()));
        }
        AuthorityCommand::Pubkey { validator_key } => {
            let key = read_validator_key(&validator_key, spec)?;
            println!("{}", public_key_hex(key.public_key()));
        }
        AuthorityCommand::Propose {
            add,
            remove,
            power,
            at,
            expiry,
            out,
            offline,
        } => {
            let tx = propose(spec, add.as_deref(), remove.as_deref(), power, at, expiry)?;
            if !offline {
                if let Some(sets) =
                    node_sets(client, spec, "the node would take this change").await?
                {
                    if let Some(why) = submit_refusal(&sets, &tx) {
                        bail!(
                            "{why}: the node would refuse this change at submit, so it is not written (--offline writes it without asking the node)"
                        );
                    }
                }
            }
            write_change(&out, &tx, true)?;
            println!("{}", tx.txid());
        }
        AuthorityCommand::Sign {
            validator_key,
            dev_validator,
            tx,
            offline,
        } => {
            let key = signer_key(validator_key.as_deref(), dev_validator, spec)?;
            let mut change = read_change(&tx, spec)?;
            if !offline {
                if let Some(sets) = check_signer(client, spec, key.public_key()).await? {
                    if let Some(why) = submit_refusal(&sets, &change) {
                        bail!(
                            "{why}: the node would refuse this change at submit, so it is not signed; propose it again (--offline signs without asking the node)"
                        );
                    }
                    if let Some(w) = power_shift_warning(&sets, &change) {
                        eprintln!("warning: {w}");
                    }
                }
            }
            add_signature(&mut change, &spec.genesis_hash(), &key);
            write_change(&tx, &change, false)?;
            println!("{} signatures", change.witnesses.len());
        }
        AuthorityCommand::List => {
            check_node_chain(client, spec).await?;
            let sets: ValidatorSetsJson = client.get("/consensus/validators").await?;
            println!("{}", serde_json::to_string_pretty(&sets)?);
        }
        AuthorityCommand::Show { tx } => {
            let change = read_change(&tx, spec)?;
            let json = AuthorityJson::of(&change).context("not an authority change")?;
            println!("{}", serde_json::to_string_pretty(&json)?);
        }
        AuthorityCommand::Submit { tx } => {
            let change = read_change(&tx, spec)?;
            // Past its last height the node refuses it (or says it is in the
            // chain already); close to it, say that it may not make it.
            if let Ok(status) = client.get::<NodeStatusJson>("/health/node-status").await {
                let last = change.expiry_height;
                if status.height < last && last - status.height < 3 {
                    let left = match last - status.height {
                        1 => "the next block".to_string(),
                        n => format!("one of the next {n} blocks"),
                    };
                    eprintln!(
                        "note: only blocks up to height {last} can carry this change and the tip is {}: if it is not in {left} it expires (`luminex chain tx` shows whether it was)",
                        status.height
                    );
                }
            }
            let r: BroadcastResponse = client
                .post_bytes("/transactions/broadcast", change.encode())
                .await?;
            println!("{}", r.txid);
        }
    }
    Ok(())
}

/// Refuses to sign with a key the node does not know as an authority,
/// present or coming: the change would then be refused at `submit` with
/// `authority-unknown-signer`, and no command takes a signature out of a
/// file. When the node cannot be reached (signing on an offline machine),
/// says so and lets the signature through.
async fn check_signer(
    client: &Client,
    spec: &ChainSpec,
    key: &PublicKey,
) -> anyhow::Result<Option<ValidatorSetsJson>> {
    let Some(sets) = node_sets(client, spec, "this key is an authority").await? else {
        return Ok(None);
    };
    match signer_standing(&sets, &key.key_hash().to_string()) {
        Standing::Authority => Ok(Some(sets)),
        Standing::From(height) => {
            eprintln!(
                "note: this key is an authority only from height {height}: a block before it refuses the change (authority-unknown-signer)"
            );
            Ok(Some(sets))
        }
        Standing::Stranger => bail!(
            "this key ({}) is not an authority of the node's chain at height {} ({} authorities in force): the change would be refused with authority-unknown-signer; `authority list` shows the set (--offline signs without asking the node)",
            key.key_hash(),
            sets.height,
            sets.current.len()
        ),
    }
}

/// The node's validator sets, for checking `what` against them: `None`,
/// with a note, when the node cannot be reached (a change proposed or
/// signed on an offline machine); an error when it runs another chain or
/// cannot answer.
async fn node_sets(
    client: &Client,
    spec: &ChainSpec,
    what: &str,
) -> anyhow::Result<Option<ValidatorSetsJson>> {
    if let Err(e) = check_node_chain(client, spec).await {
        if let Some(ClientError::Unreachable { .. }) = e.downcast_ref::<ClientError>() {
            eprintln!("note: not checked that {what}: {e}");
            return Ok(None);
        }
        return Err(e);
    }
    match client.get("/consensus/validators").await {
        Ok(sets) => Ok(Some(sets)),
        Err(e @ ClientError::Unreachable { .. }) => {
            eprintln!("note: not checked that {what}: {e}");
            Ok(None)
        }
        Err(e) => {
            bail!("cannot check that {what}: {e} (--offline goes on without asking the node)")
        }
    }
}

/// Refuses to go on with a node of another chain than `spec`'s: its sets
/// say nothing about this chain's (a signature checked against them would
/// be refused only at `submit`, and no command takes it out of the file).
async fn check_node_chain(client: &Client, spec: &ChainSpec) -> anyhow::Result<()> {
    let status: NodeStatusJson = client.get("/health/node-status").await?;
    let genesis = spec.genesis_hash().to_string();
    if status.genesis != genesis {
        bail!(
            "the node runs chain {} (id {}, genesis {}), not {} (id {}, genesis {genesis}): give the node of this chain with --node, or this chain's spec with --chain",
            status.chain,
            status.chain_id,
            status.genesis,
            spec.name,
            spec.chain_id
        );
    }
    Ok(())
}

/// Why the node whose sets are `sets` would refuse `change` at submit
/// whatever its signatures, with the node's code: no block from the next
/// one on may carry it (`expired`), it takes effect too soon for the next
/// block (`authority-too-soon`), a change of the same key is already
/// scheduled (`authority-already-pending`), or it changes nothing
/// (`authority-not-a-validator`, `authority-no-change`). Judged against the
/// set of the block after next, as the node judges it.
fn submit_refusal(sets: &ValidatorSetsJson, change: &Transaction) -> Option<String> {
    let c = change.authority_change()?;
    let next = sets.height + 1;
    if next > change.expiry_height {
        return Some(format!(
            "the tip is at height {} and no block after {} may carry this change (expired)",
            sets.height, change.expiry_height
        ));
    }
    let earliest = next.saturating_add(MIN_CHANGE_DELAY);
    if c.effective_height < earliest {
        return Some(format!(
            "the tip is at height {}: a change effective at {} is too soon, the earliest is {earliest} (authority-too-soon)",
            sets.height, c.effective_height
        ));
    }
    let id = c.public_key.key_hash().to_string();
    if let Some(p) = sets.pending.iter().find(|p| p.id == id) {
        return Some(format!(
            "a change of {id} effective at {} is already scheduled (authority-already-pending)",
            p.effective_height
        ));
    }
    let power = sets.next.iter().find(|m| m.id == id).map_or(0, |m| m.power);
    match (power, c.power) {
        (0, 0) => Some(format!(
            "{id} is not an authority: removing it changes nothing (authority-not-a-validator)"
        )),
        (a, b) if a == b => Some(format!(
            "{id} is already an authority with voting power {a}: the change changes nothing (authority-no-change)"
        )),
        _ => None,
    }
}

/// A warning when `change` would leave one key with a third or more of the
/// set's power — an addition or a re-weighting that concentrates power, or
/// a removal that leaves three or fewer equal keys: if that key's node is
/// not running, blocks stop being finalized until it is (and with more
/// than two thirds, that key alone finalizes). Judged as the node judges
/// the change: against the set of the block after next with every pending
/// change applied, in order.
fn power_shift_warning(sets: &ValidatorSetsJson, change: &Transaction) -> Option<String> {
    let c = change.authority_change()?;
    let changed = c.public_key.key_hash().to_string();
    let mut set: Vec<(String, u64)> = sets.next.iter().map(|m| (m.id.clone(), m.power)).collect();
    let pending = sets.pending.iter().map(|p| (p.id.clone(), p.power));
    for (id, power) in pending.chain([(changed.clone(), c.power)]) {
        set.retain(|(m, _)| *m != id);
        if power > 0 {
            set.push((id, power));
        }
    }
    // The changed key first, so it is named when among the largest.
    if let Some(i) = set.iter().position(|(m, _)| *m == changed) {
        let mine = set.remove(i);
        set.insert(0, mine);
    }
    let total: u128 = set.iter().map(|(_, p)| u128::from(*p)).sum();
    let (id, power) = set
        .iter()
        .fold(None::<&(String, u64)>, |best, m| match best {
            Some(b) if b.1 >= m.1 => Some(b),
            _ => Some(m),
        })?;
    let power = u128::from(*power);
    (total > 0 && power * 3 >= total).then(|| {
        format!(
            "after this change {id} holds {power} of {total} voting power (a third or more): while its node is not running, no block is finalized{}",
            if power * 3 > total * 2 {
                "; and it alone can finalize blocks"
            } else {
                ""
            }
        )
    })
}

/// Where a validator id stands in the node's sets.
#[derive(Debug, PartialEq, Eq)]
enum Standing {
    /// In force for the next block.
    Authority,
    /// Joins at this height (in the next block's set or a pending change).
    From(u64),
    /// Neither.
    Stranger,
}

fn signer_standing(sets: &ValidatorSetsJson, id: &str) -> Standing {
    if sets.current.iter().any(|m| m.id == id) {
        return Standing::Authority;
    }
    if sets.next.iter().any(|m| m.id == id) {
        return Standing::From(sets.height + 2);
    }
    sets.pending
        .iter()
        .find(|c| c.id == id && c.power > 0)
        .map_or(Standing::Stranger, |c| Standing::From(c.effective_height))
}

/// The unsigned change `propose` writes.
pub fn propose(
    spec: &ChainSpec,
    add: Option<&str>,
    remove: Option<&str>,
    power: u64,
    at: u64,
    expiry: Option<u64>,
) -> anyhow::Result<Transaction> {
    if power > luminex_ledger::validators::MAX_TOTAL_POWER {
        bail!(
            "--power must be at most {} (the bound of a set's total power)",
            luminex_ledger::validators::MAX_TOTAL_POWER
        );
    }
    let (key, power) = match (add, remove) {
        (Some(k), None) if power > 0 => (parse_public_key(k)?, power),
        (Some(_), None) => bail!("--power must be positive (use --remove to remove)"),
        (None, Some(k)) => (parse_public_key(k)?, 0),
        _ => bail!("give exactly one of --add and --remove"),
    };
    if at <= MIN_CHANGE_DELAY {
        bail!("--at must be later than height {MIN_CHANGE_DELAY}");
    }
    let last = at - MIN_CHANGE_DELAY;
    let expiry = expiry.unwrap_or(last);
    if expiry == 0 || expiry > last {
        bail!(
            "--expiry must be between 1 and {last}: a block after height {last} cannot carry a change effective at {at}"
        );
    }
    let tx = unsigned_change(
        spec,
        AuthorityChange {
            effective_height: at,
            public_key: key,
            power,
        },
        expiry,
    );
    // The checks the node will make, now: a file nobody can sign helps no one.
    check_unsigned(&tx, spec)?;
    Ok(tx)
}

/// The key `sign` signs with: a validator key file, or a development
/// validator's well-known key.
fn signer_key(
    validator_key: Option<&std::path::Path>,
    dev_validator: Option<u32>,
    spec: &ChainSpec,
) -> anyhow::Result<luminex_crypto::SigningKey> {
    match (validator_key, dev_validator) {
        (Some(path), _) => read_validator_key(path, spec),
        (None, Some(i)) => Ok(luminex_crypto::SigningKey::from_seed(
            spec.default_scheme,
            &ChainSpec::dev_validator_seed(i),
        )),
        (None, None) => bail!("name the signer: --validator-key FILE or --dev-validator N"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use luminex_ledger::authority::check_authority_change;

    /// `sign` takes a key file or a development validator's index, one of
    /// the two; the index signs with the key `node --dev-validator` uses.
    #[test]
    fn sign_takes_a_key_file_or_a_development_validator() {
        use clap::Parser;
        let parse = |extra: &[&str]| {
            let mut args = vec![
                "luminex",
                "chain",
                "--chain",
                "poa",
                "authority",
                "sign",
                "--tx",
                "c.tx",
            ];
            args.extend_from_slice(extra);
            crate::cli::Cli::try_parse_from(args)
        };
        assert!(parse(&["--dev-validator", "1"]).is_ok());
        assert!(parse(&["--validator-key", "k"]).is_ok());
        assert!(parse(&[]).is_err(), "a signer is needed");
        assert!(parse(&["--validator-key", "k", "--dev-validator", "1"]).is_err());
        let spec = ChainSpec::preset("poa").unwrap();
        let key = signer_key(None, Some(1), &spec).unwrap();
        let record = spec.bft_genesis().unwrap();
        assert!(
            record
                .validators
                .validators()
                .iter()
                .any(|v| v.public_key == *key.public_key()),
            "development validator 1 is one of poa's authorities"
        );
        assert!(signer_key(None, None, &spec).is_err());
    }
    use luminex_primitives::Hash;

    #[test]
    fn propose_sign_and_check_against_the_genesis_authorities() {
        let spec = ChainSpec::preset("poa").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let newcomer = dir.path().join("new.key");
        write_validator_key(&newcomer, &[9; 32]).unwrap();
        let new_key = read_validator_key(&newcomer, &spec).unwrap();
        let hex_key = public_key_hex(new_key.public_key());
        assert_eq!(parse_public_key(&hex_key).unwrap(), *new_key.public_key());

        let tx = propose(&spec, Some(&hex_key), None, 1, 10, None).unwrap();
        assert_eq!(tx.expiry_height, 7);
        let file = dir.path().join("change.tx");
        write_change(&file, &tx, true).unwrap();
        assert!(write_change(&file, &tx, true).is_err(), "never overwrites");
        // Three of the four development authorities sign in turn.
        for i in 0..3 {
            let key_file = dir.path().join(format!("v{i}.key"));
            write_validator_key(&key_file, &ChainSpec::dev_validator_seed(i)).unwrap();
            let key = read_validator_key(&key_file, &spec).unwrap();
            let mut change = read_change(&file, &spec).unwrap();
            add_signature(&mut change, &spec.genesis_hash(), &key);
            // Signing twice with one key counts once.
            add_signature(&mut change, &spec.genesis_hash(), &key);
            write_change(&file, &change, false).unwrap();
        }
        let signed = read_change(&file, &spec).unwrap();
        assert_eq!(signed.witnesses.len(), 3);
        let json = AuthorityJson::of(&signed).unwrap();
        assert_eq!(json.signers.len(), 3);
        assert_eq!(json.effective_height, 10);
        // What the node will check: the genesis authorities, a block at 1.
        let record = spec.bft_genesis().unwrap();
        check_authority_change(&signed, &record, 1, &spec.genesis_hash(), &[]).unwrap();
    }

    #[test]
    fn a_signer_stands_as_the_node_lists_it() {
        use luminex_api::consensus::{PendingChangeJson, SetMemberJson};
        let member = |id: &str| SetMemberJson {
            id: id.into(),
            address: String::new(),
            power: 1,
        };
        let change = |id: &str, power| PendingChangeJson {
            effective_height: 50,
            id: id.into(),
            address: String::new(),
            power,
        };
        let sets = ValidatorSetsJson {
            height: 10,
            current: vec![member("a"), member("b")],
            current_power: 2,
            next: vec![member("a"), member("b"), member("c")],
            pending: vec![change("d", 1), change("a", 0), change("e", 0)],
            scheduled: None,
        };
        assert_eq!(signer_standing(&sets, "a"), Standing::Authority);
        assert_eq!(signer_standing(&sets, "c"), Standing::From(12));
        assert_eq!(signer_standing(&sets, "d"), Standing::From(50));
        // Being removed later is no standing; nor is being unknown.
        assert_eq!(signer_standing(&sets, "e"), Standing::Stranger);
        assert_eq!(signer_standing(&sets, "f"), Standing::Stranger);
    }

    #[test]
    fn bad_input_is_refused_with_a_reason() {
        let spec = ChainSpec::preset("poa").unwrap();
        let dir = tempfile::tempdir().unwrap();
        assert!(parse_public_key("zz").is_err());
        assert!(parse_public_key("0102").is_err());
        let k = public_key_hex(
            luminex_crypto::SigningKey::from_seed(spec.default_scheme, &[1; 32]).public_key(),
        );
        assert!(propose(&spec, Some(&k), None, 0, 10, None).is_err());
        assert!(propose(&spec, None, None, 1, 10, None).is_err());
        assert!(propose(&spec, Some(&k), None, 1, 2, None).is_err());
        // An expiry no block could use is refused when proposed …
        for expiry in [0, 8, 11] {
            let e = propose(&spec, Some(&k), None, 1, 10, Some(expiry)).unwrap_err();
            assert!(e.to_string().contains("between 1 and 7"), "{e}");
        }
        assert!(propose(&spec, Some(&k), None, 1, 10, Some(7)).is_ok());
        // … and a file holding one (written by hand) when read back.
        let mut late = propose(&spec, Some(&k), None, 1, 10, None).unwrap();
        late.expiry_height = 11;
        let file = dir.path().join("late.tx");
        write_change(&file, &late, true).unwrap();
        assert!(read_change(&file, &spec).is_err());
        // A file that is not a change.
        let junk = dir.path().join("junk.tx");
        std::fs::write(&junk, "not hex").unwrap();
        assert!(read_change(&junk, &spec).is_err());
        std::fs::write(&junk, "00").unwrap();
        assert!(read_change(&junk, &spec).is_err());
        assert!(read_change(&dir.path().join("missing.tx"), &spec).is_err());
        // A key whose length is not its scheme's: refused when proposed,
        // not only when the file is signed or submitted.
        let mut short = luminex_crypto::SigningKey::from_seed(spec.default_scheme, &[2; 32])
            .public_key()
            .clone();
        short.bytes.truncate(1312);
        let e = propose(&spec, Some(&public_key_hex(&short)), None, 1, 10, None).unwrap_err();
        assert!(e.to_string().contains("not a valid key"), "{e}");
    }

    /// Signing refuses, with the node's code, a change the node would
    /// refuse at submit whatever its signatures: its height is past or
    /// too close to the tip, the key has a change scheduled, or it changes
    /// nothing; a change the node would take passes.
    #[test]
    fn a_change_the_node_would_refuse_is_not_signed() {
        let spec = ChainSpec::preset("poa").unwrap();
        let member_key = luminex_crypto::SigningKey::from_seed(spec.default_scheme, &[4; 32])
            .public_key()
            .clone();
        let newcomer = luminex_crypto::SigningKey::from_seed(spec.default_scheme, &[9; 32])
            .public_key()
            .clone();
        let member = |id: String| luminex_api::consensus::SetMemberJson {
            id,
            address: String::new(),
            power: 1,
        };
        let others = (1..=3).map(|i| member(Hash([i; 32]).to_string()));
        let set: Vec<_> = others
            .chain([member(member_key.key_hash().to_string())])
            .collect();
        let sets = ValidatorSetsJson {
            height: 50,
            current: set.clone(),
            current_power: 4,
            next: set,
            pending: Vec::new(),
            scheduled: None,
        };
        let (k, m) = (public_key_hex(&newcomer), public_key_hex(&member_key));
        let refusal = |add: Option<&str>, remove: Option<&str>, at: u64| {
            let tx = propose(&spec, add, remove, 1, at, None).unwrap();
            submit_refusal(&sets, &tx)
        };
        // Proposed for height 40 while the tip is 50: expired.
        let why = refusal(Some(&k), None, 40).unwrap();
        assert!(why.contains("(expired)"), "{why}");
        // A change made by hand whose expiry (53) still allows block 51,
        // but effective at 53, too soon for it (the earliest is 54).
        let by_hand = unsigned_change(
            &spec,
            AuthorityChange {
                effective_height: 53,
                public_key: newcomer.clone(),
                power: 1,
            },
            53,
        );
        let why = submit_refusal(&sets, &by_hand).unwrap();
        assert!(why.contains("authority-too-soon"), "{why}");
        // The earliest: expiry 51 lets the next block carry it.
        assert_eq!(refusal(Some(&k), None, 54), None);
        // Adding an authority at its power; removing a stranger.
        let why = refusal(Some(&m), None, 110).unwrap();
        assert!(why.contains("authority-no-change"), "{why}");
        let why = refusal(None, Some(&k), 110).unwrap();
        assert!(why.contains("authority-not-a-validator"), "{why}");
        assert_eq!(refusal(None, Some(&m), 110), None);
        assert_eq!(refusal(Some(&k), None, 110), None);
        // A change of a key with one already scheduled.
        let mut pending = sets.clone();
        pending
            .pending
            .push(luminex_api::consensus::PendingChangeJson {
                effective_height: 60,
                id: newcomer.key_hash().to_string(),
                address: String::new(),
                power: 1,
            });
        let tx = propose(&spec, Some(&k), None, 1, 70, None).unwrap();
        let why = submit_refusal(&pending, &tx).unwrap();
        assert!(why.contains("authority-already-pending"), "{why}");
    }

    /// Signing warns when the change leaves one key with a third or more
    /// of the power (its node down halts finality), and more loudly past
    /// two thirds; an ordinary addition or a removal does not.
    #[test]
    fn a_change_concentrating_power_is_warned_about() {
        let spec = ChainSpec::preset("poa").unwrap();
        let member = |i: u8, power: u64| luminex_api::consensus::SetMemberJson {
            id: Hash([i; 32]).to_string(),
            address: String::new(),
            power,
        };
        let sets = ValidatorSetsJson {
            height: 5,
            current: (1..=4).map(|i| member(i, 1)).collect(),
            current_power: 4,
            next: (1..=4).map(|i| member(i, 1)).collect(),
            pending: Vec::new(),
            scheduled: None,
        };
        let k = public_key_hex(
            luminex_crypto::SigningKey::from_seed(spec.default_scheme, &[9; 32]).public_key(),
        );
        let warn = |power: u64| {
            let tx = propose(&spec, Some(&k), None, power, 10, None).unwrap();
            power_shift_warning(&sets, &tx)
        };
        assert_eq!(warn(1), None);
        let w = warn(2).unwrap();
        assert!(w.contains("2 of 6") && !w.contains("alone"), "{w}");
        let w = warn(100).unwrap();
        assert!(w.contains("100 of 104") && w.contains("alone"), "{w}");
        // Removing a key that is not in the set changes nothing here; one
        // that leaves three equal keys makes each of them a third.
        let absent = propose(&spec, None, Some(&k), 1, 10, None).unwrap();
        assert_eq!(power_shift_warning(&sets, &absent), None);
        let member_key = luminex_crypto::SigningKey::from_seed(spec.default_scheme, &[4; 32])
            .public_key()
            .clone();
        let mut with_it = sets.clone();
        with_it.next[3].id = member_key.key_hash().to_string();
        let removal =
            propose(&spec, None, Some(&public_key_hex(&member_key)), 1, 10, None).unwrap();
        let w = power_shift_warning(&with_it, &removal).unwrap();
        assert!(w.contains("1 of 3") && !w.contains("alone"), "{w}");
        // From five, a removal leaves four: no warning — unless a removal
        // already pending leaves three.
        with_it.next.push(member(5, 1));
        assert_eq!(power_shift_warning(&with_it, &removal), None);
        with_it
            .pending
            .push(luminex_api::consensus::PendingChangeJson {
                effective_height: 9,
                id: Hash([5; 32]).to_string(),
                address: String::new(),
                power: 0,
            });
        let w = power_shift_warning(&with_it, &removal).unwrap();
        assert!(w.contains("1 of 3"), "{w}");
        // A power past the bound of a set is refused when proposed.
        assert!(propose(&spec, Some(&k), None, u64::MAX, 10, None).is_err());
    }
}
