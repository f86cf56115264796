//! Request-body and query extractors whose every failure is a problem+json:
//! 415 for another content type, 413 over 2 MiB, 400 for malformed JSON,
//! 422 naming the field for JSON of the wrong shape.

use std::future::Future;
use std::pin::Pin;

use actix_web::{dev::Payload, http::header, web, FromRequest, HttpRequest};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, FieldError};

/// Largest request body accepted anywhere.
pub const BODY_LIMIT: usize = 2 * 1024 * 1024;

/// A JSON request body, parsed strictly; the raw bytes are kept for the
/// idempotency fingerprint.
#[derive(Debug)]
pub struct ApiJson<T>(pub T, web::Bytes);

impl<T> ApiJson<T> {
    /// SHA-256 of the body's canonical JSON (key order and spacing do not matter).
    pub fn fingerprint(&self) -> String {
        let value: serde_json::Value = serde_json::from_slice(&self.1).unwrap_or_default();
        super::idempotency::fingerprint(&value)
    }
}

fn is_json(req: &HttpRequest) -> bool {
    let Some(value) = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Parses JSON, naming the offending field on a shape error. A string
/// holding a control character (other than tab, CR and LF, which free text
/// may hold; the use cases refuse them where they may not) is refused
/// first, whatever the field: PostgreSQL cannot store a NUL, and no field
/// has a use for the others.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(format!("the body is not valid JSON: {e}")))?;
    let mut problems = Vec::new();
    find_control_characters(&value, &mut String::new(), &mut problems);
    if !problems.is_empty() {
        return Err(ApiError::Validation(problems));
    }
    // From the bytes, not the value: the value has already dropped a
    // duplicate member, which must be refused.
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(deserializer) {
        Ok(value) => Ok(value),
        Err(err) => {
            let path = err.path().to_string();
            let inner = err.into_inner();
            match inner.classify() {
                serde_json::error::Category::Data => Err(ApiError::Validation(vec![field_error(
                    &path,
                    &strip_position(&inner.to_string()),
                    "body",
                )])),
                _ => Err(ApiError::bad_request(format!(
                    "the body is not valid JSON: {inner}"
                ))),
            }
        }
    }
}

/// A control character no field accepts: all but tab, CR and LF.
fn forbidden_control(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\r' | '\n')
}

/// Records, in document order, each string (or member name) holding a
/// forbidden control character, by its path as serde_path_to_error writes it.
fn find_control_characters(
    value: &serde_json::Value,
    path: &mut String,
    out: &mut Vec<FieldError>,
) {
    use serde_json::Value;
    let here = |path: &str| {
        if path.is_empty() {
            "body".to_owned()
        } else {
            path.to_owned()
        }
    };
    match value {
        Value::String(s) if s.chars().any(forbidden_control) => out.push(FieldError::new(
            here(path),
            "must not contain control characters",
        )),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                find_control_characters(item, path, out);
                path.truncate(len);
            }
        }
        Value::Object(members) => {
            for (name, member) in members {
                if name.chars().any(forbidden_control) {
                    out.push(FieldError::new(
                        here(path),
                        "a member name holds a control character",
                    ));
                    continue;
                }
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(name);
                find_control_characters(member, path, out);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// Fields that hold a personal ID number (an `id_number`, or the `value` of
/// an identifier change): serde quotes the offending value in its messages,
/// and such a message must not carry the number back (or into a log).
fn holds_identifier(field: &str) -> bool {
    let last = field.rsplit('.').next().unwrap_or(field);
    let last = last.split('[').next().unwrap_or(last);
    matches!(last, "id_number" | "value")
}

/// The field error for a serde message about `path` (`.` for the whole
/// document, then `whole` names it): serde names a missing, duplicate or
/// unknown field in the message rather than the path.
pub fn field_error(path: &str, message: &str, whole: &str) -> FieldError {
    let field = match (path, missing_field(message)) {
        (".", Some(missing)) => missing.to_owned(),
        (p, Some(named)) if p == named || p.ends_with(&format!(".{named}")) => p.to_owned(),
        (p, Some(named)) => format!("{p}.{named}"),
        (".", None) => whole.to_owned(),
        (p, None) => p.to_owned(),
    };
    let message = if holds_identifier(&field) {
        // Keep what was expected, never what was sent.
        match message.rsplit_once(", expected ") {
            Some((_, expected)) => format!("invalid type or value: expected {expected}"),
            None => "invalid type or value".to_owned(),
        }
    } else {
        message.to_owned()
    };
    FieldError::new(field, message)
}

fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// The field serde names in a message about the object rather than a value.
fn missing_field(message: &str) -> Option<&str> {
    ["missing field `", "duplicate field `", "unknown field `"]
        .iter()
        .find_map(|prefix| message.strip_prefix(prefix))
        .and_then(|rest| rest.split('`').next())
}

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = is_json(req);
        let declared_length = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if declared_length.is_some_and(|n| n > BODY_LIMIT) {
                return Err(ApiError::PayloadTooLarge { limit: BODY_LIMIT });
            }
            if !json {
                return Err(ApiError::UnsupportedMediaType(
                    "send the body as JSON with Content-Type: application/json".into(),
                ));
            }
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk
                    .map_err(|e| ApiError::bad_request(format!("reading the body failed: {e}")))?;
                if body.len() + chunk.len() > BODY_LIMIT {
                    return Err(ApiError::PayloadTooLarge { limit: BODY_LIMIT });
                }
                body.extend_from_slice(&chunk);
            }
            if body.is_empty() {
                return Err(ApiError::bad_request("the request needs a JSON body"));
            }
            let body = body.freeze();
            parse_json(&body).map(|value| ApiJson(value, body))
        })
    }
}

