//! Serving peers' requests: within each peer's rate limits and byte
//! budget, status at once, everything that reads the disk on a blocking
//! thread, answers cut at a size budget.

use libp2p::request_response::ResponseChannel;
use libp2p::PeerId;
use luminex_primitives::{Encode, Transaction};

use super::peer::{Admit, Offence};
use super::{ChainAccess, Done, Net};
use crate::wire::{self, Request, Response};

impl<C: ChainAccess> Net<C> {
    pub(super) fn serve(
        &mut self,
        peer: PeerId,
        request: Request,
        channel: ResponseChannel<Response>,
    ) {
        let now = self.clock.monotonic();
        let budget = answer_budget(self.cfg.max_block_bytes);
        let Some(p) = self.peers.get_mut(&peer) else {
            // Not connected any more: nobody to answer.
            return;
        };
        match p.limits.admit(&request) {
            Admit::Answer => {}
            // Past its budget the peer waits, uncharged: an honest node
            // syncing fast from this one can get here.
            Admit::Wait => {
                self.respond(channel, Response::RateLimited);
                return;
            }
            Admit::Abuse => {
                self.respond(channel, Response::RateLimited);
                let why = format!("{} requests far past the rate limit", request.kind());
                self.offend(peer, Offence::RateLimit, &why);
                return;
            }
        }
        if let Request::Status = request {
            let st = self.chain.status();
            self.respond(channel, Response::Status(st));
            return;
        }
        // Past its byte budget the peer waits, uncharged: an honest node
        // syncing fast from this one gets here too.
        if !p.served.allow(now, 2 * budget, 4 * budget) {
            tracing::debug!(%peer, "serve budget spent");
            self.respond(channel, Response::RateLimited);
            return;
        }
        // Reading blocks is disk work: off the event loop.
        let chain = self.chain.clone();
        let done = self.done_tx.clone();
        tokio::task::spawn_blocking(move || {
            let response = answer(&*chain, request, budget);
            let bytes = response.encoded_len();
            let _ = done.send(Done::Served {
                peer,
                channel,
                response,
                bytes,
            });
        });
    }

    /// Sends an answer (the peer may have gone meanwhile).
    pub(super) fn respond(&mut self, channel: ResponseChannel<Response>, response: Response) {
        let _ = self
            .swarm
            .behaviour_mut()
            .sync
            .send_response(channel, response);
    }
}

/// The most bytes of blocks put in one answer: the largest block, at
/// least 16 MiB. A peer may make this node send twice this a second, in
/// bursts of four times this ([`super::peer::ServeBudget`]).
pub(super) fn answer_budget(max_block_bytes: usize) -> usize {
    max_block_bytes.max(16 << 20)
}

/// Whether an item of `len` bytes goes into an answer that holds `bytes`
/// so far (and counts it): the first always does, the others while the
/// answer stays within `budget` — so an answer is at most the budget or
/// one item, and never more than the requester reads.
fn fits(bytes: &mut usize, len: usize, budget: usize) -> bool {
    if *bytes > 0 && *bytes + len > budget {
        return false;
    }
    *bytes += len;
    true
}

/// The answer to a request that reads the chain; blocks stop at `budget`
/// bytes (the requester asks again for the rest).
fn answer<C: ChainAccess>(chain: &C, request: Request, budget: usize) -> Response {
    match request {
        Request::Status => Response::Status(chain.status()),
        Request::Headers { locator, max } => Response::Headers(
            chain.headers_after(&locator, (max as usize).min(wire::MAX_HEADERS as usize)),
        ),
        Request::Blocks(hashes) => {
            let mut out = Vec::new();
            let mut bytes = 0;
            for h in hashes {
                let Some(b) = chain.block_encoded(&h) else {
                    break;
                };
                if !fits(&mut bytes, b.len(), budget) {
                    break;
                }
                out.push(wire::EncodedBlock::new(b));
            }
            if out.is_empty() {
                Response::NotFound
            } else {
                Response::StoredBlocks(out)
            }
        }
        Request::Txs(txids) => {
            let mut out = Vec::new();
            let mut bytes = 0;
            for t in txids.iter().take(wire::MAX_TX_BATCH) {
                let Some(tx) = chain.mempool_tx_encoded(t) else {
                    continue;
                };
                if !fits(&mut bytes, tx.len(), budget) {
                    break;
                }
                out.push(tx);
            }
            if out.is_empty() {
                Response::NotFound
            } else {
                Response::StoredTxs(out)
            }
        }
        Request::Certified { from, max } => {
            let max = u64::from(max).min(wire::MAX_CERTIFIED_PER_REQUEST);
            let mut out = Vec::new();
            let mut bytes = 0;
            // An inclusive range: `from..` would overflow past u64::MAX
            // (a panic in debug builds) for a peer asking from there.
            for h in (from..=u64::MAX).take(max as usize) {
                let Some((b, certificate)) = chain.certified_encoded(h) else {
                    break;
                };
                if !fits(&mut bytes, b.len() + certificate.encoded_len(), budget) {
                    break;
                }
                out.push((wire::EncodedBlock::new(b), certificate));
            }
            if out.is_empty() {
                Response::NotFound
            } else {
                Response::StoredCertified(out)
            }
        }
        Request::BlockTxs { block, indexes } => match chain.block(&block) {
            Some(b) => {
                let txs: Option<Vec<Transaction>> = indexes
                    .iter()
                    .map(|i| b.txs.get(*i as usize).cloned())
                    .collect();
                match txs {
                    Some(txs) => Response::BlockTxs { block, txs },
                    None => Response::NotFound,
                }
            }
            None => Response::NotFound,
        },
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use luminex_primitives::Block;

    use super::*;
    use crate::network::BlockVerdict;

    /// A chain of the genesis block only, holding nothing to serve.
    struct Nothing;

    impl ChainAccess for Nothing {
        type Prepared = ();
        super::super::holds_nothing!();
        fn import_block(&self, _: ()) -> BlockVerdict {
            BlockVerdict::Known
        }
        fn prepare_block(&self, _: Arc<Block>) {}
    }

    /// Certified blocks asked from the last height there is: answered
    /// (nothing found), not a panic from counting past it.
    #[test]
    fn certified_blocks_from_the_last_height_are_answered() {
        for max in [1, 2, u32::MAX] {
            let r = answer(
                &Nothing,
                Request::Certified {
                    from: u64::MAX,
                    max,
                },
                1 << 20,
            );
            assert!(matches!(r, Response::NotFound), "{max}");
        }
    }
}
