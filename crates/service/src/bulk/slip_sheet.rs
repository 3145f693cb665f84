//! The printable slip sheet: one slip per worker with their name, username, generated
//! password and a QR code of their sign-in link, as a self-contained HTML page or a
//! PDF (A4, eight slips a page, cut lines drawn).
//!
//! The PDF is written directly: it needs only the standard fonts, text and one small
//! black-and-white image per QR code, which keeps a sheet of thousands of slips small.

use qrcode::{Color, QrCode};

use super::slips::Slip;
use crate::{Result, ServiceError};

/// The two forms of a sheet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlipFormat {
    Html,
    Pdf,
}

impl SlipFormat {
    pub fn content_type(self) -> &'static str {
        match self {
            SlipFormat::Html => "text/html; charset=utf-8",
            SlipFormat::Pdf => "application/pdf",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            SlipFormat::Html => "html",
            SlipFormat::Pdf => "pdf",
        }
    }
}

/// The words on a sheet, in the reader's language. `scan` is followed by the link's
/// expiry time.
#[derive(Debug, Clone)]
pub struct SlipLabels {
    pub language: String,
    pub title: String,
    pub username: String,
    pub password: String,
    pub scan: String,
    pub change: String,
}

impl Default for SlipLabels {
    fn default() -> Self {
        Self {
            language: "en".into(),
            title: "Your cadre account".into(),
            username: "Username".into(),
            password: "Temporary password".into(),
            scan: "Or scan to set your own password, until".into(),
            change: "You will choose a new password when you first sign in.".into(),
        }
    }
}

/// Quiet zone around a QR code, in modules, as the QR standard asks.
const QUIET: usize = 4;

/// The modules of a QR code for `text` with its quiet zone: (side, dark?) row by row.
pub fn qr_modules(text: &str) -> Result<(usize, Vec<bool>)> {
    let code = QrCode::new(text.as_bytes())
        .map_err(|e| ServiceError::Internal(format!("drawing a QR code: {e}")))?;
    let width = code.width();
    let side = width + 2 * QUIET;
    let colors = code.to_colors();
    let mut dark = vec![false; side * side];
    for (i, color) in colors.iter().enumerate() {
        if *color == Color::Dark {
            dark[(i / width + QUIET) * side + i % width + QUIET] = true;
        }
    }
    Ok((side, dark))
}

/// Renders a sheet.
pub fn render(slips: &[Slip], format: SlipFormat, labels: &SlipLabels) -> Result<Vec<u8>> {
    match format {
        SlipFormat::Html => html(slips, labels).map(String::into_bytes),
        SlipFormat::Pdf => pdf(slips, labels),
    }
}

/// The invitation to scan, with the link's expiry as `2026-11-22 10:00 UTC`.
fn scan_line(labels: &SlipLabels, slip: &Slip) -> String {
    let expires = slip.link_expires_at.replace('T', " ");
    let expires = match expires.strip_suffix('Z') {
        Some(time) => format!("{} UTC", time.get(..16).unwrap_or(time)),
        None => expires,
    };
    format!("{} {expires}", labels.scan)
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A QR code as one SVG path, a rectangle per run of dark modules in a row.
fn svg(side: usize, dark: &[bool]) -> String {
    let mut path = String::new();
    for y in 0..side {
        let mut x = 0;
        while x < side {
            if dark[y * side + x] {
                let start = x;
                while x < side && dark[y * side + x] {
                    x += 1;
                }
                path.push_str(&format!("M{start} {y}h{}v1h-{}z", x - start, x - start));
            } else {
                x += 1;
            }
        }
    }
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {side} {side}" shape-rendering="crispEdges"><rect width="{side}" height="{side}" fill="#fff"/><path d="{path}" fill="#000"/></svg>"##
    )
}

const STYLE: &str = "body{font-family:sans-serif;margin:0}\
.sheet{display:grid;grid-template-columns:1fr 1fr;gap:0}\
.slip{border:1px dashed #555;padding:12px 16px;break-inside:avoid;display:grid;\
grid-template-columns:1fr 120px;gap:4px 12px}\
.slip h2{grid-column:1/3;font-size:15px;margin:0}\
dl{margin:0}dt{font-size:11px;color:#444}dd{margin:0 0 6px;font:bold 17px monospace}\
figure{margin:0;text-align:center}figure svg{width:110px;height:110px}\
figcaption{font-size:10px}.note{grid-column:1/3;font-size:11px;margin:0}\
@media print{@page{size:A4;margin:10mm}}";

