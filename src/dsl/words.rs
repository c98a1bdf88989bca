//! Grammar rules in words, for syntax errors ("expected a key store name or
//! id, or a $variable"), and the closest-name suggestions every check uses.

use super::grammar::Rule;

/// The words that start a statement (or a runbook, or a block), for
/// "did you mean" on an unknown statement and for resynchronizing after a
/// syntax error.
pub(crate) const STATEMENT_KEYWORDS: &[&str] = &[
    "runbook",
    "world",
    "call",
    "connect",
    "disconnect",
    "settle",
    "wait",
    "encrypt",
    "decrypt",
    "tag",
    "cloudhsm",
    "block",
    "unblock",
    "flaky",
    "break",
    "mend",
    "delete",
    "degrade",
    "repair",
    "set",
    "exhaust",
    "release",
    "fail",
    "backup",
    "sign",
    "expect",
    "capture",
    "repeat",
    "retry",
    "burst",
    "in",
];

/// What a rule matches, as a phrase that completes "expected …".
pub(crate) fn describe(rule: Rule) -> &'static str {
    match rule {
        Rule::EOI => "the end of the file",
        Rule::WHITESPACE => "a space",
        Rule::line | Rule::item | Rule::statement => "a statement",
        Rule::runbook_head => "`runbook \"title\"`",
        Rule::block_open | Rule::block_line | Rule::block_head => {
            "a block (`repeat N`, `retry N`, `burst N`, `in region R`)"
        }
        Rule::block_close => "`}`",
        Rule::repeat_head => "`repeat N`",
        Rule::retry_head => "`retry N`",
        Rule::burst_head => "`burst N`",
        Rule::region_head => "`in region R`",
        Rule::region_name => "a Region name like `eu-west-1`",
        Rule::tag => "a tag like `@R5`",
        Rule::eol => "the end of the line",
        Rule::comment => "a comment",
        Rule::world => "`world`",
        Rule::world_path => "the world file's path in double quotes",
        Rule::heredoc | Rule::heredoc_open => "`\"\"\"` and a new line, opening an inline world",
        Rule::heredoc_line => "a line of YAML",
        Rule::heredoc_close => "a line `\"\"\"` closing the inline world",
        Rule::action | Rule::plain_action => "an action",
        Rule::suffix | Rule::cli_suffix => "`-> name`, `=> ok` or `=> error …`",
        Rule::capture_to => "`-> name`",
        Rule::outcome | Rule::cli_outcome => "`=> ok` or `=> error …`",
        Rule::outcome_ok => "`ok`",
        Rule::outcome_error | Rule::cli_outcome_error => "`error`",
        Rule::call => "`call`",
        Rule::connect => "`connect`",
        Rule::disconnect => "`disconnect`",
        Rule::settle => "`settle`",
        Rule::wait => "`wait`",
        Rule::encrypt => "`encrypt`",
        Rule::tag_key => "`tag`",
        Rule::decrypt => "`decrypt`",
        Rule::context => "`context { … }`",
        Rule::ciphertext => "a ciphertext: a $variable or a base64 string in double quotes",
        Rule::cli => "`cloudhsm`",
        Rule::session => "`as <session>`",
        Rule::cli_line => "a CloudHSM CLI command line",
        Rule::prompt_answer => "`Enter password: …` or `Confirm password: …`",
        Rule::prompt_name => "`Enter password` or `Confirm password`",
        Rule::answer_text => "what is typed at the prompt",
        Rule::fault => "a fault",
        Rule::net_block => "`block network to <cluster>`",
        Rule::net_unblock => "`unblock network to <cluster>`",
        Rule::net_flaky => "`flaky network to <cluster> for N calls`",
        Rule::sg_break => "`break security group of <cluster>`",
        Rule::sg_mend => "`mend security group of <cluster>`",
        Rule::hsms_delete_all => "`delete all hsms of <cluster>`",
        Rule::hsm_delete => "`delete hsm <hsm> of <cluster>`",
        Rule::hsms_degrade_all => "`degrade all hsms of <cluster>`",
        Rule::hsm_degrade => "`degrade hsm <hsm> of <cluster>`",
        Rule::hsms_repair_all => "`repair all hsms of <cluster>`",
        Rule::hsm_repair => "`repair hsm <hsm> of <cluster>`",
        Rule::key_material_delete => "`delete key material <key id> of <cluster>`",
        Rule::cluster_delete => "`delete cluster <cluster>`",
        Rule::subnet_delete => "`delete subnet <subnet>`",
        Rule::subnet_free => "`set free addresses of <subnet> to N`",
        Rule::sessions_exhaust => "`exhaust sessions of <cluster>`",
        Rule::sessions_release => "`release sessions of <cluster>`",
        Rule::connects_fail => "`fail next N connects to <cluster>`",
        Rule::backup => "`backup <cluster>`",
        Rule::sign_csr => "`sign csr of <cluster>`",
        Rule::expect => "`expect`",
        Rule::expect_ok => "`ok`",
        Rule::expect_error => "`error <Exception>`",
        Rule::expect_cli_error => "`cli error`",
        Rule::expect_trail => "`trail <Event> { … }`",
        Rule::expect_decrypt => "`decrypt <ciphertext> == \"plaintext\"`",
        Rule::expect_field | Rule::subject => {
            "what to look at: `.Path`, `<store>.Path`, `key <key>.Path` or `trail <Event>.Path`"
        }
        Rule::subject_key => "`key <key>.Path`",
        Rule::subject_trail => "`trail <Event>.Path`",
        Rule::subject_store => "`<store>.Path`",
        Rule::subject_last => "`.Path`",
        Rule::subject_var => "`$name`",
        Rule::comparison => {
            "a comparison: `==`, `!=`, `<`, `<=`, `>`, `>=`, `contains`, `is absent` or `is present`"
        }
        Rule::cmp_le => "`<=`",
        Rule::cmp_ge => "`>=`",
        Rule::cmp_lt => "`<`",
        Rule::cmp_gt => "`>`",
        Rule::time_expr => "an instant like `now - 1h`",
        Rule::operand => "a value or an instant like `now - 1h`",
        Rule::shift => "`+ <duration>` or `- <duration>`",
        Rule::cmp_eq => "`==`",
        Rule::cmp_ne => "`!=`",
        Rule::cmp_contains => "`contains`",
        Rule::cmp_absent => "`is absent`",
        Rule::cmp_present => "`is present`",
        Rule::trail_fields => "`{ path: value, … }`",
        Rule::trail_member => "a member `path: value`",
        Rule::trail_path => "a path like `additionalEventData.customKeyStoreId`",
        Rule::capture => "`capture`",
        Rule::path => "a path like `.ConnectionState` or `[0]`",
        Rule::field_seg => "`.Field`",
        Rule::index_seg => "`[N]`",
        Rule::field_name => "a field name",
        Rule::index => "a list index",
        Rule::value => {
            "a value: a string in double quotes, a number, true, false, null, a bare word, a $variable, a [list] or an {object}"
        }
        Rule::object => "an object `{ Name: value, … }`",
        Rule::member => "a member `Name: value`",
        Rule::member_key => "a member name",
        Rule::list => "a list `[a, b]`",
        Rule::sep => "`,`",
        Rule::string => "a string in double quotes",
        Rule::variable => "a $variable",
        Rule::boolean => "`true` or `false`",
        Rule::null => "`null`",
        Rule::number => "a number",
        Rule::bare | Rule::bare_char => "a bare word",
        Rule::count => "a whole number",
        Rule::duration => "a duration like `7 days` or `500 ms`",
        Rule::unit => "a unit of time (`ms`, `seconds`, `minutes`, `hours`, `days`)",
        Rule::store => "a key store name or id, or a $variable",
        Rule::cluster => "a cluster id or a $variable",
        Rule::key => "a key id, ARN or alias, or a $variable",
        Rule::hsm => "an HSM id or a $variable",
        Rule::key_material => "a CloudHSM key id (0x…) or a $variable",
        Rule::subnet => "a subnet id or a $variable",
        Rule::name | Rule::ident | Rule::ident_char => "a name",
        Rule::key_name => "a key id, ARN or alias",
        Rule::operation => "an operation name like `Encrypt`",
        Rule::exception => "an exception name like `KMSInvalidStateException`",
        Rule::event => "a trail event name like `DeleteKey`",
        Rule::message => "a message substring in double quotes",
        Rule::session_name => "a session name",
        Rule::var_name => "a variable name",
        Rule::open_brace => "`{`",
        Rule::close_brace => "`}`",
        Rule::open_bracket => "`[`",
        Rule::close_bracket => "`]`",
        Rule::colon => "`:`",
        Rule::comma => "`,`",
        Rule::dot => "`.`",
        Rule::assign => "`=`",
        Rule::op_eq => "`==`",
        Rule::op_ne => "`!=`",
        Rule::op_le => "`<=`",
        Rule::op_ge => "`>=`",
        Rule::op_lt => "`<`",
        Rule::op_gt => "`>`",
        Rule::op_plus => "`+`",
        Rule::op_minus => "`-`",
        Rule::thin_arrow => "`->`",
        Rule::fat_arrow => "`=>`",
        Rule::kw_runbook => "`runbook`",
        Rule::kw_world => "`world`",
        Rule::kw_call => "`call`",
        Rule::kw_connect => "`connect`",
        Rule::kw_disconnect => "`disconnect`",
        Rule::kw_settle => "`settle`",
        Rule::kw_wait => "`wait`",
        Rule::kw_encrypt => "`encrypt`",
        Rule::kw_tag => "`tag`",
        Rule::kw_decrypt => "`decrypt`",
        Rule::kw_with => "`with`",
        Rule::kw_context => "`context`",
        Rule::kw_cloudhsm => "`cloudhsm`",
        Rule::kw_as => "`as`",
        Rule::kw_block => "`block`",
        Rule::kw_unblock => "`unblock`",
        Rule::kw_flaky => "`flaky`",
        Rule::kw_network => "`network`",
        Rule::kw_to => "`to`",
        Rule::kw_for => "`for`",
        Rule::kw_calls => "`calls`",
        Rule::kw_break => "`break`",
        Rule::kw_mend => "`mend`",
        Rule::kw_degrade => "`degrade`",
        Rule::kw_repair => "`repair`",
        Rule::kw_security => "`security`",
        Rule::kw_group => "`group`",
        Rule::kw_of => "`of`",
        Rule::kw_delete => "`delete`",
        Rule::kw_all => "`all`",
        Rule::kw_hsms => "`hsms`",
        Rule::kw_hsm => "`hsm`",
        Rule::kw_cluster => "`cluster`",
        Rule::kw_material => "`material`",
        Rule::kw_subnet => "`subnet`",
        Rule::kw_set => "`set`",
        Rule::kw_free => "`free`",
        Rule::kw_addresses => "`addresses`",
        Rule::kw_exhaust => "`exhaust`",
        Rule::kw_release => "`release`",
        Rule::kw_sessions => "`sessions`",
        Rule::kw_fail => "`fail`",
        Rule::kw_next => "`next`",
        Rule::kw_connects => "`connects`",
        Rule::kw_backup => "`backup`",
        Rule::kw_sign => "`sign`",
        Rule::kw_csr => "`csr`",
        Rule::kw_expect => "`expect`",
        Rule::kw_ok => "`ok`",
        Rule::kw_error => "`error`",
        Rule::kw_cli => "`cli`",
        Rule::kw_trail => "`trail`",
        Rule::kw_key => "`key`",
        Rule::kw_contains => "`contains`",
        Rule::kw_is => "`is`",
        Rule::kw_absent => "`absent`",
        Rule::kw_present => "`present`",
        Rule::kw_now => "`now`",
        Rule::kw_capture => "`capture`",
        Rule::kw_repeat => "`repeat`",
        Rule::kw_retry => "`retry`",
        Rule::kw_every => "`every`",
        Rule::kw_burst => "`burst`",
        Rule::kw_in => "`in`",
        Rule::kw_region => "`region`",
        Rule::kw_enter => "`Enter`",
        Rule::kw_confirm => "`Confirm`",
        Rule::kw_password => "`password`",
        Rule::value_arg => "a value",
        Rule::path_arg => "a path like `KeyMetadata.KeyState`",
        Rule::members_arg => "the members of an object, `Name: value`",
    }
}

