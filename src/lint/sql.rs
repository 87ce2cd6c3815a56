//! What the lint needs to know about each PostgreSQL statement, read from
//! squawk's syntax tree (never from text matching): its place, the table it
//! touches, its lock, and the column changes the expand/contract rules follow.

use squawk_syntax::ast::{self, AstNode};
use squawk_syntax::{SourceFile, SyntaxKind, SyntaxNode};

/// One statement of an up section.
#[derive(Debug, Clone, Default)]
pub(crate) struct SqlStatement {
    /// Byte offset of the first non-comment token in the section.
    pub start: usize,
    /// Byte offset just past the statement.
    pub end: usize,
    /// The table it creates.
    pub creates: Option<String>,
    /// The existing table it changes, locks or updates.
    pub table: Option<String>,
    /// `CONCURRENTLY` appears (index build/drop, reindex, detach partition).
    pub concurrently: bool,
    /// It takes an ACCESS EXCLUSIVE lock on `table`.
    pub access_exclusive: bool,
    /// An `UPDATE` (a backfill).
    pub update: bool,
    /// Columns added, dropped, renamed (old names) and set `NOT NULL`.
    pub added: Vec<String>,
    /// Columns dropped.
    pub dropped: Vec<String>,
    /// Columns renamed (old names).
    pub renamed: Vec<String>,
    /// Columns set `NOT NULL`, with the byte offset of the `SET NOT NULL`.
    pub set_not_null: Vec<(String, usize)>,
    /// `ADD CONSTRAINT name CHECK (column IS NOT NULL) NOT VALID`: (name, column).
    pub not_valid_checks: Vec<(String, String)>,
    /// `VALIDATE CONSTRAINT name`.
    pub validated: Vec<String>,
}

/// A name as PostgreSQL folds it: the last dotted part, unquoted or lower-cased.
pub(crate) fn fold_name(text: &str) -> String {
    let last = text.trim().rsplit('.').next().unwrap_or_default().trim();
    match last.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(quoted) => quoted.replace("\"\"", "\""),
        None => last.to_ascii_lowercase(),
    }
}

fn name(node: &impl AstNode) -> String {
    fold_name(&node.syntax().text().to_string())
}

/// Parses an up section into statements (squawk's parser; it recovers from errors).
pub(crate) fn statements(text: &str) -> Vec<SqlStatement> {
    let parse = SourceFile::parse(text);
    parse.tree().stmts().map(|stmt| statement(&stmt)).collect()
}

fn statement(stmt: &ast::Stmt) -> SqlStatement {
    let syntax = stmt.syntax();
    let start = syntax
        .children_with_tokens()
        .find(|child| !child.kind().is_trivia())
        .map_or(syntax.text_range().start(), |child| {
            child.text_range().start()
        });
    let mut facts = SqlStatement {
        start: usize::from(start),
        end: usize::from(syntax.text_range().end()),
        concurrently: has_token(syntax, SyntaxKind::CONCURRENTLY_KW),
        ..SqlStatement::default()
    };
    match stmt {
        ast::Stmt::CreateTable(create) => {
            facts.creates = create.table_name().map(|table| name(&table));
        }
        ast::Stmt::AlterTable(alter) => alter_table(alter, &mut facts),
        ast::Stmt::CreateIndex(index) => {
            facts.table = index.table_relation_name().map(|table| name(&table));
        }
        ast::Stmt::DropIndex(_) => facts.access_exclusive = !facts.concurrently,
        ast::Stmt::Update(update) => {
            facts.update = true;
            facts.table = update.relation_name().map(|table| name(&table));
        }
        ast::Stmt::Truncate(_) | ast::Stmt::Lock(_) | ast::Stmt::Cluster(_) => {
            facts.access_exclusive = true;
        }
        _ => {}
    }
    facts
}

fn has_token(node: &SyntaxNode, kind: SyntaxKind) -> bool {
    node.descendants_with_tokens()
        .any(|element| element.kind() == kind)
}

fn alter_table(alter: &ast::AlterTable, facts: &mut SqlStatement) {
    facts.table = alter.table_relation_name().map(|table| name(&table));
    for action in alter.actions() {
        if takes_access_exclusive(&action) {
            facts.access_exclusive = true;
        }
        match action {
            ast::AlterTableAction::AddColumn(add) => {
                facts
                    .added
                    .extend(add.column_name().map(|column| name(&column)));
            }
            ast::AlterTableAction::DropColumn(drop) => {
                facts
                    .dropped
                    .extend(drop.column_name_ref().map(|column| name(&column)));
            }
            ast::AlterTableAction::RenameColumn(rename) => {
                facts
                    .renamed
                    .extend(rename.column_name_ref().map(|column| name(&column)));
            }
            ast::AlterTableAction::AlterColumn(alter_column) => set_not_null(&alter_column, facts),
            ast::AlterTableAction::AddConstraint(add) => not_valid_check(&add, facts),
            ast::AlterTableAction::ValidateConstraint(validate) => {
                facts
                    .validated
                    .extend(validate.constraint_name_ref().map(|c| name(&c)));
            }
            _ => {}
        }
    }
}

