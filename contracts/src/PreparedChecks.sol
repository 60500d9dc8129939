// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IGroth16Verifier, IRootsController, IRootWindow} from "./IGroth16Verifier.sol";
import {PoseidonT3Lib} from "./PoseidonT3.sol";

/// @title PreparedChecks
/// @notice The prepared-check half of every generated zkmed verifier (`zkmed export
/// solidity` writes the other half: the verifying key, `_msm` and `_pairing`).
///
/// The per-question inputs (query hash; challenge `H(scope, request)`) are fixed by the
/// verifier in advance, and the roots (identity root, global state root) are shared by every
/// patient who proves against them. Their parts of vk_x are computed here once
/// (`registerRequest`, `prepareRoots`), and `checkPrepared` multiplies only the nullifier.
/// The roots are still looked up at every check: the identity contract's
/// `isIdentityRootAccepted` and the state contract's `isStateRootAccepted` with the caller's
/// window (see docs/chain.md).
abstract contract PreparedChecks is IGroth16Verifier {
    /// The `AttestationVerifier` that may check on behalf of its caller (`checkPreparedFor`).
    address public immutable controller;
    /// Where the identity roots live (`ZkmedIdentity`).
    address public immutable identities;
    /// Where the global state roots live (`StateRegistry`).
    address public immutable states;
    /// The `PoseidonT3` contract: `challenge = H(scope, request)`.
    address public immutable poseidon;
    /// requestKey(registrant, requestId) => keccak256 of the request's term
    /// `IC0 + queryHash·IC3 + H(scope, request)·IC4`, computed here by `registerRequest`. A
    /// request answers only its registrant's `checkPrepared`.
    mapping(bytes32 => bytes32) public requests;
    /// keccak256(identityRoot, stateRoot) => keccak256 of `identityRoot·IC1 + stateRoot·IC2`.
    mapping(bytes32 => bytes32) public preparedRoots;

    event RequestRegistered(
        address indexed registrant, bytes32 indexed id, uint256 queryHash, uint256 scope, uint256 request
    );
    event RootsPrepared(uint256 identityRoot, uint256 stateRoot);

    error NonCanonicalInput();
    error NotController(address caller);
    error UnknownRequest(bytes32 request);
    error RootsNotPrepared(uint256 identityRoot, uint256 stateRoot);
    error IdentityRootNotAccepted(uint256 root);
    error StateRootNotAccepted(uint256 root);
    error InvalidProof();

    constructor(address controller_) {
        controller = controller_;
        identities = IRootsController(controller_).identities();
        states = IRootsController(controller_).states();
        poseidon = IRootsController(controller_).poseidon();
    }

    /// @notice `Σ input_i·IC_(i+1)`, plus IC0 if `withConstant` (the generated verifier,
    /// which holds the key); reverts with `NonCanonicalInput` on an input `>= r`.
    function inputTerm(uint256[6] memory input, bool withConstant) public view virtual returns (uint256[2] memory t);

    /// `base + Σ input_i·IC_(i+1)`; not ok if an input is not canonical, the answer is not
    /// 0 or 1, or a precompile refuses a point (the generated verifier).
    function _msm(uint256 bx, uint256 by, uint256[6] memory input)
        internal
        view
        virtual
        returns (bool ok, uint256 x, uint256 y);

    /// `e(-A, B)·e(alpha, beta)·e(vk_x, gamma)·e(C, delta) = 1` (the generated verifier).
    function _pairing(uint256[8] calldata proof, uint256 vx, uint256 vy) internal view virtual returns (bool ok);

    function requestId(uint256 queryHash, uint256 scope, uint256 request) public pure returns (bytes32) {
        return keccak256(abi.encode(queryHash, scope, request));
    }

    function requestKey(address registrant, bytes32 id) public pure returns (bytes32) {
        return keccak256(abi.encode(registrant, id));
    }

    /// @notice The term `registerRequest` stores: `IC0 + queryHash·IC3 + H(scope, request)·IC4`.
    function requestTerm(uint256 queryHash, uint256 scope, uint256 request) public view returns (uint256[2] memory) {
        uint256 challenge = PoseidonT3Lib.hash(poseidon, scope, request);
        return inputTerm([uint256(0), 0, queryHash, challenge, 0, 0], true);
    }

    /// @notice Registers the caller's question, scope and request value (anyone, for itself;
    /// idempotent): the challenge `H(scope, request)` is computed here, once. Only the
    /// caller's `checkPrepared` (or its `consumePrepared` through the controller) answers it.
    function registerRequest(uint256 queryHash, uint256 scope, uint256 request) external returns (bytes32 id) {
        uint256[2] memory t = requestTerm(queryHash, scope, request);
        id = requestId(queryHash, scope, request);
        requests[requestKey(msg.sender, id)] = keccak256(abi.encode(t[0], t[1]));
        emit RequestRegistered(msg.sender, id, queryHash, scope, request);
    }

    /// @notice `identityRoot·IC1 + stateRoot·IC2`.
    function rootsTerm(uint256 identityRoot, uint256 stateRoot) public view returns (uint256[2] memory) {
        return inputTerm([identityRoot, stateRoot, 0, 0, 0, 0], false);
    }

    /// @notice Precomputes the roots' term (anyone; idempotent). It vouches for nothing: every
    /// check still asks the identity and state contracts whether the roots are accepted.
    function prepareRoots(uint256 identityRoot, uint256 stateRoot) external {
        uint256[2] memory t = rootsTerm(identityRoot, stateRoot);
        preparedRoots[keccak256(abi.encode(identityRoot, stateRoot))] = keccak256(abi.encode(t[0], t[1]));
        emit RootsPrepared(identityRoot, stateRoot);
    }

    /// @notice Read-only check of an attestation against a request the caller registered and
    /// a prepared root pair: the question and challenge are the request's, the identity root
    /// and the state root are accepted within `window` seconds (0: current roots only), the
    /// pairing passes. Returns the proven answer; every failure reverts with its reason.
    function checkPrepared(PreparedAttestation calldata a, uint64 window) external view returns (bool) {
        return _checkPrepared(msg.sender, a, window);
    }

    /// @notice `checkPrepared` of `registrant`'s request, for the controller only (its
    /// `consumePrepared` checks on behalf of its caller).
    function checkPreparedFor(address registrant, PreparedAttestation calldata a, uint64 window)
        external
        view
        returns (bool)
    {
        if (msg.sender != controller) revert NotController(msg.sender);
        return _checkPrepared(registrant, a, window);
    }

    /// `IRootWindow.isIdentityRootAccepted.selector` / `isStateRootAccepted.selector`.
    uint32 private constant IDENTITY_ROOT_ACCEPTED = 0x18ea5f09;
    uint32 private constant STATE_ROOT_ACCEPTED = 0x8f00b539;

    /// `target.<selector>(root, window)` returned `true` (a raw static call: the two root
    /// lookups are most of what a prepared check pays beyond the pairing).
    function _accepted(address target, uint32 selector, uint256 root, uint64 window) private view returns (bool ok) {
        assembly {
            let p := mload(0x40)
            mstore(p, shl(224, selector))
            mstore(add(p, 4), root)
            mstore(add(p, 36), window)
            ok := staticcall(gas(), target, p, 68, p, 32)
            ok := and(ok, and(gt(returndatasize(), 31), eq(mload(p), 1)))
        }
    }

    function _checkPrepared(address registrant, PreparedAttestation calldata a, uint64 window)
        private
        view
        returns (bool)
    {
        if (requests[requestKey(registrant, a.request)] != keccak256(abi.encode(a.requestTerm[0], a.requestTerm[1]))) {
            revert UnknownRequest(a.request);
        }
        if (
            preparedRoots[keccak256(abi.encode(a.identityRoot, a.stateRoot))]
                != keccak256(abi.encode(a.rootsTerm[0], a.rootsTerm[1]))
        ) revert RootsNotPrepared(a.identityRoot, a.stateRoot);
        if (!_accepted(identities, IDENTITY_ROOT_ACCEPTED, a.identityRoot, window)) {
            revert IdentityRootNotAccepted(a.identityRoot);
        }
        if (!_accepted(states, STATE_ROOT_ACCEPTED, a.stateRoot, window)) revert StateRootNotAccepted(a.stateRoot);
        // base = roots term + request term; vk_x = base + nullifier·IC5 + answer·IC6.
        uint256[2] memory base;
        uint256[4] memory sum = [a.rootsTerm[0], a.rootsTerm[1], a.requestTerm[0], a.requestTerm[1]];
        bool ok;
        assembly {
            ok := staticcall(gas(), 6, sum, 128, base, 64)
        }
        uint256 x;
        uint256 y;
        if (ok) {
            (ok, x, y) = _msm(base[0], base[1], [uint256(0), 0, 0, 0, a.nullifier, a.answer ? 1 : 0]);
        }
        if (!ok || !_pairing(a.proof, x, y)) revert InvalidProof();
        return a.answer;
    }
}
