// A local anvil (the pinned npm binary) for the gas scripts: start it on a free port, talk
// JSON-RPC, send a transaction and wait for its receipt.
import path from "node:path";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));

export async function startAnvil() {
  const bin = path.join(here, "node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil");
  const proc = spawn(bin, ["--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise((resolve, reject) => {
    let buf = "";
    proc.stdout.on("data", (d) => {
      buf += d;
      const m = buf.match(/Listening on [\d.]+:(\d+)/);
      if (m) resolve(Number(m[1]));
    });
    proc.on("exit", (c) => reject(new Error(`anvil exited ${c}`)));
  });
  let id = 0;
  async function rpc(method, params) {
    const r = await fetch(`http://127.0.0.1:${port}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: ++id, method, params }),
    });
    const j = await r.json();
    if (j.error) throw new Error(`${method}: ${JSON.stringify(j.error)}`);
    return j.result;
  }
  const [from] = await rpc("eth_accounts", []);
  // Sends with a generous gas limit (never an estimate: see gas.mjs) and returns the receipt.
  async function send(tx) {
    const hash = await rpc("eth_sendTransaction", [{ from, gas: "0x1000000", ...tx }]);
    for (let i = 0; i < 200; i++) {
      const r = await rpc("eth_getTransactionReceipt", [hash]);
      if (r) {
        if (r.status !== "0x1") throw new Error(`transaction failed: ${JSON.stringify(r)}`);
        return r;
      }
      await new Promise((res) => setTimeout(res, 25));
    }
    throw new Error(`no receipt for ${hash}`);
  }
  const call = (tx) => rpc("eth_call", [{ from, ...tx }, "latest"]);
  return { rpc, send, call, from, stop: () => proc.kill() };
}

export const word = (x) => BigInt(x).toString(16).padStart(64, "0");
