// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Ownable2Step, Ownable} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IGroth16Verifier, IRootWindow} from "./IGroth16Verifier.sol";
import {PoseidonT3Lib} from "./PoseidonT3.sol";
import {ZkmedIdentity} from "./ZkmedIdentity.sol";
import {StateRegistry} from "./StateRegistry.sol";

/// @title AttestationVerifier
/// @notice Checks a zkmed attestation (format v2: six public inputs, nothing per patient)
/// against the roots and its Groth16 proof: the circuit is registered; the identity root is
/// accepted by `ZkmedIdentity` and the global state root by `StateRegistry` within the
/// caller's window (0: the current roots only); the query hash and the challenge are the
/// caller's; the pairing check passes. Every failed check reverts with its reason (never a
/// silent `false`, which also keeps gas estimation honest). `check` is read-only;
/// `consume` also spends the attestation's scoped nullifier: one claim per identity and
/// scope, and no token id anywhere. A consume is bound to its submitter: the challenge must
/// be `H(scope, submitterChallenge(msg.sender, nonce))`, so a copy of a pending
/// transaction sent from another account reverts instead of burning the patient's claim.
contract AttestationVerifier is Ownable2Step {
    struct Attestation {
        bytes32 circuit; // keccak256 of the circuit id, e.g. keccak256("exists-v3")
        uint256[8] proof;
        uint256 identityRoot;
        uint256 stateRoot;
        uint256 queryHash;
        uint256 challenge;
        uint256 nullifier;
        bool answer;
    }

    /// `ZkmedIdentity`: the identity roots.
    address public immutable identities;
    /// `StateRegistry`: the global state roots.
    address public immutable states;
    /// `PoseidonT3`: `challenge = H(scope, request)`.
    address public immutable poseidon;
    /// BN254 scalar field: challenges are field elements.
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;

    mapping(bytes32 => IGroth16Verifier) public verifiers;
    /// scope => scoped nullifier `H(nk, scope)` => spent. Public: it names no token and no
    /// patient (docs/state.md).
    mapping(uint256 => mapping(uint256 => bool)) public consumed;

    event CircuitRegistered(bytes32 indexed circuit, address verifier);
    event Consumed(uint256 indexed scope, uint256 indexed nullifier, bool answer, address indexed submitter);

    error UnknownCircuit(bytes32 circuit);
    error QueryMismatch();
    error ChallengeMismatch();
    error IdentityRootNotAccepted(uint256 root);
    error StateRootNotAccepted(uint256 root);
    error InvalidProof();
    error AlreadyConsumed(uint256 scope, uint256 nullifier);
    error RequestMismatch();
    error WrongController(address verifier, address controller);

    constructor(address governance, ZkmedIdentity identityToken, StateRegistry stateRegistry)
        Ownable(governance)
    {
        identities = address(identityToken);
        states = address(stateRegistry);
        poseidon = stateRegistry.poseidon();
    }

    /// @notice Governance installs the verifier of a circuit (a new circuit version is a new
    /// id). The verifier must name this contract as its `controller`.
    function registerCircuit(bytes32 circuit, IGroth16Verifier verifier) external onlyOwner {
        address c = verifier.controller();
        if (c != address(this)) revert WrongController(address(verifier), c);
        verifiers[circuit] = verifier;
        emit CircuitRegistered(circuit, address(verifier));
    }

    function _verifierOf(bytes32 circuit) private view returns (IGroth16Verifier v) {
        v = verifiers[circuit];
        if (address(v) == address(0)) revert UnknownCircuit(circuit);
    }

    /// @notice Read-only check. `window` = 0 accepts the current roots only; `window` = N
    /// accepts roots superseded at most N seconds ago (a state root only if created since the
    /// last issuer suspension). Returns the proven answer.
    function check(Attestation calldata a, uint256 expectedQueryHash, uint256 expectedChallenge, uint64 window)
        public
        view
        returns (bool)
    {
        IGroth16Verifier v = _verifierOf(a.circuit);
        if (a.queryHash != expectedQueryHash) revert QueryMismatch();
        if (a.challenge != expectedChallenge) revert ChallengeMismatch();
        if (!IRootWindow(identities).isIdentityRootAccepted(a.identityRoot, window)) {
            revert IdentityRootNotAccepted(a.identityRoot);
        }
        if (!IRootWindow(states).isStateRootAccepted(a.stateRoot, window)) revert StateRootNotAccepted(a.stateRoot);
        uint256[6] memory input =
            [a.identityRoot, a.stateRoot, a.queryHash, a.challenge, a.nullifier, a.answer ? 1 : 0];
        if (!v.verifyProof(a.proof, input)) revert InvalidProof();
        return a.answer;
    }

    /// @notice The request value a one-time claim consumed by `submitter` must carry:
    /// `keccak256(abi.encode(block.chainid, address(this), submitter, nonce)) mod r`. The
    /// verifier (the account that will call `consume`) picks a fresh `nonce`, computes this
    /// (a view call, or `zkmed_chain::submitter_challenge` offline) and gives it to the
    /// patient as the request to prove with; the proof's challenge is `H(scope, request)`.
    function submitterChallenge(address submitter, uint256 nonce) public view returns (uint256) {
        return uint256(keccak256(abi.encode(block.chainid, address(this), submitter, nonce))) % R;
    }

    /// @notice The challenge of a request in a scope: `H(scope, request)` (Poseidon).
    function challengeOf(uint256 scope, uint256 request) public view returns (uint256) {
        return PoseidonT3Lib.hash(poseidon, scope, request);
    }

    /// @notice `check` with the challenge `H(scope, submitterChallenge(msg.sender, nonce))`,
    /// then spend the attestation's scoped nullifier in `scope`: an identity makes this claim
    /// once per scope, and only the account the challenge names can spend it.
    function consume(Attestation calldata a, uint256 expectedQueryHash, uint256 nonce, uint256 scope, uint64 window)
        external
        returns (bool answer)
    {
        if (consumed[scope][a.nullifier]) revert AlreadyConsumed(scope, a.nullifier);
        answer = check(a, expectedQueryHash, challengeOf(scope, submitterChallenge(msg.sender, nonce)), window);
        consumed[scope][a.nullifier] = true;
        emit Consumed(scope, a.nullifier, answer, msg.sender);
    }

    /// @notice The circuit verifier's prepared check of the request that msg.sender
    /// registered there, whose request value must be `submitterChallenge(msg.sender, nonce)`;
    /// then spend the nullifier in the request's scope (the same `consumed` set as `consume`:
    /// a claim is made once, whichever way it is checked).
    function consumePrepared(
        bytes32 circuit,
        IGroth16Verifier.PreparedAttestation calldata a,
        uint256 queryHash,
        uint256 nonce,
        uint256 scope,
        uint64 window
    ) external returns (bool answer) {
        IGroth16Verifier v = _verifierOf(circuit);
        // PreparedChecks.requestId, computed here.
        bytes32 request = keccak256(abi.encode(queryHash, scope, submitterChallenge(msg.sender, nonce)));
        if (a.request != request) revert RequestMismatch();
        if (consumed[scope][a.nullifier]) revert AlreadyConsumed(scope, a.nullifier);
        answer = v.checkPreparedFor(msg.sender, a, window);
        consumed[scope][a.nullifier] = true;
        emit Consumed(scope, a.nullifier, answer, msg.sender);
    }
}
