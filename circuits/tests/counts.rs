//! Pinned constraint counts. A change to any circuit changes its relation, so it must come
//! with a new circuit id (and new keys); this test makes such a change visible. Update the
//! numbers only together with the id bump.

use zkmed_circuits::CircuitId;

/// Budgets from the issue: the inclusion circuit must stay cheap enough for phones, the
/// small scan circuit for a laptop.
const EXISTS_BUDGET: usize = 12_000;
const SCAN64_BUDGET: usize = 60_000;

#[test]
fn exists_v1_constraint_count_is_pinned() {
    let n = CircuitId::Exists.num_constraints();
    assert_eq!(CircuitId::Exists.as_str(), "exists-v1");
    assert_eq!(
        n, 7384,
        "exists-v1 changed: bump the circuit id and regenerate keys"
    );
    assert!(
        n <= EXISTS_BUDGET,
        "exists-v1 has {n} constraints, budget {EXISTS_BUDGET}"
    );
}

#[test]
fn scan64_v1_constraint_count_is_pinned() {
    let n = CircuitId::Scan64.num_constraints();
    assert_eq!(CircuitId::Scan64.as_str(), "scan64-v1");
    assert_eq!(
        n, 49278,
        "scan64-v1 changed: bump the circuit id and regenerate keys"
    );
    assert!(
        n <= SCAN64_BUDGET,
        "scan64-v1 has {n} constraints, budget {SCAN64_BUDGET}"
    );
}

#[test]
fn scan512_v1_constraint_count_is_pinned() {
    let n = CircuitId::Scan512.num_constraints();
    assert_eq!(CircuitId::Scan512.as_str(), "scan512-v1");
    assert_eq!(
        n, 353982,
        "scan512-v1 changed: bump the circuit id and regenerate keys"
    );
}

#[test]
fn ids_and_capacities() {
    for c in CircuitId::ALL {
        assert_eq!(CircuitId::parse(c.as_str()), Some(c));
        assert_eq!(c.to_string(), c.as_str());
    }
    assert_eq!(CircuitId::parse("exists-v2"), None);
    assert_eq!(CircuitId::parse(""), None);
    assert_eq!(CircuitId::Exists.capacity(), 0);
    assert_eq!(CircuitId::Scan64.capacity(), 64);
    assert_eq!(CircuitId::Scan512.capacity(), 512);
    assert_eq!(CircuitId::scans(), [CircuitId::Scan64, CircuitId::Scan512]);
}
