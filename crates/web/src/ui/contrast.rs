//! WCAG 2.1 contrast of the colour pairs the stylesheet uses. Every pair below is a
//! foreground drawn on a background somewhere in `static/app.css`; the test computes
//! the ratio with WCAG's relative-luminance formula and holds text to AA (4.5:1) and
//! borders, focus rings and other non-text indicators to 3:1. The test also checks each
//! colour still occurs in the stylesheet, so the list cannot drift from it silently.

#[cfg(test)]
mod tests {
    const CSS: &str = include_str!("../../static/app.css");

    /// Text: (foreground, background, where).
    const TEXT: &[(&str, &str, &str)] = &[
        ("#1b1f24", "#fff", "body text"),
        ("#0b4f8a", "#fff", "links, secondary buttons, card titles"),
        ("#083a66", "#fff", "links on hover"),
        ("#4a5563", "#fff", "muted text, hints, table headings"),
        ("#b42318", "#fff", "error messages, required marks"),
        ("#fff", "#0b3d6b", "header and phone menu"),
        ("#fff", "#0b4f8a", "primary buttons"),
        ("#fff", "#083a66", "primary buttons on hover"),
        ("#fff", "#b42318", "danger buttons"),
        ("#fff", "#7a1a12", "danger buttons on hover"),
        ("#7a1a12", "#fdf2f1", "alerts"),
        ("#1e5e33", "#e6f4ea", "notices, active badge"),
        ("#14401f", "#e6f4ea", "user notices, kept documents"),
        ("#4a5563", "#f1f3f5", "deactivated badge"),
        ("#0b3d6b", "#e8eef6", "built-in role badge"),
        ("#5c2c00", "#fff4e5", "warnings"),
        ("#1b1f24", "#eef4fa", "information notes"),
        ("#083a66", "#eef4fa", "secondary buttons on hover"),
        ("#1b1f24", "#f1f3f5", "code, generated passwords"),
    ];

    /// Non-text indicators: (colour, background, where).
    const NON_TEXT: &[(&str, &str, &str)] = &[
        ("#c15c00", "#fff", "focus ring"),
        ("#6b7280", "#fff", "form field borders"),
        ("#b42318", "#fff", "invalid field borders"),
        ("#0b4f8a", "#fff", "secondary button borders"),
    ];

    fn channel(hex: &str) -> [f64; 3] {
        let hex = hex.trim_start_matches('#');
        let full: String = if hex.len() == 3 {
            hex.chars().flat_map(|c| [c, c]).collect()
        } else {
            hex.to_owned()
        };
        let byte = |i: usize| f64::from(u8::from_str_radix(&full[i..i + 2], 16).unwrap()) / 255.0;
        [byte(0), byte(2), byte(4)]
    }

    fn luminance(hex: &str) -> f64 {
        let linear = |c: f64| {
            if c <= 0.03928 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        let [r, g, b] = channel(hex).map(linear);
        0.2126 * r + 0.7152 * g + 0.0722 * b
    }

    fn ratio(a: &str, b: &str) -> f64 {
        let (la, lb) = (luminance(a), luminance(b));
        let (hi, lo) = if la > lb { (la, lb) } else { (lb, la) };
        (hi + 0.05) / (lo + 0.05)
    }

    #[test]
    fn the_formula_matches_known_ratios() {
        assert!((ratio("#000", "#fff") - 21.0).abs() < 1e-9);
        assert!((ratio("#777", "#fff") - 4.48).abs() < 0.01);
        assert!((ratio("#fff", "#fff") - 1.0).abs() < 1e-9);
    }

    #[test]
    fn every_colour_pair_of_the_stylesheet_passes_wcag_aa() {
        let css = CSS.to_ascii_lowercase();
        let mut failures = Vec::new();
        for (pairs, minimum) in [(TEXT, 4.5), (NON_TEXT, 3.0)] {
            for (fg, bg, place) in pairs {
                for colour in [fg, bg] {
                    assert!(
                        css.contains(*colour),
                        "{colour} ({place}) no longer occurs in app.css: update this list"
                    );
                }
                let r = ratio(fg, bg);
                if r < minimum {
                    failures.push(format!("{place}: {fg} on {bg} is {r:.2}:1 < {minimum}:1"));
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn the_current_header_item_keeps_its_contrast() {
        // `.modules a[aria-current]` lays rgba(255,255,255,.18) over the header colour.
        let [r, g, b] = channel("#0b3d6b").map(|c| 0.18 + 0.82 * c);
        let blended = format!(
            "#{:02x}{:02x}{:02x}",
            (r * 255.0).round() as u8,
            (g * 255.0).round() as u8,
            (b * 255.0).round() as u8
        );
        assert!(ratio("#fff", &blended) >= 4.5, "white on {blended}");
    }
}
