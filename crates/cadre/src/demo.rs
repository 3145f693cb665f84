//! The demonstration data set: a small country, its supervisors, helpdesk and field
//! workers, so that a first run shows every feature. Created only in an empty database.

use chrono::{Duration, Utc};

use cadre_service::assignments::AssignmentInput;
use cadre_service::campaigns::CampaignInput;
use cadre_service::replacement::{ReplaceRequest, Replacement};
use cadre_service::status::DeactivateRequest;
use cadre_service::users::{Credential, NewUser};
use cadre_service::{Actor, Cadre, RequestMeta};

/// The password of the demo's staff accounts. Demo data only: a real deployment starts
/// with `cadre admin create`.
pub const DEMO_PASSWORD: &str = "demo-cadre-2026";

const BOUNDARIES: &str = "code,name,level,parent_code
MZ,Moçambique,COUNTRY,
MZ-TETE,Tete,PROVINCE,MZ
MZ-NIASSA,Niassa,PROVINCE,MZ
MZ-TETE-ANGONIA,Angónia,DISTRICT,MZ-TETE
MZ-TETE-MOATIZE,Moatize,DISTRICT,MZ-TETE
MZ-NIASSA-LICHINGA,Lichinga,DISTRICT,MZ-NIASSA
MZ-NIASSA-CUAMBA,Cuamba,DISTRICT,MZ-NIASSA
MZ-TETE-ANGONIA-ULONGUE,Ulónguè,VILLAGE,MZ-TETE-ANGONIA
MZ-TETE-ANGONIA-DOMUE,Domué,VILLAGE,MZ-TETE-ANGONIA
MZ-TETE-MOATIZE-KAMBULATSITSI,Kambulatsitsi,VILLAGE,MZ-TETE-MOATIZE
MZ-TETE-MOATIZE-ZOBUE,Zóbuè,VILLAGE,MZ-TETE-MOATIZE
MZ-NIASSA-LICHINGA-CHIUAULA,Chiuaula,VILLAGE,MZ-NIASSA-LICHINGA
MZ-NIASSA-LICHINGA-MASSANGULO,Massangulo,VILLAGE,MZ-NIASSA-LICHINGA
MZ-NIASSA-CUAMBA-ETATARA,Etatara,VILLAGE,MZ-NIASSA-CUAMBA
MZ-NIASSA-CUAMBA-LURIO,Lúrio,VILLAGE,MZ-NIASSA-CUAMBA
";

struct Person {
    username: Option<&'static str>,
    first: &'static str,
    last: &'static str,
    mobile: &'static str,
    gender: &'static str,
    role: &'static str,
    boundary: &'static str,
    staff: bool,
}

