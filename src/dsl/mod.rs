//! The runbook DSL: `.runbook` files parsed with pest and lowered to the
//! step IR.
