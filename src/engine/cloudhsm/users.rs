//! CloudHSM users: roles, passwords, the five-strikes lockout (its machine is
//! [`crate::engine::machines::user`], re-exported here), and who is logged in
//! where.
//!
//! A cluster's users are replicated to every HSM, so they live on the cluster
//! (and travel in backups). Logins belong to a *session*: a CloudHSM CLI
//! connection, or KMS itself while a key store is connected (R5: "while
//! connected, KMS stays logged in to the cluster as the `kmsuser` CU").
#![deny(clippy::wildcard_enum_match_arm)]

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use crate::engine::machines::user::{Lockout, MAX_FAILED_LOGINS};

/// A CloudHSM user role as the CLI spells it.
#[derive(Clone, Copy, Debug, Deserialize, Eq, Ord, PartialEq, PartialOrd, Serialize)]
pub enum Role {
    /// `admin`: manages users.
    #[serde(rename = "admin")]
    Admin,
    /// `crypto-user` (CU): owns and uses keys.
    #[serde(rename = "crypto-user")]
    CryptoUser,
    /// `internal(APPLIANCE_USER)`: the appliance user `user list` shows.
    #[serde(rename = "internal(APPLIANCE_USER)")]
    Appliance,
}

impl Role {
    /// The role named on a CLI line (`--role admin|crypto-user`).
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "crypto-user" => Some(Role::CryptoUser),
            _ => None,
        }
    }

    /// The CLI spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::CryptoUser => "crypto-user",
            Role::Appliance => "internal(APPLIANCE_USER)",
        }
    }
}

/// Where a login lives.
#[derive(Clone, Debug, Deserialize, Eq, Ord, PartialEq, PartialOrd, Serialize)]
pub enum SessionId {
    /// A CloudHSM CLI connection, named by the scenario or client.
    Cli(String),
    /// KMS, logged in on behalf of this custom key store.
    Kms(String),
}

/// One CloudHSM user.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct User {
    /// The name as created (usernames compare case-insensitively).
    pub username: String,
    /// The role.
    pub role: Role,
    /// The password; `None` for the admin before `cluster activate`.
    pub password: Option<String>,
    /// Lockout state.
    pub lockout: Lockout,
}

impl User {
    /// A user as CreateUser, `user create` or `cluster activate` makes it:
    /// with no failed login yet.
    pub fn new(username: &str, role: Role, password: Option<&str>) -> User {
        User {
            username: username.to_owned(),
            role,
            password: password.map(str::to_owned),
            lockout: Lockout::Open { failures: 0 },
        }
    }
}

/// Why a login failed.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum LoginError {
    /// No such user with that role.
    UserNotFound,
    /// The user is locked out.
    Locked,
    /// Wrong password (the failure was counted).
    InvalidCredentials,
    /// This session is already logged in.
    SessionAlreadyLoggedIn,
    /// The user is logged in elsewhere and may not log in again here.
    UserLoggedInElsewhere,
}

/// Why a password change failed.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum PasswordChangeError {
    /// No such user with that role.
    UserNotFound,
    /// The caller is neither that user nor an admin.
    NotPermitted,
    /// The user is logged in (R8: why KMS must be disconnected first).
    UserLoggedIn,
    /// Not 7–32 alphanumeric characters.
    InvalidPassword,
}

/// The users of a cluster and the sessions logged in to it (both persisted:
/// a connected key store's KMS login and a named CLI session outlive a
/// restart of `hsmdrill serve --state`).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct Users {
    users: BTreeMap<String, User>,
    #[serde(with = "crate::engine::persist::map_as_pairs")]
    logins: BTreeMap<SessionId, String>,
}

