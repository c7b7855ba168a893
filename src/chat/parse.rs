//! Structured outputs for Chat Completions, the requests: `client.chat().parse::<T>(request)`
//! and its forms (see the chat module docs for what is checked, and when), and the chat
//! shapes of the shared [`JsonSchemaFormat`] and [`FunctionTool`] (`crate::parsing`).

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::completion::ParsedChatCompletion;
use super::parsed_stream::ParsedChatCompletionStream;
use super::snapshot::{parse_chat_completion_as, ParseOptions};
use super::Chat;
use crate::parsing::{FunctionTool, JsonSchemaFormat};
use crate::types::{
    CreateChatCompletionRequest, CreateChatCompletionRequestResponseFormat,
    CreateChatCompletionRequestToolsItem,
};
use crate::Error;

impl JsonSchemaFormat {
    /// The `response_format` of a [`CreateChatCompletionRequest`].
    pub fn to_response_format(&self) -> Result<CreateChatCompletionRequestResponseFormat, Error> {
        serde_json::from_value(self.to_json()).map_err(|e| {
            Error::InvalidRequest(format!("the response format does not serialize: {e}"))
        })
    }
}

impl From<FunctionTool> for crate::types::ChatCompletionTool {
    fn from(tool: FunctionTool) -> Self {
        let parameters = match tool.parameters {
            Value::Object(map) => Some(crate::types::FunctionParameters(map)),
            _ => None,
        };
        crate::types::ChatCompletionTool {
            function: crate::types::FunctionObject {
                description: tool.description,
                name: tool.name,
                parameters,
                strict: Some(tool.strict),
                extra: Default::default(),
            },
            type_: crate::types::ChatCompletionToolType::Function,
            extra: Default::default(),
        }
    }
}

impl From<FunctionTool> for CreateChatCompletionRequestToolsItem {
    fn from(tool: FunctionTool) -> Self {
        CreateChatCompletionRequestToolsItem::ChatCompletionTool(tool.into())
    }
}

// ---- requests -----------------------------------------------------------------------------

/// The body of a parse request and what to parse in its answer. `format`, when given,
/// replaces the request's `response_format`; without it, a `json_schema` response format
/// already in the request is parsed as JSON. Non-strict tools are refused here.
pub(crate) fn prepare_parse(
    request: &CreateChatCompletionRequest,
    format: Option<&JsonSchemaFormat>,
    streaming: bool,
) -> Result<(Value, ParseOptions), Error> {
    let mut body = crate::codegen_support::request_value(request)
        .map_err(|e| Error::InvalidRequest(format!("the request does not serialize: {e}")))?;
    let Value::Object(map) = &mut body else {
        return Err(Error::InvalidRequest(
            "the request is not a JSON object".into(),
        ));
    };
    if let Some(format) = format {
        map.insert("response_format".into(), format.to_json());
    }
    let parse_content = map
        .get("response_format")
        .and_then(|f| f.get("type"))
        .and_then(Value::as_str)
        == Some("json_schema");
    if streaming {
        map.insert("stream".into(), Value::Bool(true));
    } else {
        // One JSON answer: `stream_options` is only valid with `stream: true`.
        map.remove("stream");
        map.remove("stream_options");
    }
    let tools = match map.get("tools") {
        Some(Value::Array(tools)) => tools.clone(),
        _ => Vec::new(),
    };
    let mut options = ParseOptions::new()
        .parse_content(parse_content)
        .tools(tools)
        .deny_unknown_tools(true);
    if let Some(format) = format {
        options = options.response_format(format);
    }
    options.validate_tools()?;
    Ok((body, options))
}

