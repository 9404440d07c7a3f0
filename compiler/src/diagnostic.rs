//! Why a statement was refused: a stable code, a message in plain words,
//! where in the SQL (line and column, 1-based), and a hint when there is an
//! obvious fix. Rendered for people with a caret under the span, and as
//! data for the model's repair loop.

use std::fmt;

/// The stable diagnostic codes. Callers (and the model's repair prompt)
/// match on these strings; never rename one.
pub mod code {
    /// The text is not SQL the parser understands.
    pub const SYNTAX: &str = "E-SYNTAX";
    /// More or fewer than one statement.
    pub const STATEMENT_COUNT: &str = "E-STATEMENT-COUNT";
    /// A statement kind, clause or construct that may never run.
    pub const NOT_ALLOWED: &str = "E-NOT-ALLOWED";
    /// Valid SQL the compiler does not handle (and so refuses).
    pub const UNSUPPORTED: &str = "E-UNSUPPORTED";
    pub const UNKNOWN_TABLE: &str = "E-UNKNOWN-TABLE";
    pub const UNKNOWN_COLUMN: &str = "E-UNKNOWN-COLUMN";
    pub const AMBIGUOUS_COLUMN: &str = "E-AMBIGUOUS-COLUMN";
    /// The text is longer or deeper than the compiler accepts.
    pub const TOO_LARGE: &str = "E-TOO-LARGE";
    /// A policy module failed (trapped, timed out, answered nonsense):
    /// the statement is refused, fail closed.
    pub const POLICY_FAILED: &str = "E-POLICY-FAILED";
    /// A bug in the compiler: its own output did not check out.
    pub const INTERNAL: &str = "E-INTERNAL";
}

/// A place in the original SQL text, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    pub line: u32,
    pub column: u32,
}

/// A range of the original SQL text; `end` is inclusive-exclusive as the
/// parser reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: Location,
    pub end: Location,
}

impl Span {
    pub(crate) fn from_parser(span: sqlparser::tokenizer::Span) -> Option<Span> {
        if span.start.line == 0 {
            return None;
        }
        let clamp = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
        Some(Span {
            start: Location {
                line: clamp(span.start.line),
                column: clamp(span.start.column),
            },
            end: Location {
                line: clamp(span.end.line),
                column: clamp(span.end.column),
            },
        })
    }
}

/// A refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// One of [`code`]'s constants, or a policy's own code.
    pub code: String,
    pub message: String,
    pub span: Option<Span>,
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic {
            code: code.into(),
            message: message.into(),
            span: None,
            hint: None,
        }
    }

    pub fn at(mut self, span: Option<Span>) -> Self {
        self.span = span;
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The rustc-like rendering: code and message, the offending line with
    /// a caret line under the span, and the hint.
    pub fn render(&self, sql: &str) -> String {
        let mut out = format!("error[{}]: {}\n", self.code, self.message);
        if let Some(span) = self.span
            && let Some(line_text) = sql.lines().nth(span.start.line.saturating_sub(1) as usize)
        {
            let number = span.start.line.to_string();
            let pad = " ".repeat(number.len());
            out.push_str(&format!(
                "{pad}--> line {}, column {}\n",
                span.start.line, span.start.column
            ));
            out.push_str(&format!("{pad} |\n{number} | {line_text}\n"));
            let start = span.start.column.saturating_sub(1) as usize;
            let line_chars = line_text.chars().count();
            let end = if span.end.line == span.start.line && span.end.column > span.start.column {
                (span.end.column.saturating_sub(1) as usize).min(line_chars.max(start + 1))
            } else {
                line_chars.max(start + 1)
            };
            let width = end.saturating_sub(start).max(1);
            out.push_str(&format!(
                "{pad} | {}{}\n",
                " ".repeat(start),
                "^".repeat(width)
            ));
        }
        if let Some(hint) = &self.hint {
            out.push_str(&format!("hint: {hint}\n"));
        }
        out
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)?;
        if let Some(span) = self.span {
            write!(
                f,
                " (line {}, column {})",
                span.start.line, span.start.column
            )?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "; hint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostic {}

/// The nearest of `candidates` to `name` by edit distance, when it is near
/// enough to be a likely typo.
pub fn nearest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let name = name.to_lowercase();
    let limit = (name.chars().count() / 3).max(2);
    candidates
        .into_iter()
        .map(|candidate| (edit_distance(&name, &candidate.to_lowercase()), candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, candidate)| (*distance, candidate.len()))
        .map(|(_, candidate)| candidate)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_finds_typos_and_ignores_strangers() {
        let names = ["appointments", "consultants", "customers"];
        assert_eq!(nearest("apointments", names), Some("appointments"));
        assert_eq!(nearest("Consultant", names), Some("consultants"));
        assert_eq!(nearest("users", names), None);
    }

    #[test]
    fn render_puts_a_caret_under_the_span() {
        let diagnostic = Diagnostic::new(code::UNKNOWN_COLUMN, "no column `nmae`")
            .at(Some(Span {
                start: Location { line: 1, column: 8 },
                end: Location {
                    line: 1,
                    column: 12,
                },
            }))
            .hint("did you mean `name`?");
        let text = diagnostic.render("SELECT nmae FROM services");
        assert!(
            text.contains("1 | SELECT nmae FROM services\n  |        ^^^^\n"),
            "{text}"
        );
        assert!(text.ends_with("hint: did you mean `name`?\n"));
    }
}
