//! Integration tests of the primitives: codec round trips, canonical form and
//! Merkle proofs.

mod codec;
mod merkle;
mod vectors;
