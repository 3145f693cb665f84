//! The boundary hierarchy: import, browse, search.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use cadre_domain::boundary::MAX_DEPTH;
use cadre_domain::{Action, BoundaryCode, BoundaryPath, MasterData, ValidationErrors};
use cadre_store::boundaries::{self as store, BoundaryQuery, BoundaryRow};
use cadre_store::{Conn, Page};

use crate::audit::Event;
use crate::{Actor, Cadre, RequestMeta, Result, ServiceError};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BoundaryView {
    pub code: String,
    pub name: String,
    pub level: String,
    pub parent_code: Option<String>,
    /// 1 for a root of the hierarchy.
    pub depth: i64,
    /// From the root down to the parent; only when one boundary is read.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(no_recursion)]
    pub ancestors: Option<Vec<BoundaryView>>,
}

impl From<BoundaryRow> for BoundaryView {
    fn from(b: BoundaryRow) -> Self {
        Self {
            code: b.code,
            name: b.name,
            level: b.level,
            parent_code: b.parent_code,
            depth: b.depth,
            ancestors: None,
        }
    }
}

/// Body of `POST /api/v1/boundaries`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BoundaryInput {
    pub code: String,
    pub name: String,
    pub level: String,
    #[serde(default)]
    pub parent_code: Option<String>,
}

/// One rejected row of an import.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct RowError {
    /// Line number in the file, the header being line 1.
    pub row: usize,
    pub column: String,
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportSummary {
    pub total_rows: usize,
    pub created: usize,
    pub updated: usize,
    /// Rows identical to what was already stored.
    pub unchanged: usize,
    pub failed: usize,
    pub errors: Vec<RowError>,
}

/// Filters of `GET /api/v1/boundaries`.
#[derive(Debug, Clone, Default)]
pub struct BoundaryFilter {
    pub parent: Option<String>,
    pub roots: bool,
    pub level: Option<String>,
    pub q: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

struct Candidate {
    row: usize,
    code: BoundaryCode,
    name: String,
    level: String,
    parent: Option<BoundaryCode>,
}

/// Parses `code,name,level,parent_code` CSV (header names in any case and order, with
/// or without a byte-order mark, `,` or `;`).
fn parse_csv(data: &[u8], master: &MasterData) -> (Vec<Candidate>, Vec<RowError>, usize) {
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    let first_line = data.split(|b| *b == b'\n').next().unwrap_or_default();
    let delimiter = if first_line.iter().filter(|b| **b == b';').count()
        > first_line.iter().filter(|b| **b == b',').count()
    {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(data);
    let mut errors = Vec::new();
    let headers: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|s| s.trim().to_lowercase()).collect(),
        Err(e) => {
            errors.push(RowError {
                row: 1,
                column: String::new(),
                code: "malformed_file".into(),
                message: e.to_string(),
            });
            return (Vec::new(), errors, 0);
        }
    };
    let index = |name: &str| headers.iter().position(|h| h == name);
    let (Some(ic), Some(iname), Some(ilevel)) = (index("code"), index("name"), index("level"))
    else {
        errors.push(RowError {
            row: 1,
            column: String::new(),
            code: "missing_columns".into(),
            message: "the header must name the columns code, name, level and parent_code".into(),
        });
        return (Vec::new(), errors, 0);
    };
    let iparent = index("parent_code");
    let mut candidates = Vec::new();
    let mut total = 0;
    for (i, record) in reader.records().enumerate() {
        let row = i + 2;
        total += 1;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                errors.push(RowError {
                    row,
                    column: String::new(),
                    code: "malformed_row".into(),
                    message: e.to_string(),
                });
                continue;
            }
        };
        let cell = |i: usize| record.get(i).unwrap_or("").trim().to_owned();
        let mut row_errors = ValidationErrors::new();
        let code = row_errors.check(BoundaryCode::parse("code", &cell(ic)));
        let name = cell(iname);
        if name.is_empty() || name.chars().count() > 200 {
            row_errors.add(
                "name",
                "invalid_length",
                "a name of 1 to 200 characters is required",
            );
        }
        let level = row_errors.check(master.resolve("boundary_levels", "level", &cell(ilevel)));
        let parent_raw = iparent.map(cell).unwrap_or_default();
        let parent = if parent_raw.is_empty() {
            None
        } else {
            row_errors.check(BoundaryCode::parse("parent_code", &parent_raw))
        };
        if let (true, Some(code), Some(level)) = (row_errors.is_empty(), code, level) {
            candidates.push(Candidate {
                row,
                code,
                name,
                level,
                parent,
            });
        } else {
            errors.extend(row_errors.into_errors().into_iter().map(|e| RowError {
                row,
                column: e.field,
                code: e.code,
                message: e.message,
            }));
        }
    }
    (candidates, errors, total)
}

