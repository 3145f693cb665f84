//! The messages section of a user's page: what cadre sent them and whether it arrived.

use cadre_service::notify::status::MessageView;
use cadre_service::Actor;

use super::i18n::Lang;
use crate::AppState;

pub struct MessageRow {
    pub channel: String,
    pub recipient: String,
    pub template: String,
    pub status: String,
    pub status_class: &'static str,
    pub attempts: i64,
    pub when: String,
    pub last_error: String,
}

fn row(lang: Lang, m: MessageView) -> MessageRow {
    let when = lang.date_time(m.sent_at.as_deref().unwrap_or(&m.created_at));
    MessageRow {
        channel: lang.t(&format!("notify-channel-{}", m.channel)),
        template: lang.t(&format!("notify-template-{}", m.template.replace('_', "-"))),
        status: lang.t(&format!("notify-status-{}", m.status.replace('_', "-"))),
        status_class: if m.status == "sent" { "ok" } else { "off" },
        recipient: m.recipient,
        attempts: m.attempts,
        when,
        last_error: m.last_error.unwrap_or_default(),
    }
}

/// The latest messages to the user; none when the actor may not see them.
pub async fn message_rows(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    id: &str,
) -> Vec<MessageRow> {
    match state.cadre.user_messages(actor, id, Some(20), None).await {
        Ok(page) => page.items.into_iter().map(|m| row(lang, m)).collect(),
        Err(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    fn keys(source: &str) -> Vec<&str> {
        source
            .lines()
            .filter(|l| !l.starts_with([' ', '#']) && l.contains(" = "))
            .filter_map(|l| l.split(" = ").next())
            .collect()
    }

    #[test]
    fn every_language_has_every_notification_message() {
        let english = keys(include_str!("../../locales/en/notifications.ftl"));
        assert!(english.len() >= 12);
        for (code, source) in [
            ("pt", include_str!("../../locales/pt/notifications.ftl")),
            ("fr", include_str!("../../locales/fr/notifications.ftl")),
        ] {
            let theirs = keys(source);
            for key in &english {
                assert!(theirs.contains(key), "{code} lacks {key}");
            }
        }
    }
}
