# The pages' English messages: the complete catalog, and the fallback of the
# others. Keys are grouped by the file that uses them. To add a language,
# see docs/web.md ("Languages").

## The page shell (layout.rs)

skip-to-content = Skip to content
search-label = Search by height, block hash, txid or address
search-placeholder = Height, block hash, txid or address
search = Search
footer-served = Served by this Luminex node
footer-wallet = wallet
footer-admin = dashboard
footer-api = REST API
footer-metrics = metrics
footer-language = Language
# Said to screen readers when the live updates refresh the page (live.js).
live-updated = Updated

## Error pages (error.rs) and the messages they carry

error-bad-request = Bad request
error-not-found = Not found
error-storage = Storage error
error-storage-message = the node could not read its database; see its log
error-index-off = Not kept by this node
error-index-off-message = this node does not keep the index this page needs; its operator can turn it on
error-page-not-built = the page could not be built
error-timeout = Request timed out
error-timeout-message = the request took longer than the node allows; try again
back-to-explorer = Back to the explorer
no-such-file = no file named “{ $file }”
page-number-bad = the page number must be a whole number from 1
not-hex-hash = “{ $term }” is not a hash: expected 64 hexadecimal characters
not-hex-block-hash = “{ $term }” is not a block hash: expected 64 hexadecimal characters
not-hex-txid = “{ $term }” is not a transaction id: expected 64 hexadecimal characters
search-empty = type a block height, a block hash, a transaction id or an address
search-too-long = the search is too long ({ $len } characters; at most { $max })
height-out-of-range = that height is out of range
no-block-at-height = there is no block at height { $height } yet (the tip is at { $tip })
no-block-or-tx = no block or transaction has the hash { $hash }
search-not-understood = “{ $term }” is not a height, a 64-character hash or an address of this chain ({ $error })
block-id-bad = “{ $term }” is neither a height nor a 64-character block hash
no-block-with-hash = no block has the hash { $hash }
block-body-missing = the body of block { $hash } is not stored
block-pages-past = block { $height } has { $pages } page(s) of transactions
no-such-tx = no transaction { $hash } is known: not on the chain, not in the mempool
not-an-address = “{ $term }” is not an address of the { $chain } chain ({ $error })
older-link-bad = the page link is malformed: follow “Older” again

## Shared by the explorer's pages (explorer/)

ago = { $age } ago
confirmations = { $n ->
    [one] { $n } confirmation
   *[other] { $n } confirmations
}
height = Height
hash = Hash
status = Status
size = Size
time = Time
version = Version
block = Block
transaction = Transaction
transactions = Transactions
difficulty = Difficulty
target-bits = Target bits
badge-pending = pending
paid-out = Paid out
inputs = Inputs

## The dashboard (explorer/dashboard.rs)

explorer = Explorer
chain-of = { $chain } chain ({ $consensus })
network-figures = Network figures
last-block = Last block
block-time = Block time
tps = Transactions per second
mempool = Mempool
txs-and-bytes = { $txs } txs · { $bytes }
supply = Supply (by schedule)
hash-rate = Hash rate (estimate)
fee-estimates = Fee estimates
fee-estimates-note = Base units per byte, from the mempool.
next-block = Next block
within-blocks = Within { $n } blocks
mempool-next-blocks = Mempool: the next blocks
mempool-empty = The mempool is empty: the next block holds only its coinbase.
blocks-and-more = +{ $n } blocks and more
per-byte = per byte
projected-block = { $txs } txs · { $bytes } · fees { $fees }
latest-blocks = Latest blocks
age = Age
txs = Txs
latest-transactions = Latest transactions
no-transactions-yet = No transactions yet besides the block rewards.
no-recent-transactions = No transactions in the latest { $n } blocks besides the block rewards.
in-block-short = block
tip = Tip
tip-at = at { $time }

## A block (explorer/block.rs)

