//! Lists the models the API offers.
//!
//! With `OPENAI_API_KEY` set it asks the real API (or `OPENAI_BASE_URL`). Without it, it
//! runs offline against the SDK's scripted loopback server (`openai_sdk::testing`), which
//! answers with a bundled sample of the models list.
//!
//!     cargo run --example models

use openai_sdk::testing::{Reply, ScriptedServer};
use openai_sdk::Client;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let online = std::env::var("OPENAI_API_KEY").is_ok_and(|k| !k.is_empty());
    // Keep the offline server alive for as long as the client uses it.
    let (client, _server) = if online {
        (Client::new()?, None)
    } else {
        let server = ScriptedServer::start().await;
        server
            .get("/v1/models")
            .respond(Reply::json_file(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/models_list.json")));
        eprintln!("(offline: no OPENAI_API_KEY, answering from a bundled sample at {})", server.base_url());
        let client = Client::builder().api_key("offline").base_url(server.base_url()).build()?;
        (client, Some(server))
    };

    let models = client.list_models().await?;
    for m in &models.data {
        println!("{:<32} owned by {}", m.id, m.owned_by);
    }
    println!("{} models", models.data.len());
    Ok(())
}
