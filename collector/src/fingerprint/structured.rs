//! Frames sent as data (Sentry events, OpenTelemetry SDKs that send frames) → the same
//! [`Frame`]s the text parsers produce, normalized as the text parser of the frame's runtime
//! would normalize them, so one bug groups into one issue whether its trace arrived as text or
//! as frames.

use std::borrow::Cow;

use super::text::basename_module;
use super::{Frame, Segment, go, in_app, javascript, jvm, ruby};

/// The runtime a frame comes from: it decides how names are normalized and, when the client did
/// not say, which frames are in-app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// CPython.
    Python,
    /// Java, Kotlin, Scala.
    Jvm,
    /// C#, F#.
    DotNet,
    /// Node.js and browsers.
    JavaScript,
    /// Go.
    Go,
    /// PHP.
    Php,
    /// Ruby.
    Ruby,
    /// Rust.
    Rust,
    /// Anything else: names kept as sent.
    Other,
}

impl Platform {
    /// From a Sentry event's `platform` (or an SDK's language name); unknown names are
    /// [`Platform::Other`].
    pub fn from_name(name: &str) -> Self {
        match name.trim().to_ascii_lowercase().as_str() {
            "python" => Platform::Python,
            "java" | "kotlin" | "scala" | "groovy" | "clojure" | "jvm" => Platform::Jvm,
            "csharp" | "dotnet" | ".net" | "fsharp" => Platform::DotNet,
            "javascript" | "node" | "nodejs" | "typescript" => Platform::JavaScript,
            "go" | "golang" => Platform::Go,
            "php" => Platform::Php,
            "ruby" => Platform::Ruby,
            "rust" => Platform::Rust,
            _ => Platform::Other,
        }
    }
}

/// One frame as a client sends it. Every part is optional, as in Sentry's protocol.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SourceFrame<'a> {
    /// Module, package or class (`app.views`, `com.shop.Cart`, `github.com/x/pkg`).
    pub module: Option<&'a str>,
    /// Function or method.
    pub function: Option<&'a str>,
    /// File path (absolute when known).
    pub file: Option<&'a str>,
    /// Whether the client marked the frame as the application's own; decided by the runtime's
    /// rule when absent.
    pub in_app: Option<bool>,
}

/// One exception's frames, given in calling order (outermost first, the crashing frame last, as
/// Sentry sends them) → a [`Segment`] with frames innermost first.
pub fn segment<'a>(
    platform: Platform,
    exception_type: Option<&'a str>,
    frames: &[SourceFrame<'a>],
) -> Segment<'a> {
    Segment {
        exception_type: exception_type.map(Cow::Borrowed),
        frames: frames.iter().rev().map(|f| frame(platform, f)).collect(),
    }
}

/// `module.function` as one owned symbol (JVM, .NET, Go print them joined).
fn joined(module: &str, function: &str) -> String {
    if module.is_empty() {
        function.to_string()
    } else {
        format!("{module}.{function}")
    }
}

fn owned(c: Cow<'_, str>) -> Cow<'static, str> {
    Cow::Owned(c.into_owned())
}

/// One frame, normalized for `platform`.
pub fn frame<'a>(platform: Platform, f: &SourceFrame<'a>) -> Frame<'a> {
    let module = f.module.unwrap_or("");
    let function = f.function.unwrap_or("");
    let file = f.file.unwrap_or("");
    // The module grouping uses for file-based runtimes: the file's basename, else the last part
    // of the dotted module.
    let file_module = || -> &'a str {
        if file.is_empty() {
            module.rsplit(['.', '/', '\\']).next().unwrap_or(module)
        } else {
            basename_module(file)
        }
    };
    let mut out = match platform {
        Platform::Python => Frame {
            module: Cow::Borrowed(file_module()),
            function: Cow::Borrowed(function),
            in_app: in_app::python(file),
            anonymous: false,
        },
        Platform::JavaScript => {
            // Sentry's stack parser writes V8's `<anonymous>` as `?` (`Object.<anonymous>` →
            // `Object.?`); V8 itself prints a nameless function without a name, never `X.?`.
            let renamed = function
                .strip_suffix(".?")
                .map(|receiver| format!("{receiver}.<anonymous>"));
            let mut fr = match &renamed {
                Some(name) => {
                    let f = javascript::frame(name, file);
                    Frame {
                        module: owned(f.module),
                        function: owned(f.function),
                        in_app: f.in_app,
                        anonymous: f.anonymous,
                    }
                }
                None => javascript::frame(function, file),
            };
            if file.is_empty() {
                fr.module = Cow::Borrowed(file_module());
            }
            fr
        }
        Platform::Php => Frame {
            module: Cow::Borrowed(file_module()),
            function: Cow::Borrowed(function),
            in_app: in_app::php(file),
            anonymous: false,
        },
        Platform::Ruby => Frame {
            module: Cow::Borrowed(file_module()),
            function: ruby::normalize_function(function),
            in_app: in_app::ruby(file),
            anonymous: false,
        },
        Platform::Jvm | Platform::DotNet => {
            let sym = joined(module, function);
            let (m, func) = jvm::normalize_symbol(&sym);
            Frame {
                in_app: in_app::jvm_or_dotnet(&sym, file),
                module: owned(m),
                function: owned(func),
                anonymous: false,
            }
        }
        Platform::Go => {
            let sym = joined(module, function);
            let (m, func) = go::normalize_func(&sym);
            Frame {
                in_app: in_app::go(&sym, file),
                anonymous: go::is_closure(&sym),
                module: Cow::Owned(m.to_string()),
                function: owned(func),
            }
        }
        Platform::Rust => {
            let sym = if module.is_empty() || function.starts_with(module) {
                function.to_string()
            } else {
                format!("{module}::{function}")
            };
            let (m, func) = match sym.rfind("::") {
                Some(p) if !sym.ends_with('>') => (sym[..p].to_string(), sym[p + 2..].to_string()),
                _ => (String::new(), sym.clone()),
            };
            Frame {
                in_app: in_app::rust(&sym, file),
                module: Cow::Owned(m),
                function: Cow::Owned(func),
                anonymous: false,
            }
        }
        Platform::Other => Frame {
            module: Cow::Borrowed(if module.is_empty() {
                basename_module(file)
            } else {
                module
            }),
            function: Cow::Borrowed(function),
            in_app: true,
            anonymous: false,
        },
    };
    if out.function.is_empty() {
        out.function = Cow::Borrowed("?");
    }
    if let Some(in_app) = f.in_app {
        out.in_app = in_app;
    }
    out
}