/// The word a keyword rule (or a rule that is one keyword) matches.
pub(crate) fn keyword(rule: Rule) -> Option<&'static str> {
    let words = describe(rule);
    let is_keyword = rule_is_keyword(rule)
        || matches!(
            rule,
            Rule::outcome_ok
                | Rule::outcome_error
                | Rule::cli_outcome_error
                | Rule::expect_ok
                | Rule::cmp_contains
        );
    if !is_keyword {
        return None;
    }
    words.strip_prefix('`').and_then(|w| w.split('`').next())
}

fn rule_is_keyword(rule: Rule) -> bool {
    format!("{rule:?}").starts_with("kw_")
}

/// Pairs that carry no information beyond their rule: keywords,
/// punctuation, separators, comments and ends of lines. The parser's cursor
/// steps over them.
pub(crate) fn is_noise(rule: Rule) -> bool {
    rule_is_keyword(rule)
        || matches!(
            rule,
            Rule::EOI
                | Rule::eol
                | Rule::comment
                | Rule::sep
                | Rule::open_brace
                | Rule::close_brace
                | Rule::open_bracket
                | Rule::close_bracket
                | Rule::colon
                | Rule::comma
                | Rule::dot
                | Rule::assign
                | Rule::op_eq
                | Rule::op_ne
                | Rule::op_le
                | Rule::op_ge
                | Rule::op_lt
                | Rule::op_gt
                | Rule::op_plus
                | Rule::op_minus
                | Rule::thin_arrow
                | Rule::fat_arrow
        )
}

/// The candidate closest to `word` by edit distance (case-insensitive), if
/// it is close enough to be a likely typo, and not `word` itself.
pub(crate) fn closest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    if word.is_empty() {
        return None;
    }
    let limit = (word.chars().count() / 3).max(2);
    let lower = word.to_lowercase();
    candidates
        .into_iter()
        .filter(|c| *c != word)
        .map(|c| (strsim::levenshtein(&lower, &c.to_lowercase()), c))
        .filter(|(d, c)| *d <= limit || (lower == c.to_lowercase()))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            closest("conect", STATEMENT_KEYWORDS.iter().copied()),
            Some("connect")
        );
        assert_eq!(closest("Encrpyt", ["Encrypt", "Decrypt"]), Some("Encrypt"));
        assert_eq!(closest("zzzzzz", STATEMENT_KEYWORDS.iter().copied()), None);
        assert_eq!(closest("", ["a"]), None);
    }

    #[test]
    fn keywords_are_words() {
        assert_eq!(keyword(Rule::kw_with), Some("with"));
        assert_eq!(keyword(Rule::string), None);
        assert!(is_noise(Rule::kw_ok));
        assert!(!is_noise(Rule::outcome_ok));
    }
}
