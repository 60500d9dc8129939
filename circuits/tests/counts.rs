//! Pinned constraint counts. A change to any circuit changes its relation, so it must come
//! with a new circuit id (and new keys); this test makes such a change visible. Update the
//! numbers only together with the id bump.

use zkmed_circuits::CircuitId;

/// Budgets: the inclusion circuit must stay cheap enough for phones, the small scan circuit
/// for a laptop. v2 (four concept-code and two value-code slots per record, value intervals,
/// decided answers and `latest`) costs ~1,130 constraints per scanned record instead of
/// ~690, so the scan64 budget went from 60,000 to 80,000 (docs/circuits.md, "Costs"). v3
/// adds 17,903 constraints to every circuit for unlinkability (identity membership, the
/// anchored note, the issuers path and the spent-set non-membership; docs/state.md), so the
/// budgets went to 30,000 and 100,000.
const EXISTS_BUDGET: usize = 30_000;
const SCAN64_BUDGET: usize = 100_000;

#[test]
fn exists_v3_constraint_count_is_pinned() {
    let n = CircuitId::Exists.num_constraints();
    assert_eq!(CircuitId::Exists.as_str(), "exists-v3");
    assert_eq!(
        n, 26096,
        "exists-v3 changed: bump the circuit id and regenerate keys"
    );
    assert!(
        n <= EXISTS_BUDGET,
        "exists-v3 has {n} constraints, budget {EXISTS_BUDGET}"
    );
}

#[test]
fn scan64_v3_constraint_count_is_pinned() {
    let n = CircuitId::Scan64.num_constraints();
    assert_eq!(CircuitId::Scan64.as_str(), "scan64-v3");
    assert_eq!(
        n, 93160,
        "scan64-v3 changed: bump the circuit id and regenerate keys"
    );
    assert!(
        n <= SCAN64_BUDGET,
        "scan64-v3 has {n} constraints, budget {SCAN64_BUDGET}"
    );
}

#[test]
fn scan512_v3_constraint_count_is_pinned() {
    let n = CircuitId::Scan512.num_constraints();
    assert_eq!(CircuitId::Scan512.as_str(), "scan512-v3");
    assert_eq!(
        n, 576168,
        "scan512-v3 changed: bump the circuit id and regenerate keys"
    );
}

#[test]
fn ids_and_capacities() {
    for c in CircuitId::ALL {
        assert_eq!(CircuitId::parse(c.as_str()), Some(c));
        assert_eq!(c.to_string(), c.as_str());
    }
    assert_eq!(
        CircuitId::parse("exists-v2"),
        None,
        "the old relation's id is gone"
    );
    assert_eq!(CircuitId::parse(""), None);
    assert_eq!(CircuitId::Exists.capacity(), 0);
    assert_eq!(CircuitId::Scan64.capacity(), 64);
    assert_eq!(CircuitId::Scan512.capacity(), 512);
    assert_eq!(CircuitId::scans(), [CircuitId::Scan64, CircuitId::Scan512]);
}
