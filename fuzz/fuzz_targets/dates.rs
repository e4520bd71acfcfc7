#![no_main]
//! See `feedloom_fuzz::fuzz_dates` (fuzz/src/lib.rs) for what this target drives.

libfuzzer_sys::fuzz_target!(|data: &[u8]| feedloom_fuzz::fuzz_dates(data));
