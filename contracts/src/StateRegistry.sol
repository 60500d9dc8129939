// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IssuerRegistry, IIssuerHooks} from "./IssuerRegistry.sol";
import {PoseidonT3Lib} from "./PoseidonT3.sol";

/// @title StateRegistry
/// @notice The anchored record state (docs/state.md, "Global state root", "Spent-state set").
/// Each accredited issuer has a slot in a binary depth-10 Poseidon tree (1,024 slots) whose
/// leaf is the issuer's current note root (0 while it is suspended). An issuer anchors a
/// batch of patient updates in one call: its new note root and note count, the spent set's
/// new root and the batch's nullifiers (published in calldata, 32 bytes each, in insertion
/// order, so anyone can rebuild the spent set). The global root is
/// `G = H(issuersRoot, spentRoot)`. Nothing is written or emitted per patient update: one
/// path of the issuers tree, the roots, the root histories and one `Batch` event per call.
/// A global root is accepted while current, or within a window after it was superseded,
/// provided it was created after the last issuer suspension (`isStateRootAccepted`).
contract StateRegistry is IIssuerHooks {
    struct RootTimes {
        uint64 createdAt;
        /// 0 while current (or never a root).
        uint64 supersededAt;
        /// The suspension epoch it was created in (or current at): roots of an older epoch
        /// are refused once superseded.
        uint64 epoch;
    }

    uint256 public constant ISSUERS_DEPTH = 10;
    uint256 public constant MAX_ISSUERS = 1 << ISSUERS_DEPTH;
    /// An issuer's note tree holds 4^10 notes.
    uint256 public constant NOTE_CAPACITY = 1 << 20;
    uint256 private constant R = 0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001;

    IssuerRegistry public immutable issuers;
    /// The deployed `PoseidonT3`.
    address public immutable poseidon;

    uint256 public spentRoot;
    uint256 public issuersRoot;
    uint256 public globalRoot;
    /// Bumped by every suspension.
    uint64 public suspensionEpoch;
    /// When the last suspension happened (0: never).
    uint64 public lastSuspension;
    uint32 public slotCount;

    /// issuer => slot + 1 (0: no slot).
    mapping(address => uint32) private slotPlusOne;
    /// slot => issuer.
    mapping(uint32 => address) public issuerAt;
    /// slot => the issuer's latest anchored note root (kept while suspended).
    mapping(uint32 => uint256) public latestRoot;
    /// slot => note root => when it was anchored (per-issuer root history).
    mapping(uint32 => mapping(uint256 => uint64)) public issuerRootAnchoredAt;
    /// (level << 32 | index) => node of the issuers tree below the root (0: empty, Z_level).
    mapping(uint256 => uint256) private nodes;
    /// global root => its times.
    mapping(uint256 => RootTimes) private globalRoots;

    event IssuerSlot(address indexed issuer, uint32 slot);
    /// An issuer's leaf changed without a batch (suspension: 0; reinstatement: its latest root).
    event IssuerLeaf(uint32 indexed slot, uint256 leaf, uint256 globalRoot);
    /// One anchored batch. The nullifiers are in the transaction's calldata; their hash here.
    event Batch(
        uint32 indexed slot,
        uint256 noteRoot,
        uint32 noteCount,
        uint256 newSpentRoot,
        bytes32 nullifiersHash,
        uint256 globalRoot
    );

    error NotAccreditedIssuer(address who);
    error NotIssuerRegistry(address who);
    error NoIssuerSlot(address issuer);
    error NoFreeSlot();
    error StaleSpentRoot(uint256 current, uint256 given);
    error NonCanonical(uint256 value);
    error BadNullifiers(uint256 index);
    error BadNoteCount(uint32 noteCount);

    constructor(IssuerRegistry issuerRegistry, address poseidonT3) {
        issuers = issuerRegistry;
        poseidon = poseidonT3;
        spentRoot = PoseidonT3Lib.EMPTY_SPENT_ROOT;
        issuersRoot = PoseidonT3Lib.zero(ISSUERS_DEPTH);
        _refreshGlobal();
    }

    // ------------------------------------------------------------------ anchoring

    /// @notice Anchor a batch: the caller's (an accredited issuer's) new note root and note
    /// count, and the spent set moved from `prevSpentRoot` (must be `spentRoot()`) to
    /// `newSpentRoot` by inserting `nullifiers` (32 bytes each, big-endian, non-zero field
    /// elements, insertion order). The spent root is not recomputed on chain: the nullifiers
    /// are public, so anyone replays them (`zkmed_state::IndexedTree`) and checks it.
    function anchorBatch(
        bytes32 noteRoot,
        uint32 noteCount,
        bytes32 prevSpentRoot,
        bytes32 newSpentRoot,
        bytes calldata nullifiers
    ) external {
        if (!issuers.isAccredited(msg.sender)) revert NotAccreditedIssuer(msg.sender);
        uint32 s1 = slotPlusOne[msg.sender];
        if (s1 == 0) revert NoIssuerSlot(msg.sender);
        uint256 current = spentRoot;
        if (uint256(prevSpentRoot) != current) revert StaleSpentRoot(current, uint256(prevSpentRoot));
        if (uint256(noteRoot) >= R) revert NonCanonical(uint256(noteRoot));
        if (uint256(newSpentRoot) >= R) revert NonCanonical(uint256(newSpentRoot));
        if (noteCount > NOTE_CAPACITY) revert BadNoteCount(noteCount);
        if (nullifiers.length % 32 != 0) revert BadNullifiers(nullifiers.length / 32);
        bytes4 bad = BadNullifiers.selector;
        assembly {
            let end := add(nullifiers.offset, nullifiers.length)
            for { let p := nullifiers.offset } lt(p, end) { p := add(p, 32) } {
                let x := calldataload(p)
                if or(iszero(x), iszero(lt(x, R))) {
                    mstore(0, bad)
                    mstore(4, div(sub(p, nullifiers.offset), 32))
                    revert(0, 36)
                }
            }
        }
        uint32 slot = s1 - 1;
        latestRoot[slot] = uint256(noteRoot);
        issuerRootAnchoredAt[slot][uint256(noteRoot)] = uint64(block.timestamp);
        spentRoot = uint256(newSpentRoot);
        _setIssuerLeaf(slot, uint256(noteRoot));
        uint256 g = _refreshGlobal();
        emit Batch(slot, uint256(noteRoot), noteCount, uint256(newSpentRoot), keccak256(nullifiers), g);
    }

    // ------------------------------------------------------------------ issuer hooks

    modifier onlyIssuerRegistry() {
        if (msg.sender != address(issuers)) revert NotIssuerRegistry(msg.sender);
        _;
    }

    /// @notice (IssuerRegistry) `issuer` was accredited or reinstated: a slot for a new
    /// issuer; a reinstated one's leaf is its latest anchored root again.
    function issuerAccredited(address issuer) external onlyIssuerRegistry {
        uint32 s1 = slotPlusOne[issuer];
        if (s1 == 0) {
            uint32 n = slotCount;
            if (n >= MAX_ISSUERS) revert NoFreeSlot();
            slotCount = n + 1;
            slotPlusOne[issuer] = n + 1;
            issuerAt[n] = issuer;
            emit IssuerSlot(issuer, n);
            return;
        }
        uint32 slot = s1 - 1;
        uint256 latest = latestRoot[slot];
        if (latest != 0 && nodes[slot] != latest) {
            _setIssuerLeaf(slot, latest);
            emit IssuerLeaf(slot, latest, _refreshGlobal());
        }
    }

    /// @notice (IssuerRegistry) `issuer` was suspended: its leaf is emptied now, and every
    /// global root created before this moment is refused once superseded (a new epoch).
    function issuerSuspended(address issuer) external onlyIssuerRegistry {
        uint32 s1 = slotPlusOne[issuer];
        lastSuspension = uint64(block.timestamp);
        uint64 epoch = suspensionEpoch + 1;
        suspensionEpoch = epoch;
        uint256 g = globalRoot;
        if (s1 != 0 && nodes[s1 - 1] != 0) {
            _setIssuerLeaf(s1 - 1, 0);
            g = _refreshGlobal();
            emit IssuerLeaf(s1 - 1, 0, g);
        }
        globalRoots[g].epoch = epoch; // the root current after the suspension is of the new epoch
    }

    // ------------------------------------------------------------------ reads

    /// @notice `issuer`'s slot in the issuers tree, if it has one.
    function issuerSlot(address issuer) external view returns (bool assigned, uint32 slot) {
        uint32 s1 = slotPlusOne[issuer];
        return (s1 != 0, s1 == 0 ? 0 : s1 - 1);
    }

    /// @notice The issuers tree's leaf at `slot` (the issuer's current note root, 0 while
    /// suspended or before its first batch).
    function issuerLeaf(uint32 slot) external view returns (uint256) {
        return nodes[slot];
    }

    /// @notice A global root's creation, supersession (0 while current) and epoch.
    function globalRootTimes(uint256 root) external view returns (RootTimes memory) {
        return globalRoots[root];
    }

    /// @notice Whether `root` is the current global root, or (created in the current
    /// suspension epoch, i.e. not before the last suspension, and) superseded at most
    /// `window` seconds ago. `window = 0`: the current root only.
    function isStateRootAccepted(uint256 root, uint64 window) external view returns (bool) {
        if (root == globalRoot) return true;
        RootTimes memory t = globalRoots[root];
        return window != 0 && t.supersededAt != 0 && t.epoch == suspensionEpoch
            && block.timestamp - t.supersededAt <= window;
    }

    // ------------------------------------------------------------------ internals

    /// Sets the issuers tree's leaf at `slot` and rehashes its path (10 hashes).
    function _setIssuerLeaf(uint32 slot, uint256 leaf) private {
        address p = poseidon;
        uint256 node = leaf;
        uint256 pos = slot;
        for (uint256 level = 0; level < ISSUERS_DEPTH; level++) {
            nodes[(level << 32) | pos] = node;
            uint256 sib = nodes[(level << 32) | (pos ^ 1)];
            if (sib == 0) sib = PoseidonT3Lib.zero(level);
            node = pos & 1 == 0 ? PoseidonT3Lib.hash(p, node, sib) : PoseidonT3Lib.hash(p, sib, node);
            pos >>= 1;
        }
        issuersRoot = node;
    }

    /// `G = H(issuersRoot, spentRoot)`; records the history if it changed.
    function _refreshGlobal() private returns (uint256 g) {
        g = PoseidonT3Lib.hash(poseidon, issuersRoot, spentRoot);
        uint256 old = globalRoot;
        if (g == old) return g;
        if (old != 0) globalRoots[old].supersededAt = uint64(block.timestamp);
        globalRoots[g] = RootTimes(uint64(block.timestamp), 0, suspensionEpoch);
        globalRoot = g;
    }
}
