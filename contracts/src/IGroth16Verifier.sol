// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @notice A Groth16/BN254 verifier for one zkmed circuit, generated from its verifying key
/// by `zkmed export solidity`. `proof` = [A.x, A.y, B.x.c1, B.x.c0, B.y.c1, B.y.c0, C.x, C.y]
/// (EIP-197 order); `input` = the 7 public inputs in circuit order: record commitment,
/// identity commitment, query hash, challenge, scope, nullifier, answer.
///
/// It also holds the prepared-check state for its circuit: registered requests and token
/// snapshots (stored only by its `controller`, the `AttestationVerifier`, after the registry
/// checks), so that `checkPrepared` verifies an attestation in one call with a single
/// scalar multiplication.
interface IGroth16Verifier {
    /// An attestation checked against a snapshot and a registered request: only the
    /// nullifier is a fresh scalar.
    struct PreparedAttestation {
        bytes32 request; // requestId(queryHash, challenge, scope), registered by the checker
        uint256[2] tokenTerm; // tokenTerm(recordCommitment, identityCommitment)
        uint256[2] requestTerm; // requestTerm(queryHash, challenge, scope)
        uint256 nullifier;
        bool answer;
        uint256[8] proof;
    }

    function verifyProof(uint256[8] calldata proof, uint256[7] memory input) external view returns (bool);

    /// @notice `Σ input_i·IC_(i+1)` (+ IC0 if `withConstant`); reverts on a non-canonical input.
    function inputTerm(uint256[7] memory input, bool withConstant) external view returns (uint256[2] memory);

    /// @notice The only address allowed to store snapshots.
    function controller() external view returns (address);

    function requestId(uint256 queryHash, uint256 challenge, uint256 scope) external pure returns (bytes32);

    /// @notice Where `registrant`'s request `id` is stored: requests are per registrant.
    function requestKey(address registrant, bytes32 id) external pure returns (bytes32);

    function requestTerm(uint256 queryHash, uint256 challenge, uint256 scope) external view returns (uint256[2] memory);

    function registerRequest(uint256 queryHash, uint256 challenge, uint256 scope) external returns (bytes32);

    function tokenTerm(uint256 recordCommitment, uint256 identityCommitment) external view returns (uint256[2] memory);

    function storeSnapshot(uint256 tokenId, uint256 recordCommitment, uint256 identityCommitment) external;

    /// @notice The prepared check of a request that msg.sender registered.
    function checkPrepared(uint256 tokenId, PreparedAttestation calldata a, uint64 window) external view returns (bool);

    /// @notice `checkPrepared` of a request that `registrant` registered (the controller only,
    /// for `AttestationVerifier.consumePrepared` on behalf of its caller).
    function checkPreparedFor(address registrant, uint256 tokenId, PreparedAttestation calldata a, uint64 window)
        external
        view
        returns (bool);
}
