//! The SQL builder every query function uses: text with bound arguments, in order, so
//! [`super::catalog`] can show the exact text the server receives.

use serde::Serialize;

use crate::{Store, StoreError};

/// A bound value of a dynamically built query.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub(crate) enum Arg {
    Str(String),
    U32(u32),
    Strs(Vec<String>),
    U32s(Vec<u32>),
    U64(u64),
}

/// SQL text with its arguments, in order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Sql {
    pub(crate) text: String,
    pub(crate) args: Vec<Arg>,
}

impl Sql {
    pub(crate) fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }
    pub(crate) fn arg(&mut self, text: &str, a: Arg) -> &mut Self {
        self.text.push_str(text);
        self.args.push(a);
        self
    }
    /// ` AND col IN (?, ?, ...)`, one bound value per item (an `IN` over literals uses the
    /// primary key; `has(array, col)` would not). Nothing for an empty list.
    pub(crate) fn in_list(&mut self, col: &str, items: Vec<Arg>) -> &mut Self {
        if items.is_empty() {
            return self;
        }
        let marks = vec!["?"; items.len()].join(", ");
        self.text.push_str(&format!(" AND {col} IN ({marks})"));
        self.args.extend(items);
        self
    }
    /// Runs the query and reads every row.
    pub(crate) async fn fetch_all<T>(&self, store: &Store) -> Result<Vec<T>, StoreError>
    where
        T: clickhouse::RowOwned + clickhouse::RowRead,
    {
        Ok(self.query(store.client()).fetch_all().await?)
    }

    pub(crate) fn query(&self, client: &clickhouse::Client) -> clickhouse::query::Query {
        let mut q = client.query(&self.text);
        for a in &self.args {
            q = q.bind(a);
        }
        q
    }

    /// The statement as the server receives it, arguments bound (the portability catalog).
    pub(crate) fn shown(&self) -> String {
        self.query(&clickhouse::Client::default())
            .sql_display()
            .to_string()
    }
}

/// [`Sql::shown`], for the catalogs' lists.
pub(crate) fn show(s: Sql) -> String {
    s.shown()
}
