//! How an example ends: like a command-line tool. On success, status 0; on error, the
//! error's `Display` on stderr (`error: ...`, and on a second line the root cause when the
//! message does not already say it) and status 1. Never a `Debug` dump, which is what
//! `fn main() -> Result<..>` would print.

use std::io::Write;
use std::process::ExitCode;

/// An example's outcome.
pub type Outcome = Result<(), Box<dyn std::error::Error>>;

/// Writes `error` for a person: its `Display`, then its innermost cause when that adds
/// something (a refused connection hides two levels down in reqwest's sources).
pub fn report(error: &(dyn std::error::Error + 'static), err: &mut dyn Write) {
    let shown = error.to_string();
    let _ = writeln!(err, "error: {shown}");
    let mut root = error.source();
    while let Some(next) = root.and_then(|e| e.source()) {
        root = Some(next);
    }
    if let Some(cause) = root.map(|c| c.to_string())
        && !cause.is_empty()
        && !shown.contains(&cause)
    {
        let _ = writeln!(err, "caused by: {cause}");
    }
}

/// The exit status of `outcome`: 0, or 1 after [`report`]ing the error to `err`.
pub fn status(outcome: Outcome, err: &mut dyn Write) -> u8 {
    match outcome {
        Ok(()) => 0,
        Err(e) => {
            report(&*e, err);
            1
        }
    }
}

/// [`status`] on the process's stderr, as the process's exit code.
pub fn exit(outcome: Outcome) -> ExitCode {
    ExitCode::from(status(outcome, &mut std::io::stderr().lock()))
}
