//! Schema migrations, written once and rendered for each backend.
//!
//! The statements share one text; `{bool}` and `{path}` stand for the only column types
//! whose spelling differs, and triggers, whose syntax differs entirely, are per backend.
//! Each migration runs in its own transaction and is recorded in `schema_migrations`.

use crate::db::{Backend, Db};
use crate::error::StoreError;
use crate::sql::Sql;

struct Migration {
    version: i64,
    name: &'static str,
    shared: &'static [&'static str],
    sqlite: &'static [&'static str],
    postgres: &'static [&'static str],
}

const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    name: "core: boundaries, roles, users, sessions, sign-in throttle, audit, master data",
    shared: &[
        "CREATE TABLE boundaries (
            code TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            name_folded TEXT NOT NULL,
            level TEXT NOT NULL,
            parent_code TEXT REFERENCES boundaries(code),
            path {path} NOT NULL,
            depth BIGINT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )",
        "CREATE UNIQUE INDEX boundaries_path ON boundaries (path)",
        "CREATE INDEX boundaries_parent ON boundaries (parent_code, code)",
        "CREATE INDEX boundaries_level ON boundaries (level, code)",
        "CREATE INDEX boundaries_name ON boundaries (name_folded)",
        "CREATE TABLE roles (
            code TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            description TEXT NOT NULL,
            builtin {bool} NOT NULL,
            field_role {bool} NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )",
        "CREATE TABLE role_actions (
            role_code TEXT NOT NULL REFERENCES roles(code) ON DELETE CASCADE,
            action TEXT NOT NULL,
            PRIMARY KEY (role_code, action)
        )",
        "CREATE TABLE users (
            id TEXT PRIMARY KEY,
            username TEXT NOT NULL,
            status TEXT NOT NULL,
            profile_complete {bool} NOT NULL,
            version BIGINT NOT NULL,
            first_name TEXT,
            last_name TEXT,
            name_folded TEXT NOT NULL,
            mobile_number TEXT,
            mobile_national TEXT,
            father_or_husband_name TEXT,
            gender TEXT,
            date_of_birth TEXT,
            email TEXT,
            email_lower TEXT,
            correspondence_address TEXT,
            employment_type TEXT,
            date_of_employment TEXT,
            designation TEXT,
            department TEXT,
            password_hash TEXT,
            must_change_password {bool} NOT NULL,
            password_changed_at TEXT,
            created_by TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )",
        "CREATE UNIQUE INDEX users_username ON users (username)",
        "CREATE INDEX users_name ON users (name_folded)",
        "CREATE INDEX users_mobile ON users (mobile_national)",
        "CREATE INDEX users_email ON users (email_lower)",
        "CREATE INDEX users_created ON users (created_at, id)",
        "CREATE TABLE user_roles (
            user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            role_code TEXT NOT NULL REFERENCES roles(code),
            PRIMARY KEY (user_id, role_code)
        )",
        "CREATE INDEX user_roles_role ON user_roles (role_code, user_id)",
        "CREATE TABLE user_jurisdictions (
            user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            boundary_code TEXT NOT NULL REFERENCES boundaries(code),
            PRIMARY KEY (user_id, boundary_code)
        )",
        "CREATE INDEX user_jurisdictions_boundary ON user_jurisdictions (boundary_code, user_id)",
        "CREATE TABLE sessions (
            id TEXT PRIMARY KEY,
            token_hash TEXT NOT NULL,
            user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            created_at TEXT NOT NULL,
            last_used_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            revoked_at TEXT,
            revoke_reason TEXT,
            client_addr TEXT,
            user_agent TEXT
        )",
        "CREATE UNIQUE INDEX sessions_token ON sessions (token_hash)",
        "CREATE INDEX sessions_user ON sessions (user_id, revoked_at)",
        "CREATE TABLE login_throttle (
            username TEXT PRIMARY KEY,
            failures BIGINT NOT NULL,
            locked_until TEXT,
            updated_at TEXT NOT NULL
        )",
        "CREATE TABLE audit_events (
            id TEXT PRIMARY KEY,
            occurred_at TEXT NOT NULL,
            actor_id TEXT,
            actor_username TEXT,
            action TEXT NOT NULL,
            outcome TEXT NOT NULL,
            target_type TEXT,
            target_id TEXT,
            target_label TEXT,
            before_json TEXT,
            after_json TEXT,
            client_addr TEXT,
            request_id TEXT
        )",
        "CREATE INDEX audit_time ON audit_events (occurred_at, id)",
        "CREATE INDEX audit_target ON audit_events (target_id, occurred_at)",
        "CREATE INDEX audit_actor ON audit_events (actor_id, occurred_at)",
        "CREATE INDEX audit_action ON audit_events (action, occurred_at)",
        "CREATE TABLE master_data (
            list TEXT PRIMARY KEY,
            items_json TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )",
    ],
    sqlite: &[
        "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
         BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END",
        "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
         BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END",
    ],
    postgres: &[
        "CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN RAISE EXCEPTION 'audit events are append-only'; END $$",
        "CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
         FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()",
    ],
},
Migration {
    version: 2,
    name: "campaigns, assignments, status changes, documents, replacement links",
    shared: &[
        "CREATE TABLE campaigns (
            code TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            campaign_type TEXT NOT NULL,
            parent_code TEXT REFERENCES campaigns(code),
            start_date TEXT NOT NULL,
            end_date TEXT NOT NULL,
            version BIGINT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )",
        "CREATE INDEX campaigns_parent ON campaigns (parent_code)",
        "CREATE TABLE campaign_boundaries (
            campaign_code TEXT NOT NULL REFERENCES campaigns(code) ON DELETE CASCADE,
            boundary_code TEXT NOT NULL REFERENCES boundaries(code),
            PRIMARY KEY (campaign_code, boundary_code)
        )",
        "CREATE INDEX campaign_boundaries_boundary ON campaign_boundaries (boundary_code)",
        "CREATE TABLE assignments (
            id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id),
            campaign_code TEXT NOT NULL REFERENCES campaigns(code),
            from_date TEXT NOT NULL,
            till_date TEXT NOT NULL,
            ended_on TEXT,
            end_reason TEXT,
            takes_over TEXT REFERENCES assignments(id),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )",
        "CREATE INDEX assignments_user ON assignments (user_id, till_date)",
        "CREATE INDEX assignments_campaign ON assignments (campaign_code, till_date)",
        "CREATE TABLE assignment_boundaries (
            assignment_id TEXT NOT NULL REFERENCES assignments(id) ON DELETE CASCADE,
            boundary_code TEXT NOT NULL REFERENCES boundaries(code),
            PRIMARY KEY (assignment_id, boundary_code)
        )",
        "CREATE INDEX assignment_boundaries_boundary ON assignment_boundaries (boundary_code, assignment_id)",
        "CREATE TABLE assignment_roles (
            assignment_id TEXT NOT NULL REFERENCES assignments(id) ON DELETE CASCADE,
            role_code TEXT NOT NULL REFERENCES roles(code),
            PRIMARY KEY (assignment_id, role_code)
        )",
        "CREATE TABLE status_changes (
            id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id),
            kind TEXT NOT NULL,
            reason TEXT NOT NULL,
            effective_date TEXT NOT NULL,
            order_number TEXT,
            remarks TEXT,
            state TEXT NOT NULL,
            applied_at TEXT,
            created_by TEXT,
            created_by_username TEXT,
            created_at TEXT NOT NULL
        )",
        "CREATE INDEX status_changes_user ON status_changes (user_id, created_at)",
        "CREATE INDEX status_changes_due ON status_changes (state, effective_date)",
        "CREATE TABLE documents (
            id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id),
            status_change_id TEXT REFERENCES status_changes(id),
            filename TEXT NOT NULL,
            content_type TEXT NOT NULL,
            size BIGINT NOT NULL,
            sha256 TEXT NOT NULL,
            content {blob} NOT NULL,
            created_by TEXT,
            created_at TEXT NOT NULL
        )",
        "CREATE INDEX documents_user ON documents (user_id, created_at)",
        "ALTER TABLE users ADD COLUMN replaced_by TEXT",
        "ALTER TABLE users ADD COLUMN replaces TEXT",
        "ALTER TABLE users ADD COLUMN deactivated_on TEXT",
    ],
    sqlite: &[],
    postgres: &[],
},
Migration {
    version: 3,
    name: "notification outbox",
    shared: &[
        // A message is written here in the same transaction as the change that causes it,
        // so it is never lost; the delivery worker claims due rows, and the unique
        // idempotency key keeps a retried enqueue from producing a second message.
        "CREATE TABLE outbox (
            id TEXT PRIMARY KEY,
            idempotency_key TEXT NOT NULL,
            user_id TEXT REFERENCES users(id),
            channel TEXT NOT NULL,
            recipient TEXT NOT NULL,
            template TEXT NOT NULL,
            language TEXT NOT NULL,
            params TEXT NOT NULL,
            status TEXT NOT NULL,
            attempts BIGINT NOT NULL,
            next_attempt_at TEXT NOT NULL,
            claimed_by TEXT,
            claimed_until TEXT,
            last_error TEXT,
            created_at TEXT NOT NULL,
            sent_at TEXT
        )",
        "CREATE UNIQUE INDEX outbox_idempotency ON outbox (idempotency_key)",
        "CREATE INDEX outbox_due ON outbox (status, next_attempt_at)",
        "CREATE INDEX outbox_user ON outbox (user_id, created_at)",
    ],
    sqlite: &[],
    postgres: &[],
},
Migration {
    version: 4,
    name: "bulk jobs and their per-row outcomes",
    shared: &[
        // A job keeps its uploaded file, so any process can (re)start it after a crash.
        // `lease_owner`/`lease_until` make one process at a time work on it: a claim is a
        // conditional UPDATE, and every batch re-checks the lease in its own transaction.
        "CREATE TABLE bulk_jobs (
            id TEXT PRIMARY KEY,
            operation TEXT NOT NULL,
            credential TEXT NOT NULL,
            dry_run {bool} NOT NULL,
            status TEXT NOT NULL,
            file_name TEXT NOT NULL,
            file_format TEXT NOT NULL,
            content {blob} NOT NULL,
            created_by TEXT NOT NULL,
            total_rows BIGINT NOT NULL,
            processed_rows BIGINT NOT NULL,
            succeeded BIGINT NOT NULL,
            failed BIGINT NOT NULL,
            lease_owner TEXT,
            lease_until TEXT,
            failure TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            finished_at TEXT
        )",
        "CREATE INDEX bulk_jobs_pending ON bulk_jobs (status, created_at)",
        // One row per input row, written in the same transaction as the change it
        // records: a row is done exactly when its outcome exists, which is what makes a
        // resumed job skip it.
        "CREATE TABLE bulk_job_rows (
            job_id TEXT NOT NULL REFERENCES bulk_jobs(id),
            row_no BIGINT NOT NULL,
            status TEXT NOT NULL,
            username TEXT,
            user_id TEXT,
            credential TEXT,
            errors TEXT NOT NULL,
            PRIMARY KEY (job_id, row_no)
        )",
    ],
    sqlite: &[],
    postgres: &[],
},
Migration {
    version: 5,
    name: "credential links, recovery codes, API tokens",
    shared: &[
        // Only hashes of the secrets are kept: a copy of the database signs nobody in.
        "CREATE TABLE credential_links (
            id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            token_hash TEXT NOT NULL,
            channel TEXT NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            used_at TEXT,
            revoked_at TEXT
        )",
        "CREATE UNIQUE INDEX credential_links_token ON credential_links (token_hash)",
        "CREATE INDEX credential_links_user ON credential_links (user_id, created_at)",
        "CREATE TABLE recovery_codes (
            id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            code_hash TEXT NOT NULL,
            channel TEXT NOT NULL,
            attempts BIGINT NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            used_at TEXT,
            revoked_at TEXT
        )",
        "CREATE INDEX recovery_codes_user ON recovery_codes (user_id, created_at)",
        "CREATE TABLE api_tokens (
            id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            token_hash TEXT NOT NULL,
            actions TEXT NOT NULL,
            created_by TEXT NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT,
            last_used_at TEXT,
            revoked_at TEXT
        )",
        "CREATE UNIQUE INDEX api_tokens_token ON api_tokens (token_hash)",
        "CREATE INDEX api_tokens_user ON api_tokens (user_id, created_at)",
    ],
    sqlite: &[],
    postgres: &[],
},
Migration {
    version: 6,
    name: "interface language chosen by each user",
    shared: &["ALTER TABLE users ADD COLUMN language TEXT"],
    sqlite: &[],
    postgres: &[],
},
Migration {
    version: 7,
    name: "usernames compare byte by byte, so prefix lookups use the index",
    shared: &[],
    // SQLite compares TEXT byte by byte already.
    sqlite: &[],
    postgres: &[r#"ALTER TABLE users ALTER COLUMN username TYPE TEXT COLLATE "C""#],
},
Migration {
    version: 8,
    name: "slip sheets of generated passwords, sealed to a key the server does not keep",
    shared: &[
        // The public half of the uploader's key: the server can seal slips but never
        // open them.
        "CREATE TABLE bulk_slip_sheets (
            job_id TEXT PRIMARY KEY REFERENCES bulk_jobs(id),
            public_key TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            taken_at TEXT
        )",
        "CREATE TABLE bulk_slips (
            job_id TEXT NOT NULL REFERENCES bulk_jobs(id),
            row_no BIGINT NOT NULL,
            sealed TEXT NOT NULL,
            PRIMARY KEY (job_id, row_no)
        )",
    ],
    sqlite: &[],
    postgres: &[],
},
Migration {
    version: 9,
    name: "user search: a trigram index for name fragments; prefixes compare byte by byte",
    shared: &[],
    // SQLite cannot use an ordinary index for `LIKE '%fragment%'`: an FTS5 trigram table
    // over the folded names finds the users whose name contains a fragment. It refers
    // to users by rowid (VACUUM and VACUUM INTO keep the rowids of a table that has
    // indexes) and the triggers keep it in step with every write.
    sqlite: &[
        "CREATE VIRTUAL TABLE users_name_fts USING fts5(
            name_folded, content = 'users', content_rowid = 'rowid', tokenize = 'trigram'
        )",
        "INSERT INTO users_name_fts (users_name_fts) VALUES ('rebuild')",
        "CREATE TRIGGER users_name_fts_insert AFTER INSERT ON users BEGIN
            INSERT INTO users_name_fts (rowid, name_folded) VALUES (new.rowid, new.name_folded);
         END",
        "CREATE TRIGGER users_name_fts_delete AFTER DELETE ON users BEGIN
            INSERT INTO users_name_fts (users_name_fts, rowid, name_folded)
                VALUES ('delete', old.rowid, old.name_folded);
         END",
        "CREATE TRIGGER users_name_fts_update AFTER UPDATE OF name_folded ON users BEGIN
            INSERT INTO users_name_fts (users_name_fts, rowid, name_folded)
                VALUES ('delete', old.rowid, old.name_folded);
            INSERT INTO users_name_fts (rowid, name_folded) VALUES (new.rowid, new.name_folded);
         END",
    ],
    // PostgreSQL answers `LIKE '%fragment%'` from a pg_trgm GIN index. The extension
    // ships with PostgreSQL's contrib packages and is trusted (any database owner may
    // create it); where it is missing or may not be created, search still works, by
    // scanning, and the warning says why. Email and mobile prefixes compare byte by
    // byte, like usernames (migration 7), so their ranges walk the index.
    postgres: &[
        "DO $$ BEGIN
            CREATE EXTENSION IF NOT EXISTS pg_trgm;
            CREATE INDEX users_name_trgm ON users USING gin (name_folded gin_trgm_ops);
         EXCEPTION WHEN insufficient_privilege OR undefined_file OR feature_not_supported THEN
            RAISE WARNING 'pg_trgm is not available (%): user search by name scans', SQLERRM;
         END $$",
        r#"ALTER TABLE users ALTER COLUMN email_lower TYPE TEXT COLLATE "C""#,
        r#"ALTER TABLE users ALTER COLUMN mobile_national TYPE TEXT COLLATE "C""#,
    ],
},
Migration {
    version: 10,
    name: "user search: each user's boundary paths kept beside the user",
    // A search within a subtree tested every matching user against their jurisdictions
    // and assignments, several index lookups each: 50,000 namesakes took 60 ms. The
    // paths of a user's jurisdictions (exactly) and of every boundary any of their
    // assignments ever covered (a superset of those open today, so only users found
    // there need the dated check) now sit in the user's row, which the search reads
    // anyway. Paths start and end with `/` and codes are unique, so a subtree's path
    // occurs in the concatenation exactly when one of the paths lies in that subtree.
    // Boundaries never move, so a path once written stays true.
    shared: &[
        "ALTER TABLE users ADD COLUMN jurisdiction_paths {path} NOT NULL DEFAULT ''",
        "ALTER TABLE users ADD COLUMN assignment_paths {path} NOT NULL DEFAULT ''",
    ],
    sqlite: &[
        "UPDATE users SET jurisdiction_paths = coalesce((SELECT group_concat(b.path, '')
            FROM user_jurisdictions j JOIN boundaries b ON b.code = j.boundary_code
            WHERE j.user_id = users.id), '')
         WHERE id IN (SELECT user_id FROM user_jurisdictions)",
        "UPDATE users SET assignment_paths = coalesce((SELECT group_concat(DISTINCT b.path)
            FROM assignments a JOIN assignment_boundaries ab ON ab.assignment_id = a.id
            JOIN boundaries b ON b.code = ab.boundary_code WHERE a.user_id = users.id), '')
         WHERE id IN (SELECT user_id FROM assignments)",
        "CREATE TRIGGER user_jurisdictions_paths_insert AFTER INSERT ON user_jurisdictions BEGIN
            UPDATE users SET jurisdiction_paths = jurisdiction_paths
                || coalesce((SELECT path FROM boundaries WHERE code = new.boundary_code), '')
            WHERE id = new.user_id;
         END",
        "CREATE TRIGGER user_jurisdictions_paths_delete AFTER DELETE ON user_jurisdictions BEGIN
            UPDATE users SET jurisdiction_paths = coalesce((SELECT group_concat(b.path, '')
                FROM user_jurisdictions j JOIN boundaries b ON b.code = j.boundary_code
                WHERE j.user_id = old.user_id), '')
            WHERE id = old.user_id;
         END",
        "CREATE TRIGGER assignment_boundaries_paths_insert AFTER INSERT ON assignment_boundaries BEGIN
            UPDATE users SET assignment_paths = assignment_paths
                || coalesce((SELECT path FROM boundaries WHERE code = new.boundary_code), '')
            WHERE id = (SELECT user_id FROM assignments WHERE id = new.assignment_id)
              AND instr(assignment_paths,
                  coalesce((SELECT path FROM boundaries WHERE code = new.boundary_code), '')) = 0;
         END",
    ],
    postgres: &[
        "UPDATE users SET jurisdiction_paths = coalesce((SELECT string_agg(b.path, '')
            FROM user_jurisdictions j JOIN boundaries b ON b.code = j.boundary_code
            WHERE j.user_id = users.id), '')
         WHERE id IN (SELECT user_id FROM user_jurisdictions)",
        "UPDATE users SET assignment_paths = coalesce((SELECT string_agg(DISTINCT b.path, '')
            FROM assignments a JOIN assignment_boundaries ab ON ab.assignment_id = a.id
            JOIN boundaries b ON b.code = ab.boundary_code WHERE a.user_id = users.id), '')
         WHERE id IN (SELECT user_id FROM assignments)",
        "CREATE FUNCTION user_jurisdictions_paths() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
            IF TG_OP = 'INSERT' THEN
                UPDATE users SET jurisdiction_paths = jurisdiction_paths
                    || coalesce((SELECT path FROM boundaries WHERE code = NEW.boundary_code), '')
                WHERE id = NEW.user_id;
            ELSE
                UPDATE users SET jurisdiction_paths = coalesce((SELECT string_agg(b.path, '')
                    FROM user_jurisdictions j JOIN boundaries b ON b.code = j.boundary_code
                    WHERE j.user_id = OLD.user_id), '')
                WHERE id = OLD.user_id;
            END IF;
            RETURN NULL;
         END $$",
        "CREATE TRIGGER user_jurisdictions_paths AFTER INSERT OR DELETE ON user_jurisdictions
            FOR EACH ROW EXECUTE FUNCTION user_jurisdictions_paths()",
        "CREATE FUNCTION assignment_boundaries_paths() RETURNS trigger LANGUAGE plpgsql AS $$
         DECLARE
            added TEXT := coalesce((SELECT path FROM boundaries WHERE code = NEW.boundary_code), '');
         BEGIN
            UPDATE users SET assignment_paths = assignment_paths || added
            WHERE id = (SELECT user_id FROM assignments WHERE id = NEW.assignment_id)
              AND strpos(assignment_paths, added) = 0;
            RETURN NULL;
         END $$",
        "CREATE TRIGGER assignment_boundaries_paths AFTER INSERT ON assignment_boundaries
            FOR EACH ROW EXECUTE FUNCTION assignment_boundaries_paths()",
    ],
},
Migration {
    version: 11,
    name: "user search: places, and every sort order, indexed",
    // A subtree filter, and the scope of every supervisor's search, tested the paths
    // of every user: a district supervisor's list of users counted them by reading all
    // of a million (230 ms on SQLite, 310 ms on PostgreSQL). The places are indexed
    // now, so the users of a subtree are found from its code. Pages sort by a column
    // and then the id: SQLite sorted the whole table for a page by name (the index
    // held the name alone) or by last change (no index).
    shared: &[
        "DROP INDEX users_name",
        "CREATE INDEX users_name ON users (name_folded, id)",
        "CREATE INDEX users_updated ON users (updated_at, id)",
    ],
    // The trigram table takes both paths beside the name: one match narrows a search
    // by name fragments and places together. It keeps its name, so that a previous
    // release rolled back to still finds it (its queries name no column: a trigram of
    // a code then lets in a candidate the LIKE on the name turns away). Its triggers follow the paths too, which
    // the triggers of migration 10 keep in the user's row. A new user's jurisdiction
    // paths are written with the user, so linking a jurisdiction appends its path only
    // when no path there holds it yet (one that does names every code it would add):
    // a bulk import indexes each user once.
    sqlite: &[
        "DROP TRIGGER user_jurisdictions_paths_insert",
        "CREATE TRIGGER user_jurisdictions_paths_insert AFTER INSERT ON user_jurisdictions BEGIN
            UPDATE users SET jurisdiction_paths = jurisdiction_paths
                || coalesce((SELECT path FROM boundaries WHERE code = new.boundary_code), '')
            WHERE id = new.user_id
              AND instr(jurisdiction_paths,
                  coalesce((SELECT path FROM boundaries WHERE code = new.boundary_code), '')) = 0;
         END",
        "DROP TRIGGER users_name_fts_insert",
        "DROP TRIGGER users_name_fts_delete",
        "DROP TRIGGER users_name_fts_update",
        "DROP TABLE users_name_fts",
        "CREATE VIRTUAL TABLE users_name_fts USING fts5(
            name_folded, jurisdiction_paths, assignment_paths,
            content = 'users', content_rowid = 'rowid', tokenize = 'trigram'
        )",
        "INSERT INTO users_name_fts (users_name_fts) VALUES ('rebuild')",
        "CREATE TRIGGER users_name_fts_insert AFTER INSERT ON users BEGIN
            INSERT INTO users_name_fts (rowid, name_folded, jurisdiction_paths, assignment_paths)
                VALUES (new.rowid, new.name_folded, new.jurisdiction_paths, new.assignment_paths);
         END",
        "CREATE TRIGGER users_name_fts_delete AFTER DELETE ON users BEGIN
            INSERT INTO users_name_fts (users_name_fts, rowid, name_folded, jurisdiction_paths, assignment_paths)
                VALUES ('delete', old.rowid, old.name_folded, old.jurisdiction_paths, old.assignment_paths);
         END",
        "CREATE TRIGGER users_name_fts_update
            AFTER UPDATE OF name_folded, jurisdiction_paths, assignment_paths ON users
            WHEN old.name_folded IS NOT new.name_folded
              OR old.jurisdiction_paths IS NOT new.jurisdiction_paths
              OR old.assignment_paths IS NOT new.assignment_paths BEGIN
            INSERT INTO users_name_fts (users_name_fts, rowid, name_folded, jurisdiction_paths, assignment_paths)
                VALUES ('delete', old.rowid, old.name_folded, old.jurisdiction_paths, old.assignment_paths);
            INSERT INTO users_name_fts (rowid, name_folded, jurisdiction_paths, assignment_paths)
                VALUES (new.rowid, new.name_folded, new.jurisdiction_paths, new.assignment_paths);
         END",
    ],
    // The codes along the paths, as arrays in GIN indexes: a subtree's users are those
    // whose arrays hold its code (codes are unique, and a path names every ancestor).
    // Jurisdiction paths come with a new user, as on SQLite.
    postgres: &[
        "CREATE OR REPLACE FUNCTION user_jurisdictions_paths() RETURNS trigger LANGUAGE plpgsql AS $$
         DECLARE
            added TEXT;
         BEGIN
            IF TG_OP = 'INSERT' THEN
                added := coalesce((SELECT path FROM boundaries WHERE code = NEW.boundary_code), '');
                UPDATE users SET jurisdiction_paths = jurisdiction_paths || added
                WHERE id = NEW.user_id AND strpos(jurisdiction_paths, added) = 0;
            ELSE
                UPDATE users SET jurisdiction_paths = coalesce((SELECT string_agg(b.path, '')
                    FROM user_jurisdictions j JOIN boundaries b ON b.code = j.boundary_code
                    WHERE j.user_id = OLD.user_id), '')
                WHERE id = OLD.user_id;
            END IF;
            RETURN NULL;
         END $$",
        "CREATE INDEX users_jurisdiction_codes ON users
            USING gin (string_to_array(jurisdiction_paths, '/'))",
        "CREATE INDEX users_assignment_codes ON users
            USING gin (string_to_array(assignment_paths, '/'))",
    ],
},
Migration {
    version: 12,
    name: "user search: each word of a name, with its users in username order",
    // A name fragment that many users share (a common surname: 50,000 in a million)
    // was counted and paged by reading every one of their rows, 15 to 20 ms each on
    // SQLite, 20 to 30 on PostgreSQL. Each word of a name is now kept with its users' usernames and status,
    // in username order (no more: a bulk batch writes again every page its users' words
    // land on), beside a vocabulary of every word with a trigram index: a
    // fragment that only one word of the vocabulary holds matches exactly that word's
    // users, whom the table counts and pages without reading a user's row. On SQLite,
    // words are split from the folded name (ASCII, single spaces, no control characters) as a
    // JSON array, since a trigger cannot hold the recursive query that would split it.
    shared: &[],
    sqlite: &[
        "CREATE TABLE name_vocabulary (word TEXT NOT NULL UNIQUE)",
        "CREATE VIRTUAL TABLE name_vocabulary_fts USING fts5(
            word, content = 'name_vocabulary', content_rowid = 'rowid', tokenize = 'trigram'
        )",
        "CREATE TRIGGER name_vocabulary_fts_insert AFTER INSERT ON name_vocabulary BEGIN
            INSERT INTO name_vocabulary_fts (rowid, word) VALUES (new.rowid, new.word);
         END",
        "CREATE TABLE user_name_words (
            word TEXT NOT NULL,
            username TEXT NOT NULL,
            status TEXT NOT NULL,
            PRIMARY KEY (word, username)
        ) WITHOUT ROWID",
        r#"INSERT OR IGNORE INTO name_vocabulary (word)
            SELECT DISTINCT w.value FROM users u, json_each({words:u.name_folded}) w
            WHERE w.value <> ''"#,
        r#"INSERT OR IGNORE INTO user_name_words (word, username, status)
            SELECT w.value, u.username, u.status
            FROM users u, json_each({words:u.name_folded}) w WHERE w.value <> ''
            ORDER BY 1, 2"#,
        r#"CREATE TRIGGER users_name_words_insert AFTER INSERT ON users BEGIN
            INSERT OR IGNORE INTO name_vocabulary (word)
                SELECT value FROM json_each({words:new.name_folded}) WHERE value <> '';
            INSERT OR IGNORE INTO user_name_words (word, username, status)
                SELECT value, new.username, new.status
                FROM json_each({words:new.name_folded}) WHERE value <> '';
         END"#,
        r#"CREATE TRIGGER users_name_words_delete AFTER DELETE ON users BEGIN
            DELETE FROM user_name_words WHERE username = old.username
                AND word IN (SELECT value FROM json_each({words:old.name_folded}));
         END"#,
        r#"CREATE TRIGGER users_name_words_update AFTER UPDATE OF name_folded, status, username ON users
            WHEN old.name_folded IS NOT new.name_folded OR old.status IS NOT new.status
              OR old.username IS NOT new.username BEGIN
            DELETE FROM user_name_words WHERE username = old.username
                AND word IN (SELECT value FROM json_each({words:old.name_folded}));
            INSERT OR IGNORE INTO name_vocabulary (word)
                SELECT value FROM json_each({words:new.name_folded}) WHERE value <> '';
            INSERT OR IGNORE INTO user_name_words (word, username, status)
                SELECT value, new.username, new.status
                FROM json_each({words:new.name_folded}) WHERE value <> '';
         END"#,
    ],
    // PostgreSQL: the same tables, the word entries covering the status so that counts
    // read the index alone. The vocabulary has no unique constraint: a word new to two
    // transactions at once would make the second wait for the first, and two bulk
    // batches bringing new words in opposite orders would deadlock. A word written
    // twice that way only appears twice, and lookups take distinct words.
    postgres: &[
        r#"CREATE TABLE name_vocabulary (word TEXT COLLATE "C" NOT NULL)"#,
        "CREATE INDEX name_vocabulary_word ON name_vocabulary (word)",
        r#"CREATE TABLE user_name_words (
            word TEXT COLLATE "C" NOT NULL,
            username TEXT COLLATE "C" NOT NULL,
            status TEXT NOT NULL,
            PRIMARY KEY (word, username) INCLUDE (status)
        )"#,
        "DO $$ BEGIN
            CREATE INDEX name_vocabulary_trgm ON name_vocabulary USING gin (word gin_trgm_ops);
         EXCEPTION WHEN undefined_object THEN
            RAISE WARNING 'pg_trgm is not available (%): name words are looked up by scanning', SQLERRM;
         END $$",
        "INSERT INTO name_vocabulary (word)
            SELECT DISTINCT w FROM users, unnest(string_to_array(name_folded, ' ')) AS w
            WHERE w <> ''",
        "INSERT INTO user_name_words (word, username, status)
            SELECT DISTINCT w, username, status
            FROM users, unnest(string_to_array(name_folded, ' ')) AS w WHERE w <> ''",
        "CREATE FUNCTION user_name_words() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
            IF TG_OP <> 'INSERT' THEN
                DELETE FROM user_name_words WHERE username = OLD.username
                    AND word = ANY (string_to_array(OLD.name_folded, ' '));
            END IF;
            IF TG_OP <> 'DELETE' THEN
                INSERT INTO name_vocabulary (word)
                    SELECT DISTINCT w FROM unnest(string_to_array(NEW.name_folded, ' ')) AS w
                    WHERE w <> '' AND NOT EXISTS (SELECT 1 FROM name_vocabulary v WHERE v.word = w);
                INSERT INTO user_name_words (word, username, status)
                    SELECT DISTINCT w, NEW.username, NEW.status
                    FROM unnest(string_to_array(NEW.name_folded, ' ')) AS w WHERE w <> ''
                    ON CONFLICT DO NOTHING;
            END IF;
            RETURN NULL;
         END $$",
        "CREATE TRIGGER users_name_words AFTER INSERT OR DELETE ON users
            FOR EACH ROW EXECUTE FUNCTION user_name_words()",
        "CREATE TRIGGER users_name_words_update AFTER UPDATE OF name_folded, status, username ON users
            FOR EACH ROW WHEN (OLD.name_folded IS DISTINCT FROM NEW.name_folded
                OR OLD.status IS DISTINCT FROM NEW.status OR OLD.username IS DISTINCT FROM NEW.username)
            EXECUTE FUNCTION user_name_words()",
    ],
},
Migration {
    version: 13,
    name: "user search on PostgreSQL: the words of names and the places in one index",
    // A name within a place (a surname in a province) intersected two bitmaps built in
    // full: the name's 50,000 users from the trigram index and the province's 100,000
    // from the codes index, 10 ms of a 15 ms count over a million users. One GIN index
    // over the words of the name and the codes of both paths answers such a search in
    // one scan that steps from each match of the rarer key to the next of the other (1
    // ms), and a place alone as well as the two indexes it replaces. A name fragment
    // reaches it as the words of the vocabulary that hold it. SQLite's trigram table of
    // names and paths does this already.
    shared: &[],
    sqlite: &[],
    postgres: &[
        "DROP INDEX IF EXISTS users_jurisdiction_codes",
        "DROP INDEX IF EXISTS users_assignment_codes",
        "CREATE INDEX IF NOT EXISTS users_words_places ON users USING gin (
            string_to_array(name_folded, ' '),
            string_to_array(jurisdiction_paths, '/'),
            string_to_array(assignment_paths, '/')
        )",
    ],
},
Migration {
    version: 14,
    name: "readiness proves that writes reach the database",
    // One row at a time, rewritten by each probe: see `Db::probe_writes`.
    shared: &["CREATE TABLE write_probe (
        id TEXT PRIMARY KEY,
        checked_at TEXT NOT NULL,
        pad TEXT NOT NULL
    )"],
    sqlite: &[],
    postgres: &[],
},
Migration {
    version: 15,
    name: "one-time work claimed by one process of several started together",
    shared: &["CREATE TABLE one_time_claims (
        name TEXT PRIMARY KEY,
        claimed_at TEXT NOT NULL
    )"],
    sqlite: &[],
    postgres: &[],
}];

