/**
 * Long commands, run as subprocesses: `paths` on big lifecycles (bounded by --max-states), and
 * Ctrl-C / SIGTERM in the middle of a long output, which must stop the command promptly with
 * a message and the signal's exit code (130, 143).
 */
import type { ChildProcess } from "node:child_process"
import { autoDealer, Lifecycle, Paths } from "@leadstate/core"
import { describe, it } from "vitest"
import { finish, hasStackTrace, lifecycles, scratch, spawnCli } from "./helpers.js"

/** Generous: these subprocesses share a small machine with the rest of the suite. */
const testTimeout = 120_000
const leadstate = (args: ReadonlyArray<string>) => finish(spawnCli(args), 90_000)

/** `n` chained states (a skip every third), a wildcard to "lost", snooze: paths grow with n. */
const chain = (n: number) => {
  const names = Array.from({ length: n }, (_, i) => `s${i}`)
  return JSON.stringify({
    name: `chain-${n}`,
    initial: "s0",
    states: [
      ...names.map((name) => ({ name })),
      { name: "won", final: true },
      { name: "lost", final: true },
      { name: "nap" },
    ],
    transitions: [
      ...names.slice(1).map((to, i) => ({ from: `s${i}`, to })),
      ...names.flatMap((from, i) => (i % 3 === 0 && i + 2 < n ? [{ from, to: `s${i + 2}` }] : [])),
      { from: `s${n - 1}`, to: "won" },
      { from: "*", to: "lost" },
    ],
    dispositions: { lost: { required: true, allowed: ["no_answer"] } },
    snooze: { state: "nap" },
  })
}

const files = scratch()
const big = files.file("chain-10000.json", chain(10_000))
const justOver = files.file("chain-4998.json", chain(4_998)) // 5,001 states with won, lost, nap
/** 40,000 events for the auto dealer: a long simulation. */
const manyEvents = files.file(
  "many.jsonl",
  Array.from({ length: 10_000 }, (_, i) =>
    [
      { lead: `M-${i}`, type: "transition", to: "contacted", at: 1000 },
      { lead: `M-${i}`, type: "transition", to: "interested", disposition: "price_inquiry", at: 2000 },
      { lead: `M-${i}`, type: "transition", to: "test_drive_booked", at: 3000 },
      { lead: `M-${i}`, type: "transition", to: "lost", disposition: "not_interested", at: 4000 },
    ]
      .map((e) => JSON.stringify(e))
      .join("\n"),
  ).join("\n"),
)

interface Stopped {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdoutBytes: number
  readonly stderr: string
  /** From the signal to the process's end. */
  readonly ms: number
}

/**
 * Sends `signal` once the command has printed something (it is then in its long output), and
 * waits for the process to end; SIGKILLs it after `boundMs`.
 */
const stopMidway = (child: ChildProcess, signal: NodeJS.Signals, boundMs: number): Promise<Stopped> =>
  new Promise((resolve, reject) => {
    let stdoutBytes = 0
    let stderr = ""
    let sentAt: number | undefined
    let killer: NodeJS.Timeout | undefined
    const startup = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`no output within 90 s; stderr: ${stderr}`))
    }, 90_000)
    child.stdout?.on("data", (d: Buffer) => {
      stdoutBytes += d.length
      if (sentAt !== undefined) return
      clearTimeout(startup)
      sentAt = Date.now()
      child.kill(signal)
      killer = setTimeout(() => child.kill("SIGKILL"), boundMs)
    })
    child.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString("utf8")
    })
    child.on("error", reject)
    child.on("close", (code, closedBy) => {
      clearTimeout(startup)
      clearTimeout(killer)
      resolve({ code, signal: closedBy, stdoutBytes, stderr, ms: Date.now() - (sentAt ?? Date.now()) })
    })
  })

describe("long commands", { timeout: testTimeout }, () => {
  it("paths refuses more than --max-states states (default 5000): exit 2, says how to list them", async ({
    expect,
  }) => {
    const r = await leadstate(["paths", justOver])
    expect(r.code).toBe(2)
    expect(r.stdout).toBe("")
    expect(r.stderr.trim()).toBe(
      `leadstate: lifecycle file ${justOver} has 5001 states, more than --max-states 5000 allows: a path to every state can add up to states × path length events. Run again with --max-states 5001 to list them all.`,
    )
    expect(hasStackTrace(r.stderr)).toBe(false)
  })

  it("paths --json: exactly JSON.stringify({ name, paths }) of Paths.shortestPaths, written as it is built", async ({
    expect,
  }) => {
    const r = await leadstate(["paths", lifecycles.autoDealer, "--json"])
    expect(r.code).toBe(0)
    const lifecycle = Lifecycle.unsafeMake(autoDealer)
    expect(r.stdout).toBe(`${JSON.stringify({ name: lifecycle.name, paths: Paths.shortestPaths(lifecycle) })}\n`)
  })

  it("paths --max-states: the limit is the option's (at least 1)", async ({ expect }) => {
    const [under, at, zero] = await Promise.all([
      leadstate(["paths", lifecycles.b2b, "--max-states", "4"]),
      leadstate(["paths", lifecycles.b2b, "--max-states", "5", "--json"]),
      leadstate(["paths", lifecycles.b2b, "--max-states", "0"]),
    ])
    expect(under.code).toBe(2)
    expect(under.stderr).toContain("has 5 states, more than --max-states 4 allows")
    expect(at.code).toBe(0)
    expect((JSON.parse(at.stdout) as { paths: Array<unknown> }).paths).toHaveLength(5)
    expect(zero.code).toBe(2)
    expect(zero.stderr.trim()).toBe("leadstate: --max-states must be at least 1, got 0")
  })

  it("SIGTERM during paths on a 10,000-state lifecycle: stops within seconds, exit 143, with a message", async ({
    expect,
  }) => {
    const r = await stopMidway(spawnCli(["paths", big, "--max-states", "20000", "--json"]), "SIGTERM", 10_000)
    expect(r.stdoutBytes).toBeGreaterThan(0)
    expect(r.ms).toBeLessThan(10_000)
    expect(r).toMatchObject({ code: 143, signal: null })
    expect(r.stderr).toBe("\nleadstate: stopped by SIGTERM\n")
  })

  it("Ctrl-C (SIGINT) during a long simulate: stops within seconds, exit 130, with a message", async ({ expect }) => {
    const r = await stopMidway(spawnCli(["simulate", lifecycles.autoDealer, manyEvents]), "SIGINT", 10_000)
    expect(r.stdoutBytes).toBeGreaterThan(0)
    expect(r.ms).toBeLessThan(10_000)
    expect(r).toMatchObject({ code: 130, signal: null })
    expect(r.stderr).toBe("\nleadstate: stopped by SIGINT\n")
  })
})
