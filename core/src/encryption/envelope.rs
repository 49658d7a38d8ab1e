//! The self-describing envelope of an encrypted field.
//!
//! ```text
//! offset  size  content
//! 0       2     magic "PE"
//! 2       1     format (1)
//! 3       1     algorithm (1 = XChaCha20-Poly1305)
//! 4       4     key version, big-endian
//! 8       4     CRC-32 of bytes 0..8
//! 12      24    nonce
//! 36      n+16  ciphertext and tag
//! ```
//!
//! The associated data of the AEAD is the first 8 header bytes followed by the length-prefixed
//! scope, subject and field label: an envelope decrypts only where it was written. The header
//! checksum makes every single-bit corruption of the header an integrity failure rather than
//! a lookup of another key version or a claim of an unknown format; a header with a valid
//! checksum but an unknown format or algorithm is [`EncryptionError::UnsupportedFormat`]. The
//! text form is `pupenc:` followed by the bytes in unpadded URL-safe base64.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::{EncryptionError, IntegrityFailure};

const MAGIC: [u8; 2] = *b"PE";
const FORMAT_V1: u8 = 1;
/// XChaCha20-Poly1305.
pub(crate) const ALGORITHM_XCHACHA20POLY1305: u8 = 1;
const HEADER: usize = 12;
pub(crate) const NONCE: usize = 24;
const TAG: usize = 16;
const TEXT_PREFIX: &str = "pupenc:";

/// An encrypted field: which key version sealed it, the nonce, and the ciphertext.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Envelope {
    key_version: u32,
    nonce: [u8; NONCE],
    ciphertext: Vec<u8>,
}

impl std::fmt::Debug for Envelope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Envelope(v{}, {} bytes)", self.key_version, self.ciphertext.len())
    }
}

impl Envelope {
    pub(crate) fn new(key_version: u32, nonce: [u8; NONCE], ciphertext: Vec<u8>) -> Self {
        Self { key_version, nonce, ciphertext }
    }

    /// The version of the subject's key that sealed it.
    pub fn key_version(&self) -> u32 {
        self.key_version
    }

    pub(crate) fn nonce(&self) -> &[u8; NONCE] {
        &self.nonce
    }

    pub(crate) fn ciphertext(&self) -> &[u8] {
        &self.ciphertext
    }

    pub(crate) fn header(key_version: u32) -> [u8; 8] {
        let mut header = [0u8; 8];
        header[..2].copy_from_slice(&MAGIC);
        header[2] = FORMAT_V1;
        header[3] = ALGORITHM_XCHACHA20POLY1305;
        header[4..].copy_from_slice(&key_version.to_be_bytes());
        header
    }

    /// The binary form.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER + NONCE + self.ciphertext.len());
        let header = Self::header(self.key_version);
        out.extend_from_slice(&header);
        out.extend_from_slice(&crc32(&header).to_be_bytes());
        out.extend_from_slice(&self.nonce);
        out.extend_from_slice(&self.ciphertext);
        out
    }

    /// Parses the binary form. Never panics, whatever the input.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, EncryptionError> {
        let truncated = EncryptionError::Integrity(IntegrityFailure::Truncated);
        let header = bytes.first_chunk::<8>().ok_or(truncated)?;
        let check =
            bytes.get(8..HEADER).ok_or(EncryptionError::Integrity(IntegrityFailure::Truncated))?;
        if check != crc32(header).to_be_bytes() {
            return Err(EncryptionError::Integrity(IntegrityFailure::HeaderCheck));
        }
        if header[..2] != MAGIC
            || header[2] != FORMAT_V1
            || header[3] != ALGORITHM_XCHACHA20POLY1305
        {
            return Err(EncryptionError::UnsupportedFormat {
                format: header[2],
                algorithm: header[3],
            });
        }
        let rest = &bytes[HEADER..];
        if rest.len() < NONCE + TAG {
            return Err(EncryptionError::Integrity(IntegrityFailure::Truncated));
        }
        let (nonce, ciphertext) = rest.split_at(NONCE);
        let mut nonce_bytes = [0u8; NONCE];
        nonce_bytes.copy_from_slice(nonce);
        let key_version = u32::from_be_bytes([header[4], header[5], header[6], header[7]]);
        Ok(Self { key_version, nonce: nonce_bytes, ciphertext: ciphertext.to_vec() })
    }

    /// The text form, for JSON payloads.
    pub fn to_text(&self) -> String {
        format!("{TEXT_PREFIX}{}", URL_SAFE_NO_PAD.encode(self.to_bytes()))
    }

    /// Parses the text form. Never panics, whatever the input.
    pub fn from_text(text: &str) -> Result<Self, EncryptionError> {
        let encoded = text
            .strip_prefix(TEXT_PREFIX)
            .ok_or(EncryptionError::Integrity(IntegrityFailure::Encoding))?;
        let bytes = URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|_| EncryptionError::Integrity(IntegrityFailure::Encoding))?;
        Self::from_bytes(&bytes)
    }
}

