//! A Groth16 verifier contract for the EVM, generated from a verifying key
//! (`zkmed export solidity`), and an attestation's proof as the contract's calldata.
//!
//! The contract implements `IGroth16Verifier.verifyProof(uint256[8] proof, uint256[6] input)`
//! with the EIP-196/197 precompiles (0x06 add, 0x07 mul, 0x08 pairing):
//!
//! * every input must be `< r` (no aliases), the answer input `0` or `1`;
//! * `vk_x = IC0 + Σ input_i·IC_{i+1}`: one `ecMul` per input, except the boolean answer,
//!   which is a conditional `ecAdd` (saves 6,000 gas), and inputs equal to 0 (skipped);
//! * `e(-A, B)·e(α, β)·e(vk_x, γ)·e(C, δ) = 1` in one pairing call;
//! * returns `false` on a failed check; the registry-aware `AttestationVerifier` turns that
//!   into a revert;
//! * `inputTerm(input, withConstant)` computes the part of `vk_x` that some inputs
//!   contribute (what the prepared checks store); nothing public verifies with a term the
//!   caller supplies unchecked (`checkPrepared` compares it with the stored hash first);
//! * prepared checks, inherited from `contracts/src/PreparedChecks.sol` (written once for
//!   every circuit; this file generates the key, `_msm` and `_pairing` it calls):
//!   `registerRequest` (anyone, for itself: a request answers only its registrant's
//!   `checkPrepared`) stores the hash of a question's term,
//!   `storeSnapshot` (only the `controller` given to the constructor, the
//!   `AttestationVerifier`, after its registry checks) the hash of a token's term and the
//!   time, and `checkPrepared(tokenId, a, window)` verifies an attestation against both with
//!   a single scalar multiplication and reverts with the reason on any failure (see
//!   `docs/chain.md`).
//!
//! `proof` is `[A.x, A.y, B.x.c1, B.x.c0, B.y.c1, B.y.c0, C.x, C.y]`: EIP-197 puts the
//! imaginary part of an `Fq2` coordinate first.

