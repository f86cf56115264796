//! Every parameter of every operation in the OpenAPI document, as every role
//! and anonymously: a NUL, invalid UTF-8, a 5,000-character value or an id of
//! the wrong shape is a 4xx problem, never a 5xx (CONTRACT §6.9). JSON bodies
//! likewise, with `"\u0000"` in each string field of a valid-shaped body.

use reqwest::Method;
use serde_json::{json, Map, Value};

use crate::both_backends;
use crate::helpers::*;

/// Values put into a path parameter: none can be an id.
fn hostile_path_values() -> Vec<String> {
    vec![
        "%00".into(),
        "%C0%AF".into(),
        "x".repeat(5000),
        "not-an-id".into(),
        "0193a5b0-7e1f-7000-8000-00000000000g".into(),
        "a%00b".into(),
    ]
}

/// Values put into a query parameter (already percent-encoded).
fn hostile_query_values() -> Vec<String> {
    vec![
        "%00".into(),
        "%C0%AF".into(),
        "x".repeat(5000),
        "a%1Bb".into(),
        "AAAA".into(),
    ]
}

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let name = reference.rsplit('/').next().unwrap_or_default();
            &doc["components"]["schemas"][name]
        }
        None => schema,
    }
}

/// A value of the right shape for `schema`: every property present, one
/// item per array, formats honoured; strings are `"x"`.
fn sample(doc: &Value, schema: &Value) -> Value {
    let schema = resolve(doc, schema);
    if let Some(first) = schema
        .get("enum")
        .and_then(|e| e.as_array()?.first().cloned())
    {
        return first;
    }
    for combinator in ["oneOf", "anyOf", "allOf"] {
        if let Some(options) = schema.get(combinator).and_then(Value::as_array) {
            let option = options
                .iter()
                .find(|o| o.get("type") != Some(&json!("null")))
                .unwrap_or(&Value::Null);
            return sample(doc, option);
        }
    }
    let kind = match &schema["type"] {
        Value::Array(kinds) => kinds
            .iter()
            .filter_map(Value::as_str)
            .find(|k| *k != "null")
            .unwrap_or("null")
            .to_owned(),
        Value::String(kind) => kind.clone(),
        _ if schema.get("properties").is_some() => "object".into(),
        _ => "null".into(),
    };
    match kind.as_str() {
        "object" => {
            let mut object = Map::new();
            if let Some(properties) = schema["properties"].as_object() {
                for (name, property) in properties {
                    object.insert(name.clone(), sample(doc, property));
                }
            }
            Value::Object(object)
        }
        "array" => json!([sample(doc, &schema["items"])]),
        "integer" | "number" => json!(1),
        "boolean" => json!(false),
        "string" => match schema["format"].as_str() {
            Some("uuid") => json!(uuid::Uuid::now_v7().to_string()),
            Some("date") => json!("2026-01-05"),
            Some("date-time") => json!("2026-01-05T08:00:00Z"),
            Some("email") => json!("someone@example.cn"),
            Some("uri") => json!("https://example.cn/hook"),
            _ => json!("x"),
        },
        _ => Value::Null,
    }
}

/// Every string in `value` with its JSON pointer.
fn string_pointers(value: &Value, pointer: String, out: &mut Vec<String>) {
    match value {
        Value::String(_) => out.push(pointer),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                string_pointers(item, format!("{pointer}/{i}"), out);
            }
        }
        Value::Object(members) => {
            for (name, member) in members {
                string_pointers(member, format!("{pointer}/{name}"), out);
            }
        }
        _ => {}
    }
}

struct Probe {
    method: Method,
    path: String,
    body: Option<Value>,
    what: String,
    /// The parameter whose 422, if any, must name it.
    named: Option<String>,
    /// A hostile id: only 404 (or 401/403/405 before it) is right.
    bad_id: bool,
}

