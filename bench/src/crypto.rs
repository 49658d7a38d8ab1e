//! `crypto`: field encryption, key unwrapping and blind-index hashing, each against the bare
//! primitive it is built on.
//!
//! - encrypt+decrypt of a 200-byte field through [`Encryptor`] with a warm key cache, against
//!   one XChaCha20-Poly1305 seal and open of the same bytes with a fixed key;
//! - an `age` unwrap of a data key, against an `age` decryption of a payload of the same size;
//! - a blind-index hash, against one HMAC-SHA256 with a precomputed key.

use std::hint::black_box;
use std::time::{Duration, Instant};

use chacha20poly1305::XChaCha20Poly1305;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use pupsourcing::EncryptionError;
use pupsourcing::encryption::{
    AgeWrapper, BlindIndex, DataKey, Encryptor, ExposeSecret, KeyBinding, KeyWrapper, Keyring,
    Subject, hmac_sha256,
};
use pupsourcing::spi::KeyId;

use crate::stats::Samples;
use crate::{BenchError, Report};

const ROUNDS: usize = 9;
const FIELD: usize = 200;

impl From<EncryptionError> for BenchError {
    fn from(err: EncryptionError) -> Self {
        Self::Encryption(err)
    }
}

/// The mean time of one call over `iterations` calls.
fn per_call(iterations: u32, started: Instant) -> Duration {
    started.elapsed() / iterations
}

/// Runs `ours` and `raw` alternately, `ROUNDS` times each, and records the per-call means.
async fn interleaved<O, R>(
    iterations: u32,
    mut ours: impl FnMut() -> O,
    mut raw: impl FnMut() -> R,
) -> Result<(Samples, Samples), BenchError>
where
    O: Future<Output = Result<(), BenchError>>,
    R: Future<Output = Result<(), BenchError>>,
{
    let (mut ours_samples, mut raw_samples) = (Samples::default(), Samples::default());
    for _ in 0..ROUNDS {
        let started = Instant::now();
        for _ in 0..iterations {
            ours().await?;
        }
        ours_samples.push(per_call(iterations, started));
        let started = Instant::now();
        for _ in 0..iterations {
            raw().await?;
        }
        raw_samples.push(per_call(iterations, started));
    }
    Ok((ours_samples, raw_samples))
}

pub(crate) async fn run(report: &mut Report) -> Result<(), BenchError> {
    println!("crypto: {FIELD}-byte fields, {ROUNDS} interleaved rounds, per-call means");
    let (service, _) = AgeWrapper::generate_identity();
    let age = AgeWrapper::from_identities("bench", service.expose_secret(), &[])?;
    let encryptor = Encryptor::new(&pupsourcing_memory::open(), Keyring::new(age));
    let plaintext = vec![0x5a; FIELD];
    let user = Subject::new("users", "warm")?;
    encryptor.encrypt(&user, "email", &plaintext).await?;

    let cipher = XChaCha20Poly1305::new(&XChaCha20Poly1305::generate_key(&mut OsRng));
    let (ours, raw) = interleaved(
        20_000,
        || async {
            let envelope = encryptor.encrypt(&user, "email", black_box(&plaintext)).await?;
            let back = encryptor.decrypt(&user, "email", &envelope).await?;
            black_box(back);
            Ok(())
        },
        || async {
            let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
            let sealed = cipher
                .encrypt(&nonce, black_box(plaintext.as_slice()))
                .map_err(|_| BenchError::Stuck("seal"))?;
            let back =
                cipher.decrypt(&nonce, sealed.as_slice()).map_err(|_| BenchError::Stuck("open"))?;
            black_box(back);
            Ok(())
        },
    )
    .await?;
    report.case("crypto: encrypt+decrypt 200 B (warm cache)", &ours, &raw, "raw AEAD");

    let (service, public) = AgeWrapper::generate_identity();
    let wrapper = AgeWrapper::from_identities("bench", service.expose_secret(), &[])?;
    let id = KeyId::new("users", "alice", 1);
    let binding = KeyBinding { id: &id, kek_id: "bench" };
    let wrapped = wrapper.wrap(&DataKey::generate(), &binding)?;
    let identity: age::x25519::Identity =
        service.expose_secret().parse().map_err(|_| BenchError::Stuck("identity"))?;
    let recipient: age::x25519::Recipient =
        public.parse().map_err(|_| BenchError::Stuck("recipient"))?;
    let payload = age::encrypt(&recipient, &vec![7u8; wrapped_payload_len(&binding)])
        .map_err(|_| BenchError::Stuck("age encrypt"))?;
    let (ours, raw) = interleaved(
        500,
        || async {
            black_box(wrapper.unwrap(black_box(&wrapped), &binding)?);
            Ok(())
        },
        || async {
            black_box(
                age::decrypt(&identity, black_box(&payload))
                    .map_err(|_| BenchError::Stuck("age decrypt"))?,
            );
            Ok(())
        },
    )
    .await?;
    report.case("crypto: age unwrap of a data key", &ours, &raw, "raw age decrypt");

    let index = BlindIndex::new(1, BlindIndex::generate_master_key());
    let key = [9u8; 32];
    let (ours, raw) = interleaved(
        50_000,
        || async {
            black_box(index.hash("email", black_box(b"alice.martin@example.com")));
            Ok(())
        },
        || async {
            black_box(hmac_sha256(&key, black_box(b"alice.martin@example.com")));
            Ok(())
        },
    )
    .await?;
    report.case("crypto: blind-index hash", &ours, &raw, "raw HMAC-SHA256");
    Ok(())
}

/// The size of the plaintext an age wrapper encrypts for `binding`: magic, binding, key.
fn wrapped_payload_len(binding: &KeyBinding<'_>) -> usize {
    7 + 4
        + binding.id.scope.len()
        + 4
        + binding.id.subject.len()
        + 4
        + binding.kek_id.len()
        + 4
        + 32
}
