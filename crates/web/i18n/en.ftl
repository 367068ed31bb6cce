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
