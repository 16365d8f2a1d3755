//! Harness for end-to-end tests on the sandbox cluster.
