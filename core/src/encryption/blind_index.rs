//! Blind indexes: look a row up by an encrypted value without decrypting anything.
//!
//! The index stores HMAC-SHA256(purpose key, value). Purpose keys are derived with HKDF from a
//! master key held outside the database, one per purpose (so an email hash cannot be matched
//! against a phone hash) and per master-key version (so the master key can rotate: look up with
//! every active version, write with the current one).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;
use std::sync::{Mutex, PoisonError};

use chacha20poly1305::aead::OsRng;
use chacha20poly1305::aead::rand_core::RngCore;
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::EncryptionError;

type HmacSha256 = Hmac<Sha256>;

/// Purpose keys by purpose, one per master version.
type DerivedKeys = HashMap<String, Vec<(u32, Zeroizing<[u8; 32]>)>>;

const SALT: &[u8] = b"pupsourcing/blind-index/v1";
/// Purposes are a handful of constants in practice; beyond this many, keys are derived per call.
const MAX_CACHED_PURPOSES: usize = 64;

/// HMAC-SHA256 of `data` under `key`.
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length (longer ones are hashed), so this never fails.
    match HmacSha256::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().into()
        }
        Err(_) => [0; 32],
    }
}

/// A blind-index hash, with the master-key version that produced it. Its text form is
/// `bi<version>:<hex>`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct BlindHash {
    version: u32,
    mac: [u8; 32],
}

impl BlindHash {
    /// The master-key version.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// Compares in constant time.
    pub fn constant_time_eq(&self, other: &BlindHash) -> bool {
        self.version == other.version && bool::from(self.mac.ct_eq(&other.mac))
    }
}

impl fmt::Debug for BlindHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlindHash({self})")
    }
}

impl fmt::Display for BlindHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bi{}:", self.version)?;
        self.mac.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl FromStr for BlindHash {
    type Err = EncryptionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad =
            || EncryptionError::InvalidInput("a blind hash looks like bi<version>:<64 hex digits>");
        let (version, hex) =
            s.strip_prefix("bi").and_then(|rest| rest.split_once(':')).ok_or_else(bad)?;
        let version = version.parse().map_err(|_| bad())?;
        if hex.len() != 64 {
            return Err(bad());
        }
        let mut mac = [0u8; 32];
        for (i, byte) in mac.iter_mut().enumerate() {
            *byte = hex
                .get(i * 2..i * 2 + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(bad)?;
        }
        Ok(Self { version, mac })
    }
}

/// Computes blind-index hashes from versioned master keys.
///
/// ```
/// use pupsourcing::encryption::BlindIndex;
///
/// let index = BlindIndex::new(2, [7u8; 32]).with_previous(1, [3u8; 32]);
/// let stored = index.hash("email", b"ann@example.com");
/// assert_eq!(stored.version(), 2);
/// // To look a row up, query every active version's hash:
/// let candidates = index.hashes_for_lookup("email", b"ann@example.com");
/// assert_eq!(candidates.len(), 2);
/// assert!(index.verify("email", b"ann@example.com", &stored));
/// assert!(!index.verify("phone", b"ann@example.com", &stored));
/// ```
pub struct BlindIndex {
    current: u32,
    masters: BTreeMap<u32, Zeroizing<[u8; 32]>>,
    /// Purpose keys derived so far, by purpose and master version (HKDF costs two HMACs).
    derived: Mutex<DerivedKeys>,
}

impl fmt::Debug for BlindIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlindIndex")
            .field("current", &self.current)
            .field("versions", &self.masters.keys())
            .finish()
    }
}

impl BlindIndex {
    /// An index whose current master key is `master`, at `version`.
    pub fn new(version: u32, master: [u8; 32]) -> Self {
        let mut masters = BTreeMap::new();
        masters.insert(version, Zeroizing::new(master));
        Self { current: version, masters, derived: Mutex::default() }
    }

    /// A new random master key, for first-time setup: keep it in your secret store, never in
    /// the database it indexes.
    pub fn generate_master_key() -> [u8; 32] {
        let mut key = [0u8; 32];
        OsRng.fill_bytes(&mut key);
        key
    }

    /// Keeps an older master key for look-ups during a rotation.
    #[must_use]
    pub fn with_previous(mut self, version: u32, master: [u8; 32]) -> Self {
        self.masters.entry(version).or_insert_with(|| Zeroizing::new(master));
        self
    }

