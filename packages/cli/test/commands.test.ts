/**
 * `leadstate validate | diagram | paths | simulate` (without an adapter), usage errors and bad
 * input files, run as subprocesses exactly as a user runs them.
 */
import { execFileSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { autoDealer, b2b, Lifecycle, start as startLead, transition } from "@leadstate/core"
import { Either } from "effect"
import { describe, it } from "vitest"
import {
  cleanEvents,
  cliCommand,
  eventsFile,
  finish,
  hasStackTrace,
  jsonLines,
  leadstate,
  lifecycles,
  root,
  scratch,
  spawnAt,
} from "./helpers.js"

const files = scratch()
const invalid = files.file(
  "invalid.json",
  JSON.stringify({
    name: "t",
    initial: "new",
    states: [{ name: "new" }, { name: "done", final: true }, { name: "orphan" }],
    transitions: [{ from: "new", to: "dne" }],
  }),
)
const notJson = files.file("not-json.json", '{ "name": "t",\n  "states": [ }\n')
const array = files.file("array.json", "[1, 2, 3]\n")
const clean = files.file("clean.jsonl", cleanEvents)
const badEvents = files.file(
  "bad.jsonl",
  [
    '{"lead":"a","type":"transition","to":"contacted"}',
    '{"lead":"a","type":"transition","to":',
    '{"lead":"a","type":"teleport","to":"lost"}',
  ].join("\n"),
)

/** Many leads, for the progress line: start + 4 events each. */
const big = files.file(
  "big.jsonl",
  Array.from({ length: 600 }, (_, i) =>
    [
      { lead: `B-${i}`, type: "start", at: 0, metadata: { name: `Lead ${i}` } },
      { lead: `B-${i}`, type: "transition", to: "contacted", at: 1000 },
      { lead: `B-${i}`, type: "transition", to: i % 3 === 0 ? "converted" : "interested", at: 2000 },
      { lead: `B-${i}`, type: "transition", to: "test_drive_booked", at: 3000 },
      { lead: `B-${i}`, type: "transition", to: "converted", disposition: "purchased", at: 4000 },
    ]
      .map((e) => JSON.stringify(e))
      .join("\n"),
  ).join("\n"),
)

const hasScript = (() => {
  try {
    execFileSync("script", ["--version"], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
})()

describe.concurrent("leadstate, run as a subprocess", () => {
  it("the example lifecycle files are the TypeScript examples, as JSON", ({ expect }) => {
    expect(JSON.parse(readFileSync(`${root}/${lifecycles.autoDealer}`, "utf8"))).toEqual(autoDealer)
    expect(JSON.parse(readFileSync(`${root}/${lifecycles.b2b}`, "utf8"))).toEqual(b2b)
  })

  it("validate: a valid lifecycle exits 0 (--json parses)", async ({ expect }) => {
    const r = await leadstate(["validate", lifecycles.autoDealer, "--json"])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ valid: true, name: "auto-dealer-voice", initial: "new", problems: [] })
    expect(r.stderr).toBe("")
  })

  it("validate: an invalid lifecycle lists every problem with its path and exits 1", async ({ expect }) => {
    const r = await leadstate(["validate", invalid])
    expect(r.code).toBe(1)
    expect(r.stdout).toContain('Lifecycle "t" has 3 problems')
    expect(r.stdout).toContain('transitions[0].to: "dne" is not a declared state. Did you mean "done"?')
    expect(r.stdout).toContain('states[2]: "orphan" cannot be reached')
    expect(hasStackTrace(r.stdout + r.stderr)).toBe(false)
  })

  it("validate: a definition nested 10,000 deep is past the input limits: a typed message, exit 2", async ({
    expect,
  }) => {
    const deep = files.file(
      "deep.json",
      `{"name":"deep","initial":"a","states":[{"name":"a"}],"transitions":[],"x":${"[".repeat(10_000)}${"]".repeat(10_000)}}`,
    )
    const r = await leadstate(["validate", deep])
    expect(r.code).toBe(2)
    expect(r.stdout).toContain("nested more than 32 levels deep")
    expect(hasStackTrace(r.stdout + r.stderr)).toBe(false)
  })

  it("a missing file: one clear message, no stack trace, exit 2", async ({ expect }) => {
    const r = await leadstate(["validate", "no/such/lifecycle.json"])
    expect(r.code).toBe(2)
    expect(r.stdout).toBe("")
    expect(r.stderr.trim()).toBe("leadstate: cannot read lifecycle file no/such/lifecycle.json: no such file")
  })

  it("a file that is not JSON: where it breaks, exit 2", async ({ expect }) => {
    const r = await leadstate(["diagram", notJson])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(
      /^leadstate: lifecycle file .*not-json\.json is not valid JSON: unexpected '}' \(line 2, column 15\)\n$/,
    )
    expect(hasStackTrace(r.stderr)).toBe(false)
  })

  it("a JSON file of the wrong shape: one clear message, exit 2", async ({ expect }) => {
    const r = await leadstate(["paths", array])
    expect(r.code).toBe(2)
    expect(r.stderr.trim().split("\n")).toHaveLength(1)
    expect(r.stderr).toContain("is not a lifecycle definition: expected a JSON object")
    expect(r.stderr).toContain("got an array")
  })

  it("an events file with bad lines: each with its line number, exit 2", async ({ expect }) => {
    const r = await leadstate(["simulate", lifecycles.autoDealer, badEvents])
    expect(r.code).toBe(2)
    expect(r.stdout).toBe("")
    expect(r.stderr).toContain("has 2 bad lines")
    expect(r.stderr).toContain("bad.jsonl:2: not valid JSON: unexpected end of the file (column 38)")
    expect(r.stderr).toContain('bad.jsonl:3: type "teleport"; expected one of start, transition')
    expect(hasStackTrace(r.stderr)).toBe(false)
  })

  it("usage errors exit 2: an unknown --format", async ({ expect }) => {
    const r = await leadstate(["diagram", lifecycles.b2b, "--format", "svg"])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("mermaid, dot")
    expect(r.stdout).toBe("")
  })

  it("usage errors exit 2: an adapter without --dry-run or --base-url", async ({ expect }) => {
    const r = await leadstate([
      "simulate",
      lifecycles.autoDealer,
      clean,
      "--adapter",
      "generic",
      "--config",
      "examples/adapters/generic.json",
    ])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("--dry-run")
    expect(r.stderr).toContain("--base-url")
  })

  it("diagram: Mermaid by default (--json parses)", async ({ expect }) => {
    const r = await leadstate(["diagram", lifecycles.b2b, "--json"])
    expect(r.code).toBe(0)
    const out = JSON.parse(r.stdout) as { format: string; diagram: string }
    expect(out.format).toBe("mermaid")
    expect(out.diagram.startsWith("stateDiagram-v2\n  [*] --> new")).toBe(true)
    expect(out.diagram).toContain("lost --> qualified: reopen")
  })

  it("diagram --format dot --out file: writes Graphviz DOT", async ({ expect }) => {
    const out = `${files.dir}/dealer.dot`
    const r = await leadstate(["diagram", lifecycles.autoDealer, "--format", "dot", "--out", out])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(`Wrote the dot diagram of "auto-dealer-voice" to ${out}`)
    const dot = readFileSync(out, "utf8")
    expect(dot.startsWith('digraph "auto-dealer-voice" {')).toBe(true)
    expect(dot).toContain('"new" -> "contacted"')
  })

  it("paths: the shortest event sequence to each state; with --json, each replays to its state", async ({ expect }) => {
    const [text, json] = await Promise.all([
      leadstate(["paths", lifecycles.autoDealer]),
      leadstate(["paths", lifecycles.b2b, "--json"]),
    ])
    expect(text.code).toBe(0)
    expect(text.stdout).toMatch(/^ {2}test_drive_booked +contacted → interested → test_drive_booked$/m)
    expect(text.stdout).toMatch(/^ {2}lost +lost \[not_interested\]$/m)
    expect(json.code).toBe(0)
    const lifecycle = Lifecycle.unsafeMake(b2b)
    const out = JSON.parse(json.stdout) as { paths: Array<{ state: string; events: Array<unknown> }> }
    expect(out.paths.map((p) => p.state)).toEqual(lifecycle.stateNames)
    for (const path of out.paths) {
      let lead = startLead(lifecycle, { leadId: "p", at: 0 }).snapshot
      for (const event of path.events) lead = Either.getOrThrow(transition(lifecycle, lead, event)).snapshot
      expect(lead.state).toBe(path.state)
    }
  })

  it("simulate: one line per step with the typed errors, a summary, exit 1 when events are rejected", async ({
    expect,
  }) => {
    const r = await leadstate(["simulate", lifecycles.autoDealer, eventsFile])
    expect(r.code).toBe(1)
    expect(r.stderr).toBe("")
    const lines = r.stdout.split("\n")
    expect(lines[0]).toMatch(/^ {4}1 {2}L-1001 {2}\(start\) → new {2}started$/)
    expect(r.stdout).toMatch(/^ {4}3 {2}L-1001 {2}contacted → interested \[price_inquiry\] {2}ok$/m)
    expect(r.stdout).toMatch(
      /^ {4}7 {2}L-1003 {2}new → converted {2}✗ InvalidTransition: Lead "L-1003" cannot move from "new" to "converted"/m,
    )
    expect(r.stdout).toMatch(
      /^ {3}16 {2}L-1002 {2}followup_3 → lost \[unreachable\] {2}ok {2}\(deadline passed: followUpDue\)$/m,
    )
    expect(r.stdout).toContain("✗ LeadIsFinal")
    expect(r.stdout).toMatch(
      /Summary: 18 events for 4 leads in \d+ ms: 16 applied \(5 by deadlines that passed\), 3 rejected \(DispositionRequired 1, InvalidTransition 1, LeadIsFinal 1\)\./,
    )
  })

  it("simulate --json: every line parses; exit 0 when every event is accepted", async ({ expect }) => {
    const r = await leadstate(["simulate", lifecycles.autoDealer, clean, "--json"])
    expect(r.code).toBe(0)
    const lines = jsonLines(r.stdout)
    const steps = lines.filter((l) => l.kind === "step")
    expect(steps.map((s) => [s.lead, s.from, s.to, s.result])).toEqual([
      ["C-1", null, "new", "started"],
      ["C-1", "new", "contacted", "applied"],
      ["C-2", null, "new", "started"],
      ["C-1", "contacted", "interested", "applied"],
      ["C-2", "new", "lost", "applied"],
    ])
    expect(steps[4]?.disposition).toBe("wrong_number")
    expect(lines.at(-1)).toMatchObject({ kind: "summary", events: 5, leads: 2, applied: 3, rejected: 0 })
  })

  it("simulate: a big events file gets a summary, and no progress line when stderr is not a terminal", async ({
    expect,
  }) => {
    const r = await leadstate(["simulate", lifecycles.autoDealer, big])
    expect(r.code).toBe(1)
    expect(r.stderr).toBe("")
    expect(r.stdout).toMatch(
      /Summary: 3000 events for 600 leads in [\d.]+ m?s: 1800 applied, 600 rejected \(InvalidTransition 600\)\./,
    )
  })

  it.runIf(hasScript)("simulate: a progress line on stderr when it is a terminal", async ({ expect }) => {
    // `script` runs the command in a pseudo-terminal and copies what it prints to its stdout.
    const command = [...cliCommand, "simulate", lifecycles.autoDealer, big].map((a) => `'${a}'`).join(" ")
    const r = await finish(spawnAt("script", ["-qec", command, "/dev/null"]), 30_000)
    expect(r.stdout).toContain("\r\u001b[K  200/3000 events (6%), ")
    expect(r.stdout).toMatch(/ \d+\/3000 events \(\d+%\), \d+ rejected/)
    expect(r.stdout).toContain("Summary: 3000 events for 600 leads")
  })

  it("the package's bin runs the CLI (through tsx in the workspace); no command is a usage error", async ({
    expect,
  }) => {
    const r = await finish(spawnAt(process.execPath, ["packages/cli/bin/leadstate.js"]))
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("leadstate: missing command: validate, diagram, paths, simulate or serve-fake")
  })
})
