#![no_main]
//! Fuzz target: `faultline_collector::fuzz_entry::sentry_envelope`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    faultline_collector::fuzz_entry::sentry_envelope(data);
});
