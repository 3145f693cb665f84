//! The catalogue of actions (permissions) and the roles cadre ships with.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

macro_rules! actions {
    ($($variant:ident => $code:literal, $description:literal;)*) => {
        /// One permission. Roles are sets of actions; an actor may do what one of their
        /// roles allows, within their scope.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum Action {
            $(#[serde(rename = $code)] $variant,)*
        }

        impl Action {
            pub const ALL: &'static [Action] = &[$(Action::$variant,)*];

            pub fn code(self) -> &'static str {
                match self { $(Action::$variant => $code,)* }
            }

            pub fn description(self) -> &'static str {
                match self { $(Action::$variant => $description,)* }
            }
        }

        impl FromStr for Action {
            type Err = ();
            fn from_str(s: &str) -> Result<Self, ()> {
                match s { $($code => Ok(Action::$variant),)* _ => Err(()) }
            }
        }
    };
}

actions! {
    UserRead => "user.read", "See and search the users in one's scope";
    UserCreate => "user.create", "Create user accounts";
    UserUpdate => "user.update", "Edit person and administrative data, roles and jurisdictions";
    UserDeactivate => "user.deactivate", "Deactivate and reactivate users";
    UserCredentials => "user.credentials", "Set, generate or send credentials";
    UserSessions => "user.sessions", "End a user's sessions and unlock sign-in";
    UserAssign => "user.assign", "Assign users to campaigns and boundaries";
    UserReplace => "user.replace", "Replace a worker by another";
    UserExport => "user.export", "Export user lists";
    RoleRead => "role.read", "See roles and their actions";
    RoleManage => "role.manage", "Create and edit roles";
    BoundaryRead => "boundary.read", "Browse the boundary hierarchy";
    BoundaryManage => "boundary.manage", "Create and import boundaries";
    CampaignRead => "campaign.read", "See campaigns";
    CampaignManage => "campaign.manage", "Create and edit campaigns";
    MasterDataManage => "master_data.manage", "Edit master data lists";
    AuditRead => "audit.read", "Read the audit log";
    BulkRun => "bulk.run", "Run bulk jobs from spreadsheets";
    FieldRegistration => "field.registration", "Register households in the campaign app";
    FieldDistribution => "field.distribution", "Record distributions in the campaign app";
    FieldSupervision => "field.supervision", "Supervise a field team in the campaign app";
}

impl Action {
    /// Whether this action gives power inside cadre. The `field.*` actions are
    /// permissions of the campaign's mobile app: handing them to a worker gives nobody
    /// power over other accounts, so the no-escalation rule does not count them.
    pub fn is_administrative(self) -> bool {
        !matches!(
            self,
            Action::FieldRegistration | Action::FieldDistribution | Action::FieldSupervision
        )
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The roles every installation has. SYSTEM_ADMIN is fixed; the others are defaults that
/// administrators may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuiltinRole {
    SystemAdmin,
    Supervisor,
    Helpdesk,
    Registrar,
    Distributor,
    FieldSupervisor,
}

pub const SYSTEM_ADMIN: &str = "SYSTEM_ADMIN";

impl BuiltinRole {
    pub const ALL: [BuiltinRole; 6] = [
        BuiltinRole::SystemAdmin,
        BuiltinRole::Supervisor,
        BuiltinRole::Helpdesk,
        BuiltinRole::Registrar,
        BuiltinRole::Distributor,
        BuiltinRole::FieldSupervisor,
    ];

    pub fn code(self) -> &'static str {
        match self {
            BuiltinRole::SystemAdmin => SYSTEM_ADMIN,
            BuiltinRole::Supervisor => "SUPERVISOR",
            BuiltinRole::Helpdesk => "HELPDESK",
            BuiltinRole::Registrar => "REGISTRAR",
            BuiltinRole::Distributor => "DISTRIBUTOR",
            BuiltinRole::FieldSupervisor => "FIELD_SUPERVISOR",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            BuiltinRole::SystemAdmin => "System administrator",
            BuiltinRole::Supervisor => "Supervisor",
            BuiltinRole::Helpdesk => "Helpdesk",
            BuiltinRole::Registrar => "Registrar",
            BuiltinRole::Distributor => "Distributor",
            BuiltinRole::FieldSupervisor => "Field supervisor",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            BuiltinRole::SystemAdmin => {
                "Everything, everywhere; the only role that manages system administrators"
            }
            BuiltinRole::Supervisor => "Manages the users and assignments of their boundaries",
            BuiltinRole::Helpdesk => {
                "Finds users, resets credentials, unlocks accounts and fixes assignments"
            }
            BuiltinRole::Registrar => "Field worker who registers households",
            BuiltinRole::Distributor => "Field worker who distributes commodities",
            BuiltinRole::FieldSupervisor => "Leads a field team",
        }
    }

    /// Whether a person in this role works in the field (simple credentials) rather than
    /// administering (stricter credentials).
    pub fn is_field(self) -> bool {
        matches!(
            self,
            BuiltinRole::Registrar | BuiltinRole::Distributor | BuiltinRole::FieldSupervisor
        )
    }

    pub fn actions(self) -> Vec<Action> {
        use Action::*;
        match self {
            BuiltinRole::SystemAdmin => Action::ALL.to_vec(),
            BuiltinRole::Supervisor => vec![
                UserRead,
                UserCreate,
                UserUpdate,
                UserDeactivate,
                UserCredentials,
                UserSessions,
                UserAssign,
                UserReplace,
                UserExport,
                RoleRead,
                BoundaryRead,
                CampaignRead,
                AuditRead,
                BulkRun,
            ],
            BuiltinRole::Helpdesk => vec![
                UserRead,
                UserCreate,
                UserUpdate,
                UserDeactivate,
                UserCredentials,
                UserSessions,
                UserAssign,
                RoleRead,
                BoundaryRead,
                CampaignRead,
                AuditRead,
            ],
            BuiltinRole::Registrar => vec![FieldRegistration],
            BuiltinRole::Distributor => vec![FieldDistribution],
            BuiltinRole::FieldSupervisor => {
                vec![FieldSupervision, FieldRegistration, FieldDistribution]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for action in Action::ALL {
            assert_eq!(action.code().parse::<Action>(), Ok(*action));
        }
        assert!("user.drop".parse::<Action>().is_err());
    }

    #[test]
    fn only_system_admin_has_every_action() {
        for role in BuiltinRole::ALL {
            let has_all = role.actions().len() == Action::ALL.len();
            assert_eq!(has_all, role == BuiltinRole::SystemAdmin, "{}", role.code());
        }
    }
}
