// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {IssuerRegistry} from "./IssuerRegistry.sol";
import {PoseidonT3Lib} from "./PoseidonT3.sol";

/// @notice EIP-5192: minimal soulbound NFTs.
interface IERC5192 {
    event Locked(uint256 tokenId);
    event Unlocked(uint256 tokenId);

    function locked(uint256 tokenId) external view returns (bool);
}

/// @title ZkmedIdentity
/// @notice One soul-bound (EIP-5192, always locked) ERC-721 token per patient, holding the
/// patient's identity commitment `H(identity secret)`. Minted by an accredited issuer; never
/// transferable or approvable. A commitment belongs to one token, ever: recovery retires the
/// old one, and no token is ever minted or recovered to a commitment another token holds or
/// held. The patient (the token's owner) decides which accredited issuers may anchor record
/// commitments for the token (the minting issuer may, until the patient withdraws it). A lost
/// key is recovered by M of the N guardians the patient chose at minting: proposals are
/// independent (a guardian cannot reset or replace another's), expire after
/// `RECOVERY_PERIOD`, and the owner can cancel them; the M-th approval executes after
/// re-checking that the token is active and the new owner and commitment are unused.
/// Revocation (by the minting issuer while accredited, or by governance) is final.
///
/// Identity tree (docs/state.md §1): every token's identity commitment is a leaf of a binary
/// depth-20 Poseidon Merkle tree (circomlib layout, empty leaf 0), at index `tokenId - 1`.
/// `mint` inserts it incrementally (the filled left subtrees are cached); recovery replaces
/// the leaf with the new commitment and revocation empties it, both taking the leaf's 20
/// siblings in calldata, checked against the current root. `IdentityLeaf(index, leaf)` is
/// emitted on every change, so anyone can rebuild the tree and every path. Every root keeps
/// the time it was superseded: `isIdentityRootAccepted(root, window)`.
contract ZkmedIdentity is ERC721, IERC5192 {
    struct Identity {
        uint256 commitment;
        address issuer;
        bool revoked;
        uint8 threshold;
        /// Bumped by every executed or cancelled recovery: proposals of an earlier epoch are void.
        uint64 recoveryEpoch;
        /// The patient withdrew the minting issuer's authorisation to anchor.
        bool issuerDeauthorised;
        address[] guardians;
    }

    struct Recovery {
        address newOwner;
        uint64 expires;
        uint8 approvals;
        uint256 newCommitment;
    }

    /// How long a recovery proposal stays open for approvals.
    uint64 public constant RECOVERY_PERIOD = 7 days;
    /// `_tokenOfCommitment` value of a commitment retired by recovery: never reusable.
    uint256 private constant RETIRED = type(uint256).max;
    /// The BN254 scalar field modulus: commitments are field elements (tree leaves).
    uint256 private constant R = 0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001;

    /// Depth of the identity tree (2^20 identities).
    uint256 public constant IDENTITY_DEPTH = 20;

    IssuerRegistry public immutable issuers;
    /// The deployed `PoseidonT3` (circomlib Poseidon, two inputs).
    address public immutable poseidon;
    uint256 public totalMinted;
    /// The identity tree's root.
    uint256 private _identityRoot;
    /// `filled[level]`: where bit `level` of the next index is 1, the (complete) left sibling
    /// at `level` of the next insertion's path; elsewhere stale and never read.
    uint256[20] private filled;
    /// root => when it stopped being the identity root (0: current, or never a root).
    mapping(uint256 => uint64) private rootSupersededAt;
    mapping(uint256 => Identity) private identities;
    mapping(address => uint256) public tokenOf;
    /// identity commitment => token (RETIRED once replaced by recovery).
    mapping(uint256 => uint256) private _tokenOfCommitment;
    /// recoveryId => proposal
    mapping(bytes32 => Recovery) public recoveries;
    /// keccak256(recoveryId, expires, guardian) => approved
    mapping(bytes32 => bool) private approvedBy;
    /// tokenId => issuer => may anchor (issuers other than the minting one)
    mapping(uint256 => mapping(address => bool)) private authorised;
    /// Set only while a completed recovery re-binds a token.
    bool private recovering;

    event Minted(uint256 indexed tokenId, address indexed patient, uint256 commitment, address indexed issuer);
    event RecoveryProposed(
        uint256 indexed tokenId,
        address indexed guardian,
        bytes32 indexed id,
        address newOwner,
        uint256 newCommitment,
        uint64 expires
    );
    event RecoveryApproved(uint256 indexed tokenId, address indexed guardian, bytes32 indexed id, uint8 approvals);
    event RecoveryCancelled(uint256 indexed tokenId, address indexed by);
    event Recovered(uint256 indexed tokenId, address indexed oldOwner, address indexed newOwner, uint256 newCommitment);
    event Revoked(uint256 indexed tokenId, address by);
    event IssuerAuthorised(uint256 indexed tokenId, address indexed issuer, bool authorised);
    /// The identity tree's leaf at `index` is now `leaf` (mint, recovery, revocation).
    event IdentityLeaf(uint256 indexed index, uint256 leaf);

    error Soulbound();
    error NotAccreditedIssuer(address who);
    error AlreadyHasIdentity(address patient);
    error BadGuardians();
    error NotGuardian(address who);
    error NoSuchToken(uint256 tokenId);
    error TokenRevoked(uint256 tokenId);
    error NotAllowed(address who);
    error RecoveryMismatch();
    error NoSuchRecovery(bytes32 id);
    error RecoveryExpired(bytes32 id, uint64 expired);
    error AlreadyApproved(address guardian);
    error BadCommitment();
    error IdentityTreeFull();
    /// The siblings given for a leaf update do not open the current identity root.
    error StaleIdentityPath(uint256 root);

    constructor(IssuerRegistry issuerRegistry, address poseidonT3) ERC721("zkmed identity", "ZKMID") {
        issuers = issuerRegistry;
        poseidon = poseidonT3;
        _identityRoot = PoseidonT3Lib.zero(IDENTITY_DEPTH);
    }

    // ------------------------------------------------------------------ minting

    /// @notice Mint `patient`'s identity token. `guardians` (distinct, not the patient) and
    /// `threshold` (1..N) govern recovery; no guardians = no recovery. The minting issuer
    /// may anchor for the token until the patient withdraws it (`setIssuerAuthorised`).
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
        identities[tokenId] = Identity(commitment, msg.sender, false, threshold, 0, false, guardians);
        tokenOf[patient] = tokenId;
        if (commitment == 0 || commitment >= R || _tokenOfCommitment[commitment] != 0) revert BadCommitment();
        _tokenOfCommitment[commitment] = tokenId;
        _insertLeaf(tokenId - 1, commitment);
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

    /// @notice The token holding `commitment` (0 if none, or retired by recovery): how an
    /// off-chain verifier holding only an attestation finds the token. A revoked token
    /// keeps its commitment (check `identityCommitment`).
    function tokenOfCommitment(uint256 commitment) external view returns (uint256) {
        uint256 t = _tokenOfCommitment[commitment];
        return t == RETIRED ? 0 : t;
    }

    /// @notice Whether `commitment` is or was held by a token (then it can never be minted
    /// or recovered to again).
    function commitmentUsed(uint256 commitment) external view returns (bool) {
        return _tokenOfCommitment[commitment] != 0;
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

    // ------------------------------------------------------------------ issuer authorisation

    /// @notice The patient (the token's owner) allows or forbids `issuer` to anchor record
    /// commitments for the token. The minting issuer is allowed until forbidden.
    function setIssuerAuthorised(uint256 tokenId, address issuer, bool allowed) external {
        if (msg.sender != _requireOwned(tokenId)) revert NotAllowed(msg.sender);
        Identity storage id = identities[tokenId];
        if (issuer == id.issuer) id.issuerDeauthorised = !allowed;
        else authorised[tokenId][issuer] = allowed;
        emit IssuerAuthorised(tokenId, issuer, allowed);
    }

    /// @notice Whether the patient lets `issuer` anchor for `tokenId` (accreditation is
    /// checked separately, by the record registry).
    function isAuthorised(uint256 tokenId, address issuer) public view returns (bool) {
        Identity storage id = identities[tokenId];
        return issuer == id.issuer ? !id.issuerDeauthorised : authorised[tokenId][issuer];
    }

    /// @notice What the record registry checks before `issuer` anchors for `tokenId`.
    function anchorable(uint256 tokenId, address issuer) external view returns (bool active, bool allowed) {
        return (isActive(tokenId), isAuthorised(tokenId, issuer));
    }

    // ------------------------------------------------------------------ recovery

    /// @notice The id of the proposal to re-bind `tokenId` to `newOwner` and `newCommitment`
    /// in the token's current recovery epoch.
    function recoveryId(uint256 tokenId, address newOwner, uint256 newCommitment) public view returns (bytes32) {
        return keccak256(abi.encode(tokenId, identities[tokenId].recoveryEpoch, newOwner, newCommitment));
    }

    /// @notice A guardian proposes re-binding the token to `newOwner` with `newCommitment`,
    /// and approves it. The proposal is open for `RECOVERY_PERIOD`; proposing it again
    /// after it expired restarts it with no approvals. Other proposals are unaffected.
    /// `siblings`: the token's identity-tree path (`identityIndex`), used only if this
    /// approval executes the recovery (threshold 1).
    function proposeRecovery(
        uint256 tokenId,
        address newOwner,
        uint256 newCommitment,
        uint256[20] calldata siblings
    ) external returns (bytes32 id) {
        _requireGuardian(tokenId);
        _requireUnused(newOwner, newCommitment);
        id = recoveryId(tokenId, newOwner, newCommitment);
        Recovery storage r = recoveries[id];
        if (r.expires <= block.timestamp) {
            uint64 expires = uint64(block.timestamp) + RECOVERY_PERIOD;
            recoveries[id] = Recovery(newOwner, expires, 0, newCommitment);
            emit RecoveryProposed(tokenId, msg.sender, id, newOwner, newCommitment, expires);
        }
        _approve(tokenId, id, r, siblings);
    }

    /// @notice A guardian approves an open proposal (naming it). At `threshold` approvals it
    /// executes: then `siblings` (the token's identity-tree path) must open the current
    /// identity root (`StaleIdentityPath`), since the leaf is replaced.
    function approveRecovery(
        uint256 tokenId,
        address newOwner,
        uint256 newCommitment,
        uint256[20] calldata siblings
    ) external {
        _requireGuardian(tokenId);
        bytes32 id = recoveryId(tokenId, newOwner, newCommitment);
        Recovery storage r = recoveries[id];
        if (r.newOwner == address(0)) revert NoSuchRecovery(id);
        if (r.expires <= block.timestamp) revert RecoveryExpired(id, r.expires);
        _approve(tokenId, id, r, siblings);
    }

    /// @notice The owner (who still holds the token's key) voids every open proposal.
    function cancelRecovery(uint256 tokenId) external {
        if (msg.sender != _requireOwned(tokenId)) revert NotAllowed(msg.sender);
        identities[tokenId].recoveryEpoch += 1;
        emit RecoveryCancelled(tokenId, msg.sender);
    }

    function _approve(uint256 tokenId, bytes32 id, Recovery storage r, uint256[20] calldata siblings) private {
        bytes32 key = keccak256(abi.encode(id, r.expires, msg.sender));
        if (approvedBy[key]) revert AlreadyApproved(msg.sender);
        approvedBy[key] = true;
        uint8 approvals = r.approvals + 1;
        r.approvals = approvals;
        emit RecoveryApproved(tokenId, msg.sender, id, approvals);
        if (approvals >= identities[tokenId].threshold) {
            _recover(tokenId, id, r.newOwner, r.newCommitment, siblings);
        }
    }

    /// Executes a recovery: re-checks (the token is active: `_requireGuardian`) that the new
    /// owner has no token and the new commitment was never held, since either may have been
    /// minted after the proposal.
    function _recover(
        uint256 tokenId,
        bytes32 id,
        address newOwner,
        uint256 newCommitment,
        uint256[20] calldata siblings
    ) private {
        _requireUnused(newOwner, newCommitment);
        Identity storage ident = identities[tokenId];
        _updateLeaf(tokenId - 1, ident.commitment, newCommitment, siblings);
        address old = _ownerOf(tokenId);
        delete tokenOf[old];
        tokenOf[newOwner] = tokenId;
        _tokenOfCommitment[ident.commitment] = RETIRED;
        _tokenOfCommitment[newCommitment] = tokenId;
        ident.commitment = newCommitment;
        ident.recoveryEpoch += 1; // every other open proposal is void
        delete recoveries[id];
        recovering = true;
        _update(newOwner, tokenId, address(0)); // the one move a soul-bound token makes
        recovering = false;
        emit Recovered(tokenId, old, newOwner, newCommitment);
    }

    function _requireUnused(address newOwner, uint256 newCommitment) private view {
        if (newOwner == address(0)) revert RecoveryMismatch();
        if (tokenOf[newOwner] != 0) revert AlreadyHasIdentity(newOwner);
        if (newCommitment == 0 || newCommitment >= R || _tokenOfCommitment[newCommitment] != 0) {
            revert BadCommitment();
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

    /// @notice Revoke an identity (final): by its minting issuer while it is accredited, or
    /// by governance. Empties the token's identity-tree leaf: `siblings` is its path
    /// (`identityIndex`), checked against the current root (`StaleIdentityPath`).
    function revoke(uint256 tokenId, uint256[20] calldata siblings) external {
        _requireOwned(tokenId);
        Identity storage id = identities[tokenId];
        bool byIssuer = msg.sender == id.issuer;
        if (!(byIssuer && issuers.isAccredited(msg.sender)) && msg.sender != issuers.owner()) {
            if (byIssuer) revert NotAccreditedIssuer(msg.sender);
            revert NotAllowed(msg.sender);
        }
        if (id.revoked) revert TokenRevoked(tokenId);
        id.revoked = true;
        _updateLeaf(tokenId - 1, id.commitment, 0, siblings);
        emit Revoked(tokenId, msg.sender);
    }

    // ------------------------------------------------------------------ identity tree

    /// @notice The identity tree's current root.
    function identityRoot() external view returns (uint256) {
        return _identityRoot;
    }

    /// @notice The identity tree's leaf index of `tokenId` (`tokenId - 1`).
    function identityIndex(uint256 tokenId) external view returns (uint256) {
        _requireOwned(tokenId);
        return tokenId - 1;
    }

    /// @notice When `root` stopped being the identity root (0: it is current, or never was).
    function identityRootSupersededAt(uint256 root) external view returns (uint64) {
        return rootSupersededAt[root];
    }

    /// @notice Whether `root` is the current identity root, or was superseded at most
    /// `window` seconds ago. `window = 0`: the current root only.
    function isIdentityRootAccepted(uint256 root, uint64 window) external view returns (bool) {
        if (root == _identityRoot) return true;
        uint64 at = rootSupersededAt[root];
        return window != 0 && at != 0 && block.timestamp - at <= window;
    }

    function _setIdentityRoot(uint256 root) private {
        uint256 old = _identityRoot;
        if (root == old) return;
        rootSupersededAt[old] = uint64(block.timestamp);
        delete rootSupersededAt[root]; // a root can recur (e.g. every leaf emptied again)
        _identityRoot = root;
    }

    /// Appends `leaf` at `index` (= the number of leaves so far): 20 hashes. One cached
    /// subtree is written: at the lowest level where the path is a left child, the node there
    /// is complete exactly when every lower level is a right child (the leaf completes it),
    /// and later insertions read it as their left sibling until it is replaced by the next
    /// completed node at that level. Incomplete left nodes are never cached (each insertion
    /// recomputes them from the leaf up), so an insertion writes one slot, not one per level.
    function _insertLeaf(uint256 index, uint256 leaf) private {
        if (index >> IDENTITY_DEPTH != 0) revert IdentityTreeFull();
        address p = poseidon;
        uint256 node = leaf;
        uint256 idx = index;
        bool cached = false;
        for (uint256 level = 0; level < IDENTITY_DEPTH; level++) {
            if (idx & 1 == 0) {
                if (!cached) {
                    filled[level] = node;
                    cached = true;
                }
                node = PoseidonT3Lib.hash(p, node, PoseidonT3Lib.zero(level));
            } else {
                node = PoseidonT3Lib.hash(p, filled[level], node);
            }
            idx >>= 1;
        }
        _setIdentityRoot(node);
        emit IdentityLeaf(index, leaf);
    }

    /// Replaces the leaf at `index` (< the number of leaves) `oldLeaf` by `newLeaf`: the
    /// siblings must open the current root with `oldLeaf`. The cached filled subtree at a
    /// level is updated where the changed node is the one the next insertion reads (the left
    /// sibling of the next index's node at a level where that node is a right child).
    function _updateLeaf(uint256 index, uint256 oldLeaf, uint256 newLeaf, uint256[20] calldata siblings) private {
        address p = poseidon;
        uint256 next = totalMinted;
        uint256 oldNode = oldLeaf;
        uint256 newNode = newLeaf;
        for (uint256 level = 0; level < IDENTITY_DEPTH; level++) {
            uint256 pos = index >> level;
            uint256 q = next >> level;
            if (q & 1 == 1 && pos == q - 1) filled[level] = newNode;
            uint256 sib = siblings[level];
            if (pos & 1 == 0) {
                oldNode = PoseidonT3Lib.hash(p, oldNode, sib);
                newNode = PoseidonT3Lib.hash(p, newNode, sib);
            } else {
                oldNode = PoseidonT3Lib.hash(p, sib, oldNode);
                newNode = PoseidonT3Lib.hash(p, sib, newNode);
            }
        }
        if (oldNode != _identityRoot) revert StaleIdentityPath(_identityRoot);
        _setIdentityRoot(newNode);
        emit IdentityLeaf(index, newLeaf);
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
