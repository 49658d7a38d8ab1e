//! `keys shred|rotate|rewrap`: crypto-shredding, rotation and re-wrapping under a new KEK.

use std::sync::Arc;

use pupsourcing::encryption::{
    AeadWrapper, AgeWrapper, DataKey, Encryptor, KeyWrapper, Keyring, Subject,
};
use pupsourcing::spi::{KeyId, KeyStore};
use pupsourcing::{Backend, Database};
use serde_json::json;

use crate::args::{Format, RewrapArgs, RotateArgs, ShredArgs};
use crate::commands::consumers::confirm;
use crate::error::{CliError, Kind, Result};
use crate::output::{print, print_json};
use crate::progress;

/// A KEK from `ID=FILE`: the file holds an age identity, or 64 hex digits of a symmetric key.
pub(crate) fn kek(spec: &str) -> Result<Arc<dyn KeyWrapper>> {
    let usage = |message: String| CliError::new(Kind::Usage, message);
    let (id, path) = spec
        .split_once('=')
        .filter(|(id, path)| !id.is_empty() && !path.is_empty())
        .ok_or_else(|| usage(format!("a KEK is given as ID=FILE, not {spec:?}")))?;
    let text = std::fs::read_to_string(path)
        .map_err(|err| usage(format!("cannot read the KEK file {path}: {err}")))?;
    if text.contains("AGE-SECRET-KEY-") {
        return Ok(Arc::new(AgeWrapper::from_identities(id, &text, &[])?));
    }
    let hex = text.trim();
    let not_a_key = || usage(format!("{path} holds neither an age identity nor 64 hex digits"));
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(not_a_key());
    }
    let mut bytes = [0u8; 32];
    for (i, byte) in bytes.iter_mut().enumerate() {
        let pair = hex.get(2 * i..2 * i + 2).ok_or_else(not_a_key)?;
        *byte = u8::from_str_radix(pair, 16).map_err(|_| not_a_key())?;
    }
    Ok(Arc::new(AeadWrapper::new(id, &DataKey::from_bytes(bytes))?))
}

fn subject(scope: &str, id: &str) -> Result<Subject> {
    Ok(Subject::new(scope, id)?)
}

pub(crate) async fn shred<D, S, C, K>(
    backend: &Backend<D, S, C, K>,
    args: &ShredArgs,
    format: Format,
) -> Result<()>
where
    D: Database,
    K: KeyStore<D> + Clone,
{
    let who = subject(&args.scope, &args.subject)?;
    if !args.yes {
        confirm(&format!(
            "Destroy every key of {}/{}? Its encrypted fields become unreadable for ever.",
            args.scope, args.subject
        ))?;
    }
    // Shredding only deletes keys; this KEK never wraps or unwraps anything.
    let unused = AeadWrapper::new("pupsourcing-cli-shred", &DataKey::generate())?;
    let destroyed = Encryptor::new(backend, Keyring::new(unused)).shred(&who).await?;
    if destroyed == 0 {
        return Err(CliError::new(
            Kind::NotFound,
            format!("{}/{} has no keys; nothing destroyed", args.scope, args.subject),
        )
        .hint("check the scope and subject (ids are case-sensitive), or it was shredded already"));
    }
    match format {
        Format::Json => print_json(&json!({
            "scope": args.scope, "subject": args.subject, "destroyed": destroyed,
        })),
        Format::Text => print(&format!(
            "destroyed {destroyed} key version(s) of {}/{}; other processes forget them within \
             their key cache's TTL\n",
            args.scope, args.subject
        )),
    }
    Ok(())
}

pub(crate) async fn rotate<D, S, C, K>(
    backend: &Backend<D, S, C, K>,
    args: &RotateArgs,
    format: Format,
) -> Result<()>
where
    D: Database,
    K: KeyStore<D> + Clone,
{
    let who = subject(&args.scope, &args.subject)?;
    let encryptor = Encryptor::new(backend, Keyring::from_arc(kek(&args.kek)?));
    let version = encryptor.rotate(&who).await?;
    match format {
        Format::Json => print_json(&json!({
            "scope": args.scope, "subject": args.subject, "version": version,
        })),
        Format::Text => print(&format!(
            "{}/{} now writes with key version {version}\n",
            args.scope, args.subject
        )),
    }
    Ok(())
}

/// A cursor as `scope/subject/vN`, with `%` and `/` escaped in the names.
pub(crate) fn cursor_text(id: &KeyId) -> String {
    let escape = |s: &str| s.replace('%', "%25").replace('/', "%2F");
    format!("{}/{}/v{}", escape(&id.scope), escape(&id.subject), id.version)
}