/// R8: "7 to 32 alphanumeric characters, case-sensitive, no special characters".
pub fn is_valid_password(p: &str) -> bool {
    (7..=32).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Usernames: at most 31 characters, alphanumeric or `_` (CloudHSM quotas).
pub fn is_valid_username(u: &str) -> bool {
    (1..=31).contains(&u.len()) && u.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn key(username: &str) -> String {
    username.to_ascii_lowercase()
}

impl Users {
    /// Adds or replaces a user.
    pub fn insert(&mut self, user: User) {
        self.users.insert(key(&user.username), user);
    }

    /// The user with this name.
    pub fn get(&self, username: &str) -> Option<&User> {
        self.users.get(&key(username))
    }

    /// The user with this name, mutably.
    pub fn get_mut(&mut self, username: &str) -> Option<&mut User> {
        self.users.get_mut(&key(username))
    }

    /// Removes a user.
    pub fn remove(&mut self, username: &str) -> Option<User> {
        self.users.remove(&key(username))
    }

    /// Every user, in name order.
    pub fn iter(&self) -> impl Iterator<Item = &User> {
        self.users.values()
    }

    /// The user logged in on `session`, if any.
    pub fn logged_in(&self, session: &SessionId) -> Option<&User> {
        self.logins.get(session).and_then(|u| self.users.get(u))
    }

    /// Sessions in which `username` is logged in.
    pub fn sessions_of(&self, username: &str) -> impl Iterator<Item = &SessionId> {
        let k = key(username);
        self.logins
            .iter()
            .filter(move |(_, u)| **u == k)
            .map(|(s, _)| s)
    }

    /// Whether a CLI session (not KMS) has `username` logged in.
    pub fn is_logged_in_by_cli(&self, username: &str) -> bool {
        self.sessions_of(username)
            .any(|s| matches!(s, SessionId::Cli(_)))
    }

    /// Tries to log `session` in. A wrong password counts towards the lockout
    /// even if the user is in use elsewhere, as the HSM checks the password
    /// first.
    pub fn login(
        &mut self,
        session: SessionId,
        username: &str,
        role: Role,
        password: &str,
    ) -> Result<&User, LoginError> {
        self.login_counting(session, username, role, password, true)
    }

    /// [`Self::login`], where a wrong password counts toward the lockout
    /// only if `count_failure` (KMS's own attempts, by the world setting
    /// `kms_failed_logins_count`: docs/fidelity.md I55).
    pub fn login_counting(
        &mut self,
        session: SessionId,
        username: &str,
        role: Role,
        password: &str,
        count_failure: bool,
    ) -> Result<&User, LoginError> {
        if self.logins.contains_key(&session) {
            return Err(LoginError::SessionAlreadyLoggedIn);
        }
        let k = key(username);
        let in_use_by_kms = self
            .logins
            .iter()
            .any(|(s, u)| *u == k && matches!(s, SessionId::Kms(_)));
        let user = match self.users.get_mut(&k) {
            Some(u) if u.role == role => u,
            Some(_) | None => return Err(LoginError::UserNotFound),
        };
        if user.lockout.is_locked() {
            return Err(LoginError::Locked);
        }
        if user.password.as_deref() != Some(password) {
            if count_failure {
                user.lockout.on_failed_login().apply(&mut user.lockout);
            }
            return Err(LoginError::InvalidCredentials);
        }
        if in_use_by_kms {
            return Err(LoginError::UserLoggedInElsewhere);
        }
        user.lockout.on_login().apply(&mut user.lockout);
        self.logins.insert(session.clone(), k.clone());
        self.users.get(&k).ok_or(LoginError::UserNotFound)
    }

    /// Logs `session` out; returns who was logged in.
    pub fn logout(&mut self, session: &SessionId) -> Option<String> {
        self.logins.remove(session)
    }

    /// Logs out every session (a cluster restored from a backup has none).
    pub fn clear_logins(&mut self) {
        self.logins.clear();
    }

    /// `user change-password`, run by the user logged in on `by`.
    pub fn change_password(
        &mut self,
        by: &SessionId,
        username: &str,
        role: Role,
        new_password: &str,
    ) -> Result<(), PasswordChangeError> {
        let caller = self.logins.get(by).cloned();
        let caller_role = caller
            .as_ref()
            .and_then(|c| self.users.get(c))
            .map(|u| u.role);
        let k = key(username);
        match self.users.get(&k) {
            Some(u) if u.role == role => {}
            Some(_) | None => return Err(PasswordChangeError::UserNotFound),
        }
        let is_self = caller.as_deref() == Some(k.as_str());
        if !(is_self || caller_role == Some(Role::Admin)) {
            return Err(PasswordChangeError::NotPermitted);
        }
        if !is_self && self.logins.values().any(|u| *u == k) {
            return Err(PasswordChangeError::UserLoggedIn);
        }
        if !is_valid_password(new_password) {
            return Err(PasswordChangeError::InvalidPassword);
        }
        if let Some(u) = self.users.get_mut(&k) {
            u.password = Some(new_password.to_owned());
            u.lockout.on_password_change().apply(&mut u.lockout);
        }
        Ok(())
    }

    /// Sets a password with no checks: KMS rotating `kmsuser`'s password
    /// during connect, or a world file.
    pub fn set_password(&mut self, username: &str, password: &str) {
        if let Some(u) = self.users.get_mut(&key(username)) {
            u.password = Some(password.to_owned());
            u.lockout.on_password_change().apply(&mut u.lockout);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users() -> Users {
        let mut u = Users::default();
        u.insert(User::new("admin", Role::Admin, Some("adminPass1")));
        u.insert(User::new("kmsuser", Role::CryptoUser, Some("kmsPassword1")));
        u
    }

    #[test]
    fn five_wrong_passwords_lock_and_a_password_change_unlocks() {
        let mut u = users();
        let s = SessionId::Cli("a".into());
        for _ in 0..4 {
            assert_eq!(
                u.login(s.clone(), "kmsuser", Role::CryptoUser, "wrongPass1")
                    .err(),
                Some(LoginError::InvalidCredentials)
            );
        }
        assert!(!u.get("kmsuser").unwrap().lockout.is_locked());
        let _ = u.login(s.clone(), "kmsuser", Role::CryptoUser, "wrongPass1");
        assert!(u.get("kmsuser").unwrap().lockout.is_locked());
        assert_eq!(
            u.login(s.clone(), "kmsuser", Role::CryptoUser, "kmsPassword1")
                .err(),
            Some(LoginError::Locked)
        );
        let admin = SessionId::Cli("admin".into());
        u.login(admin.clone(), "admin", Role::Admin, "adminPass1")
            .unwrap();
        u.change_password(&admin, "kmsuser", Role::CryptoUser, "newPass123")
            .unwrap();
        assert!(u
            .login(s, "kmsuser", Role::CryptoUser, "newPass123")
            .is_ok());
    }

    #[test]
    fn uncounted_failures_never_lock() {
        let mut u = users();
        let kms = SessionId::Kms("cks-1".into());
        for _ in 0..6 {
            assert_eq!(
                u.login_counting(
                    kms.clone(),
                    "kmsuser",
                    Role::CryptoUser,
                    "wrongPass1",
                    false
                )
                .err(),
                Some(LoginError::InvalidCredentials)
            );
        }
        assert!(!u.get("kmsuser").unwrap().lockout.is_locked());
        assert!(u
            .login_counting(kms, "kmsuser", Role::CryptoUser, "kmsPassword1", false)
            .is_ok());
    }

    #[test]
    fn logged_in_user_password_cannot_be_changed() {
        let mut u = users();
        let kms = SessionId::Kms("cks-1".into());
        u.login(kms, "kmsuser", Role::CryptoUser, "kmsPassword1")
            .unwrap();
        let admin = SessionId::Cli("admin".into());
        u.login(admin.clone(), "admin", Role::Admin, "adminPass1")
            .unwrap();
        assert_eq!(
            u.change_password(&admin, "kmsuser", Role::CryptoUser, "newPass123"),
            Err(PasswordChangeError::UserLoggedIn)
        );
    }

    #[test]
    fn passwords_are_7_to_32_alphanumeric() {
        assert!(is_valid_password("abcdefg"));
        assert!(!is_valid_password("abcdef"));
        assert!(!is_valid_password(&"a".repeat(33)));
        assert!(!is_valid_password("pass word1"));
        assert!(!is_valid_password("pass-word1"));
    }
}
