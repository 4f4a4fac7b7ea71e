/**
 * `pnpm bench`: every benchmark of the repository, one after the other, each in its own Node
 * process (so one's heap and JIT state do not colour the next), with the arguments given
 * (`--quick` for a smoke run) passed to each. Their output is shown as it comes; at the end the
 * target lines (MET / MISSED / NOT MEASURED) of all of them are repeated in one summary. Exits
 * 1 when a benchmark fails (not when a target is missed: that is a measurement, not an error).
 *
 * Run one alone with `--only <name>` (names below).
 */
import { spawn } from "node:child_process"

const benches = [
  { name: "transition", script: "packages/core/bench/transition.bench.ts" },
  { name: "engine", script: "bench/engine.bench.ts" },
  { name: "settledRows", script: "bench/settledRows.ts" },
  { name: "scaling", script: "bench/scaling.ts" },
  { name: "workers", script: "bench/workers.ts" },
] as const

const args = process.argv.slice(2)
const onlyAt = args.indexOf("--only")
const only = onlyAt >= 0 ? args[onlyAt + 1] : undefined
const passed = onlyAt >= 0 ? args.filter((_, i) => i !== onlyAt && i !== onlyAt + 1) : args
if (only !== undefined && !benches.some((b) => b.name === only)) {
  console.error(`unknown benchmark "${only}"; one of: ${benches.map((b) => b.name).join(", ")}`)
  process.exit(2)
}

const targetLine = /\b(MET|MISSED|NOT MEASURED)\s*$/

const run = (script: string): Promise<{ readonly code: number; readonly targets: ReadonlyArray<string> }> =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", script, ...passed], {
      stdio: ["ignore", "pipe", "inherit"],
    })
    const targets: Array<string> = []
    let pending = ""
    child.stdout.on("data", (chunk: Buffer) => {
      process.stdout.write(chunk)
      const text = pending + chunk.toString("utf8")
      const lines = text.split("\n")
      pending = lines.pop() ?? ""
      for (const line of lines) if (targetLine.test(line)) targets.push(line.trim())
    })
    child.on("close", (code) => {
      if (targetLine.test(pending)) targets.push(pending.trim())
      resolve({ code: code ?? 1, targets })
    })
  })

const main = async () => {
  const started = Date.now()
  const summary: Array<string> = []
  let failed = 0
  for (const bench of benches) {
    if (only !== undefined && bench.name !== only) continue
    console.log(`\n=== ${bench.name} (${bench.script} ${passed.join(" ")}) ===\n`)
    const { code, targets } = await run(bench.script)
    if (code !== 0) {
      failed++
      summary.push(`${bench.name}: FAILED (exit ${code})`)
    }
    for (const t of targets) summary.push(`${bench.name}: ${t}`)
  }
  console.log(`\n=== targets, all benchmarks (${((Date.now() - started) / 1000).toFixed(0)} s) ===`)
  for (const line of summary) console.log(`  ${line}`)
  process.exit(failed > 0 ? 1 : 0)
}

void main()
