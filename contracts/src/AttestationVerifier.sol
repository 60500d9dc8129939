// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Ownable2Step, Ownable} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IGroth16Verifier} from "./IGroth16Verifier.sol";
import {IssuerRegistry} from "./IssuerRegistry.sol";
import {RecordRegistry} from "./RecordRegistry.sol";
import {ZkmedIdentity} from "./ZkmedIdentity.sol";

/// @title AttestationVerifier
/// @notice Checks a zkmed attestation against the registries and its Groth16 proof:
/// the identity token is active and holds the attested identity commitment; the attested
/// record commitment is (or was within the caller's window) the token's anchored root, and
/// the issuer that anchored it is accredited now; the question and the challenge are the
/// caller's; the pairing check passes. Every failed check reverts with its reason (never a
/// silent `false`, which also keeps gas estimation honest). `check` is read-only;
/// `consume` also spends the token's one-time claim within a scope. A consume is bound to
/// its submitter: the attestation's challenge must be `submitterChallenge(msg.sender,
/// nonce)`, so a copy of a pending transaction sent from another account reverts instead of
/// burning the patient's claim.
contract AttestationVerifier is Ownable2Step {
    struct Attestation {
        bytes32 circuit; // keccak256 of the circuit id, e.g. keccak256("exists-v2")
        uint256[8] proof;
        uint256 recordCommitment;
        uint256 identityCommitment;
        uint256 queryHash;
        uint256 challenge;
        uint256 scope;
        uint256 nullifier;
        bool answer;
    }

    ZkmedIdentity public immutable identities;
    RecordRegistry public immutable records;
    IssuerRegistry public immutable issuers;
    /// BN254 scalar field: challenges are field elements.
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;

    mapping(bytes32 => IGroth16Verifier) public verifiers;
    /// scope => tokenId => the token's one-time claim in this scope is spent. Kept per
    /// token, not per nullifier: recovery gives the token a new identity secret and so new
    /// nullifiers, and a claim must stay spent across it (docs/chain.md).
    mapping(uint256 => mapping(uint256 => bool)) public consumed;
    event CircuitRegistered(bytes32 indexed circuit, address verifier);
    event Prepared(uint256 indexed tokenId, bytes32 indexed circuit, uint256 root, address issuer);
    event Consumed(
        uint256 indexed tokenId, uint256 indexed scope, uint256 nullifier, bool answer, address indexed submitter
    );

    error UnknownCircuit(bytes32 circuit);
    error InactiveIdentity(uint256 tokenId);
    error IdentityMismatch();
    error QueryMismatch();
    error ChallengeMismatch();
    error ScopeMismatch();
    error RootNotCurrent();
    error IssuerNotAccredited(address issuer);
    error InvalidProof();
    error AlreadyConsumed(uint256 tokenId, uint256 scope);
    error RequestMismatch();
    error NoRoot(uint256 tokenId);
    error WrongController(address verifier, address controller);

    constructor(address governance, ZkmedIdentity identityToken, RecordRegistry recordRegistry)
        Ownable(governance)
    {
        identities = identityToken;
        records = recordRegistry;
        issuers = recordRegistry.issuers();
    }

    /// @notice Governance installs the verifier of a circuit (a new circuit version is a new id).
    /// The verifier must take its snapshots from this contract (its `controller`).
    function registerCircuit(bytes32 circuit, IGroth16Verifier verifier) external onlyOwner {
        address c = verifier.controller();
        if (c != address(this)) revert WrongController(address(verifier), c);
        verifiers[circuit] = verifier;
        emit CircuitRegistered(circuit, address(verifier));
    }

    /// @notice Read-only check. `window` = 0 requires the current root; `window` = N accepts
    /// a root that was current at some moment in the last N seconds. Returns the proven answer.
    function check(
        uint256 tokenId,
        Attestation calldata a,
        uint256 expectedQueryHash,
        uint256 expectedChallenge,
        uint64 window
    ) public view returns (bool) {
        IGroth16Verifier v = verifiers[a.circuit];
        if (address(v) == address(0)) revert UnknownCircuit(a.circuit);
        if (!identities.isActive(tokenId)) revert InactiveIdentity(tokenId);
        if (identities.identityCommitment(tokenId) != a.identityCommitment) revert IdentityMismatch();
        if (a.queryHash != expectedQueryHash) revert QueryMismatch();
        if (a.challenge != expectedChallenge) revert ChallengeMismatch();
        (bool current, address issuer) = records.wasCurrentWithin(tokenId, a.recordCommitment, window);
        if (!current) revert RootNotCurrent();
        if (!issuers.isAccredited(issuer)) revert IssuerNotAccredited(issuer);
        uint256[7] memory input = [
            a.recordCommitment,
            a.identityCommitment,
            a.queryHash,
            a.challenge,
            a.scope,
            a.nullifier,
            a.answer ? 1 : 0
        ];
        if (!v.verifyProof(a.proof, input)) revert InvalidProof();
        return a.answer;
    }

    /// @notice The challenge a one-time claim consumed by `submitter` must carry:
    /// `keccak256(abi.encode(block.chainid, address(this), submitter, nonce)) mod r`. The
    /// verifier (the account that will call `consume`) picks a fresh `nonce`, computes this
    /// (a view call, or `zkmed_chain::submitter_challenge` offline) and gives it to the
    /// patient as the challenge to prove with.
    function submitterChallenge(address submitter, uint256 nonce) public view returns (uint256) {
        return uint256(keccak256(abi.encode(block.chainid, address(this), submitter, nonce))) % R;
    }

    /// @notice `check` with the challenge `submitterChallenge(msg.sender, nonce)`, then spend
    /// the token's claim in `expectedScope`: a token makes this claim once per scope, across
    /// recoveries, and only the account the challenge names can spend it.
    function consume(
        uint256 tokenId,
        Attestation calldata a,
        uint256 expectedQueryHash,
        uint256 nonce,
        uint256 expectedScope,
        uint64 window
    ) external returns (bool answer) {
        if (a.scope != expectedScope) revert ScopeMismatch();
        if (consumed[a.scope][tokenId]) revert AlreadyConsumed(tokenId, a.scope);
        answer = check(tokenId, a, expectedQueryHash, submitterChallenge(msg.sender, nonce), window);
        consumed[a.scope][tokenId] = true;
        emit Consumed(tokenId, a.scope, a.nullifier, answer, msg.sender);
    }

    // ---------------------------------------------------------------- prepared checks
    //
    // `check` pays six scalar multiplications and reads four contracts. The statement's
    // per-token inputs (record commitment, identity commitment) change only when the token
    // is re-anchored or recovered, and its per-question inputs (query hash, challenge,
    // scope) are fixed by the verifier in advance. Their part of vk_x is precomputed once
    // and kept in the circuit's own verifier contract (`registerRequest` there; `prepare`
    // here, which checks the registries first), so that
    // `verifiers[circuit].checkPrepared(tokenId, a, window)` is one call with one scalar
    // multiplication. Freshness rule: the registry facts hold as of the snapshot, which must
    // be at most `window` seconds old; anyone can refresh a snapshot with `prepare`, and
    // preparing a new root replaces the old root's snapshot. Use `check` for "current now".

    function _verifierOf(bytes32 circuit) private view returns (IGroth16Verifier v) {
        v = verifiers[circuit];
        if (address(v) == address(0)) revert UnknownCircuit(circuit);
    }

    /// The registry facts `prepare` snapshots: the token is active, has a root, and the
    /// root's issuer is accredited now.
    function _facts(uint256 tokenId) private view returns (uint256 root, uint256 idc, address issuer) {
        if (!identities.isActive(tokenId)) revert InactiveIdentity(tokenId);
        idc = identities.identityCommitment(tokenId);
        RecordRegistry.Anchor memory a = records.current(tokenId);
        if (a.root == 0) revert NoRoot(tokenId);
        if (!issuers.isAccredited(a.issuer)) revert IssuerNotAccredited(a.issuer);
        return (a.root, idc, a.issuer);
    }

    /// @notice The token's term for `circuit` now, after the registry checks `prepare` makes
    /// (what a prover passes as `PreparedAttestation.tokenTerm`).
    function tokenTerm(uint256 tokenId, bytes32 circuit) external view returns (uint256[2] memory) {
        IGroth16Verifier v = _verifierOf(circuit);
        (uint256 root, uint256 idc,) = _facts(tokenId);
        return v.tokenTerm(root, idc);
    }

    /// @notice Snapshots `tokenId` for `circuit` (anyone): checks the registries now and has
    /// the circuit's verifier store the token's term with the time.
    function prepare(uint256 tokenId, bytes32 circuit) external {
        IGroth16Verifier v = _verifierOf(circuit);
        (uint256 root, uint256 idc, address issuer) = _facts(tokenId);
        v.storeSnapshot(tokenId, root, idc);
        emit Prepared(tokenId, circuit, root, issuer);
    }

    /// @notice The circuit verifier's prepared check of the request that msg.sender
    /// registered there, with the challenge `submitterChallenge(msg.sender, nonce)`; then
    /// spend the token's claim in the request's scope (the same `consumed` set as `consume`:
    /// a claim is made once, whichever way it is checked).
    function consumePrepared(
        uint256 tokenId,
        bytes32 circuit,
        IGroth16Verifier.PreparedAttestation calldata a,
        uint256 queryHash,
        uint256 nonce,
        uint256 scope,
        uint64 window
    ) external returns (bool answer) {
        IGroth16Verifier v = _verifierOf(circuit);
        // PreparedChecks.requestId, computed here.
        bytes32 request = keccak256(abi.encode(queryHash, submitterChallenge(msg.sender, nonce), scope));
        if (a.request != request) revert RequestMismatch();
        if (consumed[scope][tokenId]) revert AlreadyConsumed(tokenId, scope);
        answer = v.checkPreparedFor(msg.sender, tokenId, a, window);
        consumed[scope][tokenId] = true;
        emit Consumed(tokenId, scope, a.nullifier, answer, msg.sender);
    }
}
