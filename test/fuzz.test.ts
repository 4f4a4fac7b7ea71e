/**
 * Every fuzz target of `pnpm fuzz` (scripts/fuzz.ts), at fewer runs: hostile input gives a
 * value or a typed error, never a throw, an Effect defect or a hang. The decoders run 1,000
 * inputs each; the vendor answer targets 300 each (every input builds an adapter and answers it
 * over real HTTP on 127.0.0.1), so that the whole file fits in about a minute on two cores.
 * `pnpm fuzz` runs 10,000 of each.
 */
import { describe, expect, it } from "vitest"
import { report, targets } from "../scripts/fuzz.js"

const runsOf = (name: string) => (name.startsWith("vendor answers") ? 300 : 1_000)

describe("fuzz (pnpm fuzz at fewer runs)", () => {
  it.each(targets.map((t) => ({ name: t.name, target: t })))(
    "$name: zero throws, zero defects",
    async ({ name, target }) => {
      const result = await target.run({ numRuns: runsOf(name), shrinkTimeLimitMs: 5_000 })
      expect(result.runs).toBe(runsOf(name))
      expect(result.failures, report(result)).toBe(0)
    },
    120_000,
  )
})
