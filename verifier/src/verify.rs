//! Single-attestation verification.

use crate::error::VerifyError;
use crate::keys::{KeySet, VerifierKey};
use crate::source::{AcceptedRoots, RootPolicy, RootStatus, UsedRoot, Window};
use ark_bn254::{Bn254, G1Projective};
use ark_ec::pairing::{MillerLoopOutput, Pairing};
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{One, PrimeField, Zero};
use ark_groth16::Proof;
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Validate};
use zkmed_core::attestation::{
    Attestation, ATTESTATION_VERSION, MAX_PROOF_BYTES, NUM_PUBLIC_INPUTS,
};
use zkmed_core::query::Query;
use zkmed_core::Fr;

/// Verifies `att` as the answer to the question this verifier asked.
///
/// Checks, in this order (the first failure is returned):
/// 1. the attestation version is [`ATTESTATION_VERSION`];
/// 2. a key is loaded for `att.circuit` ([`VerifyError::UnknownCircuit`]);
/// 3. `att.key_hash` is that key's SHA-256 ([`VerifyError::KeyHashMismatch`]);
/// 4. `att.public.query_hash == expected_query.hash()` — recomputed here from the verifier's
///    own query, never trusted from the attestation ([`VerifyError::QueryMismatch`]);
/// 5. `att.public.challenge == *expected_challenge` ([`VerifyError::ChallengeMismatch`]);
/// 6. `roots` accepts the identity root and the global state root: each is current, or was
///    superseded within the policy's window ([`VerifyError::Root`]);
/// 7. the proof bytes decode with full curve/subgroup validation as exactly one canonical
///    compressed proof ([`VerifyError::MalformedProof`]);
/// 8. the Groth16 pairing check passes for the six public inputs
///    ([`VerifyError::InvalidProof`]).
///
/// # The answer
///
/// **Only after `Ok(())` is `att.public.answer` the proven answer** to `expected_query`
/// over the latest record state of an identity anchored under the accepted roots. On `Err`
/// the attestation proves nothing (in particular it does not prove "no").
///
/// The `nullifier` is proven (bound to the scope inside the challenge) but not interpreted
/// here; callers that rely on it (one-time claims) keep their own spent set.
pub fn verify(
    keys: &KeySet,
    att: &Attestation,
    expected_query: &Query,
    expected_challenge: &Fr,
    roots: &RootPolicy<'_>,
) -> Result<(), VerifyError> {
    verify_inner(
        keys,
        att,
        ExpectedQuery::Query(expected_query),
        expected_challenge,
        roots,
    )
}

/// [`verify`] with a precomputed `expected_query_hash` (= `expected_query.hash()?`), for
/// callers that ask the same question many times and cache its hash. The hash must come
/// from the verifier's own query, never from an attestation.
pub fn verify_with_query_hash(
    keys: &KeySet,
    att: &Attestation,
    expected_query_hash: &Fr,
    expected_challenge: &Fr,
    roots: &RootPolicy<'_>,
) -> Result<(), VerifyError> {
    verify_inner(
        keys,
        att,
        ExpectedQuery::Hash(*expected_query_hash),
        expected_challenge,
        roots,
    )
}

fn verify_inner(
    keys: &KeySet,
    att: &Attestation,
    expected_query: ExpectedQuery<'_>,
    expected_challenge: &Fr,
    roots: &RootPolicy<'_>,
) -> Result<(), VerifyError> {
    let mut report = VerifyReport::new(&att.circuit, None);
    verify_reporting(
        keys,
        att,
        expected_query,
        expected_challenge,
        roots,
        &mut report,
    )
}

/// [`verify`], and the report of which checks ran and how each went: the key, the
/// question, the challenge, the record commitment (against which source, accepting which
/// anchors, what it accepted) and the proof (decoding and the pairing check).
///
/// The `Result` is the verdict, exactly as [`verify`]'s; the report explains it. After a
/// failure, the checks after the failing one are [`Outcome::NotRun`].
pub fn verify_with_report(
    keys: &KeySet,
    att: &Attestation,
    expected_query: &Query,
    expected_challenge: &Fr,
    roots: &RootPolicy<'_>,
) -> (Result<(), VerifyError>, VerifyReport) {
    let mut report = VerifyReport::new(
        &att.circuit,
        Some(SourceInfo {
            origin: roots.source.describe(),
            window: roots.window,
        }),
    );
    let result = verify_reporting(
        keys,
        att,
        ExpectedQuery::Query(expected_query),
        expected_challenge,
        roots,
        &mut report,
    );
    (result, report)
}

