use axum::extract::{Path, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use cadre_domain::master_data::ListItem;
use cadre_service::master_data::MasterDataView;

use crate::extract::{ApiJson, Auth, Meta};
use crate::problem::{ApiError, Problem};
use crate::AppState;

/// One entry of a list.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Item {
    pub code: String,
    pub label: String,
}

/// Every list, and the user rules set by configuration.
#[utoipa::path(get, path = "/api/v1/master-data", tag = "master-data", responses((status = 200, body = MasterDataView)))]
pub async fn get(
    State(state): State<AppState>,
    Auth(actor): Auth,
) -> Result<Json<MasterDataView>, ApiError> {
    Ok(Json(state.cadre.master_data_view(&actor).await?))
}

/// Replace one list.
#[utoipa::path(put, path = "/api/v1/master-data/{list}", tag = "master-data", params(("list" = String, Path)), request_body = Vec<Item>,
    responses((status = 200, body = Vec<Item>), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn put(
    State(state): State<AppState>,
    Auth(actor): Auth,
    Meta(meta): Meta,
    Path(list): Path<String>,
    ApiJson(items): ApiJson<Vec<Item>>,
) -> Result<Json<Vec<Item>>, ApiError> {
    let items = items
        .into_iter()
        .map(|i| ListItem {
            code: i.code,
            label: i.label,
        })
        .collect();
    let saved = state
        .cadre
        .put_master_data(&actor, &meta, &list, items)
        .await?;
    Ok(Json(
        saved
            .into_iter()
            .map(|i| Item {
                code: i.code,
                label: i.label,
            })
            .collect(),
    ))
}
