import { describe, expect, it } from "vitest"
import { dot, mermaid } from "../src/Diagram.js"
import { autoDealer } from "../src/examples/autoDealer.js"
import { b2b } from "../src/examples/b2b.js"
import * as Lifecycle from "../src/Lifecycle.js"

type Kind = "transition" | "snooze" | "wake" | "followUpDue" | "reopen"

/** Every edge the compiled table implies, as "from -> to [kind]", sorted. */
const tableEdges = (lifecycle: Lifecycle.Lifecycle): Array<string> => {
  const out: Array<string> = []
  const add = (from: string, to: string, kind: Kind) => out.push(`${from} -> ${to} [${kind}]`)
  for (const s of lifecycle.states.values()) {
    for (const to of s.targetList) add(s.name, to, "transition")
    if (s.snoozable && lifecycle.snoozeState !== undefined) add(s.name, lifecycle.snoozeState, "snooze")
    if (s.name === lifecycle.snoozeState) {
      for (const back of lifecycle.states.values()) if (back.snoozable) add(s.name, back.name, "wake")
    }
    if (s.followUpNext !== undefined) add(s.name, s.followUpNext.to, "followUpDue")
    for (const to of s.reopen.keys()) add(s.name, to, "reopen")
  }
  return out.sort()
}

const kindOf = (label: string | undefined): Kind => {
  const word = label?.split(" ")[0]
  return word === "snooze" || word === "wake" || word === "followUpDue" || word === "reopen" ? word : "transition"
}

/** What the label of a transition into `to` must say, from the table. */
const expectTransitionLabel = (lifecycle: Lifecycle.Lifecycle, to: string, label: string | undefined) => {
  const rule = lifecycle.states.get(to)?.dispositions
  if (rule === undefined) return expect(label, `label into ${to}`).toBeUndefined()
  expect(label, `label into ${to}`).toContain(rule.list[0])
  expect(label, `label into ${to}`).toMatch(rule.required ? /\(required\)$/ : /\(optional\)$/)
}

// Mermaid's lexer: an id is a run of characters other than ":", whitespace, "-" and "{"; a
// label runs from ":" to the end of the line and may hold neither ":" nor ";".
const MERMAID_ID = /^[^:\s\-{]+$/

interface ParsedMermaid {
  readonly header: string | undefined
  readonly aliases: ReadonlyMap<string, string>
  readonly edges: ReadonlyArray<{ readonly from: string; readonly to: string; readonly label: string | undefined }>
  readonly other: ReadonlyArray<string>
}

/** Reads back the subset of Mermaid that `mermaid` writes, mapping alias ids to state names. */
const parseMermaid = (text: string): ParsedMermaid => {
  const [header, ...lines] = text.trimEnd().split("\n")
  const aliases = new Map<string, string>()
  const raw: Array<{ from: string; to: string; label: string | undefined }> = []
  const other: Array<string> = []
  for (const line of lines) {
    const alias = /^ {2}state "([^"]+)" as (\S+)$/.exec(line)
    const edge = /^ {2}(\S+) --> (\S+?)(?:: ([^:;]+))?$/.exec(line)
    if (alias?.[1] !== undefined && alias[2] !== undefined) aliases.set(alias[2], alias[1])
    else if (edge?.[1] !== undefined && edge[2] !== undefined) raw.push({ from: edge[1], to: edge[2], label: edge[3] })
    else other.push(line)
  }
  const name = (id: string) => aliases.get(id) ?? id
  return {
    header,
    aliases,
    edges: raw.map((e) => ({ from: name(e.from), to: name(e.to), label: e.label })),
    other,
  }
}

const examples = [
  { name: "autoDealer", lifecycle: Lifecycle.unsafeMake(autoDealer) },
  { name: "b2b", lifecycle: Lifecycle.unsafeMake(b2b) },
]