fn verify_reporting(
    keys: &KeySet,
    att: &Attestation,
    expected_query: ExpectedQuery<'_>,
    expected_challenge: &Fr,
    roots: &RootPolicy<'_>,
    report: &mut VerifyReport,
) -> Result<(), VerifyError> {
    // Free checks first.
    let key = report.run(Check::Key, || {
        check_version(att)?;
        let key = keys.require(&att.circuit)?;
        check_key_hash(key, att)?;
        Ok(key)
    })?;
    // The independent expensive parts run side by side on the available cores: the query
    // hash (Poseidon) on one side; proof decoding (with the G2 subgroup check) and the
    // public-input sum on the other. Their results are consumed strictly in the documented
    // check order below, so the error returned is the same as with sequential evaluation.
    // The pairing check runs only after every binding check has passed.
    let inputs = att.public.to_field_elements();
    let (expected_hash, (proof, vk_x)) = rayon::join(
        || match expected_query {
            ExpectedQuery::Query(q) => q.hash(),
            ExpectedQuery::Hash(h) => Ok(h),
        },
        || {
            rayon::join(
                || decode_proof(&att.proof_bytes()?),
                || prepare_inputs(key, &inputs),
            )
        },
    );
    let p = &att.public;
    report.run(Check::Question, || {
        let expected = expected_hash?;
        if p.query_hash != expected {
            return Err(VerifyError::QueryMismatch {
                attested: p.query_hash,
                expected,
            });
        }
        Ok(())
    })?;
    report.run(Check::Challenge, || {
        if p.challenge != *expected_challenge {
            return Err(VerifyError::ChallengeMismatch {
                attested: p.challenge,
                expected: *expected_challenge,
            });
        }
        Ok(())
    })?;
    let accepted = report.run(Check::Roots, || {
        Ok(roots.accept(&p.identity_root, &p.state_root)?)
    })?;
    report.accepted = Some(accepted);
    report.run(Check::Proof, || {
        final_check(key, &att.circuit, miller_loop(key, &proof?, vk_x))
    })
}

/// Checks only that `att`'s proof is valid for `att`'s **own** public inputs under `key`:
/// version, that the attestation names this key (circuit id and key hash), proof decoding
/// with full validation, and the Groth16 pairing check.
///
/// **It does NOT check the query, the challenge or the roots.** `Ok` means "this
/// proof is a valid proof of *some* statement with these public inputs"; it does not mean
/// the attestation answers your question, is fresh, or is about the patient's current
/// records. Meant for thin clients and the HTTP verify endpoint, which report exactly that
/// and leave the bindings to the relying party. Relying parties must use [`verify`].
pub fn verify_statement_unbound(key: &VerifierKey, att: &Attestation) -> Result<(), VerifyError> {
    check_version(att)?;
    if att.circuit != key.id() {
        return Err(VerifyError::UnknownCircuit {
            circuit: att.circuit.clone(),
            known: key.id().to_string(),
        });
    }
    check_key_hash(key, att)?;
    let proof = decode_proof(&att.proof_bytes()?)?;
    pairing_check(key, att, &proof)
}

/// [`verify_statement_unbound`] with the key for `att.circuit` from `keys`, and the report:
/// the question, the challenge and the roots are [`Outcome::NotRun`], so
/// [`VerifyReport::verified`] is `false` whatever the proof — a proof that was not checked
/// against anchored roots is never reported as verified.
pub fn verify_proof_only_with_report(
    keys: &KeySet,
    att: &Attestation,
) -> (Result<(), VerifyError>, VerifyReport) {
    let mut report = VerifyReport::new(&att.circuit, None);
    let result = (|| {
        let key = report.run(Check::Key, || {
            check_version(att)?;
            let key = keys.require(&att.circuit)?;
            check_key_hash(key, att)?;
            Ok(key)
        })?;
        report.run(Check::Proof, || {
            let proof = decode_proof(&att.proof_bytes()?)?;
            pairing_check(key, att, &proof)
        })
    })();
    (result, report)
}

