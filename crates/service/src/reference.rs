//! Reference data (master data lists, roles and what they allow, boundaries, campaigns)
//! read once per unit of work. Checking a new user reads the same roles, boundaries and campaign that the
//! previous user in a bulk batch needed; asking the database again for each user cost
//! seven statements a row. A cache lives only as long as the unit of work that made it
//! (a request, or one batch's transaction), which changes none of these tables, so it
//! can never show stale data to anyone else.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use cadre_domain::MasterData;
use cadre_store::boundaries::BoundaryRow;
use cadre_store::campaigns::CampaignRow;
use cadre_store::Conn;
use tokio::sync::OnceCell;

use crate::{Cadre, Result};

/// What has been read so far; `None` records a code that does not exist.
#[derive(Debug, Default)]
struct Seen {
    role_actions: HashMap<String, Option<Vec<String>>>,
    boundaries: HashMap<String, Option<BoundaryRow>>,
    campaigns: HashMap<String, Option<CampaignRow>>,
}

/// A read-through cache of reference data for one unit of work.
#[derive(Debug, Default)]
pub(crate) struct Reference {
    // Never held across an await: each method copies out what it needs first.
    seen: Mutex<Seen>,
    master: OnceCell<MasterData>,
}

/// The codes of `codes` not read yet, in order, without repeats.
fn unseen<V>(seen: &HashMap<String, V>, codes: &[String]) -> Vec<String> {
    let mut missing: Vec<String> = Vec::new();
    for code in codes {
        if !seen.contains_key(code) && !missing.contains(code) {
            missing.push(code.clone());
        }
    }
    missing
}

impl Reference {
    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        // A panic while holding the lock leaves plain maps behind; they are still valid.
        self.seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The master data lists in force. Reading them for every row of a bulk batch was
    /// the larger part of the time a row took.
    pub(crate) async fn master_data(&self, cadre: &Cadre, conn: &mut Conn) -> Result<&MasterData> {
        self.master
            .get_or_try_init(|| cadre.master_data_in(conn))
            .await
    }

    /// The actions of each existing role among `codes`.
    pub(crate) async fn role_actions(
        &self,
        conn: &mut Conn,
        codes: &[String],
    ) -> Result<BTreeMap<String, Vec<String>>> {
        let missing = unseen(&self.seen().role_actions, codes);
        if !missing.is_empty() {
            let mut found = cadre_store::roles::actions_of(conn, &missing).await?;
            let mut seen = self.seen();
            for code in missing {
                let actions = found.remove(&code);
                seen.role_actions.insert(code, actions);
            }
        }
        let seen = self.seen();
        Ok(codes
            .iter()
            .filter_map(|code| {
                let actions = seen.role_actions.get(code)?.as_ref()?;
                Some((code.clone(), actions.clone()))
            })
            .collect())
    }

    /// The existing boundaries among `codes`, in no particular order.
    pub(crate) async fn boundaries(
        &self,
        conn: &mut Conn,
        codes: &[String],
    ) -> Result<Vec<BoundaryRow>> {
        let missing = unseen(&self.seen().boundaries, codes);
        if !missing.is_empty() {
            let found = cadre_store::boundaries::get_many(conn, &missing).await?;
            let mut seen = self.seen();
            for code in missing {
                let row = found.iter().find(|b| b.code == code).cloned();
                seen.boundaries.insert(code, row);
            }
        }
        let seen = self.seen();
        let mut out: Vec<BoundaryRow> = Vec::with_capacity(codes.len());
        for code in codes {
            if let Some(Some(row)) = seen.boundaries.get(code) {
                if !out.iter().any(|b| &b.code == code) {
                    out.push(row.clone());
                }
            }
        }
        Ok(out)
    }

    /// The campaign with this code, with its boundaries.
    pub(crate) async fn campaign(
        &self,
        conn: &mut Conn,
        code: &str,
    ) -> Result<Option<CampaignRow>> {
        if let Some(known) = self.seen().campaigns.get(code) {
            return Ok(known.clone());
        }
        let found = cadre_store::campaigns::get(conn, code).await?;
        self.seen().campaigns.insert(code.to_owned(), found.clone());
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unseen_codes_keep_their_order_without_repeats() {
        let mut seen: HashMap<String, Option<()>> = HashMap::new();
        seen.insert("B".into(), None);
        let codes: Vec<String> = ["A", "B", "C", "A"].map(String::from).to_vec();
        assert_eq!(unseen(&seen, &codes), ["A", "C"]);
    }
}
