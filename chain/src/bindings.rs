//! Contract bindings from the committed artifacts (ABI + bytecode).
#![allow(missing_docs, clippy::too_many_arguments)]

alloy::sol!(
    #[sol(rpc, all_derives)]
    IssuerRegistry,
    "../contracts/artifacts/IssuerRegistry.json"
);
alloy::sol!(
    #[sol(rpc, all_derives)]
    ZkmedIdentity,
    "../contracts/artifacts/ZkmedIdentity.json"
);
alloy::sol!(
    #[sol(rpc, all_derives)]
    StateRegistry,
    "../contracts/artifacts/StateRegistry.json"
);
alloy::sol!(
    #[sol(rpc, all_derives)]
    PoseidonT3,
    "../contracts/artifacts/PoseidonT3.json"
);
alloy::sol!(
    #[sol(rpc, all_derives)]
    AttestationVerifier,
    "../contracts/artifacts/AttestationVerifier.json"
);
/// Each generated verifier in a module of its own: their ABIs name the same
/// `IGroth16Verifier.PreparedAttestation` struct, which each binding defines.
pub mod exists_v3 {
    #![allow(missing_docs, clippy::too_many_arguments)]
    alloy::sol!(
        #[sol(rpc, all_derives)]
        ExistsV3Verifier,
        "../contracts/artifacts/ExistsV3Verifier.json"
    );
}
pub mod scan64_v3 {
    #![allow(missing_docs, clippy::too_many_arguments)]
    alloy::sol!(
        #[sol(rpc, all_derives)]
        Scan64V3Verifier,
        "../contracts/artifacts/Scan64V3Verifier.json"
    );
}
pub use exists_v3::ExistsV3Verifier;
pub use scan64_v3::Scan64V3Verifier;

/// The interface every generated verifier has (`zkmed export solidity` writes the same
/// functions, events and errors for every circuit; only the key's constants differ, which a
/// test checks on the committed artifacts): the binding used to call whichever verifier is
/// registered for a circuit.
pub use exists_v3::ExistsV3Verifier as GeneratedVerifier;
/// A prepared attestation as [`GeneratedVerifier::checkPreparedCall`] takes it.
pub use exists_v3::IGroth16Verifier::PreparedAttestation;

impl From<PreparedAttestation> for IGroth16Verifier::PreparedAttestation {
    /// The same struct as `AttestationVerifier.consumePrepared` takes it.
    fn from(a: PreparedAttestation) -> Self {
        IGroth16Verifier::PreparedAttestation {
            request: a.request,
            requestTerm: a.requestTerm,
            rootsTerm: a.rootsTerm,
            identityRoot: a.identityRoot,
            stateRoot: a.stateRoot,
            nullifier: a.nullifier,
            answer: a.answer,
            proof: a.proof,
        }
    }
}
