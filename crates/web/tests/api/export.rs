//! `GET /api/v1/users/export`: the search result as CSV or XLSX, scoped, filtered,
//! safe to open in a spreadsheet, and audited.

use std::collections::BTreeSet;

use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{Response, World};

const BOM: &[u8] = b"\xEF\xBB\xBF";

const HEADER: [&str; 26] = [
    "id",
    "status",
    "profile_complete",
    "username",
    "first_name",
    "last_name",
    "mobile_number",
    "father_or_husband_name",
    "gender",
    "date_of_birth",
    "email",
    "correspondence_address",
    "roles",
    "employment_type",
    "date_of_employment",
    "designation",
    "department",
    "jurisdictions",
    "campaign",
    "boundaries",
    "assigned_from",
    "assigned_till",
    "deactivation_reason",
    "remarks",
    "created_at",
    "updated_at",
];

struct Download {
    status: StatusCode,
    headers: HeaderMap,
    bytes: Vec<u8>,
}

impl Download {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The problem body of an error answer.
    fn problem(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
    }

    /// The CSV rows (header first), after checking the BOM; fields unquoted.
    fn csv(&self) -> Vec<Vec<String>> {
        assert_eq!(self.status, StatusCode::OK, "{}", self.problem());
        assert!(
            self.bytes.starts_with(BOM),
            "a CSV export starts with a BOM"
        );
        let text = std::str::from_utf8(&self.bytes[BOM.len()..]).unwrap();
        parse_csv(text)
    }
}

async fn download(w: &World, token: &str, query: &str) -> Download {
    let response = w
        .app
        .client
        .get(format!("{}/api/v1/users/export{query}", w.app.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    Download {
        status: response.status(),
        headers: response.headers().clone(),
        bytes: response.bytes().await.unwrap().to_vec(),
    }
}

/// A small RFC 4180 reader: quoted fields, doubled quotes, CRLF records (and checks
/// that every record ends with CRLF).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                other => field.push(other),
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            ',' => row.push(std::mem::take(&mut field)),
            '\r' => {
                assert_eq!(chars.next(), Some('\n'), "records end with CRLF");
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            '\n' => panic!("a bare LF ends a record; CRLF expected"),
            other => field.push(other),
        }
    }
    assert!(
        row.is_empty() && field.is_empty(),
        "the last record ends with CRLF"
    );
    rows
}

/// The rows below the header as maps from column to value.
fn records(rows: &[Vec<String>]) -> Vec<std::collections::BTreeMap<String, String>> {
    let header = &rows[0];
    rows[1..]
        .iter()
        .map(|r| {
            assert_eq!(r.len(), header.len(), "{r:?}");
            header.iter().cloned().zip(r.iter().cloned()).collect()
        })
        .collect()
}

fn column(rows: &[Vec<String>], name: &str) -> BTreeSet<String> {
    records(rows).into_iter().map(|r| r[name].clone()).collect()
}