const PEOPLE: &[Person] = &[
    Person {
        username: Some("admin"),
        first: "Amélia",
        last: "Nhantumbo",
        mobile: "+258 84 100 0001",
        gender: "FEMALE",
        role: "SYSTEM_ADMIN",
        boundary: "MZ",
        staff: true,
    },
    Person {
        username: Some("helpdesk"),
        first: "Carlos",
        last: "Mondlane",
        mobile: "+258 84 100 0002",
        gender: "MALE",
        role: "HELPDESK",
        boundary: "MZ",
        staff: true,
    },
    Person {
        username: Some("sup.tete"),
        first: "Rosa",
        last: "Macuácua",
        mobile: "+258 84 100 0003",
        gender: "FEMALE",
        role: "SUPERVISOR",
        boundary: "MZ-TETE",
        staff: true,
    },
    Person {
        username: Some("sup.niassa"),
        first: "Abdul",
        last: "Issufo",
        mobile: "+258 84 100 0004",
        gender: "MALE",
        role: "SUPERVISOR",
        boundary: "MZ-NIASSA",
        staff: true,
    },
    Person {
        username: None,
        first: "João",
        last: "Lopes",
        mobile: "+258 84 200 0001",
        gender: "MALE",
        role: "REGISTRAR",
        boundary: "MZ-TETE-ANGONIA-ULONGUE",
        staff: false,
    },
    Person {
        username: None,
        first: "Maria",
        last: "Lopes",
        mobile: "+258 84 200 0002",
        gender: "FEMALE",
        role: "REGISTRAR",
        boundary: "MZ-TETE-ANGONIA-DOMUE",
        staff: false,
    },
    Person {
        username: None,
        first: "Fátima",
        last: "Mussa",
        mobile: "+258 84 200 0003",
        gender: "FEMALE",
        role: "DISTRIBUTOR",
        boundary: "MZ-TETE-MOATIZE-ZOBUE",
        staff: false,
    },
    Person {
        username: None,
        first: "Inês",
        last: "Chissano",
        mobile: "+258 84 200 0004",
        gender: "FEMALE",
        role: "FIELD_SUPERVISOR",
        boundary: "MZ-TETE-MOATIZE",
        staff: false,
    },
    Person {
        username: None,
        first: "Tomás",
        last: "Bila",
        mobile: "+258 84 200 0005",
        gender: "MALE",
        role: "DISTRIBUTOR",
        boundary: "MZ-TETE-MOATIZE-KAMBULATSITSI",
        staff: false,
    },
    Person {
        username: None,
        first: "Ana",
        last: "Sitoe",
        mobile: "+258 84 200 0006",
        gender: "FEMALE",
        role: "REGISTRAR",
        boundary: "MZ-NIASSA-LICHINGA-CHIUAULA",
        staff: false,
    },
    Person {
        username: None,
        first: "Momade",
        last: "Assane",
        mobile: "+258 84 200 0007",
        gender: "MALE",
        role: "DISTRIBUTOR",
        boundary: "MZ-NIASSA-LICHINGA-MASSANGULO",
        staff: false,
    },
    Person {
        username: None,
        first: "Luísa",
        last: "Namashulua",
        mobile: "+258 84 200 0008",
        gender: "FEMALE",
        role: "REGISTRAR",
        boundary: "MZ-NIASSA-CUAMBA-ETATARA",
        staff: false,
    },
    Person {
        username: None,
        first: "Ernesto",
        last: "Cossa",
        mobile: "+258 84 200 0009",
        gender: "MALE",
        role: "FIELD_SUPERVISOR",
        boundary: "MZ-NIASSA-CUAMBA",
        staff: false,
    },
    Person {
        username: None,
        first: "Maria",
        last: "Lopes",
        mobile: "+258 84 200 0010",
        gender: "FEMALE",
        role: "DISTRIBUTOR",
        boundary: "MZ-NIASSA-CUAMBA-LURIO",
        staff: false,
    },
];

