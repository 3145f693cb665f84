use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

use cadre_service::boundaries::BoundaryView;
use cadre_service::campaigns::{CampaignFilter, CampaignInput, CampaignPatch, CampaignView};

use crate::api::ListOf;
use crate::extract::{ApiJson, ApiQuery, Auth, IfMatch, Meta};
use crate::problem::{ApiError, Problem};
use crate::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CampaignParams {
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub campaign_type: Option<String>,
    pub parent: Option<String>,
    /// Only campaigns running on this day (YYYY-MM-DD).
    pub active_on: Option<String>,
    /// Name or code fragment.
    pub q: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

fn with_etag(view: CampaignView, status: StatusCode) -> Response {
    let etag = HeaderValue::from_str(&format!("\"{}\"", view.version)).ok();
    let mut response = (status, Json(view)).into_response();
    if let Some(etag) = etag {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}

/// List campaigns.
#[utoipa::path(get, path = "/api/v1/campaigns", tag = "campaigns", params(CampaignParams), responses((status = 200, body = ListOf<CampaignView>)))]
pub async fn list(
    State(state): State<AppState>,
    Auth(actor): Auth,
    ApiQuery(p): ApiQuery<CampaignParams>,
) -> Result<Json<ListOf<CampaignView>>, ApiError> {
    let filter = CampaignFilter {
        campaign_type: p.campaign_type,
        parent: p.parent,
        active_on: p.active_on,
        q: p.q,
        limit: p.limit,
        cursor: p.cursor,
    };
    Ok(Json(
        state.cadre.list_campaigns(&actor, filter).await?.into(),
    ))
}

/// Create a campaign; a child lies within its parent's window and boundaries.
#[utoipa::path(post, path = "/api/v1/campaigns", tag = "campaigns", request_body = CampaignInput,
    responses((status = 201, body = CampaignView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Meta(meta): Meta,
    ApiJson(body): ApiJson<CampaignInput>,
) -> Result<Response, ApiError> {
    Ok(with_etag(
        state.cadre.create_campaign(&actor, &meta, body).await?,
        StatusCode::CREATED,
    ))
}

#[utoipa::path(get, path = "/api/v1/campaigns/{code}", tag = "campaigns", params(("code" = String, Path)),
    responses((status = 200, body = CampaignView), (status = 404, body = Problem)))]
pub async fn get(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(code): Path<String>,
) -> Result<Response, ApiError> {
    Ok(with_etag(
        state.cadre.get_campaign(&actor, &code).await?,
        StatusCode::OK,
    ))
}

/// Change a campaign; open assignments are re-clamped to a narrower window.
#[utoipa::path(patch, path = "/api/v1/campaigns/{code}", tag = "campaigns", params(("code" = String, Path), ("If-Match" = Option<String>, Header)), request_body = CampaignPatch,
    responses((status = 200, body = CampaignView), (status = 404, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem)))]
pub async fn update(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Meta(meta): Meta,
    IfMatch(version): IfMatch,
    Path(code): Path<String>,
    ApiJson(body): ApiJson<CampaignPatch>,
) -> Result<Response, ApiError> {
    Ok(with_etag(
        state
            .cadre
            .update_campaign(&actor, &meta, &code, version, body)
            .await?,
        StatusCode::OK,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Service-delivery boundaries of the campaign (in the caller's scope) with nobody assigned.
#[utoipa::path(get, path = "/api/v1/campaigns/{code}/coverage", tag = "campaigns", params(("code" = String, Path), PageParams),
    responses((status = 200, body = ListOf<BoundaryView>), (status = 404, body = Problem)))]
pub async fn coverage(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Path(code): Path<String>,
    ApiQuery(p): ApiQuery<PageParams>,
) -> Result<Json<ListOf<BoundaryView>>, ApiError> {
    Ok(Json(
        state
            .cadre
            .campaign_coverage(&actor, &code, p.limit, p.cursor)
            .await?
            .into(),
    ))
}
