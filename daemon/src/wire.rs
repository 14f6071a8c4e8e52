//! The update wire format, and its digest computed as the bytes arrive.
//!
//! An update travels as its `dim` fixed-point values, each a big-endian two's-complement `i32`
//! (`4·dim` bytes, no header): the same bytes a value leaf's preimage holds after its `0x00`
//! tag (ARCHITECTURE §2) and a `SegmentRevealed` log carries. So a value leaf's hash is
//! `keccak(0x00 ‖ wire[128·j .. 128·j + 128])` (the last leaf zero-padded), and
//! [`UpdateDigest`] hashes each leaf the moment its 128 bytes have arrived, without decoding.

use step_vm::{Digest, LANES, Update, chunk_count, keccak256, node_hash};

use crate::{DaemonError, Result};

/// Bytes of one value leaf on the wire.
pub const LEAF_BYTES: usize = 4 * LANES;

/// The wire bytes of an update.
#[must_use]
pub fn encode(update: &Update) -> Vec<u8> {
    update
        .values()
        .iter()
        .flat_map(|v| v.to_be_bytes())
        .collect()
}

/// An update of `dim` values from its wire bytes; `what` names the bytes in errors (a file, an
/// upload, a URL).
///
/// # Errors
/// [`DaemonError::Wire`] if the length is not exactly `4·dim`.
pub fn decode(bytes: &[u8], dim: usize, what: &str) -> Result<Update> {
    if bytes.len() != 4 * dim {
        return Err(DaemonError::Wire {
            what: what.to_owned(),
            message: format!(
                "{} bytes, expected exactly {} (4 bytes for each of the round's {dim} values)",
                bytes.len(),
                4 * dim
            ),
        });
    }
    Ok(Update::from_fixed(
        bytes
            .chunks_exact(4)
            .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
    ))
}

/// The update root of wire bytes fed in pieces of any size: each value leaf is hashed as soon
/// as its bytes are complete, the tree is folded at [`Self::finish`]. Refuses more than
/// `4·dim` bytes the moment they arrive.
#[derive(Debug)]
pub struct UpdateDigest {
    dim: usize,
    received: usize,
    pending: Vec<u8>,
    leaves: Vec<Digest>,
    bytes: Vec<u8>,
}

impl UpdateDigest {
    /// A digest of an update of `dim` values.
    #[must_use]
    pub fn new(dim: usize) -> Self {
        Self {
            dim,
            received: 0,
            pending: Vec::with_capacity(LEAF_BYTES),
            leaves: Vec::with_capacity(chunk_count(dim)),
            bytes: Vec::with_capacity(4 * dim),
        }
    }

    /// Bytes received so far.
    #[must_use]
    pub fn received(&self) -> usize {
        self.received
    }

    /// Feeds the next bytes.
    ///
    /// # Errors
    /// [`DaemonError::Wire`] once more than `4·dim` bytes have arrived.
    pub fn update(&mut self, mut chunk: &[u8], what: &str) -> Result<()> {
        self.received += chunk.len();
        if self.received > 4 * self.dim {
            return Err(DaemonError::Wire {
                what: what.to_owned(),
                message: format!(
                    "more than the {} bytes of the round's {} values",
                    4 * self.dim,
                    self.dim
                ),
            });
        }
        self.bytes.extend_from_slice(chunk);
        if !self.pending.is_empty() {
            let take = (LEAF_BYTES - self.pending.len()).min(chunk.len());
            self.pending.extend_from_slice(&chunk[..take]);
            chunk = &chunk[take..];
            if self.pending.len() == LEAF_BYTES {
                self.leaves.push(leaf_hash(&self.pending));
                self.pending.clear();
            }
        }
        let whole = chunk.len() / LEAF_BYTES * LEAF_BYTES;
        self.leaves
            .extend(chunk[..whole].chunks_exact(LEAF_BYTES).map(leaf_hash));
        self.pending.extend_from_slice(&chunk[whole..]);
        Ok(())
    }

    /// The wire bytes and their update root, once exactly `4·dim` bytes have arrived.
    ///
    /// # Errors
    /// [`DaemonError::Wire`] if fewer bytes arrived (a truncated upload).
    pub fn finish(mut self, what: &str) -> Result<(Vec<u8>, Digest)> {
        if self.received != 4 * self.dim {
            return Err(DaemonError::Wire {
                what: what.to_owned(),
                message: format!(
                    "truncated: {} bytes, expected {} (4 bytes for each of the round's {} values)",
                    self.received,
                    4 * self.dim,
                    self.dim
                ),
            });
        }
        if !self.pending.is_empty() {
            self.pending.resize(LEAF_BYTES, 0);
            self.leaves.push(leaf_hash(&self.pending));
        }
        Ok((self.bytes, fold_root(self.leaves)))
    }
}

/// `keccak(0x00 ‖ 128 bytes)`, the preimage in one buffer (one absorb call: measurably
/// faster than two for a one-block message).
fn leaf_hash(bytes: &[u8]) -> Digest {
    let mut preimage = [0u8; 1 + LEAF_BYTES];
    preimage[1..].copy_from_slice(bytes);
    keccak256(&[&preimage])
}

/// The root of the complete tree over `leaves` (zero leaves pad it to a power of two), folded
/// in place: the same root as `step_vm::CompleteTree`, without keeping the inner levels.
fn fold_root(mut level: Vec<Digest>) -> Digest {
    let width = level.len().max(1).next_power_of_two();
    level.resize(width, [0u8; 32]);
    while level.len() > 1 {
        let half = level.len() / 2;
        for i in 0..half {
            level[i] = node_hash(&level[2 * i], &level[2 * i + 1]);
        }
        level.truncate(half);
    }
    level[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(dim: usize) -> Update {
        Update::from_fixed(
            (0..dim)
                .map(|i| (i as i32).wrapping_mul(-7_919) ^ 0x55)
                .collect(),
        )
    }

    #[test]
    fn digest_in_any_piece_sizes_is_the_update_root() {
        for dim in [1, 31, 32, 33, 64, 100, 1_000, 4_096] {
            let u = update(dim);
            let bytes = encode(&u);
            for piece in [1, 3, 127, 128, 129, 1_000, bytes.len()] {
                let mut d = UpdateDigest::new(dim);
                for c in bytes.chunks(piece) {
                    d.update(c, "test").unwrap();
                }
                let (back, root) = d.finish("test").unwrap();
                assert_eq!(decode(&back, dim, "test").unwrap(), u);
                assert_eq!(root, u.root(), "dim {dim}, pieces of {piece}");
            }
        }
    }

    #[test]
    fn oversized_and_truncated_bytes_are_refused_with_the_counts() {
        let u = update(40);
        let bytes = encode(&u);
        let mut d = UpdateDigest::new(39);
        let e = d.update(&bytes, "upload").unwrap_err().to_string();
        assert!(e.contains("more than the 156 bytes"), "{e}");
        let mut d = UpdateDigest::new(41);
        d.update(&bytes, "upload").unwrap();
        let e = d.finish("upload").unwrap_err().to_string();
        assert!(e.contains("truncated: 160 bytes, expected 164"), "{e}");
        let e = decode(&bytes[..7], 40, "file x").unwrap_err().to_string();
        assert!(e.contains("file x") && e.contains("7 bytes"), "{e}");
    }
}
