//! A network started on loopback over a chain that knows only its genesis,
//! and attackers built from the crate's own behaviour: they speak the
//! protocols correctly and lie only where a test makes them.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{gossipsub, identity, noise, tcp, yamux, Multiaddr, Swarm};
use luminex_p2p::behaviour::{Behaviour, BehaviourEvent, ChainNames, Limits, SyncCodec};
use luminex_p2p::{
    BlockVerdict, ChainAccess, Handle, NetConfig, PeerStateCounts, Role, Status, SyncConfig,
    Verdict,
};
use luminex_primitives::{Block, Hash, Header, MerkleCommitment, SystemClock, Transaction};

/// The chain id of the test chain.
pub const CHAIN_ID: u32 = 4242;
/// Its genesis hash.
pub const GENESIS: Hash = Hash([0x42; 32]);

/// A chain holding only its genesis block, with an empty mempool.
pub struct GenesisOnly;

impl ChainAccess for GenesisOnly {
    type Prepared = Arc<Block>;
    fn status(&self) -> Status {
        Status {
            chain_id: CHAIN_ID,
            genesis: GENESIS,
            height: 0,
            tip: GENESIS,
            work: [0; 32],
            role: Role::Full,
        }
    }
    fn locator(&self) -> Vec<Hash> {
        vec![GENESIS]
    }
    fn height_of(&self, hash: &Hash) -> Option<u64> {
        (*hash == GENESIS).then_some(0)
    }
    fn header_ok(&self, _: &Header) -> bool {
        true
    }
    fn headers_after(&self, _: &[Hash], _: usize) -> Vec<Header> {
        Vec::new()
    }
    fn block(&self, _: &Hash) -> Option<Block> {
        None
    }
    fn for_each_mempool_tx(&self, _: &mut dyn FnMut(&Hash, &Arc<Transaction>)) {}
    fn submit_tx(&self, _: Transaction) -> Verdict {
        Verdict::Ignore
    }
    fn import_block(&self, _: Arc<Block>) -> BlockVerdict {
        BlockVerdict::Failed("the test chain imports nothing".into())
    }
    fn prepare_block(&self, block: Arc<Block>) -> Arc<Block> {
        block
    }
}

/// Inside `impl ChainAccess for …` of a test chain: [`GenesisOnly`]'s
/// answers about blocks — headers, blocks, imports, preparation — and its
/// empty mempool listing, for a chain that differs from it elsewhere.
macro_rules! genesis_only_blocks {
    () => {
        fn header_ok(&self, header: &::luminex_primitives::Header) -> bool {
            <$crate::net::GenesisOnly as ::luminex_p2p::ChainAccess>::header_ok(
                &$crate::net::GenesisOnly,
                header,
            )
        }
        fn headers_after(
            &self,
            locator: &[::luminex_primitives::Hash],
            max: usize,
        ) -> Vec<::luminex_primitives::Header> {
            <$crate::net::GenesisOnly as ::luminex_p2p::ChainAccess>::headers_after(
                &$crate::net::GenesisOnly,
                locator,
                max,
            )
        }
        fn block(&self, hash: &::luminex_primitives::Hash) -> Option<::luminex_primitives::Block> {
            <$crate::net::GenesisOnly as ::luminex_p2p::ChainAccess>::block(
                &$crate::net::GenesisOnly,
                hash,
            )
        }
        fn for_each_mempool_tx(
            &self,
            _: &mut dyn FnMut(
                &::luminex_primitives::Hash,
                &::std::sync::Arc<::luminex_primitives::Transaction>,
            ),
        ) {
        }
        fn import_block(
            &self,
            block: ::std::sync::Arc<::luminex_primitives::Block>,
        ) -> ::luminex_p2p::BlockVerdict {
            <$crate::net::GenesisOnly as ::luminex_p2p::ChainAccess>::import_block(
                &$crate::net::GenesisOnly,
                block,
            )
        }
        fn prepare_block(
            &self,
            block: ::std::sync::Arc<::luminex_primitives::Block>,
        ) -> ::std::sync::Arc<::luminex_primitives::Block> {
            block
        }
    };
}
pub(crate) use genesis_only_blocks;

