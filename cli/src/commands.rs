//! One file per command (or family of commands).

pub(crate) mod consumers;
pub(crate) mod dead_letters;
pub(crate) mod events;
pub(crate) mod keys;
pub(crate) mod migrate;
pub(crate) mod status;
pub(crate) mod stream;