describe.each(examples)("mermaid($name)", ({ lifecycle }) => {
  const text = mermaid(lifecycle)
  const parsed = parseMermaid(text)
  const moves = parsed.edges.filter((e) => e.from !== "[*]" && e.to !== "[*]")

  it("is a stateDiagram-v2 made only of aliases and edges", () => {
    expect(text.startsWith("stateDiagram-v2\n")).toBe(true)
    expect(parsed.header).toBe("stateDiagram-v2")
    expect(parsed.other).toEqual([])
  })

  it("starts at the initial state and ends every final state, and only those", () => {
    expect(parsed.edges.filter((e) => e.from === "[*]")).toEqual([
      { from: "[*]", to: lifecycle.initial, label: undefined },
    ])
    const ends = parsed.edges.filter((e) => e.to === "[*]").map((e) => e.from)
    expect(ends).toEqual(lifecycle.stateNames.filter((n) => Lifecycle.isFinal(lifecycle, n)))
  })

  it("mentions every state", () => {
    const mentioned = new Set(parsed.edges.flatMap((e) => [e.from, e.to]))
    for (const name of lifecycle.stateNames) expect(mentioned, name).toContain(name)
  })

  it("draws every edge of the compiled table exactly once, with the right kind", () => {
    const drawn = moves.map((e) => `${e.from} -> ${e.to} [${kindOf(e.label)}]`).sort()
    expect(drawn).toEqual(tableEdges(lifecycle))
  })

  it("labels transitions with the target's dispositions, and only when it takes some", () => {
    for (const e of moves) if (kindOf(e.label) === "transition") expectTransitionLabel(lifecycle, e.to, e.label)
  })

  it("uses ids that Mermaid reads as ids", () => {
    for (const e of text.matchAll(/^ {2}(\S+) --> (\S+?)(?::|$)/gm)) {
      for (const id of [e[1], e[2]]) if (id !== "[*]") expect(id).toMatch(MERMAID_ID)
    }
  })

  it("is the same on every call", () => {
    expect(mermaid(lifecycle)).toBe(text)
  })
})

describe("mermaid, on chosen cases", () => {
  it("draws the b2b lifecycle like this", () => {
    expect(mermaid(Lifecycle.unsafeMake(b2b))).toBe(
      `stateDiagram-v2
  [*] --> new
  new --> qualified
  new --> lost: no_budget | no_fit | competitor | no_response (required)
  qualified --> proposal_sent
  qualified --> lost: no_budget | no_fit | competitor | no_response (required)
  proposal_sent --> qualified
  proposal_sent --> won: signed | signed_with_discount (optional)
  proposal_sent --> lost: no_budget | no_fit | competitor | no_response (required)
  won --> [*]
  lost --> qualified: reopen
  lost --> [*]
`,
    )
  })

  it("shortens long disposition lists, and shows reopen reasons and the exhausted disposition", () => {
    const text = mermaid(Lifecycle.unsafeMake(autoDealer))
    expect(text).toContain("  new --> lost: not_interested | wrong_number | bought_elsewhere | +2 more (required)\n")
    expect(text).toContain("  lost --> contacted: reopen (customer_called_back | new_inquiry)\n")
    expect(text).toContain("  followup_3 --> lost: followUpDue (unreachable)\n")
    expect(text).toContain("  snoozed --> followup_2: wake\n")
    expect(text).toContain("  interested --> snoozed: snooze\n")
  })

  const awkward = Lifecycle.unsafeMake({
    name: "awkward",
    initial: "new",
    states: [
      { name: "new" },
      { name: "a-b" },
      { name: "a_b" },
      { name: "x.y" },
      { name: "state" },
      { name: "note" },
      { name: "default-queue" },
      { name: "s_state" },
      { name: "done", final: true },
    ],
    transitions: [
      { from: "new", to: "a-b" },
      { from: "a-b", to: "a_b" },
      { from: "a_b", to: "x.y" },
      { from: "x.y", to: "state" },
      { from: "state", to: "note" },
      { from: "note", to: "default-queue" },
      { from: "default-queue", to: "s_state" },
      { from: "*", to: "done" },
    ],
  })

  it("aliases names Mermaid cannot take as ids, with unique ids that keep the real name as label", () => {
    const text = mermaid(awkward)
    const parsed = parseMermaid(text)
    expect([...parsed.aliases.values()]).toEqual(["a-b", "x.y", "state", "note", "default-queue"])
    const ids = [...parsed.aliases.keys()]
    expect(new Set([...ids, "new", "a_b", "s_state", "done"]).size).toBe(ids.length + 4)
    for (const id of ids) {
      expect(id).toMatch(/^[A-Za-z][A-Za-z0-9_]*$/)
      expect(["state", "note"]).not.toContain(id.toLowerCase())
      expect(id.toLowerCase().startsWith("default")).toBe(false)
    }
    const drawn = parsed.edges
      .filter((e) => e.from !== "[*]" && e.to !== "[*]")
      .map((e) => `${e.from} -> ${e.to} [${kindOf(e.label)}]`)
      .sort()
    expect(drawn).toEqual(tableEdges(awkward))
    expect(parsed.other).toEqual([])
  })
})

