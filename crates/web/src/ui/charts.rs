//! Bar charts drawn as inline SVG on the server: no script, no chart library. Every
//! chart names itself (`<title>`, `aria-labelledby`) and its page shows the same numbers
//! in a table for screen readers and for printing.

use std::fmt::Write as _;

/// One bar: what it counts and how many.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bar {
    pub label: String,
    pub value: i64,
    /// The number as the reader's language writes it.
    pub shown: String,
    /// Where the bar leads, if anywhere.
    pub href: Option<String>,
}

/// Escapes text for SVG/HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const WIDTH: i64 = 320;
const ROW: i64 = 40;
const BAR: i64 = 16;
/// Room kept right of the longest bar for its number.
const NUMBER_ROOM: i64 = 56;

/// A horizontal bar chart, one row per bar: the label above, the bar and its number
/// below. The drawing scales to its container, so it fits a 360 px phone.
pub fn bar_chart(id: &str, title: &str, bars: &[Bar]) -> String {
    let height = ROW * bars.len().max(1) as i64 + 8;
    let max = bars.iter().map(|b| b.value).max().unwrap_or(0).max(1);
    let span = WIDTH - NUMBER_ROOM;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r##"<svg class="chart" id="{id}" role="img" aria-labelledby="{id}-title" viewBox="0 0 {WIDTH} {height}" width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg"><title id="{id}-title">{title}</title>"##,
        id = escape(id),
        title = escape(title),
    );
    for (i, bar) in bars.iter().enumerate() {
        let top = i as i64 * ROW;
        let length = if bar.value <= 0 {
            0
        } else {
            (bar.value * span / max).max(2)
        };
        let _ = write!(
            svg,
            r##"<g class="bar" data-value="{value}"><text x="0" y="{label_y}" font-size="13" fill="#1b1f24">{label}</text><rect x="0" y="{bar_y}" width="{length}" height="{BAR}" rx="2" fill="#0b4f8a"><title>{label}: {shown}</title></rect><text x="{number_x}" y="{number_y}" font-size="13" font-weight="600" fill="#1b1f24">{shown}</text></g>"##,
            value = bar.value,
            label_y = top + 14,
            bar_y = top + 19,
            number_x = length + 6,
            number_y = top + 32,
            label = escape(&bar.label),
            shown = escape(&bar.shown),
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(label: &str, value: i64) -> Bar {
        Bar {
            label: label.into(),
            value,
            shown: value.to_string(),
            href: None,
        }
    }

    #[test]
    fn bars_scale_to_the_largest_and_text_is_escaped() {
        let svg = bar_chart(
            "c1",
            "Users <by> campaign",
            &[bar("A&B", 10), bar("C", 5), bar("D", 0)],
        );
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("<title id=\"c1-title\">Users &lt;by&gt; campaign</title>"));
        assert!(svg.contains("A&amp;B"));
        assert!(svg.contains(&format!("width=\"{}\"", WIDTH - NUMBER_ROOM)));
        assert!(svg.contains(&format!("width=\"{}\"", (WIDTH - NUMBER_ROOM) / 2)));
        assert!(svg.contains("width=\"0\""));
        assert_eq!(svg.matches("<rect").count(), 3);
        assert!(!svg.contains("style="));
    }

    #[test]
    fn an_empty_chart_still_draws() {
        let svg = bar_chart("c2", "Nothing", &[]);
        assert!(svg.ends_with("</svg>"));
        assert!(!svg.contains("<rect"));
    }
}
