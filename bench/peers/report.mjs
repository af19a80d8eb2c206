// report.mjs RECORDS.jsonl OUT.json COMMIT: writes the results file and
// prints the markdown table (scenario x server: req/s, p50, p99, errors).
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const [recordsFile, outFile, commit] = process.argv.slice(2);
const here = path.dirname(fileURLToPath(import.meta.url));
const records = fs.readFileSync(recordsFile, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
const pkgs = ["better-auth", "@better-auth/scim", "scimmy", "scimmy-routers", "express", "pg"];
const versions = Object.fromEntries(pkgs.map((p) => [p, JSON.parse(fs.readFileSync(path.join(here, "node_modules", p, "package.json"), "utf8")).version]));
fs.writeFileSync(outFile, JSON.stringify({ date: new Date().toISOString(), roster_commit: commit, node: process.version, versions, runs: records }, null, 2) + "\n");

const ms = (ns) => (ns / 1e6 >= 100 ? (ns / 1e6).toFixed(0) : (ns / 1e6).toFixed(1)) + " ms";
const servers = [...new Set(records.map((r) => r.server))];
const scenarios = [...new Set(records.map((r) => r.scenario))];
const cell = (r) => {
  if (!r) return "not run";
  if (!r.report) return `**failed**: ${(r.stderr ?? "").replace(/^roster: /, "").replace(/\|/g, "\\|").slice(0, 120)}`;
  const p = r.report;
  const errs = Object.entries(p.errors ?? {}).map(([k, v]) => `${v}×${k}`).join(", ");
  let s = `${p.per_second.toFixed(0)}/s · ${ms(p.p50_ns)} · ${ms(p.p99_ns)} · ${errs ? `**${errs}** of ${p.requests}` : "0"}`;
  if (p.truncated) s += ` (${p.requests} done, ${p.truncated})`;
  return s;
};
console.log(`| scenario (flags) | ${servers.join(" | ")} |`);
console.log(`|---|${servers.map(() => "---").join("|")}|`);
for (const sc of scenarios) {
  const flags = records.find((r) => r.scenario === sc).flags;
  console.log(`| ${sc} (\`${flags}\`) | ${servers.map((sv) => cell(records.find((r) => r.server === sv && r.scenario === sc))).join(" | ")} |`);
}
console.log(`\nEach cell: requests/s · p50 · p99 · errors (count×HTTP status or kind, of all requests). node ${process.version}; ${Object.entries(versions).map(([k, v]) => `${k} ${v}`).join(", ")}; Roster ${commit}.`);
