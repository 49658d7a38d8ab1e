//! Key-store and encryption scenarios: the [`KeyStore`](pupsourcing::spi::KeyStore) contract and the
//! promises of [`Encryptor`] on top of it (round trips, tampering, shredding, rotation, KEK
//! re-wrap, concurrency, transactions).

mod bad_input;
mod concurrency;
mod contract;
mod rotation;
mod round_trip;
mod shredding;
mod tampering;
mod transactions;

use std::sync::Arc;

use pupsourcing::Backend;
use pupsourcing::encryption::{AeadWrapper, DataKey, Encryptor, EncryptorConfig, Keyring, Subject};

use crate::KeysBackend;

pub use bad_input::bad_key_input_is_typed_and_changes_nothing;
pub use concurrency::concurrent_first_uses_create_one_key;
pub use contract::key_store_contract;
pub use rotation::{rewrap_is_resumable_and_lets_the_old_kek_go, rotation_keeps_old_data_readable};
pub use round_trip::{
    fields_round_trip_from_empty_to_one_mebibyte, random_fields_round_trip,
    sealed_values_reveal_in_projections,
};
pub use shredding::{
    recreation_after_shredding_is_refused_unless_allowed, shredded_subjects_read_as_erased,
    shredding_reaches_other_processes_after_their_ttl,
};
pub use tampering::{
    bound_fields_are_authenticated, every_bit_flip_is_an_integrity_failure,
    missing_kek_is_unavailable_not_shredded, swapped_key_row_is_a_binding_mismatch,
};
pub use transactions::{
    explicit_creation_refuses_an_existing_key, key_creation_commits_and_rolls_back_with_the_caller,
};

/// The encryptor type of a backend.
pub(crate) type Enc<B> = Encryptor<<B as crate::StoreBackend>::Db, <B as KeysBackend>::Keys>;

/// A raw-AEAD KEK with a random key.
pub(crate) fn kek(id: &str) -> Arc<AeadWrapper> {
    Arc::new(AeadWrapper::new(id, &DataKey::generate()).expect("kek"))
}

/// A keyring whose primary is `kek`.
pub(crate) fn ring(kek: &Arc<AeadWrapper>) -> Keyring {
    Keyring::new(Arc::clone(kek))
}

/// A fresh store and key store, plus an encryptor over them (the first "process").
pub(crate) async fn setup<B: KeysBackend>(
    backend: &B,
    keyring: Keyring,
) -> (B::Db, B::Store, B::Keys, Enc<B>) {
    let (db, store) = backend.fresh_store().await;
    let keys = backend.key_store(&store);
    let encryptor = Encryptor::new(&Backend::from_parts(db.clone(), (), (), keys.clone()), keyring);
    (db, store, keys, encryptor)
}

/// Another "process": its own encryptor (and cache) over the same key store.
pub(crate) fn process<B: KeysBackend>(
    db: &B::Db,
    keys: &B::Keys,
    keyring: Keyring,
    config: EncryptorConfig,
) -> Enc<B> {
    Encryptor::with_config(&Backend::from_parts(db.clone(), (), (), keys.clone()), keyring, config)
}

/// A valid data subject.
pub(crate) fn subject(scope: &str, id: &str) -> Subject {
    Subject::new(scope, id).expect("valid subject")
}

/// `size` bytes that differ from position to position.
pub(crate) fn pattern(size: usize) -> Vec<u8> {
    (0..size).map(|i| u8::try_from((i * 31 + i / 251) % 251).expect("below 251")).collect()
}
