//! The language model behind the conversation: it reads a customer's
//! message (intent and slots) and writes SQL for a task. The offline model
//! is the default and needs no network; Bedrock comes with the AWS issue
//! behind the same two calls.

use meetassist_compiler::Diagnostic;
use meetassist_conversation::tasks::SqlTask;
use meetassist_conversation::understand::{self, Context, Understanding};

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
}

/// Which model the conversation uses (`MEETASSIST_LLM`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// The deterministic, offline domain model (the default).
    Offline,
}

impl std::str::FromStr for ModelKind {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "" | "offline" => Ok(ModelKind::Offline),
            "bedrock" => Err(
                "MEETASSIST_LLM=bedrock: the Bedrock model is not built yet; use `offline`".into(),
            ),
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
}

impl Model {
    /// The model of `kind`.
    pub fn new(kind: ModelKind) -> Self {
        match kind {
            ModelKind::Offline => Model::Offline,
        }
    }

    /// Intent and slots of `message`.
    pub async fn understand(
        &self,
        message: &str,
        context: &Context<'_>,
    ) -> Result<Understanding, ModelError> {
        match self {
            Model::Offline => Ok(understand::understand(message, context)),
        }
    }

    /// SQL text for `request`'s task. The offline model writes the same
    /// text again on a repair: its templates are what the guard accepts,
    /// and a refusal of one is a bug the engine reports.
    pub async fn write_sql(&self, request: &SqlRequest<'_>) -> Result<String, ModelError> {
        match self {
            Model::Offline => Ok(request.task.offline_sql()),
        }
    }

    /// The model's name, for logs and the audit.
    pub fn name(&self) -> &'static str {
        match self {
            Model::Offline => "offline",
        }
    }
}