use crate::error::VerifyError;
use crate::verify::decode_proof;
use ark_bn254::{Bn254, Fq, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::PrimeField;
use ark_groth16::VerifyingKey;
use zkmed_core::attestation::{Attestation, NUM_PUBLIC_INPUTS};

fn dec(x: &Fq) -> String {
    x.into_bigint().to_string()
}

fn g1(p: &G1Affine) -> [String; 2] {
    match p.xy() {
        Some((x, y)) => [dec(&x), dec(&y)],
        None => ["0".into(), "0".into()],
    }
}

/// EIP-197 order: `[x.c1, x.c0, y.c1, y.c0]`.
fn g2(p: &G2Affine) -> [String; 4] {
    match p.xy() {
        Some((x, y)) => [dec(&x.c1), dec(&x.c0), dec(&y.c1), dec(&y.c0)],
        None => ["0".into(), "0".into(), "0".into(), "0".into()],
    }
}

/// The proof of `att` as the verifier contract's `uint256[8] proof` (decimal strings), and
/// its six public inputs as `uint256[6] input`.
pub fn evm_calldata(
    att: &Attestation,
) -> Result<([String; 8], [String; NUM_PUBLIC_INPUTS]), VerifyError> {
    let p = decode_proof(&att.proof_bytes()?)?;
    let [ax, ay] = g1(&p.a);
    let [b0, b1, b2, b3] = g2(&p.b);
    let [cx, cy] = g1(&p.c);
    let inputs = att
        .public
        .to_field_elements()
        .map(|x| x.into_bigint().to_string());
    Ok(([ax, ay, b0, b1, b2, b3, cx, cy], inputs))
}

/// Solidity source of a verifier contract named `contract_name` for `vk` (which must have
/// exactly six public inputs; the last one, the answer, is boolean).
pub fn export_solidity(
    vk: &VerifyingKey<Bn254>,
    contract_name: &str,
    circuit: &str,
    key_hash: &str,
) -> Result<String, VerifyError> {
    if vk.gamma_abc_g1.len() != NUM_PUBLIC_INPUTS + 1 {
        return Err(VerifyError::InvalidKey {
            id: circuit.into(),
            reason: format!(
                "key has {} public inputs, zkmed circuits have exactly {NUM_PUBLIC_INPUTS}",
                vk.gamma_abc_g1.len().saturating_sub(1)
            ),
        });
    }
    if !contract_name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_')
        || !contract_name.starts_with(|c: char| c.is_ascii_alphabetic())
    {
        return Err(VerifyError::InvalidKey {
            id: circuit.into(),
            reason: format!("{contract_name:?} is not a Solidity identifier"),
        });
    }
    let mut consts = String::new();
    let mut c = |name: &str, v: &str| consts += &format!("    uint256 constant {name} = {v};\n");
    let [ax, ay] = g1(&vk.alpha_g1);
    c("ALPHA_X", &ax);
    c("ALPHA_Y", &ay);
    for (n, p) in [
        ("BETA", &vk.beta_g2),
        ("GAMMA", &vk.gamma_g2),
        ("DELTA", &vk.delta_g2),
    ] {
        let [x1, x0, y1, y0] = g2(p);
        c(&format!("{n}_X1"), &x1);
        c(&format!("{n}_X0"), &x0);
        c(&format!("{n}_Y1"), &y1);
        c(&format!("{n}_Y0"), &y0);
    }
    for (i, p) in vk.gamma_abc_g1.iter().enumerate() {
        let [x, y] = g1(p);
        c(&format!("IC{i}_X"), &x);
        c(&format!("IC{i}_Y"), &y);
    }
    // vk_x accumulation: the scalar inputs by ecMul + ecAdd, the last (answer, boolean) by a
    // conditional ecAdd.
    let mut acc = String::new();
    for i in 0..NUM_PUBLIC_INPUTS - 1 {
        acc += &format!(
            "                ok := and(ok, mulAcc(f, IC{n}_X, IC{n}_Y, mload(add(input, {off}))))\n",
            n = i + 1,
            off = i * 32
        );
    }
    Ok(format!(
        r#"// SPDX-License-Identifier: Apache-2.0
// GENERATED by `zkmed export solidity` from the verifying key of circuit {circuit}
// (verifying key SHA-256 {key_hash}). Do not edit: regenerate from the key.
pragma solidity 0.8.28;

import {{PreparedChecks}} from "../src/PreparedChecks.sol";

/// @notice Groth16/BN254 verifier for zkmed circuit `{circuit}`.
contract {contract_name} is PreparedChecks {{
    /// BN254 scalar field (public inputs must be canonical: < R).
    uint256 constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// BN254 base field.
    uint256 constant Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583;
{consts}
    constructor(address controller_) PreparedChecks(controller_) {{}}

    function verifyProof(uint256[8] calldata proof, uint256[{n}] memory input) external view returns (bool) {{
        (bool ok, uint256 x, uint256 y) = _msm(IC0_X, IC0_Y, input);
        return ok && _pairing(proof, x, y);
    }}

    /// @notice `Σ input_i·IC_(i+1)`, plus IC0 if `withConstant`: the part of vk_x that
    /// these inputs contribute, to precompute once for inputs that do not change.
    function inputTerm(uint256[{n}] memory input, bool withConstant) public view override returns (uint256[2] memory t) {{
        (bool ok, uint256 x, uint256 y) = withConstant ? _msm(IC0_X, IC0_Y, input) : _msm(0, 0, input);
        if (!ok) revert NonCanonicalInput();
        t[0] = x;
        t[1] = y;
    }}

    /// `base + Σ input_i·IC_(i+1)`; not ok if an input is not canonical (>= R), the answer
    /// is not 0 or 1, or a precompile refuses a point.
    function _msm(uint256 bx, uint256 by, uint256[{n}] memory input) internal view override returns (bool ok, uint256 x, uint256 y) {{
        assembly {{
            // acc at f / f+32, scratch at f+64..
            function mulAcc(acc, px, py, v) -> success {{
                success := 1
                if v {{
                    let tmp := add(acc, 64)
                    mstore(tmp, px)
                    mstore(add(tmp, 32), py)
                    mstore(add(tmp, 64), v)
                    success := staticcall(gas(), 7, tmp, 96, tmp, 64)
                    mstore(add(tmp, 64), mload(acc))
                    mstore(add(tmp, 96), mload(add(acc, 32)))
                    success := and(success, staticcall(gas(), 6, tmp, 128, acc, 64))
                }}
            }}
            let f := mload(0x40)
            mstore(f, bx)
            mstore(add(f, 32), by)
            ok := 1
            // Canonical inputs only; the answer is 0 or 1.
            for {{ let i := 0 }} lt(i, {scalars}) {{ i := add(i, 1) }} {{
                if iszero(lt(mload(add(input, mul(i, 32))), R)) {{ ok := 0 }}
            }}
            let answer := mload(add(input, {answer_off}))
            if gt(answer, 1) {{ ok := 0 }}
            if ok {{
{acc}                if answer {{
                    let s := add(f, 64)
                    mstore(s, IC{n}_X)
                    mstore(add(s, 32), IC{n}_Y)
                    mstore(add(s, 64), mload(f))
                    mstore(add(s, 96), mload(add(f, 32)))
                    ok := and(ok, staticcall(gas(), 6, s, 128, f, 64))
                }}
            }}
            x := mload(f)
            y := mload(add(f, 32))
        }}
    }}

    /// `e(-A, B)·e(alpha, beta)·e(vk_x, gamma)·e(C, delta) = 1`.
    function _pairing(uint256[8] calldata proof, uint256 vx, uint256 vy) internal view override returns (bool ok) {{
        assembly {{
            let p := mload(0x40)
            // Coordinates of A and C must be canonical base-field elements (the precompile
            // rejects non-canonical B and off-curve points itself).
            let ay := calldataload(add(proof, 32))
            ok := and(lt(calldataload(proof), Q), lt(ay, Q))
            ok := and(ok, and(lt(calldataload(add(proof, 192)), Q), lt(calldataload(add(proof, 224)), Q)))
            mstore(p, calldataload(proof))
            // -A: (x, Q - y), with the point at infinity staying itself.
            mstore(add(p, 32), mod(sub(Q, mod(ay, Q)), Q))
            mstore(add(p, 64), calldataload(add(proof, 64)))
            mstore(add(p, 96), calldataload(add(proof, 96)))
            mstore(add(p, 128), calldataload(add(proof, 128)))
            mstore(add(p, 160), calldataload(add(proof, 160)))
            mstore(add(p, 192), ALPHA_X)
            mstore(add(p, 224), ALPHA_Y)
            mstore(add(p, 256), BETA_X1)
            mstore(add(p, 288), BETA_X0)
            mstore(add(p, 320), BETA_Y1)
            mstore(add(p, 352), BETA_Y0)
            mstore(add(p, 384), vx)
            mstore(add(p, 416), vy)
            mstore(add(p, 448), GAMMA_X1)
            mstore(add(p, 480), GAMMA_X0)
            mstore(add(p, 512), GAMMA_Y1)
            mstore(add(p, 544), GAMMA_Y0)
            mstore(add(p, 576), calldataload(add(proof, 192)))
            mstore(add(p, 608), calldataload(add(proof, 224)))
            mstore(add(p, 640), DELTA_X1)
            mstore(add(p, 672), DELTA_X0)
            mstore(add(p, 704), DELTA_Y1)
            mstore(add(p, 736), DELTA_Y0)
            if ok {{
                ok := staticcall(gas(), 8, p, 768, 0, 32)
                ok := and(ok, mload(0))
            }}
        }}
    }}
}}
"#,
        n = NUM_PUBLIC_INPUTS,
        scalars = NUM_PUBLIC_INPUTS - 1,
        answer_off = (NUM_PUBLIC_INPUTS - 1) * 32,
    ))
}
