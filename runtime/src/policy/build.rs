//! Building the policy bundle from `policies/` (in progress).
