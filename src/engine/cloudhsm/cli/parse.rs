//! Reading a CLI line: shell-like tokenizing, the command table, flags.
#![deny(clippy::wildcard_enum_match_arm)]

use super::*;

/// Splits a line the way a POSIX shell would: whitespace separates words,
/// `'…'` is literal, `"…"` honours `\"`, `\\`, `\$` and `` \` ``, and a
/// backslash outside quotes escapes the next character. Quoted pieces join the
/// word around them, so `attr.label="arn:aws:kms:…"` is one word, as in the
/// KMS guide's examples.
pub(super) fn tokenize(line: &str) -> Result<Vec<String>, String> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    // A word can be empty yet present (`""`), so track it apart from `word`.
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(ch) => word.push(ch),
                        None => {
                            return Err("unterminated single quote (') in the command line".into())
                        }
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(esc @ ('"' | '\\' | '$' | '`')) => word.push(esc),
                            Some('\n') => {}
                            Some(other) => {
                                word.push('\\');
                                word.push(other);
                            }
                            None => {
                                return Err(
                                    "unterminated double quote (\") in the command line".into()
                                )
                            }
                        },
                        Some(ch) => word.push(ch),
                        None => {
                            return Err("unterminated double quote (\") in the command line".into())
                        }
                    }
                }
            }
            '\\' => match chars.next() {
                // Backslash-newline is a line continuation: it joins, adds nothing.
                Some('\n') => {}
                Some(ch) => {
                    in_word = true;
                    word.push(ch);
                }
                None => {
                    return Err("the command line ends with an unfinished backslash escape".into())
                }
            },
            ws if ws.is_whitespace() => {
                if in_word {
                    tokens.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            other => {
                in_word = true;
                word.push(other);
            }
        }
    }
    if in_word {
        tokens.push(word);
    }
    Ok(tokens)
}

/// The commands hsmdrill emulates.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(super) enum Command {
    ClusterActivate,
    Login,
    Logout,
    UserList,
    UserCreate,
    UserDelete,
    UserChangePassword,
    KeyList,
    KeyDelete,
    KeyGenerateSymmetricAes,
    KeyShare,
    KeyUnshare,
}

/// How many values a flag takes.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(super) enum Arity {
    /// Exactly one (`--username alice` or `--username=alice`), at most once.
    One,
    /// One or more words up to the next flag (`--filter a b`); may repeat.
    Many,
    /// None (`-v`, `--verbose`).
    Switch,
}

/// One flag a command accepts.
#[derive(Debug)]
pub(super) struct Flag {
    pub(super) long: &'static str,
    pub(super) short: Option<&'static str>,
    pub(super) arity: Arity,
}

impl Flag {
    /// A flag that takes one value, at most once.
    const fn one(long: &'static str) -> Flag {
        Flag {
            long,
            short: None,
            arity: Arity::One,
        }
    }

    /// A flag that takes one value or more, and may repeat.
    const fn many(long: &'static str) -> Flag {
        Flag {
            arity: Arity::Many,
            ..Flag::one(long)
        }
    }

    /// A switch, with a one-letter form.
    const fn switch(long: &'static str, short: &'static str) -> Flag {
        Flag {
            long,
            short: Some(short),
            arity: Arity::Switch,
        }
    }

    /// The placeholder clap prints for its value: `<USERNAME>` for
    /// `--username`, `<CLUSTER_ID>` for `--cluster-id`.
    fn value_name(&self) -> String {
        format!("<{}>", self.long.to_ascii_uppercase().replace('-', "_"))
    }
}

pub(super) const USERNAME: Flag = Flag::one("username");
pub(super) const ROLE: Flag = Flag::one("role");
pub(super) const PASSWORD: Flag = Flag::one("password");
pub(super) const CLUSTER_ID: Flag = Flag::one("cluster-id");
pub(super) const FILTER: Flag = Flag::many("filter");
pub(super) const MAX_ITEMS: Flag = Flag::one("max-items");
pub(super) const STARTING_TOKEN: Flag = Flag::one("starting-token");
pub(super) const VERBOSE: Flag = Flag::switch("verbose", "v");
pub(super) const LABEL: Flag = Flag::one("label");
pub(super) const KEY_LENGTH_BYTES: Flag = Flag::one("key-length-bytes");
pub(super) const ATTRIBUTES: Flag = Flag::many("attributes");
pub(super) const SHARE_CRYPTO_USERS: Flag = Flag::many("share-crypto-users");