/// Inside `impl ChainAccess for …` of a test chain: [`GenesisOnly`]'s tip
/// (status, locator, heights), for a chain whose tip is the genesis.
macro_rules! genesis_only_tip {
    () => {
        fn status(&self) -> ::luminex_p2p::Status {
            <$crate::net::GenesisOnly as ::luminex_p2p::ChainAccess>::status(
                &$crate::net::GenesisOnly,
            )
        }
        fn locator(&self) -> Vec<::luminex_primitives::Hash> {
            <$crate::net::GenesisOnly as ::luminex_p2p::ChainAccess>::locator(
                &$crate::net::GenesisOnly,
            )
        }
        fn height_of(&self, hash: &::luminex_primitives::Hash) -> Option<u64> {
            <$crate::net::GenesisOnly as ::luminex_p2p::ChainAccess>::height_of(
                &$crate::net::GenesisOnly,
                hash,
            )
        }
    };
}
pub(crate) use genesis_only_tip;

/// A transaction of this chain that decodes, told apart by `height` (a
/// coinbase of that height), carrying `data` bytes (5,000 give an ML-DSA
/// transfer's size).
pub fn coinbase_tx(height: u64, data: usize) -> luminex_primitives::Transaction {
    use luminex_primitives::{Amount, Lock, SchemeId, TxKind, TxOut};
    luminex_primitives::Transaction {
        version: 1,
        chain_id: CHAIN_ID,
        kind: TxKind::Coinbase { height },
        inputs: vec![],
        outputs: vec![TxOut {
            amount: Amount::from_base(50).unwrap(),
            lock: Lock::Key {
                scheme: SchemeId::MlDsa65,
                key_hash: Hash([height as u8; 32]),
            },
        }],
        expiry_height: 0,
        witnesses: vec![],
        data: vec![height as u8; data],
    }
}

/// The network settings of a test node listening on a free loopback port.
pub fn config() -> NetConfig {
    NetConfig {
        chain_id: CHAIN_ID,
        genesis: GENESIS,
        role: Role::Full,
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
        bootnodes: vec![],
        external: vec![],
        max_peers: 50,
        // Every peer of these tests dials in from 127.0.0.1.
        inbound_per_ip: 64,
        inbound_per_subnet: 64,
        anchors: None,
        merkle_commitment: MerkleCommitment::Tagged,
        max_block_bytes: 4 << 20,
        block_sync: true,
        max_tx_bytes: 1 << 20,
        ban_duration: Duration::from_secs(3600),
        lone: false,
        sync: SyncConfig::default(),
    }
}

/// Starts a node's network with `cfg`; returns its handle and its listen
/// address (with its peer id).
pub async fn start(cfg: NetConfig) -> (Handle, Multiaddr) {
    start_on(cfg, Arc::new(GenesisOnly), Arc::new(SystemClock::new())).await
}

/// Starts a node's network with `cfg` over `chain`, reading time from
/// `clock`; returns its handle and its listen address.
pub async fn start_on<C: ChainAccess>(
    cfg: NetConfig,
    chain: Arc<C>,
    clock: Arc<dyn luminex_primitives::Clock>,
) -> (Handle, Multiaddr) {
    let key = identity::Keypair::generate_ed25519();
    let (handle, _task) = luminex_p2p::start(cfg, key, chain, clock).unwrap();
    let addr = wait_for(&handle, "a listen address", 30, || {
        let h = handle.clone();
        async move { h.info().listen_addrs.first().cloned() }
    })
    .await;
    (handle, addr.parse().unwrap())
}

/// The TCP port of a listen address.
pub fn tcp_port(addr: &Multiaddr) -> u16 {
    addr.iter()
        .find_map(|p| match p {
            libp2p::multiaddr::Protocol::Tcp(port) => Some(port),
            _ => None,
        })
        .expect("a TCP address")
}

/// The names of the test chain's protocols.
pub fn names() -> ChainNames {
    ChainNames::new(CHAIN_ID, &GENESIS)
}

