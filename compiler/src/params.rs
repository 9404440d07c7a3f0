//! Bind parameters: every literal of the model's SQL leaves the text and
//! travels beside it, numbered `$1`, `$2`, … in the order they appear in
//! the compiled statement.

/// One bind parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub value: ParamValue,
}

/// A parameter's value, as written in the SQL. It is sent to PostgreSQL in
/// text form, so the server reads it exactly as it would have read the
/// literal, with the type the statement gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamValue {
    Integer(i64),
    /// A number that is not an i64 (a decimal, an exponent), as written.
    Number(String),
    Text(String),
}

impl ParamValue {
    /// The text PostgreSQL receives.
    pub fn as_text(&self) -> String {
        match self {
            ParamValue::Integer(n) => n.to_string(),
            ParamValue::Number(text) | ParamValue::Text(text) => text.clone(),
        }
    }
}
