//! A Sentry event (an envelope's `event` item, a `/store/` body, the `event` of a Sentry
//! webhook) → an [`ErrorEvent`] borrowing its texts from the parsed JSON.
//!
//! The rules (Sentry's event protocol; Relay and Bugsink read the same way):
//! - The reported exception is the **last** of `exception.values` (causes come first), its type
//!   written as OpenTelemetry records it (Python: `module.Type`); frames come
//!   oldest first (caller first, the crashing frame last). Both are turned around into
//!   [`Segment`]s, normalized as the platform's text parser would normalize them
//!   ([`structured::segment`]), so an OTLP copy of the same bug groups alike. The SDK's `in_app`
//!   flag wins over the runtime's rule.
//! - A readable trace in the platform's own format is rendered for display ([`super::render`]).
//! - Events without an exception (`logentry`, `message`) group on the message **template**
//!   (`logentry.message`, before its parameters were put in); a thread stack they carry is for
//!   display only.
//! - `level` is a severity hint only when it is not the default `error`; `mechanism.handled ==
//!   false` means the exception escaped (uncaught).
//! - The service is the tag `service` or `service.name`, else `contexts.app.app_name`, else the
//!   project; never `server_name`, a host name (kept as `host.name`: per-pod names would split
//!   issues).
//! - `fingerprint` is the client's: `{{ default }}` in it stands for Faultline's own fingerprint.
//! - Kept as attributes: tags, user id and name, logger, platform, sdk, runtime/os/browser
//!   contexts, `server_name`, request headers and body, `extra`. Scrubbing runs on all of them
//!   before anything is spooled; frame `vars` and breadcrumbs are not kept at all.

use std::borrow::Cow;

use crate::event::{ErrorEvent, Source, Text};
use crate::fingerprint::Segment;
use crate::fingerprint::structured::{self, Platform, SourceFrame};
use crate::occurrence::{TraceCache, TraceHint};

use super::json::Json;
use super::{render, trace_key};

/// What an event is mapped with, besides itself.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// Which receiver took it.
    pub source: Source,
    /// The project's name: the service when the event names none.
    pub project: &'a str,
    /// The envelope header's `event_id`, which wins over the payload's.
    pub event_id: Option<&'a str>,
    /// The ingest's trace cache, when rows are built from the event: a trace whose work is
    /// there is not built again ([`TraceHint`]).
    pub traces: Option<&'a TraceCache>,
}

/// `v[key]` as a string.
fn s<'v>(v: &'v Json<'v>, key: &str) -> Option<&'v str> {
    v.get(key).and_then(Json::as_str)
}

/// `v[key]` as a non-empty string.
fn ne<'v>(v: &'v Json<'v>, key: &str) -> Option<&'v str> {
    s(v, key).filter(|t| !t.trim().is_empty())
}

/// A scalar as text (strings as they are, numbers and booleans printed); `None` for null,
/// objects and arrays.
fn scalar<'v>(v: &'v Json<'v>) -> Option<Text<'v>> {
    match v {
        Json::String(t) => Some(Cow::Borrowed(t)),
        Json::Number(n) => Some(Cow::Owned(n.to_string())),
        Json::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
        _ => None,
    }
}

/// Any JSON value as an attribute text: scalars as text, the rest as compact JSON.
fn as_text<'v>(v: &'v Json<'v>) -> Text<'v> {
    scalar(v).unwrap_or_else(|| Cow::Owned(v.to_string()))
}