    fn purpose_key(&self, version: u32, purpose: &str) -> Option<Zeroizing<[u8; 32]>> {
        let mut derived = self.derived.lock().unwrap_or_else(PoisonError::into_inner);
        let known = derived.get(purpose).and_then(|keys| keys.iter().find(|(v, _)| *v == version));
        if let Some((_, key)) = known {
            return Some(key.clone());
        }
        let master = self.masters.get(&version)?;
        let mut key = Zeroizing::new([0u8; 32]);
        Hkdf::<Sha256>::new(Some(SALT), master.as_ref())
            .expand(purpose.as_bytes(), key.as_mut())
            .ok()?;
        if derived.len() < MAX_CACHED_PURPOSES || derived.contains_key(purpose) {
            derived.entry(purpose.to_owned()).or_default().push((version, key.clone()));
        }
        Some(key)
    }

    fn hash_with(&self, version: u32, purpose: &str, value: &[u8]) -> Option<BlindHash> {
        let key = self.purpose_key(version, purpose)?;
        Some(BlindHash { version, mac: hmac_sha256(key.as_ref(), value) })
    }

    /// The hash to store, with the current master key.
    pub fn hash(&self, purpose: &str, value: &[u8]) -> BlindHash {
        self.hash_with(self.current, purpose, value)
            .unwrap_or(BlindHash { version: self.current, mac: [0; 32] })
    }

    /// One hash per active master key, current first: query rows matching any of them.
    pub fn hashes_for_lookup(&self, purpose: &str, value: &[u8]) -> Vec<BlindHash> {
        let mut versions: Vec<u32> = self.masters.keys().rev().copied().collect();
        versions.sort_by_key(|v| *v != self.current);
        versions.into_iter().filter_map(|v| self.hash_with(v, purpose, value)).collect()
    }

    /// Whether `hash` is `value`'s hash for `purpose`, compared in constant time.
    pub fn verify(&self, purpose: &str, value: &[u8], hash: &BlindHash) -> bool {
        self.hash_with(hash.version, purpose, value)
            .is_some_and(|expected| expected.constant_time_eq(hash))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn unhex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    /// RFC 4231, test cases 1 to 4, 6 and 7 (case 5 truncates the output).
    #[test]
    fn hmac_sha256_matches_rfc_4231() {
        let cases: [(Vec<u8>, Vec<u8>, &str); 6] = [
            (vec![0x0b; 20], b"Hi There".to_vec(), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
            (b"Jefe".to_vec(), b"what do ya want for nothing?".to_vec(), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
            (vec![0xaa; 20], vec![0xdd; 50], "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
            (unhex("0102030405060708090a0b0c0d0e0f10111213141516171819"), vec![0xcd; 50], "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
            (vec![0xaa; 131], b"Test Using Larger Than Block-Size Key - Hash Key First".to_vec(), "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
            (
                vec![0xaa; 131],
                b"This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.".to_vec(),
                "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
            ),
        ];
        for (key, data, expected) in cases {
            assert_eq!(hex(&hmac_sha256(&key, &data)), expected);
        }
    }

    #[test]
    fn hashes_differ_across_purposes_and_versions_and_verify() {
        let index = BlindIndex::new(2, [7; 32]).with_previous(1, [3; 32]);
        let email = index.hash("email", b"ann@example.com");
        assert_ne!(email, index.hash("phone", b"ann@example.com"));
        let lookup = index.hashes_for_lookup("email", b"ann@example.com");
        assert_eq!(lookup.iter().map(BlindHash::version).collect::<Vec<_>>(), vec![2, 1]);
        assert_ne!(lookup[0], lookup[1]);
        assert_eq!(lookup[0], email);
        assert!(
            index.verify("email", b"ann@example.com", &lookup[1]),
            "old-version hashes still verify"
        );
        assert!(!index.verify("email", b"bob@example.com", &email));
        let text = email.to_string();
        assert!(text.starts_with("bi2:") && text.len() == 68);
        assert_eq!(text.parse::<BlindHash>().unwrap(), email);
        assert!("bi2:zz".parse::<BlindHash>().is_err());
        let other_master = BlindIndex::new(2, [8; 32]);
        assert_ne!(other_master.hash("email", b"ann@example.com"), email, "the master key matters");
    }
}
