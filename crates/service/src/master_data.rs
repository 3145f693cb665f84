//! Master data: built-in lists, replaced by the config file, replaced again by lists
//! edited through the API.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use utoipa::ToSchema;

use cadre_domain::limits;
use cadre_domain::master_data::{ListItem, LIST_NAMES};
use cadre_domain::{Action, MasterData, UserField, ValidationErrors};

use cadre_store::Conn;

use crate::audit::Event;
use crate::{Actor, Cadre, RequestMeta, Result, ServiceError};

/// `GET /api/v1/master-data`: every list, and the user rules that come from configuration.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MasterDataView {
    /// Each list by name: genders, employment_types, departments, deactivation_reasons,
    /// reactivation_reasons, campaign_types, boundary_levels.
    #[schema(value_type = Object)]
    pub lists: BTreeMap<String, Vec<ListItem>>,
    pub username_format: String,
    pub username_pattern: String,
    pub required_fields: Vec<String>,
    pub default_country: String,
}

impl Cadre {
    /// The lists in force: stored edits over configured values over built-ins.
    pub async fn master_data(&self) -> Result<MasterData> {
        let mut conn = self.db.reader().await?;
        self.master_data_in(&mut conn).await
    }

    /// [`Cadre::master_data`] read on `conn` (inside a transaction, say).
    pub(crate) async fn master_data_in(&self, conn: &mut Conn) -> Result<MasterData> {
        let mut data = self.settings.master_data.clone();
        for (name, json) in cadre_store::master_data::all(conn).await? {
            let items: Vec<ListItem> = serde_json::from_str(&json)
                .map_err(|e| ServiceError::Internal(format!("master data list {name}: {e}")))?;
            data.lists.insert(name, items);
        }
        Ok(data)
    }

    pub async fn master_data_view(&self, _actor: &Actor) -> Result<MasterDataView> {
        let data = self.master_data().await?;
        Ok(MasterDataView {
            lists: data.lists,
            username_format: self.settings.username_format.as_str().to_owned(),
            username_pattern: self.settings.username_rule_source(),
            required_fields: self
                .settings
                .required_fields
                .fields()
                .iter()
                .map(|f: &UserField| f.name().to_owned())
                .collect(),
            default_country: self.settings.default_country_code.clone(),
        })
    }

    pub async fn put_master_data(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        list: &str,
        items: Vec<ListItem>,
    ) -> Result<Vec<ListItem>> {
        actor.require(Action::MasterDataManage)?;
        if !LIST_NAMES.contains(&list) {
            return Err(ServiceError::NotFound);
        }
        let mut errors = ValidationErrors::new();
        if items.is_empty() {
            errors.add("items", "required", "a list needs at least one item");
        }
        if errors.too_many("items", items.len(), limits::LIST_ITEMS) {
            return Err(errors.into());
        }
        let mut seen = BTreeSet::new();
        let mut cleaned = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            let code = item.code.trim().to_owned();
            let label = item.label.trim().to_owned();
            let code_ok = !code.is_empty()
                && code.len() <= 64
                && code
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
            if !code_ok {
                errors.add(
                    format!("[{i}].code"),
                    "invalid_code",
                    "use 1 to 64 letters, digits, '_', '-' or '.'",
                );
            } else if !seen.insert(code.to_uppercase()) {
                errors.add(
                    format!("[{i}].code"),
                    "duplicate_code",
                    format!("'{code}' appears twice"),
                );
            }
            if label.is_empty() || label.chars().count() > 200 {
                errors.add(
                    format!("[{i}].label"),
                    "invalid_length",
                    "a label of 1 to 200 characters is required",
                );
            }
            cleaned.push(ListItem { code, label });
        }
        errors.into_result()?;
        let json =
            serde_json::to_string(&cleaned).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let now = cadre_store::timestamp(self.clock.now());
        let mut tx = self.db.begin().await?;
        // A list may have no row yet (the settings' defaults), so its name is locked.
        cadre_store::locks::lock_name(&mut tx, "master_data", list).await?;
        let before = self.master_data_in(&mut tx).await?.list(list).to_vec();
        cadre_store::master_data::put(&mut tx, list, &json, &now).await?;
        self.record_by(
            &mut tx,
            actor,
            meta,
            Event::new("master_data.update")
                .target("master_data", list, list)
                .before(&before)
                .after(&cleaned),
        )
        .await?;
        tx.commit().await?;
        Ok(cleaned)
    }
}
