//! Encryption of personal data inside events (feature `encryption`).
//!
//! Events are append-only, so personal data cannot be edited out of them. Instead each subject
//! (a person, a tenant) gets its own data key and its personal fields are encrypted with it;
//! erasing the subject is destroying the key ("crypto-shredding"), after which the fields read
//! as [`Revealed::Shredded`] while everything else in the events stays intact.
//!
//! - Data keys are stored in the application database by a [`KeyStore`](crate::spi::KeyStore),
//!   wrapped by a key-encryption key that stays outside it: `age` X25519 recipients
//!   ([`AgeWrapper`], several at once for escrow) or a raw AEAD key ([`AeadWrapper`]).
//! - Fields are sealed with XChaCha20-Poly1305 into a self-describing [`Envelope`] bound to
//!   scope, subject, key version and field label; callers never track key versions.
//! - [`Encryptor`] ties it together, with a bounded expiring key cache, key rotation and a
//!   resumable KEK re-wrap ([`Rewrap`]). [`Pii<T>`] carries an encrypted value in a serde
//!   struct.
//! - [`BlindIndex`] gives HMAC-SHA256 hashes for looking rows up by an encrypted value.
//!
//! ```
//! use pupsourcing::encryption::{Encryptor, Revealed, Subject};
//! use pupsourcing::{Database, EncryptionError};
//! use pupsourcing::spi::KeyStore;
//!
//! async fn round_trip<D: Database, K: KeyStore<D>>(
//!     encryptor: &Encryptor<D, K>,
//! ) -> Result<(), EncryptionError> {
//!     let ann = Subject::new("users", "ann")?;
//!     let email = "ann@example.com".to_owned();
//!     let sealed = encryptor.seal(&ann, "email", &email).await?;
//!     assert_eq!(encryptor.reveal(&ann, "email", &sealed).await?, Revealed::Plain(email));
//!
//!     encryptor.shred(&ann).await?; // erasure: the key is gone for good
//!     assert_eq!(encryptor.reveal(&ann, "email", &sealed).await?, Revealed::Shredded);
//!     Ok(())
//! }
//! ```
//!
//! The cache makes another process see a shredding only after
//! [`EncryptorConfig::cache_ttl`]; an encryption there during that window uses the destroyed
//! key, so its data is erased too. Use one [`Encryptor`] per process and key store: its cache
//! is what tells committed keys from keys created in a transaction that may still roll back.

mod aead_wrapper;
mod age_wrapper;
mod blind_index;
mod cache;
mod data_key;
mod encryptor;
mod envelope;
mod nonce;
mod pii;
mod rewrap;
mod subject;
mod within;
mod wrapper;

pub use aead_wrapper::AeadWrapper;
pub use age::secrecy::{ExposeSecret, SecretString};
pub use age_wrapper::AgeWrapper;
pub use blind_index::{BlindHash, BlindIndex, hmac_sha256};
pub use data_key::{DATA_KEY_ALGORITHM, DataKey, KeyBinding};
pub use encryptor::{Encryptor, EncryptorConfig};
pub use envelope::Envelope;
pub use pii::{Pii, Revealed};
pub use rewrap::{Rewrap, RewrapProgress};
pub use subject::Subject;
pub use within::Within;
pub use wrapper::{KeyWrapper, Keyring};
