//! Hash maps keyed by addresses and small integers (timers, pool blocks, handles,
//! thread tokens): a multiplicative hash instead of SipHash. The keys are the kernel's own
//! addresses and counters, never chosen by an adversary, and these maps sit on the
//! explorer's and the request path's hot paths.

use core::hash::{BuildHasherDefault, Hasher};
use std::collections::HashMap;

/// A `HashMap` with [`AddrHasher`].
pub(crate) type AddrMap<K, V> = HashMap<K, V, BuildHasherDefault<AddrHasher>>;

/// Fibonacci hashing of the key's words (keys hash as one or a few integers).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct AddrHasher(u64);

impl Hasher for AddrHasher {
    fn finish(&self) -> u64 {
        // Fold the high bits (where the multiplication mixes best) into the low ones the
        // table indexes by.
        self.0 ^ (self.0 >> 29)
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }
}

#[cfg(all(test, not(any(loom, shuttle))))]
mod tests {
    use super::*;

    #[test]
    fn aligned_addresses_spread_over_the_low_bits() {
        // Pool blocks are 16-byte aligned: their hashes must still differ in the bits a
        // small table uses.
        let buckets: std::collections::HashSet<u64> = (0..64u64)
            .map(|i| {
                let mut h = AddrHasher::default();
                h.write_usize(0x7f00_0000_0000 + (i as usize) * 16);
                h.finish() & 63
            })
            .collect();
        assert!(buckets.len() > 32, "only {} of 64 buckets used", buckets.len());
        let mut m: AddrMap<usize, u32> = AddrMap::default();
        m.insert(1, 2);
        assert_eq!(m.get(&1), Some(&2));
    }
}