/// The prompts of a command that asks for a new password twice (`cluster
/// activate`, `user create`, `user change-password`: docs/fidelity.md F23).
const NEW_PASSWORD: &[&str] = &[ENTER_PASSWORD, CONFIRM_PASSWORD];
/// The prompt of `login` (R8's transcript: `Enter password:`).
const PASSWORD_ONCE: &[&str] = &[ENTER_PASSWORD];
/// The first prompt, as the page's transcripts print it.
pub const ENTER_PASSWORD: &str = "Enter password:";
/// The second prompt of a new password.
pub const CONFIRM_PASSWORD: &str = "Confirm password:";

/// A command: the words that name it and its flags, which make its usage
/// line.
#[derive(Debug)]
pub(super) struct Spec {
    pub(super) command: Command,
    pub(super) words: &'static [&'static str],
    /// The flags the usage line shows as required.
    pub(super) required: &'static [Flag],
    /// The flags the usage line shows in brackets.
    pub(super) optional: &'static [Flag],
    /// What the real CLI prompts for, in order, when `--password` is left
    /// out; empty for commands that take no password.
    pub(super) prompts: &'static [&'static str],
}

impl Spec {
    /// Every flag the command accepts, the required ones first.
    pub(super) fn flags(&self) -> impl Iterator<Item = &'static Flag> {
        self.required.iter().chain(self.optional)
    }

    /// The usage line, in Client SDK 5 syntax:
    /// `login --username <USERNAME> … [--cluster-id <CLUSTER_ID>]`.
    pub(super) fn usage(&self) -> String {
        let required = self.required.iter().map(flag_display);
        let optional = self
            .optional
            .iter()
            .map(|f| format!("[{}]", flag_display(f)));
        let words = self.words.iter().map(|w| (*w).to_owned());
        words
            .chain(required)
            .chain(optional)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

pub(super) const SPECS: &[Spec] = &[
    Spec {
        command: Command::ClusterActivate,
        words: &["cluster", "activate"],
        required: &[],
        optional: &[PASSWORD, CLUSTER_ID],
        prompts: NEW_PASSWORD,
    },
    Spec {
        command: Command::Login,
        words: &["login"],
        required: &[USERNAME, ROLE],
        optional: &[PASSWORD, CLUSTER_ID],
        prompts: PASSWORD_ONCE,
    },
    Spec {
        command: Command::Logout,
        words: &["logout"],
        required: &[],
        optional: &[CLUSTER_ID],
        prompts: &[],
    },
    Spec {
        command: Command::UserList,
        words: &["user", "list"],
        required: &[],
        optional: &[CLUSTER_ID],
        prompts: &[],
    },
    Spec {
        command: Command::UserCreate,
        words: &["user", "create"],
        required: &[USERNAME, ROLE],
        optional: &[PASSWORD, CLUSTER_ID],
        prompts: NEW_PASSWORD,
    },
    Spec {
        command: Command::UserDelete,
        words: &["user", "delete"],
        required: &[USERNAME, ROLE],
        optional: &[CLUSTER_ID],
        prompts: &[],
    },
    Spec {
        command: Command::UserChangePassword,
        words: &["user", "change-password"],
        required: &[USERNAME, ROLE],
        optional: &[PASSWORD, CLUSTER_ID],
        prompts: NEW_PASSWORD,
    },
    Spec {
        command: Command::KeyList,
        words: &["key", "list"],
        required: &[],
        optional: &[FILTER, MAX_ITEMS, STARTING_TOKEN, VERBOSE, CLUSTER_ID],
        prompts: &[],
    },
    Spec {
        command: Command::KeyDelete,
        words: &["key", "delete"],
        required: &[FILTER],
        optional: &[CLUSTER_ID],
        prompts: &[],
    },
    Spec {
        command: Command::KeyGenerateSymmetricAes,
        words: &["key", "generate-symmetric", "aes"],
        required: &[LABEL, KEY_LENGTH_BYTES],
        optional: &[ATTRIBUTES, SHARE_CRYPTO_USERS, CLUSTER_ID],
        prompts: &[],
    },
    Spec {
        command: Command::KeyShare,
        words: &["key", "share"],
        required: &[FILTER, USERNAME, ROLE],
        optional: &[CLUSTER_ID],
        prompts: &[],
    },
    Spec {
        command: Command::KeyUnshare,
        words: &["key", "unshare"],
        required: &[FILTER, USERNAME, ROLE],
        optional: &[CLUSTER_ID],
        prompts: &[],
    },
];

/// "cluster activate, login, logout, …" for messages that list commands.
pub(super) fn command_names() -> String {
    let names: Vec<String> = SPECS.iter().map(|s| s.words.join(" ")).collect();
    format!("{}, help", names.join(", "))
}

/// Every usage line, for `help`.
pub(super) fn all_usages() -> String {
    let usages: Vec<String> = SPECS.iter().map(Spec::usage).collect();
    format!("commands: {}", usages.join("; "))
}

/// Finds the command named by the first words of `tokens`; returns it and the
/// words after its name.
pub(super) fn find_spec(tokens: &[String]) -> Result<(&'static Spec, &[String]), String> {
    let Some(first) = tokens.first() else {
        return Err(format!(
            "no command given; expected one of: {}",
            command_names()
        ));
    };
    if matches!(first.as_str(), "help" | "--help" | "-h") {
        // `help key list` → that command's usage; bare `help` → all of them.
        // It is answered as a failure because it runs nothing (the real CLI
        // prints plain text, not an envelope), so a scripted drill cannot
        // mistake it for a step that succeeded.
        let rest = tokens.get(1..).unwrap_or(&[]);
        return Err(match SPECS.iter().find(|s| names(s, rest)) {
            Some(spec) => format!("usage: {}", spec.usage()),
            None => all_usages(),
        });
    }
    if let Some(spec) = SPECS.iter().find(|s| names(s, tokens)) {
        return Ok((spec, tokens.get(spec.words.len()..).unwrap_or(&[])));
    }
    // The longest run of words that starts some command names a group
    // (`key`, `key generate-symmetric`): say what may follow it.
    let depth = (1..=tokens.len())
        .rev()
        .find(|&n| {
            SPECS
                .iter()
                .any(|s| s.words.len() > n && names_prefix(s, tokens, n))
        })
        .unwrap_or(0);
    if depth == 0 {
        return Err(format!(
            "unrecognized command '{first}'; expected one of: {}",
            command_names()
        ));
    }
    let mut subcommands: Vec<&str> = SPECS
        .iter()
        .filter(|s| s.words.len() > depth && names_prefix(s, tokens, depth))
        .filter_map(|s| s.words.get(depth).copied())
        .collect();
    subcommands.dedup();
    let group = tokens.get(..depth).unwrap_or(&[]).join(" ");
    Err(match tokens.get(depth) {
        Some(sub) => format!(
            "unrecognized subcommand '{sub}' for '{group}'; expected one of: {}",
            subcommands.join(", ")
        ),
        None => format!(
            "'{group}' needs a subcommand; expected one of: {}",
            subcommands.join(", ")
        ),
    })
}

/// Whether the first `n` words of `tokens` are the first `n` words of
/// `spec`'s name.
fn names_prefix(spec: &Spec, tokens: &[String], n: usize) -> bool {
    tokens.len() >= n
        && spec.words.len() >= n
        && spec.words.iter().zip(tokens).take(n).all(|(w, t)| w == t)
}

/// Whether `tokens` start with the words naming `spec`.
pub(super) fn names(spec: &Spec, tokens: &[String]) -> bool {
    tokens.len() >= spec.words.len() && spec.words.iter().zip(tokens).all(|(w, t)| w == t)
}

/// A command line read: its command and its flags' values by long name (a
/// switch maps to no values).
#[derive(Debug)]
pub(super) struct Args {
    pub(super) spec: &'static Spec,
    pub(super) values: BTreeMap<&'static str, Vec<String>>,
    /// What the operator typed at the prompts, in order.
    pub(super) answers: Vec<String>,
}

impl Args {
    pub(super) fn one(&self, flag: &Flag) -> Option<&str> {
        self.values
            .get(flag.long)
            .and_then(|v| v.first())
            .map(String::as_str)
    }

    pub(super) fn many(&self, flag: &Flag) -> &[String] {
        self.values.get(flag.long).map(Vec::as_slice).unwrap_or(&[])
    }

    pub(super) fn has(&self, flag: &Flag) -> bool {
        self.values.contains_key(flag.long)
    }

    /// A flag the command cannot run without.
    pub(super) fn required(&self, flag: &Flag) -> Result<&str, String> {
        self.one(flag).ok_or_else(|| self.missing(flag))
    }

    /// The failure of the command run without a flag it needs.
    pub(super) fn missing(&self, flag: &Flag) -> String {
        format!(
            "the required argument '{}' was not provided; usage: {}",
            flag_display(flag),
            self.spec.usage()
        )
    }

    /// `--username` and `--role`, which name a user.
    pub(super) fn user_and_role(&self) -> Result<(&str, Role), String> {
        let username = self.required(&USERNAME)?;
        Ok((username, parse_role(self.required(&ROLE)?)?))
    }

    /// `--username`, `--role` and `--password`, checked in that order.
    pub(super) fn credentials(&self) -> Result<(&str, Role, &str), String> {
        let (username, role) = self.user_and_role()?;
        Ok((username, role, self.password()?))
    }

    /// The prompts this line makes the CLI show: the command's, unless
    /// `--password` is given.
    pub(super) fn prompts(&self) -> &'static [&'static str] {
        if self.has(&PASSWORD) {
            &[]
        } else {
            self.spec.prompts
        }
    }

    /// `--password`, or what was typed at the prompts for it.
    pub(super) fn password(&self) -> Result<&str, String> {
        if let Some(p) = self.one(&PASSWORD) {
            return Ok(p);
        }
        match self.answers.as_slice() {
            [] => Err(
                "password required: give --password <PASSWORD>, or answer the 'Enter password:' prompt"
                    .to_owned(),
            ),
            [password] => Ok(password),
            // docs/fidelity.md I50: the wording of a mismatch is hsmdrill's.
            [password, confirmation, ..] if password == confirmation => Ok(password),
            [_, _, ..] => Err("Passwords do not match".to_owned()),
        }
    }
}