impl Chat<'_> {
    /// Structured Outputs: sends `request` with a strict `json_schema` response format made
    /// from `T` (named after the type, described by its doc comment; it replaces any
    /// `response_format` of the request), and returns the completion with each choice's
    /// content deserialized into `T` (`None` when the model refused: the refusal text is in
    /// [`ParsedMessage::refusal`](super::ParsedMessage::refusal)).
    ///
    /// Before sending: a type strict mode cannot express is [`Error::Schema`], a tool that
    /// is not a strict function tool is [`Error::InvalidRequest`]. On the answer:
    /// `finish_reason` `length` / `content_filter` is [`Error::LengthFinishReason`] /
    /// [`Error::ContentFilterFinishReason`], content that does not fit `T` is
    /// [`Error::Validation`], a call of a tool not given is [`Error::UnknownTool`]. Strict
    /// function tool calls get `parsed_arguments`.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), openai_sdk::Error> {
    /// /// One step of the solution.
    /// #[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
    /// struct Step { explanation: String, output: String }
    ///
    /// /// A worked solution.
    /// #[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
    /// struct MathResponse { steps: Vec<Step>, final_answer: String }
    ///
    /// let client = openai_sdk::Client::new()?;
    /// let request = serde_json::from_value(serde_json::json!({
    ///     "model": "gpt-4o-2024-08-06",
    ///     "messages": [{"role": "user", "content": "solve 8x + 31 = 2"}],
    /// })).unwrap();
    /// let completion = client.chat().parse::<MathResponse>(request).await?;
    /// let message = &completion.choices[0].message;
    /// match &message.parsed {
    ///     Some(math) => println!("{} steps, answer {}", math.steps.len(), math.final_answer),
    ///     None => println!("refused: {:?}", message.refusal),
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn parse<T: schemars::JsonSchema + DeserializeOwned>(
        &self,
        request: CreateChatCompletionRequest,
    ) -> Result<ParsedChatCompletion<T>, Error> {
        let format = JsonSchemaFormat::for_type::<T>()?;
        let (body, options) = prepare_parse(&request, Some(&format), false)?;
        let (completion, metadata) = self.create_json(&body).await?;
        parse_chat_completion_as::<T>(&completion, &options)
            .map(|c| c.with_metadata(Some(metadata)))
    }

    /// The dynamic form of [`parse`](Self::parse): the response format is `format` (e.g.
    /// [`JsonSchemaFormat::from_schema`] of a schema known at run time) or, when `None`,
    /// the request's own `json_schema` response format if it has one; the parsed content
    /// is JSON. With neither, only the strict tools' arguments are parsed.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), openai_sdk::Error> {
    /// use openai_sdk::parsing::JsonSchemaFormat;
    ///
    /// let client = openai_sdk::Client::new()?;
    /// let schema: serde_json::Value = serde_json::from_str(&std::fs::read_to_string("schema.json").unwrap()).unwrap();
    /// let format = JsonSchemaFormat::from_schema("answer", schema)?;
    /// let request = serde_json::from_value(serde_json::json!({
    ///     "model": "gpt-4o-mini", "messages": [{"role": "user", "content": "..."}],
    /// })).unwrap();
    /// let completion = client.chat().parse_with(request, Some(format)).await?;
    /// println!("{:?}", completion.parsed(0));
    /// # Ok(()) }
    /// ```
    pub async fn parse_with(
        &self,
        request: CreateChatCompletionRequest,
        format: Option<JsonSchemaFormat>,
    ) -> Result<ParsedChatCompletion<Value>, Error> {
        let (body, options) = prepare_parse(&request, format.as_ref(), false)?;
        let (completion, metadata) = self.create_json(&body).await?;
        parse_chat_completion_as::<Value>(&completion, &options)
            .map(|c| c.with_metadata(Some(metadata)))
    }

    /// [`parse`](Self::parse), streamed: the same request with `stream: true`. Each
    /// `content.delta` carries the partial parse of the content so far (JSON, with the
    /// reference's partial semantics), `content.done` carries the `T`, strict tools'
    /// argument deltas carry partial `parsed_arguments`, and
    /// [`final_completion`](ParsedChatCompletionStream::final_completion) gives the
    /// [`ParsedChatCompletion<T>`].
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), openai_sdk::Error> {
    /// use futures::StreamExt;
    /// use openai_sdk::chat::ChatCompletionStreamEvent;
    ///
    /// #[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
    /// struct City { name: String, population: u64 }
    ///
    /// let client = openai_sdk::Client::new()?;
    /// let request = serde_json::from_value(serde_json::json!({
    ///     "model": "gpt-4o-mini", "messages": [{"role": "user", "content": "The largest city of Norway?"}],
    /// })).unwrap();
    /// let mut stream = client.chat().parse_stream::<City>(request).await?;
    /// while let Some(event) = stream.next().await {
    ///     match event? {
    ///         ChatCompletionStreamEvent::ContentDelta { parsed, .. } => println!("so far: {}", parsed.to_value()),
    ///         ChatCompletionStreamEvent::ContentDone { parsed: Some(city), .. } => println!("{city:?}"),
    ///         _ => {}
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn parse_stream<T: schemars::JsonSchema + DeserializeOwned>(
        &self,
        request: CreateChatCompletionRequest,
    ) -> Result<ParsedChatCompletionStream<T>, Error> {
        let format = JsonSchemaFormat::for_type::<T>()?;
        let (body, options) = prepare_parse(&request, Some(&format), true)?;
        let inner = self.stream_with_options(body, options).await?;
        Ok(ParsedChatCompletionStream::new(inner))
    }

    /// The dynamic form of [`parse_stream`](Self::parse_stream) (see
    /// [`parse_with`](Self::parse_with)): `content.done` carries the content as JSON.
    pub async fn parse_stream_with(
        &self,
        request: CreateChatCompletionRequest,
        format: Option<JsonSchemaFormat>,
    ) -> Result<ParsedChatCompletionStream<Value>, Error> {
        let (body, options) = prepare_parse(&request, format.as_ref(), true)?;
        let inner = self.stream_with_options(body, options).await?;
        Ok(ParsedChatCompletionStream::new(inner))
    }

    /// Sends a non-streaming request and reads its JSON answer, with its metadata.
    async fn create_json(
        &self,
        body: &Value,
    ) -> Result<(Map<String, Value>, crate::ResponseMetadata), Error> {
        let path = self.client.config().chat_path.clone();
        let request = self
            .client
            .request(reqwest::Method::POST, &path)?
            .json(body);
        let response = self.client.send(request).await?;
        let metadata = crate::ResponseMetadata::of(&response);
        let bytes = response.bytes().await.map_err(Error::from_reqwest)?;
        let decode_error = |message: String| Error::Decode {
            what: "the chat completion".into(),
            path: ".".into(),
            message,
            snippet: crate::error::snippet(&bytes),
        };
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => Ok((map, metadata)),
            Ok(_) => Err(decode_error("the body is not a JSON object".into())),
            Err(e) => Err(decode_error(e.to_string())),
        }
    }
}

#[cfg(feature = "blocking")]
mod blocking {
    use serde::de::DeserializeOwned;

    use super::prepare_parse;
    use crate::chat::{BlockingParsedChatCompletionStream, Chat};
    use crate::parsing::JsonSchemaFormat;
    use crate::types::CreateChatCompletionRequest;
    use crate::Error;

    impl Chat<'_> {
        /// The blocking [`parse_stream`](Self::parse_stream) (feature `blocking`). Do not
        /// call it inside an async runtime.
        pub fn parse_stream_blocking<T: schemars::JsonSchema + DeserializeOwned>(
            &self,
            request: CreateChatCompletionRequest,
        ) -> Result<BlockingParsedChatCompletionStream<T>, Error> {
            let format = JsonSchemaFormat::for_type::<T>()?;
            let (body, options) = prepare_parse(&request, Some(&format), true)?;
            let inner = self.stream_blocking_with_options(body, options)?;
            Ok(BlockingParsedChatCompletionStream::new(inner))
        }
    }
}
