//! Keyset pagination on the wire: `?limit=&cursor=` → `{items, next_cursor}`
//! (the rules are `service::page`'s), and the `organization_id` filter of
//! the lists of platforms' records.

use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::ApiError;
use crate::service::page::PageRequest;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Page size: default 50; above 500 is treated as 500.
    #[param(minimum = 1)]
    #[serde(default, deserialize_with = "crate::api::params::whole_number")]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    #[param(max_length = 200, pattern = r"^[A-Za-z0-9_-]+$")]
    pub cursor: Option<String>,
}

impl PageParams {
    pub fn request(&self) -> Result<PageRequest, ApiError> {
        Ok(PageRequest::parse(self.limit, self.cursor.as_deref())?)
    }
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

        impl From<$crate::service::page::Page<$item>> for $page {
            fn from(page: $crate::service::page::Page<$item>) -> Self {
                Self {
                    items: page.items,
                    next_cursor: page.next_cursor,
                }
            }
        }
    };
}

/// Whose records a list of platforms' records shows (screenings, watchlist,
/// webhooks, events).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrganizationFilter {
    /// Admins and auditors: only the records of this organization (its id, a
    /// UUID; default: every organization's). A platform always sees its own;
    /// naming another organization is a 403.
    #[param(value_type = Option<uuid::Uuid>)]
    pub organization_id: Option<String>,
}
