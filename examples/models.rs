//! Lists the models the API offers.
//!
//! With `OPENAI_API_KEY` set it asks the real API (or `OPENAI_BASE_URL`). Without it, it
//! runs offline against the SDK's scripted loopback server (`openai_sdk::testing`), which
//! answers with a bundled sample of the models list.
//!
//!     cargo run --example models

use openai_sdk::testing::Reply;

#[path = "support/live.rs"]
mod live;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let live::ExampleClient { client, _server } = live::client("a bundled sample", |server| {
        server.get("/v1/models").respond(Reply::json_file(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/models_list.json"
        )));
    })
    .await?;

    let models = client.list_models().await?;
    for m in &models.data {
        println!("{:<32} owned by {}", m.id, m.owned_by);
    }
    println!("{} models", models.data.len());
    Ok(())
}