/// The associated data binding an envelope to where it belongs.
pub(crate) fn associated_data(
    key_version: u32,
    scope: &str,
    subject: &str,
    field: &str,
) -> Vec<u8> {
    let mut aad = Vec::with_capacity(20 + scope.len() + subject.len() + field.len());
    aad.extend_from_slice(&Envelope::header(key_version));
    for part in [scope, subject, field] {
        aad.extend_from_slice(&u32::try_from(part.len()).unwrap_or(u32::MAX).to_be_bytes());
        aad.extend_from_slice(part.as_bytes());
    }
    aad
}

/// CRC-32 (IEEE, reflected): detects every single-bit and burst error in the 8-byte header.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for byte in bytes {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xedb8_8320 & mask);
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn sample() -> Envelope {
        Envelope::new(
            7,
            [9; NONCE],
            vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17],
        )
    }

    #[test]
    fn crc_matches_the_reference_value() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }

    #[test]
    fn binary_and_text_forms_round_trip() {
        let envelope = sample();
        assert_eq!(Envelope::from_bytes(&envelope.to_bytes()).unwrap(), envelope);
        let text = envelope.to_text();
        assert!(text.starts_with("pupenc:"));
        assert_eq!(Envelope::from_text(&text).unwrap(), envelope);
    }

    #[test]
    fn every_header_bit_flip_is_an_integrity_failure() {
        let bytes = sample().to_bytes();
        for bit in 0..HEADER * 8 {
            let mut flipped = bytes.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            assert!(
                matches!(
                    Envelope::from_bytes(&flipped),
                    Err(EncryptionError::Integrity(IntegrityFailure::HeaderCheck))
                ),
                "bit {bit}"
            );
        }
    }

    #[test]
    fn an_intact_header_of_an_unknown_format_is_unsupported() {
        let mut header = Envelope::header(1);
        header[2] = 2;
        let mut bytes = header.to_vec();
        bytes.extend_from_slice(&crc32(&header).to_be_bytes());
        bytes.extend_from_slice(&[0; NONCE + TAG]);
        assert!(matches!(
            Envelope::from_bytes(&bytes),
            Err(EncryptionError::UnsupportedFormat { format: 2, algorithm: 1 })
        ));
    }

    #[test]
    fn malformed_text_is_an_encoding_failure() {
        for text in ["", "pupenc", "other:abc", "pupenc:***", "pupenc:"] {
            let err = Envelope::from_text(text).unwrap_err();
            assert!(matches!(err, EncryptionError::Integrity(_)), "{text:?}: {err:?}");
        }
    }

    proptest! {
        #[test]
        fn the_parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200), text in ".{0,200}") {
            let _ = Envelope::from_bytes(&bytes);
            let _ = Envelope::from_text(&text);
            let _ = Envelope::from_text(&format!("pupenc:{text}"));
        }

        #[test]
        fn a_valid_header_with_any_tail_parses_or_reports_truncation(tail in proptest::collection::vec(any::<u8>(), 0..80), version in any::<u32>()) {
            let header = Envelope::header(version);
            let mut bytes = header.to_vec();
            bytes.extend_from_slice(&crc32(&header).to_be_bytes());
            bytes.extend_from_slice(&tail);
            match Envelope::from_bytes(&bytes) {
                Ok(envelope) => prop_assert_eq!(envelope.key_version(), version),
                Err(err) => prop_assert!(matches!(err, EncryptionError::Integrity(IntegrityFailure::Truncated))),
            }
        }
    }
}
