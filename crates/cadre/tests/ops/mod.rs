//! Operations under stress, each against real `cadre` child processes: online backups,
//! faults (killed processes, an unreachable database, an unwritable file) and load.

mod backup;
mod faults;
mod jobs;
mod load;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use super::*;

/// A user body the default settings accept (every required field present).
pub(crate) fn new_user(username: &str) -> Value {
    json!({
        "username": username,
        "first_name": "Teste",
        "last_name": username,
        "email": format!("{username}@example.org"),
        "correspondence_address": "Rua 1",
        "employment_type": "CONTRACTUAL",
        "department": "NMCP",
        "roles": ["REGISTRAR"],
    })
}

/// Creates users one after another until stopped; remembers each one the server
/// acknowledged (201), in order.
pub(crate) struct Writer {
    pub acknowledged: Arc<Mutex<Vec<String>>>,
    pub failures: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    task: Option<JoinHandle<()>>,
}

impl Writer {
    pub fn start(base: &str, token: &str, prefix: &str) -> Self {
        let acknowledged = Arc::new(Mutex::new(Vec::new()));
        let failures = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (base, token, prefix) = (base.to_owned(), token.to_owned(), prefix.to_owned());
        let (ack, fail, halt) = (acknowledged.clone(), failures.clone(), stop.clone());
        let task = tokio::spawn(async move {
            let client = http();
            let mut n = 0u64;
            while !halt.load(Ordering::SeqCst) {
                n += 1;
                let username = format!("{prefix}{n:06}");
                let sent = client
                    .post(format!("{base}/api/v1/users"))
                    .bearer_auth(&token)
                    .json(&new_user(&username))
                    .send()
                    .await;
                match sent {
                    Ok(response) => {
                        let (status, value) = body(response).await;
                        if status == 201 {
                            ack.lock()
                                .unwrap()
                                .push(value["id"].as_str().unwrap().to_owned());
                        } else {
                            fail.lock().unwrap().push(format!("{status} {value}"));
                        }
                    }
                    Err(e) => fail.lock().unwrap().push(e.to_string()),
                }
            }
        });
        Self {
            acknowledged,
            failures,
            stop,
            task: Some(task),
        }
    }

    pub fn count(&self) -> usize {
        self.acknowledged.lock().unwrap().len()
    }

    pub fn ids(&self) -> Vec<String> {
        self.acknowledged.lock().unwrap().clone()
    }

    /// Waits until at least `n` users were acknowledged.
    pub async fn wait_for(&self, n: usize) {
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        while self.count() < n {
            assert!(
                Instant::now() < deadline,
                "the writer made only {} users; failures: {:?}",
                self.count(),
                self.failures.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub async fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(task) = self.task.take() {
            task.await.expect("the writer task");
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Opens a database the way a test inspects it afterwards (no migrations run).
pub(crate) async fn inspect(url: &str) -> cadre_store::Db {
    cadre_store::Db::connect(url, &cadre_store::db::DbOptions::default())
        .await
        .unwrap_or_else(|e| panic!("opening {url}: {e}"))
}

/// The single column of a query's rows, as text.
pub(crate) async fn column(db: &cadre_store::Db, query: &str) -> Vec<String> {
    let mut conn = db.reader().await.unwrap();
    cadre_store::sql::Sql::new(query)
        .fetch_all(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{query}: {e}"))
        .iter()
        .map(|row| cadre_store::sql::text(row, "v").unwrap())
        .collect()
}

/// The users table and the `user.create` audit events name the same users.
pub(crate) async fn assert_every_user_created_is_audited(db: &cadre_store::Db) -> Vec<String> {
    let mut users = column(db, "SELECT id AS v FROM users").await;
    let mut audited = column(
        db,
        "SELECT target_id AS v FROM audit_events WHERE action = 'user.create'",
    )
    .await;
    users.sort();
    audited.sort();
    assert_eq!(
        users, audited,
        "every user has exactly one user.create event and every event its user"
    );
    users
}
