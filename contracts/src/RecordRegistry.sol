// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IssuerRegistry} from "./IssuerRegistry.sol";
import {ZkmedIdentity} from "./ZkmedIdentity.sol";

/// @title RecordRegistry
/// @notice The history of each patient's record commitment. An accredited issuer that the
/// patient authorised (`ZkmedIdentity.setIssuerAuthorised`; the minting issuer is authorised
/// until the patient withdraws it) anchors a new commitment (root) for an identity token; a
/// correction is a new anchoring, and the old one stays in the history. Verifiers ask whether a root is current, or was current at some
/// moment within a window they choose (e.g. "current within the last 24 hours").
contract RecordRegistry {
    enum Kind {
        New,
        Correction
    }

    struct Anchor {
        uint256 root;
        address issuer;
        uint64 time;
        Kind kind;
    }

    IssuerRegistry public immutable issuers;
    ZkmedIdentity public immutable identities;
    mapping(uint256 => Anchor[]) private history;

    event Anchored(uint256 indexed tokenId, uint256 root, address indexed issuer, Kind kind, uint256 index);

    error NotAccreditedIssuer(address who);
    error InactiveIdentity(uint256 tokenId);
    error NotAuthorisedByPatient(uint256 tokenId, address issuer);
    error LengthMismatch();
    error ZeroRoot();

    constructor(IssuerRegistry issuerRegistry, ZkmedIdentity identityToken) {
        issuers = issuerRegistry;
        identities = identityToken;
    }

    /// @notice Anchor `root` as `tokenId`'s current record commitment (an accredited issuer
    /// the patient authorised).
    function anchor(uint256 tokenId, uint256 root, Kind kind) external {
        if (!issuers.isAccredited(msg.sender)) revert NotAccreditedIssuer(msg.sender);
        _anchor(tokenId, root, kind);
    }

    /// @notice Anchor many patients' roots in one transaction (one accreditation check; each
    /// patient's authorisation is checked).
    function anchorBatch(uint256[] calldata tokenIds, uint256[] calldata roots, Kind kind) external {
        if (!issuers.isAccredited(msg.sender)) revert NotAccreditedIssuer(msg.sender);
        if (tokenIds.length != roots.length) revert LengthMismatch();
        for (uint256 i = 0; i < tokenIds.length; i++) {
            _anchor(tokenIds[i], roots[i], kind);
        }
    }

    function _anchor(uint256 tokenId, uint256 root, Kind kind) private {
        if (root == 0) revert ZeroRoot();
        (bool active, bool allowed) = identities.anchorable(tokenId, msg.sender);
        if (!active) revert InactiveIdentity(tokenId);
        if (!allowed) revert NotAuthorisedByPatient(tokenId, msg.sender);
        Anchor[] storage h = history[tokenId];
        h.push(Anchor(root, msg.sender, uint64(block.timestamp), kind));
        emit Anchored(tokenId, root, msg.sender, kind, h.length - 1);
    }

    /// @notice The current anchoring (root 0 if none).
    function current(uint256 tokenId) public view returns (Anchor memory a) {
        Anchor[] storage h = history[tokenId];
        if (h.length > 0) a = h[h.length - 1];
    }

    function currentRoot(uint256 tokenId) external view returns (uint256) {
        return current(tokenId).root;
    }

    function isCurrent(uint256 tokenId, uint256 root) external view returns (bool) {
        return root != 0 && current(tokenId).root == root;
    }

    /// @notice Whether `root` was `tokenId`'s current root at some moment in the last
    /// `window` seconds (window 0 = now). Returns the issuer that anchored it (0 if not).
    function wasCurrentWithin(uint256 tokenId, uint256 root, uint64 window) public view returns (bool, address) {
        Anchor[] storage h = history[tokenId];
        uint256 since = block.timestamp > window ? block.timestamp - window : 0;
        uint256 end = type(uint256).max; // the newest entry is current from its time on
        for (uint256 i = h.length; i > 0; i--) {
            Anchor storage a = h[i - 1];
            // entry i-1 was current during [a.time, end): superseded at `end`. With window 0
            // (since = now) only the newest entry qualifies, even if it was anchored this
            // very second.
            if (end <= since) break;
            if (a.root == root && root != 0) return (true, a.issuer);
            end = a.time;
        }
        return (false, address(0));
    }

    function historyLength(uint256 tokenId) external view returns (uint256) {
        return history[tokenId].length;
    }

    function historyAt(uint256 tokenId, uint256 index) external view returns (Anchor memory) {
        return history[tokenId][index];
    }
}
