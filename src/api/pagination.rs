//! Keyset pagination: `?limit=&cursor=` → `{items, next_cursor}`.

use base64::Engine;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::ApiError;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 500;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Page size: default 50; above 500 is treated as 500.
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageParams {
    pub fn limit(&self) -> Result<i64, ApiError> {
        match self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(n) if n < 1 => Err(ApiError::invalid("limit", "must be at least 1")),
            Some(n) => Ok(n.min(MAX_LIMIT)),
        }
    }

    /// The sort key the cursor stands for.
    pub fn after(&self) -> Result<Option<String>, ApiError> {
        self.cursor.as_deref().map(decode_cursor).transpose()
    }
}

pub fn encode_cursor(key: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key)
}

pub fn decode_cursor(cursor: &str) -> Result<String, ApiError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| ApiError::invalid("cursor", "is not a cursor this service handed out"))
}

/// Given up to `limit + 1` rows, returns the page and the cursor of the next.
pub fn page_of<T>(
    mut rows: Vec<T>,
    limit: i64,
    key: impl Fn(&T) -> String,
) -> (Vec<T>, Option<String>) {
    let has_more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next = if has_more {
        rows.last().map(|r| encode_cursor(&key(r)))
    } else {
        None
    };
    (rows, next)
}

/// A page type for one item type (utoipa needs a concrete name per schema).
#[macro_export]
macro_rules! page_type {
    ($page:ident, $item:ty) => {
        #[derive(Debug, serde::Serialize, utoipa::ToSchema)]
        pub struct $page {
            pub items: Vec<$item>,
            /// Pass as `cursor` for the next page; null on the last page.
            pub next_cursor: Option<String>,
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_default_and_cap() {
        assert_eq!(PageParams::default().limit().unwrap(), 50);
        let p = PageParams {
            limit: Some(10_000),
            cursor: None,
        };
        assert_eq!(p.limit().unwrap(), 500);
        let p = PageParams {
            limit: Some(0),
            cursor: None,
        };
        assert!(p.limit().is_err());
    }

    #[test]
    fn cursors_round_trip_and_pages_end() {
        let (page, next) = page_of(vec![1, 2, 3], 2, |n| n.to_string());
        assert_eq!(page, vec![1, 2]);
        assert_eq!(decode_cursor(&next.unwrap()).unwrap(), "2");
        let (page, next) = page_of(vec![1, 2], 2, |n| n.to_string());
        assert_eq!(page.len(), 2);
        assert!(next.is_none());
        assert!(decode_cursor("%%%").is_err());
    }
}