/// Decodes a canonical compressed Groth16 proof with **full validation**: A and C on the
/// curve, B on the twist and in the prime-order subgroup, no point at infinity, canonical
/// encoding, and every byte consumed.
pub fn decode_proof(bytes: &[u8]) -> Result<Proof<Bn254>, VerifyError> {
    if bytes.len() > MAX_PROOF_BYTES {
        return Err(VerifyError::MalformedProof(format!(
            "{} bytes, more than the {MAX_PROOF_BYTES}-byte limit",
            bytes.len()
        )));
    }
    let mut rest = bytes;
    let proof = Proof::<Bn254>::deserialize_with_mode(&mut rest, Compress::Yes, Validate::Yes).map_err(|e| {
        VerifyError::MalformedProof(format!(
            "{} bytes do not decode as a compressed BN254 Groth16 proof (points on the curve and in \
             the subgroup): {e}",
            bytes.len()
        ))
    })?;
    if !rest.is_empty() {
        return Err(VerifyError::MalformedProof(format!(
            "{} trailing bytes after the {}-byte proof",
            rest.len(),
            bytes.len() - rest.len()
        )));
    }
    for (name, zero) in [
        ("A", proof.a.is_zero()),
        ("B", proof.b.is_zero()),
        ("C", proof.c.is_zero()),
    ] {
        if zero {
            return Err(VerifyError::MalformedProof(format!(
                "proof point {name} is the point at infinity"
            )));
        }
    }
    let mut canonical = Vec::with_capacity(bytes.len());
    proof
        .serialize_compressed(&mut canonical)
        .map_err(|e| VerifyError::MalformedProof(format!("cannot re-encode: {e}")))?;
    if canonical != bytes {
        return Err(VerifyError::MalformedProof(
            "non-canonical encoding of the proof points".into(),
        ));
    }
    Ok(proof)
}

pub(crate) enum ExpectedQuery<'q> {
    Query(&'q Query),
    Hash(Fr),
}

fn check_version(att: &Attestation) -> Result<(), VerifyError> {
    if att.version != ATTESTATION_VERSION {
        return Err(VerifyError::UnsupportedVersion {
            got: att.version,
            expected: ATTESTATION_VERSION,
        });
    }
    Ok(())
}

fn check_key_hash(key: &VerifierKey, att: &Attestation) -> Result<(), VerifyError> {
    // Hex is case-insensitive; the bytes, not the spelling, identify the key.
    if !att.key_hash.eq_ignore_ascii_case(key.key_hash()) {
        return Err(VerifyError::KeyHashMismatch {
            circuit: att.circuit.clone(),
            attested: att.key_hash.clone(),
            loaded: key.key_hash().to_string(),
        });
    }
    Ok(())
}

/// Checks 4–6 of [`verify`]: query hash, challenge, roots.
fn check_statement(
    att: &Attestation,
    expected_hash: &Fr,
    expected_challenge: &Fr,
    roots: &RootPolicy<'_>,
) -> Result<(), VerifyError> {
    let p = &att.public;
    if p.query_hash != *expected_hash {
        return Err(VerifyError::QueryMismatch {
            attested: p.query_hash,
            expected: *expected_hash,
        });
    }
    if p.challenge != *expected_challenge {
        return Err(VerifyError::ChallengeMismatch {
            attested: p.challenge,
            expected: *expected_challenge,
        });
    }
    roots.accept(&p.identity_root, &p.state_root)?;
    Ok(())
}

/// Checks 1–6 of [`verify`] (everything except decoding and the pairing check); returns the
/// key to verify the proof with.
pub(crate) fn check_bindings<'k>(
    keys: &'k KeySet,
    att: &Attestation,
    expected_query: ExpectedQuery<'_>,
    expected_challenge: &Fr,
    roots: &RootPolicy<'_>,
) -> Result<&'k VerifierKey, VerifyError> {
    check_version(att)?;
    let key = keys.require(&att.circuit)?;
    check_key_hash(key, att)?;
    let expected_hash = match expected_query {
        ExpectedQuery::Query(q) => q.hash()?,
        ExpectedQuery::Hash(h) => h,
    };
    check_statement(att, &expected_hash, expected_challenge, roots)?;
    Ok(key)
}

