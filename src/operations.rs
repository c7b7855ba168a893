//! Operations progenitor cannot generate, written by hand on top of the generated types.
//!
//! These are the multipart uploads, the SDP body of Realtime calls, and two list
//! operations with query parameters progenitor cannot express (a deepObject and an
//! object). Each carries `#[doc(alias = "operationId")]`, which `cargo xtask gen` reads to
//! check that every operation of the spec is callable.

#![allow(unused_imports)]

use reqwest::Method;
use serde::Serialize;

#[cfg(sends_forms)]
use crate::multipart::Objects;
use crate::{types, Client, Error, ResponseValue};

impl Client {
    /// Uploads a file (`POST /files`).
    ///
    /// ```no_run
    /// # async fn run(client: openai_sdk::Client) -> Result<(), openai_sdk::Error> {
    /// use openai_sdk::{multipart::FilePart, types};
    /// let file = client
    ///     .create_file(&types::CreateFileRequest {
    ///         file: FilePart::path("train.jsonl"),
    ///         purpose: types::CreateFileRequestPurpose::FineTune,
    ///         expires_after: None,
    ///         extra: Default::default(),
    ///     })
    ///     .await?;
    /// println!("uploaded {}", file.id);
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "files")]
    #[doc(alias = "createFile")]
    pub async fn create_file(
        &self,
        body: &types::CreateFileRequest,
    ) -> Result<ResponseValue<types::OpenAiFile>, Error> {
        self.send_multipart(Method::POST, "/files", body, Objects::Brackets)
            .await
    }

    /// Adds a part to an upload (`POST /uploads/{upload_id}/parts`).
    #[cfg(feature = "uploads")]
    #[doc(alias = "addUploadPart")]
    pub async fn add_upload_part(
        &self,
        upload_id: &str,
        body: &types::AddUploadPartRequest,
    ) -> Result<ResponseValue<types::UploadPart>, Error> {
        let path = format!(
            "/uploads/{}/parts",
            crate::path_segment("upload_id", upload_id)?
        );
        self.send_multipart(Method::POST, &path, body, Objects::Brackets)
            .await
    }

    /// Transcribes audio (`POST /audio/transcriptions`), answering in JSON.
    #[cfg(feature = "audio")]
    #[doc(alias = "createTranscription")]
    pub async fn create_transcription(
        &self,
        body: &types::CreateTranscriptionRequest,
    ) -> Result<ResponseValue<types::CreateTranscriptionResponse>, Error> {
        self.send_multipart(
            Method::POST,
            "/audio/transcriptions",
            body,
            Objects::Brackets,
        )
        .await
    }

    /// Transcribes audio as a stream (`POST /audio/transcriptions` with `stream: true`,
    /// whatever `body.stream` says): the transcript arrives as
    /// [`TranscriptTextDeltaEvent`](types::TranscriptTextDeltaEvent)s (and segment events
    /// for diarization models), then a [`TranscriptTextDoneEvent`](types::TranscriptTextDoneEvent)
    /// with the whole text and the usage. Event types this version does not know are kept
    /// as `Unknown(Value)`. Streaming needs a model that supports it (`gpt-4o-transcribe`,
    /// `gpt-4o-mini-transcribe`); `whisper-1` ignores `stream`.
    ///
    /// ```no_run
    /// use futures::StreamExt;
    /// use openai_sdk::types;
    ///
    /// # async fn run(client: openai_sdk::Client, body: types::CreateTranscriptionRequest) -> Result<(), openai_sdk::Error> {
    /// // body: model "gpt-4o-mini-transcribe", file FilePart::path("speech.mp3"), ...
    /// let mut events = client.create_transcription_stream(&body).await?;
    /// while let Some(event) = events.next().await {
    ///     match event? {
    ///         types::CreateTranscriptionResponseStreamEvent::DeltaEvent(d) => print!("{}", d.delta),
    ///         types::CreateTranscriptionResponseStreamEvent::DoneEvent(done) => println!("\n{}", done.text),
    ///         _ => {}
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "audio")]
    pub async fn create_transcription_stream(
        &self,
        body: &types::CreateTranscriptionRequest,
    ) -> Result<crate::streaming::EventStream<types::CreateTranscriptionResponseStreamEvent>, Error>
    {
        #[derive(Serialize)]
        struct Streamed<'a, T> {
            #[serde(flatten)]
            body: &'a T,
            // After the body's own fields: this one wins.
            stream: bool,
        }
        let body = Streamed { body, stream: true };
        let response = self
            .send_form(
                Method::POST,
                "/audio/transcriptions",
                &body,
                Objects::Brackets,
            )
            .await?;
        Ok(crate::streaming::EventStream::new(
            response,
            "transcription event",
        ))
    }

    /// Translates audio into English (`POST /audio/translations`).
    #[cfg(feature = "audio")]
    #[doc(alias = "createTranslation")]
    pub async fn create_translation(
        &self,
        body: &types::CreateTranslationRequest,
    ) -> Result<ResponseValue<types::CreateTranslationResponse>, Error> {
        self.send_multipart(Method::POST, "/audio/translations", body, Objects::Brackets)
            .await
    }

    /// Records a voice consent (`POST /audio/voice_consents`).
    #[cfg(feature = "audio")]
    #[doc(alias = "createVoiceConsent")]
    pub async fn create_voice_consent(
        &self,
        body: &types::CreateVoiceConsentRequest,
    ) -> Result<ResponseValue<types::VoiceConsentResource>, Error> {
        self.send_multipart(
            Method::POST,
            "/audio/voice_consents",
            body,
            Objects::Brackets,
        )
        .await
    }

    /// Creates a custom voice (`POST /audio/voices`).
    #[cfg(feature = "audio")]
    #[doc(alias = "createVoice")]
    pub async fn create_voice(
        &self,
        body: &types::CreateVoiceRequest,
    ) -> Result<ResponseValue<types::VoiceResource>, Error> {
        self.send_multipart(Method::POST, "/audio/voices", body, Objects::Brackets)
            .await
    }

    /// Creates variations of an image (`POST /images/variations`).
    #[cfg(feature = "images")]
    #[doc(alias = "createImageVariation")]
    pub async fn create_image_variation(
        &self,
        body: &types::CreateImageVariationRequest,
    ) -> Result<ResponseValue<types::ImagesResponse>, Error> {
        self.send_multipart(Method::POST, "/images/variations", body, Objects::Brackets)
            .await
    }

    /// Edits images from uploaded files (`POST /images/edits`, multipart form). The
    /// generated [`create_image_edit`](crate::generated::Client::create_image_edit) sends
    /// the JSON form, with image URLs or file ids.
    #[cfg(feature = "images")]
    #[doc(alias = "createImageEdit")]
    pub async fn create_image_edit_upload(
        &self,
        body: &types::CreateImageEditRequest,
    ) -> Result<ResponseValue<types::ImagesResponse>, Error> {
        self.send_multipart(Method::POST, "/images/edits", body, Objects::Brackets)
            .await
    }

    /// Creates a skill from uploaded files (`POST /skills`, multipart form). The generated
    /// [`create_skill`](crate::generated::Client::create_skill) sends the JSON form, which
    /// cannot carry file contents.
    #[cfg(feature = "skills")]
    #[doc(alias = "CreateSkill")]
    pub async fn create_skill_upload(
        &self,
        body: &types::CreateSkillBody,
    ) -> Result<ResponseValue<types::SkillResource>, Error> {
        self.send_multipart(Method::POST, "/skills", body, Objects::Brackets)
            .await
    }

    /// Creates a skill version from uploaded files (`POST /skills/{skill_id}/versions`,
    /// multipart form).
    #[cfg(feature = "skills")]
    #[doc(alias = "CreateSkillVersion")]
    pub async fn create_skill_version_upload(
        &self,
        skill_id: &str,
        body: &types::CreateSkillVersionBody,
    ) -> Result<ResponseValue<types::SkillVersionResource>, Error> {
        let path = format!(
            "/skills/{}/versions",
            crate::path_segment("skill_id", skill_id)?
        );
        self.send_multipart(Method::POST, &path, body, Objects::Brackets)
            .await
    }

    /// Uploads a file into a container (`POST /containers/{container_id}/files`, multipart
    /// form). The generated `create_container_file` sends the JSON form (a `file_id`).
    #[cfg(feature = "containers")]
    #[doc(alias = "CreateContainerFile")]
    pub async fn create_container_file_upload(
        &self,
        container_id: &str,
        body: &types::CreateContainerFileBody,
    ) -> Result<ResponseValue<types::ContainerFileResource>, Error> {
        let path = format!(
            "/containers/{}/files",
            crate::path_segment("container_id", container_id)?
        );
        self.send_multipart(Method::POST, &path, body, Objects::Brackets)
            .await
    }

    /// Creates a video with an uploaded reference image (`POST /videos`, multipart form).
    #[cfg(feature = "videos")]
    #[doc(alias = "createVideo")]
    pub async fn create_video_upload(
        &self,
        body: &types::CreateVideoMultipartBody,
    ) -> Result<ResponseValue<types::VideoResource>, Error> {
        self.send_multipart(Method::POST, "/videos", body, Objects::Brackets)
            .await
    }

    /// Edits an uploaded video (`POST /videos/edits`, multipart form).
    #[cfg(feature = "videos")]
    #[doc(alias = "CreateVideoEdit")]
    pub async fn create_video_edit_upload(
        &self,
        body: &types::CreateVideoEditMultipartBody,
    ) -> Result<ResponseValue<types::VideoResource>, Error> {
        self.send_multipart(Method::POST, "/videos/edits", body, Objects::Brackets)
            .await
    }

    /// Extends an uploaded video (`POST /videos/extensions`, multipart form).
    #[cfg(feature = "videos")]
    #[doc(alias = "CreateVideoExtend")]
    pub async fn create_video_extend_upload(
        &self,
        body: &types::CreateVideoExtendMultipartBody,
    ) -> Result<ResponseValue<types::VideoResource>, Error> {
        self.send_multipart(Method::POST, "/videos/extensions", body, Objects::Brackets)
            .await
    }

    /// Checks the provenance of a piece of content (`POST /content_provenance_checks`).
    #[cfg(feature = "content-provenance")]
    #[doc(alias = "Createcontentprovenancecheck")]
    pub async fn create_content_provenance_check(
        &self,
        body: &types::CreateContentProvenanceBody,
    ) -> Result<ResponseValue<types::ProvenanceResource>, Error> {
        self.send_multipart(
            Method::POST,
            "/content_provenance_checks",
            body,
            Objects::Brackets,
        )
        .await
    }

    /// Creates a video character from a clip (`POST /videos/characters`).
    #[cfg(feature = "videos")]
    #[doc(alias = "CreateVideoCharacter")]
    pub async fn create_video_character(
        &self,
        body: &types::CreateVideoCharacterBody,
    ) -> Result<ResponseValue<types::VideoCharacterResource>, Error> {
        self.send_multipart(Method::POST, "/videos/characters", body, Objects::Brackets)
            .await
    }

    /// Starts a Realtime call over WebRTC with an SDP offer and an optional session
    /// configuration (`POST /realtime/calls`, multipart form). Returns the SDP answer.
    #[cfg(feature = "realtime")]
    #[doc(alias = "create-realtime-call")]
    pub async fn create_realtime_call(
        &self,
        body: &types::RealtimeCallCreateRequest,
    ) -> Result<ResponseValue<String>, Error> {
        // The session travels as one JSON field, not in bracket notation.
        self.send_multipart_text(Method::POST, "/realtime/calls", body, Objects::Json)
            .await
    }

    /// Starts a Realtime call with a bare SDP offer (`POST /realtime/calls`,
    /// `application/sdp`), for clients holding an ephemeral session token. Returns the
    /// SDP answer.
    #[cfg(feature = "realtime")]
    #[doc(alias = "create-realtime-call")]
    pub async fn create_realtime_call_sdp(
        &self,
        sdp_offer: &str,
    ) -> Result<ResponseValue<String>, Error> {
        let request = self
            .request(Method::POST, "/realtime/calls")?
            .header(reqwest::header::CONTENT_TYPE, "application/sdp")
            .body(sdp_offer.to_owned());
        let resp = self.send(request).await?;
        crate::error::read_text(resp).await
    }

    /// Lists fine-tuning jobs filtered by metadata (`GET /fine_tuning/jobs` with
    /// `metadata[k]=v`). Without a filter, the generated `list_paginated_fine_tuning_jobs`
    /// does the same.
    #[cfg(feature = "fine-tuning")]
    #[doc(alias = "listPaginatedFineTuningJobs")]
    pub async fn list_fine_tuning_jobs_with_metadata(
        &self,
        after: Option<&str>,
        limit: Option<i64>,
        metadata: &std::collections::BTreeMap<String, String>,
    ) -> Result<ResponseValue<types::ListPaginatedFineTuningJobsResponse>, Error> {
        let mut query: Vec<(String, String)> = Vec::new();
        if let Some(a) = after {
            query.push(("after".into(), a.into()));
        }
        if let Some(l) = limit {
            query.push(("limit".into(), l.to_string()));
        }
        for (k, v) in metadata {
            query.push((format!("metadata[{k}]"), v.clone()));
        }
        let request = self
            .request(Method::GET, "/fine_tuning/jobs")?
            .query(&query);
        let resp = self.send(request).await?;
        crate::error::decode_json(resp).await
    }

    /// Lists audit log events with every filter, including the `effective_at` range
    /// (`GET /organization/audit_logs`).
    #[cfg(feature = "admin")]
    #[doc(alias = "list-audit-logs")]
    pub async fn list_audit_logs_filtered(
        &self,
        query: &AuditLogQuery,
    ) -> Result<ResponseValue<types::ListAuditLogsResponse>, Error> {
        let mut q: Vec<(String, String)> = Vec::new();
        let range = &query.effective_at;
        for (name, v) in [
            ("gt", range.gt),
            ("gte", range.gte),
            ("lt", range.lt),
            ("lte", range.lte),
        ] {
            if let Some(v) = v {
                q.push((format!("effective_at[{name}]"), v.to_string()));
            }
        }
        let lists: [(&str, &Vec<String>); 5] = [
            ("project_ids[]", &query.project_ids),
            ("actor_ids[]", &query.actor_ids),
            ("actor_emails[]", &query.actor_emails),
            ("resource_ids[]", &query.resource_ids),
            ("event_types[]", &query.event_types),
        ];
        for (name, values) in lists {
            for v in values {
                q.push((name.to_owned(), v.clone()));
            }
        }
        if let Some(t) = query.tenant_only {
            q.push(("tenant_only".into(), t.to_string()));
        }
        if let Some(l) = query.limit {
            q.push(("limit".into(), l.to_string()));
        }
        if let Some(a) = &query.after {
            q.push(("after".into(), a.clone()));
        }
        if let Some(b) = &query.before {
            q.push(("before".into(), b.clone()));
        }
        let request = self
            .request(Method::GET, "/organization/audit_logs")?
            .query(&q);
        let resp = self.send(request).await?;
        crate::error::decode_json(resp).await
    }
}

/// Filters of [`Client::list_audit_logs_filtered`].
#[cfg(feature = "admin")]
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditLogQuery {
    /// Only events whose `effective_at` (Unix seconds) is in this range.
    pub effective_at: TimeRange,
    /// Only events of these projects.
    pub project_ids: Vec<String>,
    /// Only events with these `type`s, such as `project.created`.
    pub event_types: Vec<String>,
    /// Only events by these actors.
    pub actor_ids: Vec<String>,
    /// Only events by users with these emails.
    pub actor_emails: Vec<String>,
    /// Only events on these resources.
    pub resource_ids: Vec<String>,
    /// Only tenant-scoped events.
    pub tenant_only: Option<bool>,
    /// Page size (1 to 100).
    pub limit: Option<i64>,
    /// Cursor: events after this id.
    pub after: Option<String>,
    /// Cursor: events before this id.
    pub before: Option<String>,
}

/// A range of Unix timestamps; each bound is optional.
#[cfg(feature = "admin")]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeRange {
    /// Greater than.
    pub gt: Option<i64>,
    /// Greater than or equal.
    pub gte: Option<i64>,
    /// Less than.
    pub lt: Option<i64>,
    /// Less than or equal.
    pub lte: Option<i64>,
}
