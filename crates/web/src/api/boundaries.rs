use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{header, StatusCode};
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

use cadre_service::boundaries::{BoundaryFilter, BoundaryInput, BoundaryView, ImportSummary};

use crate::api::ListOf;
use crate::extract::{body_error, ApiJson, ApiQuery, Auth, Meta};
use crate::problem::{ApiError, Problem};
use crate::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BoundaryParams {
    /// Children of this boundary.
    pub parent: Option<String>,
    /// Only the roots of the hierarchy.
    pub roots: Option<bool>,
    pub level: Option<String>,
    /// Name fragment, accent- and case-insensitive.
    pub q: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Browse or search boundaries.
#[utoipa::path(get, path = "/api/v1/boundaries", tag = "boundaries", params(BoundaryParams),
    responses((status = 200, body = ListOf<BoundaryView>)))]
pub async fn list(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiQuery(p): ApiQuery<BoundaryParams>,
) -> Result<Json<ListOf<BoundaryView>>, ApiError> {
    let filter = BoundaryFilter {
        parent: p.parent.filter(|s| !s.is_empty()),
        roots: p.roots.unwrap_or(false),
        level: p.level.filter(|s| !s.is_empty()),
        q: p.q,
        limit: p.limit,
        cursor: p.cursor,
    };
    Ok(Json(
        state.cadre.list_boundaries(&actor, filter).await?.into(),
    ))
}

/// Create one boundary.
#[utoipa::path(post, path = "/api/v1/boundaries", tag = "boundaries", request_body = BoundaryInput,
    responses((status = 201, body = BoundaryView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<BoundaryInput>,
) -> Result<(StatusCode, Json<BoundaryView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(state.cadre.create_boundary(&actor, &meta, body).await?),
    ))
}

/// One boundary with its ancestors.
#[utoipa::path(get, path = "/api/v1/boundaries/{code}", tag = "boundaries", params(("code" = String, Path)),
    responses((status = 200, body = BoundaryView), (status = 404, body = Problem)))]
pub async fn get(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(code): Path<String>,
) -> Result<Json<BoundaryView>, ApiError> {
    Ok(Json(state.cadre.get_boundary(&actor, &code).await?))
}

/// Import `code,name,level,parent_code` CSV, as the body (text/csv) or as the `file`
/// part of a multipart form. Valid rows are saved; the others are listed.
#[utoipa::path(post, path = "/api/v1/boundaries/import", tag = "boundaries",
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = ImportSummary), (status = 413, body = Problem)))]
pub async fn import(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Meta(meta): Meta,
    request: Request,
) -> Result<Json<ImportSummary>, ApiError> {
    let is_multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("multipart/form-data"));
    let data = if is_multipart {
        let mut multipart = Multipart::from_request(request, &state)
            .await
            .map_err(|e| ApiError::bad_request("file", "malformed_multipart", e.body_text()))?;
        let mut file = None;
        while let Some(field) = multipart
            .next_field()
            .await
            .map_err(|e| multipart_error(e.status(), e.body_text()))?
        {
            if field.name() == Some("file") {
                file = Some(
                    field
                        .bytes()
                        .await
                        .map_err(|e| multipart_error(e.status(), e.body_text()))?,
                );
            }
        }
        file.ok_or_else(|| {
            ApiError::bad_request("file", "missing_field", "the form needs a 'file' part")
        })?
    } else {
        Bytes::from_request(request, &state)
            .await
            .map_err(body_error)?
    };
    Ok(Json(
        state.cadre.import_boundaries(&actor, &meta, &data).await?,
    ))
}

fn multipart_error(status: StatusCode, text: String) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "the upload is larger than this server accepts",
        )
    } else {
        ApiError::bad_request("file", "malformed_multipart", text)
    }
}
