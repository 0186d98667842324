//! The seams to the outside world: the `Fetch` trait (HTTP, a timer, KV), single flight
//! between requests of one isolate, and futures outlined into wasm functions of their own.

pub mod fetch;
pub mod outlined;
pub mod single_flight;
