//! Documents attached to users (deactivation orders, letters): upload, list, download,
//! with the same scope rules as the user they belong to.

use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use cadre_domain::Action;
use cadre_store::documents::{self as store, DocumentRow};

use crate::audit::Event;
use crate::users::Target;
use crate::{Actor, Cadre, RequestMeta, Result, ServiceError};

/// Largest document accepted: 5 MiB. Scanned orders fit easily; anything bigger is
/// usually a photo straight off a phone and belongs resized.
pub const MAX_DOCUMENT_BYTES: usize = 5 * 1024 * 1024;

/// Longest stored filename, in characters.
pub const MAX_FILENAME_CHARS: usize = 200;

/// A document as the API shows it; the content is fetched separately.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct DocumentView {
    pub id: String,
    /// The client's filename, reduced to a safe last path component.
    pub filename: String,
    /// `application/pdf`, `image/png` or `image/jpeg`, recognised from the content.
    pub content_type: String,
    /// In bytes.
    pub size: i64,
    /// Lower-case hex SHA-256 of the content.
    pub sha256: String,
    pub created_at: String,
    /// The deactivation or reactivation this document supports, once attached.
    pub status_change_id: Option<String>,
}

impl From<DocumentRow> for DocumentView {
    fn from(row: DocumentRow) -> Self {
        Self {
            id: row.id,
            filename: row.filename,
            content_type: row.content_type,
            size: row.size,
            sha256: row.sha256,
            created_at: row.created_at,
            status_change_id: row.status_change_id,
        }
    }
}

/// A file type cadre accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentType {
    Pdf,
    Png,
    Jpeg,
}

impl DocumentType {
    pub fn content_type(self) -> &'static str {
        match self {
            DocumentType::Pdf => "application/pdf",
            DocumentType::Png => "image/png",
            DocumentType::Jpeg => "image/jpeg",
        }
    }

    fn fallback_filename(self) -> &'static str {
        match self {
            DocumentType::Pdf => "document.pdf",
            DocumentType::Png => "document.png",
            DocumentType::Jpeg => "document.jpg",
        }
    }
}

/// Recognises the type from the first bytes only: the filename and the client's
/// content type are whatever the client says, and a browser given the wrong type may
/// render an HTML or SVG payload.
pub fn sniff(content: &[u8]) -> Option<DocumentType> {
    if content.starts_with(b"%PDF-") {
        Some(DocumentType::Pdf)
    } else if content.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(DocumentType::Png)
    } else if content.starts_with(b"\xFF\xD8\xFF") {
        Some(DocumentType::Jpeg)
    } else {
        None
    }
}

/// Bidirectional overrides and isolates are not control characters to Rust, but they
/// let `invoice\u{202E}fdp.exe` display as `invoiceexe.pdf`.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// The client's filename reduced to something safe to store and to send back in a
/// header: the last path component (clients on either OS send full paths, attackers
/// send `../`), without control characters, trimmed and capped; when nothing usable
/// is left, a name from the type.
pub fn sanitize_filename(raw: &str, kind: DocumentType) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && !is_bidi_control(*c))
        .collect();
    let capped: String = cleaned.trim().chars().take(MAX_FILENAME_CHARS).collect();
    let name = capped.trim();
    if name.is_empty() || name == "." || name == ".." {
        kind.fallback_filename().to_owned()
    } else {
        name.to_owned()
    }
}

fn sha256_hex(content: &[u8]) -> String {
    hex::encode(Sha256::digest(content))
}

impl Cadre {
    /// Stores a document for a user the actor may change.
    pub async fn upload_document(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        user_id: &str,
        filename: &str,
        content: Vec<u8>,
    ) -> Result<DocumentView> {
        if !actor.can(Action::UserDeactivate) && !actor.can(Action::UserUpdate) {
            return Err(ServiceError::forbidden(
                "action_not_allowed",
                format!(
                    "this needs the '{}' or the '{}' action",
                    Action::UserDeactivate.code(),
                    Action::UserUpdate.code()
                ),
            ));
        }
        let mut tx = self.db.begin().await?;
        // Scope before content, so that nothing about a hidden user leaks through
        // the validation messages.
        let target = self
            .load_target(&mut tx, actor, user_id, Target::Modify)
            .await?;
        if content.is_empty() {
            return Err(ServiceError::invalid(
                "file",
                "empty_file",
                "the file is empty",
            ));
        }
        // The web layer answers 413 before getting here; this guards the other callers
        // (command line, bulk jobs), for which there is no payload size status.
        if content.len() > MAX_DOCUMENT_BYTES {
            return Err(ServiceError::invalid(
                "file",
                "file_too_large",
                format!("a document may be at most {MAX_DOCUMENT_BYTES} bytes"),
            ));
        }
        let kind = sniff(&content).ok_or_else(|| {
            ServiceError::invalid(
                "file",
                "unsupported_file_type",
                "the file must be a PDF, PNG or JPEG document",
            )
        })?;
        let size = i64::try_from(content.len())
            .map_err(|_| ServiceError::Internal("document size overflows i64".into()))?;
        let row = DocumentRow {
            id: uuid::Uuid::now_v7().to_string(),
            user_id: target.row.id.clone(),
            status_change_id: None,
            filename: sanitize_filename(filename, kind),
            content_type: kind.content_type().to_owned(),
            size,
            sha256: sha256_hex(&content),
            created_by: Some(actor.user_id.clone()),
            created_at: cadre_store::timestamp(self.clock.now()),
        };
        store::insert(&mut tx, &row, content).await?;
        let view = DocumentView::from(row);
        self.record_by(
            &mut tx,
            actor,
            meta,
            Event::new("document.upload")
                .target("user", &target.row.id, &target.row.username)
                .after(&view),
        )
        .await?;
        tx.commit().await?;
        Ok(view)
    }

