//! `cluster activate` and the session commands (`login`).
#![deny(clippy::wildcard_enum_match_arm)]

use super::*;

pub(super) fn cluster_activate(cluster: &mut Cluster, args: &Args) -> Outcome {
    let next = cluster.state.on_activate().map_err(str::to_owned)?;
    let password = args.password()?;
    if !users::is_valid_password(password) {
        return Err(INVALID_PASSWORD.into());
    }
    // Activation gives the initial admin its password; a world file may have
    // left the admin out, so create it rather than fail.
    if cluster.users.get("admin").is_some() {
        cluster.users.set_password("admin", password);
    } else {
        cluster
            .users
            .insert(User::new("admin", Role::Admin, Some(password)));
    }
    next.apply(&mut cluster.state);
    Ok(json!("Cluster activation successful"))
}

pub(super) fn login(cluster: &mut Cluster, sid: SessionId, args: &Args) -> Outcome {
    let (username, role, password) = args.credentials()?;
    // The admin of a cluster not yet activated has no password. Users::login
    // would count every try against the lockout; refuse without counting.
    if cluster
        .users
        .get(username)
        .is_some_and(|u| u.role == role && u.password.is_none())
    {
        return Err(format!(
            "User '{username}' has no password yet; run 'cluster activate' first"
        ));
    }
    match cluster.users.login(sid, username, role, password) {
        Ok(user) => Ok(json!({ "username": user.username, "role": user.role.as_str() })),
        Err(e) => Err(login_error(e).into()),
    }
}

pub(super) fn login_error(e: LoginError) -> &'static str {
    match e {
        LoginError::UserNotFound => "User not found",
        LoginError::Locked => "User is locked out. Contact an admin to reset the password",
        LoginError::InvalidCredentials => "Invalid username or password",
        LoginError::SessionAlreadyLoggedIn => "User already logged in on this session",
        LoginError::UserLoggedInElsewhere => "User is already logged in",
    }
}
