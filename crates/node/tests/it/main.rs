//! Node tests: the real binary end to end, networks of nodes, proof of
//! work, and crash recovery under SIGKILL.

mod badpeer;
mod batched_sync;
mod bench_mining;
mod bench_p2p;
mod bench_restore;
mod bft;
mod browser;
mod catchup_run;
mod crash;
mod crash_catchup;
mod crash_reorg;
mod crash_sync;
mod e2e;
mod eclipse;
mod keyfile;
mod multisig;
mod nextgen;
mod p2p;
mod p2p_multisig;
mod pow;
mod qbtc;
mod qr;
mod restore;
mod rpc_limits;
mod sigterm;
mod staking;
mod storage_faults;
mod stratum;
mod support;
mod watch;
