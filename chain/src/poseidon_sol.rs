//! `contracts/src/PoseidonT3.sol`, generated: circomlib Poseidon with two inputs (t = 3) in
//! inline Yul, bit-for-bit [`zkmed_core::poseidon::poseidon`]`(&[a, b])`, from the same
//! constants (`zkmed_core::poseidon::params(2)`).
//!
//! The contract runs the *optimized* schedule (Poseidon paper, appendix B; what
//! `zkmed_core::poseidon::poseidon` computes natively): full rounds with the dense MDS
//! matrix; partial rounds with one round constant and a sparse matrix `[[m00, v], [w, I]]`
//! each (8 `mulmod`s instead of 12 and six constants instead of twelve). Every constant is a
//! `PUSH32` in the code (no storage, no memory table). Reduction is lazy: a value is reduced
//! only where it could otherwise exceed 2^256 (`F < 2^254`, so a sum of four reduced values
//! fits), and the output once, at the end. Inputs `>= r` revert (`NonCanonicalInput`).
//!
//! The file also carries the trees' constants the contracts need: the binary zero hashes
//! `Z_0..Z_20` (`Z_{h+1} = H(Z_h, Z_h)`) and the root of the empty spent set
//! (`zkmed_state::IndexedTree::new().root()`).

use ark_ff::{BigInteger, PrimeField, Zero};
use zkmed_core::Fr;

/// Where the generated contract is committed, relative to the workspace root.
pub const POSEIDON_T3_PATH: &str = "contracts/src/PoseidonT3.sol";

fn hex(x: &Fr) -> String {
    let be = x.into_bigint().to_bytes_be();
    format!("0x{}", hex::encode(be))
}

fn mat_vec(m: &[Vec<Fr>], x: &[Fr]) -> Vec<Fr> {
    m.iter()
        .map(|row| {
            row.iter()
                .zip(x)
                .fold(Fr::zero(), |acc, (a, b)| acc + *a * b)
        })
        .collect()
}

/// The optimized schedule of Poseidon with 2 inputs (t = 3).
#[derive(Clone, Debug)]
pub struct Schedule {
    pub full_rounds: usize,
    pub partial_rounds: usize,
    /// Round constants of the full rounds, `t` per round, indexed by round (the partial
    /// rounds' rows are unused).
    pub ark: Vec<Fr>,
    pub mds: Vec<Vec<Fr>>,
    /// The matrix of the last first-half full round.
    pub pre: Vec<Vec<Fr>>,
    /// Per partial round: constant, `m00`, `v[0..2]`, `w[0..2]`.
    pub partial: Vec<(Fr, Fr, [Fr; 2], [Fr; 2])>,
}

/// The optimized schedule of circomlib's constants for t = 3: the one
/// `zkmed_core::poseidon` derives and runs natively.
pub fn schedule() -> Schedule {
    let o = zkmed_core::poseidon::optimized(2).expect("t = 3");
    Schedule {
        full_rounds: o.full_rounds,
        partial_rounds: o.partial_rounds,
        ark: o.ark.clone(),
        mds: o.mds.clone(),
        pre: o.pre.clone(),
        partial: o
            .partial_c
            .iter()
            .zip(&o.sparse)
            .map(|(c, sp)| (*c, sp.m00, [sp.v[0], sp.v[1]], [sp.w[0], sp.w[1]]))
            .collect(),
    }
}

fn pow5(x: Fr) -> Fr {
    let x2 = x * x;
    x2 * x2 * x
}

