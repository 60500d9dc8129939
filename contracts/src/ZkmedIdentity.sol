// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {IssuerRegistry} from "./IssuerRegistry.sol";

/// @notice EIP-5192: minimal soulbound NFTs.
interface IERC5192 {
    event Locked(uint256 tokenId);
    event Unlocked(uint256 tokenId);

    function locked(uint256 tokenId) external view returns (bool);
}

/// @title ZkmedIdentity
/// @notice One soul-bound (EIP-5192, always locked) ERC-721 token per patient, holding the
/// patient's identity commitment `H(identity secret)`. Minted by an accredited issuer; never
/// transferable or approvable. A lost key is recovered by M of the N guardians the patient
/// chose at minting: the token is re-bound to a new address and a new identity commitment, and
/// the old commitment is no longer accepted. Revocation (by the minting issuer or governance)
/// is final.
contract ZkmedIdentity is ERC721, IERC5192 {
    struct Identity {
        uint256 commitment;
        address issuer;
        bool revoked;
        uint8 threshold;
        uint64 recoveryNonce;
        address[] guardians;
    }

    struct Recovery {
        address newOwner;
        uint256 newCommitment;
        uint64 nonce;
        uint8 approvals;
    }

    IssuerRegistry public immutable issuers;
    uint256 public totalMinted;
    mapping(uint256 => Identity) private identities;
    mapping(address => uint256) public tokenOf;
    /// identity commitment => token (0 once replaced by recovery): how an off-chain verifier
    /// holding only an attestation finds the token.
    mapping(uint256 => uint256) public tokenOfCommitment;
    mapping(uint256 => Recovery) public pendingRecovery;
    /// tokenId => keccak(nonce, guardian) => approved
    mapping(uint256 => mapping(bytes32 => bool)) private approvedBy;
    /// Set only while a completed recovery re-binds a token.
    bool private recovering;

    event Minted(uint256 indexed tokenId, address indexed patient, uint256 commitment, address indexed issuer);
    event RecoveryProposed(uint256 indexed tokenId, address indexed guardian, address newOwner, uint256 newCommitment);
    event RecoveryApproved(uint256 indexed tokenId, address indexed guardian, uint8 approvals);
    event Recovered(uint256 indexed tokenId, address indexed oldOwner, address indexed newOwner, uint256 newCommitment);
    event Revoked(uint256 indexed tokenId, address by);

    error Soulbound();
    error NotAccreditedIssuer(address who);
    error AlreadyHasIdentity(address patient);
    error BadGuardians();
    error NotGuardian(address who);
    error NoSuchToken(uint256 tokenId);
    error TokenRevoked(uint256 tokenId);
    error NotAllowed(address who);
    error RecoveryMismatch();
    error AlreadyApproved(address guardian);
    error BadCommitment();

    constructor(IssuerRegistry issuerRegistry) ERC721("zkmed identity", "ZKMID") {
        issuers = issuerRegistry;
    }

    // ------------------------------------------------------------------ minting

    /// @notice Mint `patient`'s identity token. `guardians` (distinct, not the patient) and
    /// `threshold` (1..N) govern recovery; no guardians = no recovery.
    function mint(address patient, uint256 commitment, address[] calldata guardians, uint8 threshold)
        external
        returns (uint256 tokenId)
    {
        if (!issuers.isAccredited(msg.sender)) revert NotAccreditedIssuer(msg.sender);
        if (tokenOf[patient] != 0) revert AlreadyHasIdentity(patient);
        if (guardians.length > 16 || threshold > guardians.length || (guardians.length > 0 && threshold == 0)) {
            revert BadGuardians();
        }
        for (uint256 i = 0; i < guardians.length; i++) {
            if (guardians[i] == address(0) || guardians[i] == patient) revert BadGuardians();
            for (uint256 j = 0; j < i; j++) {
                if (guardians[i] == guardians[j]) revert BadGuardians();
            }
        }
        tokenId = ++totalMinted;
        identities[tokenId] = Identity(commitment, msg.sender, false, threshold, 0, guardians);
        tokenOf[patient] = tokenId;
        if (commitment == 0 || tokenOfCommitment[commitment] != 0) revert BadCommitment();
        tokenOfCommitment[commitment] = tokenId;
        _safeMint(patient, tokenId);
        emit Locked(tokenId);
        emit Minted(tokenId, patient, commitment, msg.sender);
    }

    // ------------------------------------------------------------------ reads

    /// @notice The identity commitment proofs must be bound to (0 if revoked or unknown).
    function identityCommitment(uint256 tokenId) external view returns (uint256) {
        Identity storage id = identities[tokenId];
        return id.revoked ? 0 : id.commitment;
    }

    function identity(uint256 tokenId) external view returns (Identity memory) {
        _requireOwned(tokenId);
        return identities[tokenId];
    }

    function isActive(uint256 tokenId) public view returns (bool) {
        return _ownerOf(tokenId) != address(0) && !identities[tokenId].revoked;
    }

    /// @inheritdoc IERC5192
    function locked(uint256 tokenId) external view returns (bool) {
        _requireOwned(tokenId);
        return true;
    }

    function supportsInterface(bytes4 interfaceId) public view override returns (bool) {
        return interfaceId == 0xb45a3c0e || super.supportsInterface(interfaceId);
    }

    // ------------------------------------------------------------------ recovery

    /// @notice A guardian proposes re-binding the token to `newOwner` with `newCommitment`
    /// (and approves it). A new proposal replaces an unfinished one.
    function proposeRecovery(uint256 tokenId, address newOwner, uint256 newCommitment) external {
        _requireGuardian(tokenId);
        if (newOwner == address(0) || tokenOf[newOwner] != 0) revert RecoveryMismatch();
        if (newCommitment == 0 || tokenOfCommitment[newCommitment] != 0) revert BadCommitment();
        Identity storage id = identities[tokenId];
        id.recoveryNonce += 1;
        pendingRecovery[tokenId] = Recovery(newOwner, newCommitment, id.recoveryNonce, 0);
        emit RecoveryProposed(tokenId, msg.sender, newOwner, newCommitment);
        _approve(tokenId, newOwner, newCommitment);
    }

    /// @notice A guardian approves the pending recovery (naming it, so a replaced proposal is
    /// never approved by accident). At `threshold` approvals it executes.
    function approveRecovery(uint256 tokenId, address newOwner, uint256 newCommitment) external {
        _requireGuardian(tokenId);
        _approve(tokenId, newOwner, newCommitment);
    }

    function _approve(uint256 tokenId, address newOwner, uint256 newCommitment) private {
        Recovery storage r = pendingRecovery[tokenId];
        if (r.newOwner == address(0) || r.newOwner != newOwner || r.newCommitment != newCommitment) {
            revert RecoveryMismatch();
        }
        bytes32 key = keccak256(abi.encode(r.nonce, msg.sender));
        if (approvedBy[tokenId][key]) revert AlreadyApproved(msg.sender);
        approvedBy[tokenId][key] = true;
        r.approvals += 1;
        emit RecoveryApproved(tokenId, msg.sender, r.approvals);
        if (r.approvals >= identities[tokenId].threshold) {
            address old = _ownerOf(tokenId);
            delete tokenOf[old];
            tokenOf[newOwner] = tokenId;
            delete tokenOfCommitment[identities[tokenId].commitment];
            tokenOfCommitment[newCommitment] = tokenId;
            identities[tokenId].commitment = newCommitment;
            delete pendingRecovery[tokenId];
            recovering = true;
            _update(newOwner, tokenId, address(0)); // the one move a soul-bound token makes
            recovering = false;
            emit Recovered(tokenId, old, newOwner, newCommitment);
        }
    }

    function _requireGuardian(uint256 tokenId) private view {
        if (_ownerOf(tokenId) == address(0)) revert NoSuchToken(tokenId);
        Identity storage id = identities[tokenId];
        if (id.revoked) revert TokenRevoked(tokenId);
        for (uint256 i = 0; i < id.guardians.length; i++) {
            if (id.guardians[i] == msg.sender) return;
        }
        revert NotGuardian(msg.sender);
    }

    // ------------------------------------------------------------------ revocation

    /// @notice Revoke an identity (final): by its minting issuer or by governance.
    function revoke(uint256 tokenId) external {
        _requireOwned(tokenId);
        Identity storage id = identities[tokenId];
        if (msg.sender != id.issuer && msg.sender != issuers.owner()) revert NotAllowed(msg.sender);
        id.revoked = true;
        emit Revoked(tokenId, msg.sender);
    }

    // ------------------------------------------------------------------ soul-bound

    /// Transfers and approvals always revert; minting and guardian recovery are the only
    /// ownership changes (recovery sets `recovering` around its own `_update`).
    function _update(address to, uint256 tokenId, address auth) internal override returns (address) {
        address from = _ownerOf(tokenId);
        if (from != address(0) && !recovering) revert Soulbound();
        return super._update(to, tokenId, auth);
    }

    function approve(address, uint256) public pure override {
        revert Soulbound();
    }

    function setApprovalForAll(address, bool) public pure override {
        revert Soulbound();
    }
}