/// What an import would make of a boundary CSV, without touching the database: the line
/// numbers of the rows it would take, the rows it refuses (each by line and column) and
/// the number of data rows. The parsing half of an import, open to property tests and
/// fuzzing (fuzz/).
pub fn check_boundary_csv(data: &[u8], master: &MasterData) -> (Vec<usize>, Vec<RowError>, usize) {
    let (candidates, errors, total) = parse_csv(data, master);
    (candidates.iter().map(|c| c.row).collect(), errors, total)
}

impl Cadre {
    pub async fn list_boundaries(
        &self,
        actor: &Actor,
        filter: BoundaryFilter,
    ) -> Result<Page<BoundaryView>> {
        actor.require(Action::BoundaryRead)?;
        let limit = crate::users::page_limit(filter.limit)?;
        let after_code = filter
            .cursor
            .as_deref()
            .map(crate::audit::decode_cursor_raw)
            .transpose()?;
        let query = BoundaryQuery {
            parent: filter.parent,
            roots_only: filter.roots,
            level: filter.level,
            name: filter
                .q
                .map(|q| cadre_domain::text::fold(&q))
                .filter(|q| !q.is_empty()),
            within: None,
            after_code,
            limit,
        };
        let mut conn = self.db.reader().await?;
        let page = store::list(&mut conn, &query).await?;
        Ok(Page {
            items: page.items.into_iter().map(BoundaryView::from).collect(),
            next_cursor: page.next_cursor.map(|c| crate::audit::encode_cursor(&c)),
            total: page.total,
        })
    }

    pub async fn get_boundary(&self, actor: &Actor, code: &str) -> Result<BoundaryView> {
        actor.require(Action::BoundaryRead)?;
        let mut conn = self.db.reader().await?;
        let boundary = store::get(&mut conn, code)
            .await?
            .ok_or(ServiceError::NotFound)?;
        let path = boundary.path();
        let ancestor_codes: Vec<String> = path
            .codes()
            .filter(|c| *c != boundary.code)
            .map(str::to_owned)
            .collect();
        let mut ancestors = store::get_many(&mut conn, &ancestor_codes).await?;
        ancestors.sort_by_key(|b| b.depth);
        let mut view = BoundaryView::from(boundary);
        view.ancestors = Some(ancestors.into_iter().map(BoundaryView::from).collect());
        Ok(view)
    }

    /// The number of boundaries below `code`, itself included.
    pub async fn boundary_subtree_size(&self, actor: &Actor, code: &str) -> Result<i64> {
        actor.require(Action::BoundaryRead)?;
        let mut conn = self.db.reader().await?;
        let boundary = store::get(&mut conn, code)
            .await?
            .ok_or(ServiceError::NotFound)?;
        Ok(store::subtree_count(&mut conn, &boundary.path()).await?)
    }

