//! The bare Argon2id limit of this machine: password verifications per second with
//! cadre's own parameters (19 MiB, 2 passes, 1 lane) on every core at once, nothing else
//! running. A sign-in costs one verification, so this is the ceiling for sign-ins/s.
//!
//! `cargo bench -p cadre --bench argon2_rate` (set BENCH_SECONDS, default 10).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cadre_service::password::{hash_now, verify_now};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let phc = hash_now("correct horse battery").map_err(|e| e.to_string())?;
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (phc, done) = (phc.clone(), done.clone());
            std::thread::spawn(move || {
                while Instant::now() < deadline {
                    if verify_now("correct horse battery", &phc) {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().map_err(|_| "a hashing thread panicked")?;
    }
    let rate = done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    println!("argon2id_verifications_per_second {rate:.1} ({threads} threads, {seconds} s)");
    Ok(())
}