block-n = Block { $height }
neighbouring-blocks = Neighbouring blocks
side-branch = side branch
block-failed = invalid (failed validation)
block-invalidated = invalidated by the operator
final = final
main-chain = main chain
reward = Reward
reward-split = (subsidy { $subsidy } + fees { $fees })
reward-to-pot = { $total } to the reward pot (subsidy { $subsidy } + fees { $fees })
genesis-allocation = Genesis allocation
genesis-allocation-note = (the chain's first coins, set by its spec: no subsidy, no fees)
allocated-to = Allocated to
pot-payout = Paid out of the pot
miner = Miner
producer = Producer
proposer = Proposer
validators-hash = Validators hash
previous-block = Previous block
merkle-root = Merkle root
nonce = Nonce
badge-coinbase = coinbase
pages-of-transactions = Pages of transactions
previous = Previous
next = Next
page-of = Page { $page } of { $pages }

## A transaction (explorer/tx.rs)

coinbase-transaction = Coinbase transaction
badge-confirmed = confirmed
in-block = in block
waiting-in-mempool = in the mempool, waiting for a block
fee = Fee
fee-rate = ({ $rate } base units per byte)
expiry = Expiry
expiry-none = none
expiry-after = after block { $height }
witness-id = Witness id
data = Data
new-coins = New coins: the block reward (subsidy and fees).
new-coins-genesis = New coins: the genesis allocation, the chain's first coins (no subsidy, no fees).
spends = Spends
from = From
amount = Amount
signature = Signature
unknown = unknown
missing = missing
outputs = Outputs
to = To
spent = Spent
fate-unspent = unspent
fate-spent = spent
fate-not-yet = not yet
fate-by-pending = by pending
multisig-signers = multisig, { $n } signers
ledger-payouts = Paid by the ledger
ledger-payouts-note = Coins of no transaction output: the staking rewards this block paid, or the stake this transaction releases once it has unbonded.
payout-reward = reward
payout-unbonding = released stake
payout-paid-at = paid at block { $height }
payout-pending-until = unbonding until block { $height }
payout-slashed = slashed away while unbonding: nothing paid

## An address (explorer/address.rs)

address = Address
qr-of-address = QR code of the address { $address }
balance = Balance
with-pending = With pending
unspent-outputs = Unspent outputs
scan-to-pay = Scan to pay this address
pending = Pending
badge-sending = sending
badge-receiving = receiving
history = History
no-older-transactions = No older transactions.
no-confirmed-transactions = No confirmed transactions yet.
received = Received
sent = Sent
pages-of-history = Pages of history
newest = Newest
balance-chart = Balance over time
balance-chart-desc = The balance after each of the address's last { $n } confirmed transactions, from block { $first }; { $balance } now.
balance-chart-x = Block height
balance-chart-y = Balance
older = Older

## The charts (explorer/charts.rs, chart.rs)

charts = Charts
charts-link = Charts: transaction volume, fees and block times
charts-ranges = Ranges of blocks
charts-last-blocks = Last { $n } blocks
charts-range-bad = “{ $range }” is not a range the charts offer: choose one of { $allowed } blocks
charts-no-blocks = No blocks beyond the genesis block yet: the charts start with block 1.
charts-span = Blocks { $low } to { $high }
charts-fewer = the chain has only { $n } blocks so far
charts-blocks = Blocks
charts-table = The figures as a table
charts-volume = Transaction volume
charts-volume-desc = Transactions per run of blocks (coinbases left out), { $span }: { $txs } in all.
charts-transactions = Transactions
charts-fees = Fees
charts-fees-desc = Fees paid to the block producers per run of blocks, { $span }: { $fees } in all.
charts-fees-axis = Fees (coins)
charts-block-times = Block times
charts-block-times-desc = The mean time between a block and its parent per run of blocks, { $span }: { $mean } over all.
charts-block-time-axis = Mean block time

## The validators (explorer/validators.rs)

validators = Validators
validators-link = Validators and finality
validators-not-bft = the { $chain } chain is not a BFT chain: it has no validators ({ $consensus } consensus)
validators-no-record = the node has no consensus state for its tip
validators-figures = The validator set
validators-count = Validators
validators-total-power = Total voting power
validators-quorum = Power for a quorum
finalized-height = Finalized height
validators-note = The set that finalizes block { $next }. Signed and missed are read from the { $n } commit certificates of blocks { $low } to { $high }; a certificate holds the quorum its committer had, so one missing signature does not mean a validator is offline.
validator = Validator
power = Power
share = Share
last-signed = Last signed
missed = Missed
missed-of = { $missed } of { $due }
proposed = Proposed

## The operator's dashboard (admin/): its frame, login and refusals (mod.rs)

admin-dashboard = Dashboard
admin-node-dashboard = Node dashboard
admin-log-in = Log in
admin-log-out = Log out
admin-access-key = Access key
admin-keys-note-before = The operator key acts on the node; the viewer key only looks. The node writes them at start to
admin-keys-note-after = (readable by the node's user only) and names those files in its log.
admin-wrong-key = That is neither the operator key nor the viewer key.
admin-locked = Too many wrong keys: login is locked. Try again in { $secs } s.
admin-nav-overview = Overview
admin-nav-peers = Peers
admin-nav-alerts = Alerts
admin-nav-settings = Settings
admin-nav-audit = Audit log
admin-logged-in-operator = Logged in with the operator key
admin-logged-in-viewer = Logged in with the viewer key
admin-viewer-note = The viewer key shows the node; actions need the operator key.
admin-remote-title = Not available from here
admin-remote-message = the dashboard is served to this machine only (loopback); the node's configuration can allow other clients
admin-expired-title = Session expired
admin-expired-message = your session has ended (after { $minutes } minutes without a request, a logout or a restart of the node); log in again. Nothing was changed.
admin-not-logged-in-title = Not logged in
admin-not-logged-in-message = log in with the operator key to do that. Nothing was changed.
admin-form-refused-title = Form not accepted
admin-form-token-wrong = the form's security token is wrong: it did not come from this session's pages. Reload the page and try again. Nothing was changed.
admin-form-token-missing = the form's security token is missing: it did not come from this session's pages. Reload the page and try again. Nothing was changed.
admin-not-allowed-title = Not allowed
admin-not-allowed-message = you are logged in with the viewer key: it shows the dashboard but cannot change anything. Log in with the operator key to act. Nothing was changed.

## The dashboard's pages (admin/pages.rs)

admin-chain = { $chain } chain
admin-node-figures = Node figures
admin-uptime = Uptime
admin-role = Role
admin-role-validator = validator
admin-role-follower = follower
admin-role-producer = producer
admin-role-full-node = full node
admin-sync = Sync
admin-syncing = syncing
admin-sync-progress = { $progress } % of { $best }
admin-peers-in-out = Peers in / out
admin-networking-off = networking off
admin-cpu = CPU
admin-memory = Memory
admin-disk = Disk
admin-accepted-rate = Accepted tx/s
admin-rates-since-start = CPU and accepted transactions per second are averaged since the node started ({ $span } s); CPU time in all { $cpu } s, mempool capacity { $capacity }, { $accepted } transactions accepted since start.
admin-rates-since-view = CPU and accepted transactions per second are averaged since the previous view of this page ({ $span } s); CPU time in all { $cpu } s, mempool capacity { $capacity }, { $accepted } transactions accepted since start.
admin-p2p-off-note = Peer-to-peer networking is off on this node.
admin-p2p-off = peer-to-peer networking is off on this node
admin-this-node = This node:
admin-reachability = reachability { $reachability }
admin-no-peers = No peers are connected.
admin-connected-peers = Connected peers
admin-peer = Peer
admin-direction = Direction
admin-ping = Ping
admin-score = Score
admin-actions = Actions
admin-disconnect = Disconnect
admin-disconnect-peer = Disconnect peer { $peer }
admin-ban = Ban
admin-ban-peer-id = Ban peer { $peer }
admin-add-or-ban = Add or ban a peer
admin-dial-label = Address to dial (multiaddr, with /p2p/<peer id> to remember it)
admin-add-peer = Add peer
admin-ban-label = Peer id to ban
admin-ban-peer = Ban peer
admin-banned = Banned
admin-none-banned = No peer is banned.
admin-audit-not-written = The audit log could not be written (see the node's log).
admin-back = Back
admin-not-done = Not done
admin-nothing-changed = { $why }. Nothing was changed.
admin-peer-banned = Peer banned
admin-peer-banned-message = Peer { $peer } is disconnected and banned.
admin-peer-disconnected = Peer disconnected
admin-peer-disconnected-message = Peer { $peer } is disconnected; it may connect again.
admin-not-multiaddr = “{ $term }” is not a multiaddr ({ $error })
admin-dialing = Dialing
admin-dialing-message = The node is dialing { $address }; it appears among the peers once connected.
admin-fee-rate = Fee rate
admin-remove = Remove
admin-remove-tx = Remove transaction { $txid }
admin-pool-summary = { $count } pending transactions, { $bytes } of { $max }.
admin-pool-empty = The mempool is empty.
admin-pool-remove-note = Removing a transaction also removes those that spend its outputs; peers may send it again.
admin-by-fee-rate = By fee rate
admin-the-first = (the first { $n })
admin-caption-by-rate = Pending transactions by fee rate
admin-largest = Largest
admin-caption-largest = The largest pending transactions
admin-oldest = Oldest
admin-caption-oldest = The oldest pending transactions
admin-not-a-txid = that is not a transaction id (64 hexadecimal characters)
admin-not-pending = no such transaction is pending (it may have been confirmed or removed already)
admin-tx-removed = Transaction removed
admin-tx-removed-message = { $more ->
    [0] Transaction { $txid } was removed from the mempool.
   *[other] Transaction { $txid } and { $more } spending it were removed from the mempool.
}
admin-audit-note = Every admin action and refused attempt, newest first ({ $n } a page), kept in
admin-audit-all = Show every entry
admin-audit-only-done = Show only actions done (no refused attempts)
admin-audit-pages = Pages of the audit log
admin-audit-newer = Newer
admin-audit-older = Older
admin-audit-unreadable = The audit log could not be read:
admin-audit-empty = No admin action yet.
admin-audit-no-older = No older entries.
admin-audit-caption = Admin actions
admin-when = When
admin-who = Who
admin-what = What
admin-on = On
admin-outcome = Outcome
admin-settings-note-before = The configuration the node runs with: flags and environment over
admin-settings-note-after = over defaults. Passwords and keys are never shown. None of these change while the node runs: edit the file or the flags and restart.
admin-settings-none = This node did not publish its configuration.
admin-settings-caption = Effective configuration
admin-setting = Setting
admin-value = Value

## The alerts page (admin/alerts.rs)

alert-none-firing = No alert is firing.
alert-n-firing = { $n } firing.
alert-rules-of = The rules of
alert-rules-of-after = , evaluated by the node on what it knows now.
alert-caption = Alert rules
alert-rule = Rule
alert-condition = Condition here
alert-state = State
alert-firing = firing
alert-ok = ok
alert-not-evaluated = not evaluated
alert-log-heading = Recent warnings and errors in the log
alert-log-none = None among the node's recent log lines.
alert-node-down = the node does not answer
alert-node-down-value = it answered this page
alert-no-new-blocks = no new block for 5 minutes (by the tip's timestamp)
alert-no-new-blocks-value = last block { $secs } s ago
alert-mempool-full = mempool over 90 % of its capacity
alert-fork = a reorganisation (since start; Prometheus looks at 15 minutes)
alert-since-start = { $n } since start
alert-invalid-blocks = a rejected block (since start; Prometheus looks at 15 minutes)
alert-slow-validation = 99th percentile of block validation over 5 s
alert-slow-validation-why = needs the histogram's rate over 10 minutes: see Prometheus
alert-rejections = rejected > 10 × accepted + 1 per second (averaged since start)
alert-rejections-value = { $rejected }/s rejected, { $accepted }/s accepted
alert-peers-low = fewer than 2 peers
alert-peers-low-value = { $n } peers
alert-networking-off = networking is off
alert-sync-lag = more than 10 blocks behind the best peer
alert-sync-lag-value = { $n } behind
alert-consensus-stalled = finality unchanged for 15 minutes
alert-consensus-stalled-why = needs the finalized height's history: see Prometheus
alert-bft-cannot-finalize = no BFT height decided for 2 minutes
alert-bft-cannot-finalize-why = needs the consensus height's history: see Prometheus
alert-rounds-climbing = round 3 or more of one height
alert-round-value = round { $n }
alert-frequent-round-changes = round changes in over half the heights of 15 minutes
alert-frequent-round-changes-why = needs 15 minutes of history: see Prometheus

## The browser wallet (wallet/)

wallet-title = Wallets
wallet-log-in = Log in to the wallets
wallet-operator-key = Operator key
wallet-key-note-before = The wallets open with the dashboard's operator key, which the node writes at start to
wallet-key-note-after = (readable by the node's user only).
wallet-wrong-key = That is not the operator key.
wallet-viewer-refused = The viewer key may look at the dashboard but not use the wallets: log in with the operator key.
wallet-login-token = This login form has expired or came from elsewhere: load the login page again. Nothing changed.
wallet-remote-title = Not served here
wallet-remote-message = The wallets are served to this computer (loopback) only. Nothing changed.
web-foreign-host-title = Not served under this name
web-foreign-host-message = This page answers only to this computer's own names (localhost or a loopback address), so that another site cannot reach it through its own name. Open it as http://localhost or http://127.0.0.1. Nothing changed.
web-cross-site-title = Sent from another site
web-cross-site-message = This form was sent by a page of another site, and only the node's own pages may send it. Open the page on the node and send the form from there. Nothing changed.
wallet-expired-title = Session expired
wallet-expired-message = Your session ended after { $minutes } minutes without use, and its wallets were locked. Log in again. Nothing changed.
wallet-not-logged-in-title = Not logged in
wallet-not-logged-in-message = Log in with the operator key first. Nothing changed.
wallet-form-refused-title = Form refused
wallet-form-token-missing = The form carried no security token. Nothing changed: open the page again and resend the form.
wallet-form-token-wrong = The form's security token is not this session's. Nothing changed: open the page again and resend the form.
wallet-back-to-wallets = Back to the wallets
wallet-back-to-wallet = Back to the wallet
wallet-nav-wallets = Wallets
wallet-nav-create = New wallet
wallet-nav-restore = Restore a wallet
wallet-list-note = The node's wallet files, shared with the command line's luminex wallet, in
wallet-none = No wallet yet: create one or restore one from its recovery phrase.
wallet-list-caption = The node's wallets
wallet-name = Name
wallet-name-hint = Letters, digits, - and _.
wallet-kind = Kind
wallet-kind-phrase = recovery phrase
wallet-kind-dev-key = development key
wallet-kind-watch-only = watch-only
wallet-kind-imported = imported key
wallet-addresses = Addresses
wallet-state = State
wallet-unlocked = unlocked
wallet-locked = locked
wallet-passphrase = Passphrase
wallet-passphrase-again = Passphrase again
wallet-create-title = New wallet
wallet-create-note = The node makes a recovery phrase of 24 words and encrypts the wallet with your passphrase. The phrase is shown once: write it down.
wallet-create-button = Create
wallet-bad-name = A wallet's name uses letters, digits, - and _ (at most 64). Nothing changed.
wallet-exists = A wallet named { $name } exists already. Nothing changed.
wallet-passphrase-short = The passphrase needs at least { $min } characters. Nothing changed.
wallet-passphrases-differ = The two passphrases differ. Nothing changed.
wallet-phrase-title = Your recovery phrase
wallet-phrase-once = Write these 24 words down, in order, and keep them offline. They are shown this once; anyone who has them has the coins.
wallet-phrase-then = Then type three of the words to show they are written down. The wallet is saved only then.
wallet-word-n = Word { $n }
wallet-confirm-button = Save the wallet
wallet-words-wrong = Those words do not match the phrase. The wallet was not saved: check what you wrote and try again, or start over.
wallet-start-over = Start over with a new phrase
wallet-no-creation = No wallet is being created in this session (it was saved already, or the session was renewed). Nothing changed.
wallet-not-done = Not done
wallet-not-written = The wallet file could not be written: { $error }
wallet-restore-title = Restore a wallet
wallet-restore-note = From its recovery phrase. The node looks for the addresses it used on this chain (up to { $receive } unused receive and { $change } unused change addresses in a row).
wallet-phrase = Recovery phrase
wallet-restore-button = Restore
wallet-phrase-bad = That is not a valid recovery phrase (24 words of the BIP 39 English list, with a valid checksum). Nothing changed.
wallet-no-such = There is no wallet named “{ $name }”.
wallet-named = Wallet { $name }
wallet-is-locked = This wallet is locked. Its passphrase unlocks it for this session; it locks again after some minutes without use, and when you log out.
wallet-unlock-button = Unlock
wallet-lock-button = Lock
wallet-wrong-passphrase = Wrong passphrase. The wallet stays locked.
wallet-watch-only = A watch-only wallet has no keys: it cannot be unlocked here.
wallet-locked-now = The wallet is locked (it was idle, or locked elsewhere). Unlock it and try again. Nothing changed.
wallet-balance = Balance
wallet-spendable = Spendable now
wallet-receive = Receive
wallet-send = Send
wallet-export-csv = History as CSV
wallet-change = change
wallet-receiving = receive
wallet-status = Status
wallet-net = Net
wallet-no-history = No transactions yet.
wallet-receive-note = Give this address to the payer. Each payment on a fresh address keeps your payments apart.
wallet-fresh-address = New address
wallet-no-address = The wallet has no receive address.
wallet-spendable-now = Spendable now: { $amount }
wallet-pay-to = Pay to (address)
wallet-amount = Amount
wallet-amount-hint = In coins, up to 8 decimals (12.5).
wallet-fee-rate = Fee rate (base units per byte)
wallet-fee-estimate = Estimate: { $fast } for the next block, { $slow } within 6 blocks.
wallet-review-button = Review
wallet-amount-bad = “{ $term }” is not an amount: give coins above 0 with up to 8 decimals. Nothing changed.
wallet-fee-rate-bad = The fee rate must be a whole number from { $min } to { $max }. Nothing changed.
wallet-insufficient = The amount plus its fee ({ $needed }) is more than the wallet can spend now ({ $available }). Nothing changed.
wallet-fee-too-high = This payment would pay { $fee } in fees, more than the { $max } this wallet pays at most. Lower the fee rate, or send it with `luminex wallet send --max-fee`. Nothing changed.
wallet-payment-refused = The payment cannot be made: { $error }. Nothing changed.
wallet-review-title = Confirm the payment
wallet-review-summary = Pay { $amount } to { $to }. This is exactly what will be signed:
wallet-per-byte = { $rate } per byte
wallet-signed-message = Message signed
wallet-inputs = Coins spent
wallet-outputs = Outputs
wallet-coin = Coin
wallet-role = Role
wallet-payment = payment
wallet-sign-button = Sign and send
wallet-cancel = Change the payment
wallet-not-sent = Not sent
wallet-no-plan = This payment is no longer waiting (it was sent, replaced by a newer one, or its wallet was locked). Nothing was sent.
wallet-changed = The wallet changed since this payment was shown. Nothing was sent: review it again.
wallet-refused-by-node = The node refused the payment ({ $error }). Nothing was sent.
wallet-payment-title = Payment
wallet-confirmed = Confirmed
wallet-confirmed-at = in block { $height } ({ $n ->
    [one] { $n } confirmation
   *[other] { $n } confirmations
})
wallet-pending-note = waiting for a block
wallet-tx-unknown = The node does not know this transaction (it may have been dropped).
wallet-tx-not-ours = This transaction neither pays nor spends an address of the wallet “{ $wallet }”: it is not this wallet's. The explorer shows every transaction.
wallet-status-live = This page follows new blocks by itself; without JavaScript, reload it.
wallet-in-explorer = In the explorer
