//! Credentials beyond the password itself: the policy per role class, activation
//! links, recovery codes, session lifetimes and API tokens for integrations.

pub mod api_tokens;
pub mod config;
pub mod links;
mod policy;
pub mod recovery;
pub mod sessions;