/// Key/value pairs given as an object or as a list of `[key, value]` pairs (Sentry webhooks send
/// tags and headers as pairs).
fn pairs<'v>(v: Option<&'v Json<'v>>) -> Vec<(&'v str, &'v Json<'v>)> {
    match v {
        Some(Json::Object(m)) => m.iter().map(|(k, v)| (*k, v)).collect(),
        Some(Json::Array(items)) => items
            .iter()
            .filter_map(|p| match p.as_array() {
                Some([k, v, ..]) => Some((k.as_str()?, v)),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// `exception`: `{"values": [...]}`, a bare list, or one exception object; entries with neither
/// `type` nor `value` are left out.
fn exceptions<'v>(ev: &'v Json<'v>) -> Vec<&'v Json<'v>> {
    let list = match ev.get("exception") {
        Some(o @ Json::Object(_)) => match o.get("values") {
            Some(Json::Array(a)) => a.iter().collect(),
            Some(_) => Vec::new(),
            None => vec![ev.get("exception").unwrap_or(&Json::Null)],
        },
        Some(Json::Array(a)) => a.iter().collect(),
        _ => Vec::new(),
    };
    list.into_iter()
        .filter(|e| ne(e, "type").is_some() || ne(e, "value").is_some())
        .collect()
}

/// The frames of a stack trace object (`{"frames": [...]}`), oldest first as sent; frames with
/// neither a file nor a function are left out.
fn frames_of<'v>(stacktrace: Option<&'v Json<'v>>) -> Vec<&'v Json<'v>> {
    stacktrace
        .and_then(|st| st.get("frames"))
        .and_then(Json::as_array)
        .map(|fs| {
            fs.iter()
                .filter(|f| {
                    ne(f, "filename").is_some()
                        || ne(f, "abs_path").is_some()
                        || ne(f, "function").is_some()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A frame as grouping reads it.
fn source_frame<'v>(f: &'v Json<'v>) -> SourceFrame<'v> {
    SourceFrame {
        module: ne(f, "module"),
        function: ne(f, "function"),
        file: ne(f, "abs_path").or_else(|| ne(f, "filename")),
        in_app: f.get("in_app").and_then(Json::as_bool),
    }
}

/// The exception type as the platform's runtime prints it on its exception line (what the text
/// parser of an OTLP copy reads): Python prefixes the module unless it is a builtin or
/// `__main__`; the JVM and .NET print the class with its package.
fn printed_type<'v>(platform: Platform, exc: &'v Json<'v>) -> Option<Text<'v>> {
    let ty = ne(exc, "type")?;
    let module = ne(exc, "module");
    Some(match (platform, module) {
        (Platform::Python, Some(m)) if !matches!(m, "builtins" | "__main__" | "exceptions") => {
            Cow::Owned(format!("{m}.{ty}"))
        }
        (Platform::Jvm | Platform::DotNet, Some(m)) if !ty.contains('.') => {
            Cow::Owned(format!("{m}.{ty}"))
        }
        _ => Cow::Borrowed(ty),
    })
}

/// The exception type as OpenTelemetry records it (`exception.type`), so both copies of a bug
/// group alike: OpenTelemetry Python records `module.QualName` unless the module is `builtins`
/// (`__main__` included); elsewhere Sentry's `type` is what the OTel SDK records too.
fn recorded_type<'v>(platform: Platform, exc: &'v Json<'v>) -> Text<'v> {
    let ty = ne(exc, "type").unwrap_or("");
    match (platform, ne(exc, "module")) {
        (Platform::Python, Some(m))
            if !ty.is_empty() && !matches!(m, "builtins" | "exceptions") =>
        {
            Cow::Owned(format!("{m}.{ty}"))
        }
        _ => Cow::Borrowed(ty),
    }
}

/// Whether the SDK marked the exception synthetic (its type carries no meaning).
fn synthetic(exc: &Json<'_>) -> bool {
    exc.pointer("/mechanism/synthetic").and_then(Json::as_bool) == Some(true)
}

/// `timestamp`: RFC 3339 text or seconds since the epoch (a float); 0 when absent.
pub(crate) fn timestamp(ev: &Json<'_>) -> Result<u32, String> {
    match ev.get("timestamp") {
        None | Some(Json::Null) => Ok(0),
        Some(Json::Number(n)) => {
            let secs = n.as_f64().unwrap_or(-1.0);
            if (0.0..=u32::MAX as f64).contains(&secs) {
                Ok(secs as u32)
            } else {
                Err(format!("field `timestamp`: {n} is out of range"))
            }
        }
        Some(Json::String(t)) => {
            let t = t.trim();
            if let Ok(secs) = t.parse::<f64>() {
                return Ok(secs.clamp(0.0, u32::MAX as f64) as u32);
            }
            let rfc3339 = &time::format_description::well_known::Rfc3339;
            // Sentry SDKs also send naive UTC times (`2026-12-06T04:33:53.833810`).
            let parsed = time::OffsetDateTime::parse(t, rfc3339)
                .or_else(|_| time::OffsetDateTime::parse(&format!("{t}Z"), rfc3339))
                .map_err(|e| format!("field `timestamp`: {t:?} is not an RFC 3339 time ({e})"))?;
            u32::try_from(parsed.unix_timestamp())
                .map_err(|_| format!("field `timestamp`: {t:?} is out of range"))
        }
        Some(other) => Err(format!(
            "field `timestamp`: {other} is neither a number nor a text"
        )),
    }
}

/// An event id as stored: 32 lowercase hex digits (dashes dropped); a new one when the client's
/// is missing or malformed.
pub fn event_id(given: Option<&str>) -> String {
    given
        .map(|id| id.trim().replace('-', "").to_ascii_lowercase())
        .filter(|id| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()))
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string())
}

/// `level` as a severity hint: `None` for the default `error` (so HTTP status and escaping
/// decide), else the level (Python's numeric levels accepted).
fn severity_hint<'v>(ev: &'v Json<'v>) -> Option<Text<'v>> {
    let level = match ev.get("level")? {
        Json::String(l) => l.trim().to_ascii_lowercase(),
        Json::Number(n) => match n.as_u64()? {
            50.. => "fatal".into(),
            40..=49 => "error".into(),
            30..=39 => "warning".into(),
            20..=29 => "info".into(),
            _ => "debug".into(),
        },
        _ => return None,
    };
    match level.as_str() {
        "error" | "" => None,
        "fatal" | "critical" => Some("critical".into()),
        "warning" | "warn" => Some("warning".into()),
        "info" | "log" | "debug" => Some("info".into()),
        other => Some(Cow::Owned(other.to_string())),
    }
}

/// The message of an event without an exception, and its template when the SDK sent one:
/// `logentry` (`formatted`, else `message` with its `params` put in), else `message` (text, or
/// the same object).
fn log_message<'v>(ev: &'v Json<'v>) -> (Text<'v>, Option<Text<'v>>) {
    let entry = ev
        .get("logentry")
        .filter(|e| e.is_object())
        .or_else(|| ev.get("message").filter(|m| m.is_object()));
    if let Some(entry) = entry {
        let template = ne(entry, "message");
        let formatted = ne(entry, "formatted")
            .map(Cow::Borrowed)
            .or_else(|| template.map(|t| interpolate(t, entry.get("params"))));
        if let Some(formatted) = formatted {
            return (formatted, template.map(Cow::Borrowed));
        }
    }
    let plain = ne(ev, "message").unwrap_or("");
    (Cow::Borrowed(plain), None)
}

/// `%s`-style (Python logging) or `{}`/`{name}`-style parameters put into a template.
fn interpolate<'v>(template: &'v str, params: Option<&Json<'_>>) -> Text<'v> {
    let list: Vec<Text<'_>> = match params {
        Some(Json::Array(a)) => a.iter().map(as_text).collect(),
        Some(Json::Object(m)) => {
            let mut out = template.to_string();
            for (k, v) in *m {
                out = out.replace(&format!("{{{k}}}"), &as_text(v));
                out = out.replace(&format!("%({k})s"), &as_text(v));
            }
            return Cow::Owned(out);
        }
        _ => return Cow::Borrowed(template),
    };
    let mut out = String::with_capacity(template.len());
    let mut next = list.iter();
    let mut rest = template;
    while let Some(i) = rest.find(['%', '{']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let spec = ["%s", "%d", "%r", "%i", "%f", "{}"]
            .into_iter()
            .find(|p| tail.starts_with(p));
        match (spec, tail.starts_with("%%")) {
            (_, true) => {
                out.push('%');
                rest = &tail[2..];
            }
            (Some(p), _) => {
                match next.next() {
                    Some(v) => out.push_str(v),
                    None => out.push_str(p),
                }
                rest = &tail[p.len()..];
            }
            (None, _) => {
                out.push_str(&tail[..1]);
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// `request.url` with its query string (text, object, or pairs) when the URL has none.
fn url<'v>(request: &'v Json<'v>) -> Text<'v> {
    let base = s(request, "url").unwrap_or("");
    let query: Text<'_> = match request.get("query_string") {
        Some(Json::String(q)) => Cow::Borrowed(q.trim_start_matches('?')),
        q @ Some(Json::Object(_) | Json::Array(_)) => Cow::Owned(
            pairs(q)
                .into_iter()
                .map(|(k, v)| format!("{k}={}", as_text(v)))
                .collect::<Vec<_>>()
                .join("&"),
        ),
        _ => Cow::Borrowed(""),
    };
    if query.is_empty() || base.contains('?') {
        Cow::Borrowed(base)
    } else {
        Cow::Owned(format!("{base}?{query}"))
    }
}

/// A hex id of `len` digits, or empty.
fn hex_id(v: Option<&str>, len: usize) -> &str {
    v.filter(|t| t.len() == len && t.bytes().all(|b| b.is_ascii_hexdigit()))
        .unwrap_or("")
}

/// The client's fingerprint: its parts joined with ` ⋄ ` (a lone `{{ default }}` is no client
/// fingerprint at all; `{{ default }}` among other parts stands for Faultline's own).
fn client_fingerprint<'v>(ev: &'v Json<'v>) -> Option<Text<'v>> {
    let parts: Vec<Text<'_>> = ev
        .get("fingerprint")?
        .as_array()?
        .iter()
        .filter_map(scalar)
        .collect();
    let only_default = parts.iter().all(|p| {
        let p: &str = p;
        matches!(p.trim(), "{{ default }}" | "{{default}}")
    });
    if only_default {
        return None;
    }
    Some(Cow::Owned(
        parts
            .iter()
            .map(|p| match p.trim() {
                "{{default}}" => "{{ default }}",
                other => other,
            })
            .collect::<Vec<_>>()
            .join(" ⋄ "),
    ))
}

/// A short digest of personal data (user e-mail, IP): tells users apart without storing who
/// they are.
fn digest(text: &str) -> String {
    use sha2::{Digest, Sha256};
    const_hex::encode(&Sha256::digest(text.as_bytes())[..8])
}

/// The service of an event (or transaction): the tag `service` or `service.name`, else
/// `contexts.app.app_name`, else the project; never `server_name`.
pub(crate) fn service<'v>(ev: &'v Json<'v>, project: &'v str) -> Text<'v> {
    service_of(ev, &pairs(ev.get("tags")), project)
}

/// [`service`], the event's tags already read.
fn service_of<'v>(
    ev: &'v Json<'v>,
    tags: &[(&'v str, &'v Json<'v>)],
    project: &'v str,
) -> Text<'v> {
    let tag = |name: &str| {
        tags.iter()
            .find(|(k, _)| *k == name)
            .and_then(|(_, v)| scalar(v))
            .filter(|t| !t.trim().is_empty())
    };
    tag("service")
        .or_else(|| tag("service.name"))
        .or_else(|| ne(&ev["contexts"]["app"], "app_name").map(Cow::Borrowed))
        .unwrap_or(Cow::Borrowed(project))
}

/// Maps one Sentry event. Fails only on an unusable `timestamp`.
pub fn to_event<'v>(ev: &'v Json<'v>, ctx: Context<'v>) -> Result<ErrorEvent<'v>, String> {
    if !ev.is_object() {
        return Err("an event must be a JSON object".into());
    }
    let platform_name = ne(ev, "platform").unwrap_or("other");
    let platform = Platform::from_name(platform_name);
    let values = exceptions(ev);
    let tags = pairs(ev.get("tags"));
    let tag = |name: &str| {
        tags.iter()
            .find(|(k, _)| *k == name)
            .and_then(|(_, v)| scalar(v))
            .filter(|t| !t.trim().is_empty())
    };
    let contexts = ev.get("contexts").unwrap_or(&Json::Null);
    let request = ev.get("request").unwrap_or(&Json::Null);
    let mut attributes: Vec<(Text<'v>, Text<'v>)> = Vec::new();
    let mut attr = |k: &'v str, v: Option<Text<'v>>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            attributes.push((Cow::Borrowed(k), v));
        }
    };

    let service = service_of(ev, &tags, ctx.project);

    // What was reported, its trace, and how it groups.
    let (exception_type, message, template, stacktrace, frames, escaped, mechanism, trace_hint);
    if let Some(reported) = values.last().copied() {
        exception_type = if synthetic(reported) {
            Cow::Borrowed("")
        } else {
            recorded_type(platform, reported)
        };
        message = Cow::Borrowed(s(reported, "value").unwrap_or(""));
        template = None;
        // A known trace whose work groups without the message needs neither text nor frames.
        trace_hint = ctx.traces.map_or(TraceHint::Unknown, |cache| {
            let key = trace_key::key(
                ctx.project,
                &service,
                &exception_type,
                platform_name,
                &values,
            );
            cache.get(key).map_or(TraceHint::Key(key), TraceHint::Found)
        });
        match &trace_hint {
            TraceHint::Found(work) if work.groups_alone() => {
                stacktrace = Cow::Borrowed("");
                frames = Vec::new();
            }
            _ => {
                let chain: Vec<render::Exception<'v>> = values
                    .iter()
                    .map(|e| render::Exception {
                        printed_type: if synthetic(e) {
                            None
                        } else {
                            printed_type(platform, e)
                        },
                        value: s(e, "value").unwrap_or(""),
                        frames: frames_of(e.get("stacktrace")),
                    })
                    .collect();
                stacktrace = Cow::Owned(render::trace(platform, &chain));
                frames = chain
                    .iter()
                    .rev()
                    .map(|e| {
                        let sources: Vec<SourceFrame<'v>> =
                            e.frames.iter().map(|f| source_frame(f)).collect();
                        let mut seg = structured::segment(platform, None, &sources);
                        seg.exception_type = e.printed_type.clone();
                        seg
                    })
                    .collect::<Vec<Segment<'v>>>();
            }
        }
        escaped = reported
            .pointer("/mechanism/handled")
            .and_then(Json::as_bool)
            == Some(false);
        mechanism = reported.pointer("/mechanism/type").and_then(Json::as_str);
        attr(
            "exception.module",
            ne(reported, "module").map(Cow::Borrowed),
        );
    } else {
        let (text, tmpl) = log_message(ev);
        exception_type = Cow::Borrowed("");
        message = text;
        template = tmpl;
        // A stack attached to a message (`attach_stacktrace`) is shown, not grouped on: an
        // empty chain of frames tells grouping so.
        let thread = ev
            .pointer("/threads/values")
            .and_then(Json::as_array)
            .and_then(|ts| {
                ts.iter()
                    .find(|t| t.get("current").and_then(Json::as_bool) == Some(true))
                    .or(ts.first())
            })
            .and_then(|t| t.get("stacktrace"))
            .or_else(|| ev.get("stacktrace"));
        let chain = [render::Exception {
            printed_type: None,
            value: &message,
            frames: frames_of(thread),
        }];
        stacktrace = if chain[0].frames.is_empty() {
            Cow::Borrowed("")
        } else {
            Cow::Owned(render::trace(platform, &chain))
        };
        frames = vec![Segment::default()];
        escaped = false;
        mechanism = None;
        trace_hint = TraceHint::Unknown;
    }
    attr("mechanism.type", mechanism.map(Cow::Borrowed));

    let transaction = ne(ev, "transaction");
    let source = ev
        .pointer("/transaction_info/source")
        .and_then(Json::as_str);
    let http_route = match (transaction, source) {
        (Some(t), Some("route")) => Cow::Borrowed(t),
        _ => tag("http.route").unwrap_or_default(),
    };
    let status = tag("http.status_code")
        .and_then(|t| t.trim().parse::<u16>().ok())
        .or_else(|| {
            contexts
                .pointer("/response/status_code")
                .and_then(Json::as_u64)
                .and_then(|n| u16::try_from(n).ok())
        });
    let has_request = request.is_object();
    let http_status = match status {
        Some(code) => code,
        // An uncaught exception in a web request became that request's 500.
        None if escaped && has_request => {
            attr("http.status_inferred", Some(Cow::Borrowed("true")));
            500
        }
        None => 0,
    };

    attr("logger", ne(ev, "logger").map(Cow::Borrowed));
    attr("platform", ne(ev, "platform").map(Cow::Borrowed));
    attr("host.name", ne(ev, "server_name").map(Cow::Borrowed));
    attr("dist", ne(ev, "dist").map(Cow::Borrowed));
    attr("transaction", transaction.map(Cow::Borrowed));
    attr("sdk.name", ne(&ev["sdk"], "name").map(Cow::Borrowed));
    attr("sdk.version", ne(&ev["sdk"], "version").map(Cow::Borrowed));
    let user = ev.get("user").unwrap_or(&Json::Null);
    attr("user.id", user.get("id").and_then(scalar));
    attr("user.username", ne(user, "username").map(Cow::Borrowed));
    attr(
        "user.email_hash",
        ne(user, "email").map(|e| digest(e).into()),
    );
    attr(
        "user.ip_hash",
        ne(user, "ip_address").map(|e| digest(e).into()),
    );
    for (name, keys) in [
        (
            "runtime",
            [
                ("name", "context.runtime.name"),
                ("version", "context.runtime.version"),
            ],
        ),
        (
            "os",
            [
                ("name", "context.os.name"),
                ("version", "context.os.version"),
            ],
        ),
        (
            "browser",
            [
                ("name", "context.browser.name"),
                ("version", "context.browser.version"),
            ],
        ),
    ] {
        for (key, attribute) in keys {
            if let Some(v) = contexts.get(name).and_then(|c| c.get(key)).and_then(scalar) {
                attributes.push((Cow::Borrowed(attribute), v));
            }
        }
    }
    for (k, v) in &tags {
        if let Some(v) = scalar(v) {
            attributes.push((Cow::Borrowed(*k), v));
        }
    }
    for (k, v) in pairs(request.get("headers")) {
        let mut name = prefixed("http.request.header.", k);
        name.make_ascii_lowercase();
        attributes.push((name.into(), as_text(v)));
    }
    for (key, name) in [
        ("cookies", "http.request.cookies"),
        ("data", "http.request.data"),
        ("env", "http.request.env"),
    ] {
        if let Some(v) = request.get(key).filter(|v| !v.is_null()) {
            attributes.push((Cow::Borrowed(name), as_text(v)));
        }
    }
    for (k, v) in pairs(ev.get("extra")) {
        attributes.push((prefixed("extra.", k).into(), as_text(v)));
    }

    Ok(ErrorEvent {
        event_id: Cow::Owned(event_id(ctx.event_id.or_else(|| ne(ev, "event_id")))),
        timestamp: timestamp(ev)?,
        source: Some(ctx.source),
        service,
        environment: Cow::Borrowed(ne(ev, "environment").unwrap_or("")),
        release: Cow::Borrowed(ne(ev, "release").unwrap_or("")),
        exception_type,
        message,
        message_template: template,
        stacktrace,
        frames,
        escaped,
        http_status,
        http_method: Cow::Borrowed(ne(request, "method").unwrap_or("")),
        http_route,
        url: url(request),
        trace_id: Cow::Borrowed(hex_id(ne(&contexts["trace"], "trace_id"), 32)),
        span_id: Cow::Borrowed(hex_id(ne(&contexts["trace"], "span_id"), 16)),
        severity_hint: severity_hint(ev),
        client_fingerprint: client_fingerprint(ev),
        attributes,
        trace_hint,
    })
}

/// `prefix` then `name`, as one text (an attribute's name).
fn prefixed(prefix: &str, name: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + name.len());
    out.push_str(prefix);
    out.push_str(name);
    out
}

#[cfg(test)]
mod tests;
