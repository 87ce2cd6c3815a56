//! A Cypher query with its parameters, that can be sent or shown in a plan.

use std::fmt::Write as _;

/// A parameter value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Param {
    /// A string.
    Str(String),
    /// An optional string (`null` when absent).
    OptStr(Option<String>),
    /// An integer.
    Int(i64),
    /// A duration in milliseconds measured while the step runs.
    MeasuredMs,
}

/// One query: its text and named parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Cypher {
    /// The text, referring to parameters as `$name`.
    pub text: String,
    /// The parameters.
    pub params: Vec<(&'static str, Param)>,
}

impl Cypher {
    /// A query without parameters.
    pub fn new(text: impl Into<String>) -> Cypher {
        Cypher {
            text: text.into(),
            params: Vec::new(),
        }
    }

    /// Adds a parameter.
    pub fn param(mut self, name: &'static str, value: Param) -> Cypher {
        self.params.push((name, value));
        self
    }

    /// The neo4rs query; `measured_ms` fills [`Param::MeasuredMs`].
    pub fn to_query(&self, measured_ms: i64) -> neo4rs::Query {
        self.params.iter().fold(
            neo4rs::query(&self.text),
            |query, (name, value)| match value {
                Param::Str(s) => query.param(name, s.as_str()),
                Param::OptStr(s) => query.param(name, s.clone()),
                Param::Int(i) => query.param(name, *i),
                Param::MeasuredMs => query.param(name, measured_ms),
            },
        )
    }

    /// The text followed by a `:param` line as cypher-shell takes it.
    pub fn render(&self) -> String {
        if self.params.is_empty() {
            return self.text.clone();
        }
        let mut map = String::new();
        for (i, (name, value)) in self.params.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            let value = match value {
                Param::Str(s) | Param::OptStr(Some(s)) => string_literal(s),
                Param::OptStr(None) => "null".into(),
                Param::Int(i) => i.to_string(),
                Param::MeasuredMs => "0 /* measured at run time */".into(),
            };
            let _ = write!(map, "{sep}{name}: {value}");
        }
        format!(":param {{{map}}}\n{}", self.text)
    }
}

/// A Cypher string literal.
pub(super) fn string_literal(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_parameters_for_cypher_shell() {
        let cypher = Cypher::new("MATCH (m {id: $id}) SET m.p = $p, m.d = $d, m.n = $n")
            .param("id", Param::Str("it's".into()))
            .param("p", Param::OptStr(None))
            .param("d", Param::MeasuredMs)
            .param("n", Param::Int(3));
        assert_eq!(
            cypher.render(),
            ":param {id: 'it\\'s', p: null, d: 0 /* measured at run time */, n: 3}\n\
             MATCH (m {id: $id}) SET m.p = $p, m.d = $d, m.n = $n"
        );
    }
}
