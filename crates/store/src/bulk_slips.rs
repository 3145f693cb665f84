//! Slip sheets of a bulk job that generates passwords: each slip sealed to the public
//! key of its uploader, who alone holds the secret key. The sheet is handed out once
//! (taking it deletes the slips) and is purged unopened when it expires.

use crate::db::Conn;
use crate::error::StoreError;
use crate::sql::{self, Sql};

/// The sheet of one job: the public key slips are sealed to, and its lifetime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetRow {
    pub job_id: String,
    pub public_key: String,
    pub expires_at: String,
    pub taken_at: Option<String>,
}

/// Opens a job's sheet, in the transaction that stores the job.
pub async fn open(conn: &mut Conn, sheet: &SheetRow) -> Result<(), StoreError> {
    let mut q = Sql::new("INSERT INTO bulk_slip_sheets (job_id, public_key, expires_at) VALUES (");
    q.bind(sheet.job_id.as_str())
        .push(", ")
        .bind(sheet.public_key.as_str())
        .push(", ")
        .bind(sheet.expires_at.as_str())
        .push(")");
    q.execute(conn).await?;
    Ok(())
}

pub async fn sheet(conn: &mut Conn, job_id: &str) -> Result<Option<SheetRow>, StoreError> {
    let mut q = Sql::new(
        "SELECT job_id, public_key, expires_at, taken_at FROM bulk_slip_sheets WHERE job_id = ",
    );
    q.bind(job_id);
    q.fetch_optional(conn)
        .await?
        .map(|row| {
            Ok(SheetRow {
                job_id: sql::text(&row, "job_id")?,
                public_key: sql::text(&row, "public_key")?,
                expires_at: sql::text(&row, "expires_at")?,
                taken_at: sql::opt_text(&row, "taken_at")?,
            })
        })
        .transpose()
}

/// Adds the sealed slip of one input row, in the batch that creates its user.
pub async fn insert(
    conn: &mut Conn,
    job_id: &str,
    row_no: i64,
    sealed: &str,
) -> Result<(), StoreError> {
    let mut q = Sql::new("INSERT INTO bulk_slips (job_id, row_no, sealed) VALUES (");
    q.bind(job_id)
        .push(", ")
        .bind(row_no)
        .push(", ")
        .bind(sealed)
        .push(")");
    q.execute(conn).await?;
    Ok(())
}

/// Every sealed slip of a job, in row order.
pub async fn sealed(conn: &mut Conn, job_id: &str) -> Result<Vec<(i64, String)>, StoreError> {
    let mut q = Sql::new("SELECT row_no, sealed FROM bulk_slips WHERE job_id = ");
    q.bind(job_id).push(" ORDER BY row_no");
    q.fetch_all(conn)
        .await?
        .iter()
        .map(|row| Ok((sql::int(row, "row_no")?, sql::text(row, "sealed")?)))
        .collect()
}

/// Marks the sheet taken and deletes its slips; false when it was taken already or
/// has expired (then nothing changes), so of two racing downloads one wins.
pub async fn take(conn: &mut Conn, job_id: &str, now: &str) -> Result<bool, StoreError> {
    let mut q = Sql::new("UPDATE bulk_slip_sheets SET taken_at = ");
    q.bind(now)
        .push(" WHERE job_id = ")
        .bind(job_id)
        .push(" AND taken_at IS NULL AND expires_at > ")
        .bind(now);
    if q.execute(conn).await? == 0 {
        return Ok(false);
    }
    let mut delete = Sql::new("DELETE FROM bulk_slips WHERE job_id = ");
    delete.bind(job_id);
    delete.execute(conn).await?;
    Ok(true)
}

/// Deletes the slips of every sheet expired by `now`; returns how many.
pub async fn purge_expired(conn: &mut Conn, now: &str) -> Result<u64, StoreError> {
    let mut q = Sql::new(
        "DELETE FROM bulk_slips WHERE job_id IN \
         (SELECT job_id FROM bulk_slip_sheets WHERE expires_at <= ",
    );
    q.bind(now).push(")");
    q.execute(conn).await
}