fn render(statement: &str, backend: Backend) -> String {
    let (boolean, path, blob) = match backend {
        Backend::Sqlite => ("INTEGER", "TEXT", "BLOB"),
        Backend::Postgres => ("BOOLEAN", "TEXT COLLATE \"C\"", "BYTEA"),
    };
    let rendered = statement
        .replace("{bool}", boolean)
        .replace("{path}", path)
        .replace("{blob}", blob);
    expand_words(&rendered)
}

/// Replaces each `{words:EXPR}` with the words of the folded name `EXPR` as a JSON
/// array of strings, for `json_each` (SQLite). Folded names are ASCII with single
/// spaces and no control characters, so escaping the backslash and the quote is all
/// the array needs.
fn expand_words(statement: &str) -> String {
    const OPEN: &str = "{words:";
    let mut out = String::with_capacity(statement.len());
    let mut rest = statement;
    while let Some(start) = rest.find(OPEN) {
        let Some(length) = rest[start..].find('}') else {
            break;
        };
        let expression = &rest[start + OPEN.len()..start + length];
        out.push_str(&rest[..start]);
        out.push_str(&format!(
            r#"('["' || replace(replace(replace({expression}, '\', '\\'), '"', '\"'), ' ', '","') || '"]')"#
        ));
        rest = &rest[start + length + 1..];
    }
    out.push_str(rest);
    out
}

