#![no_main]
//! Fuzz target: `faultline_collector::fuzz_entry::otlp_protobuf`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    faultline_collector::fuzz_entry::otlp_protobuf(data);
});
