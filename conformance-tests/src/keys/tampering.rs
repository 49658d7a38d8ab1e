//! Tampering, swapped rows and missing KEKs each fail with their own typed error.

use pupsourcing::encryption::{
    AgeWrapper, EncryptorConfig, Envelope, ExposeSecret, Keyring, Revealed,
};
use pupsourcing::spi::{KeyId, KeyLookup, KeyStore};
use pupsourcing::{Database, EncryptionError};

use super::{Enc, kek, process, ring, setup};
use crate::KeysBackend;

fn is_integrity<T: std::fmt::Debug>(result: &Result<T, EncryptionError>) -> bool {
    matches!(result, Err(EncryptionError::Integrity(_)))
}

/// Parses and decrypts tampered bytes: either step may refuse, but only as an integrity failure.
async fn tampered_fails<B: KeysBackend>(encryptor: &Enc<B>, bytes: &[u8], what: &str) {
    match Envelope::from_bytes(bytes) {
        Err(EncryptionError::Integrity(_)) => {}
        Err(other) => panic!("{what}: parsing failed with {other:?}, not an integrity failure"),
        Ok(envelope) => {
            let result =
                encryptor.decrypt(&super::subject("users", "alice"), "email", &envelope).await;
            assert!(is_integrity(&result), "{what}: decrypting gave {result:?}");
        }
    }
}

/// Flipping any single bit of an envelope, or truncating it anywhere, is an integrity failure.
pub async fn every_bit_flip_is_an_integrity_failure<B: KeysBackend>(backend: &B) {
    let (_db, _store, _keys, encryptor) = setup(backend, ring(&kek("kek-1"))).await;
    let envelope = encryptor
        .encrypt(&super::subject("users", "alice"), "email", b"alice@example.com")
        .await
        .unwrap();
    let bytes = envelope.to_bytes();
    for bit in 0..bytes.len() * 8 {
        let mut flipped = bytes.clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        tampered_fails::<B>(&encryptor, &flipped, &format!("bit {bit}")).await;
    }
    for len in 0..bytes.len() {
        tampered_fails::<B>(&encryptor, &bytes[..len], &format!("truncated to {len}")).await;
    }
    let mut text = envelope.to_text();
    text.push('A');
    assert!(is_integrity(&Envelope::from_text(&text)), "extra text is refused");
    let back =
        encryptor.decrypt(&super::subject("users", "alice"), "email", &envelope).await.unwrap();
    assert_eq!(&back[..], b"alice@example.com", "the original still decrypts");
}

/// The CRC-32 (IEEE) the envelope header carries, to forge a header with another key version.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for byte in bytes {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xedb8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

/// An envelope decrypts only under the scope, subject, field and key version it was sealed
/// for, even when the other identity has a key of the same version.
pub async fn bound_fields_are_authenticated<B: KeysBackend>(backend: &B) {
    let (_db, _store, _keys, encryptor) = setup(backend, ring(&kek("kek-1"))).await;
    let envelope = encryptor
        .encrypt(&super::subject("users", "alice"), "email", b"alice@example.com")
        .await
        .unwrap();
    encryptor.encrypt(&super::subject("users", "bob"), "email", b"bob@example.com").await.unwrap();
    encryptor
        .encrypt(&super::subject("admins", "alice"), "email", b"root@example.com")
        .await
        .unwrap();

    for (scope, subject, field) in
        [("users", "bob", "email"), ("admins", "alice", "email"), ("users", "alice", "phone")]
    {
        let result = encryptor.decrypt(&super::subject(scope, subject), field, &envelope).await;
        assert!(is_integrity(&result), "{scope}/{subject}/{field}: {result:?}");
    }

    assert_eq!(encryptor.rotate(&super::subject("users", "alice")).await.unwrap(), 2);
    let mut forged = envelope.to_bytes();
    forged[4..8].copy_from_slice(&2u32.to_be_bytes());
    let crc = crc32(&forged[..8]);
    forged[8..12].copy_from_slice(&crc.to_be_bytes());
    let forged = Envelope::from_bytes(&forged).expect("a well-formed header");
    assert_eq!(forged.key_version(), 2);
    let result = encryptor.decrypt(&super::subject("users", "alice"), "email", &forged).await;
    assert!(is_integrity(&result), "another key version: {result:?}");
}