/// A swarm speaking the test chain's protocols with a fresh identity.
pub fn attacker() -> Swarm<Behaviour> {
    attacker_on(&names())
}

/// A swarm speaking the protocols of the chain named `names`, with a fresh
/// identity.
pub fn attacker_on(names: &ChainNames) -> Swarm<Behaviour> {
    let limits = Limits {
        inbound_per_ip: 64,
        inbound_per_subnet: 64,
        max_peers: 8,
        max_gossip: 4 << 20,
        codec: SyncCodec::new(4 << 20, 64 << 20),
    };
    let names = names.clone();
    libp2p::SwarmBuilder::with_existing_identity(identity::Keypair::generate_ed25519())
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )
        .unwrap()
        .with_behaviour(|k| {
            Behaviour::new(k, &names, Role::Full, limits)
                .map_err(Box::<dyn std::error::Error + Send + Sync>::from)
        })
        .unwrap()
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
        .build()
}

/// Drives `swarm` until `pick` returns something, or panics after `secs`.
pub async fn drive_until<B: NetworkBehaviour, T>(
    swarm: &mut Swarm<B>,
    what: &str,
    secs: u64,
    mut pick: impl FnMut(&mut Swarm<B>, SwarmEvent<B::ToSwarm>) -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let ev = tokio::time::timeout_at(deadline, swarm.select_next_some())
            .await
            .unwrap_or_else(|_| panic!("{what}: not within {secs} s"));
        if let Some(t) = pick(swarm, ev) {
            return t;
        }
    }
}

/// Drives an attacker's `swarm`, dialled to a node, until the node drops
/// it (or panics after `secs`): publishes `frames` on `topic` once the
/// node subscribes to it, and hands every other event to `other`.
pub async fn publish_until_dropped(
    swarm: &mut Swarm<Behaviour>,
    topic: &gossipsub::IdentTopic,
    frames: &[Vec<u8>],
    what: &str,
    secs: u64,
    mut other: impl FnMut(&mut Swarm<Behaviour>, SwarmEvent<BehaviourEvent>),
) {
    let mut sent = false;
    drive_until(swarm, what, secs, |swarm, ev| {
        match ev {
            SwarmEvent::Behaviour(BehaviourEvent::Gossip(gossipsub::Event::Subscribed {
                topic: t,
                ..
            })) if t == topic.hash() && !sent => {
                sent = true;
                for f in frames {
                    let _ = swarm
                        .behaviour_mut()
                        .gossip
                        .publish(topic.clone(), f.clone());
                }
            }
            SwarmEvent::ConnectionClosed {
                num_established: 0, ..
            } => return Some(()),
            ev => other(swarm, ev),
        }
        None
    })
    .await
}

/// Waits until `f` gives something, asking again each time the node's
/// network reports a change ([`Handle::changes`]: its census or what it
/// publishes), or panics after `secs`.
pub async fn wait_for<T, F, Fut>(handle: &Handle, what: &str, secs: u64, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let mut changes = handle.changes();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        // Seen before asking: a change while `f` runs wakes the wait.
        changes.borrow_and_update();
        if let Some(t) = f().await {
            return t;
        }
        match tokio::time::timeout_at(deadline, changes.changed()).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => panic!("{what}: the network stopped"),
            Err(_) => panic!("{what}: not within {secs} s"),
        }
    }
}

/// Waits until the node keeps nothing about any peer but its bans, and
/// returns the last count (or panics with it after `secs`).
pub async fn wait_forgotten(handle: &Handle, secs: u64) -> PeerStateCounts {
    let last = std::cell::Cell::new(None);
    let found = tokio::time::timeout(
        Duration::from_secs(secs),
        wait_for(handle, "per-peer state cleared", secs + 1, || {
            let h = handle.clone();
            let last = &last;
            async move {
                let c = h.census().await.unwrap();
                last.set(Some(c));
                let empty = PeerStateCounts {
                    banned: c.banned,
                    ..Default::default()
                };
                (c == empty).then_some(c)
            }
        }),
    )
    .await;
    found.unwrap_or_else(|_| panic!("per-peer state left after {secs} s: {:?}", last.get()))
}
