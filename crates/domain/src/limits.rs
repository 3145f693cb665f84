//! The most items each list in a request may hold. A request is refused with 422
//! `too_many`, naming the list, before any of its items is looked at, so the length of
//! a body cannot buy work: one create with 100,000 jurisdictions took 19 s of
//! database lookups and answered with a 17 MB problem.

use crate::validation::ValidationErrors;

/// A user's roles.
pub const ROLES: usize = 50;
/// A user's jurisdictions.
pub const JURISDICTIONS: usize = 500;
/// Assignments created with a user.
pub const ASSIGNMENTS: usize = 50;
/// The boundaries of one assignment.
pub const ASSIGNMENT_BOUNDARIES: usize = 1_000;
/// The boundaries a campaign covers.
pub const CAMPAIGN_BOUNDARIES: usize = 5_000;
/// The actions of a role.
pub const ROLE_ACTIONS: usize = 200;
/// The items of a master-data list.
pub const LIST_ITEMS: usize = 1_000;
/// Documents attached to one deactivation.
pub const DOCUMENTS: usize = 20;

impl ValidationErrors {
    /// Records `too_many` for `field` when `len` passes `max`; answers whether it did.
    pub fn too_many(&mut self, field: &str, len: usize, max: usize) -> bool {
        if len <= max {
            return false;
        }
        self.add(
            field,
            "too_many",
            format!("at most {max} items; this list has {len}"),
        );
        true
    }
}