/// Creates the demo data unless the database already has users; returns what to print.
/// Numbers are written in international form so the demo works whatever the
/// configured default country.
pub async fn seed(cadre: &Cadre) -> Result<String, String> {
    let operator = Actor::local_operator();
    let meta = RequestMeta::default();
    let mut conn = cadre.db().reader().await.map_err(|e| e.to_string())?;
    let existing = cadre_store::users::count(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
    drop(conn);
    if existing > 0 {
        return Ok("Demo: the database already has users; nothing was added. Demo staff sign in with the password printed when the demo was created.".into());
    }
    // Several processes started together on an empty database: one seeds, the others
    // leave it to that one.
    let claimed = async {
        let mut tx = cadre.db().begin().await?;
        let now = cadre_store::timestamp(Utc::now());
        let claimed = cadre_store::locks::claim_once(&mut tx, "demo data", &now).await?;
        tx.commit().await?;
        Ok::<bool, cadre_store::StoreError>(claimed)
    }
    .await
    .map_err(|e| e.to_string())?;
    if !claimed {
        return Ok("Demo: another process is creating the demo data (or did); nothing was added here. Demo staff sign in with the password that process printed.".into());
    }
    cadre
        .import_boundaries(&operator, &meta, BOUNDARIES.as_bytes())
        .await
        .map_err(crate::describe)?;
    let today = Utc::now().date_naive();
    let day = |offset: i64| (today + Duration::days(offset)).to_string();
    for (code, name, kind, parent, start, end, boundaries) in [
        (
            "LLIN-2026",
            "Mass LLIN distribution 2026",
            "LLIN",
            None,
            day(-30),
            day(60),
            vec!["MZ-TETE", "MZ-NIASSA"],
        ),
        (
            "LLIN-2026-TETE",
            "LLIN distribution, Tete wave",
            "LLIN",
            Some("LLIN-2026"),
            day(-20),
            day(40),
            vec!["MZ-TETE"],
        ),
    ] {
        cadre
            .create_campaign(
                &operator,
                &meta,
                CampaignInput {
                    code: code.into(),
                    name: name.into(),
                    campaign_type: kind.into(),
                    parent: parent.map(str::to_owned),
                    start_date: start,
                    end_date: end,
                    boundaries: boundaries.into_iter().map(str::to_owned).collect(),
                },
            )
            .await
            .map_err(crate::describe)?;
    }
    let mut ids = std::collections::HashMap::new();
    for p in PEOPLE {
        let input = NewUser {
            username: p.username.map(str::to_owned),
            credential: Some(if p.staff {
                Credential::Set {
                    password: DEMO_PASSWORD.into(),
                }
            } else {
                Credential::None
            }),
            first_name: Some(p.first.into()),
            last_name: Some(p.last.into()),
            mobile_number: Some(p.mobile.into()),
            gender: Some(p.gender.into()),
            email: Some(if p.staff {
                format!("{}@example.org", p.username.unwrap_or("staff"))
            } else {
                "campaign-recovery@example.org".into()
            }),
            correspondence_address: Some(format!("Sede distrital, {}", p.boundary)),
            roles: Some(vec![p.role.into()]),
            employment_type: Some(if p.staff { "PERMANENT" } else { "CONTRACTUAL" }.into()),
            department: Some("NMCP".into()),
            designation: Some(
                if p.staff {
                    "Coordinator"
                } else {
                    "Community health worker"
                }
                .into(),
            ),
            jurisdictions: Some(vec![p.boundary.into()]),
            assignments: (!p.staff).then(|| {
                let campaign = if p.boundary.starts_with("MZ-TETE") {
                    "LLIN-2026-TETE"
                } else {
                    "LLIN-2026"
                };
                vec![AssignmentInput {
                    campaign: campaign.into(),
                    boundaries: vec![p.boundary.into()],
                    ..Default::default()
                }]
            }),
            ..Default::default()
        };
        let created = cadre
            .create_user(&operator, &meta, input)
            .await
            .map_err(crate::describe)?;
        ids.insert(format!("{} {}", p.first, p.last), created.user.id);
    }
    // A completed replacement: Paulo took over Tomás's village five days ago.
    let tomas = ids.get("Tomás Bila").cloned().unwrap_or_default();
    cadre
        .replace_user(
            &operator,
            &meta,
            &tomas,
            ReplaceRequest {
                replacement: Replacement::New(Box::new(NewUser {
                    first_name: Some("Paulo".into()),
                    last_name: Some("Mabunda".into()),
                    mobile_number: Some("+258 84 200 0011".into()),
                    gender: Some("MALE".into()),
                    email: Some("campaign-recovery@example.org".into()),
                    correspondence_address: Some(
                        "Sede distrital, MZ-TETE-MOATIZE-KAMBULATSITSI".into(),
                    ),
                    employment_type: Some("CONTRACTUAL".into()),
                    department: Some("NMCP".into()),
                    credential: Some(Credential::None),
                    ..Default::default()
                })),
                effective_date: Some(day(-5)),
                reason: None,
                order_number: Some("DPS-TETE/2026/117".into()),
                remarks: Some("Moved to another district".into()),
            },
        )
        .await
        .map_err(crate::describe)?;
    // A deactivation scheduled for the end of the Niassa distribution.
    let momade = ids.get("Momade Assane").cloned().unwrap_or_default();
    cadre
        .deactivate_user(
            &operator,
            &meta,
            &momade,
            DeactivateRequest {
                reason: "END_OF_CAMPAIGN".into(),
                effective_date: Some(day(14)),
                remarks: Some("Contract ends with the distribution".into()),
                ..Default::default()
            },
        )
        .await
        .map_err(crate::describe)?;
    Ok(format!(
        "Demo data created: 15 boundaries, 2 campaigns, 15 users (one replaced, one deactivation scheduled). Sign in on the web page /login (or with POST /api/v1/auth/login) as:\n  admin      / {DEMO_PASSWORD}  (SYSTEM_ADMIN, whole country)\n  helpdesk   / {DEMO_PASSWORD}  (HELPDESK)\n  sup.tete   / {DEMO_PASSWORD}  (SUPERVISOR of Tete)\n  sup.niassa / {DEMO_PASSWORD}  (SUPERVISOR of Niassa)"
    ))
}
