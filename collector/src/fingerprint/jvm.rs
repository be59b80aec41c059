//! JVM symbols (Java, Kotlin, Scala; .NET's share the shape): `pkg.Class.method` split into
//! module and function, with generated names made stable — CGLIB enhancer suffixes, dynamic
//! proxies' numbers, reflection accessors' numbers, lambda numbers and anonymous classes' `$1`.

use std::borrow::Cow;

use super::dotnet;
use super::text::has;

/// `pkg.Class.method` → (`pkg.Class`, `method`), generated parts normalized.
pub(super) fn normalize_symbol(sym: &str) -> (Cow<'_, str>, Cow<'_, str>) {
    let mut sym = Cow::Borrowed(sym);
    if has(&sym, needle!("$$")) {
        sym = re!(r"\$\$(EnhancerBySpringCGLIB|FastClassBySpringCGLIB|SpringCGLIB)\$\$[0-9a-f]+")
            .replace_all(&sym, "")
            .into_owned()
            .into();
    }
    if has(&sym, needle!("$Proxy")) {
        sym = re!(r"\$Proxy\d+")
            .replace_all(&sym, "$$Proxy")
            .into_owned()
            .into();
    }
    if has(&sym, needle!("GeneratedMethodAccessor")) {
        sym = re!(r"GeneratedMethodAccessor\d+")
            .replace_all(&sym, "GeneratedMethodAccessor")
            .into_owned()
            .into();
    }
    if has(&sym, needle!("lambda$")) {
        sym = re!(r"lambda\$([\w]+)\$\d+")
            .replace_all(&sym, "lambda$$$1")
            .into_owned()
            .into();
    }
    if sym
        .as_bytes()
        .windows(2)
        .any(|w| w[0] == b'$' && w[1].is_ascii_digit())
    {
        sym = re!(r"\$\d+")
            .replace_all(&sym, "$$anon")
            .into_owned()
            .into();
    }
    dotnet::strip_generic_arguments(&mut sym);
    match sym {
        Cow::Borrowed(s) => match s.rfind('.') {
            Some(p) => (Cow::Borrowed(&s[..p]), Cow::Borrowed(&s[p + 1..])),
            None => (Cow::Borrowed(""), Cow::Borrowed(s)),
        },
        Cow::Owned(s) => match s.rfind('.') {
            Some(p) => (
                Cow::Owned(s[..p].to_string()),
                Cow::Owned(s[p + 1..].to_string()),
            ),
            None => (Cow::Borrowed(""), Cow::Owned(s)),
        },
    }
}