pub(crate) fn parse_cursor(text: &str) -> Result<KeyId> {
    let unescape = |s: &str| s.replace("%2F", "/").replace("%25", "%");
    let parts: Vec<&str> = text.split('/').collect();
    let version = match parts.as_slice() {
        [_, _, version] => version.strip_prefix('v').and_then(|v| v.parse::<u32>().ok()),
        _ => None,
    };
    match (parts.as_slice(), version) {
        ([scope, subject, _], Some(version)) => {
            Ok(KeyId::new(unescape(scope), unescape(subject), version))
        }
        _ => Err(CliError::new(Kind::Usage, format!("{text:?} is not a rewrap cursor"))
            .hint("pass the cursor a previous run printed, like users/alice/v2")),
    }
}

pub(crate) async fn rewrap<D, S, C, K>(
    backend: &Backend<D, S, C, K>,
    args: &RewrapArgs,
    format: Format,
) -> Result<()>
where
    D: Database,
    K: KeyStore<D> + Clone,
{
    let mut keks = args.kek.iter();
    let first = keks.next().ok_or_else(|| CliError::new(Kind::Usage, "--kek is required"))?;
    let mut keyring = Keyring::from_arc(kek(first)?);
    for spec in keks {
        keyring = keyring.with_previous_arc(kek(spec)?);
    }
    let target = kek(&args.to)?;
    let target_id = target.kek_id().to_owned();
    let encryptor = Encryptor::new(backend, keyring);
    let mut run = encryptor.rewrap(target, args.page_size);
    if let Some(cursor) = &args.resume_after {
        run = run.resume_after(parse_cursor(cursor)?);
    }
    let terminal = progress::on_terminal();
    let bar = progress::bar(None, "{spinner} re-wrapped {pos} key(s), {rate} {msg}")?;
    let (mut pages, mut failed, mut done) = (0u64, Vec::new(), false);
    let mut total = 0;
    while args.pages.is_none_or(|limit| pages < limit) {
        let page = run.next_page().await.map_err(|err| {
            let resume = run.cursor().map_or_else(
                || "run it again".to_owned(),
                |cursor| format!("continue with --resume-after {}", cursor_text(cursor)),
            );
            CliError::from(err).hint(format!("re-wrapped {total} key(s) so far; {resume}"))
        })?;
        let Some(page) = page else {
            done = true;
            break;
        };
        pages += 1;
        total = page.total_rewrapped;
        bar.set_position(total);
        failed.extend(page.failed.into_iter().map(|(id, err)| (cursor_text(&id), err.to_string())));
        if let Some(cursor) = &page.cursor {
            bar.set_message(format!("(at {})", cursor_text(cursor)));
            if !terminal {
                eprintln!("re-wrapped {total} key(s); cursor {}", cursor_text(cursor));
            }
        }
    }
    bar.finish_and_clear();
    let cursor = run.cursor().map(cursor_text);
    match format {
        Format::Json => print_json(&json!({
            "target_kek": target_id,
            "rewrapped": total,
            "complete": done && failed.is_empty(),
            "cursor": cursor,
            "failed": failed.iter().map(|(id, err)| json!({"key": id, "error": err})).collect::<Vec<_>>(),
        })),
        Format::Text => {
            let mut text = format!("re-wrapped {total} key(s) under {target_id}\n");
            for (id, err) in &failed {
                text.push_str(&format!("  failed: {id}: {err}\n"));
            }
            match (&cursor, done) {
                (_, true) if failed.is_empty() => {
                    text.push_str("every key is wrapped by the new KEK\n");
                }
                (_, true) => text.push_str("the others are wrapped by the new KEK\n"),
                (Some(cursor), false) => text
                    .push_str(&format!("stopped early; continue with --resume-after {cursor}\n")),
                (None, false) => text.push_str("stopped before the first page\n"),
            }
            print(&text);
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(CliError::new(Kind::Failed, format!("{} key(s) could not be re-wrapped", failed.len()))
            .hint("they keep their old wrapping; fix the cause and run rewrap again"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_with_slashes() {
        let id = KeyId::new("users/eu", "a%b/c", 7);
        assert_eq!(cursor_text(&id), "users%2Feu/a%25b%2Fc/v7");
        assert_eq!(parse_cursor(&cursor_text(&id)).unwrap(), id);
        assert!(parse_cursor("users/alice").is_err());
        assert!(parse_cursor("users/alice/7").is_err());
    }
}
