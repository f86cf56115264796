//! Argon2id password hashing (19 MiB, t=2, p=1), always off the async threads.

use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};
use std::sync::{Condvar, LazyLock, Mutex};

/// At most this many Argon2 computations run at once (one per core, at
/// most four): more would not finish sooner on the cores there are, and
/// each holds 19 MiB while it runs.
struct Slots {
    free: Mutex<usize>,
    freed: Condvar,
}

static SLOTS: LazyLock<Slots> = LazyLock::new(|| Slots {
    free: Mutex::new(
        std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(4),
    ),
    freed: Condvar::new(),
});

/// Runs `f` once a slot is free (blocking the calling thread until then).
fn in_slot<T>(f: impl FnOnce() -> T) -> T {
    {
        let mut free = SLOTS.free.lock().unwrap_or_else(|e| e.into_inner());
        while *free == 0 {
            free = SLOTS.freed.wait(free).unwrap_or_else(|e| e.into_inner());
        }
        *free -= 1;
    }
    struct Release;
    impl Drop for Release {
        fn drop(&mut self) {
            *SLOTS.free.lock().unwrap_or_else(|e| e.into_inner()) += 1;
            SLOTS.freed.notify_one();
        }
    }
    let _release = Release;
    f()
}

fn hasher() -> Argon2<'static> {
    // The OWASP-recommended minimum for Argon2id.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password into a PHC string. Blocking: call from `web::block`.
pub fn hash(password: &str) -> anyhow::Result<String> {
    // The salt: 16 bytes from the operating system's generator.
    in_slot(|| {
        hasher()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
    })
    .map_err(|e| anyhow::anyhow!("hashing password: {e}"))
}

/// Checks a password against a PHC string. Blocking: call from `web::block`.
pub fn verify(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => in_slot(|| {
            hasher()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        }),
        Err(_) => false,
    }
}

/// A valid hash of a random password, verified against when the e-mail is
/// unknown so that unknown accounts take as long as wrong passwords.
pub fn decoy_hash() -> String {
    hash("decoy password that matches nothing").unwrap_or_default()
}

/// The decoy password hash, made once at start (see [`decoy_hash`]) and
/// shared by every door that signs users in.
pub struct DecoyHash(pub String);

#[cfg(test)]
mod tests {
    #[test]
    fn hashes_verify_and_are_argon2id() {
        let h = super::hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(super::verify("correct horse battery", &h));
        assert!(!super::verify("correct horse battery!", &h));
        assert!(!super::verify("x", "not a phc string"));
    }

    #[test]
    fn hashes_stored_before_argon2_0_6_still_verify() {
        // Made by argon2 0.5.3 with these parameters, as every stored hash was.
        let old = "$argon2id$v=19$m=19456,t=2,p=1$bGl2ZWNyZWRpdHNhbHQ$NUHI/V1oDiB6LI1dEKM89XLOqvu8wfJ3lk3yQvmSV/o";
        assert!(super::verify("correct horse battery", old));
        assert!(!super::verify("correct horse battery!", old));
    }
}
