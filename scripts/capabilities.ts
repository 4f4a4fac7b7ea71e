/**
 * The adapters' capability matrix, generated from the `capabilities` each adapter declares (and
 * the conformance suite checks), never typed by hand.
 *
 *   tsx scripts/capabilities.ts                 prints the markdown table
 *   tsx scripts/capabilities.ts --write README.md  rewrites it between the capability markers
 *
 * `pnpm run docs` does the second; test/capabilities.test.ts fails when README.md is stale.
 */
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { GenericAdapter } from "@leadstate/adapter-generic"
import { UservoxAdapter } from "@leadstate/adapter-uservox"
import { VoxysAdapter } from "@leadstate/adapter-voxys"
import type { CrmAdapter } from "@leadstate/core"

/** Every capability with its value: an optional one left out is false (`listLeads`). */
type Declared = Required<CrmAdapter.Capabilities>

const declared = (capabilities: CrmAdapter.Capabilities): Declared => ({
  ...capabilities,
  listLeads: capabilities.listLeads === true,
})

/** The adapters, in column order, with their declared capabilities. */
export const adapters: ReadonlyArray<{ readonly name: string; readonly capabilities: Declared }> = [
  { name: "generic", capabilities: declared(GenericAdapter.capabilities) },
  { name: "uservox", capabilities: declared(UservoxAdapter.capabilities) },
  { name: "voxys", capabilities: declared(VoxysAdapter.capabilities) },
]

/** What each capability means, as a row label. */
export const labels: { readonly [K in keyof Declared]: string } = {
  create: "create leads (`CreateLead`)",
  readBack: "read a lead back (`readBack`)",
  asyncConfirmation: "writes confirmed later, by webhook",
  dispositions: "keeps the disposition of a state change",
  snooze: "has a snoozed status",
  bulk: "bulk operations",
  delete: "delete leads",
  webhooks: "webhooks, and how they are authenticated",
  listLeads: "list every lead, page by page (`listLeads`)",
}

export const startMarker = "<!-- capabilities:start -->"
export const endMarker = "<!-- capabilities:end -->"

const cell = (value: Declared[keyof Declared]): string =>
  value === true ? "✓" : value === false ? "–" : value.signature

/** The markdown table: one row per capability (in the order the adapters declare them), one column per adapter. */
export const table = (): string => {
  const keys = [...new Set(adapters.flatMap((a) => Object.keys(a.capabilities)))] as Array<keyof Declared>
  const header = `| capability | ${adapters.map((a) => `\`${a.name}\``).join(" | ")} |`
  const rule = `|---|${adapters.map(() => ":---:").join("|")}|`
  const rows = keys.map(
    (key) => `| ${labels[key] ?? `\`${key}\``} | ${adapters.map((a) => cell(a.capabilities[key])).join(" | ")} |`,
  )
  return [header, rule, ...rows].join("\n")
}

/** The text between the markers (without the newlines next to them), or undefined without markers. */
export const between = (readme: string): string | undefined => {
  const start = readme.indexOf(startMarker)
  const end = readme.indexOf(endMarker)
  if (start < 0 || end < start) return undefined
  return readme
    .slice(start + startMarker.length, end)
    .replace(/^\n/, "")
    .replace(/\n$/, "")
}

/** `readme` with the generated table between the markers. */
export const insert = (readme: string): string => {
  const start = readme.indexOf(startMarker)
  const end = readme.indexOf(endMarker)
  if (start < 0 || end < start) throw new Error(`no ${startMarker} … ${endMarker} markers`)
  return `${readme.slice(0, start + startMarker.length)}\n${table()}\n${readme.slice(end)}`
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const i = process.argv.indexOf("--write")
  const file = i < 0 ? undefined : process.argv[i + 1]
  if (file === undefined) console.log(table())
  else {
    const path = join(import.meta.dirname, "..", file)
    const text = readFileSync(path, "utf8")
    const next = insert(text)
    if (next !== text) {
      writeFileSync(path, next)
      console.log(`updated the capability matrix in ${file}`)
    }
  }
}