fn ids_of(list: &Response) -> BTreeSet<String> {
    list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn admin_exports_every_user_as_csv_with_bom_and_the_header_in_order() {
    let w = World::new().await;
    w.app
        .sql("UPDATE users SET status = 'deactivated' WHERE username = 'floating'")
        .await
        .unwrap();
    let all = w
        .app
        .get("/api/v1/users?status=all&limit=500", &w.admin)
        .await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);

    // `limit` and `cursor` do not page an export.
    let file = download(&w, &w.admin, "?format=csv&status=all&limit=1").await;
    assert_eq!(file.header("content-type"), "text/csv; charset=utf-8");
    assert_eq!(
        file.header("content-disposition"),
        "attachment; filename=\"users.csv\""
    );
    let rows = file.csv();
    assert_eq!(rows[0], HEADER);
    assert_eq!(column(&rows, "id"), ids_of(&all));
    assert_eq!(rows.len() - 1, all.body["total"].as_u64().unwrap() as usize);

    let by_name = records(&rows);
    let joao = by_name
        .iter()
        .find(|r| r["username"] == "joao.lopes")
        .unwrap();
    assert_eq!(joao["first_name"], "João", "accents survive: {joao:?}");
    assert_eq!(joao["status"], "active");
    assert_eq!(joao["roles"], "REGISTRAR");
    assert_eq!(joao["jurisdictions"], "ULONGUE");
    assert_eq!(joao["id"], w.tete_worker);
    let tomas = by_name
        .iter()
        .find(|r| r["username"] == "tomas.bila")
        .unwrap();
    // Multi-valued cells join the values, in the order the API lists them, with `;`.
    let api = w
        .app
        .get(&format!("/api/v1/users/{}", w.straddler), &w.admin)
        .await;
    let listed: Vec<&str> = api.body["jurisdictions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j.as_str().unwrap())
        .collect();
    assert_eq!(listed.len(), 2);
    assert_eq!(tomas["jurisdictions"], listed.join(";"));
    let floating = by_name
        .iter()
        .find(|r| r["username"] == "floating")
        .unwrap();
    assert_eq!(floating["status"], "deactivated");

    // Without a status, like the search: active users only; and csv is the default.
    let active = download(&w, &w.admin, "").await;
    let usernames = column(&active.csv(), "username");
    assert!(!usernames.contains("floating"), "{usernames:?}");
    assert!(usernames.contains("joao.lopes"), "{usernames:?}");
}

#[tokio::test]
async fn a_supervisor_exports_exactly_what_their_search_shows() {
    let w = World::new().await;
    let search = w
        .app
        .get("/api/v1/users?status=all&limit=500", &w.sup_tete)
        .await;
    assert_eq!(search.status, StatusCode::OK, "{}", search.body);
    let rows = download(&w, &w.sup_tete, "?format=csv&status=all")
        .await
        .csv();
    let exported = column(&rows, "id");
    assert_eq!(exported, ids_of(&search));
    assert!(!exported.contains(&w.niassa_worker), "{exported:?}");
    assert!(exported.contains(&w.tete_worker), "{exported:?}");
    assert!(!column(&rows, "username").contains("ana.sitoe"));
}

#[tokio::test]
async fn filters_apply_to_the_export() {
    let w = World::new().await;
    let rows = download(&w, &w.admin, "?role=DISTRIBUTOR").await.csv();
    assert_eq!(
        column(&rows, "username"),
        BTreeSet::from(["tomas.bila".to_owned()])
    );
    let rows = download(&w, &w.admin, "?boundary=NIASSA&sort=-username")
        .await
        .csv();
    let usernames: Vec<String> = records(&rows)
        .into_iter()
        .map(|r| r["username"].clone())
        .collect();
    assert_eq!(usernames, ["tomas.bila", "ana.sitoe"]);
    // A bad filter is the same 422 as the search's.
    let bad = download(&w, &w.admin, "?status=sleeping").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.problem()["errors"][0]["field"], "status");
}

