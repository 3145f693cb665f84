//! What each message says, in each language cadre speaks. The SMS carries the body
//! alone; email adds the subject.

use serde_json::Value;

/// Languages with texts for every template.
pub const LANGUAGES: &[&str] = &["en", "pt", "fr"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    pub subject: String,
    pub body: String,
}

/// The language to write in: the stored one (`pt-MZ` counts as `pt`) when cadre has
/// texts in it, otherwise the configured default.
pub fn language<'a>(stored: &str, default: &'a str) -> &'a str {
    let primary = stored
        .split(['-', '_'])
        .next()
        .unwrap_or_default()
        .trim()
        .to_lowercase();
    LANGUAGES
        .iter()
        .copied()
        .find(|l| *l == primary)
        .unwrap_or(default)
}

/// (subject, body) with `{name}` placeholders, per template and language.
fn source(template: &str, language: &str) -> Option<(&'static str, &'static str)> {
    Some(match (template, language) {
        ("activation_link", "en") => (
            "Your cadre account",
            "Hello {username}, your cadre account is ready. Open this link to choose your password: {link} (valid until {expires_at}).",
        ),
        ("activation_link", "pt") => (
            "A sua conta cadre",
            "Olá {username}, a sua conta cadre está pronta. Abra esta ligação para escolher a sua palavra-passe: {link} (válida até {expires_at}).",
        ),
        ("activation_link", "fr") => (
            "Votre compte cadre",
            "Bonjour {username}, votre compte cadre est prêt. Ouvrez ce lien pour choisir votre mot de passe : {link} (valable jusqu'au {expires_at}).",
        ),
        ("recovery_otp", "en") => (
            "Your cadre recovery code",
            "{otp} is the code to reset the cadre password of {username}. It expires at {expires_at}. If you did not ask for it, ignore this message.",
        ),
        ("recovery_otp", "pt") => (
            "O seu código de recuperação cadre",
            "{otp} é o código para redefinir a palavra-passe cadre de {username}. Expira às {expires_at}. Se não o pediu, ignore esta mensagem.",
        ),
        ("recovery_otp", "fr") => (
            "Votre code de récupération cadre",
            "{otp} est le code pour réinitialiser le mot de passe cadre de {username}. Il expire à {expires_at}. Si vous ne l'avez pas demandé, ignorez ce message.",
        ),
        _ => return None,
    })
}

/// `2026-03-01T08:15:30Z` → `2026-03-01 08:15 UTC`; anything else is shown as given.
fn readable_time(value: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(value) {
        Ok(t) => t
            .with_timezone(&chrono::Utc)
            .format("%Y-%m-%d %H:%M UTC")
            .to_string(),
        Err(_) => value.to_owned(),
    }
}

fn fill(text: &str, params: &Value) -> Result<String, String> {
    let mut out = String::with_capacity(text.len() + 64);
    let mut rest = text;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let end = after
            .find('}')
            .ok_or_else(|| "unclosed placeholder in message text".to_owned())?;
        let name = &after[..end];
        let value = match params.get(name) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err(format!("message parameter '{name}' is missing")),
        };
        if name == "expires_at" {
            out.push_str(&readable_time(&value));
        } else {
            out.push_str(&value);
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The text of `template` in `language` (one of [`LANGUAGES`]) with `params` filled in.
pub fn render(template: &str, language: &str, params: &Value) -> Result<Text, String> {
    let (subject, body) = source(template, language)
        .ok_or_else(|| format!("no text for template '{template}' in '{language}'"))?;
    Ok(Text {
        subject: fill(subject, params)?,
        body: fill(body, params)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_template_has_every_language() {
        let params = json!({"link": "https://x/l/abc", "otp": "123456", "username": "ana",
            "expires_at": "2026-03-01T08:15:30.000000Z"});
        for template in ["activation_link", "recovery_otp"] {
            for language in LANGUAGES {
                let text = render(template, language, &params).unwrap_or_else(|e| panic!("{e}"));
                assert!(text.body.contains("ana"), "{template}/{language}");
                assert!(
                    text.body.contains("2026-03-01 08:15 UTC"),
                    "{template}/{language}"
                );
                assert!(!text.body.contains('{'), "{template}/{language}");
            }
        }
        assert!(render("recovery_otp", "pt", &params)
            .map(|t| t.body.starts_with("123456 é o código"))
            .unwrap_or(false));
    }

    #[test]
    fn a_missing_parameter_is_named() {
        let error = render("recovery_otp", "en", &json!({"username": "ana"})).unwrap_err();
        assert!(error.contains("'otp'"), "{error}");
    }

    #[test]
    fn unknown_languages_fall_back_to_the_default() {
        assert_eq!(language("pt-MZ", "en"), "pt");
        assert_eq!(language("FR", "en"), "fr");
        assert_eq!(language("sw", "pt"), "pt");
        assert_eq!(language("", "fr"), "fr");
    }
}
