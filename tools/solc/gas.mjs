// Measures a generated zkmed verifier on a local anvil with a real zkmed proof:
//
//   node gas.mjs <Artifact> <calldata.json> [--snarkjs <dir>]
//
// <calldata.json> is what `zkmed export calldata` prints. Prints JSON: the gas of
// `verifyProof` as a transaction (21,000 base and calldata included, from the receipt),
// anvil's (wrong) estimate, and that a tampered proof fails. With --snarkjs <dir> (what
// `zkmed export snarkjs` writes for the SAME attestation), it also renders snarkjs's own
// Groth16 verifier template (tools/snarkjs, pinned) for the same verifying key, compiles it
// with the same solc settings, and measures it on the same proof: the two verifiers side by
// side on one statement.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { startAnvil, word } from "./anvil.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const [artifactName, calldataFile] = args;
if (!artifactName || !calldataFile) {
  console.error("usage: node gas.mjs <Artifact> <calldata.json> [--snarkjs <dir>]");
  process.exit(2);
}
const snarkjsDir = args.includes("--snarkjs") ? args[args.indexOf("--snarkjs") + 1] : null;
const art = JSON.parse(fs.readFileSync(path.join(here, "../../contracts/artifacts", `${artifactName}.json`), "utf8"));
const cd = JSON.parse(fs.readFileSync(calldataFile, "utf8"));

// snarkjs's template, rendered exactly as `snarkjs zkey export solidityverifier` does
// (ejs over the verification key), compiled like our contracts.
function snarkjsVerifier(dir) {
  const require = createRequire(path.join(here, "../snarkjs/package.json"));
  const ejs = require("ejs");
  const solc = createRequire(import.meta.url)("solc");
  const tmplFile = path.join(here, "../snarkjs/node_modules/snarkjs/templates/verifier_groth16.sol.ejs");
  const vk = JSON.parse(fs.readFileSync(path.join(dir, "verification_key.json"), "utf8"));
  const source = ejs.render(fs.readFileSync(tmplFile, "utf8"), vk);
  const input = {
    language: "Solidity",
    sources: { "Groth16Verifier.sol": { content: source } },
    settings: {
      optimizer: { enabled: true, runs: 200 },
      evmVersion: "cancun",
      outputSelection: { "*": { "*": ["evm.bytecode.object", "evm.methodIdentifiers"] } },
    },
  };
  const out = JSON.parse(solc.compile(JSON.stringify(input)));
  const errors = (out.errors || []).filter((e) => e.severity === "error");
  if (errors.length) throw new Error(errors.map((e) => e.formattedMessage).join("\n"));
  const c = out.contracts["Groth16Verifier.sol"].Groth16Verifier;
  return { bytecode: "0x" + c.evm.bytecode.object, methods: c.evm.methodIdentifiers };
}

const node = await startAnvil();
try {
  // zkmed's generated verifiers take their controller (the AttestationVerifier allowed to
  // store prepared-check snapshots) as the constructor argument; here, the test account.
  const ctor = art.abi.find((x) => x.type === "constructor");
  const ctorArgs = ctor && ctor.inputs.length === 1 ? word(node.from) : "";
  const deployed = await node.send({ data: art.bytecode + ctorArgs });
  const to = deployed.contractAddress;
  const sel = art.methodIdentifiers["verifyProof(uint256[8],uint256[7])"];
  const data = (proof) => "0x" + sel + proof.map(word).join("") + cd.input.map(word).join("");
  const verifies = async (proof) => BigInt(await node.call({ to, data: data(proof) })) === 1n;
  const tampered = [...cd.proof];
  tampered[6] = (BigInt(tampered[6]) ^ 1n).toString();
  // eth_estimateGas is wrong for a verifier that returns false instead of reverting:
  // starved of gas, the pairing precompile fails, the function returns false without
  // reverting, and the estimate "succeeds" far too low.
  const estimate = BigInt(await node.rpc("eth_estimateGas", [{ from: node.from, to, data: data(cd.proof) }]));
  const report = {
    contract: artifactName,
    verifies: await verifies(cd.proof),
    tampered_verifies: await verifies(tampered),
    tx_gas: Number(BigInt((await node.send({ to, data: data(cd.proof) })).gasUsed)),
    anvil_estimate_gas_wrong: Number(estimate),
    deploy_gas: Number(BigInt(deployed.gasUsed)),
  };
  if (snarkjsDir) {
    const v = snarkjsVerifier(snarkjsDir);
    const proof = JSON.parse(fs.readFileSync(path.join(snarkjsDir, "proof.json"), "utf8"));
    const pub = JSON.parse(fs.readFileSync(path.join(snarkjsDir, "public.json"), "utf8"));
    const d = await node.send({ data: v.bytecode });
    const sig = Object.keys(v.methods).find((m) => m.startsWith("verifyProof("));
    // snarkjs's calldata order: G2 coordinates imaginary part first, as EIP-197 wants.
    const words = [
      proof.pi_a[0], proof.pi_a[1],
      proof.pi_b[0][1], proof.pi_b[0][0], proof.pi_b[1][1], proof.pi_b[1][0],
      proof.pi_c[0], proof.pi_c[1],
      ...pub,
    ];
    const sdata = "0x" + v.methods[sig] + words.map(word).join("");
    const ok = BigInt(await node.call({ to: d.contractAddress, data: sdata })) === 1n;
    if (!ok) throw new Error("snarkjs's verifier refused the proof: the export and the template disagree");
    report.snarkjs_template = {
      verifies: ok,
      tx_gas: Number(BigInt((await node.send({ to: d.contractAddress, data: sdata })).gasUsed)),
      deploy_gas: Number(BigInt(d.gasUsed)),
    };
    report.saved_vs_snarkjs = report.snarkjs_template.tx_gas - report.tx_gas;
  }
  console.log(JSON.stringify(report, null, 2));
  if (!report.verifies || report.tampered_verifies) process.exit(1);
} finally {
  node.stop();
}
