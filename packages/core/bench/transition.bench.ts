/**
 * `pnpm bench`: the transition benchmark. Heap measurements need `global.gc`, so when Node was
 * started without `--expose-gc` this re-runs itself once with it (same Node, same loader
 * flags, same arguments) and exits with the child's status; `pnpm bench` stays one command.
 *
 * Arguments: `--quick` runs a small stream (a smoke test, not a measurement).
 */
import { spawnSync } from "node:child_process"

if (typeof globalThis.gc !== "function") {
  const child = spawnSync(process.execPath, [...process.execArgv, "--expose-gc", ...process.argv.slice(1)], {
    stdio: "inherit",
  })
  if (child.error !== undefined) throw child.error
  process.exit(child.status ?? 1)
} else {
  await import("./runBench.js")
}