async fn no_parameter_or_field_makes_a_5xx(app: TestApp) {
    let doc: Value = serde_json::from_str(&livecredit::api::openapi_json()).unwrap();
    let mut callers: Vec<(String, Option<String>)> = vec![
        ("anonymous".into(), None),
        ("admin".into(), Some(app.admin_token.clone())),
    ];
    for role in ["regulator", "platform", "auditor"] {
        callers.push((role.into(), Some(app.user_with_role(role).await.1)));
    }

    let mut probes = Vec::new();
    for (template, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let Ok(method) = method.to_uppercase().parse::<Method>() else {
                continue;
            };
            let parameters: Vec<&Value> = operation["parameters"]
                .as_array()
                .map(|p| p.iter().collect())
                .unwrap_or_default();
            let body = operation["requestBody"]["content"]["application/json"]["schema"]
                .as_object()
                .map(|schema| sample(&doc, &Value::Object(schema.clone())));
            let path_with = |name: Option<&str>, value: &str| {
                let mut path = template.clone();
                for p in &parameters {
                    if p["in"] == "path" {
                        let p_name = p["name"].as_str().unwrap();
                        let fill = if Some(p_name) == name {
                            value.to_owned()
                        } else {
                            uuid::Uuid::now_v7().to_string()
                        };
                        path = path.replace(&format!("{{{p_name}}}"), &fill);
                    }
                }
                path
            };
            for p in &parameters {
                let name = p["name"].as_str().unwrap();
                match p["in"].as_str() {
                    Some("path") => {
                        for value in hostile_path_values() {
                            probes.push(Probe {
                                method: method.clone(),
                                path: path_with(Some(name), &value),
                                body: body.clone(),
                                what: format!("{method} {template} path {name}={:.20}", value),
                                named: None,
                                bad_id: true,
                            });
                        }
                    }
                    Some("query") => {
                        for value in hostile_query_values() {
                            probes.push(Probe {
                                method: method.clone(),
                                path: format!("{}?{name}={value}", path_with(None, "")),
                                body: body.clone(),
                                what: format!("{method} {template} query {name}={:.20}", value),
                                named: Some(name.to_owned()),
                                bad_id: false,
                            });
                        }
                    }
                    _ => {}
                }
            }
            if let Some(body) = &body {
                let mut pointers = Vec::new();
                string_pointers(body, String::new(), &mut pointers);
                for pointer in pointers {
                    let mut poisoned = body.clone();
                    if let Some(slot) = poisoned.pointer_mut(&pointer) {
                        *slot = json!("o\u{0}");
                    }
                    probes.push(Probe {
                        method: method.clone(),
                        path: path_with(None, ""),
                        body: Some(poisoned),
                        what: format!("{method} {template} body {pointer}=\"o\\u0000\""),
                        named: None,
                        bad_id: false,
                    });
                }
            }
        }
    }
    assert!(probes.len() > 200, "only {} probes", probes.len());

    let mut failures = Vec::new();
    for (who, token) in &callers {
        for probe in &probes {
            // Logging out would end nothing the walk needs, but is no probe of a parameter.
            let reply = app
                .call(
                    probe.method.clone(),
                    &probe.path,
                    token.as_deref(),
                    probe.body.clone(),
                )
                .await;
            let status = reply.status.as_u16();
            let problem = reply
                .headers
                .get("content-type")
                .is_some_and(|v| v == "application/problem+json");
            let mut wrong = None;
            if status >= 500 {
                wrong = Some("a server error");
            } else if status >= 400 && !problem {
                wrong = Some("an error that is not problem+json");
            } else if probe.bad_id && ![401, 403, 404, 405].contains(&status) {
                wrong = Some("a hostile id answered other than 404");
            } else if probe.body.is_some() && probe.what.contains("body") && status < 400 {
                wrong = Some("a NUL accepted");
            } else if let (422, Some(name)) = (status, &probe.named) {
                let named = reply.body["errors"]
                    .as_array()
                    .is_some_and(|e| e.iter().any(|e| e["field"] == name.as_str()));
                if !named {
                    wrong = Some("a 422 that does not name the parameter");
                }
            }
            if let Some(wrong) = wrong {
                failures.push(format!(
                    "{:?} as {who}: {} → {status}: {wrong}: {}",
                    app.backend,
                    probe.what,
                    reply.body.to_string().chars().take(300).collect::<String>()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} requests went wrong:\n{}",
        failures.len(),
        probes.len() * callers.len(),
        failures.join("\n")
    );
}
both_backends!(
    no_parameter_or_field_makes_a_5xx,
    no_parameter_or_field_makes_a_5xx
);
