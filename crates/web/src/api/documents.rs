use axum::extract::multipart::{MultipartError, MultipartRejection};
use axum::extract::{Multipart, Path, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use cadre_service::documents::{DocumentView, MAX_DOCUMENT_BYTES};

use crate::api::ListOf;
use crate::extract::{Auth, Meta};
use crate::problem::{ApiError, Problem};
use crate::AppState;

/// The OpenAPI shape of the upload form.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct DocumentUpload {
    /// A PDF, PNG or JPEG file; its type is recognised from its content.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("a document may be at most {MAX_DOCUMENT_BYTES} bytes"),
    )
}

fn multipart_error(error: MultipartError) -> ApiError {
    // The global body limit surfaces here, while the form is being read.
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_large()
    } else {
        ApiError::bad_request("file", "malformed_multipart", error.body_text())
    }
}

/// Attach a document (PDF, PNG or JPEG, at most 5 MiB) to a user, as the `file` part of
/// a multipart form.
#[utoipa::path(post, path = "/api/v1/users/{id}/documents", tag = "users", operation_id = "upload_document", params(("id" = String, Path)),
    request_body(content = DocumentUpload, content_type = "multipart/form-data"),
    responses((status = 201, body = DocumentView), (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem)))]
pub async fn upload(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Meta(meta): Meta,
    Path(id): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<DocumentView>), ApiError> {
    let mut multipart = multipart
        .map_err(|e| ApiError::bad_request("file", "malformed_multipart", e.body_text()))?;
    let mut file: Option<(String, Vec<u8>)> = None;
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        if field.name() != Some("file") {
            continue;
        }
        if file.is_some() {
            return Err(ApiError::bad_request(
                "file",
                "duplicate_field",
                "send one 'file' part per request",
            ));
        }
        let filename = field.file_name().unwrap_or("").to_owned();
        let mut content = Vec::new();
        // Read chunk by chunk so that an oversized file is refused without being held
        // in memory up to the global body limit.
        while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
            if content.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                return Err(too_large());
            }
            content.extend_from_slice(&chunk);
        }
        file = Some((filename, content));
    }
    let (filename, content) = file.ok_or_else(|| {
        ApiError::bad_request("file", "missing_field", "the form needs a 'file' part")
    })?;
    let view = state
        .cadre
        .upload_document(&actor, &meta, &id, &filename, content)
        .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// The documents of a user, oldest first.
#[utoipa::path(get, path = "/api/v1/users/{id}/documents", tag = "users", operation_id = "list_documents", params(("id" = String, Path)),
    responses((status = 200, body = ListOf<DocumentView>), (status = 404, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Json<ListOf<DocumentView>>, ApiError> {
    let items = state.cadre.list_documents(&actor, &id).await?;
    let total = i64::try_from(items.len()).unwrap_or(i64::MAX);
    Ok(Json(ListOf {
        items,
        next_cursor: None,
        total,
    }))
}

/// Download a document, always as an attachment.
#[utoipa::path(get, path = "/api/v1/documents/{id}", tag = "users", operation_id = "download_document", params(("id" = String, Path)),
    responses((status = 200, description = "The document's bytes, with its stored content type",
        content(("application/pdf"), ("image/png"), ("image/jpeg")),
        headers(("Content-Disposition" = String), ("X-Content-Type-Options" = String))),
        (status = 404, body = Problem)))]
pub async fn download(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (document, content) = state.cadre.document_content(&actor, &id).await?;
    let content_type = HeaderValue::from_str(&document.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let disposition = HeaderValue::from_str(&content_disposition(&document.filename))
        .unwrap_or(HeaderValue::from_static("attachment"));
    let mut response = content.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, content_type);
    headers.insert(header::CONTENT_DISPOSITION, disposition);
    headers.insert(
        HeaderName::from_static("x-content-type-options"),
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

/// `attachment` with an ASCII `filename` every client understands and, when the name
/// is not plain ASCII, the exact name as RFC 5987 `filename*`. Quotes, backslashes and
/// control characters would end or corrupt the quoted string, so they never get in.
pub fn content_disposition(filename: &str) -> String {
    let ascii: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if ascii == filename {
        format!("attachment; filename=\"{ascii}\"")
    } else {
        format!(
            "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
            rfc5987(filename)
        )
    }
}

fn rfc5987(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for byte in value.bytes() {
        let c = char::from(byte);
        if c.is_ascii_alphanumeric() || "!#$&+-.^_`|~".contains(c) {
            out.push(c);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::content_disposition;

    #[test]
    fn plain_names_are_quoted_as_they_are() {
        assert_eq!(
            content_disposition("ordem 12.pdf"),
            "attachment; filename=\"ordem 12.pdf\""
        );
    }

    #[test]
    fn quotes_and_non_ascii_cannot_break_the_header() {
        assert_eq!(
            content_disposition("a\"b\\c.pdf"),
            "attachment; filename=\"a_b_c.pdf\"; filename*=UTF-8''a%22b%5Cc.pdf"
        );
        assert_eq!(
            content_disposition("Ordem nº 3.pdf"),
            "attachment; filename=\"Ordem n_ 3.pdf\"; filename*=UTF-8''Ordem%20n%C2%BA%203.pdf"
        );
    }
}
