//! The same contracts on the embedded revm chain; a restart keeps the state.

use alloy::primitives::{Address, Bytes, U256};
use alloy::sol_types::{SolCall, SolConstructor};
use zkmed_chain::bindings::{IssuerRegistry, RecordRegistry, ZkmedIdentity};
use zkmed_chain::embedded::EmbeddedChain;

fn deploy(chain: &mut EmbeddedChain, from: Address, code: &Bytes, args: Vec<u8>) -> Address {
    let mut init = code.to_vec();
    init.extend(args);
    chain
        .transact("deploy", from, None, init.into())
        .unwrap()
        .created
        .unwrap()
}

#[test]
fn deploy_mint_anchor_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("chain.json");
    let gov = Address::repeat_byte(0x11);
    let hospital = Address::repeat_byte(0x22);
    let patient = Address::repeat_byte(0x33);
    let (issuers, identity, records);
    {
        let mut c = EmbeddedChain::open(&file).unwrap();
        issuers = deploy(
            &mut c,
            gov,
            &IssuerRegistry::BYTECODE,
            IssuerRegistry::constructorCall { governance: gov }.abi_encode(),
        );
        let poseidon = deploy(
            &mut c,
            gov,
            &zkmed_chain::bindings::PoseidonT3::BYTECODE,
            Vec::new(),
        );
        identity = deploy(
            &mut c,
            gov,
            &ZkmedIdentity::BYTECODE,
            ZkmedIdentity::constructorCall {
                issuerRegistry: issuers,
                poseidonT3: poseidon,
            }
            .abi_encode(),
        );
        records = deploy(
            &mut c,
            gov,
            &RecordRegistry::BYTECODE,
            RecordRegistry::constructorCall {
                issuerRegistry: issuers,
                identityToken: identity,
            }
            .abi_encode(),
        );
        // Unaccredited: the mint reverts.
        let mint = ZkmedIdentity::mintCall {
            patient,
            commitment: U256::from(77),
            guardians: vec![],
            threshold: 0,
        };
        assert!(c
            .transact("mint", hospital, Some(identity), mint.abi_encode().into())
            .is_err());
        let acc = IssuerRegistry::accreditCall {
            issuer: hospital,
            name: "H".into(),
        };
        c.transact("accredit", gov, Some(issuers), acc.abi_encode().into())
            .unwrap();
        c.transact("mint", hospital, Some(identity), mint.abi_encode().into())
            .unwrap();
        let anchor = RecordRegistry::anchorCall {
            tokenId: U256::from(1),
            root: U256::from(4242),
            kind: 0,
        };
        let gas = c
            .transact(
                "anchor",
                hospital,
                Some(records),
                anchor.abi_encode().into(),
            )
            .unwrap()
            .gas_used;
        assert!(gas > 50_000 && gas < 200_000, "{gas}");
    }
    // A new process: the state is read back from the file.
    let mut c = EmbeddedChain::open(&file).unwrap();
    let out = c
        .call(
            "currentRoot",
            records,
            RecordRegistry::currentRootCall {
                tokenId: U256::from(1),
            }
            .abi_encode()
            .into(),
        )
        .unwrap();
    let root = RecordRegistry::currentRootCall::abi_decode_returns(&out).unwrap();
    assert_eq!(root, U256::from(4242));
    let out = c
        .call(
            "locked",
            identity,
            ZkmedIdentity::lockedCall {
                tokenId: U256::from(1),
            }
            .abi_encode()
            .into(),
        )
        .unwrap();
    assert!(ZkmedIdentity::lockedCall::abi_decode_returns(&out).unwrap());
    // Soul-bound here too.
    let t = ZkmedIdentity::transferFromCall {
        from: patient,
        to: gov,
        tokenId: U256::from(1),
    };
    assert!(c
        .transact(
            "transferFrom",
            patient,
            Some(identity),
            t.abi_encode().into()
        )
        .is_err());
    // While one handle holds the chain, another open is refused (never two writers).
    let e = EmbeddedChain::open(&file).err().unwrap().to_string();
    assert!(e.contains("in use by another process"), "{e}");
    drop(c);
    EmbeddedChain::open(&file).unwrap();
    // A corrupt file is a clear error.
    std::fs::write(&file, b"{").unwrap();
    let e = EmbeddedChain::open(&file).err().unwrap().to_string();
    assert!(e.contains("not an embedded chain file"), "{e}");
}
