//! Secrets in the OS keychain, and their redaction.
//!
//! Values live only in the keychain and, while a task that was given one runs, in the manager's
//! memory (to redact them): never in SQLite, logs, audit entries, config or crash output. The
//! database keeps only names. Backend, chosen once at start ([`choose_store`]):
//! - the desktop keychain (**Secret Service**: GNOME Keyring, KWallet) when the manager runs in a
//!   session with a D-Bus session bus and a keychain answers on it: durable and encrypted at rest;
//! - else the kernel's key store (**keyutils**): it needs no desktop session or D-Bus, so it works
//!   for a headless manager; keys sit in the user's persistent keyring, which outlives manager
//!   restarts and logouts (for `/proc/sys/kernel/keys/persistent_keyring_expiry`, 3 days by
//!   default, renewed on each use) but not a reboot.
use crate::error::{Error, Result};

/// The keychain "service" all of HyperAgent's secrets are filed under.
const SERVICE: &str = "hyperagent";

/// Gives this process a session keyring of its own (with the user's persistent keyring linked
/// in on first use), so the key store works even when started outside a login session (a
/// service, CI). Without it, keyutils calls fail with a misleading "no matching entry".
/// Credentials are per thread: call it before any other thread starts (first thing in `main`,
/// before the async runtime), so every thread inherits the keyring.
pub fn join_session_keyring() {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    // SAFETY: a keyctl call with a null name (an anonymous keyring); it touches no memory of ours.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_JOIN_SESSION_KEYRING,
            std::ptr::null::<libc::c_char>(),
        )
    };
    if rc < 0 {
        tracing::warn!(
            error = %std::io::Error::last_os_error(),
            "cannot join a session keyring; secrets may be unavailable"
        );
    }
}

static STORE: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();

/// Picks the key store (see the module docs) and says which: "secret-service" or "keyutils".
/// Call once, before secrets are used; later calls return the first choice.
pub fn choose_store() -> &'static str {
    STORE.get_or_init(|| {
        if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some_and(|v| !v.is_empty()) {
            keyring::set_default_credential_builder(
                keyring::secret_service::default_credential_builder(),
            );
            match keyring::Entry::new(SERVICE, "store-probe").and_then(|e| e.get_password()) {
                Ok(_) | Err(keyring::Error::NoEntry) => return "secret-service",
                Err(e) => tracing::warn!(
                    error = %e,
                    "the desktop keychain (Secret Service) does not answer; secrets go to the \
                     kernel key store, which forgets them on reboot"
                ),
            }
        }
        keyring::set_default_credential_builder(keyring::keyutils::default_credential_builder());
        "keyutils"
    })
}

/// The key store in use ("secret-service" or "keyutils").
pub fn store_name() -> &'static str {
    choose_store()
}

/// Checks a secret's name: 1-128 letters, digits, `_`, `-`, `.`.
pub fn check_name(name: &str) -> Result<()> {
    crate::policy::parse("secret", name).map(|_| ())
}

fn entry(name: &str) -> Result<keyring::Entry> {
    check_name(name)?;
    choose_store();
    keyring::Entry::new(SERVICE, name).map_err(|e| Error::Secret(format!("keychain: {e}")))
}

/// Stores (or replaces) a secret.
pub fn store(name: &str, value: &str) -> Result<()> {
    if value.is_empty() || value.len() > 64 * 1024 {
        return Err(Error::InvalidInput(format!(
            "the value of secret `{name}` must be 1 to 65536 bytes"
        )));
    }
    entry(name)?
        .set_password(value)
        .map_err(|e| Error::Secret(format!("storing secret `{name}` in the keychain: {e}")))
}

/// Reads a secret.
pub fn load(name: &str) -> Result<String> {
    entry(name)?.get_password().map_err(|e| match e {
        keyring::Error::NoEntry => Error::Secret(format!(
            "secret `{name}` is not in the keychain (set it with `hyperagent secret set {name}`; \
             the kernel key store forgets secrets on reboot)"
        )),
        other => Error::Secret(format!(
            "reading secret `{name}` from the keychain: {other}"
        )),
    })
}

/// Deletes a secret; deleting one that is not there is not an error.
pub fn delete(name: &str) -> Result<()> {
    match entry(name)?.delete_credential() {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(Error::Secret(format!(
            "deleting secret `{name}` from the keychain: {e}"
        ))),
    }
}

/// `text` with every given secret value replaced by `[redacted NAME]`.
pub fn redact(text: &str, secrets: &[(String, String)]) -> Option<String> {
    let hits: Vec<&(String, String)> = secrets
        .iter()
        .filter(|(_, v)| !v.is_empty() && text.contains(v.as_str()))
        .collect();
    if hits.is_empty() {
        return None;
    }
    let mut out = text.to_string();
    for (name, value) in hits {
        out = out.replace(value.as_str(), &format!("[redacted {name}]"));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_replaces_every_occurrence_and_only_then_allocates() {
        let s = vec![("TOKEN".to_string(), "hunter2".to_string())];
        assert_eq!(redact("nothing here", &s), None);
        assert_eq!(
            redact("a hunter2 b hunter2", &s).as_deref(),
            Some("a [redacted TOKEN] b [redacted TOKEN]")
        );
    }

    #[test]
    fn the_key_store_keeps_and_forgets_values() {
        join_session_keyring();
        let name = format!("hyperagent-test-{}", std::process::id());
        store(&name, "s3cret value").unwrap();
        assert_eq!(load(&name).unwrap(), "s3cret value");
        store(&name, "replaced").unwrap();
        assert_eq!(load(&name).unwrap(), "replaced");
        delete(&name).unwrap();
        assert!(load(&name)
            .unwrap_err()
            .to_string()
            .contains("not in the keychain"));
        assert!(store("bad name", "x").is_err());
        assert!(store(&name, "").is_err());
    }
}
