// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @notice A Groth16/BN254 verifier for one zkmed circuit, generated from its verifying key
/// by `zkmed export solidity`. `proof` = [A.x, A.y, B.x.c1, B.x.c0, B.y.c1, B.y.c0, C.x, C.y]
/// (EIP-197 order); `input` = the 7 public inputs in circuit order: record commitment,
/// identity commitment, query hash, challenge, scope, nullifier, answer.
interface IGroth16Verifier {
    function verifyProof(uint256[8] calldata proof, uint256[7] calldata input) external view returns (bool);

    /// @notice `verifyProof` with `term` in place of IC0 + the terms of the inputs passed as 0.
    /// Unchecked: only meaningful for a `term` computed by `inputTerm`.
    function verifyProofWithTermUnchecked(uint256[8] calldata proof, uint256[2] calldata term, uint256[7] calldata input)
        external
        view
        returns (bool);

    /// @notice `Σ input_i·IC_(i+1)` (+ IC0 if `withConstant`); reverts on a non-canonical input.
    function inputTerm(uint256[7] calldata input, bool withConstant) external view returns (uint256[2] memory);
}
