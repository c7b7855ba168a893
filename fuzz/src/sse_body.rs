//! Rendering generated events as an SSE body, the way the API sends them.

/// `frames` as SSE events: an `event:` line when a name is given, then the `data:` line,
/// then a blank line; CRLF or LF line ends. With `extras`, every event also gets an `id:`
/// line and a comment line before it (both must be ignored by the pipelines).
pub fn render(frames: &[(Option<&str>, &str)], crlf: bool, extras: bool) -> Vec<u8> {
    let eol: &[u8] = if crlf { b"\r\n" } else { b"\n" };
    let mut body = Vec::new();
    for (n, (name, data)) in frames.iter().enumerate() {
        if extras {
            body.extend_from_slice(b": keep-alive");
            body.extend_from_slice(eol);
            body.extend_from_slice(format!("id: {n}").as_bytes());
            body.extend_from_slice(eol);
        }
        if let Some(name) = name {
            body.extend_from_slice(b"event: ");
            body.extend_from_slice(name.as_bytes());
            body.extend_from_slice(eol);
        }
        body.extend_from_slice(b"data: ");
        body.extend_from_slice(data.as_bytes());
        body.extend_from_slice(eol);
        body.extend_from_slice(eol);
    }
    body
}