    pub async fn create_boundary(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        input: BoundaryInput,
    ) -> Result<BoundaryView> {
        actor.require(Action::BoundaryManage)?;
        let master = self.master_data().await?;
        let mut errors = ValidationErrors::new();
        let code = errors.check(BoundaryCode::parse("code", &input.code));
        let name = input.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 200 {
            errors.add(
                "name",
                "invalid_length",
                "a name of 1 to 200 characters is required",
            );
        }
        let level = errors.check(master.resolve("boundary_levels", "level", &input.level));
        let parent = match input
            .parent_code
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            Some(p) => errors.check(BoundaryCode::parse("parent_code", p)),
            None => None,
        };
        errors.clone().into_result()?;
        let (Some(code), Some(level)) = (code, level) else {
            return Err(errors.into());
        };
        let mut tx = self.db.begin().await?;
        if store::get(&mut tx, code.as_str()).await?.is_some() {
            return Err(ServiceError::conflict(
                "duplicate_code",
                format!("boundary '{code}' exists"),
            ));
        }
        let (path, depth) = match &parent {
            None => (BoundaryPath::root(&code), 1),
            Some(parent_code) => {
                let parent_row = store::get(&mut tx, parent_code.as_str())
                    .await?
                    .ok_or_else(|| {
                        ServiceError::invalid(
                            "parent_code",
                            "unknown_boundary",
                            format!("boundary '{parent_code}' does not exist"),
                        )
                    })?;
                check_level_order(&master, &parent_row.level, &level)
                    .map_err(|m| ServiceError::invalid("level", "level_order", m))?;
                (parent_row.path().child(&code), parent_row.depth + 1)
            }
        };
        if depth > MAX_DEPTH {
            return Err(ServiceError::invalid(
                "parent_code",
                "too_deep",
                format!("a boundary may lie at most {MAX_DEPTH} levels deep"),
            ));
        }
        let row = BoundaryRow {
            code: code.as_str().to_owned(),
            name,
            level,
            parent_code: parent.map(|p| p.as_str().to_owned()),
            path: path.as_str().to_owned(),
            depth,
        };
        let now = cadre_store::timestamp(self.clock.now());
        store::upsert_many(&mut tx, std::slice::from_ref(&row), &now).await?;
        let view = BoundaryView::from(row);
        self.record_by(
            &mut tx,
            actor,
            meta,
            Event::new("boundary.create")
                .target("boundary", &view.code, &view.name)
                .after(&view),
        )
        .await?;
        tx.commit().await?;
        Ok(view)
    }

    /// Imports a boundary CSV. Valid rows are saved even when others fail; a row whose
    /// parent failed fails too. Existing boundaries are renamed or re-levelled, never
    /// moved to another parent.
    pub async fn import_boundaries(
        &self,
        actor: &Actor,
        meta: &RequestMeta,
        data: &[u8],
    ) -> Result<ImportSummary> {
        actor.require(Action::BoundaryManage)?;
        let master = self.master_data().await?;
        let (candidates, mut errors, total_rows) = parse_csv(data, &master);
        let mut tx = self.db.begin().await?;
        let resolved = resolve(&mut tx, &master, candidates, &mut errors).await?;
        let now = cadre_store::timestamp(self.clock.now());
        store::upsert_many(&mut tx, &resolved.changed, &now).await?;
        errors.sort_by_key(|e| e.row);
        let failed_rows: HashSet<usize> = errors.iter().map(|e| e.row).collect();
        let summary = ImportSummary {
            total_rows,
            created: resolved.created,
            updated: resolved.changed.len() - resolved.created,
            unchanged: resolved.unchanged,
            failed: failed_rows.len(),
            errors,
        };
        self.record_by(
            &mut tx,
            actor,
            meta,
            Event::new("boundary.import").after(serde_json::json!({
                "total_rows": summary.total_rows, "created": summary.created,
                "updated": summary.updated, "unchanged": summary.unchanged, "failed": summary.failed,
            })),
        )
        .await?;
        tx.commit().await?;
        Ok(summary)
    }
}

fn check_level_order(master: &MasterData, parent_level: &str, level: &str) -> Result<(), String> {
    match (master.level_rank(parent_level), master.level_rank(level)) {
        (Some(p), Some(c)) if c <= p => Err(format!("a {level} cannot be inside a {parent_level}")),
        _ => Ok(()),
    }
}

/// The rows an import writes (new or changed, ordered parents first), and counts.
struct Resolved {
    changed: Vec<BoundaryRow>,
    created: usize,
    unchanged: usize,
}

