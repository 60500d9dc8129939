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
/// `consume` also spends the nullifier for one-time claims within a scope.
contract AttestationVerifier is Ownable2Step {
    struct Attestation {
        bytes32 circuit; // keccak256 of the circuit id, e.g. keccak256("exists-v1")
        uint256[8] proof;
        uint256 recordCommitment;
        uint256 identityCommitment;
        uint256 queryHash;
        uint256 challenge;
        uint256 scope;
        uint256 nullifier;
        bool answer;
    }

    /// An attestation checked against a prepared snapshot and a registered request
    /// (`checkPrepared`): only the nullifier is a fresh scalar.
    struct PreparedAttestation {
        bytes32 circuit;
        bytes32 request; // requestId(circuit, queryHash, challenge, scope)
        uint256[2] tokenTerm; // from `prepare` / `tokenTerm`
        uint256[2] requestTerm; // from `registerRequest` / `requestTerm`
        uint256 nullifier;
        bool answer;
        uint256[8] proof;
    }

    ZkmedIdentity public immutable identities;
    RecordRegistry public immutable records;
    IssuerRegistry public immutable issuers;
    mapping(bytes32 => IGroth16Verifier) public verifiers;
    /// scope => nullifier => spent
    mapping(uint256 => mapping(uint256 => bool)) public spent;
    /// requestId => keccak256(verifier, request term): a registered request's precomputed
    /// `IC0 + queryHash·IC3 + challenge·IC4 + scope·IC5`, bound to the verifier that made it.
    mapping(bytes32 => bytes32) public requests;
    /// verifier => tokenId => (top 192 bits of keccak256(token term)) | snapshot time (low
    /// 64 bits). The token term `rc·IC1 + idc·IC2` is stored only after `prepare` checked,
    /// at that time, that rc is the current root, idc the token's identity commitment, the
    /// token active and the root's issuer accredited.
    mapping(IGroth16Verifier => mapping(uint256 => uint256)) public snapshots;

    event CircuitRegistered(bytes32 indexed circuit, address verifier);
    event RequestRegistered(bytes32 indexed id, bytes32 indexed circuit, uint256 queryHash, uint256 challenge, uint256 scope);
    event Prepared(uint256 indexed tokenId, bytes32 indexed circuit, uint256 root, address issuer);
    event Consumed(uint256 indexed tokenId, uint256 indexed scope, uint256 nullifier, bool answer);

    error UnknownCircuit(bytes32 circuit);
    error InactiveIdentity(uint256 tokenId);
    error IdentityMismatch();
    error QueryMismatch();
    error ChallengeMismatch();
    error ScopeMismatch();
    error RootNotCurrent();
    error IssuerNotAccredited(address issuer);
    error InvalidProof();
    error NullifierSpent(uint256 nullifier);
    error UnknownRequest(bytes32 request);
    error NotPrepared(uint256 tokenId);
    error SnapshotTooOld(uint256 tokenId, uint64 preparedAt);
    error NoRoot(uint256 tokenId);

    constructor(address governance, ZkmedIdentity identityToken, RecordRegistry recordRegistry)
        Ownable(governance)
    {
        identities = identityToken;
        records = recordRegistry;
        issuers = recordRegistry.issuers();
    }

    /// @notice Governance installs the verifier of a circuit (a new circuit version is a new id).
    function registerCircuit(bytes32 circuit, IGroth16Verifier verifier) external onlyOwner {
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

    /// @notice `check`, then spend the nullifier in `expectedScope`: the same identity can
    /// make this claim once per scope.
    function consume(
        uint256 tokenId,
        Attestation calldata a,
        uint256 expectedQueryHash,
        uint256 expectedChallenge,
        uint256 expectedScope,
        uint64 window
    ) external returns (bool answer) {
        if (a.scope != expectedScope) revert ScopeMismatch();
        if (spent[a.scope][a.nullifier]) revert NullifierSpent(a.nullifier);
        answer = check(tokenId, a, expectedQueryHash, expectedChallenge, window);
        spent[a.scope][a.nullifier] = true;
        emit Consumed(tokenId, a.scope, a.nullifier, answer);
    }

    // ---------------------------------------------------------------- prepared checks
    //
    // `check` pays six scalar multiplications and reads four contracts. The statement's
    // per-token inputs (record commitment, identity commitment) change only when the token
    // is re-anchored or recovered, and its per-question inputs (query hash, challenge,
    // scope) are fixed by the verifier in advance. Their part of vk_x is precomputed once
    // (`prepare`, `registerRequest`), so `checkPrepared` multiplies only the nullifier.
    // Freshness rule: the registry facts hold as of the snapshot, which must be at most
    // `window` seconds old; anyone can refresh a snapshot with `prepare`, and preparing a
    // new root replaces the old root's snapshot. Use `check` when "current now" is needed.

    function _verifierOf(bytes32 circuit) private view returns (IGroth16Verifier v) {
        v = verifiers[circuit];
        if (address(v) == address(0)) revert UnknownCircuit(circuit);
    }

    function requestId(bytes32 circuit, uint256 queryHash, uint256 challenge, uint256 scope)
        public
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(circuit, queryHash, challenge, scope));
    }

    /// @notice The precomputed term of a request (what `registerRequest` stores).
    function requestTerm(bytes32 circuit, uint256 queryHash, uint256 challenge, uint256 scope)
        public
        view
        returns (uint256[2] memory)
    {
        return _verifierOf(circuit).inputTerm([0, 0, queryHash, challenge, scope, 0, 0], true);
    }

    /// @notice Registers a verifier's question, challenge and scope (anyone; idempotent).
    function registerRequest(bytes32 circuit, uint256 queryHash, uint256 challenge, uint256 scope)
        external
        returns (bytes32 id)
    {
        uint256[2] memory t = requestTerm(circuit, queryHash, challenge, scope);
        id = requestId(circuit, queryHash, challenge, scope);
        requests[id] = keccak256(abi.encode(verifiers[circuit], t));
        emit RequestRegistered(id, circuit, queryHash, challenge, scope);
    }

    /// @notice The token's term now, after the registry checks `prepare` makes.
    function tokenTerm(uint256 tokenId, bytes32 circuit) public view returns (uint256[2] memory) {
        (uint256[2] memory t,,) = _tokenTerm(tokenId, circuit);
        return t;
    }

    function _tokenTerm(uint256 tokenId, bytes32 circuit)
        private
        view
        returns (uint256[2] memory t, uint256 root, address issuer)
    {
        IGroth16Verifier v = _verifierOf(circuit);
        if (!identities.isActive(tokenId)) revert InactiveIdentity(tokenId);
        uint256 idc = identities.identityCommitment(tokenId);
        RecordRegistry.Anchor memory a = records.current(tokenId);
        if (a.root == 0) revert NoRoot(tokenId);
        if (!issuers.isAccredited(a.issuer)) revert IssuerNotAccredited(a.issuer);
        t = v.inputTerm([a.root, idc, 0, 0, 0, 0, 0], false);
        return (t, a.root, a.issuer);
    }

    /// @notice Snapshots `tokenId` for `circuit` (anyone): checks the registries now and
    /// stores the token's term with the time.
    function prepare(uint256 tokenId, bytes32 circuit) external {
        (uint256[2] memory t, uint256 root, address issuer) = _tokenTerm(tokenId, circuit);
        snapshots[verifiers[circuit]][tokenId] = _snapshotHash(t) | block.timestamp;
        emit Prepared(tokenId, circuit, root, issuer);
    }

    function _snapshotHash(uint256[2] memory t) private pure returns (uint256) {
        return (uint256(keccak256(abi.encode(t[0], t[1]))) >> 64) << 64;
    }

    /// @notice Read-only check against the token's snapshot (at most `window` seconds old)
    /// and a registered request. Returns the proven answer; reverts with the reason.
    function checkPrepared(uint256 tokenId, PreparedAttestation calldata a, uint64 window)
        public
        view
        returns (bool)
    {
        IGroth16Verifier v = _verifierOf(a.circuit);
        if (requests[a.request] != keccak256(abi.encode(v, a.requestTerm[0], a.requestTerm[1]))) {
            revert UnknownRequest(a.request);
        }
        uint256 s = snapshots[v][tokenId];
        if ((s >> 64) << 64 != _snapshotHash([a.tokenTerm[0], a.tokenTerm[1]])) revert NotPrepared(tokenId);
        if (block.timestamp - uint64(s) > window) revert SnapshotTooOld(tokenId, uint64(s));
        uint256[2] memory term;
        uint256[4] memory sum = [a.tokenTerm[0], a.tokenTerm[1], a.requestTerm[0], a.requestTerm[1]];
        bool ok;
        assembly {
            ok := staticcall(gas(), 6, sum, 128, term, 64)
        }
        if (!ok || !v.verifyProofWithTermUnchecked(a.proof, term, [uint256(0), 0, 0, 0, 0, a.nullifier, a.answer ? 1 : 0])) {
            revert InvalidProof();
        }
        return a.answer;
    }

    /// @notice `checkPrepared`, then spend the nullifier in the request's scope (the same
    /// `spent` set as `consume`: a claim is made once, whichever way it is checked).
    function consumePrepared(
        uint256 tokenId,
        PreparedAttestation calldata a,
        uint256 queryHash,
        uint256 challenge,
        uint256 scope,
        uint64 window
    ) external returns (bool answer) {
        if (a.request != requestId(a.circuit, queryHash, challenge, scope)) revert ScopeMismatch();
        if (spent[scope][a.nullifier]) revert NullifierSpent(a.nullifier);
        answer = checkPrepared(tokenId, a, window);
        spent[scope][a.nullifier] = true;
        emit Consumed(tokenId, scope, a.nullifier, answer);
    }
}
