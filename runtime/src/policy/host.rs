//! Running policy modules in wasmtime (in progress).
