import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

/** The repository root: the CLI runs from there, as `pnpm leadstate` does. */
export const root = join(import.meta.dirname, "..", "..", "..")
export const bin = join(root, "packages", "cli", "src", "bin.ts")

/** Every output of every run, so a test can check that no secret was ever printed. */
export const outputs: Array<string> = []

export interface Result {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Starts a process from the repository root. */
export const spawnAt = (
  executable: string,
  args: ReadonlyArray<string>,
  env: Readonly<Record<string, string>> = {},
): ChildProcess =>
  spawn(executable, args, {
    cwd: root,
    env: { ...process.env, ...env, NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  })

/** The command line that runs the CLI from its sources. */
export const cliCommand: ReadonlyArray<string> = [process.execPath, "--import", "tsx", bin]

/** Starts `leadstate …` as a subprocess: `node --import tsx packages/cli/src/bin.ts …`, from the root. */
export const spawnCli = (args: ReadonlyArray<string>, env: Readonly<Record<string, string>> = {}): ChildProcess =>
  spawnAt(process.execPath, [...cliCommand.slice(1), ...args], env)

/** Collects a subprocess's output and exit code. */
export const finish = (child: ChildProcess, timeoutMs = 120_000): Promise<Result> =>
  new Promise((resolve, reject) => {
    let stdout = ""
    let stderr = ""
    child.stdout?.on("data", (d: Buffer) => {
      stdout += d.toString("utf8")
    })
    child.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString("utf8")
    })
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`leadstate did not finish within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`))
    }, timeoutMs)
    child.on("error", reject)
    child.on("close", (code) => {
      clearTimeout(timer)
      outputs.push(stdout, stderr)
      resolve({ code, stdout, stderr })
    })
  })

/** Runs `leadstate …` to the end. */
export const leadstate = (args: ReadonlyArray<string>, env: Readonly<Record<string, string>> = {}): Promise<Result> =>
  finish(spawnCli(args, env))

/** A fresh directory for a test's files; `file(name, text)` writes one and returns its path. */
export const scratch = () => {
  const dir = mkdtempSync(join(tmpdir(), "leadstate-cli-"))
  return {
    dir,
    file: (name: string, text: string) => {
      const path = join(dir, name)
      writeFileSync(path, text)
      return path
    },
  }
}

/** The lines of a JSON Lines output, parsed. */
export const jsonLines = (text: string): Array<Record<string, unknown>> =>
  text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>)

/** A failure printed as a stack trace has lines like `    at fn (file:1:2)`. */
export const hasStackTrace = (text: string): boolean => /^\s+at .+[:(]\d+/m.test(text)

export const lifecycles = {
  autoDealer: "examples/lifecycles/autoDealer.json",
  b2b: "examples/lifecycles/b2b.json",
}

export const eventsFile = "examples/events/autoDealer.jsonl"

/** Events every step of which is accepted: two leads, with their contact fields. */
export const cleanEvents = [
  {
    lead: "C-1",
    type: "start",
    at: "2026-11-02T09:00:00Z",
    metadata: { name: "Ana Ruiz", email: "ana.ruiz@example.org", phone: "+14155550111" },
  },
  { lead: "C-1", type: "transition", to: "contacted", at: "2026-11-02T09:05:00Z" },
  {
    lead: "C-2",
    type: "start",
    at: 1793610000000,
    metadata: { name: "Ben Cho", email: "ben@example.org", phone: "+14155550112" },
  },
  { lead: "C-1", type: "transition", to: "interested", disposition: "price_inquiry", at: "2026-11-02T09:10:00Z" },
  { lead: "C-2", type: "transition", to: "lost", disposition: "wrong_number", note: "a bakery", at: 1793610060000 },
]
  .map((e) => JSON.stringify(e))
  .join("\n")
