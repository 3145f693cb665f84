//! `cadre backup FILE` while the service writes; the copy restored and served.

use super::*;

/// No `FILE.partial-…` of a backup is left in `dir`.
fn assert_no_partial_file(dir: &std::path::Path) {
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".partial"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "no partial file is left behind: {leftovers:?}"
    );
}

#[tokio::test]
async fn backup_while_writing_restores_every_committed_change() {
    let ctx = Ctx::new().await;
    let target = ctx.dir.path().join("copy.db");
    let target_text = target.to_str().unwrap().to_owned();
    if !ctx.db.url.starts_with("sqlite:") {
        // PostgreSQL has pg_dump; the command says so instead of doing something else.
        let reason = run(ctx.cadre(&["backup", &target_text]), None)
            .await
            .reason("cadre backup on PostgreSQL");
        assert!(reason.contains("pg_dump"), "{reason}");
        assert!(!target.exists(), "nothing is written");
        return;
    }
    ctx.create_root().await;
    let server = ctx.serve(&[]).await;
    let client = http();
    let token = login(&client, &server.base, ADMIN, ADMIN_PASSWORD).await;

    let mut writer = Writer::start(&server.base, &token, "backup.worker");
    writer.wait_for(25).await;
    let committed_before = writer.ids();
    let backup = run(ctx.cadre(&["backup", &target_text]), None).await;
    let committed_during = writer.count();
    backup.assert_success("cadre backup while the service writes");
    writer.wait_for(committed_during + 5).await;
    writer.stop().await;
    assert!(
        writer.failures.lock().unwrap().is_empty(),
        "no write failed while the backup ran: {:?}",
        writer.failures.lock().unwrap()
    );
    assert!(
        backup.stdout.contains("backed up") && backup.stdout.contains("copy.db"),
        "{}",
        backup.describe()
    );
    assert_no_partial_file(ctx.dir.path());

    // The copy alone is consistent: each user with its audit event, and it holds every
    // user acknowledged before the backup began and none acknowledged after it ended.
    let copy_url = format!("sqlite://{target_text}");
    let copy = inspect(&copy_url).await;
    let in_copy = assert_every_user_created_is_audited(&copy).await;
    copy.close().await;
    for id in &committed_before {
        assert!(
            in_copy.contains(id),
            "user {id}, committed before the backup, is in the copy"
        );
    }
    let after: Vec<String> = writer.ids()[committed_during..].to_vec();
    assert!(
        after.iter().all(|id| !in_copy.contains(id)),
        "writes acknowledged after the backup are not in it"
    );
    drop(server);

    // Restored: a service started on the copy serves those users.
    let restored = cadre_in(
        ctx.dir.path(),
        &["--database", &copy_url, "serve", "--listen", "127.0.0.1:0"],
    );
    let restored = Server::start(restored).await;
    let token = login(&client, &restored.base, ADMIN, ADMIN_PASSWORD).await;
    for id in committed_before
        .iter()
        .step_by(5)
        .chain(committed_before.last())
    {
        let user = get_ok(
            &client,
            &restored.base,
            &token,
            &format!("/api/v1/users/{id}"),
        )
        .await;
        assert_eq!(user["id"], id.as_str());
    }
    let (status, _) = try_login(&client, &restored.base, ADMIN, "wrong password").await;
    assert_eq!(status, 401, "the restored service checks passwords");
}

#[tokio::test]
async fn backup_refuses_to_overwrite_a_file_or_copy_a_missing_database() {
    let ctx = Ctx::new().await;
    if !ctx.db.url.starts_with("sqlite:") {
        return; // the PostgreSQL answer is checked above
    }
    run(ctx.cadre(&["migrate"]), None)
        .await
        .assert_success("cadre migrate");
    let existing = ctx.write("existing.db", "precious");
    let reason = run(ctx.cadre(&["backup", &existing]), None)
        .await
        .reason("a backup onto an existing file");
    assert!(reason.contains("already exists"), "{reason}");
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), "precious");

    let missing = ctx.dir.path().join("nowhere.db");
    let target = ctx.dir.path().join("copy.db");
    let reason = run(
        cadre_in(
            ctx.dir.path(),
            &[
                "--database",
                &format!("sqlite://{}", missing.display()),
                "backup",
                target.to_str().unwrap(),
            ],
        ),
        None,
    )
    .await
    .reason("a backup of a missing database");
    assert!(reason.contains("no database file"), "{reason}");
    assert!(!missing.exists(), "the missing database is not created");
    assert!(!target.exists());
}

/// Four backups to one file at once: exactly one lands, the others say why, the file
/// is a sound copy, and no partial file is left behind.
#[tokio::test]
async fn overlapping_backups_to_one_file_leave_exactly_one_sound_copy() {
    let ctx = Ctx::new().await;
    if !ctx.db.url.starts_with("sqlite:") {
        return; // PostgreSQL backups are pg_dump's (see the test above)
    }
    ctx.create_root().await;
    let target = ctx.dir.path().join("same.db");
    let target_text = target.to_str().unwrap().to_owned();
    let backup = || run(ctx.cadre(&["backup", &target_text]), None);
    let (a, b, c, d) = tokio::join!(backup(), backup(), backup(), backup());
    let outcomes = [a, b, c, d];
    let landed = outcomes.iter().filter(|o| o.status.success()).count();
    assert_eq!(
        landed,
        1,
        "exactly one backup lands: {:?}",
        outcomes.iter().map(Outcome::describe).collect::<Vec<_>>()
    );
    for refused in outcomes.iter().filter(|o| !o.status.success()) {
        let reason = refused.reason("an overlapping backup");
        assert!(reason.contains("same.db"), "{reason}");
    }
    let copy = inspect(&format!("sqlite://{target_text}")).await;
    let verdict = column(
        &copy,
        "SELECT integrity_check AS v FROM pragma_integrity_check",
    )
    .await;
    assert_eq!(verdict, vec!["ok".to_owned()]);
    assert_eq!(
        column(&copy, "SELECT username AS v FROM users").await,
        vec![ADMIN.to_owned()]
    );
    copy.close().await;
    assert_no_partial_file(ctx.dir.path());
}
