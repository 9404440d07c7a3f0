//! A fake Bedrock runtime for tests: a local HTTP/1.1 server that answers
//! `POST /model/{modelId}/converse` with recorded Converse replies, so the
//! real SDK client (endpoint override) is tested over real HTTP.
//!
//! A recording (`fixtures/bedrock/*.json`) is
//! `{"model": id, "when": text, "reply": <a Converse response body>}`: it
//! answers a request to model `id` whose last user message contains
//! `text`. The first match in file-name order wins; a request nothing
//! matches gets a 400 `ValidationException` naming it. The server can be
//! told to throttle (429 `ThrottlingException`) or to hang, and keeps
//! every request it got for the test to inspect. A test can serve a chosen
//! list of recordings ([`FakeConverse::load_files`]) and change it between
//! cases ([`FakeConverse::set_recordings`]).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

/// Why the fake could not start.
#[derive(Debug, thiserror::Error)]
pub enum FakeError {
    /// A recording could not be read or parsed.
    #[error("{path}: {reason}")]
    Recording {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The listening socket could not be opened.
    #[error("cannot listen on 127.0.0.1: {0}")]
    Listen(#[from] std::io::Error),
}

/// One recorded reply and the requests it answers.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recording {
    /// The model id it answers (as configured, not URL-encoded).
    pub model: String,
    /// Text the last user message must contain.
    pub when: String,
    /// The Converse response body, verbatim.
    pub reply: Value,
}

impl Recording {
    /// Whether this recording answers a request to `model` whose last user
    /// message is `last_user_text` (the fake's matching rule).
    pub fn answers(&self, model: &str, last_user_text: &str) -> bool {
        self.model == model && last_user_text.contains(&self.when)
    }
}

/// One request the fake received.
#[derive(Clone, Debug)]
pub struct ConverseRequest {
    /// The model id, URL-decoded.
    pub model: String,
    /// The request body (`messages`, `system`, `toolConfig`, …).
    pub body: Value,
    /// The HTTP status it was answered with (0 while hanging).
    pub status: u16,
}

impl ConverseRequest {
    /// The system prompt's text blocks, joined by newlines.
    pub fn system_text(&self) -> String {
        self.body["system"]
            .as_array()
            .map(|blocks| {
                blocks
                    .iter()
                    .filter_map(|b| b["text"].as_str())
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default()
    }

    /// The conversation's messages.
    pub fn messages(&self) -> &[Value] {
        self.body["messages"].as_array().map_or(&[], Vec::as_slice)
    }

    /// The text of the last user message: its text blocks and its tool
    /// results (as JSON), joined by newlines.
    pub fn last_user_text(&self) -> String {
        let Some(last) = self.messages().iter().rev().find(|m| m["role"] == "user") else {
            return String::new();
        };
        let mut parts = Vec::new();
        for block in last["content"].as_array().map_or(&[][..], Vec::as_slice) {
            if let Some(text) = block["text"].as_str() {
                parts.push(text.to_string());
            }
            if let Some(result) = block.get("toolResult") {
                parts.push(result.to_string());
            }
        }
        parts.join("\n")
    }

    /// The forced tool's name (`toolConfig.toolChoice.tool.name`).
    pub fn forced_tool(&self) -> Option<&str> {
        self.body["toolConfig"]["toolChoice"]["tool"]["name"].as_str()
    }
}

/// How the fake answers before it replays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Throttle {
    /// Replay at once.
    Never,
    /// Answer 429 `ThrottlingException` to the next `n` requests.
    Times(usize),
    /// Answer 429 to every request.
    Always,
}

#[derive(Debug)]
struct State {
    recordings: Vec<Recording>,
    throttle: Throttle,
    hang: bool,
    requests: Vec<ConverseRequest>,
}

/// A running fake Bedrock runtime; stopped when dropped.
#[derive(Debug)]
pub struct FakeConverse {
    address: SocketAddr,
    state: Arc<Mutex<State>>,
    server: JoinHandle<()>,
}

impl FakeConverse {
    /// The repository's recordings, `fixtures/bedrock/`.
    pub fn fixtures_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("fixtures")
            .join("bedrock")
    }

