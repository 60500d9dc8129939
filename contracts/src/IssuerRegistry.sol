// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Ownable2Step, Ownable} from "@openzeppelin/contracts/access/Ownable2Step.sol";

/// @title IssuerRegistry
/// @notice Who may mint identities and anchor record commitments: accredited issuers
/// (hospitals, labs, identity providers). Governed by `owner()`; to govern by committee,
/// transfer ownership to a multisig (e.g. a Safe): every accredit/suspend then needs its
/// M-of-N signatures. Ownership moves in two steps (transfer, then accept).
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

    event Accredited(address indexed issuer, string name);
    event Suspended(address indexed issuer, string reason);

    error ZeroAddress();
    error NotAccredited(address issuer);

    constructor(address governance) Ownable(governance) {}

    /// @notice Accredit (or reinstate) an issuer.
    function accredit(address issuer, string calldata name) external onlyOwner {
        if (issuer == address(0)) revert ZeroAddress();
        issuers[issuer] = Issuer(Status.Accredited, uint64(block.timestamp), name);
        emit Accredited(issuer, name);
    }

    /// @notice Suspend an issuer: it can no longer mint or anchor, and verifiers reject the
    /// roots it anchored while it stays suspended.
    function suspend(address issuer, string calldata reason) external onlyOwner {
        Issuer storage i = issuers[issuer];
        if (i.status != Status.Accredited) revert NotAccredited(issuer);
        i.status = Status.Suspended;
        i.since = uint64(block.timestamp);
        emit Suspended(issuer, reason);
    }

    function isAccredited(address issuer) external view returns (bool) {
        return issuers[issuer].status == Status.Accredited;
    }

    function issuerInfo(address who) external view returns (Issuer memory) {
        return issuers[who];
    }
}