/// The newest schema version this build knows.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map(|m| m.version).unwrap_or(0)
}

/// Applies every migration not yet recorded. Safe to run from several processes at
/// once on PostgreSQL: an advisory lock lets one migrate while the others wait.
pub async fn run(db: &Db) -> Result<Vec<i64>, StoreError> {
    let backend = db.backend();
    let mut tx = db.begin().await?;
    if backend == Backend::Postgres {
        Sql::new("SELECT pg_advisory_xact_lock(7291001)")
            .execute(&mut tx)
            .await?;
    }
    Sql::new(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version BIGINT PRIMARY KEY,
            name TEXT NOT NULL,
            applied_at TEXT NOT NULL
        )",
    )
    .execute(&mut tx)
    .await?;
    let applied: Vec<i64> = Sql::new("SELECT version FROM schema_migrations")
        .fetch_all(&mut tx)
        .await?
        .iter()
        .map(|row| crate::sql::int(row, "version"))
        .collect::<Result<_, _>>()?;
    let mut newly = Vec::new();
    for migration in MIGRATIONS {
        if applied.contains(&migration.version) {
            continue;
        }
        let specific = match backend {
            Backend::Sqlite => migration.sqlite,
            Backend::Postgres => migration.postgres,
        };
        for statement in migration.shared.iter().chain(specific) {
            Sql::new(&render(statement, backend))
                .execute(&mut tx)
                .await
                .map_err(|e| StoreError::Other(format!("migration {}: {e}", migration.version)))?;
        }
        Sql::new("INSERT INTO schema_migrations (version, name, applied_at) VALUES (")
            .bind(migration.version)
            .push(", ")
            .bind(migration.name)
            .push(", ")
            .bind(crate::timestamp(chrono::Utc::now()))
            .push(")")
            .execute(&mut tx)
            .await?;
        newly.push(migration.version);
    }
    tx.commit().await?;
    Ok(newly)
}

/// The versions recorded as applied, for readiness checks.
pub async fn current_version(db: &Db) -> Result<i64, StoreError> {
    let mut conn = db.reader().await?;
    let row = Sql::new("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations")
        .fetch_optional(&mut conn)
        .await?;
    match row {
        Some(row) => crate::sql::int(&row, "v"),
        None => Ok(0),
    }
}
