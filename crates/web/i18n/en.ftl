# The pages' English messages: the complete catalog, and the fallback of the
# others. Keys are grouped by the file that uses them. To add a language,
# see docs/web.md ("Languages").

## The page shell (layout.rs)

skip-to-content = Skip to content
search-label = Search by height, block hash, txid or address
search-placeholder = Height, block hash, txid or address
search = Search
footer-served = Served by this Luminex node
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
error-page-not-built = the page could not be built
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
in-block-short = block
tip = Tip
tip-at = at { $time }

## A block (explorer/block.rs)

block-n = Block { $height }
neighbouring-blocks = Neighbouring blocks
side-branch = side branch
final = final
main-chain = main chain
reward = Reward
reward-split = (subsidy { $subsidy } + fees { $fees })
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
older = Older
