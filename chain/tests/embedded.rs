//! The same contracts on the embedded revm chain; a restart keeps the state.

use alloy::primitives::{Address, U256};
use alloy::sol_types::SolCall;
use zkmed_chain::backend::{Backend, EmbeddedBackend, Registry};
use zkmed_chain::bindings::ZkmedIdentity;
use zkmed_chain::embedded::EmbeddedChain;
use zkmed_core::Fr;
use zkmed_state::IndexedTree;

#[test]
fn deploy_mint_anchor_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(EmbeddedChain::FILE);
    let gov = Address::repeat_byte(0x11);
    let hospital = Address::repeat_byte(0x22);
    let patient = Address::repeat_byte(0x33);
    let (d, global);
    {
        let backend = EmbeddedBackend::open(dir.path(), gov).unwrap();
        let mut g = Registry::deploy(backend.clone()).unwrap();
        d = g.deployment;
        let mut h = Registry::attach(backend.as_account(hospital), d);
        // Unaccredited: the mint and the batch revert.
        assert!(h.mint(patient, &Fr::from(77u64), &[], 0).is_err());
        let mut spent = IndexedTree::new();
        let prev = spent.root();
        spent.insert(Fr::from(5u64)).unwrap();
        assert!(h
            .anchor_state_batch(
                &Fr::from(4242u64),
                1,
                &prev,
                &spent.root(),
                &[Fr::from(5u64)]
            )
            .is_err());
        g.accredit(hospital, "H").unwrap();
        h.mint(patient, &Fr::from(77u64), &[], 0).unwrap();
        let gas = h
            .anchor_state_batch(
                &Fr::from(4242u64),
                1,
                &prev,
                &spent.root(),
                &[Fr::from(5u64)],
            )
            .unwrap();
        assert!(gas > 30_000 && gas < 1_000_000, "{gas}");
        global = g.global_root().unwrap();
        assert_eq!(g.spent_root().unwrap(), spent.root());
    }
    // A new process: the state is read back from the file.
    let backend = EmbeddedBackend::open(dir.path(), gov).unwrap();
    let mut g = Registry::attach(backend.clone(), d);
    assert_eq!(g.global_root().unwrap(), global);
    assert_eq!(g.issuer_leaf(0).unwrap(), Fr::from(4242u64));
    assert_eq!(g.state_batches().unwrap().len(), 1);
    let out = g
        .backend
        .call(
            "locked",
            d.identity,
            ZkmedIdentity::lockedCall {
                tokenId: U256::from(1),
            }
            .abi_encode()
            .into(),
        )
        .unwrap();
    assert!(ZkmedIdentity::lockedCall::abi_decode_returns(&out).unwrap());
    // Soul-bound here too.
    let mut p = Registry::attach(backend.as_account(patient), d);
    assert!(p.transfer(U256::from(1), gov).is_err());
    drop((g, p, backend));
    // While one handle holds the chain, another open is refused (never two writers).
    let c = EmbeddedChain::open(&file).unwrap();
    let e = EmbeddedChain::open(&file).err().unwrap().to_string();
    assert!(e.contains("in use by another process"), "{e}");
    drop(c);
    EmbeddedChain::open(&file).unwrap();
    // A corrupt file is a clear error.
    std::fs::write(&file, b"{").unwrap();
    let e = EmbeddedChain::open(&file).err().unwrap().to_string();
    assert!(e.contains("not an embedded chain file"), "{e}");
}
