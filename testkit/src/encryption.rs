//! An encryptor for tests: a memory key store and a key-encryption key made up for the run.

use pupsourcing::EncryptionError;
use pupsourcing::encryption::{AeadWrapper, DataKey, Encryptor, Keyring};
use pupsourcing_memory::{MemoryBackend, MemoryDatabase, MemoryKeyStore};

/// An encryptor over the key store of `backend` with a fresh random KEK, for tests of code
/// whose events hold `Pii<T>` fields.
///
/// ```
/// use pupsourcing::encryption::{Revealed, Subject};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let backend = pupsourcing_memory::open();
/// let encryptor = pupsourcing_testkit::encryption::test_encryptor(&backend)?;
/// let ann = Subject::new("users", "ann")?;
/// let email = encryptor.seal(&ann, "email", &"ann@example.com".to_owned()).await?;
/// encryptor.shred(&ann).await?;
/// assert_eq!(encryptor.reveal(&ann, "email", &email).await?, Revealed::Shredded);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub fn test_encryptor(
    backend: &MemoryBackend,
) -> Result<Encryptor<MemoryDatabase, MemoryKeyStore>, EncryptionError> {
    let kek = AeadWrapper::new("test-kek", &DataKey::generate())?;
    Ok(Encryptor::new(backend, Keyring::new(kek)))
}