/// A word in flag position: `--x`, `-x` (a lone `-` is a plain word).
pub(super) fn looks_like_flag(word: &str) -> bool {
    word.len() > 1 && word.starts_with('-')
}

/// The clap-style display of a flag: `--username <USERNAME>`.
pub(super) fn flag_display(flag: &Flag) -> String {
    match flag.arity {
        Arity::One => format!("--{} {}", flag.long, flag.value_name()),
        Arity::Many => format!("--{} {}...", flag.long, flag.value_name()),
        Arity::Switch => match flag.short {
            Some(s) => format!("-{s}|--{}", flag.long),
            None => format!("--{}", flag.long),
        },
    }
}

/// Parses the words after the command name against the command's flags.
pub(super) fn parse_flags(spec: &'static Spec, words: &[String]) -> Result<Args, String> {
    let mut args = Args {
        spec,
        values: BTreeMap::new(),
        answers: Vec::new(),
    };
    let mut i = 0;
    while let Some(word) = words.get(i) {
        i += 1;
        if word == "--help" || word == "-h" {
            return Err(format!("usage: {}", spec.usage()));
        }
        let (flag, inline) = if let Some(rest) = word.strip_prefix("--") {
            let (name, inline) = match rest.split_once('=') {
                Some((n, v)) => (n, Some(v.to_owned())),
                None => (rest, None),
            };
            (spec.flags().find(|f| f.long == name), inline)
        } else if looks_like_flag(word) {
            let short = word.get(1..).unwrap_or("");
            (spec.flags().find(|f| f.short == Some(short)), None)
        } else {
            return Err(format!(
                "unexpected argument '{word}' for '{}'; usage: {}",
                spec.words.join(" "),
                spec.usage()
            ));
        };
        let Some(flag) = flag else {
            let expected: Vec<String> = spec.flags().map(flag_display).collect();
            // Name the flag, not its inline value: `--pasword=<PASSWORD>`
            // would otherwise echo a password (found by tests/integration/secrets.rs).
            let shown = word.split_once('=').map_or(word.as_str(), |(name, _)| name);
            return Err(format!(
                "unexpected argument '{shown}' for '{}'; expected flags: {}",
                spec.words.join(" "),
                expected.join(", ")
            ));
        };
        match flag.arity {
            Arity::Switch => {
                if inline.is_some() {
                    return Err(format!("'{}' takes no value", flag_display(flag)));
                }
                if args.has(flag) {
                    return Err(format!(
                        "the argument '{}' cannot be used more than once",
                        flag_display(flag)
                    ));
                }
                args.values.insert(flag.long, Vec::new());
            }
            Arity::One => {
                if args.has(flag) {
                    return Err(format!(
                        "the argument '{}' cannot be used more than once",
                        flag_display(flag)
                    ));
                }
                let value = match inline {
                    Some(v) => v,
                    None => match words.get(i) {
                        Some(v) if !looks_like_flag(v) => {
                            i += 1;
                            v.clone()
                        }
                        Some(_) | None => {
                            return Err(format!(
                                "a value is required for '{}' but none was supplied",
                                flag_display(flag)
                            ))
                        }
                    },
                };
                args.values.insert(flag.long, vec![value]);
            }
            Arity::Many => {
                let mut values: Vec<String> = inline.into_iter().collect();
                while let Some(v) = words.get(i) {
                    if looks_like_flag(v) {
                        break;
                    }
                    values.push(v.clone());
                    i += 1;
                }
                if values.is_empty() {
                    return Err(format!(
                        "a value is required for '{}' but none was supplied",
                        flag_display(flag)
                    ));
                }
                args.values.entry(flag.long).or_default().extend(values);
            }
        }
    }
    Ok(args)
}

/// `--role`: `admin` or `crypto-user`, case-sensitive.
pub(super) fn parse_role(value: &str) -> Result<Role, String> {
    Role::parse(value).ok_or_else(|| {
        format!("invalid value '{value}' for '--role <ROLE>'; expected one of: admin, crypto-user")
    })
}

pub(super) const INVALID_PASSWORD: &str =
    "Invalid password: it must be 7 to 32 alphanumeric characters (no special characters)";
