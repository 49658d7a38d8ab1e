//! Nonces for field encryption, unique without a system call per field.
//!
//! XChaCha20-Poly1305's 192-bit nonce must never repeat under one key; it need not be
//! unpredictable. Each encryptor draws a random 128-bit prefix from the operating system once
//! and appends a 64-bit counter: its nonces never repeat, and two encryptors (in one process or
//! many, sharing a subject's key) collide only if their random prefixes do, with probability
//! 2^-128 per pair. 2^64 fields per encryptor is beyond any real workload.

use std::sync::atomic::{AtomicU64, Ordering};

use chacha20poly1305::aead::OsRng;
use chacha20poly1305::aead::rand_core::RngCore;

use crate::encryption::envelope::NONCE;

pub(crate) struct NonceSequence {
    prefix: [u8; 16],
    counter: AtomicU64,
}

impl NonceSequence {
    pub(crate) fn new() -> Self {
        let mut prefix = [0u8; 16];
        OsRng.fill_bytes(&mut prefix);
        Self { prefix, counter: AtomicU64::new(0) }
    }

    pub(crate) fn next(&self) -> [u8; NONCE] {
        let mut nonce = [0u8; NONCE];
        nonce[..16].copy_from_slice(&self.prefix);
        nonce[16..].copy_from_slice(&self.counter.fetch_add(1, Ordering::Relaxed).to_be_bytes());
        nonce
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn nonces_never_repeat_within_or_across_sequences() {
        let (a, b) = (NonceSequence::new(), NonceSequence::new());
        let mut seen = HashSet::new();
        for _ in 0..1000 {
            assert!(seen.insert(a.next()));
            assert!(seen.insert(b.next()));
        }
        assert_ne!(a.prefix, b.prefix);
    }
}
