#![no_main]
//! Fuzz target: `faultline_collector::fuzz_entry::webhook_json`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    faultline_collector::fuzz_entry::webhook_json(data);
});
