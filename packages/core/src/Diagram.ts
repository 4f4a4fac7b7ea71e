/**
 * Diagrams of a lifecycle, drawn from its compiled transition table: Mermaid
 * `stateDiagram-v2` text for Markdown and docs, Graphviz DOT for `dot -Tsvg`.
 *
 * Both show the same edges in the same order: for each state in definition order, its
 * `transition` targets (a wildcard already expanded), then `snooze`, `wake`, `followUpDue` and
 * `reopen` moves. A transition into a state that takes dispositions is labelled with them
 * (at most four are listed) and whether one is required.
 *
 * @since 0.1.0
 */
import type { CompiledState, Lifecycle } from "./Lifecycle.js"

type EdgeKind = "transition" | "snooze" | "wake" | "followUpDue" | "reopen"

interface Edge {
  readonly from: string
  readonly to: string
  readonly kind: EdgeKind
  readonly label: string | undefined
}

const LISTED = 4

const list = (names: ReadonlyArray<string>): string =>
  names.length <= LISTED
    ? names.join(" | ")
    : [...names.slice(0, LISTED - 1), `+${names.length - LISTED + 1} more`].join(" | ")

/** The edges out of one state, in the order both diagrams draw them. */
const edgesFrom = (lifecycle: Lifecycle, s: CompiledState): ReadonlyArray<Edge> => {
  const out: Array<Edge> = []
  for (const to of s.targetList) {
    const d = lifecycle.states.get(to)?.dispositions
    const label =
      d === undefined || d.list.length === 0 ? undefined : `${list(d.list)} (${d.required ? "required" : "optional"})`
    out.push({ from: s.name, to, kind: "transition", label })
  }
  const snooze = lifecycle.snoozeState
  if (snooze !== undefined && s.snoozable) out.push({ from: s.name, to: snooze, kind: "snooze", label: "snooze" })
  if (s.name === snooze) {
    for (const back of lifecycle.states.values()) {
      if (back.snoozable) out.push({ from: s.name, to: back.name, kind: "wake", label: "wake" })
    }
  }
  const next = s.followUpNext
  if (next !== undefined) {
    const label = next.disposition === undefined ? "followUpDue" : `followUpDue (${next.disposition})`
    out.push({ from: s.name, to: next.to, kind: "followUpDue", label })
  }
  for (const rule of s.reopen.values()) {
    const label = rule.reasons === undefined || rule.reasons.length === 0 ? "reopen" : `reopen (${list(rule.reasons)})`
    out.push({ from: s.name, to: rule.to, kind: "reopen", label })
  }
  return out
}

// Mermaid's state-diagram lexer reads "-" as part of an arrow, ends a label at ":" or ";",
// and treats some words as keywords (case-insensitively; "default" even as a prefix). Such
// names get an alias id; the state still shows its own name.
const mermaidKeywords = new Set([
  "state",
  "note",
  "class",
  "classdef",
  "scale",
  "acctitle",
  "accdescr",
  "direction",
  "statediagram",
  "hide",
])
const mermaidUnsafe = (id: string): boolean => {
  const lower = id.toLowerCase()
  return (
    /[^A-Za-z0-9_]/.test(id) || mermaidKeywords.has(lower) || lower.startsWith("default") || lower.includes("direction")
  )
}

const mermaidIds = (lifecycle: Lifecycle): ReadonlyMap<string, string> => {
  const ids = new Map<string, string>()
  const taken = new Set<string>()
  for (const name of lifecycle.stateNames) {
    if (!mermaidUnsafe(name)) {
      ids.set(name, name)
      taken.add(name)
    }
  }
  for (const name of lifecycle.stateNames) {
    if (ids.has(name)) continue
    let base = name.replace(/[^A-Za-z0-9_]/g, "_")
    if (mermaidUnsafe(base)) base = `s_${base.replace(/direction/gi, "dir")}`
    let id = base
    for (let n = 2; taken.has(id); n++) id = `${base}_${n}`
    ids.set(name, id)
    taken.add(id)
  }
  return ids
}

/**
 * The lifecycle as a Mermaid `stateDiagram-v2`. States whose names Mermaid cannot take as ids
 * (with "-" or ".", or that read as Mermaid keywords) are declared first under an alias,
 * keeping their real name as the label.
 *
 * @example
 * mermaid(Lifecycle.unsafeMake(b2b))
 * // stateDiagram-v2
 * //   [*] --> new
 * //   new --> qualified
 * //   new --> lost: no_budget | no_fit | competitor | no_response (required)
 * //   ...
 * //   lost --> qualified: reopen
 * //   lost --> [*]
 */
export const mermaid = (lifecycle: Lifecycle): string => {
  const ids = mermaidIds(lifecycle)
  const id = (name: string) => ids.get(name) ?? name
  const lines = ["stateDiagram-v2"]
  for (const name of lifecycle.stateNames) {
    if (id(name) !== name) lines.push(`  state "${name}" as ${id(name)}`)
  }
  lines.push(`  [*] --> ${id(lifecycle.initial)}`)
  for (const s of lifecycle.states.values()) {
    for (const e of edgesFrom(lifecycle, s)) {
      lines.push(`  ${id(e.from)} --> ${id(e.to)}${e.label === undefined ? "" : `: ${e.label}`}`)
    }
    if (s.final) lines.push(`  ${id(s.name)} --> [*]`)
  }
  return `${lines.join("\n")}\n`
}

const quote = (s: string): string => `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\r?\n/g, "\\n")}"`

const edgeStyle: Record<EdgeKind, string | undefined> = {
  transition: undefined,
  snooze: "dashed",
  wake: "dashed",
  followUpDue: "dotted",
  reopen: "bold",
}

/**
 * The lifecycle as a Graphviz DOT digraph, left to right: a point node for the start, final
 * states as double circles, `snooze` and `wake` edges dashed, `followUpDue` dotted and `reopen`
 * bold. Every id is quoted.
 *
 * @example
 * import { writeFileSync } from "node:fs"
 * writeFileSync("b2b.dot", dot(Lifecycle.unsafeMake(b2b))) // then: dot -Tsvg b2b.dot > b2b.svg
 * // digraph "b2b-inside-sales" {
 * //   rankdir=LR;
 * //   "__start" [shape=point];
 * //   "new";
 * //   ...
 * //   "lost" [shape=doublecircle];
 * //   "__start" -> "new";
 * //   "new" -> "qualified";
 * //   ...
 */
export const dot = (lifecycle: Lifecycle): string => {
  // State names begin with a letter, so "__start" cannot collide with one.
  const start = quote("__start")
  const lines = [
    `digraph ${quote(lifecycle.name)} {`,
    "  rankdir=LR;",
    "  node [shape=box, style=rounded];",
    `  ${start} [shape=point];`,
  ]
  for (const s of lifecycle.states.values()) {
    lines.push(s.final ? `  ${quote(s.name)} [shape=doublecircle, style=solid];` : `  ${quote(s.name)};`)
  }
  lines.push(`  ${start} -> ${quote(lifecycle.initial)};`)
  for (const s of lifecycle.states.values()) {
    for (const e of edgesFrom(lifecycle, s)) {
      const style = edgeStyle[e.kind]
      const attrs = [
        ...(e.label === undefined ? [] : [`label=${quote(e.label)}`]),
        ...(style === undefined ? [] : [`style=${style}`]),
      ]
      lines.push(`  ${quote(e.from)} -> ${quote(e.to)}${attrs.length === 0 ? "" : ` [${attrs.join(", ")}]`};`)
    }
  }
  lines.push("}")
  return `${lines.join("\n")}\n`
}