impl Schedule {
    /// The hash by this schedule, natively (what the contract computes; tested against
    /// `zkmed_core::poseidon::poseidon`).
    pub fn hash(&self, a: Fr, b: Fr) -> Fr {
        let mut s = [Fr::zero(), a, b];
        let half = self.full_rounds / 2;
        let full = |s: &mut [Fr; 3], r: usize, m: &[Vec<Fr>]| {
            for (i, x) in s.iter_mut().enumerate() {
                *x = pow5(*x + self.ark[r * 3 + i]);
            }
            let n = mat_vec(m, &s[..]);
            s.copy_from_slice(&n);
        };
        for r in 0..half {
            full(&mut s, r, if r + 1 == half { &self.pre } else { &self.mds });
        }
        for (c, m00, v, w) in &self.partial {
            let x = pow5(s[0] + c);
            let n0 = *m00 * x + s[1] * v[0] + s[2] * v[1];
            s[1] += x * w[0];
            s[2] += x * w[1];
            s[0] = n0;
        }
        for r in half + self.partial_rounds..self.full_rounds + self.partial_rounds {
            full(&mut s, r, &self.mds);
        }
        s[0]
    }
}

/// `Z_0 ..= Z_depth` of the binary tree.
pub fn binary_zeros(depth: usize) -> Vec<Fr> {
    let mut z = vec![Fr::zero()];
    for h in 0..depth {
        z.push(zkmed_core::poseidon::poseidon(&[z[h], z[h]]).expect("2 inputs"));
    }
    z
}

