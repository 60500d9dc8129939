// Compiles contracts/src/*.sol and contracts/generated/*.sol with the pinned solc-js
// (standard JSON), writing ABI + bytecode to contracts/artifacts/<Contract>.json.
// `node compile.mjs --check` recompiles and fails if the committed artifacts differ, so
// `cargo build` never needs node while CI proves the artifacts come from the sources.
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
const check = process.argv.includes("--check");

const sources = {};
for (const d of dirs) {
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
const input = { language: "Solidity", sources, settings };

function findImports(p) {
  for (const base of [path.join(here, "node_modules"), root]) {
    const f = path.join(base, p);
    if (fs.existsSync(f)) return { contents: fs.readFileSync(f, "utf8") };
  }
  return { error: `not found: ${p}` };
}

const out = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
const errors = (out.errors || []).filter((e) => e.severity === "error");
for (const e of out.errors || []) console.error(e.formattedMessage);
if (errors.length) process.exit(1);

const artifacts = {};
for (const [file, contracts] of Object.entries(out.contracts)) {
  if (!dirs.some((d) => file.startsWith(d))) continue; // skip OpenZeppelin's own
  for (const [name, c] of Object.entries(contracts)) {
    if (!c.evm.bytecode.object) continue; // interfaces
    artifacts[name] = {
      contractName: name,
      source: file,
      compiler: { solc: solc.version(), settings: { optimizer: settings.optimizer, evmVersion: settings.evmVersion } },
      abi: c.abi,
      methodIdentifiers: c.evm.methodIdentifiers,
      bytecode: "0x" + c.evm.bytecode.object,
      deployedBytecode: "0x" + c.evm.deployedBytecode.object,
    };
  }
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
