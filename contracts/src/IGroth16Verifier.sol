// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @notice A Groth16/BN254 verifier for one zkmed circuit, generated from its verifying key
/// by `zkmed export solidity`. `proof` = [A.x, A.y, B.x.c1, B.x.c0, B.y.c1, B.y.c0, C.x, C.y]
/// (EIP-197 order); `input` = the 7 public inputs in circuit order: record commitment,
/// identity commitment, query hash, challenge, scope, nullifier, answer.
interface IGroth16Verifier {
    function verifyProof(uint256[8] calldata proof, uint256[7] calldata input) external view returns (bool);
}
