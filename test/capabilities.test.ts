import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { adapters, between, endMarker, insert, labels, startMarker, table } from "../scripts/capabilities.js"

const root = join(import.meta.dirname, "..")

describe("the capability matrix", () => {
  it("README.md shows the table generated from the adapters' declared capabilities (run `pnpm run docs`)", () => {
    const readme = readFileSync(join(root, "README.md"), "utf8")
    expect(readme).toContain(startMarker)
    expect(readme).toContain(endMarker)
    expect(between(readme)).toBe(table())
  })

  it("has a column per adapter and a row per declared capability, with its value", () => {
    const lines = table().split("\n")
    expect(lines[0]).toBe("| capability | `generic` | `uservox` | `voxys` |")
    const keys = Object.keys(adapters[0]?.capabilities ?? {})
    expect(lines).toHaveLength(2 + keys.length)
    for (const [i, key] of keys.entries()) {
      const row = lines[2 + i] ?? ""
      expect(row.startsWith(`| ${labels[key as keyof typeof labels]} |`)).toBe(true)
      const cells = row
        .split("|")
        .slice(2, -1)
        .map((c) => c.trim())
      expect(cells).toEqual(
        adapters.map((a) => {
          const value = a.capabilities[key as keyof typeof a.capabilities]
          return value === true ? "✓" : value === false ? "–" : value.signature
        }),
      )
    }
  })

  it("regenerating is stable and only touches the text between the markers", () => {
    const readme = `intro\n${startMarker}\nstale\n${endMarker}\noutro\n`
    const once = insert(readme)
    expect(once).toBe(`intro\n${startMarker}\n${table()}\n${endMarker}\noutro\n`)
    expect(insert(once)).toBe(once)
  })
})
