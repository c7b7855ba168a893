//! Auto-pagination over loopback: pages are fetched lazily with the right cursors.

use futures::StreamExt;
use openai_sdk::testing::{Reply, ScriptedServer};
use openai_sdk::Client;
use serde_json::json;

fn file(id: &str) -> serde_json::Value {
    json!({"id": id, "object": "file", "bytes": 1, "created_at": 1, "filename": "f", "purpose": "assistants", "status": "processed"})
}

fn page(ids: &[&str], has_more: bool) -> Reply {
    Reply::json(
        200,
        json!({"object": "list", "data": ids.iter().map(|i| file(i)).collect::<Vec<_>>(),
               "first_id": ids.first(), "last_id": ids.last(), "has_more": has_more}),
    )
}

#[tokio::test]
async fn walks_every_page_with_last_id_as_cursor() {
    let server = ScriptedServer::start().await;
    server
        .get("/v1/files")
        .respond(page(&["f1", "f2"], true))
        .respond(page(&["f3"], true))
        .respond(page(&["f4"], false));
    let client = Client::builder()
        .api_key("k")
        .base_url(server.base_url())
        .build()
        .unwrap();

    let mut stream = Box::pin(
        client
            .list_files_paginated(Some(2), None, None)
            .into_stream(),
    );
    assert_eq!(stream.next().await.unwrap().unwrap().id, "f1");
    assert_eq!(
        server.request_count_to("/v1/files"),
        1,
        "lazy: one page so far"
    );
    let rest: Vec<String> = stream.map(|f| f.unwrap().id).collect().await;
    assert_eq!(rest, ["f2", "f3", "f4"]);

    let reqs = server.requests_to("/v1/files");
    let afters: Vec<Option<&str>> = reqs.iter().map(|r| r.query_param("after")).collect();
    assert_eq!(afters, [None, Some("f2"), Some("f3")]);
    assert!(reqs.iter().all(|r| r.query_param("limit") == Some("2")));
}

#[tokio::test]
async fn collect_all_stops_at_an_error_and_reports_it() {
    let server = ScriptedServer::start().await;
    server
        .get("/v1/files")
        .respond(page(&["f1"], true))
        .respond(Reply::openai_error(404, "invalid_request_error", "gone"));
    let client = Client::builder()
        .api_key("k")
        .base_url(server.base_url())
        .build()
        .unwrap();
    let e = client
        .list_files_paginated(None, None, None)
        .collect_all()
        .await
        .unwrap_err();
    assert!(e.is_not_found(), "{e}");
}