fn html(slips: &[Slip], labels: &SlipLabels) -> Result<String> {
    let mut out = format!(
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\">\
         <meta name=\"robots\" content=\"noindex\"><title>{}</title><style>{STYLE}</style>\
         </head><body><main class=\"sheet\">",
        escape(&labels.language),
        escape(&labels.title)
    );
    for slip in slips {
        let (side, dark) = qr_modules(&slip.link)?;
        let scan = scan_line(labels, slip);
        out.push_str(&format!(
            "<section class=\"slip\" data-row=\"{row}\"><h2>{name}</h2><dl>\
             <dt>{ul}</dt><dd class=\"username\">{username}</dd>\
             <dt>{pl}</dt><dd class=\"password\">{password}</dd></dl>\
             <figure data-link=\"{link}\">{svg}<figcaption>{scan}</figcaption></figure>\
             <p class=\"note\">{change}</p></section>",
            row = slip.row,
            name = escape(&slip.name),
            ul = escape(&labels.username),
            username = escape(&slip.username),
            pl = escape(&labels.password),
            password = escape(&slip.password),
            link = escape(&slip.link),
            svg = svg(side, &dark),
            scan = escape(&scan),
            change = escape(&labels.change),
        ));
    }
    out.push_str("</main></body></html>");
    Ok(out)
}

/// A PDF built object by object, with the cross-reference table at the end.
struct PdfWriter {
    out: Vec<u8>,
    offsets: Vec<usize>,
}

impl PdfWriter {
    fn new() -> Self {
        Self {
            out: b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec(),
            offsets: Vec::new(),
        }
    }

    /// A number for an object written later.
    fn reserve(&mut self) -> usize {
        self.offsets.push(0);
        self.offsets.len()
    }

    fn object(&mut self, id: usize, body: &[u8]) {
        if let Some(offset) = self.offsets.get_mut(id - 1) {
            *offset = self.out.len();
        }
        self.out
            .extend_from_slice(format!("{id} 0 obj\n").as_bytes());
        self.out.extend_from_slice(body);
        self.out.extend_from_slice(b"\nendobj\n");
    }

    fn stream(&mut self, id: usize, dictionary: &str, data: &[u8]) {
        let mut body = format!("<< {dictionary} /Length {} >>\nstream\n", data.len()).into_bytes();
        body.extend_from_slice(data);
        body.extend_from_slice(b"\nendstream");
        self.object(id, &body);
    }

    fn finish(mut self, root: usize) -> Vec<u8> {
        let xref = self.out.len();
        let count = self.offsets.len() + 1;
        let mut table = format!("xref\n0 {count}\n0000000000 65535 f \n");
        for offset in &self.offsets {
            table.push_str(&format!("{offset:010} 00000 n \n"));
        }
        table.push_str(&format!(
            "trailer\n<< /Size {count} /Root {root} 0 R >>\nstartxref\n{xref}\n%%EOF\n"
        ));
        self.out.extend_from_slice(table.as_bytes());
        self.out
    }
}

/// Text for the standard fonts (WinAnsi): Latin-1 kept, other letters transliterated,
/// and the string delimiters escaped.
fn pdf_text(text: &str, max_chars: usize) -> String {
    let mut out = String::new();
    for c in text.chars().take(max_chars) {
        match c {
            '(' | ')' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            '\u{a0}'..='\u{ff}' => out.push_str(&format!("\\{:03o}", c as u32)),
            other => out.push_str(
                &deunicode::deunicode_char(other)
                    .unwrap_or("?")
                    .chars()
                    .filter(|c| matches!(c, ' '..='~') && !matches!(c, '(' | ')' | '\\'))
                    .collect::<String>(),
            ),
        }
    }
    out
}

/// A QR code as a 1-bit grey image: each row padded to a byte, 1 for white.
fn qr_image(side: usize, dark: &[bool]) -> Vec<u8> {
    let row_bytes = side.div_ceil(8);
    let mut data = vec![0xFFu8; row_bytes * side];
    for y in 0..side {
        for x in 0..side {
            if dark[y * side + x] {
                data[y * row_bytes + x / 8] &= !(0x80 >> (x % 8));
            }
        }
    }
    data
}

