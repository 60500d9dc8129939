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
    AttestationVerifier,
    "../contracts/artifacts/AttestationVerifier.json"
);
alloy::sol!(
    #[sol(rpc, all_derives)]
    ExistsV1Verifier,
    "../contracts/artifacts/ExistsV1Verifier.json"
);
alloy::sol!(
    #[sol(rpc, all_derives)]
    Scan64V1Verifier,
    "../contracts/artifacts/Scan64V1Verifier.json"
);
