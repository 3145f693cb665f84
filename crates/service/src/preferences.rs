//! A signed-in person's own preferences: the interface language, remembered across
//! devices and used again at the next sign-in.

use cadre_store::preferences;

use crate::audit::Event;
use crate::{Actor, Cadre, RequestMeta, Result, ServiceError};

/// The interface languages cadre speaks.
pub const LANGUAGES: [&str; 3] = ["en", "pt", "fr"];

impl Cadre {
    /// Remembers the interface language `actor` chose for themselves. Anyone signed in
    /// may set their own; the change is audited like any other.
    pub async fn set_own_language(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        language: &str,
    ) -> Result<()> {
        let language = language.trim().to_ascii_lowercase();
        if !LANGUAGES.contains(&language.as_str()) {
            return Err(ServiceError::invalid(
                "language",
                "invalid_value",
                format!("'{language}' is not a language of the interface (en, pt, fr)"),
            ));
        }
        let mut tx = self.db.begin().await?;
        let before = preferences::language(&mut tx, &actor.user_id).await?;
        if before.as_deref() == Some(language.as_str()) {
            return Ok(());
        }
        preferences::set_language(&mut tx, &actor.user_id, &language).await?;
        self.record_by(
            &mut tx,
            actor,
            meta,
            Event::new("user.language_set")
                .target("user", &actor.user_id, &actor.username)
                .before(serde_json::json!({ "language": before }))
                .after(serde_json::json!({ "language": language })),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The interface language `actor` chose, if they ever did.
    pub async fn own_language(&self, actor: &Actor) -> Result<Option<String>> {
        let mut conn = self.db.reader().await?;
        Ok(preferences::language(&mut conn, &actor.user_id).await?)
    }
}