    /// Every recording of `dir` (`*.json`, not its subdirectories), in
    /// file-name order.
    pub fn load(dir: &Path) -> Result<Vec<Recording>, FakeError> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| FakeError::Recording {
                path: dir.to_path_buf(),
                reason: e.to_string(),
            })?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        paths.sort();
        Self::load_files(&paths)
    }

    /// The recordings of `paths`, in the order given.
    pub fn load_files(paths: &[PathBuf]) -> Result<Vec<Recording>, FakeError> {
        let unreadable = |path: &Path, reason: String| FakeError::Recording {
            path: path.to_path_buf(),
            reason,
        };
        paths
            .iter()
            .map(|path| {
                let text =
                    std::fs::read_to_string(path).map_err(|e| unreadable(path, e.to_string()))?;
                serde_json::from_str(&text).map_err(|e| unreadable(path, e.to_string()))
            })
            .collect()
    }

    /// Starts a fake on 127.0.0.1 (a free port) replaying `recordings`.
    pub async fn start(recordings: Vec<Recording>) -> Result<Self, FakeError> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State {
            recordings,
            throttle: Throttle::Never,
            hang: false,
            requests: Vec::new(),
        }));
        let shared = Arc::clone(&state);
        let server = tokio::spawn(async move {
            // Connections live in the set: aborting the server aborts them.
            let mut connections = JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = Arc::clone(&shared);
                connections.spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        let state = Arc::clone(&state);
                        async move { Ok::<_, Infallible>(answer(&state, request).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
                while connections.try_join_next().is_some() {}
            }
        });
        Ok(FakeConverse {
            address,
            state,
            server,
        })
    }

    /// Starts a fake replaying the repository's recordings.
    pub async fn start_with_fixtures() -> Result<Self, FakeError> {
        Self::start(Self::load(&Self::fixtures_dir())?).await
    }

    /// The URL to give the SDK as its endpoint.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Replays `recordings` from now on instead of the ones it had (the
    /// requests received so far are kept).
    pub fn set_recordings(&self, recordings: Vec<Recording>) {
        self.with_state(|state| state.recordings = recordings);
    }

    /// Sets how the next requests are throttled.
    pub fn throttle(&self, throttle: Throttle) {
        self.with_state(|state| state.throttle = throttle);
    }

    /// Makes every request from now on wait (for an hour) without answering.
    pub fn hang(&self, hang: bool) {
        self.with_state(|state| state.hang = hang);
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<ConverseRequest> {
        self.with_state(|state| state.requests.clone())
    }

    /// Stops listening and closes every connection: from now on a client
    /// gets "connection refused".
    pub fn stop(&self) {
        self.server.abort();
    }

    fn with_state<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Drop for FakeConverse {
    fn drop(&mut self) {
        self.server.abort();
    }
}

enum Action {
    Reply(StatusCode, Option<&'static str>, Value),
    Hang,
}

async fn answer(state: &Mutex<State>, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = request.uri().path().to_string();
    let is_post = request.method() == hyper::Method::POST;
    let body = match request.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) => {
            return respond(
                StatusCode::BAD_REQUEST,
                Some("ValidationException"),
                &json!({"message": format!("unreadable body: {error}")}),
            );
        }
    };
    let model = path
        .strip_prefix("/model/")
        .and_then(|rest| rest.strip_suffix("/converse"))
        .filter(|_| is_post)
        .map(percent_decode);
    let Some(model) = model else {
        return respond(
            StatusCode::NOT_FOUND,
            Some("UnknownOperationException"),
            &json!({"message": format!("the fake serves only POST /model/{{id}}/converse, not {path}")}),
        );
    };
    let body: Value = match serde_json::from_slice(&body) {
        Ok(value) => value,
        Err(error) => {
            return respond(
                StatusCode::BAD_REQUEST,
                Some("ValidationException"),
                &json!({"message": format!("the body is not JSON: {error}")}),
            );
        }
    };
    let mut request = ConverseRequest {
        model,
        body,
        status: 0,
    };
    let action = {
        let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
        let throttled = match state.throttle {
            Throttle::Never => false,
            Throttle::Always => true,
            Throttle::Times(n) => {
                state.throttle = if n > 1 {
                    Throttle::Times(n - 1)
                } else {
                    Throttle::Never
                };
                n > 0
            }
        };
        let action = if state.hang {
            Action::Hang
        } else if throttled {
            Action::Reply(
                StatusCode::TOO_MANY_REQUESTS,
                Some("ThrottlingException"),
                json!({"message": "Too many requests, please wait before trying again."}),
            )
        } else {
            let text = request.last_user_text();
            match state
                .recordings
                .iter()
                .find(|r| r.answers(&request.model, &text))
            {
                Some(recording) => Action::Reply(StatusCode::OK, None, recording.reply.clone()),
                None => Action::Reply(
                    StatusCode::BAD_REQUEST,
                    Some("ValidationException"),
                    json!({"message": format!(
                        "the fake has no recorded reply for model {} and the message {:?}",
                        request.model, text
                    )}),
                ),
            }
        };
        if let Action::Reply(status, ..) = &action {
            request.status = status.as_u16();
        }
        state.requests.push(request);
        action
    };
    match action {
        Action::Reply(status, error_type, body) => respond(status, error_type, &body),
        Action::Hang => {
            tokio::time::sleep(Duration::from_secs(3_600)).await;
            respond(
                StatusCode::SERVICE_UNAVAILABLE,
                Some("ServiceUnavailableException"),
                &json!({"message": "hung"}),
            )
        }
    }
}

fn respond(status: StatusCode, error_type: Option<&str>, body: &Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    headers.insert(
        "x-amzn-requestid",
        hyper::header::HeaderValue::from_static("00000000-0000-0000-0000-000000000000"),
    );
    if let Some(error_type) = error_type
        && let Ok(value) = hyper::header::HeaderValue::from_str(error_type)
    {
        headers.insert("x-amzn-errortype", value);
    }
    response
}

/// `%XX` escapes decoded (model ids: `…-v1%3A0` → `…-v1:0`).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                let value = hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0);
                out.push(u8::try_from(value).unwrap_or(b'?'));
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn model_ids_are_url_decoded() {
        assert_eq!(
            percent_decode("jp.anthropic.claude-haiku-4-5-20251001-v1%3A0"),
            "jp.anthropic.claude-haiku-4-5-20251001-v1:0"
        );
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%e1%BA%A1"), "ạ");
    }
}