#[tokio::test]
async fn formulas_are_neutralised_and_phone_numbers_stay_intact() {
    let w = World::new().await;
    let created = w
        .app
        .post(
            "/api/v1/users",
            &w.admin,
            json!({
                "username": "hyper.link",
                "credential": {"method": "none"},
                "first_name": "=HYPERLINK(\"x\")",
                "last_name": "@SUM(A1)",
                "designation": "-2+3",
                "mobile_number": "84 123 4567",
                "roles": ["REGISTRAR"],
                "jurisdictions": ["ULONGUE"]
            }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["mobile_number"], "+258841234567");
    let rows = download(&w, &w.admin, "?username=hyper").await.csv();
    let row = &records(&rows)[0];
    assert_eq!(row["first_name"], "'=HYPERLINK(\"x\")");
    assert_eq!(row["last_name"], "'@SUM(A1)");
    assert_eq!(row["designation"], "'-2+3");
    assert_eq!(row["mobile_number"], "+258841234567");
}

#[tokio::test]
async fn xlsx_export_is_a_workbook() {
    let w = World::new().await;
    let file = download(&w, &w.admin, "?format=xlsx&status=all").await;
    assert_eq!(file.status, StatusCode::OK, "{}", file.problem());
    assert_eq!(
        file.header("content-type"),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert_eq!(
        file.header("content-disposition"),
        "attachment; filename=\"users.xlsx\""
    );
    assert!(file.bytes.starts_with(b"PK\x03\x04"), "a zip archive");
    assert!(file.bytes.len() > 2000, "{} bytes", file.bytes.len());
    // Entry names are stored uncompressed: the parts of a workbook are there.
    let contains = |needle: &[u8]| file.bytes.windows(needle.len()).any(|w| w == needle);
    assert!(contains(b"[Content_Types].xml"));
    assert!(contains(b"xl/workbook.xml"));
    assert!(contains(b"xl/worksheets/sheet1.xml"));
    // The format is case-insensitive.
    let upper = download(&w, &w.admin, "?format=XLSX").await;
    assert_eq!(upper.status, StatusCode::OK);
}

#[tokio::test]
async fn unknown_format_is_422_naming_format() {
    let w = World::new().await;
    let r = download(&w, &w.admin, "?format=pdf").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let problem = r.problem();
    assert_eq!(problem["errors"][0]["field"], "format", "{problem}");
    // Nothing was exported, so nothing was audited.
    let audit = w
        .app
        .get("/api/v1/audit?action=user.export", &w.admin)
        .await;
    assert_eq!(audit.body["total"], 0, "{}", audit.body);
}

#[tokio::test]
async fn exporting_needs_the_user_export_action() {
    let w = World::new().await;
    // The helpdesk may search users but not export them.
    let r = download(&w, &w.helpdesk, "?format=csv").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.problem()["code"], "action_not_allowed");
    let worker = w.app.token("joao.lopes").await;
    let r = download(&w, &worker, "?format=xlsx").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let anonymous = w
        .app
        .client
        .get(format!("{}/api/v1/users/export", w.app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    // The literal path is not mistaken for a user id, and ids still resolve.
    let user = w
        .app
        .get(&format!("/api/v1/users/{}", w.tete_worker), &w.admin)
        .await;
    assert_eq!(user.status, StatusCode::OK);
}

#[tokio::test]
async fn every_export_is_audited_with_its_filter_and_row_count() {
    let w = World::new().await;
    let rows = download(&w, &w.sup_tete, "?format=csv&role=REGISTRAR&status=all")
        .await
        .csv();
    download(&w, &w.admin, "?format=xlsx").await;
    let audit = w
        .app
        .get("/api/v1/audit?action=user.export", &w.admin)
        .await;
    assert_eq!(audit.status, StatusCode::OK, "{}", audit.body);
    assert_eq!(audit.body["total"], 2, "{}", audit.body);
    let events = audit.body["items"].as_array().unwrap();
    let by_sup = events
        .iter()
        .find(|e| e["actor_username"] == "sup.tete")
        .unwrap();
    assert_eq!(by_sup["action"], "user.export");
    assert_eq!(by_sup["after"]["rows"], rows.len() - 1);
    assert_eq!(by_sup["after"]["format"], "csv");
    assert_eq!(by_sup["after"]["filter"]["role"], "REGISTRAR");
    assert_eq!(by_sup["after"]["filter"]["status"], "all");
    let by_admin = events
        .iter()
        .find(|e| e["actor_username"] == "admin")
        .unwrap();
    assert_eq!(by_admin["after"]["format"], "xlsx");
}

#[tokio::test]
async fn an_export_follows_the_pages_to_the_end() {
    let w = World::new().await;
    // More users than one page of the search (500) holds.
    for i in 0..520 {
        w.app
            .cadre
            .create_user(
                &cadre_service::Actor::local_operator(),
                &cadre_service::RequestMeta::default(),
                cadre_service::users::NewUser {
                    username: Some(format!("bulk.{i:04}")),
                    credential: Some(cadre_service::users::Credential::None),
                    first_name: Some(format!("Bulk {i}")),
                    roles: Some(vec!["REGISTRAR".into()]),
                    jurisdictions: Some(vec!["ZOBUE".into()]),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
    }
    let total = w.app.get("/api/v1/users?status=all", &w.admin).await.body["total"]
        .as_u64()
        .unwrap() as usize;
    assert_eq!(total, 527);
    let rows = download(&w, &w.admin, "?status=all&sort=-name").await.csv();
    assert_eq!(rows.len() - 1, total);
    assert_eq!(column(&rows, "id").len(), total, "no user twice");
    // The Tete supervisor sees the Zóbuè workers too, page after page.
    let rows = download(&w, &w.sup_tete, "?username=bulk.").await.csv();
    assert_eq!(rows.len() - 1, 520);
}
