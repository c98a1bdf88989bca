//! Secrets never leak: key material and CloudHSM / `kmsuser` passwords
//! appear in nothing a scenario suite or a server produces.
//!
//! **Secrets.** Every AES key's 32 raw bytes (in every cluster and every
//! backup, read through `KeyMaterial::raw_bytes_for_leak_tests`), every
//! CloudHSM user's password in every cluster and backup, and every key
//! store's `KeyStorePassword` (which Connect rotates to a secret only the
//! engine knows). They are collected from the engine before and after every
//! operation the runner drives, so material that R6 / R7 scenarios delete,
//! and clusters they replace, are known before they go.
//!
//! **Encodings.** Key material is searched as its raw bytes (in the byte
//! form of the text), lower- and upper-case hex, standard and URL-safe
//! base64 with and without padding, the same base64 when the key sits at
//! byte offset 0, 1 or 2 (mod 3) inside a longer base64 blob (the part of
//! the encoding that depends on the key alone), and as a decimal byte list
//! (`[1, 2, …]` and `[1,2,…]`). A password is searched as itself.
//!
//! **Texts.**
//! - `no_secret_leaks_from_the_shipped_suite`: every shipped runbook and
//!   feature (found with `suite::discover`, as `hsmdrill run` finds them)
//!   runs through a recording [`Target`] wrapped around `EngineTarget`,
//!   which keeps every response (success bodies, CloudHSM CLI envelopes,
//!   fault responses, trail lookups) and every error (`exception: message`).
//!   After each scenario its whole trail is rendered as CloudTrail
//!   `LookupEvents` returns it, and its pretty, JSON and JUnit reports and its
//!   DescribeCustomKeyStores snapshot are rendered. Then the committed
//!   `*.snap` files under `scenarios/` and `features/`, and the stdout and
//!   stderr of the built binary's `run scenarios features` in each format.
//! - `no_secret_leaks_from_a_served_engine`: `hsmdrill serve --state` on the
//!   example world, driven over HTTP through a disconnect, a password reset
//!   in the CloudHSM CLI, a Connect (which rotates `kmsuser`'s password), a
//!   CreateKey, an Encrypt, failing UpdateCustomKeyStore and
//!   CreateCustomKeyStore calls (wrong state, passwords too short, too long
//!   or not a string), a misspelt CLI flag carrying a password, CloudHSM v2
//!   and CloudTrail lookups; the
//!   secrets are read back from the state file (which must be mode 0600),
//!   and every HTTP response (head and body) and the server's stdout and
//!   stderr are scanned.
//!
//! **Which passwords may appear where.** No response, error message, trail
//! event, snapshot response, server answer or server log may hold any
//! password, not even one the caller sent. A report, or a snapshot's header
//! and step lines, may hold a password the scenario itself wrote (in a
//! request it sent, or in its file: titles and step texts are shown); for
//! the binary's pretty and JUnit reports, only one in a scenario title.
//!
//! **Self-checks.** `the_scanner_finds_a_planted_secret_in_every_encoding`
//! plants a key and a password in each encoding and checks they are found
//! (and that nothing is found where nothing was planted). And after each
//! scenario the engine's own state file rows (`Engine::rows`, which
//! legitimately holds every secret, as base64 and plain text) must show
//! every secret of the engine to the scanner: a scanner or a harvest that
//! missed secrets would fail there, not pass silently.
//!
//! The figures (how many secrets, texts and bytes) are printed with
//! `eprintln!` (`cargo test --test integration -- secrets:: --nocapture`).
//!
//! Layout: `harvest.rs` collects the secrets and names every encoding of a
//! key; `scanner.rs` finds them in a text (and checks itself on planted
//! ones); `recorder.rs` runs a scenario on a target that keeps everything
//! it sees; `suite.rs` and `served.rs` are the two leak tests.

mod harvest;
mod recorder;
mod scanner;
mod served;
mod suite;