/// Query-string errors as 422 problems.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _req| {
        let message = err.to_string();
        let message = message
            .strip_prefix("Query deserialize error: ")
            .unwrap_or(&message)
            .to_owned();
        ApiError::Validation(vec![FieldError::new("query", message)]).into()
    })
}

/// Path errors (a malformed id) as 404 problems.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|_, _| ApiError::not_found("no such resource").into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        inner: Option<Inner>,
    }
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        count: u32,
    }

    fn field_of(bytes: &str) -> String {
        match parse_json::<Body>(bytes.as_bytes()) {
            Err(ApiError::Validation(errors)) => errors[0].field.clone(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn shape_errors_name_the_field() {
        assert_eq!(field_of(r#"{}"#), "name");
        assert_eq!(field_of(r#"{"name": 5}"#), "name");
        assert_eq!(
            field_of(r#"{"name": "a", "inner": {"count": -1}}"#),
            "inner.count"
        );
        assert_eq!(field_of(r#"{"name": "a", "inner": {}}"#), "inner.count");
        assert_eq!(field_of(r#"{"name": "a", "extra": 1}"#), "extra");
        assert_eq!(field_of(r#"{"name": "a", "name": "b"}"#), "name");
    }

    #[test]
    fn control_characters_are_refused_by_field() {
        let fields = |bytes: &str| match parse_json::<Body>(bytes.as_bytes()) {
            Err(ApiError::Validation(errors)) => {
                errors.into_iter().map(|e| e.field).collect::<Vec<_>>()
            }
            other => panic!("expected a validation error, got {other:?}"),
        };
        assert_eq!(fields(r#"{"name": "o\u0000"}"#), ["name"]);
        assert_eq!(
            fields(r#"{"name": "a", "inner": {"x": "\u001b"}}"#),
            ["inner.x"]
        );
        assert_eq!(fields(r#"{"name": ["ok", "\u0085"]}"#), ["name[1]"]);
        assert_eq!(fields(r#"{"\u0000": 1}"#), ["body"]);
        assert_eq!(fields(r#""\u0000""#), ["body"]);
        // Tab, CR and LF pass here; the use cases decide where text may hold them.
        assert!(parse_json::<Body>(br#"{"name": "a\tb\r\nc"}"#).is_ok());
    }

    #[test]
    fn no_message_quotes_an_identifier() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Subject {
            id_number: Option<String>,
            accounts: Vec<Change>,
        }
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Change {
            value: Option<String>,
        }
        for body in [
            r#"{"id_number": 110105199001011239, "accounts": []}"#,
            r#"{"id_number": null, "accounts": [{"value": 110105199001011239}]}"#,
            r#"{"id_number": ["110105199001011239"], "accounts": []}"#,
        ] {
            let Err(ApiError::Validation(errors)) = parse_json::<Subject>(body.as_bytes()) else {
                panic!("{body} accepted");
            };
            let text = format!("{errors:?}");
            assert!(!text.contains("110105"), "{text}");
            assert!(text.contains("expected"), "{text}");
        }
    }

    #[test]
    fn syntax_errors_are_400() {
        assert!(matches!(
            parse_json::<Body>(b"{\"name\":"),
            Err(ApiError::BadRequest(_))
        ));
        assert!(matches!(
            parse_json::<Body>(br#"{"name": "a","#),
            Err(ApiError::BadRequest(_))
        ));
        assert!(matches!(
            parse_json::<Body>(b"nul"),
            Err(ApiError::BadRequest(_))
        ));
    }
}
