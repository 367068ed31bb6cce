//! `help`: the methods this server answers, by group, or one method's
//! parameters and purpose — what `bitcoin-cli help` prints.

use jsonrpsee::RpcModule;
use serde_json::{json, Value};

use super::{codes, err, reg, RpcContext};

/// Every method: its group, its call with parameters (optional ones in
/// brackets) and what it does. A test checks this against the registered
/// methods, so the list cannot fall behind.
pub const METHODS: &[(&str, &str, &str)] = &[
    (
        "Blockchain",
        "getbestblockhash",
        "The hash of the main chain's tip.",
    ),
    (
        "Blockchain",
        "getblock \"blockhash\" ( verbosity )",
        "A block: 0 hex, 1 with txids (default), 2 with transactions and fees (alias verbose).",
    ),
    (
        "Blockchain",
        "getblockchaininfo",
        "The chain, its tip, the best header known and whether the initial download is running.",
    ),
    ("Blockchain", "getblockcount", "The main chain's height."),
    (
        "Blockchain",
        "getblockhash height",
        "The main-chain block hash at a height.",
    ),
    (
        "Blockchain",
        "getblockheader \"blockhash\" ( verbose )",
        "A block header: an object (default) or hex.",
    ),
    (
        "Blockchain",
        "getblockstats hash_or_height ( stats )",
        "A block's fees, fee rates, sizes and counts (base units), or only the stats named.",
    ),
    (
        "Blockchain",
        "getchaintxstats ( nblocks \"blockhash\" )",
        "Transactions from genesis to a main-chain block (the tip), and their count and rate over its last nblocks (30 days' worth).",
    ),
    (
        "Blockchain",
        "getchaintips",
        "The main chain's tip and the last block of each side branch held.",
    ),
    (
        "Blockchain",
        "getdifficulty",
        "The proof-of-work difficulty of the tip.",
    ),
    (
        "Blockchain",
        "getindexinfo ( \"index_name\" )",
        "The optional indexes this node keeps (txindex, addressindex) and how far they reach.",
    ),
    (
        "Blockchain",
        "getmempoolancestors \"txid\" ( verbose )",
        "A pool transaction's unconfirmed ancestors.",
    ),
    (
        "Blockchain",
        "getmempooldescendants \"txid\" ( verbose )",
        "A pool transaction's unconfirmed descendants.",
    ),
    (
        "Blockchain",
        "getmempoolentry \"txid\"",
        "A pool transaction: size, fees, ancestors, descendants.",
    ),
    (
        "Blockchain",
        "getmempoolinfo",
        "The pool's size, bytes, limit and fee floor.",
    ),
    (
        "Blockchain",
        "getrawmempool ( verbose )",
        "The pool's txids, or every entry (verbose).",
    ),
    (
        "Blockchain",
        "getstakinginfo",
        "Staking parameters and totals (chains with staking).",
    ),
    (
        "Blockchain",
        "gettxout \"txid\" n ( include_mempool )",
        "An unspent output, or null if spent or unknown.",
    ),
    (
        "Blockchain",
        "gettxoutsetinfo",
        "Size, total and hash of the UTXO set.",
    ),
    (
        "Blockchain",
        "invalidateblock \"blockhash\"",
        "Marks a block invalid by choice: the chain leaves it and its descendants for the best valid branch.",
    ),
    (
        "Blockchain",
        "reconsiderblock \"blockhash\"",
        "Clears the invalid marks of a block, its ancestors and descendants, and follows the best valid branch again.",
    ),
    (
        "Control",
        "getmemoryinfo ( \"mode\" )",
        "Bitcoin Core's locked-memory figures: all 0, since this node locks no memory.",
    ),
    (
        "Control",
        "help ( \"command\" )",
        "This list, or one method's call and purpose.",
    ),
    (
        "Control",
        "getrpcinfo",
        "This call as the one in progress, and no log file (logs go to stderr).",
    ),
    ("Control", "stop", "Stops the node, as SIGTERM does."),
    ("Control", "uptime", "Seconds since the node started."),
    (
        "Generating",
        "generatetoaddress nblocks \"address\"",
        "Mines 0 to 10,000 blocks now to an address (proof of work, regtest-like).",
    ),
    (
        "Mining",
        "getblocktemplate ( \"template_request\" )",
        "A block template for mining software (BIP 22/23).",
    ),
    (
        "Mining",
        "getmininginfo",
        "The tip, difficulty and network hash rate.",
    ),
    (
        "Mining",
        "getnetworkhashps ( nblocks height )",
        "Hashes per second over the last nblocks (120; 0 or less: since the last difficulty change); 0 without proof of work.",
    ),
    (
        "Mining",
        "submitblock \"hexdata\" ( \"dummy\" )",
        "Submits a solved block.",
    ),
    (
        "Network",
        "getconnectioncount",
        "The number of connected peers.",
    ),
    (
        "Network",
        "getnettotals",
        "Bytes received and sent over every connection, and the clock in milliseconds.",
    ),
    (
        "Network",
        "getnetworkinfo",
        "Version, relay fee, connections and local addresses.",
    ),
    (
        "Network",
        "getpeerinfo",
        "Each connected peer: address, direction, ping, agent, heights.",
    ),
    (
        "Network",
        "listbanned",
        "The banned peers (libp2p ids) with when each ban began and ends.",
    ),
    (
        "Rawtransactions",
        "decoderawtransaction \"hexstring\"",
        "A raw transaction decoded as an object.",
    ),
    (
        "Rawtransactions",
        "getrawtransaction \"txid\" ( verbosity \"blockhash\" )",
        "A transaction from the chain or the pool: 0 hex, 1 an object, 2 with its fee and prevouts (alias verbose).",
    ),
    (
        "Rawtransactions",
        "sendrawtransaction \"hexstring\" ( maxfeerate )",
        "Submits a raw transaction to the pool and the network.",
    ),
    (
        "Rawtransactions",
        "testmempoolaccept [\"rawtx\"] ( maxfeerate )",
        "Whether the pool would admit a raw transaction now, admitting nothing.",
    ),
    (
        "Util",
        "validateaddress \"address\"",
        "Whether an address is of this chain and can receive coins that can be spent.",
    ),
    (
        "Util",
        "estimatesmartfee conf_target ( \"estimate_mode\" )",
        "A fee rate (coins per 1,000 bytes) to confirm within conf_target blocks.",
    ),
];

