#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| openai_sdk_fuzz::retry_headers::check(data));
