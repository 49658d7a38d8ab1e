//! Re-wrapping every data key under a new key-encryption key, resumably.
//!
//! Rotating the KEK means unwrapping each data key with the old KEK and wrapping it with the
//! new one; the data keys (and so every envelope) stay the same. [`Rewrap`] does it page by
//! page, one transaction per page, reporting progress and per-key failures. Its cursor can be
//! saved and handed back to resume after a restart. Once it reports no more keys, the old KEK
//! can be dropped from the keyring.

use std::sync::Arc;

use crate::encryption::data_key::KeyBinding;
use crate::encryption::encryptor::Encryptor;
use crate::encryption::wrapper::KeyWrapper;
use crate::spi::{KeyId, KeyStore};
use crate::{Database, EncryptionError};

/// Progress of one page.
#[derive(Debug)]
pub struct RewrapProgress {
    /// Keys re-wrapped in this page.
    pub rewrapped: u64,
    /// Keys re-wrapped since the start.
    pub total_rewrapped: u64,
    /// Keys of this page that could not be re-wrapped, with why (they keep their old wrapping).
    pub failed: Vec<(KeyId, EncryptionError)>,
    /// Where the next page starts; save it to resume.
    pub cursor: Option<KeyId>,
}

/// A resumable re-wrap, from [`Encryptor::rewrap`].
pub struct Rewrap<D: Database, K> {
    db: D,
    encryptor: Encryptor<D, K>,
    target: Arc<dyn KeyWrapper>,
    page: usize,
    cursor: Option<KeyId>,
    total: u64,
}

impl<D: Database, K: KeyStore<D>> Rewrap<D, K> {
    pub(crate) fn new(
        db: D,
        encryptor: Encryptor<D, K>,
        target: Arc<dyn KeyWrapper>,
        page: usize,
    ) -> Self {
        Self { db, encryptor, target, page: page.max(1), cursor: None, total: 0 }
    }

    /// Continues after `cursor` (from an earlier run's [`RewrapProgress::cursor`]).
    #[must_use]
    pub fn resume_after(mut self, cursor: KeyId) -> Self {
        self.cursor = Some(cursor);
        self
    }

    /// The current cursor.
    pub fn cursor(&self) -> Option<&KeyId> {
        self.cursor.as_ref()
    }

    /// Re-wraps the next page; `None` when no key is left that the target KEK did not wrap.
    pub async fn next_page(&mut self) -> Result<Option<RewrapProgress>, EncryptionError> {
        let target_kek = self.target.kek_id().to_owned();
        let mut tx = self.db.begin().await?;
        let keys = self.encryptor.keys();
        let page =
            keys.wrapped_by_other(&mut tx, &target_kek, self.cursor.clone(), self.page).await?;
        if page.is_empty() {
            self.db.rollback(tx).await?;
            return Ok(None);
        }
        let (mut rewrapped, mut failed) = (0, Vec::new());
        for stored in &page {
            let outcome = self.encryptor.keyring().unwrap(stored).and_then(|key| {
                self.target.wrap(&key, &KeyBinding { id: &stored.id, kek_id: &target_kek })
            });
            match outcome {
                Ok(wrapped) => {
                    if keys.rewrap(&mut tx, &stored.id, &wrapped, &target_kek).await? {
                        rewrapped += 1;
                    }
                }
                Err(err) => failed.push((stored.id.clone(), err)),
            }
        }
        self.db.commit(tx).await?;
        self.cursor = page.last().map(|k| k.id.clone());
        self.total += rewrapped;
        Ok(Some(RewrapProgress {
            rewrapped,
            total_rewrapped: self.total,
            failed,
            cursor: self.cursor.clone(),
        }))
    }
}