const PAGE_WIDTH: f32 = 595.28;
const PAGE_HEIGHT: f32 = 841.89;
const COLUMNS: usize = 2;
const ROWS: usize = 4;

fn text_at(content: &mut String, font: &str, size: u32, x: f32, y: f32, text: &str) {
    content.push_str(&format!(
        "BT /{font} {size} Tf {x:.1} {y:.1} Td ({}) Tj ET\n",
        pdf_text(text, 44)
    ));
}

fn pdf(slips: &[Slip], labels: &SlipLabels) -> Result<Vec<u8>> {
    let mut pdf = PdfWriter::new();
    let catalog = pdf.reserve();
    let pages = pdf.reserve();
    let fonts = [
        ("F1", "Helvetica"),
        ("F2", "Helvetica-Bold"),
        ("F3", "Courier-Bold"),
    ];
    let mut font_refs = String::new();
    for (name, base) in fonts {
        let id = pdf.reserve();
        pdf.object(
            id,
            format!(
                "<< /Type /Font /Subtype /Type1 /BaseFont /{base} /Encoding /WinAnsiEncoding >>"
            )
            .as_bytes(),
        );
        font_refs.push_str(&format!("/{name} {id} 0 R "));
    }
    let cell_w = PAGE_WIDTH / COLUMNS as f32;
    let cell_h = PAGE_HEIGHT / ROWS as f32;
    let mut kids = Vec::new();
    for page_slips in slips.chunks(COLUMNS * ROWS) {
        let mut content = String::new();
        let mut images = String::new();
        for (i, slip) in page_slips.iter().enumerate() {
            let x = (i % COLUMNS) as f32 * cell_w;
            let y = PAGE_HEIGHT - (i / COLUMNS + 1) as f32 * cell_h;
            content.push_str(&format!(
                "q 0.5 w [4 3] 0 d {:.1} {:.1} {:.1} {:.1} re S Q\n",
                x + 6.0,
                y + 6.0,
                cell_w - 12.0,
                cell_h - 12.0
            ));
            let top = y + cell_h;
            text_at(&mut content, "F1", 9, x + 18.0, top - 28.0, &labels.title);
            text_at(&mut content, "F2", 13, x + 18.0, top - 46.0, &slip.name);
            text_at(
                &mut content,
                "F1",
                9,
                x + 18.0,
                top - 70.0,
                &labels.username,
            );
            text_at(&mut content, "F3", 13, x + 18.0, top - 86.0, &slip.username);
            text_at(
                &mut content,
                "F1",
                9,
                x + 18.0,
                top - 108.0,
                &labels.password,
            );
            text_at(
                &mut content,
                "F3",
                15,
                x + 18.0,
                top - 126.0,
                &slip.password,
            );
            text_at(&mut content, "F1", 7, x + 18.0, y + 34.0, &labels.change);
            let scan = scan_line(labels, slip);
            content.push_str(&format!(
                "BT /F1 6 Tf {:.1} {:.1} Td ({}) Tj ET\n",
                x + 18.0,
                y + 22.0,
                pdf_text(&scan, 90)
            ));
            let (side, dark) = qr_modules(&slip.link)?;
            let image = pdf.reserve();
            pdf.stream(
                image,
                &format!(
                    "/Type /XObject /Subtype /Image /Width {side} /Height {side} \
                     /ColorSpace /DeviceGray /BitsPerComponent 1"
                ),
                &qr_image(side, &dark),
            );
            images.push_str(&format!("/Q{i} {image} 0 R "));
            content.push_str(&format!(
                "q 104 0 0 104 {:.1} {:.1} cm /Q{i} Do Q\n",
                x + cell_w - 122.0,
                top - 134.0
            ));
        }
        let stream = pdf.reserve();
        pdf.stream(stream, "", content.as_bytes());
        let page = pdf.reserve();
        pdf.object(
            page,
            format!(
                "<< /Type /Page /Parent {pages} 0 R /MediaBox [0 0 {PAGE_WIDTH} {PAGE_HEIGHT}] \
                 /Resources << /Font << {font_refs}>> /XObject << {images}>> >> \
                 /Contents {stream} 0 R >>"
            )
            .as_bytes(),
        );
        kids.push(format!("{page} 0 R"));
    }
    pdf.object(
        pages,
        format!(
            "<< /Type /Pages /Kids [{}] /Count {} >>",
            kids.join(" "),
            kids.len()
        )
        .as_bytes(),
    );
    pdf.object(
        catalog,
        format!("<< /Type /Catalog /Pages {pages} 0 R >>").as_bytes(),
    );
    Ok(pdf.finish(catalog))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slip(row: i64, name: &str) -> Slip {
        Slip {
            row,
            name: name.into(),
            username: format!("user{row}"),
            password: "pavo-kemi-tura-47".into(),
            link: format!("https://cadre.example/login/link/token-{row}"),
            link_expires_at: "2026-11-22T10:00:00Z".into(),
        }
    }

    /// Reads a QR code back from its modules, as a phone camera would from the page.
    fn decode(side: usize, dark: &[bool]) -> String {
        let scale = 4;
        let mut image =
            rqrr::PreparedImage::prepare_from_greyscale(side * scale, side * scale, |x, y| {
                if dark[(y / scale) * side + x / scale] {
                    0
                } else {
                    255
                }
            });
        let grids = image.detect_grids();
        assert_eq!(grids.len(), 1);
        grids[0].decode().unwrap().1
    }

    #[test]
    fn qr_codes_carry_the_link() {
        let link =
            "https://cadre.example/login/link/Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWprbG1u";
        let (side, dark) = qr_modules(link).unwrap();
        assert_eq!(decode(side, &dark), link);
        // The PDF image holds the same modules, white as 1.
        let image = qr_image(side, &dark);
        let row_bytes = side.div_ceil(8);
        for y in 0..side {
            for x in 0..side {
                let white = image[y * row_bytes + x / 8] & (0x80 >> (x % 8)) != 0;
                assert_eq!(white, !dark[y * side + x], "module {x},{y}");
            }
        }
    }

    #[test]
    fn html_sheets_escape_names_and_show_every_slip() {
        let slips = [slip(1, "Ana <b>Bold</b>"), slip(2, "Zoë \"Q\"")];
        let page =
            String::from_utf8(render(&slips, SlipFormat::Html, &SlipLabels::default()).unwrap())
                .unwrap();
        assert!(page.contains("Ana &lt;b&gt;Bold&lt;/b&gt;"));
        assert!(!page.contains("<b>Bold"));
        assert!(page.contains("Zoë &quot;Q&quot;"));
        assert_eq!(page.matches("class=\"slip\"").count(), 2);
        assert!(page.contains("data-link=\"https://cadre.example/login/link/token-2\""));
        assert!(page.contains("until 2026-11-22 10:00 UTC"));
    }

    #[test]
    fn pdf_sheets_are_well_formed_with_a_page_per_eight_slips() {
        let slips: Vec<Slip> = (1..=9)
            .map(|i| slip(i, "Jo\u{e3}o (Lead) \u{4e2d}"))
            .collect();
        let pdf = render(&slips, SlipFormat::Pdf, &SlipLabels::default()).unwrap();
        assert!(pdf.starts_with(b"%PDF-1.4"));
        assert!(pdf.ends_with(b"%%EOF\n"));
        let has = |needle: &[u8]| pdf.windows(needle.len()).any(|w| w == needle);
        assert!(has(b"/Count 2"));
        assert!(has(b"(user9) Tj"));
        // Latin-1 kept as WinAnsi octal, parentheses escaped, Chinese transliterated.
        assert!(has(b"(Jo\\343o \\(Lead\\) Zhong"));
        // Every cross-reference entry points at the object it names.
        let tail = std::str::from_utf8(&pdf[pdf.len() - 64..]).unwrap();
        let xref_at: usize = tail
            .rsplit("startxref\n")
            .next()
            .and_then(|t| t.lines().next())
            .and_then(|n| n.parse().ok())
            .unwrap();
        let table = std::str::from_utf8(&pdf[xref_at..]).unwrap();
        let entries: Vec<usize> = table
            .lines()
            .skip(3)
            .take_while(|l| l.ends_with(" n "))
            .map(|l| l[..10].parse().unwrap())
            .collect();
        assert!(entries.len() > 9 + 2);
        for (i, offset) in entries.iter().enumerate() {
            let expected = format!("{} 0 obj", i + 1);
            assert!(
                pdf[*offset..].starts_with(expected.as_bytes()),
                "object {} is not at {offset}",
                i + 1
            );
        }
    }
}
