//! `user list`, `user create`, `user delete`, `user change-password`.
#![deny(clippy::wildcard_enum_match_arm)]

use super::*;

pub(super) fn user_list(cluster: &Cluster) -> Value {
    let users: Vec<Value> = cluster
        .users
        .iter()
        .map(|u| {
            json!({
                "username": u.username,
                "role": u.role.as_str(),
                // A string, not a boolean, in the documented output.
                "locked": if u.lockout.is_locked() { "true" } else { "false" },
                "mfa": [],
                "cluster-coverage": "full",
            })
        })
        .collect();
    json!({ "users": users })
}

pub(super) fn user_create(cluster: &mut Cluster, sid: &SessionId, args: &Args) -> Outcome {
    require_admin(cluster, sid)?;
    let (username, role, password) = args.credentials()?;
    if !users::is_valid_username(username) {
        return Err(format!(
            "Invalid username '{username}': it must be 1 to 31 characters, letters, digits or '_'"
        ));
    }
    if !users::is_valid_password(password) {
        return Err(INVALID_PASSWORD.into());
    }
    if let Some(existing) = cluster.users.get(username) {
        // Usernames are case-insensitive, so `Alice` collides with `alice`.
        return Err(format!("User '{}' already exists", existing.username));
    }
    cluster
        .users
        .insert(User::new(username, role, Some(password)));
    Ok(json!({ "username": username, "role": role.as_str() }))
}

pub(super) fn user_delete(cluster: &mut Cluster, sid: &SessionId, args: &Args) -> Outcome {
    let me = require_admin(cluster, sid)?;
    let (username, role) = args.user_and_role()?;
    let stored = match cluster.users.get(username) {
        Some(u) if u.role == role => u.username.clone(),
        Some(_) | None => return Err("User not found".into()),
    };
    if stored.eq_ignore_ascii_case(&me) {
        return Err("Cannot delete the user logged in on this session".into());
    }
    if cluster.keys.owned_by(&stored) {
        return Err(format!(
            "Cannot delete user '{stored}': it owns keys; delete its keys first"
        ));
    }
    if cluster.users.sessions_of(&stored).next().is_some() {
        return Err(format!(
            "Cannot delete user '{stored}': it is logged in (log it out, or disconnect the custom key store if KMS is logged in as it)"
        ));
    }
    cluster.users.remove(&stored);
    Ok(json!({ "username": stored, "role": role.as_str() }))
}

pub(super) fn user_change_password(cluster: &mut Cluster, sid: &SessionId, args: &Args) -> Outcome {
    // Checked first so that "not logged in" is not reported as a permission
    // problem by the model.
    current_user(cluster, sid)?;
    let (username, role, password) = args.credentials()?;
    cluster
        .users
        .change_password(sid, username, role, password)
        .map_err(|e| password_change_error(e).to_owned())?;
    let stored = cluster
        .users
        .get(username)
        .map(|u| u.username.clone())
        .unwrap_or_else(|| username.to_owned());
    Ok(json!({ "username": stored, "role": role.as_str() }))
}

pub(super) fn password_change_error(e: PasswordChangeError) -> &'static str {
    match e {
        PasswordChangeError::UserNotFound => "User not found",
        PasswordChangeError::NotPermitted => {
            "Only an admin or the user itself can change this user's password"
        }
        PasswordChangeError::UserLoggedIn => {
            "Cannot change the password of a user who is logged in; log the user out first (disconnect the custom key store if KMS is logged in as it)"
        }
        PasswordChangeError::InvalidPassword => INVALID_PASSWORD,
    }
}