/// `vk_x = gamma_abc[0] + Σ x_j · gamma_abc[j]` for the attestation's public inputs (one
/// GLV scalar multiplication per input; the 0/1 answer costs nothing).
pub(crate) fn prepare_inputs(key: &VerifierKey, inputs: &[Fr; NUM_PUBLIC_INPUTS]) -> G1Projective {
    let gamma_abc = &key.vk().gamma_abc_g1;
    let mut acc = gamma_abc[0].into_group();
    for (x, g) in inputs.iter().zip(&gamma_abc[1..]) {
        if x.is_one() {
            acc += g;
        } else if !x.is_zero() {
            acc += g.mul_bigint(x.into_bigint());
        }
    }
    acc
}

/// The Groth16 pairing check of an already decoded proof against `att`'s public inputs.
pub(crate) fn pairing_check(
    key: &VerifierKey,
    att: &Attestation,
    proof: &Proof<Bn254>,
) -> Result<(), VerifyError> {
    let vk_x = prepare_inputs(key, &att.public.to_field_elements());
    final_check(key, &att.circuit, miller_loop(key, proof, vk_x))
}

/// The Miller loop of `e(A, B) · e(vk_x, −γ) · e(C, −δ)`, split in two halves that run in
/// parallel. Together with [`final_check`] this is the equation of
/// `ark_groth16::Groth16::verify_proof_with_prepared_inputs`.
fn miller_loop(
    key: &VerifierKey,
    proof: &Proof<Bn254>,
    vk_x: G1Projective,
) -> MillerLoopOutput<Bn254> {
    let pvk = key.pvk();
    let (ab, rest) = rayon::join(
        || Bn254::multi_miller_loop([proof.a], [proof.b]),
        || {
            Bn254::multi_miller_loop(
                [vk_x.into_affine(), proof.c],
                [pvk.gamma_g2_neg_pc.clone(), pvk.delta_g2_neg_pc.clone()],
            )
        },
    );
    MillerLoopOutput(ab.0 * rest.0)
}

/// Final exponentiation and comparison with the prepared `e(α, β)`.
fn final_check(
    key: &VerifierKey,
    circuit: &str,
    miller: MillerLoopOutput<Bn254>,
) -> Result<(), VerifyError> {
    match Bn254::final_exponentiation(miller) {
        Some(out) if out.0 == key.pvk().alpha_g1_beta_g2 => Ok(()),
        _ => Err(VerifyError::InvalidProof {
            circuit: circuit.to_string(),
        }),
    }
}

/// How one check of a verification went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    Failed,
    /// Not run: an earlier check failed, or this kind of verification does not do it.
    NotRun,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
            Outcome::NotRun => "not_run",
        }
    }
}

/// The checks of a verification, in the order they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// Attestation version, a loaded key for its circuit, the key's SHA-256.
    Key,
    /// The attested query hash against the verifier's own question.
    Question,
    /// The attested challenge against the verifier's own.
    Challenge,
    /// The identity root and the global state root, against the root source and window.
    Roots,
    /// Proof decoding (full curve and subgroup validation) and the Groth16 pairing check.
    Proof,
}

impl Check {
    pub const ALL: [Check; 5] = [
        Check::Key,
        Check::Question,
        Check::Challenge,
        Check::Roots,
        Check::Proof,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Check::Key => "key",
            Check::Question => "question",
            Check::Challenge => "challenge",
            Check::Roots => "roots",
            Check::Proof => "proof",
        }
    }
}

/// Where a verification's roots came from and which it accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceInfo {
    /// The root source's own description (`RootSource::describe`).
    pub origin: String,
    pub window: Window,
}

/// Which checks a verification ran and how each went, where the roots came from, the
/// window, and which roots were used. Returned beside the verdict by [`verify_with_report`]
/// and [`verify_proof_only_with_report`].
///
/// [`VerifyReport::verified`] is `true` only when every check ran and passed, the roots
/// included: a proof that was not checked against a question, a challenge and anchored
/// roots is never reported as verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    pub circuit: String,
    pub outcomes: [(Check, Outcome); 5],
    /// The root source and window (`None`: a proof-only check).
    pub source: Option<SourceInfo>,
    /// The roots accepted, when they were.
    pub accepted: Option<AcceptedRoots>,
    /// Why the first failing check failed.
    pub failure: Option<String>,
}