/// A key row carrying another subject's wrapped key (a swapped or copied row) is refused with
/// `KeyBindingMismatch`, never decrypted with the wrong key.
pub async fn swapped_key_row_is_a_binding_mismatch<B: KeysBackend>(backend: &B) {
    let kek = kek("kek-1");
    let (db, _store, keys, encryptor) = setup(backend, ring(&kek)).await;
    encryptor
        .encrypt(&super::subject("users", "alice"), "email", b"alice@example.com")
        .await
        .unwrap();
    let bobs = encryptor
        .encrypt(&super::subject("users", "bob"), "email", b"bob@example.com")
        .await
        .unwrap();

    let mut tx = db.begin().await.unwrap();
    let KeyLookup::Found(alice) = keys.current(&mut tx, "users", "alice").await.unwrap() else {
        panic!("alice has a key");
    };
    let bob = KeyId::new("users", "bob", 1);
    assert!(keys.rewrap(&mut tx, &bob, &alice.wrapped, &alice.kek_id).await.unwrap());
    db.commit(tx).await.unwrap();

    let fresh = process::<B>(&db, &keys, ring(&kek), EncryptorConfig::default());
    let result = fresh.decrypt(&super::subject("users", "bob"), "email", &bobs).await;
    assert!(
        matches!(&result, Err(EncryptionError::KeyBindingMismatch { expected, found })
            if expected.contains("users/bob/v1") && found.contains("users/alice/v1")),
        "{result:?}"
    );
}

/// Without the KEK that wrapped a key (another KEK, or only the public recipients of an age
/// KEK), decrypting and revealing fail with `KekUnavailable`: never `Shredded`.
pub async fn missing_kek_is_unavailable_not_shredded<B: KeysBackend>(backend: &B) {
    let (service, service_public) = AgeWrapper::generate_identity();
    let (escrow, escrow_public) = AgeWrapper::generate_identity();
    let age =
        AgeWrapper::from_identities("kek-age", service.expose_secret(), &[&escrow_public]).unwrap();
    let (db, _store, keys, encryptor) = setup(backend, Keyring::new(age)).await;
    let sealed = encryptor
        .seal(&super::subject("users", "alice"), "email", &"alice@example.com".to_owned())
        .await;
    let sealed = sealed.unwrap();

    let other = process::<B>(&db, &keys, ring(&kek("kek-other")), EncryptorConfig::default());
    let public_only = AgeWrapper::recipients_only("kek-age", &[&service_public]).unwrap();
    let public_only = process::<B>(&db, &keys, Keyring::new(public_only), Default::default());
    for unable in [&other, &public_only] {
        let result =
            unable.decrypt(&super::subject("users", "alice"), "email", sealed.envelope()).await;
        assert!(
            matches!(&result, Err(EncryptionError::KekUnavailable { kek_id }) if kek_id == "kek-age"),
            "{result:?}"
        );
        let revealed = unable.reveal(&super::subject("users", "alice"), "email", &sealed).await;
        assert!(matches!(revealed, Err(EncryptionError::KekUnavailable { .. })), "{revealed:?}");
    }

    let escrow = AgeWrapper::from_identities("kek-age", escrow.expose_secret(), &[]).unwrap();
    let by_escrow = process::<B>(&db, &keys, Keyring::new(escrow), EncryptorConfig::default());
    let revealed =
        by_escrow.reveal(&super::subject("users", "alice"), "email", &sealed).await.unwrap();
    assert_eq!(
        revealed,
        Revealed::Plain("alice@example.com".to_owned()),
        "the escrow key recovers"
    );
}
