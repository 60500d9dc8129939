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

    ZkmedIdentity public immutable identities;
    RecordRegistry public immutable records;
    IssuerRegistry public immutable issuers;
    mapping(bytes32 => IGroth16Verifier) public verifiers;
    /// scope => nullifier => spent
    mapping(uint256 => mapping(uint256 => bool)) public spent;

    event CircuitRegistered(bytes32 indexed circuit, address verifier);
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
}
