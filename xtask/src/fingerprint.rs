//! The openapi/ fingerprint, shared with build.rs.
include!("../../build/fingerprint.rs");
