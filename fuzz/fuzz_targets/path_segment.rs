#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| openai_sdk_fuzz::path_segment::check(data));