/// The method name of a [`METHODS`] call.
fn name(call: &str) -> &str {
    call.split_whitespace().next().unwrap_or(call)
}

/// `help` without a command: the methods by group, as Bitcoin Core lists
/// them; with one, its call and purpose (an unknown one is said so, as a
/// result, as Bitcoin Core answers it).
fn help(command: Option<&str>) -> String {
    if let Some(cmd) = command {
        return METHODS
            .iter()
            .find(|(_, call, _)| name(call) == cmd)
            .map(|(_, call, what)| format!("{call}\n\n{what}"))
            .unwrap_or_else(|| format!("help: unknown command: {cmd}"));
    }
    let mut out = String::new();
    let mut group = "";
    for (g, call, _) in METHODS {
        if *g != group {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&format!("== {g} ==\n"));
            group = g;
        }
        out.push_str(call);
        out.push('\n');
    }
    out.trim_end().to_string()
}

/// Registers `help`.
pub(super) fn register(m: &mut RpcModule<RpcContext>) {
    reg(m, "help", &["command"], |_, p| {
        let command = match p.first() {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.as_str()),
            Some(v) => {
                return Err(err(
                    codes::TYPE,
                    format!("command: JSON value {v} is not of expected type string"),
                ))
            }
        };
        Ok(json!(help(command)))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every registered method is listed once, and nothing else is.
    #[test]
    fn help_lists_exactly_the_registered_methods() {
        let node = luminex_service::testkit::memory_node();
        let m = crate::rpc::module(RpcContext::new(node, None));
        let mut registered: Vec<&str> = m.method_names().collect();
        registered.sort_unstable();
        let mut listed: Vec<&str> = METHODS.iter().map(|(_, call, _)| name(call)).collect();
        listed.sort_unstable();
        assert_eq!(listed, registered);
    }

    /// One command's help names its parameters; an unknown one says so.
    #[test]
    fn help_for_one_command_and_an_unknown_one() {
        let text = help(Some("gettxout"));
        assert!(text.starts_with("gettxout \"txid\" n"), "{text}");
        assert!(help(None).contains("== Network ==\ngetconnectioncount\n"));
        assert_eq!(
            help(Some("nosuchmethod")),
            "help: unknown command: nosuchmethod"
        );
    }
}