/** Splits DOT text into statements, checking that quotes close and braces balance outside them. */
const scanDot = (text: string): { readonly balanced: boolean; readonly statements: ReadonlyArray<string> } => {
  let depth = 0
  let minDepth = 0
  let quoted = false
  let current = ""
  const statements: Array<string> = []
  for (let i = 0; i < text.length; i++) {
    const c = text[i] ?? ""
    if (quoted) {
      if (c === "\\") {
        current += c + (text[i + 1] ?? "")
        i++
        continue
      }
      if (c === '"') quoted = false
    } else if (c === '"') quoted = true
    else if (c === "{" || c === "}") {
      depth += c === "{" ? 1 : -1
      minDepth = Math.min(minDepth, depth)
      if (current.trim() !== "") statements.push(current.trim())
      current = ""
      continue
    } else if (c === ";" || c === "\n") {
      if (current.trim() !== "") statements.push(current.trim())
      current = ""
      continue
    }
    current += c
  }
  if (current.trim() !== "") statements.push(current.trim())
  return { balanced: depth === 0 && minDepth === 0 && !quoted, statements }
}

const DOT_NODE = /^"((?:[^"\\]|\\.)*)"(?: \[(.*)\])?$/
const DOT_EDGE = /^"((?:[^"\\]|\\.)*)" -> "((?:[^"\\]|\\.)*)"(?: \[(.*)\])?$/

describe.each(examples)("dot($name)", ({ lifecycle }) => {
  const text = dot(lifecycle)
  const { balanced, statements } = scanDot(text)
  const nodes = new Map<string, string>()
  const edges: Array<{ from: string; to: string; attrs: string }> = []
  for (const s of statements) {
    const edge = DOT_EDGE.exec(s)
    const node = DOT_NODE.exec(s)
    if (edge?.[1] !== undefined && edge[2] !== undefined)
      edges.push({ from: edge[1], to: edge[2], attrs: edge[3] ?? "" })
    else if (node?.[1] !== undefined) nodes.set(node[1], node[2] ?? "")
  }
  const label = (attrs: string) => /label="([^"]*)"/.exec(attrs)?.[1]

  it("is one digraph with balanced braces and closed quotes", () => {
    expect(text.startsWith(`digraph "${lifecycle.name}" {\n`)).toBe(true)
    expect(text.trimEnd().endsWith("}")).toBe(true)
    expect(balanced).toBe(true)
  })

  it("draws a point node for the start, pointing at the initial state", () => {
    expect(nodes.get("__start")).toContain("shape=point")
    expect(edges.filter((e) => e.from === "__start").map((e) => e.to)).toEqual([lifecycle.initial])
  })

  it("declares every state, final ones (and only those) as double circles", () => {
    for (const name of lifecycle.stateNames) {
      expect(nodes.has(name), name).toBe(true)
      expect((nodes.get(name) ?? "").includes("shape=doublecircle"), name).toBe(Lifecycle.isFinal(lifecycle, name))
    }
  })

  it("draws every edge of the compiled table exactly once, with the right kind and label", () => {
    const moves = edges.filter((e) => e.from !== "__start")
    const drawn = moves.map((e) => `${e.from} -> ${e.to} [${kindOf(label(e.attrs))}]`).sort()
    expect(drawn).toEqual(tableEdges(lifecycle))
    for (const e of moves) {
      if (kindOf(label(e.attrs)) === "transition") expectTransitionLabel(lifecycle, e.to, label(e.attrs))
    }
  })
})

describe("dot, on chosen cases", () => {
  it("escapes quotes and backslashes in the lifecycle name", () => {
    const text = dot(
      Lifecycle.unsafeMake({ name: 'say "hi" \\', initial: "new", states: [{ name: "new" }], transitions: [] }),
    )
    expect(text.split("\n")[0]).toBe('digraph "say \\"hi\\" \\\\" {')
    expect(scanDot(text).balanced).toBe(true)
  })

  it("styles snooze and wake dashed, followUpDue dotted and reopen bold", () => {
    const text = dot(Lifecycle.unsafeMake(autoDealer))
    expect(text).toContain('  "new" -> "snoozed" [label="snooze", style=dashed];\n')
    expect(text).toContain('  "snoozed" -> "new" [label="wake", style=dashed];\n')
    expect(text).toContain('  "contacted" -> "followup_1" [label="followUpDue", style=dotted];\n')
    expect(text).toContain(
      '  "lost" -> "contacted" [label="reopen (customer_called_back | new_inquiry)", style=bold];\n',
    )
  })
})
