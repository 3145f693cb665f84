//! Scope: the part of the boundary hierarchy an actor administers, and the rules that
//! decide whether a user is visible to them and whether they may change that user.
//!
//! A user's *footprint* is the set of boundaries they are tied to (jurisdictions and the
//! boundaries of open assignments). A user with no footprint belongs to global scope.

use crate::boundary::BoundaryPath;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// SYSTEM_ADMIN, or an actor whose jurisdiction is a root of the hierarchy.
    Global,
    /// The union of the subtrees below these boundaries (possibly none at all).
    Within(Vec<BoundaryPath>),
}

impl Scope {
    pub fn is_global(&self) -> bool {
        matches!(self, Scope::Global)
    }

    /// Whether one boundary lies inside the scope.
    pub fn covers(&self, boundary: &BoundaryPath) -> bool {
        match self {
            Scope::Global => true,
            Scope::Within(roots) => roots.iter().any(|root| root.contains(boundary)),
        }
    }

    /// A user is visible when their footprint touches the scope; a user without a
    /// footprint is visible to global actors only.
    pub fn sees(&self, footprint: &[BoundaryPath]) -> bool {
        match self {
            Scope::Global => true,
            Scope::Within(_) => footprint.iter().any(|b| self.covers(b)),
        }
    }

    /// A user may be changed only when their whole footprint lies inside the scope.
    pub fn governs(&self, footprint: &[BoundaryPath]) -> bool {
        match self {
            Scope::Global => true,
            Scope::Within(_) => !footprint.is_empty() && footprint.iter().all(|b| self.covers(b)),
        }
    }

    /// The subtree roots of a bounded scope, outermost only.
    pub fn roots(&self) -> &[BoundaryPath] {
        match self {
            Scope::Global => &[],
            Scope::Within(roots) => roots,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::boundary::BoundaryCode;

    fn path(codes: &[&str]) -> BoundaryPath {
        let mut iter = codes.iter();
        let first = BoundaryCode::parse("c", iter.next().unwrap()).unwrap();
        iter.fold(BoundaryPath::root(&first), |p, c| {
            p.child(&BoundaryCode::parse("c", c).unwrap())
        })
    }

    #[test]
    fn province_supervisor_rules() {
        let tete = path(&["MZ", "TETE"]);
        let niassa = path(&["MZ", "NIASSA"]);
        let scope = Scope::Within(vec![tete.clone()]);
        let village = path(&["MZ", "TETE", "V1"]);

        assert!(scope.sees(std::slice::from_ref(&village)));
        assert!(scope.governs(std::slice::from_ref(&village)));
        // straddling two provinces: visible, not modifiable
        assert!(scope.sees(&[village.clone(), niassa.clone()]));
        assert!(!scope.governs(&[village, niassa.clone()]));
        // other province and no footprint: invisible
        assert!(!scope.sees(&[niassa]));
        assert!(!scope.sees(&[]));
        assert!(!scope.governs(&[]));
        assert!(Scope::Global.sees(&[]) && Scope::Global.governs(&[]));
    }
}
