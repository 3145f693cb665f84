//! Password hashing with Argon2id on a bounded set of blocking threads, and the
//! credentials cadre generates (passwords and session tokens).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{mpsc, Arc, Mutex, PoisonError};
use std::time::Duration;

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::Engine;
use rand::rngs::OsRng;
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};

use crate::error::ServiceError;

/// OWASP's first Argon2id configuration: 19 MiB, 2 passes, 1 lane.
pub const ARGON2_MEMORY_KIB: u32 = 19 * 1024;
pub const ARGON2_PASSES: u32 = 2;
pub const ARGON2_LANES: u32 = 1;

fn params() -> Result<Params, ServiceError> {
    Params::new(ARGON2_MEMORY_KIB, ARGON2_PASSES, ARGON2_LANES, None)
        .map_err(|e| ServiceError::Internal(format!("argon2 parameters: {e}")))
}

/// The memory one Argon2 computation works in. Each hashing thread keeps its own from
/// one hash to the next: a fresh 19 MiB for every sign-in came from the kernel as new
/// pages, and faulting them in and zeroing them took a quarter of a sign-in's time.
pub type HashMemory = Vec<Block>;

/// How long a hashing thread with nothing to do keeps its memory.
const KEEP_MEMORY_IDLE: Duration = Duration::from_secs(2);

type Job = Box<dyn FnOnce(&mut HashMemory) + Send>;

/// Hashes on a fixed set of threads of its own, one hash per thread at a time, so that
/// a burst of sign-ins queues instead of exhausting memory (each hash holds 19 MiB).
/// A thread that finishes a hash takes the next from the queue at once: handing each
/// hash to a blocking task of the runtime instead left the cores idle between hashes
/// while the finished task was woken to let the next one start.
#[derive(Clone)]
pub struct Hasher {
    threads: usize,
    /// Started on first use: most processes (the CLI, tests) never hash.
    queue: Arc<Mutex<Option<mpsc::Sender<Job>>>>,
}

impl Hasher {
    pub fn new(threads: usize) -> Self {
        Self {
            threads: threads.max(1),
            queue: Arc::default(),
        }
    }

    fn queue(&self) -> Result<mpsc::Sender<Job>, ServiceError> {
        // A panic while holding the lock leaves the slot as it was; it is still valid.
        let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(sender) = queue.as_ref() {
            return Ok(sender.clone());
        }
        let (sender, jobs) = mpsc::channel::<Job>();
        let jobs = Arc::new(Mutex::new(jobs));
        for n in 0..self.threads {
            let jobs = jobs.clone();
            std::thread::Builder::new()
                .name(format!("cadre-hash-{n}"))
                .spawn(move || hash_jobs(&jobs))
                .map_err(|e| ServiceError::Internal(format!("starting a hashing thread: {e}")))?;
        }
        *queue = Some(sender.clone());
        Ok(sender)
    }

    pub async fn hash(&self, password: &str) -> Result<String, ServiceError> {
        let password = password.to_owned();
        self.run(move |memory| hash_with(memory, &password)).await
    }

    /// Checks `password` against a stored PHC string; false for any mismatch or a
    /// malformed hash.
    pub async fn verify(&self, password: &str, phc: &str) -> Result<bool, ServiceError> {
        let password = password.to_owned();
        let phc = phc.to_owned();
        self.run(move |memory| Ok(verify_with(memory, &password, &phc)))
            .await
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut HashMemory) -> Result<T, ServiceError> + Send + 'static,
    ) -> Result<T, ServiceError> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |memory| {
            // The request gave up while this waited: its hash would be wasted.
            if !done.is_closed() {
                let _ = done.send(job(memory));
            }
        });
        self.queue()?
            .send(job)
            .map_err(|_| ServiceError::Internal("the hashing threads have stopped".into()))?;
        result
            .await
            .map_err(|_| ServiceError::Internal("a hash was dropped unfinished".into()))?
    }
}

/// A hashing thread: runs jobs until every [`Hasher`] is gone, and gives its memory
/// back when it has been idle for a while.
fn hash_jobs(jobs: &Mutex<mpsc::Receiver<Job>>) {
    let mut memory = HashMemory::new();
    loop {
        let job = {
            let jobs = jobs.lock().unwrap_or_else(PoisonError::into_inner);
            match jobs.recv_timeout(KEEP_MEMORY_IDLE) {
                Ok(job) => job,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    memory = HashMemory::new();
                    match jobs.recv() {
                        Ok(job) => job,
                        Err(_) => return,
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            }
        };
        // A panicking job loses its answer (the caller gets an error), not the thread.
        if catch_unwind(AssertUnwindSafe(|| job(&mut memory))).is_err() {
            memory = HashMemory::new();
        }
    }
}

/// `memory`, grown to `params`' size, as the blocks one computation needs. Earlier
/// contents need no clearing: Argon2's first pass writes every block before any is read.
fn blocks<'m>(memory: &'m mut HashMemory, params: &Params) -> &'m mut [Block] {
    let count = params.block_count();
    if memory.len() < count {
        memory.resize(count, Block::default());
    }
    &mut memory[..count]
}

/// The `len`-byte Argon2 output of `password` and `salt`, computed in `memory`.
fn compute(
    argon2: &Argon2<'_>,
    memory: &mut HashMemory,
    password: &str,
    salt: &[u8],
    len: usize,
) -> argon2::password_hash::Result<Output> {
    Output::init_with(len, |out| {
        argon2
            .hash_password_into_with_memory(
                password.as_bytes(),
                salt,
                out,
                blocks(memory, argon2.params()),
            )
            .map_err(|_| argon2::password_hash::Error::Crypto)
    })
}

