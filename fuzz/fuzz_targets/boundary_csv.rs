//! Any bytes offered as a boundary CSV give a report, never a panic, and the report
//! accounts for every data row exactly once.
#![no_main]

use std::collections::BTreeSet;

use cadre_domain::MasterData;
use cadre_service::boundaries::check_boundary_csv;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (taken, errors, total) = check_boundary_csv(data, &MasterData::default());
    let taken: BTreeSet<usize> = taken.into_iter().collect();
    let refused: BTreeSet<usize> = errors.iter().map(|e| e.row).collect();
    assert!(taken.is_disjoint(&refused), "a row both taken and refused");
    if refused.contains(&1) {
        assert!(total == 0 && taken.is_empty(), "a refused header takes no row");
    } else {
        let covered: BTreeSet<usize> = taken.union(&refused).copied().collect();
        assert_eq!(covered, (2..=total + 1).collect(), "every data row is accounted for");
    }
});
