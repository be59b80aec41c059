//! In-app detection: which frames are the application's own code rather than the runtime, the
//! standard library or a dependency. One rule per runtime, from the file path or symbol each
//! format prints, then the project's own overrides (`in_app_include` / `in_app_exclude`).
//! Grouping hashes only the in-app frames of the root cause when there are any.

use super::Segment;
use super::rules::GroupingConfig;
use super::text::{has, starts_with_any};

/// Python: not the interpreter's library (`/lib/pythonX.Y/`), not installed packages (whatever
/// the virtualenv's prefix), not vendored ones (`vendor/`, `__pypackages__/`), not `<frozen …>`
/// or `<string>`.
pub(super) fn python(path: &str) -> bool {
    !(has(path, needle!("site-packages"))
        || has(path, needle!("dist-packages"))
        || has(path, needle!("/vendor/"))
        || has(path, needle!("/__pypackages__/"))
        || path.starts_with('<')
        || (has(path, needle!("/lib/python")) && re!(r"/lib/python\d(\.\d+)?/").is_match(path)))
}

/// Go: not the runtime, not the module cache, not the toolchain's sources, not `testing`.
pub(super) fn go(func: &str, path: &str) -> bool {
    !(func.starts_with("runtime.")
        || func.starts_with("runtime/")
        || func == "panic"
        || func.starts_with("testing.")
        || has(path, needle!("/src/runtime/"))
        || has(path, needle!("/pkg/mod/"))
        || has(path, needle!("/vendor/"))
        || (has(path, needle!("/go")) && re!(r"/(usr/lib|usr/local)/go[^/]*/src/").is_match(path))
        || path.starts_with("/usr/local/go/"))
}

/// Rust: not std/core/alloc, not the async and web stack, not the registry's sources.
pub(super) fn rust(sym: &str, path: &str) -> bool {
    const LIBS: &[&str] = &[
        "std::",
        "core::",
        "alloc::",
        "<std::",
        "<core::",
        "<alloc::",
        "tokio::",
        "<tokio::",
        "futures",
        "backtrace::",
        "anyhow::",
        "<anyhow::",
        "eyre::",
        "__rust",
        "rust_begin_unwind",
        "rust_panic",
        "hyper::",
        "tower::",
        "axum::",
        "tracing::",
        "start_thread",
        "clone3",
        "__libc",
        "_start",
        "main\n",
    ];
    !(starts_with_any(sym, LIBS)
        || path.starts_with("/rustc/")
        || has(path, needle!("/.cargo/registry/"))
        || has(path, needle!("/rustlib/")))
}

/// PHP `getTraceAsString()`: a file outside Composer's `vendor/` (internal functions have none).
pub(super) fn php(path: &str) -> bool {
    !path.is_empty() && !has(path, needle!("/vendor/"))
}

/// Ruby: not gems, not the standard library, not `<internal:…>`.
pub(super) fn ruby(path: &str) -> bool {
    !(has(path, needle!("/gems/"))
        || has(path, needle!("/rubygems"))
        || path.starts_with("<internal:")
        || (has(path, needle!("/lib/ruby/")) && re!(r"/lib/ruby/\d").is_match(path))
        || has(path, needle!("/vendor/bundle/")))
}

/// JavaScript: a file path (not `node:`/`internal/` or `<anonymous>`) outside `node_modules`.
pub(super) fn javascript(location: &str) -> bool {
    !(has(location, needle!("node_modules"))
        || location.starts_with("node:")
        || location.starts_with("internal/")
        || !location.contains(['/', '\\'])
        || has(location, needle!("<anonymous>")))
}

/// Packages of the JVM's runtime and common libraries.
const JVM_LIBS: &[&str] = &[
    "java.",
    "javax.",
    "jdk.",
    "sun.",
    "com.sun.",
    "kotlin.",
    "kotlinx.",
    "scala.",
    "org.springframework.",
    "org.apache.",
    "io.netty.",
    "org.hibernate.",
    "com.fasterxml.",
    "org.eclipse.jetty.",
    "io.grpc.",
    "reactor.",
    "okhttp3.",
    "io.micrometer.",
    "io.opentelemetry.",
    "org.junit.",
    "org.postgresql.",
    "com.mysql.",
    "com.zaxxer.",
    "org.glassfish.",
    "io.undertow.",
    "org.slf4j.",
    "ch.qos.",
    "com.google.",
    "io.vertx.",
    "akka.",
];

/// Namespaces of .NET's base library and common packages.
const DOTNET_LIBS: &[&str] = &["System.", "Microsoft.", "Npgsql.", "Newtonsoft."];

/// JVM and .NET `at` frames: a symbol outside the runtimes' and common libraries' packages, not
/// native, not PHP's `DateTime` classes (OpenTelemetry-PHP prints `at` frames too).
pub(super) fn jvm_or_dotnet(sym: &str, location: &str) -> bool {
    !(starts_with_any(sym, JVM_LIBS)
        || starts_with_any(sym, DOTNET_LIBS)
        || has(location, needle!("Native Method"))
        || sym.starts_with("DateTime"))
}

/// The project's overrides: a module starting with an `in_app_include` prefix is in-app, one
/// starting with an `in_app_exclude` prefix is not (exclude wins).
pub(super) fn apply_overrides(config: &GroupingConfig, segments: &mut [Segment<'_>]) {
    if config.in_app_include.is_empty() && config.in_app_exclude.is_empty() {
        return;
    }
    for f in segments.iter_mut().flat_map(|s| s.frames.iter_mut()) {
        if config
            .in_app_include
            .iter()
            .any(|p| f.module.starts_with(p.as_str()))
        {
            f.in_app = true;
        }
        if config
            .in_app_exclude
            .iter()
            .any(|p| f.module.starts_with(p.as_str()))
        {
            f.in_app = false;
        }
    }
}