/// Works out every candidate's path, parents first.
async fn resolve(
    conn: &mut Conn,
    master: &MasterData,
    candidates: Vec<Candidate>,
    errors: &mut Vec<RowError>,
) -> Result<Resolved> {
    let mut by_code: HashMap<String, Candidate> = HashMap::new();
    let mut duplicates = HashSet::new();
    for c in candidates {
        let key = c.code.as_str().to_owned();
        if let Some(first) = by_code.get(&key) {
            for row in [first.row, c.row] {
                errors.push(RowError {
                    row,
                    column: "code".into(),
                    code: "duplicate_code".into(),
                    message: format!("'{key}' appears more than once in the file"),
                });
            }
            duplicates.insert(key);
        } else {
            by_code.insert(key, c);
        }
    }
    for code in &duplicates {
        by_code.remove(code);
    }
    let mut wanted: Vec<String> = by_code.keys().cloned().collect();
    wanted.extend(
        by_code
            .values()
            .filter_map(|c| c.parent.as_ref().map(|p| p.as_str().to_owned())),
    );
    wanted.sort();
    wanted.dedup();
    let existing: HashMap<String, BoundaryRow> = store::get_many(conn, &wanted)
        .await?
        .into_iter()
        .map(|b| (b.code.clone(), b))
        .collect();

    // Resolve iteratively (no recursion: a hierarchy may be deep and hostile).
    let mut resolved: HashMap<String, (BoundaryPath, i64, String)> = HashMap::new();
    let mut failed: HashSet<String> = duplicates;
    let codes: Vec<String> = by_code.keys().cloned().collect();
    for start in codes {
        let mut chain: Vec<String> = Vec::new();
        let mut cursor = Some(start.clone());
        // Walk up until something is known.
        let base: Option<(BoundaryPath, i64, String)> = loop {
            let Some(code) = cursor.clone() else {
                break None;
            };
            if let Some(done) = resolved.get(&code) {
                break Some(done.clone());
            }
            if failed.contains(&code) {
                break None;
            }
            if chain.contains(&code) {
                for c in &chain {
                    if let Some(cand) = by_code.get(c) {
                        errors.push(RowError {
                            row: cand.row,
                            column: "parent_code".into(),
                            code: "cycle".into(),
                            message: "the parent chain loops back to this boundary".into(),
                        });
                    }
                }
                failed.extend(chain.drain(..));
                break None;
            }
            match by_code.get(&code) {
                Some(cand) => {
                    chain.push(code.clone());
                    cursor = cand.parent.as_ref().map(|p| p.as_str().to_owned());
                    if cursor.is_none() {
                        break Some((BoundaryPath::from_stored("/".into()), 0, String::new()));
                    }
                }
                None => match existing.get(&code) {
                    Some(row) => break Some((row.path(), row.depth, row.level.clone())),
                    None => {
                        if let Some(child) = chain.last().and_then(|c| by_code.get(c)) {
                            errors.push(RowError {
                                row: child.row,
                                column: "parent_code".into(),
                                code: "unknown_boundary".into(),
                                message: format!(
                                    "parent '{code}' is neither in the file nor in cadre"
                                ),
                            });
                        }
                        break None;
                    }
                },
            }
        };
        let Some(mut parent) = base else {
            failed.extend(chain);
            continue;
        };
        // Walk back down, creating paths.
        while let Some(code) = chain.pop() {
            let Some(cand) = by_code.get(&code) else {
                break;
            };
            let mut problem = None;
            if let Some(old) = existing.get(&code) {
                if old.parent_code.as_deref() != cand.parent.as_ref().map(|p| p.as_str()) {
                    problem = Some(("parent_code", "parent_change_unsupported", format!("'{code}' already exists under another parent; moving boundaries is not supported")));
                }
            }
            if problem.is_none() && !parent.2.is_empty() {
                if let Err(m) = check_level_order(master, &parent.2, &cand.level) {
                    problem = Some(("level", "level_order", m));
                }
            }
            if let Some((column, code_str, message)) = problem {
                errors.push(RowError {
                    row: cand.row,
                    column: column.into(),
                    code: code_str.into(),
                    message,
                });
                failed.insert(code);
                for rest in chain.drain(..) {
                    if let Some(c) = by_code.get(&rest) {
                        errors.push(RowError {
                            row: c.row,
                            column: "parent_code".into(),
                            code: "parent_failed".into(),
                            message: "its parent could not be imported".into(),
                        });
                    }
                    failed.insert(rest);
                }
                break;
            }
            let path = if parent.1 == 0 {
                BoundaryPath::root(&cand.code)
            } else {
                parent.0.child(&cand.code)
            };
            let entry = (path, parent.1 + 1, cand.level.clone());
            resolved.insert(code, entry.clone());
            parent = entry;
        }
    }

    let mut rows: Vec<BoundaryRow> = Vec::with_capacity(resolved.len());
    for (code, (path, depth, _)) in resolved {
        let Some(c) = by_code.remove(&code) else {
            continue;
        };
        if depth > MAX_DEPTH {
            errors.push(RowError {
                row: c.row,
                column: "parent_code".into(),
                code: "too_deep".into(),
                message: format!("a boundary may lie at most {MAX_DEPTH} levels deep"),
            });
            failed.insert(code);
            continue;
        }
        rows.push(BoundaryRow {
            code,
            name: c.name,
            level: c.level,
            parent_code: c.parent.map(|p| p.as_str().to_owned()),
            path: path.as_str().to_owned(),
            depth,
        });
    }
    // Whatever is left unresolved failed; make sure each such row says why.
    let errored: HashSet<usize> = errors.iter().map(|e| e.row).collect();
    for c in by_code.values().filter(|c| !errored.contains(&c.row)) {
        errors.push(RowError {
            row: c.row,
            column: "parent_code".into(),
            code: "parent_failed".into(),
            message: "its parent could not be imported".into(),
        });
    }
    rows.sort_by(|a, b| a.depth.cmp(&b.depth).then_with(|| a.code.cmp(&b.code)));
    let created = rows
        .iter()
        .filter(|r| !existing.contains_key(&r.code))
        .count();
    let total = rows.len();
    let changed: Vec<BoundaryRow> = rows
        .into_iter()
        .filter(|r| existing.get(&r.code) != Some(r))
        .collect();
    Ok(Resolved {
        unchanged: total - changed.len(),
        changed,
        created,
    })
}
