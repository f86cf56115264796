//! Path and query parameters whose every failure is a problem+json: an `{id}`
//! that is not a UUID is a 404 before any database round trip; a query value
//! that is not percent-encoded UTF-8, or holds a control character, is a 422
//! naming the parameter; an empty value counts as absent.

use std::future::{ready, Ready};
use std::ops::Deref;

use actix_web::{dev::Payload, FromRequest, HttpRequest};
use serde::de::DeserializeOwned;

use super::json::field_error;
use crate::error::ApiError;
use crate::service::canonical_id;

/// The `{id}` of a path, as the canonical (lower-case, hyphenated) UUID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Id(pub String);

impl Id {
    pub fn into_inner(self) -> String {
        self.0
    }
}

impl FromRequest for Id {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let id = req.match_info().get("id").and_then(canonical_id);
        ready(
            id.map(Id)
                .ok_or_else(|| ApiError::not_found("no such resource")),
        )
    }
}

/// Query parameters, decoded strictly (see [`parse_query`]).
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T> Query<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Query<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse_query(req.query_string()).map(Query))
    }
}

/// One percent-encoded query component, `+` read as a space; `None` when
/// the bytes are not UTF-8 (actix and serde_urlencoded would silently put
/// U+FFFD in their place).
fn decode(component: &str) -> Option<String> {
    let spaced = component.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

/// Parses a query string into `T`: every name and value must be
/// percent-encoded UTF-8 without control characters (422 naming the
/// parameter); empty values are dropped, as if absent; type errors name the
/// parameter too.
pub fn parse_query<T: DeserializeOwned>(raw: &str) -> Result<T, ApiError> {
    let mut pairs = Vec::new();
    for pair in raw.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = decode(name)
            .filter(|n| !n.chars().any(char::is_control))
            .ok_or_else(|| {
                ApiError::invalid(
                    "query",
                    "a parameter name is not percent-encoded UTF-8 without control characters",
                )
            })?;
        let value = decode(value)
            .ok_or_else(|| ApiError::invalid(&name, "must be percent-encoded UTF-8"))?;
        if value.chars().any(char::is_control) {
            return Err(ApiError::invalid(
                &name,
                "must not contain control characters",
            ));
        }
        if !value.is_empty() {
            pairs.push((name, value));
        }
    }
    let cleaned = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&pairs)
        .finish();
    let deserializer =
        serde_urlencoded::Deserializer::new(url::form_urlencoded::parse(cleaned.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|err| {
        let path = err.path().to_string();
        let message = err.into_inner().to_string();
        ApiError::Validation(vec![field_error(&path, &message, "query")])
    })
}

/// A whole number from a query string: digits, or a whole number in decimal
/// or exponent form (`1e3`, `20.0` — JSON Schema's integers, as generated
/// clients may write them) inside `i64` (the document's `int64`); anything
/// else is refused naming the parameter. For `limit` and its kin.
pub fn whole_number<'de, D>(deserializer: D) -> Result<Option<i64>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    use serde::de::Error;
    use serde::Deserialize;
    let Some(text) = Option::<String>::deserialize(deserializer)? else {
        return Ok(None);
    };
    if let Ok(n) = text.parse::<i64>() {
        return Ok(Some(n));
    }
    // 2^63: the first whole number past i64 (the document says int64).
    const END: f64 = 9_223_372_036_854_775_808.0;
    match text.parse::<f64>() {
        Ok(x) if x.fract() == 0.0 && (-END..END).contains(&x) => Ok(Some(x as i64)),
        _ => Err(D::Error::custom(
            "must be a whole number between -2^63 and 2^63 - 1",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Params {
        q: Option<String>,
        limit: Option<i64>,
        cursor: Option<String>,
    }

    fn field_of(raw: &str) -> String {
        match parse_query::<Params>(raw) {
            Err(ApiError::Validation(errors)) => errors[0].field.clone(),
            other => panic!("expected a validation error for {raw:?}, got {other:?}"),
        }
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Limited {
        #[serde(default, deserialize_with = "whole_number")]
        limit: Option<i64>,
    }

    #[test]
    fn a_limit_is_any_spelling_of_a_whole_number() {
        let limit = |raw: &str| parse_query::<Limited>(raw).map(|l| l.limit);
        assert_eq!(limit("limit=20").unwrap(), Some(20));
        assert_eq!(limit("limit=1e3").unwrap(), Some(1000));
        // What schemathesis sent: a large whole number in exponent form.
        assert!(limit("limit=2.145059512527545e%2B16").unwrap() > Some(500));
        assert_eq!(limit("limit=20.0").unwrap(), Some(20));
        for outside in [
            "limit=1e400",
            "limit=17668187365171017728",
            "limit=9223372036854775808",
        ] {
            assert!(limit(outside).is_err(), "{outside}");
        }
        assert_eq!(limit("limit=9223372036854775807").unwrap(), Some(i64::MAX));
        assert_eq!(limit("").unwrap(), None);
        for bad in ["limit=1.5", "limit=ten", "limit=NaN", "limit=inf"] {
            match limit(bad) {
                Err(ApiError::Validation(errors)) => assert_eq!(errors[0].field, "limit", "{bad}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn values_decode_and_empty_ones_are_absent() {
        let p: Params = parse_query("q=%E5%BC%A0+%E4%BC%9F&limit=5&cursor=").unwrap();
        assert_eq!(
            p,
            Params {
                q: Some("张 伟".into()),
                limit: Some(5),
                cursor: None
            }
        );
        let p: Params = parse_query("").unwrap();
        assert_eq!(p.q, None);
        // A literal `%` that is no escape stays as it is, as browsers send it.
        let p: Params = parse_query("q=100%").unwrap();
        assert_eq!(p.q.as_deref(), Some("100%"));
    }

    #[test]
    fn bad_values_name_the_parameter() {
        assert_eq!(field_of("q=%00"), "q");
        assert_eq!(field_of("q=a%0Ab"), "q");
        assert_eq!(field_of("cursor=%C0%AF"), "cursor");
        assert_eq!(field_of("q=%FF"), "q");
        assert_eq!(field_of("limit=abc"), "limit");
        assert_eq!(field_of("limit=1&limit=2"), "limit");
        assert_eq!(field_of("%00=1"), "query");
        assert_eq!(field_of("%C0%AF=1"), "query");
    }
}
