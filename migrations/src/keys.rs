//! The encryption key store's tables: wrapped data keys and destruction tombstones.

use sea_query::{ColumnDef, Expr, ExprTrait, Iden, Index, Table, TableCreateStatement};

use crate::backend::{bytes, clock, name};
use crate::{Backend, Tables};

/// Columns of the data-keys and tombstones tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum KeyColumn {
    Scope,
    Subject,
    Version,
    WrappedKey,
    Algorithm,
    KekId,
    CreatedAt,
    RetiredAt,
    UpToVersion,
    DestroyedAt,
}

impl Iden for KeyColumn {
    fn unquoted(&self) -> &str {
        match self {
            Self::Scope => "scope",
            Self::Subject => "subject",
            Self::Version => "version",
            Self::WrappedKey => "wrapped_key",
            Self::Algorithm => "algorithm",
            Self::KekId => "kek_id",
            Self::CreatedAt => "created_at",
            Self::RetiredAt => "retired_at",
            Self::UpToVersion => "up_to_version",
            Self::DestroyedAt => "destroyed_at",
        }
    }
}

use KeyColumn as C;

pub(crate) fn tables(backend: Backend, tables: &Tables) -> Vec<TableCreateStatement> {
    let data_keys = Table::create()
        .table(tables.table_name(tables.data_keys()))
        .if_not_exists()
        .col(name(backend, C::Scope).not_null())
        .col(name(backend, C::Subject).not_null())
        .col(ColumnDef::new(C::Version).integer().not_null().check(Expr::col(C::Version).gt(0)))
        .col(bytes(backend, C::WrappedKey).not_null())
        .col(name(backend, C::Algorithm).not_null())
        .col(name(backend, C::KekId).not_null())
        .col(clock(backend, C::CreatedAt).not_null())
        .col(clock(backend, C::RetiredAt).null())
        .primary_key(Index::create().col(C::Scope).col(C::Subject).col(C::Version))
        .to_owned();
    let tombstones = Table::create()
        .table(tables.table_name(tables.key_tombstones()))
        .if_not_exists()
        .col(name(backend, C::Scope).not_null())
        .col(name(backend, C::Subject).not_null())
        .col(
            ColumnDef::new(C::UpToVersion)
                .integer()
                .not_null()
                .check(Expr::col(C::UpToVersion).gte(0)),
        )
        .col(clock(backend, C::DestroyedAt).not_null())
        .primary_key(Index::create().col(C::Scope).col(C::Subject))
        .to_owned();
    let mut created = vec![data_keys, tombstones];
    if backend == Backend::Mysql {
        created.push(
            Table::create()
                .table(tables.table_name(&tables.key_locks()))
                .if_not_exists()
                .col(name(backend, C::Scope).not_null())
                .col(name(backend, C::Subject).not_null())
                .primary_key(Index::create().col(C::Scope).col(C::Subject))
                .to_owned(),
        );
    }
    created
}