/// Argon2id of `password` with cadre's parameters and a fresh salt, as a PHC string.
pub fn hash_now(password: &str) -> Result<String, ServiceError> {
    hash_with(&mut HashMemory::new(), password)
}

/// [`hash_now`], computed in `memory`.
pub fn hash_with(memory: &mut HashMemory, password: &str) -> Result<String, ServiceError> {
    let failed = |e: &dyn std::fmt::Display| ServiceError::Internal(format!("hashing: {e}"));
    let params = params()?;
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let salt_raw = salt.decode_b64(&mut salt_bytes).map_err(|e| failed(&e))?;
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let output = compute(
        &argon2,
        memory,
        password,
        salt_raw,
        Params::DEFAULT_OUTPUT_LEN,
    )
    .map_err(|e| failed(&e))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(argon2.params()).map_err(|e| failed(&e))?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(phc.to_string())
}

pub fn verify_now(password: &str, phc: &str) -> bool {
    verify_with(&mut HashMemory::new(), password, phc)
}

/// [`verify_now`], computed in `memory`. Algorithm, version and parameters come from
/// the stored hash, so older hashes keep verifying.
pub fn verify_with(memory: &mut HashMemory, password: &str, phc: &str) -> bool {
    let Ok(stored) = PasswordHash::new(phc) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (stored.salt, stored.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(stored.algorithm) else {
        return false;
    };
    let version = match stored.version.map(Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = Params::try_from(&stored) else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt_raw) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let argon2 = Argon2::new(algorithm, version, params);
    let computed = compute(&argon2, memory, password, salt_raw, expected.len());
    // `Output` compares in constant time.
    computed.is_ok_and(|computed| computed == expected)
}

/// A random 256-bit token, URL-safe.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What is stored for a token: its SHA-256, hex.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

const CONSONANTS: &[u8] = b"bdfghjklmnprstvz";
const VOWELS: &[u8] = b"aeiou";

/// A password that is easy to read aloud over a phone: three pronounceable groups and
/// two digits, such as `pavo-kemi-tura-47` (about 44 bits from the OS CSPRNG). Given
/// to be changed at first sign-in.
pub fn generate_password() -> String {
    let mut rng = OsRng;
    let mut groups = Vec::with_capacity(4);
    for _ in 0..3 {
        let mut group = String::with_capacity(4);
        for _ in 0..2 {
            group.push(CONSONANTS[rng.gen_range(0..CONSONANTS.len())] as char);
            group.push(VOWELS[rng.gen_range(0..VOWELS.len())] as char);
        }
        groups.push(group);
    }
    groups.push(format!("{:02}", rng.gen_range(0..100)));
    groups.join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_with_owasp_parameters_and_verify() {
        let hash = hash_now("mango tree river").unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_now("mango tree river", &hash));
        assert!(!verify_now("mango tree rivet", &hash));
        assert!(!verify_now("x", "not a hash"));
    }

    #[test]
    fn reused_memory_gives_the_standard_hash() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let standard = Argon2::new(Algorithm::Argon2id, Version::V0x13, params().unwrap());
        let mut memory = HashMemory::new();
        // Written by the library's own allocating path, checked in reused memory…
        let theirs = standard
            .hash_password(b"pavo-kemi-tura-47", &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string();
        assert!(verify_with(&mut memory, "pavo-kemi-tura-47", &theirs));
        assert!(!verify_with(&mut memory, "pavo-kemi-tura-48", &theirs));
        // …and the other way round, the memory now full of an earlier computation.
        let ours = hash_with(&mut memory, "pavo-kemi-tura-47").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(standard
            .verify_password(b"pavo-kemi-tura-47", &parsed)
            .is_ok());
        assert!(verify_with(&mut memory, "pavo-kemi-tura-47", &ours));
        // A hash made with other parameters (less memory) still verifies.
        let small = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8 * 1024, 3, 1, None).unwrap(),
        )
        .hash_password(b"x", &SaltString::generate(&mut OsRng))
        .unwrap()
        .to_string();
        assert!(verify_with(&mut memory, "x", &small));
        assert!(!verify_with(&mut memory, "y", &small));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_checks_share_the_hashing_threads() {
        let hasher = Hasher::new(2);
        let phc = hasher.hash("mango tree river").await.unwrap();
        let checks = (0..6).map(|n| {
            let hasher = hasher.clone();
            let phc = phc.clone();
            let password = if n % 2 == 0 {
                "mango tree river"
            } else {
                "mango tree rivet"
            };
            tokio::spawn(async move { hasher.verify(password, &phc).await })
        });
        let mut answers = Vec::new();
        for check in checks.collect::<Vec<_>>() {
            answers.push(check.await.unwrap().unwrap());
        }
        assert_eq!(answers, [true, false, true, false, true, false]);
    }

    #[test]
    fn generated_passwords_are_readable_and_distinct() {
        let a = generate_password();
        let b = generate_password();
        assert_ne!(a, b);
        assert_eq!(a.len(), 17, "{a}");
        assert!(a
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
    }

    #[test]
    fn tokens_are_long_and_hashed_deterministically() {
        let token = new_token();
        assert_eq!(token.len(), 43);
        assert_eq!(token_hash(&token), token_hash(&token));
        assert_ne!(token_hash(&token), token);
    }
}
