// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @notice What a generated verifier reads from its controller (the `AttestationVerifier`)
/// at construction: where the identity and state roots live and the Poseidon contract.
interface IRootsController {
    function identities() external view returns (address);
    function states() external view returns (address);
    function poseidon() external view returns (address);
}

/// @notice The root-window views of `ZkmedIdentity` and `StateRegistry`.
interface IRootWindow {
    function isIdentityRootAccepted(uint256 root, uint64 window) external view returns (bool);
    function isStateRootAccepted(uint256 root, uint64 window) external view returns (bool);
}

/// @notice A Groth16/BN254 verifier for one zkmed circuit, generated from its verifying key
/// by `zkmed export solidity`. `proof` = [A.x, A.y, B.x.c1, B.x.c0, B.y.c1, B.y.c0, C.x, C.y]
/// (EIP-197 order); `input` = the 6 public inputs in circuit order: identity root, state
/// root, query hash, challenge, nullifier, answer (nothing per patient).
///
/// It also holds the prepared-check state for its circuit: registered requests (the query
/// hash and challenge terms, per registrant) and prepared root pairs (the identity-root and
/// state-root terms), so that `checkPrepared` verifies an attestation in one call with a
/// single scalar multiplication, after asking the identity and state contracts whether the
/// roots are within the caller's window.
interface IGroth16Verifier {
    /// An attestation checked against a registered request and a prepared root pair: only
    /// the nullifier is a fresh scalar.
    struct PreparedAttestation {
        bytes32 request; // requestId(queryHash, scope, request), registered by the checker
        uint256[2] requestTerm; // requestTerm(queryHash, scope, request)
        uint256[2] rootsTerm; // rootsTerm(identityRoot, stateRoot)
        uint256 identityRoot;
        uint256 stateRoot;
        uint256 nullifier;
        bool answer;
        uint256[8] proof;
    }

    function verifyProof(uint256[8] calldata proof, uint256[6] memory input) external view returns (bool);

    /// @notice `Σ input_i·IC_(i+1)` (+ IC0 if `withConstant`); reverts on a non-canonical input.
    function inputTerm(uint256[6] memory input, bool withConstant) external view returns (uint256[2] memory);

    /// @notice The `AttestationVerifier` that may check on behalf of its caller.
    function controller() external view returns (address);

    function requestId(uint256 queryHash, uint256 scope, uint256 request) external pure returns (bytes32);

    /// @notice Where `registrant`'s request `id` is stored: requests are per registrant.
    function requestKey(address registrant, bytes32 id) external pure returns (bytes32);

    /// @notice `IC0 + queryHash·IC3 + H(scope, request)·IC4`.
    function requestTerm(uint256 queryHash, uint256 scope, uint256 request) external view returns (uint256[2] memory);

    function registerRequest(uint256 queryHash, uint256 scope, uint256 request) external returns (bytes32);

    /// @notice `identityRoot·IC1 + stateRoot·IC2`.
    function rootsTerm(uint256 identityRoot, uint256 stateRoot) external view returns (uint256[2] memory);

    function prepareRoots(uint256 identityRoot, uint256 stateRoot) external;

    /// @notice The prepared check of a request that msg.sender registered.
    function checkPrepared(PreparedAttestation calldata a, uint64 window) external view returns (bool);

    /// @notice `checkPrepared` of a request that `registrant` registered (the controller only,
    /// for `AttestationVerifier.consumePrepared` on behalf of its caller).
    function checkPreparedFor(address registrant, PreparedAttestation calldata a, uint64 window)
        external
        view
        returns (bool);
}
