//! The client of an example: the API when the user gives `OPENAI_API_KEY` or
//! `OPENAI_BASE_URL`, otherwise the SDK's scripted loopback server (feature `testing`), set
//! up by the example, so that it runs offline.

use openai_sdk::testing::ScriptedServer;
use openai_sdk::Client;

/// An example's client, and the offline server it talks to (keep it alive while the client
/// is used).
pub struct ExampleClient {
    pub client: Client,
    pub _server: Option<ScriptedServer>,
}

/// The API's client when `OPENAI_API_KEY` or `OPENAI_BASE_URL` is set; otherwise a client
/// of a scripted server that `script` sets up (`what` says what it answers with).
pub async fn client(
    what: &str,
    script: impl FnOnce(&ScriptedServer),
) -> Result<ExampleClient, openai_sdk::Error> {
    let set = |name: &str| std::env::var(name).is_ok_and(|v| !v.trim().is_empty());
    if set("OPENAI_API_KEY") || set("OPENAI_BASE_URL") {
        return Ok(ExampleClient {
            client: Client::new()?,
            _server: None,
        });
    }
    let server = ScriptedServer::start().await;
    script(&server);
    eprintln!("(no OPENAI_API_KEY or OPENAI_BASE_URL: offline, {what} from a local server)");
    Ok(ExampleClient {
        client: server.client(),
        _server: Some(server),
    })
}
