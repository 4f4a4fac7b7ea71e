import { readFileSync } from "node:fs"
import { join } from "node:path"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"

const root = join(import.meta.dirname, "..")

/** Every `<!-- include: path -->` block in a README must be the file's exact content. */
const includes = (readme: string) =>
  [...readme.matchAll(/<!-- include: (\S+) -->\n```ts\n([\s\S]*?)```/g)].map((m) => ({
    path: m[1] ?? "",
    code: m[2] ?? "",
  }))

const readmes = [
  "README.md",
  "packages/core/README.md",
  "packages/adapter-generic/README.md",
  "packages/adapter-uservox/README.md",
  "packages/adapter-voxys/README.md",
]

describe("README examples", () => {
  for (const readme of readmes) {
    it(`${readme}: included examples are the tested files, verbatim`, () => {
      const text = readFileSync(join(root, readme), "utf8")
      const blocks = includes(text)
      expect(blocks.length).toBeGreaterThan(0)
      for (const block of blocks) expect(block.code).toBe(readFileSync(join(root, block.path), "utf8"))
    })
  }

  it("the quickstart runs and leaves the vendor in the mapped state", async () => {
    const { program } = await import("../examples/quickstart.js")
    expect(await Effect.runPromise(program)).toEqual({ state: "lost", atVendor: "lost" })
  })

  it("the generic adapter's example runs: dry-run plan redacted, vendor in the mapped state, webhook taken", async () => {
    const { program } = await import("../examples/generic.js")
    const result = await Effect.runPromise(program)
    expect(result.vendorState).toBe("contacted")
    expect(result.state).toBe("contacted")
    expect(result.webhookStatus).toBe(200)
    expect(JSON.stringify(result.plan)).toContain("Bearer <redacted>")
    expect(JSON.stringify(result.plan)).not.toContain("sk-workspace_example")
  })

  it("the uservox example runs: accepted, then confirmed by the webhook", async () => {
    const { program } = await import("../examples/uservox.js")
    expect(await Effect.runPromise(program)).toEqual({
      receipts: ["Accepted"],
      state: "lost",
      disposition: "Lost to Co-dealer",
      pending: 0,
    })
  })

  it("the Voxys adapter's example runs: exact state read back, a UI change polled, applied and converted", async () => {
    const { program } = await import("../examples/voxys.js")
    const result = await Effect.runPromise(program)
    expect(result.vendorState).toBe("open")
    expect(result.state).toBe("interested")
    expect(result.polled).toMatchObject([{ type: "transition", to: "converted", actor: "voxys:poll" }])
    expect(result.finalState).toBe("converted")
    expect(result.deals).toBe(1)
    expect(JSON.stringify(result.plan)).toContain('"api_access_token":"<redacted>"')
    expect(JSON.stringify(result.plan)).not.toContain("vx_example_token")
  })

  it("the engine example runs: confirmed at the vendor, saved in SQLite, found by a second store layer", async () => {
    const { program } = await import("../examples/engine.js")
    expect(await Effect.runPromise(program)).toEqual({
      outcomes: ["Confirmed", "Confirmed", "Confirmed"],
      state: "interested",
      version: 2,
      atVendor: "qualified",
    })
  })

  it("the README's commands are the ones CI and the demo run", () => {
    const text = readFileSync(join(root, "README.md"), "utf8")
    const ci = readFileSync(join(root, ".ci/run"), "utf8")
    const testCommand = /npx -y pnpm@\S+ install --frozen-lockfile && npx -y pnpm@\S+ test/.exec(ci)?.[0]
    expect(testCommand).toBeDefined()
    expect(text).toContain(testCommand ?? "(none)")
    expect(text).toContain((testCommand ?? "").replace(/ test$/, " demo"))
  })
})
