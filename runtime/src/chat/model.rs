//! The language model behind the conversation: it reads a customer's
//! message (intent and slots) and writes SQL for a task. The offline model
//! is the default and needs no network; Bedrock (`bedrock`) is Claude
//! through the Converse API, behind the same two calls.

use meetassist_compiler::Diagnostic;
use meetassist_conversation::tasks::SqlTask;
use meetassist_conversation::understand::{self, Context, Understanding};

use super::bedrock::{BedrockConfig, BedrockModel};
use super::session::Exchange;

/// A request for SQL: the task, and the last attempt's refusal when this
/// is a repair.
#[derive(Debug)]
pub struct SqlRequest<'a> {
    /// What the SQL must do.
    pub task: &'a SqlTask,
    /// The previous attempt and why it was refused, for a repair.
    pub repair: Option<(&'a str, &'a Diagnostic)>,
}

/// Why the model gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// It did not answer in time, or could not be reached.
    #[error("the model is unavailable: {0}")]
    Unavailable(String),
    /// No answer within the deadline (retries included).
    #[error("the model did not answer within {0:?}")]
    Timeout(std::time::Duration),
    /// The service refused the request itself (not retried).
    #[error("the model service refused the request: {code}: {message}")]
    Rejected {
        /// The service's error code (e.g. `ValidationException`).
        code: String,
        /// Its message.
        message: String,
    },
    /// The model answered, but not with a usable tool call.
    #[error("the model's answer is unusable: {0}")]
    Malformed(String),
    /// The model's configuration is unusable.
    #[error("model configuration: {0}")]
    Config(String),
}

/// Which model the conversation uses (`MEETASSIST_LLM`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// The deterministic, offline domain model (the default).
    Offline,
    /// Claude on Amazon Bedrock (`MEETASSIST_BEDROCK_*` settings).
    Bedrock,
}

impl std::str::FromStr for ModelKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "" | "offline" => Ok(ModelKind::Offline),
            "bedrock" => Ok(ModelKind::Bedrock),
            other => Err(format!(
                "MEETASSIST_LLM={other}: unknown model; use `offline` or `bedrock`"
            )),
        }
    }
}

/// The model the engine talks to.
#[derive(Debug, Clone)]
pub enum Model {
    /// Reads messages with `meetassist_conversation::understand` and writes
    /// each task's SQL from its template.
    Offline,
    /// Asks Bedrock's Converse API, one forced tool call per question.
    Bedrock(BedrockModel),
}

impl Model {
    /// The model of `kind`; Bedrock's settings come from the environment.
    pub async fn new(kind: ModelKind) -> Result<Self, ModelError> {
        match kind {
            ModelKind::Offline => Ok(Model::Offline),
            ModelKind::Bedrock => Ok(Model::Bedrock(
                BedrockModel::connect(&BedrockConfig::from_env()?).await?,
            )),
        }
    }

    /// Intent and slots of `message`, after the conversation's last
    /// exchanges. The offline model reads the message alone: what it needs
    /// of the past is in `context.awaiting`.
    pub async fn understand(
        &self,
        message: &str,
        context: &Context<'_>,
        history: &[Exchange],
    ) -> Result<Understanding, ModelError> {
        match self {
            Model::Offline => Ok(understand::understand(message, context)),
            Model::Bedrock(bedrock) => bedrock.understand(message, context, history).await,
        }
    }

    /// SQL text for `request`'s task. The offline model writes the same
    /// text again on a repair: its templates are what the guard accepts,
    /// and a refusal of one is a bug the engine reports. When Bedrock
    /// gives no usable SQL, the template stands in.
    pub async fn write_sql(&self, request: &SqlRequest<'_>) -> Result<String, ModelError> {
        match self {
            Model::Offline => Ok(request.task.offline_sql()),
            Model::Bedrock(bedrock) => match bedrock.write_sql(request).await {
                Ok(sql) => Ok(sql),
                Err(error) => {
                    // The task's template is SQL the guard accepts: data
                    // keeps flowing while Bedrock is down (the button
                    // flows need it), and the guard still judges it.
                    tracing::warn!(task = request.task.name(), %error, "Bedrock wrote no SQL; using the task's template");
                    Ok(request.task.offline_sql())
                }
            },
        }
    }

    /// The model's name, for logs and the audit.
    pub fn name(&self) -> &'static str {
        match self {
            Model::Offline => "offline",
            Model::Bedrock(_) => "bedrock",
        }
    }
}
