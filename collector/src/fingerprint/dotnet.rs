//! .NET symbols. Frames are printed as `at Namespace.Class.Method(args) in file:line` and read
//! with the JVM's (see [`super::at_frames`], [`super::jvm`]); what is .NET's own is here.

use std::borrow::Cow;

/// Drops bracketed generic arguments (`List`1[T]`, `Method[T](...)`), which name the
/// instantiation rather than the code.
pub(super) fn strip_generic_arguments(sym: &mut Cow<'_, str>) {
    if sym.contains('[') {
        *sym = re!(r"\[[^\]]*\]").replace_all(sym, "").into_owned().into();
    }
}
