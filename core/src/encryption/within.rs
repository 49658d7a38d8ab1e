//! The encryptor's operations inside the caller's transaction.

use serde::Serialize;
use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use crate::encryption::encryptor::{json_plaintext, revealed};
use crate::encryption::{Encryptor, Envelope, Pii, Revealed, Subject};
use crate::spi::KeyStore;
use crate::{Database, EncryptionError};

/// An [`Encryptor`] joined to the caller's transaction, from [`Encryptor::within`]: the same
/// operations as on the encryptor, with every key read, created or destroyed inside that
/// transaction, so that they commit or roll back with the caller's writes.
pub struct Within<'a, D: Database, K> {
    encryptor: &'a Encryptor<D, K>,
    tx: &'a mut D::Tx,
}

impl<'a, D: Database, K: KeyStore<D>> Within<'a, D, K> {
    pub(crate) fn new(encryptor: &'a Encryptor<D, K>, tx: &'a mut D::Tx) -> Self {
        Self { encryptor, tx }
    }

    /// [`Encryptor::encrypt`], creating the subject's key (if needed) in the transaction.
    pub async fn encrypt(
        &mut self,
        subject: &Subject,
        field: &str,
        plaintext: &[u8],
    ) -> Result<Envelope, EncryptionError> {
        self.encryptor.encrypt_in(self.tx, subject, field, plaintext).await
    }

    /// [`Encryptor::decrypt`], reading the key store in the transaction (for handlers, which
    /// already hold one).
    pub async fn decrypt(
        &mut self,
        subject: &Subject,
        field: &str,
        envelope: &Envelope,
    ) -> Result<Zeroizing<Vec<u8>>, EncryptionError> {
        self.encryptor.decrypt_in(self.tx, subject, field, envelope).await
    }

    /// [`Encryptor::seal`] in the transaction.
    pub async fn seal<T: Serialize>(
        &mut self,
        subject: &Subject,
        field: &str,
        value: &T,
    ) -> Result<Pii<T>, EncryptionError> {
        let plaintext = json_plaintext(value)?;
        Ok(Pii::new(self.encrypt(subject, field, &plaintext).await?))
    }

    /// [`Encryptor::reveal`] in the transaction.
    pub async fn reveal<T: DeserializeOwned>(
        &mut self,
        subject: &Subject,
        field: &str,
        sealed: &Pii<T>,
    ) -> Result<Revealed<T>, EncryptionError> {
        revealed(self.decrypt(subject, field, sealed.envelope()).await)
    }

    /// Creates the subject's first key; fails with [`EncryptionError::KeyExists`] if it has one.
    /// Returns its version.
    pub async fn create_key(&mut self, subject: &Subject) -> Result<u32, EncryptionError> {
        self.encryptor.create_key_in(self.tx, subject).await
    }

    /// [`Encryptor::shred`] in the transaction: erasure committed with, say, the event that
    /// records it.
    pub async fn shred(&mut self, subject: &Subject) -> Result<u64, EncryptionError> {
        self.encryptor.shred_in(self.tx, subject).await
    }
}
