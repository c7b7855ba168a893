//! Lists the models the API offers.
//!
//! With `OPENAI_API_KEY` set it asks the real API (or `OPENAI_BASE_URL`). Without it, it
//! runs offline against the SDK's scripted loopback server (`openai_sdk::testing`), which
//! answers with a bundled sample of the models list.
//!
//!     cargo run --example models
//!
//! An error is printed to stderr as one or two lines (`error: ...`), with exit status 1.

use std::io::Write;
use std::process::ExitCode;

use openai_sdk::testing::Reply;
use openai_sdk::Client;

#[path = "support/cli.rs"]
mod cli;
#[path = "support/live.rs"]
mod live;

#[tokio::main]
async fn main() -> ExitCode {
    cli::exit(run().await)
}

async fn run() -> cli::Outcome {
    let live::ExampleClient { client, _server } = live::client("a bundled sample", |server| {
        server.get("/v1/models").respond(Reply::json_file(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/models_list.json"
        )));
    })
    .await?;
    list_models(&client, &mut std::io::stdout()).await
}

/// Writes one line per model, then the count.
pub async fn list_models(client: &Client, out: &mut dyn Write) -> cli::Outcome {
    let models = client.list_models().await?;
    for m in &models.data {
        writeln!(out, "{:<32} owned by {}", m.id, m.owned_by)?;
    }
    writeln!(out, "{} models", models.data.len())?;
    Ok(())
}
