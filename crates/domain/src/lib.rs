//! The pure core of cadre: the types and rules every other layer relies on.
//!
//! Nothing here performs IO or awaits; every function is deterministic given its inputs,
//! which is what lets the rules be property-tested and shared by the API, the web pages
//! and bulk jobs alike.

pub mod action;
pub mod boundary;
pub mod bulk;
pub mod dates;
pub mod limits;
pub mod master_data;
pub mod mobile;
pub mod password;
pub mod scope;
pub mod text;
pub mod username;
pub mod validation;

pub use action::{Action, BuiltinRole};
pub use boundary::{BoundaryCode, BoundaryPath};
pub use master_data::{FieldRequirements, MasterData, UserField};
pub use mobile::{MobileCountry, MobileNumber};
pub use scope::Scope;
pub use username::{Username, UsernameFormat, UsernameRule};
pub use validation::{FieldError, ValidationErrors};
