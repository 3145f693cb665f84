//! Password hashing with Argon2id on a bounded set of blocking threads, and the
//! credentials cadre generates (passwords and session tokens).

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use rand::rngs::OsRng;
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use crate::error::ServiceError;

/// OWASP's first Argon2id configuration: 19 MiB, 2 passes, 1 lane.
pub const ARGON2_MEMORY_KIB: u32 = 19 * 1024;
pub const ARGON2_PASSES: u32 = 2;
pub const ARGON2_LANES: u32 = 1;

fn argon2() -> Result<Argon2<'static>, ServiceError> {
    let params = Params::new(ARGON2_MEMORY_KIB, ARGON2_PASSES, ARGON2_LANES, None)
        .map_err(|e| ServiceError::Internal(format!("argon2 parameters: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes off the async threads, at most one hash per permit, so that a burst of
/// sign-ins queues instead of exhausting memory (each hash holds 19 MiB).
#[derive(Clone)]
pub struct Hasher {
    permits: Arc<Semaphore>,
}

impl Hasher {
    pub fn new(threads: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(threads.max(1))),
        }
    }

    pub async fn hash(&self, password: &str) -> Result<String, ServiceError> {
        let password = password.to_owned();
        self.run(move || hash_now(&password)).await
    }

    /// Checks `password` against a stored PHC string; false for any mismatch or a
    /// malformed hash.
    pub async fn verify(&self, password: &str, phc: &str) -> Result<bool, ServiceError> {
        let password = password.to_owned();
        let phc = phc.to_owned();
        self.run(move || Ok(verify_now(&password, &phc))).await
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> Result<T, ServiceError> + Send + 'static,
    ) -> Result<T, ServiceError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| ServiceError::Internal("hasher closed".into()))?;
        tokio::task::spawn_blocking(job)
            .await
            .map_err(|e| ServiceError::Internal(format!("hashing task: {e}")))?
    }
}

pub fn hash_now(password: &str) -> Result<String, ServiceError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()?
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ServiceError::Internal(format!("hashing: {e}")))
}

pub fn verify_now(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        // Parameters come from the stored hash, so older hashes keep verifying.
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
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
