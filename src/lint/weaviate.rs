//! Weaviate: `rebuild_collection` of a big collection, deleting a collection
//! an alias points to, and a property the running release does not write.
//! Reads the typed operations (`weaviate_ops`); the changes Weaviate refuses
//! are already rejected when the file is parsed.

use std::collections::BTreeMap;

use crate::migration::Migration;
use crate::weaviate_ops::Operation;

use super::engine::{own_violation, Context, Finding};
use super::live::{human_count, rebuild_estimate, BIG};
use super::report::Violation;

/// Aliases seen in earlier migrations: alias → collection.
#[derive(Debug, Default)]
pub(crate) struct State {
    aliases: BTreeMap<String, String>,
}

impl State {
    /// Lints (when `linted`) one `.weaviate.json` file and records its aliases.
    pub fn file(
        &mut self,
        migration: &Migration,
        text: &str,
        context: &mut Context,
        linted: bool,
    ) -> Vec<Finding> {
        let mut findings = Vec::new();
        for (index, operation) in migration.up.operations().iter().enumerate() {
            if linted {
                let at = (op_line(migration, text, index), 1);
                findings.extend(
                    self.rules(operation, migration, context, at)
                        .into_iter()
                        .map(|violation| Finding {
                            violation,
                            allows: Vec::new(),
                        }),
                );
            }
            self.track(operation, context);
        }
        findings
    }

    fn rules(
        &self,
        operation: &Operation,
        migration: &Migration,
        context: &Context,
        at: (u32, u32),
    ) -> Vec<Violation> {
        let live = &context.options.live;
        let statement = serde_json::to_string(operation).unwrap_or_default();
        let mut found = Vec::new();
        match operation {
            Operation::RebuildCollection { collection, .. }
                if !context.created.contains(collection) =>
            {
                let objects = live.collections.get(collection).copied();
                if objects.is_none_or(|objects| objects >= BIG) {
                    let detail = objects.map(|objects| {
                        format!(
                            "`{collection}` holds {} objects, copy {}",
                            human_count(objects),
                            rebuild_estimate(objects)
                        )
                    });
                    found.push(own_violation(
                        "weaviate-rebuild-collection",
                        migration,
                        at,
                        &statement,
                        detail,
                    ));
                }
            }
            Operation::DeleteCollection { collection } => {
                let mut aliases: Vec<String> = self
                    .aliases
                    .iter()
                    .filter(|(_, target)| *target == collection)
                    .map(|(alias, _)| alias.clone())
                    .collect();
                aliases.extend(live.aliased.get(collection).into_iter().flatten().cloned());
                aliases.sort();
                aliases.dedup();
                if !aliases.is_empty() {
                    let detail = format!("`{}` → `{collection}`", aliases.join("`, `"));
                    found.push(own_violation(
                        "weaviate-delete-aliased-collection",
                        migration,
                        at,
                        &statement,
                        Some(detail),
                    ));
                }
            }
            Operation::AddProperty {
                collection,
                property,
            } if !context.created.contains(collection) => {
                let name = property
                    .get("name")
                    .and_then(|name| name.as_str())
                    .unwrap_or("?");
                let detail = format!("`{collection}.{name}`");
                found.push(own_violation(
                    "weaviate-property-not-written",
                    migration,
                    at,
                    &statement,
                    Some(detail),
                ));
            }
            _ => {}
        }
        found
    }

    fn track(&mut self, operation: &Operation, context: &mut Context) {
        match operation {
            Operation::CreateAlias { alias, collection }
            | Operation::UpdateAlias { alias, collection } => {
                self.aliases.insert(alias.clone(), collection.clone());
            }
            Operation::DeleteAlias { alias } => {
                self.aliases.remove(alias);
            }
            Operation::CreateCollection { class } => {
                if let Some(name) = class.get("class").and_then(|name| name.as_str()) {
                    context.created.insert(name.to_string());
                }
            }
            _ => {}
        }
    }
}

/// The file line of the `index`-th `"op"` key from the `"up"` key on.
fn op_line(migration: &Migration, text: &str, index: usize) -> u32 {
    let first = migration.up_line.max(1) as usize - 1;
    text.split('\n')
        .enumerate()
        .skip(first)
        .flat_map(|(number, line)| std::iter::repeat_n(number, line.matches("\"op\"").count()))
        .nth(index)
        .map_or(migration.up_line, |number| number as u32 + 1)
}
