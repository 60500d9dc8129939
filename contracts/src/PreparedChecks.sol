// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IGroth16Verifier} from "./IGroth16Verifier.sol";

/// @title PreparedChecks
/// @notice The prepared-check half of every generated zkmed verifier (`zkmed export
/// solidity` writes the other half: the verifying key, `_msm` and `_pairing`).
///
/// The per-token inputs (record and identity commitment) change only on re-anchoring or
/// recovery; the per-question inputs (query hash, challenge, scope) are fixed by the verifier
/// in advance. Their part of vk_x is computed here once, and `checkPrepared` multiplies only
/// the nullifier. The state lives in the circuit's verifier contract so that a check is one
/// call: no external call, no registry reads (see docs/chain.md).
abstract contract PreparedChecks is IGroth16Verifier {
    /// The `AttestationVerifier` whose snapshots this contract accepts: it checks the
    /// registries (token active, identity commitment, current root, issuer accredited)
    /// before it calls `storeSnapshot`.
    address public immutable controller;
    /// requestKey(registrant, requestId) => keccak256 of the request's term `IC0 +
    /// queryHash·IC3 + challenge·IC4 + scope·IC5`, computed here by `registerRequest`. A
    /// request answers only its registrant's `checkPrepared`.
    mapping(bytes32 => bytes32) public requests;
    /// tokenId => top 192 bits of keccak256(token term `rc·IC1 + idc·IC2`) | snapshot time
    /// (low 64 bits), stored by the controller after its registry checks.
    mapping(uint256 => uint256) public snapshots;

    event RequestRegistered(
        address indexed registrant, bytes32 indexed id, uint256 queryHash, uint256 challenge, uint256 scope
    );
    event SnapshotStored(uint256 indexed tokenId, uint256 recordCommitment, uint256 identityCommitment);

    error NonCanonicalInput();
    error NotController(address caller);
    error UnknownRequest(bytes32 request);
    error NotPrepared(uint256 tokenId);
    error SnapshotTooOld(uint256 tokenId, uint64 preparedAt);
    error InvalidProof();

    constructor(address controller_) {
        controller = controller_;
    }

    /// @notice `Σ input_i·IC_(i+1)`, plus IC0 if `withConstant` (the generated verifier,
    /// which holds the key); reverts with `NonCanonicalInput` on an input `>= r`.
    function inputTerm(uint256[7] memory input, bool withConstant) public view virtual returns (uint256[2] memory t);

    /// `base + Σ input_i·IC_(i+1)`; not ok if an input is not canonical, the answer is not
    /// 0 or 1, or a precompile refuses a point (the generated verifier).
    function _msm(uint256 bx, uint256 by, uint256[7] memory input)
        internal
        view
        virtual
        returns (bool ok, uint256 x, uint256 y);

    /// `e(-A, B)·e(alpha, beta)·e(vk_x, gamma)·e(C, delta) = 1` (the generated verifier).
    function _pairing(uint256[8] calldata proof, uint256 vx, uint256 vy) internal view virtual returns (bool ok);

    function requestId(uint256 queryHash, uint256 challenge, uint256 scope) public pure returns (bytes32) {
        return keccak256(abi.encode(queryHash, challenge, scope));
    }

    function requestKey(address registrant, bytes32 id) public pure returns (bytes32) {
        return keccak256(abi.encode(registrant, id));
    }

    /// @notice The term `registerRequest` stores for this question, challenge and scope.
    function requestTerm(uint256 queryHash, uint256 challenge, uint256 scope) public view returns (uint256[2] memory) {
        return inputTerm([uint256(0), 0, queryHash, challenge, scope, 0, 0], true);
    }

    /// @notice Registers the caller's question, challenge and scope (anyone, for itself;
    /// idempotent): only the caller's `checkPrepared` (or its `consumePrepared` through the
    /// controller) answers it.
    function registerRequest(uint256 queryHash, uint256 challenge, uint256 scope) external returns (bytes32 id) {
        uint256[2] memory t = requestTerm(queryHash, challenge, scope);
        id = requestId(queryHash, challenge, scope);
        requests[requestKey(msg.sender, id)] = keccak256(abi.encode(t[0], t[1]));
        emit RequestRegistered(msg.sender, id, queryHash, challenge, scope);
    }

    /// @notice The term of a token whose current root is `recordCommitment` and whose
    /// identity commitment is `identityCommitment`.
    function tokenTerm(uint256 recordCommitment, uint256 identityCommitment) public view returns (uint256[2] memory) {
        return inputTerm([recordCommitment, identityCommitment, 0, 0, 0, 0, 0], false);
    }

    /// @notice Stores the token's snapshot (controller only, after its registry checks);
    /// a new snapshot replaces the old one.
    function storeSnapshot(uint256 tokenId, uint256 recordCommitment, uint256 identityCommitment) external {
        if (msg.sender != controller) revert NotController(msg.sender);
        uint256[2] memory t = tokenTerm(recordCommitment, identityCommitment);
        snapshots[tokenId] = _termHash(t[0], t[1]) | block.timestamp;
        emit SnapshotStored(tokenId, recordCommitment, identityCommitment);
    }

    function _termHash(uint256 x, uint256 y) internal pure returns (uint256) {
        return (uint256(keccak256(abi.encode(x, y))) >> 64) << 64;
    }

    /// @notice Read-only check of an attestation against the token's snapshot (at most
    /// `window` seconds old) and a request the caller registered: the registry facts held at
    /// the snapshot, the question, challenge and scope are the request's, the pairing passes.
    /// Returns the proven answer; every failure reverts with its reason.
    function checkPrepared(uint256 tokenId, PreparedAttestation calldata a, uint64 window) external view returns (bool) {
        return _checkPrepared(msg.sender, tokenId, a, window);
    }

    /// @notice `checkPrepared` of `registrant`'s request, for the controller only (its
    /// `consumePrepared` checks on behalf of its caller).
    function checkPreparedFor(address registrant, uint256 tokenId, PreparedAttestation calldata a, uint64 window)
        external
        view
        returns (bool)
    {
        if (msg.sender != controller) revert NotController(msg.sender);
        return _checkPrepared(registrant, tokenId, a, window);
    }

    function _checkPrepared(address registrant, uint256 tokenId, PreparedAttestation calldata a, uint64 window)
        private
        view
        returns (bool)
    {
        if (requests[requestKey(registrant, a.request)] != keccak256(abi.encode(a.requestTerm[0], a.requestTerm[1]))) {
            revert UnknownRequest(a.request);
        }
        uint256 s = snapshots[tokenId];
        if (s == 0 || (s >> 64) << 64 != _termHash(a.tokenTerm[0], a.tokenTerm[1])) revert NotPrepared(tokenId);
        if (block.timestamp - uint64(s) > window) revert SnapshotTooOld(tokenId, uint64(s));
        // base = token term + request term; vk_x = base + nullifier·IC6 + answer·IC7.
        uint256[2] memory base;
        uint256[4] memory sum = [a.tokenTerm[0], a.tokenTerm[1], a.requestTerm[0], a.requestTerm[1]];
        bool ok;
        assembly {
            ok := staticcall(gas(), 6, sum, 128, base, 64)
        }
        uint256 x;
        uint256 y;
        if (ok) {
            (ok, x, y) = _msm(base[0], base[1], [uint256(0), 0, 0, 0, 0, a.nullifier, a.answer ? 1 : 0]);
        }
        if (!ok || !_pairing(a.proof, x, y)) revert InvalidProof();
        return a.answer;
    }
}