    /// The documents of a user the actor can see, oldest first.
    pub async fn list_documents(&self, actor: &Actor, user_id: &str) -> Result<Vec<DocumentView>> {
        actor.require(Action::UserRead)?;
        let mut conn = self.db.reader().await?;
        let target = self
            .load_target(&mut conn, actor, user_id, Target::View)
            .await?;
        Ok(store::of_user(&mut conn, &target.row.id)
            .await?
            .into_iter()
            .map(DocumentView::from)
            .collect())
    }

    /// A document with its content; documents of users the actor cannot see do not
    /// exist for them.
    pub async fn document_content(
        &self,
        actor: &Actor,
        document_id: &str,
    ) -> Result<(DocumentView, Vec<u8>)> {
        actor.require(Action::UserRead)?;
        let mut conn = self.db.reader().await?;
        let (row, content) = store::content(&mut conn, document_id)
            .await?
            .ok_or(ServiceError::NotFound)?;
        self.load_target(&mut conn, actor, &row.user_id, Target::View)
            .await?;
        Ok((DocumentView::from(row), content))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_recognised_by_their_magic_bytes() {
        assert_eq!(sniff(b"%PDF-1.4\n%..."), Some(DocumentType::Pdf));
        assert_eq!(
            sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"),
            Some(DocumentType::Png)
        );
        assert_eq!(
            sniff(b"\xFF\xD8\xFF\xE0\0\x10JFIF"),
            Some(DocumentType::Jpeg)
        );
        assert_eq!(sniff(b"\xFF\xD8\xFF"), Some(DocumentType::Jpeg));
    }

    #[test]
    fn other_content_is_not_recognised_whatever_it_resembles() {
        assert_eq!(sniff(b""), None);
        assert_eq!(sniff(b"%PDF"), None, "truncated magic");
        assert_eq!(sniff(b" %PDF-1.4"), None, "magic must be at the start");
        assert_eq!(sniff(b"\x89PNG\r\n"), None);
        assert_eq!(sniff(b"\xFF\xD8"), None);
        assert_eq!(sniff(b"<html><script>alert(1)</script>"), None);
        assert_eq!(sniff(b"<svg xmlns='http://www.w3.org/2000/svg'/>"), None);
        assert_eq!(sniff(b"GIF89a"), None);
        assert_eq!(sniff(b"PK\x03\x04"), None);
    }

    #[test]
    fn content_types_match_the_contract() {
        assert_eq!(DocumentType::Pdf.content_type(), "application/pdf");
        assert_eq!(DocumentType::Png.content_type(), "image/png");
        assert_eq!(DocumentType::Jpeg.content_type(), "image/jpeg");
    }

    #[test]
    fn filenames_keep_only_their_last_component() {
        let pdf = DocumentType::Pdf;
        assert_eq!(sanitize_filename("../../etc/passwd", pdf), "passwd");
        assert_eq!(
            sanitize_filename("C:\\Users\\ana\\Ordem 12.pdf", pdf),
            "Ordem 12.pdf"
        );
        assert_eq!(sanitize_filename("a/b\\c/d.pdf", pdf), "d.pdf");
        assert_eq!(sanitize_filename("ordem.pdf", pdf), "ordem.pdf");
        assert_eq!(
            sanitize_filename("Ordem nº 3 — Tete.pdf", pdf),
            "Ordem nº 3 — Tete.pdf"
        );
    }

    #[test]
    fn filenames_lose_control_characters_and_surrounding_space() {
        let pdf = DocumentType::Pdf;
        assert_eq!(sanitize_filename("  a\r\nb\tc\0.pdf  ", pdf), "abc.pdf");
        assert_eq!(sanitize_filename("x\u{7f}y.pdf", pdf), "xy.pdf");
        assert_eq!(
            sanitize_filename("invoice\u{202E}fdp.exe", pdf),
            "invoicefdp.exe"
        );
    }

    #[test]
    fn filenames_are_capped() {
        let long = "é".repeat(500) + ".pdf";
        let name = sanitize_filename(&long, DocumentType::Pdf);
        assert_eq!(name.chars().count(), MAX_FILENAME_CHARS);
        let spaced = "a".repeat(199) + "   tail";
        assert_eq!(
            sanitize_filename(&spaced, DocumentType::Pdf),
            "a".repeat(199)
        );
    }

    #[test]
    fn empty_names_fall_back_by_type() {
        assert_eq!(sanitize_filename("", DocumentType::Pdf), "document.pdf");
        assert_eq!(sanitize_filename("   ", DocumentType::Png), "document.png");
        assert_eq!(
            sanitize_filename("uploads/", DocumentType::Jpeg),
            "document.jpg"
        );
        assert_eq!(sanitize_filename("..", DocumentType::Pdf), "document.pdf");
        assert_eq!(sanitize_filename("a/.", DocumentType::Pdf), "document.pdf");
        assert_eq!(
            sanitize_filename("\r\n\t", DocumentType::Png),
            "document.png"
        );
    }

    #[test]
    fn digests_are_lower_case_hex_sha256() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