/// The Solidity source of `contracts/src/PoseidonT3.sol`.
pub fn poseidon_t3_solidity() -> String {
    let s = schedule();
    let selector = alloy::primitives::keccak256("NonCanonicalInput()");
    let sel = format!("0x{}", hex::encode(&selector[..4]));
    let mut y = String::new();
    let push = |y: &mut String, line: String| {
        y.push_str("            ");
        y.push_str(&line);
        y.push('\n');
    };
    let half = s.full_rounds / 2;
    let full = |y: &mut String, r: usize, m: &[Vec<Fr>], label: &str| {
        push(y, format!("// full round {r}{label}"));
        for (i, v) in ["s0", "s1", "s2"].iter().enumerate() {
            push(y, format!("t := add({v}, {})", hex(&s.ark[r * 3 + i])));
            push(y, format!("{v} := mulmod(t, t, F)"));
            push(y, format!("{v} := mulmod(mulmod({v}, {v}, F), t, F)"));
        }
        let row = |i: usize| {
            format!(
                "add(add(mulmod(s0, {}, F), mulmod(s1, {}, F)), mulmod(s2, {}, F))",
                hex(&m[i][0]),
                hex(&m[i][1]),
                hex(&m[i][2])
            )
        };
        push(y, format!("t := {}", row(0)));
        push(y, format!("u := {}", row(1)));
        push(y, format!("s2 := {}", row(2)));
        push(y, "s0 := t".into());
        push(y, "s1 := u".into());
    };
    for r in 0..half {
        let (m, label) = if r + 1 == half {
            (
                &s.pre,
                " (its matrix carries the first partial round's dense factor)",
            )
        } else {
            (&s.mds, "")
        };
        full(&mut y, r, m, label);
    }
    for (k, (c, m00, v, w)) in s.partial.iter().enumerate() {
        push(&mut y, format!("// partial round {k}"));
        push(&mut y, format!("t := add(s0, {})", hex(c)));
        push(&mut y, "u := mulmod(t, t, F)".into());
        push(&mut y, "t := mulmod(mulmod(u, u, F), t, F)".into());
        push(
            &mut y,
            format!(
                "s0 := add(add(mulmod(t, {}, F), mulmod(s1, {}, F)), mulmod(s2, {}, F))",
                hex(m00),
                hex(&v[0]),
                hex(&v[1])
            ),
        );
        push(
            &mut y,
            format!("s1 := addmod(s1, mulmod(t, {}, F), F)", hex(&w[0])),
        );
        push(
            &mut y,
            format!("s2 := addmod(s2, mulmod(t, {}, F), F)", hex(&w[1])),
        );
    }
    for r in half + s.partial_rounds..s.full_rounds + s.partial_rounds {
        full(&mut y, r, &s.mds, "");
    }

    let zeros = binary_zeros(20);
    let mut z = String::new();
    for (h, v) in zeros.iter().enumerate().skip(1) {
        z.push_str(&format!("            case {h} {{ z := {} }}\n", hex(v)));
    }
    let spent = zkmed_state::IndexedTree::new().root();
    let modulus = format!(
        "0x{}",
        hex::encode(<Fr as PrimeField>::MODULUS.to_bytes_be())
    );
    format!(
        r#"// SPDX-License-Identifier: Apache-2.0
// GENERATED by zkmed-chain (chain/src/poseidon_sol.rs) from zkmed-core's circomlib constants:
// do not edit. Regenerate: ZKMED_REGENERATE=1 cargo test -p zkmed-chain --test state poseidon_contract
pragma solidity 0.8.28;

/// @title PoseidonT3
/// @notice circomlib Poseidon with two inputs (t = 3, x^5, 8 full and 57 partial rounds):
/// `hash(a, b)` equals `zkmed_core::poseidon::poseidon(&[a, b])`. The optimized schedule
/// (sparse partial-round matrices), every constant inline, lazy reduction. Reverts with
/// `NonCanonicalInput()` if an input is not below the BN254 scalar field modulus r.
contract PoseidonT3 {{
    error NonCanonicalInput();

    function hash(uint256 a, uint256 b) external pure returns (uint256) {{
        assembly {{
            let F := {modulus}
            if iszero(and(lt(a, F), lt(b, F))) {{
                mstore(0, shl(224, {sel}))
                revert(0, 4)
            }}
            let s0 := 0
            let s1 := a
            let s2 := b
            let t := 0
            let u := 0
{y}            mstore(0, mod(s0, F))
            return(0, 32)
        }}
    }}
}}

/// @notice Calls a deployed `PoseidonT3` (a staticcall; bubbles its revert), and the trees'
/// constants.
library PoseidonT3Lib {{
    /// The root of the empty spent set (`zkmed_state::IndexedTree::new().root()`: the 4-ary
    /// depth-12 indexed tree holding only the sentinel `(0, 0)` at slot 0).
    uint256 internal constant EMPTY_SPENT_ROOT = {spent};

    function hash(address poseidon, uint256 a, uint256 b) internal view returns (uint256 h) {{
        assembly {{
            let m := mload(0x40)
            mstore(m, shl(224, 0xe7e7e7e7))
            mstore(add(m, 4), a)
            mstore(add(m, 36), b)
            if iszero(staticcall(gas(), poseidon, m, 68, 0, 32)) {{
                returndatacopy(m, 0, returndatasize())
                revert(m, returndatasize())
            }}
            h := mload(0)
        }}
    }}

    /// `Z_level` of a binary tree: `Z_0 = 0`, `Z_(h+1) = H(Z_h, Z_h)` (level <= 20).
    function zero(uint256 level) internal pure returns (uint256 z) {{
        assembly {{
            switch level
{z}            default {{ z := 0 }}
        }}
    }}
}}
"#,
        spent = hex(&spent),
    )
    .replace(
        "0xe7e7e7e7",
        &format!(
            "0x{}",
            hex::encode(&alloy::primitives::keccak256("hash(uint256,uint256)")[..4])
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::{Field, One};

    #[test]
    fn schedule_equals_the_native_hash() {
        let s = schedule();
        for i in 0..20u64 {
            let a = Fr::from(i * 7919 + 3).pow([i + 5]);
            let b = Fr::from(i).pow([i + 11]) - Fr::from(i);
            assert_eq!(
                s.hash(a, b),
                zkmed_core::poseidon::poseidon(&[a, b]).unwrap()
            );
        }
        assert_eq!(
            s.hash(-Fr::one(), -Fr::one()),
            zkmed_core::poseidon::poseidon(&[-Fr::one(), -Fr::one()]).unwrap()
        );
    }
}

#[cfg(test)]
mod generate {
    /// Writes the generated contract when `ZKMED_REGENERATE=1` (bootstrap; the committed-file
    /// check lives in `chain/tests/state.rs`).
    #[test]
    fn regenerate_poseidon_contract_if_asked() {
        if std::env::var_os("ZKMED_REGENERATE").is_some_and(|v| v == "1") {
            let f = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join(super::POSEIDON_T3_PATH);
            std::fs::write(f, super::poseidon_t3_solidity()).unwrap();
        }
    }
}
