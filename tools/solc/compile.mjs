// Compiles contracts/src/*.sol and contracts/generated/*.sol with the pinned solc-js
// (standard JSON), writing ABI + bytecode to contracts/artifacts/<Contract>.json.
// `node compile.mjs --check` recompiles and fails if the committed artifacts differ, so
// `cargo build` never needs node while CI proves the artifacts come from the sources.
//
// `node compile.mjs --verifier V.sol --out V.json` compiles ONE verifier that
// `zkmed export solidity` wrote for your own keys (anywhere on disk; it imports
// contracts/src/PreparedChecks.sol as the committed ones do), with the same compiler and
// settings, and writes its artifact (ABI + bytecode) to V.json: what
// `zkmed chain install-verifier --artifact V.json` deploys.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const solc = require("solc");
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const dirs = ["contracts/src", "contracts/generated"];
const outDir = path.join(root, "contracts/artifacts");
const argv = process.argv.slice(2);
const check = argv.includes("--check");
const flag = (name) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const verifierFile = flag("--verifier");
const verifierOut = flag("--out");
if (verifierFile !== undefined && (!verifierFile || !verifierOut || check)) {
  console.error("usage: node compile.mjs --verifier V.sol --out V.json");
  process.exit(2);
}

const sources = {};
// A verifier from elsewhere is compiled as if it sat in contracts/generated/ (its
// `import "../src/PreparedChecks.sol"` resolves to the committed source).
const verifierUnit = verifierFile && `contracts/generated/${path.basename(verifierFile)}`;
if (verifierFile) {
  if (!fs.existsSync(verifierFile)) {
    console.error(`${verifierFile}: no such file`);
    process.exit(1);
  }
  sources[verifierUnit] = { content: fs.readFileSync(verifierFile, "utf8") };
}
for (const d of verifierFile ? [] : dirs) {
  const abs = path.join(root, d);
  if (!fs.existsSync(abs)) continue;
  for (const f of fs.readdirSync(abs).sort()) {
    if (f.endsWith(".sol")) sources[`${d}/${f}`] = { content: fs.readFileSync(path.join(abs, f), "utf8") };
  }
}

const settings = {
  optimizer: { enabled: true, runs: 200 },
  evmVersion: "cancun",
  outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "evm.methodIdentifiers"] } },
};

function findImports(p) {
  for (const base of [path.join(here, "node_modules"), root]) {
    const f = path.join(base, p);
    if (fs.existsSync(f)) return { contents: fs.readFileSync(f, "utf8") };
  }
  return { error: `not found: ${p}` };
}

// Files compiled on their own with other optimizer settings (their contracts' artifacts say
// so): PoseidonT3 is pure arithmetic on 200-odd constants, and with runs = 200 the optimizer
// moves repeated constants into the code's data section (a CODECOPY through memory instead of
// a PUSH32 each time): 18,889 gas per hash; with runs = 10,000 every constant stays a PUSH32:
// 15,322 gas (18,166 bytes of code).
const overrides = verifierFile ? {} : { "contracts/src/PoseidonT3.sol": { enabled: true, runs: 10000 } };

function compile(sources, optimizer) {
  const input = { language: "Solidity", sources, settings: { ...settings, optimizer } };
  const out = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
  const errors = (out.errors || []).filter((e) => e.severity === "error");
  for (const e of out.errors || []) console.error(e.formattedMessage);
  if (errors.length) process.exit(1);
  return out;
}
const out = compile(sources, settings.optimizer);
for (const [file, optimizer] of Object.entries(overrides)) {
  if (!sources[file]) continue;
  const alone = compile({ [file]: sources[file] }, optimizer);
  out.contracts[file] = alone.contracts[file];
  out.optimizerOf = { ...(out.optimizerOf || {}), [file]: optimizer };
}

const artifacts = {};
for (const [file, contracts] of Object.entries(out.contracts)) {
  if (!dirs.some((d) => file.startsWith(d))) continue; // skip OpenZeppelin's own
  if (verifierFile && file !== verifierUnit) continue; // only the verifier asked for
  for (const [name, c] of Object.entries(contracts)) {
    if (!c.evm.bytecode.object) continue; // interfaces
    artifacts[name] = {
      contractName: name,
      source: file,
      compiler: {
        solc: solc.version(),
        settings: { optimizer: (out.optimizerOf || {})[file] || settings.optimizer, evmVersion: settings.evmVersion },
      },
      abi: c.abi,
      methodIdentifiers: c.evm.methodIdentifiers,
      bytecode: "0x" + c.evm.bytecode.object,
      deployedBytecode: "0x" + c.evm.deployedBytecode.object,
    };
  }
}

if (verifierFile) {
  const names = Object.keys(artifacts);
  if (names.length !== 1) {
    console.error(`${verifierFile}: expected one contract, found ${names.length} (${names.join(", ")})`);
    process.exit(1);
  }
  const a = artifacts[names[0]];
  if (!a.abi.some((f) => f.type === "function" && f.name === "checkPrepared")) {
    console.error(`${verifierFile}: ${names[0]} is not a zkmed verifier (no checkPrepared): generate it with \`zkmed export solidity\``);
    process.exit(1);
  }
  a.source = path.resolve(verifierFile);
  fs.mkdirSync(path.dirname(path.resolve(verifierOut)), { recursive: true });
  fs.writeFileSync(verifierOut, JSON.stringify(a, null, 2) + "\n");
  console.log(`wrote ${names[0]} to ${verifierOut} (solc ${solc.version()})`);
  process.exit(0);
}

let stale = [];
fs.mkdirSync(outDir, { recursive: true });
for (const [name, a] of Object.entries(artifacts)) {
  const f = path.join(outDir, `${name}.json`);
  const text = JSON.stringify(a, null, 2) + "\n";
  if (check) {
    if (!fs.existsSync(f) || fs.readFileSync(f, "utf8") !== text) stale.push(name);
  } else {
    fs.writeFileSync(f, text);
  }
}
if (check) {
  const committed = fs.readdirSync(outDir).filter((f) => f.endsWith(".json")).map((f) => f.slice(0, -5));
  for (const c of committed) if (!artifacts[c]) stale.push(`${c} (no longer compiled)`);
  if (stale.length) {
    console.error(`artifacts differ from the sources: ${stale.join(", ")}; run \`npm run compile --prefix tools/solc\` and commit`);
    process.exit(1);
  }
  console.log(`artifacts match the sources (${Object.keys(artifacts).length} contracts, solc ${solc.version()})`);
} else {
  console.log(`wrote ${Object.keys(artifacts).length} artifacts to contracts/artifacts (solc ${solc.version()})`);
}
