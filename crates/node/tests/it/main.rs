//! Node tests: the REST API in process, the real binary end to end, and
//! crash recovery under SIGKILL.

mod api;
mod badpeer;
mod bench_p2p;
mod crash;
mod e2e;
mod guard;
mod metrics;
mod openapi;
mod p2p;
mod pow;
mod qbtc;
mod support;
mod ws;
