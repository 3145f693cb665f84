//! The interface's languages: English, Portuguese and French, from Fluent catalogues
//! compiled into the binary (`crates/web/locales`).

use std::borrow::Cow;
use std::collections::HashMap;

use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::Loader;
use unic_langid::{langid, LanguageIdentifier};

fluent_templates::static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "en",
        // Unicode isolation marks would end up inside attribute values and URLs.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Pt,
    Fr,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::En, Lang::Pt, Lang::Fr];

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Pt => "pt",
            Lang::Fr => "fr",
        }
    }

    /// The language's own name, as a switcher shows it.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Pt => "Português",
            Lang::Fr => "Français",
        }
    }

    pub fn from_code(code: &str) -> Option<Lang> {
        let primary = code
            .trim()
            .split(['-', '_'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        Lang::ALL.into_iter().find(|l| l.code() == primary)
    }

    /// The first language of an `Accept-Language` header that cadre speaks, by weight.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let mut ranked: Vec<(f32, Lang)> = header
            .split(',')
            .filter_map(|part| {
                let mut pieces = part.trim().split(';');
                let lang = Lang::from_code(pieces.next()?)?;
                let q = pieces
                    .find_map(|p| {
                        p.trim()
                            .strip_prefix("q=")
                            .and_then(|q| q.parse::<f32>().ok())
                    })
                    .unwrap_or(1.0);
                Some((q, lang))
            })
            .collect();
        ranked.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal));
        ranked.first().map(|(_, l)| *l)
    }

    fn id(self) -> LanguageIdentifier {
        match self {
            Lang::En => langid!("en"),
            Lang::Pt => langid!("pt"),
            Lang::Fr => langid!("fr"),
        }
    }

    /// A message of the catalogue.
    pub fn t(self, key: &str) -> String {
        LOCALES.lookup(&self.id(), key)
    }

    /// A message with arguments, such as `{ $count }`.
    pub fn t_with(self, key: &str, args: &[(&'static str, FluentValue<'static>)]) -> String {
        let map: HashMap<Cow<'static, str>, FluentValue<'static>> = args
            .iter()
            .map(|(k, v)| (Cow::Borrowed(*k), v.clone()))
            .collect();
        LOCALES.lookup_with_args(&self.id(), key, &map)
    }

    /// `YYYY-MM-DD` as people of this language write dates.
    pub fn date(self, iso: &str) -> String {
        let Some((y, rest)) = iso.split_once('-') else {
            return iso.to_owned();
        };
        let Some((m, d)) = rest.split_once('-') else {
            return iso.to_owned();
        };
        let d = d.get(..2).unwrap_or(d);
        match self {
            Lang::En => {
                let month = [
                    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                    "Dec",
                ]
                .get(m.parse::<usize>().unwrap_or(0).wrapping_sub(1))
                .copied()
                .unwrap_or(m);
                format!("{} {month} {y}", d.trim_start_matches('0'))
            }
            Lang::Pt | Lang::Fr => format!("{d}/{m}/{y}"),
        }
    }

    /// `2026-03-01T08:15:30.123Z` as this language writes the date, with the time of day
    /// (UTC, as stored): `1 Mar 2026 08:15`.
    pub fn date_time(self, timestamp: &str) -> String {
        let date = self.date(timestamp.get(..10).unwrap_or(timestamp));
        match timestamp.get(11..16) {
            Some(time) => format!("{date} {time}"),
            None => date,
        }
    }

    /// A whole number with this language's thousands separator.
    pub fn number(self, n: i64) -> String {
        let separator = match self {
            Lang::En => ",",
            Lang::Pt => ".",
            Lang::Fr => "\u{202f}",
        };
        let digits = n.unsigned_abs().to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push_str(separator);
            }
            out.push(c);
        }
        if n < 0 {
            out.insert(0, '-');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_every_message_of_english() {
        let english = include_str!("../../locales/en/main.ftl");
        let keys: Vec<&str> = english
            .lines()
            .filter(|l| !l.starts_with([' ', '#', '*', '[', '}']) && l.contains(" = "))
            .filter_map(|l| l.split(" = ").next())
            .collect();
        assert!(keys.len() > 30);
        for lang in Lang::ALL {
            let source = match lang {
                Lang::En => english,
                Lang::Pt => include_str!("../../locales/pt/main.ftl"),
                Lang::Fr => include_str!("../../locales/fr/main.ftl"),
            };
            for key in &keys {
                assert!(
                    source.lines().any(|l| l.starts_with(&format!("{key} ="))),
                    "{} lacks {key}",
                    lang.code()
                );
            }
        }
    }

    #[test]
    fn messages_plurals_dates_and_numbers_follow_the_language() {
        assert_eq!(Lang::Pt.t("sign-out"), "Sair");
        assert_eq!(Lang::Fr.t("sign-out"), "Se déconnecter");
        assert_eq!(
            Lang::En.t_with("results-count", &[("count", 1.into())]),
            "One user"
        );
        assert_eq!(
            Lang::Pt.t_with("results-count", &[("count", 3.into())]),
            "3 utilizadores"
        );
        assert_eq!(Lang::En.date("2026-11-01"), "1 Nov 2026");
        assert_eq!(Lang::Fr.date("2026-11-01"), "01/11/2026");
        assert_eq!(Lang::Pt.number(1234567), "1.234.567");
        assert_eq!(Lang::En.number(-1234), "-1,234");
    }

    #[test]
    fn accept_language_is_negotiated_by_weight() {
        assert_eq!(
            Lang::from_accept_language("de-DE, fr;q=0.5, pt-BR;q=0.8"),
            Some(Lang::Pt)
        );
        assert_eq!(Lang::from_accept_language("de"), None);
        assert_eq!(Lang::from_code("FR-ca"), Some(Lang::Fr));
    }
}