fn root_json(r: &UsedRoot) -> serde_json::Value {
    use serde_json::json;
    let mut v = json!({"root": zkmed_core::field::fr_to_dec(&r.root)});
    match r.status {
        RootStatus::Superseded { ago_s } => {
            v["status"] = json!("superseded");
            v["superseded_s_ago"] = json!(ago_s);
        }
        _ => v["status"] = json!("current"),
    }
    v
}

fn root_text(r: &UsedRoot) -> String {
    match r.status {
        RootStatus::Superseded { ago_s } => format!(
            "{} {} (superseded {ago_s} s ago)",
            r.which,
            zkmed_core::field::fr_to_dec(&r.root)
        ),
        _ => format!(
            "{} {} (current)",
            r.which,
            zkmed_core::field::fr_to_dec(&r.root)
        ),
    }
}

impl VerifyReport {
    fn new(circuit: &str, source: Option<SourceInfo>) -> VerifyReport {
        VerifyReport {
            circuit: circuit.to_string(),
            outcomes: Check::ALL.map(|c| (c, Outcome::NotRun)),
            source,
            accepted: None,
            failure: None,
        }
    }

    fn set(&mut self, check: Check, outcome: Outcome) {
        for (c, o) in &mut self.outcomes {
            if *c == check {
                *o = outcome;
            }
        }
    }

    fn run<T>(
        &mut self,
        check: Check,
        f: impl FnOnce() -> Result<T, VerifyError>,
    ) -> Result<T, VerifyError> {
        let r = f();
        match &r {
            Ok(_) => self.set(check, Outcome::Passed),
            Err(e) => {
                self.set(check, Outcome::Failed);
                self.failure = Some(e.to_string());
            }
        }
        r
    }

    /// How `check` went.
    pub fn outcome(&self, check: Check) -> Outcome {
        self.outcomes
            .iter()
            .find(|(c, _)| *c == check)
            .map(|(_, o)| *o)
            .unwrap_or(Outcome::NotRun)
    }

    /// Every check ran and passed, against a root source.
    pub fn verified(&self) -> bool {
        self.source.is_some() && self.outcomes.iter().all(|(_, o)| *o == Outcome::Passed)
    }

    /// The report as JSON (the service's and the CLI's `report`):
    /// `{verified, checks: {key, question, challenge, roots, proof}, root_source, window_s,
    /// roots: {identity: {root, status, superseded_s_ago?}, state: {...}}, failure}`; each
    /// check is `passed`, `failed` or `not_run`; `window_s` 0 = current roots only.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::json;
        let checks: serde_json::Map<String, serde_json::Value> = self
            .outcomes
            .iter()
            .map(|(c, o)| (c.as_str().to_string(), json!(o.as_str())))
            .collect();
        let roots = self
            .accepted
            .as_ref()
            .map(|a| json!({"identity": root_json(&a.identity), "state": root_json(&a.state)}));
        json!({
            "verified": self.verified(),
            "checks": checks,
            "root_source": self.source.as_ref().map(|s| s.origin.clone()),
            "window_s": self.source.as_ref().map(|s| s.window.seconds()),
            "roots": roots,
            "failure": self.failure,
        })
    }
}

/// A table for people: one line per check, then the window.
impl std::fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (c, o) in &self.outcomes {
            let detail = match c {
                Check::Key => format!("circuit {}", self.circuit),
                Check::Proof => "Groth16 pairing check".into(),
                Check::Roots => match (&self.source, &self.accepted) {
                    (None, _) => {
                        "no root source: the proof is not bound to any anchored state".into()
                    }
                    (Some(s), None) => format!("from {}", s.origin),
                    (Some(s), Some(a)) => format!(
                        "from {}: {}; {}",
                        s.origin,
                        root_text(&a.identity),
                        root_text(&a.state)
                    ),
                },
                _ => String::new(),
            };
            writeln!(f, "  {:<11} {:<8} {detail}", c.as_str(), o.as_str())?;
        }
        let window = self
            .source
            .as_ref()
            .map(|s| s.window.to_string())
            .unwrap_or_else(|| "not checked".into());
        write!(f, "  {:<11} {window}", "window")
    }
}
