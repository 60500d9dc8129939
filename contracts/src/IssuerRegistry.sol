// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Ownable2Step, Ownable} from "@openzeppelin/contracts/access/Ownable2Step.sol";

/// @notice What the issuer registry tells the state registry (`StateRegistry`), in the same
/// transaction as the change.
interface IIssuerHooks {
    function issuerAccredited(address issuer) external;
    function issuerSuspended(address issuer) external;
}

/// @title IssuerRegistry
/// @notice Who may mint identities and anchor record commitments: accredited issuers
/// (hospitals, labs, identity providers). Governed by `owner()`; to govern by committee,
/// transfer ownership to a multisig (e.g. a Safe): every accredit/suspend then needs its
/// M-of-N signatures. Ownership moves in two steps (transfer, then accept). Once wired to the
/// `StateRegistry` (`setStateRegistry`, once), every accreditation gives the issuer a slot in
/// the issuers tree (or restores its latest root on reinstatement) and every suspension
/// empties its leaf, in the same transaction.
contract IssuerRegistry is Ownable2Step {
    enum Status {
        None,
        Accredited,
        Suspended
    }

    struct Issuer {
        Status status;
        uint64 since;
        string name;
    }

    mapping(address => Issuer) private issuers;
    /// The state registry told of accreditations and suspensions (zero until wired).
    IIssuerHooks public stateRegistry;

    event Accredited(address indexed issuer, string name);
    event Suspended(address indexed issuer, string reason);

    error ZeroAddress();
    error NotAccredited(address issuer);
    error AlreadyWired();

    constructor(address governance) Ownable(governance) {}

    /// @notice Accredit (or reinstate) an issuer.
    function accredit(address issuer, string calldata name) external onlyOwner {
        if (issuer == address(0)) revert ZeroAddress();
        issuers[issuer] = Issuer(Status.Accredited, uint64(block.timestamp), name);
        emit Accredited(issuer, name);
        if (address(stateRegistry) != address(0)) stateRegistry.issuerAccredited(issuer);
    }

    /// @notice Wires the state registry (once; governance).
    function setStateRegistry(IIssuerHooks registry) external onlyOwner {
        if (address(stateRegistry) != address(0)) revert AlreadyWired();
        if (address(registry) == address(0)) revert ZeroAddress();
        stateRegistry = registry;
    }

    /// @notice Suspend an issuer: it can no longer mint or anchor, and verifiers reject the
    /// roots it anchored while it stays suspended.
    function suspend(address issuer, string calldata reason) external onlyOwner {
        Issuer storage i = issuers[issuer];
        if (i.status != Status.Accredited) revert NotAccredited(issuer);
        i.status = Status.Suspended;
        i.since = uint64(block.timestamp);
        emit Suspended(issuer, reason);
        if (address(stateRegistry) != address(0)) stateRegistry.issuerSuspended(issuer);
    }

    function isAccredited(address issuer) external view returns (bool) {
        return issuers[issuer].status == Status.Accredited;
    }

    function issuerInfo(address who) external view returns (Issuer memory) {
        return issuers[who];
    }
}
