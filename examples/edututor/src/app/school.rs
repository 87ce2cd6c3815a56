//! The PostgreSQL side: a student and a guardian, the guardian's consent, the
//! student's learning profile, and the `preferred_language` column that the
//! three-step `new_field` migrations made NOT NULL with default `'en'`.

use anyhow::{bail, ensure};
use sqlx::PgPool;

const STUDENT_EMAIL: &str = "ada.student@edututor.example";
const GUARDIAN_EMAIL: &str = "grace.guardian@edututor.example";
const CONSENT_SCOPE: &str = "data_processing";

/// Creates (once) the demo family and returns what it checked.
pub async fn enrol_demo_family(pool: &PgPool) -> anyhow::Result<String> {
    check_preferred_language_column(pool).await?;
    let student = upsert_user(pool, STUDENT_EMAIL, "Ada", "student").await?;
    let guardian = upsert_user(pool, GUARDIAN_EMAIL, "Grace", "guardian").await?;
    let profile = ensure_learning_profile(pool, &student).await?;
    ensure_learning_profile(pool, &guardian).await?;
    sqlx::query(
        "INSERT INTO guardian_consents (student_id, guardian_id, consent_scope) VALUES ($1::uuid, $2::uuid, $3) \
         ON CONFLICT (student_id, guardian_id, consent_scope) DO NOTHING",
    )
    .bind(&student)
    .bind(&guardian)
    .bind(CONSENT_SCOPE)
    .execute(pool)
    .await?;
    let (language, consents): (String, i64) = sqlx::query_as(
        "SELECT u.preferred_language, \
                (SELECT count(*) FROM guardian_consents c WHERE c.student_id = u.id AND c.revoked_at IS NULL) \
         FROM users u WHERE u.id = $1::uuid",
    )
    .bind(&student)
    .fetch_one(pool)
    .await?;
    ensure!(
        language == "en",
        "a new user got preferred_language {language:?}, expected the default 'en'"
    );
    ensure!(consents >= 1, "the guardian consent was not stored");
    Ok(format!(
        "student {STUDENT_EMAIL} (preferred_language {language}, {profile} learning profile), \
         {consents} active guardian consent ({CONSENT_SCOPE}) from {GUARDIAN_EMAIL}"
    ))
}

/// `preferred_language` must be NOT NULL with default `'en'` after migration 10.
async fn check_preferred_language_column(pool: &PgPool) -> anyhow::Result<()> {
    let column: Option<(String, Option<String>)> = sqlx::query_as(
        "SELECT is_nullable::text, column_default::text FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = 'users' AND column_name = 'preferred_language'",
    )
    .fetch_optional(pool)
    .await?;
    match column {
        Some((nullable, Some(default))) if nullable == "NO" && default.starts_with("'en'") => Ok(()),
        Some((nullable, default)) => bail!(
            "users.preferred_language is nullable={nullable}, default={default:?}; expected NOT NULL DEFAULT 'en' \
             (is migration 20241204_0920_d0e1f2 applied?)"
        ),
        None => bail!("users.preferred_language does not exist (is migration 20241204_0900_b8c9d0 applied?)"),
    }
}

/// Inserts a user unless one with this email exists (no `preferred_language`:
/// the column default fills it), and returns its id.
async fn upsert_user(pool: &PgPool, email: &str, name: &str, role: &str) -> anyhow::Result<String> {
    sqlx::query(
        "INSERT INTO users (email, display_name, role) VALUES ($1, $2, $3) ON CONFLICT (email) DO NOTHING",
    )
    .bind(email)
    .bind(name)
    .bind(role)
    .execute(pool)
    .await?;
    let (id,): (String,) = sqlx::query_as("SELECT id::text FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(pool)
        .await?;
    Ok(id)
}

/// Gives a new user the default learning profile that the data migration
/// gave every user without one, and says whether the profile is that default.
async fn ensure_learning_profile(pool: &PgPool, user: &str) -> anyhow::Result<&'static str> {
    sqlx::query(
        "INSERT INTO learning_profiles (user_id, pace, preferred_modality, is_default) \
         VALUES ($1::uuid, 'standard', 'text', true) ON CONFLICT (user_id) DO NOTHING",
    )
    .bind(user)
    .execute(pool)
    .await?;
    let (is_default,): (bool,) =
        sqlx::query_as("SELECT is_default FROM learning_profiles WHERE user_id = $1::uuid")
            .bind(user)
            .fetch_one(pool)
            .await?;
    Ok(if is_default { "default" } else { "custom" })
}
