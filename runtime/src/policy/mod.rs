//! The policy sandbox's host side: the bundle of compiled policy modules
//! (`bundle`), building it from `policies/` (`build`), and running the
//! modules in wasmtime under fuel, epoch and memory limits (`host`), which
//! speak the types of the WIT interface (`wit`).

pub mod build;
pub mod bundle;
pub mod host;
pub mod wit;
