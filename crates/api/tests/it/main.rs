//! REST API tests, in process: routes, guards, the WebSocket, metrics and
//! the OpenAPI document.

mod admission;
mod api;
mod batch;
mod guard;
mod metrics;
mod openapi;
mod pst;
mod serve;
mod staking;
mod support;
mod ws;