fn set_not_null(alter_column: &ast::AlterColumn, facts: &mut SqlStatement) {
    if let (Some(ast::AlterColumnOption::SetNotNull(option)), Some(column)) =
        (alter_column.option(), alter_column.column_name_ref())
    {
        let offset = usize::from(option.syntax().text_range().start());
        facts.set_not_null.push((name(&column), offset));
    }
}

fn not_valid_check(add: &ast::AddConstraint, facts: &mut SqlStatement) {
    let Some(constraint) = add.constraint() else {
        return;
    };
    if !constraint.is_not_valid() {
        return;
    }
    let ast::Constraint::CheckConstraint(check) = constraint else {
        return;
    };
    let constraint_name = check
        .constraint_name_clause()
        .and_then(|clause| clause.constraint_name())
        .map(|n| name(&n));
    let column = check.expr().and_then(|expr| is_not_null_column(&expr));
    if let (Some(constraint_name), Some(column)) = (constraint_name, column) {
        facts.not_valid_checks.push((constraint_name, column));
    }
}

/// `column IS NOT NULL` → `column`.
fn is_not_null_column(expr: &ast::Expr) -> Option<String> {
    let ast::Expr::BinExpr(bin) = expr else {
        return None;
    };
    let ast::BinOp::IsNot(_) = bin.op()? else {
        return None;
    };
    let ast::Expr::Literal(literal) = bin.rhs()? else {
        return None;
    };
    if !matches!(literal.kind(), Some(ast::LitKind::Null(_))) {
        return None;
    }
    match bin.lhs()? {
        ast::Expr::NameRef(column) => Some(column.text()),
        _ => None,
    }
}

/// The `ALTER TABLE` actions that take less than ACCESS EXCLUSIVE (PostgreSQL
/// docs, "ALTER TABLE": SHARE UPDATE EXCLUSIVE or SHARE ROW EXCLUSIVE).
fn takes_access_exclusive(action: &ast::AlterTableAction) -> bool {
    match action {
        ast::AlterTableAction::ValidateConstraint(_)
        | ast::AlterTableAction::ClusterOn(_)
        | ast::AlterTableAction::SetWithoutCluster(_)
        | ast::AlterTableAction::AttachPartition(_)
        | ast::AlterTableAction::EnableTrigger(_)
        | ast::AlterTableAction::DisableTrigger(_)
        | ast::AlterTableAction::EnableAlwaysTrigger(_)
        | ast::AlterTableAction::EnableReplicaTrigger(_) => false,
        ast::AlterTableAction::DetachPartition(detach) => {
            !has_token(detach.syntax(), SyntaxKind::CONCURRENTLY_KW)
        }
        ast::AlterTableAction::AddConstraint(add) => !matches!(
            add.constraint(),
            Some(ast::Constraint::ForeignKeyConstraint(_))
        ),
        ast::AlterTableAction::AlterColumn(alter_column) => !matches!(
            alter_column.option(),
            Some(ast::AlterColumnOption::SetStatistics(_))
        ),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_tables_columns_and_locks() {
        let sql = "-- c\nCREATE TABLE \"Big\" (id int);\nALTER TABLE public.users ADD COLUMN a text, DROP COLUMN b;\nALTER TABLE users VALIDATE CONSTRAINT users_a_nn;\nCREATE INDEX CONCURRENTLY i ON users (a);\nUPDATE users SET a = 'x';";
        let statements = statements(sql);
        assert_eq!(statements.len(), 5);
        assert_eq!(statements[0].creates.as_deref(), Some("Big"));
        assert_eq!(statements[0].start, 5);
        assert_eq!(statements[1].table.as_deref(), Some("users"));
        assert_eq!(
            (statements[1].added.clone(), statements[1].dropped.clone()),
            (vec!["a".to_string()], vec!["b".to_string()])
        );
        assert!(statements[1].access_exclusive);
        assert!(!statements[2].access_exclusive);
        assert_eq!(statements[2].validated, ["users_a_nn"]);
        assert!(statements[3].concurrently);
        assert!(statements[4].update);
    }

    #[test]
    fn reads_not_valid_not_null_checks() {
        let sql = "ALTER TABLE users ADD CONSTRAINT users_a_nn CHECK (a IS NOT NULL) NOT VALID;\nALTER TABLE users ALTER COLUMN a SET NOT NULL;";
        let statements = statements(sql);
        assert_eq!(
            statements[0].not_valid_checks,
            [("users_a_nn".to_string(), "a".to_string())]
        );
        assert_eq!(statements[1].set_not_null[0].0, "a");
    }
}
