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
    RecordRegistry,
    "../contracts/artifacts/RecordRegistry.json"
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
pub mod exists_v2 {
    #![allow(missing_docs, clippy::too_many_arguments)]
    alloy::sol!(
        #[sol(rpc, all_derives)]
        ExistsV2Verifier,
        "../contracts/artifacts/ExistsV2Verifier.json"
    );
}
pub mod scan64_v2 {
    #![allow(missing_docs, clippy::too_many_arguments)]
    alloy::sol!(
        #[sol(rpc, all_derives)]
        Scan64V2Verifier,
        "../contracts/artifacts/Scan64V2Verifier.json"
    );
}
pub use exists_v2::ExistsV2Verifier;
pub use scan64_v2::Scan64V2Verifier;

/// The interface every generated verifier has (`zkmed export solidity` writes the same
/// functions, events and errors for every circuit; only the key's constants differ, which a
/// test checks on the committed artifacts): the binding used to call whichever verifier is
/// registered for a circuit.
pub use exists_v2::ExistsV2Verifier as GeneratedVerifier;
/// A prepared attestation as [`GeneratedVerifier::checkPreparedCall`] takes it.
pub use exists_v2::IGroth16Verifier::PreparedAttestation;

impl From<PreparedAttestation> for IGroth16Verifier::PreparedAttestation {
    /// The same struct as `AttestationVerifier.consumePrepared` takes it.
    fn from(a: PreparedAttestation) -> Self {
        IGroth16Verifier::PreparedAttestation {
            request: a.request,
            tokenTerm: a.tokenTerm,
            requestTerm: a.requestTerm,
            nullifier: a.nullifier,
            answer: a.answer,
            proof: a.proof,
        }
    }
}
