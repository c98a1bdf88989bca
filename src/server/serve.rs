//! `hsmdrill serve`: bind, say where, serve until Ctrl-C or SIGTERM.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use super::{run, ServerState};
use crate::engine::cloud::Cloud;
use crate::engine::persist::SavedClock;
use crate::engine::{world, Clock, Engine, EngineConfig, EPOCH};

/// What `hsmdrill serve` was asked for.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// Address to bind (loopback unless told otherwise).
    pub bind: IpAddr,
    /// Port (4599 by default; 0 picks a free one).
    pub port: u16,
    /// A world file to start from (an empty world otherwise).
    pub world: Option<PathBuf>,
    /// Seconds a connect attempt takes.
    pub connect_seconds: u64,
    /// `--state FILE`: restore from FILE (an SQLite database) if it exists
    /// (`world` is then ignored), else start from `world` and create FILE at
    /// once; from then on every acknowledged change and every trail event
    /// is written to FILE before the answer.
    pub state_file: Option<PathBuf>,
    /// `--auth`: accept only requests signed with this key.
    pub auth: Option<super::Credentials>,
}

/// Refuses an address other hosts can reach unless the user said so
/// (`--allow-remote`): the server holds key material, answers unsigned
/// requests without `--auth`, and its control API is never signed.
pub fn check_bind(bind: IpAddr, allow_remote: bool) -> Result<(), String> {
    if bind.is_loopback() || allow_remote {
        return Ok(());
    }
    Err(format!(
        "refusing to bind {bind}: it is not a loopback address, and hsmdrill serve holds key material and an unsigned control API; pass --allow-remote to bind it anyway (and --auth to require signed AWS requests)"
    ))
}

/// Builds the world `serve` starts with (every account and Region it
/// declares) on a clock that follows real time from the page's example
/// instant.
pub fn engine_for(opts: &ServeOptions) -> Result<Cloud, String> {
    let clock = Clock::running_from(EPOCH);
    let cloud = match &opts.world {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            world::load_cloud_str_with_clock(&text, &path.display().to_string(), clock)
                .map_err(|e| e.to_string())?
        }
        None => Cloud::new(Engine::with_clock(EngineConfig::default(), clock)),
    };
    Ok(cloud.with_connect_seconds(Some(opts.connect_seconds)))
}

/// The engine `serve` starts with, and a note for the user if any: with a
/// state file that exists, the engine restored from it (its clock continues
/// from the instant of the last change; a `world` is ignored, which the
/// note says); otherwise [`engine_for`]. A state file that cannot be read or
/// restored is an error and is left untouched.
pub fn start_engine(opts: &ServeOptions) -> Result<(Cloud, Option<String>), String> {
    let Some(path) = &opts.state_file else {
        return engine_for(opts).map(|e| (e, None));
    };
    match super::store::read_cloud(path, SavedClock::resume) {
        Ok(Some(engine)) => {
            let mut note = format!("hsmdrill: restored the state saved in {}", path.display());
            if let Some(world) = &opts.world {
                note.push_str(&format!(" (--world {} ignored)", world.display()));
            }
            Ok((
                engine.with_connect_seconds(Some(opts.connect_seconds)),
                Some(note),
            ))
        }
        Ok(None) => engine_for(opts).map(|e| (e, None)),
        Err(e) => Err(format!(
            "cannot restore the state file {}: {e} (the file was left as it is)",
            path.display()
        )),
    }
}

/// Serves until interrupted. Errors are one line for the user.
pub fn serve(opts: ServeOptions) -> Result<(), String> {
    let (engine, note) = start_engine(&opts)?;
    if let Some(note) = note {
        println!("{note}");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async move {
        let addr = SocketAddr::new(opts.bind, opts.port);
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| format!("cannot bind {addr}: {e}"))?;
        let local = listener
            .local_addr()
            .map_err(|e| format!("cannot read the bound address: {e}"))?;
        let shutdown = shutdown_signal()?;
        let banner = banner(&engine, local);
        let state = match opts.auth.clone() {
            Some(credentials) => {
                ServerState::with_auth(engine, Some(opts.connect_seconds), credentials)
            }
            None => ServerState::new(engine, Some(opts.connect_seconds)),
        };
        if let Some(path) = &opts.state_file {
            // Written at once: a new file exists before the first request,
            // and a restored one is known to be writable.
            let server = state.clone();
            let path = path.clone();
            tokio::task::spawn_blocking(move || server.persist_to(path))
                .await
                .map_err(|e| format!("cannot write the state file: {e}"))?
                .map_err(|e| format!("cannot write the state file: {e}"))?;
        }
        // Last: whoever reads the address may send requests and signals.
        println!("{banner}");
        run(listener, state, shutdown)
            .await
            .map_err(|e| format!("server error: {e}"))?;
        println!("hsmdrill: shut down");
        Ok(())
    })
}

/// Where to point clients, and the world's identifiers (its own partition's,
/// then the Regions and accounts it has besides).
fn banner(cloud: &Cloud, addr: SocketAddr) -> String {
    let engine = cloud.default_engine();
    let url = format!("http://{addr}");
    let mut out = format!(
        "hsmdrill serving the embedded engine on {url}\n\
         \n  aws --endpoint-url {url} kms describe-custom-key-stores\n\
         \n  aws --endpoint-url {url} cloudhsmv2 describe-clusters\n\
         \n  control API: {url}/_hsmdrill/health (see docs/server.md)\n"
    );
    engine.with_state(|st| {
        for s in st.stores.values() {
            out.push_str(&format!(
                "\n  key store {} ({}) on {}: {}",
                s.name,
                s.id,
                s.cluster_id,
                s.state.as_str()
            ));
        }
        for a in st.aliases.values() {
            out.push_str(&format!("\n  key {} = {}", a.name, a.target_key_id));
        }
    });
    for e in cloud.partitions().iter().skip(1) {
        let (stores, clusters) = e.with_state(|st| (st.stores.len(), st.clusters.len()));
        out.push_str(&format!(
            "\n  also account {} in {}: {stores} key store(s), {clusters} cluster(s)",
            e.config().account,
            e.config().region
        ));
    }
    out
}

/// Installs the Ctrl-C and SIGTERM handlers now, before the banner tells
/// anyone the server is up (a signal sent right after it must be a clean
/// shutdown, not the default action that kills the process), and returns
/// what completes on either.
fn shutdown_signal() -> Result<impl Future<Output = ()>, String> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut interrupt =
            signal(SignalKind::interrupt()).map_err(|e| format!("cannot handle SIGINT: {e}"))?;
        let mut terminate =
            signal(SignalKind::terminate()).map_err(|e| format!("cannot handle SIGTERM: {e}"))?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}
