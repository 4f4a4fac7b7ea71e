/**
 * The transition benchmark proper (started by `transition.bench.ts` with `--expose-gc`).
 *
 * One deterministic stream of events over the auto-dealer lifecycle, generated before any
 * timing, runs through:
 *   (a) leadstate's pure `transition` on the compiled table,
 *   (b) a hand-written switch reducer for the same rules (`switchReducer.ts`),
 *   (c) XState's pure `transition(machine, snapshot, event)` on `lifecycle.machine` (a prefix),
 *   (d) one XState actor per lead, `actor.send(event)` (a subset of the leads).
 * (a) and (b) are checked to agree on every event before anything is timed.
 */
import { Either } from "effect"
import { type Actor, createActor, initialTransition, type SnapshotFrom, transition as xstateTransition } from "xstate"
import { autoDealer } from "../src/examples/autoDealer.js"
import * as LeadSnapshot from "../src/LeadSnapshot.js"
import * as Lifecycle from "../src/Lifecycle.js"
import type { SyncIntent } from "../src/SyncIntent.js"
import { start, transition } from "../src/transition.js"
import { type BenchEvent, type EventStream, generateStream, kindNames } from "./events.js"
import { reduce, type SwitchResult } from "./switchReducer.js"

const quick = process.argv.includes("--quick")
const CONFIG = {
  seed: 20_260_105,
  leads: quick ? 1_000 : 10_000,
  events: quick ? 100_000 : 1_000_000,
  invalidShare: 0.2,
  /** Events run through XState's pure transition (c), which is slow (13 µs or more each). */
  xstatePrefix: quick ? 5_000 : 50_000,
  /** Leads (the first N) that get an XState actor in (d). */
  actorLeads: quick ? 200 : 2_000,
  /** Timed repetitions for (a) and (b), and for the slower (c) and (d). */
  rounds: quick ? 2 : 3,
  slowRounds: quick ? 1 : 3,
  /** Events each path runs untimed before its measured runs. */
  warmupEvents: quick ? 20_000 : 200_000,
} as const

const gcFn = globalThis.gc
if (gcFn === undefined) throw new Error("runBench needs --expose-gc; run transition.bench.ts instead.")
/** A full collection (twice when `settle`, before reading heap sizes). */
const gc = (settle = false): void => {
  gcFn()
  if (settle) gcFn()
}

type Machine = Lifecycle.Lifecycle["machine"]
type MachineSnapshot = SnapshotFrom<Machine>
type MachineEvent = Parameters<typeof xstateTransition<Machine>>[2]

interface Clock {
  readonly wall: bigint
  readonly cpu: NodeJS.CpuUsage
}
const clock = (): Clock => ({ wall: process.hrtime.bigint(), cpu: process.cpuUsage() })
/** "12.3 s (cpu 10.1 s)" since `from`. */
const since = (from: Clock): string => {
  const c = process.cpuUsage(from.cpu)
  const wall = Number(process.hrtime.bigint() - from.wall) / 1e9
  return `${wall.toFixed(1)} s (cpu ${((c.user + c.system) / 1e6).toFixed(1)} s)`
}
const benchStart = clock()

// ---------------------------------------------------------------------------------------------
// Setup: lifecycle, stream, initial snapshots. Nothing here is timed.

const lifecycle = Lifecycle.unsafeMake(autoDealer)
const machine = lifecycle.machine
const genStart = clock()
const stream: EventStream = generateStream({
  seed: CONFIG.seed,
  leads: CONFIG.leads,
  events: CONFIG.events,
  invalidShare: CONFIG.invalidShare,
})
const genTime = since(genStart)
const N = stream.events.length
const events = stream.events
const leadOf = stream.lead
const initial: ReadonlyArray<LeadSnapshot.LeadSnapshot> = stream.leadIds.map(
  (leadId) => start(lifecycle, { leadId, at: stream.createdAt }).snapshot,
)

// Subset for (d): the events of the first `actorLeads` leads, in stream order.
const subsetIdx: Array<number> = []
for (let i = 0; i < N; i++) if ((leadOf[i] as number) < CONFIG.actorLeads) subsetIdx.push(i)
const subLead = Int32Array.from(subsetIdx, (i) => leadOf[i] as number)
const subEvents: ReadonlyArray<BenchEvent> = subsetIdx.map((i) => events[i] as BenchEvent)

// ---------------------------------------------------------------------------------------------
// Agreement: (a) and (b) on the whole stream, and the generator's expectation. Fails loudly.

const fmtEvent = (i: number) => `event #${i} (${stream.leadIds[leadOf[i] as number]}): ${JSON.stringify(events[i])}`

const sameFields = (x: object, y: object): boolean => {
  const kx = Object.keys(x)
  if (kx.length !== Object.keys(y).length) return false
  for (const k of kx) if ((x as Record<string, unknown>)[k] !== (y as Record<string, unknown>)[k]) return false
  return true
}
const sameEntry = (x: LeadSnapshot.HistoryEntry | undefined, y: LeadSnapshot.HistoryEntry | undefined): boolean =>
  x === y || (x !== undefined && y !== undefined && sameFields(x, y))
const snapshotDiff = (x: LeadSnapshot.LeadSnapshot, y: LeadSnapshot.LeadSnapshot): string | undefined => {
  if (Object.keys(x).length !== Object.keys(y).length) return "fields"
  if (x.schemaVersion !== y.schemaVersion) return "schemaVersion"
  if (x.leadId !== y.leadId) return "leadId"
  if (x.state !== y.state) return "state"
  if (x.previousState !== y.previousState) return "previousState"
  if (x.disposition !== y.disposition) return "disposition"
  if (x.enteredAt !== y.enteredAt) return "enteredAt"
  if (x.updatedAt !== y.updatedAt) return "updatedAt"
  if (x.version !== y.version) return "version"
  if (x.snoozedFrom !== y.snoozedFrom) return "snoozedFrom"
  if (x.due?.event !== y.due?.event || x.due?.at !== y.due?.at) return "due"
  if (!sameFields(x.metadata, y.metadata)) return "metadata"
  if (x.recent.length !== y.recent.length) return "recent length"
  if (!sameEntry(x.recent[x.recent.length - 1], y.recent[y.recent.length - 1])) return "last history entry"
  return undefined
}
const intentDiff = (x: SyncIntent | undefined, y: SyncIntent | undefined): string | undefined =>
  x === y || (x !== undefined && y !== undefined && sameFields(x, y)) ? undefined : "intent"

interface Verified {
  readonly finals: ReadonlyArray<LeadSnapshot.LeadSnapshot>
  readonly rejected: number
  readonly byKind: ReadonlyArray<{ readonly events: number; readonly rejected: number }>
  readonly byTag: ReadonlyMap<string, number>
  readonly typical: LeadSnapshot.LeadSnapshot | undefined
}

const verify = (): Verified => {
  const a = initial.slice()
  const b = initial.slice()
  let rejected = 0
  const byKind = kindNames.map(() => ({ events: 0, rejected: 0 }))
  const byTag = new Map<string, number>()
  let typical: LeadSnapshot.LeadSnapshot | undefined
  for (let i = 0; i < N; i++) {
    const li = leadOf[i] as number
    const ev = events[i] as BenchEvent
    const ra = transition(lifecycle, a[li] as LeadSnapshot.LeadSnapshot, ev)
    const rb = reduce(b[li] as LeadSnapshot.LeadSnapshot, ev)
    const k = byKind[stream.kind[i] as number] as { events: number; rejected: number }
    k.events++
    if (Either.isRight(ra) !== rb.ok) {
      throw new Error(
        `(a) and (b) disagree on accept/reject at ${fmtEvent(i)}: (a) ${Either.isRight(ra) ? "accepted" : ra.left._tag}, (b) ${rb.ok ? "accepted" : rb.error._tag}`,
      )
    }
    if (Either.isRight(ra) !== (stream.expectValid[i] === 1)) {
      throw new Error(
        `the generator expected ${stream.expectValid[i] === 1 ? "acceptance" : "rejection"} (${kindNames[stream.kind[i] as number]}) but (a) ${Either.isRight(ra) ? "accepted" : `rejected it: ${ra.left.message}`} at ${fmtEvent(i)}`,
      )
    }
    if (Either.isLeft(ra)) {
      const rbErr = (rb as Extract<SwitchResult, { ok: false }>).error
      if (ra.left._tag !== rbErr._tag) {
        throw new Error(`(a) and (b) reject with different errors at ${fmtEvent(i)}: ${ra.left._tag} vs ${rbErr._tag}`)
      }
      rejected++
      k.rejected++
      byTag.set(ra.left._tag, (byTag.get(ra.left._tag) ?? 0) + 1)
      continue
    }
    const rbOk = rb as Extract<SwitchResult, { ok: true }>
    const diff =
      snapshotDiff(ra.right.snapshot, rbOk.snapshot) ??
      (ra.right.intents.length !== rbOk.intents.length
        ? "intent count"
        : intentDiff(ra.right.intents[0], rbOk.intents[0]))
    if (diff !== undefined) throw new Error(`(a) and (b) differ in ${diff} at ${fmtEvent(i)}`)
    a[li] = ra.right.snapshot
    b[li] = rbOk.snapshot
    const s = ra.right.snapshot
    if (
      typical === undefined &&
      s.state === "interested" &&
      s.disposition !== undefined &&
      s.version >= 8 &&
      Object.keys(s.metadata).length >= 2
    )
      typical = s
  }
  // Whole final snapshots, history included, must be identical.
  for (let li = 0; li < a.length; li++) {
    const sa = a[li] as LeadSnapshot.LeadSnapshot
    const sb = b[li] as LeadSnapshot.LeadSnapshot
    // Plain JSON first (fast); the encoder's canonical field order only if key order differs.
    if (JSON.stringify(sa) === JSON.stringify(sb)) continue
    const ja = LeadSnapshot.toJson(sa)
    const jb = LeadSnapshot.toJson(sb)
    if (ja !== jb) throw new Error(`(a) and (b) end with different snapshots for ${stream.leadIds[li]}:\n${ja}\n${jb}`)
  }
  return { finals: a, rejected, byKind, byTag, typical }
}

const verifyStart = clock()
const verified = verify()
const verifyTime = since(verifyStart)

// XState's decisions on the prefix, for information: does the machine accept what (a) accepts?
const xstateAgreement = () => {
  const [init] = initialTransition(machine)
  const xs: Array<MachineSnapshot> = stream.leadIds.map(() => init)
  const a = initial.slice()
  const diverged = new Uint8Array(stream.leadIds.length)
  let agree = 0
  const disagree = new Map<string, number>()
  for (let i = 0; i < CONFIG.xstatePrefix; i++) {
    const li = leadOf[i] as number
    const ev = events[i] as BenchEvent
    const [next, actions] = xstateTransition(machine, xs[li] as MachineSnapshot, ev as MachineEvent)
    const ra = transition(lifecycle, a[li] as LeadSnapshot.LeadSnapshot, ev)
    xs[li] = next
    if (Either.isRight(ra)) a[li] = ra.right.snapshot
    if (diverged[li] === 1) continue
    const xAccepted = actions.some((x) => x.type === "setState" || x.type === "mergeMetadata")
    // The machine is flat, so its state value is the state's name.
    const sameState = (next.value as unknown) === (a[li] as LeadSnapshot.LeadSnapshot).state
    if (xAccepted === Either.isRight(ra) && sameState) agree++
    else {
      diverged[li] = 1
      const k = kindNames[stream.kind[i] as number] as string
      disagree.set(k, (disagree.get(k) ?? 0) + 1)
    }
  }
  return { agree, disagree }
}
const xAgreement = xstateAgreement()

// ---------------------------------------------------------------------------------------------
// The timed paths. Each returns a checksum so that no work can be optimised away.

const runA = (n: number): number => {
  const snaps = initial.slice()
  let check = 0
  for (let i = 0; i < n; i++) {
    const li = leadOf[i] as number
    const r = transition(lifecycle, snaps[li] as LeadSnapshot.LeadSnapshot, events[i])
    if (Either.isRight(r)) {
      snaps[li] = r.right.snapshot
      check += r.right.intents.length
    } else check += r.left._tag.length
  }
  return check
}

const runB = (n: number): number => {
  const snaps = initial.slice()
  let check = 0
  for (let i = 0; i < n; i++) {
    const li = leadOf[i] as number
    const r = reduce(snaps[li] as LeadSnapshot.LeadSnapshot, events[i])
    if (r.ok) {
      snaps[li] = r.snapshot
      check += r.intents.length
    } else check += r.error._tag.length
  }
  return check
}

const [xInit] = initialTransition(machine)
const runC = (n: number): number => {
  const snaps: Array<MachineSnapshot> = stream.leadIds.map(() => xInit)
  let check = 0
  for (let i = 0; i < n; i++) {
    const li = leadOf[i] as number
    const [next, actions] = xstateTransition(machine, snaps[li] as MachineSnapshot, events[i] as MachineEvent)
    snaps[li] = next
    check += actions.length
  }
  return check
}

type LeadActor = Actor<Machine>
const makeActors = (n: number): Array<LeadActor> => Array.from({ length: n }, () => createActor(machine).start())
const stopActors = (actors: ReadonlyArray<LeadActor>) => {
  for (const actor of actors) actor.stop()
}

/** One measurement: wall-clock and process CPU time (user + system, all threads: GC helpers too). */
interface Measured {
  readonly wallNs: number
  readonly cpuNs: number
  readonly check: number
}
const measure = (f: () => number): Measured => {
  gc()
  const c0 = process.cpuUsage()
  const t0 = process.hrtime.bigint()
  const check = f()
  const wallNs = Number(process.hrtime.bigint() - t0)
  const c = process.cpuUsage(c0)
  return { wallNs, cpuNs: (c.user + c.system) * 1000, check }
}

/** Sends the first `n` subset events to fresh actors; creating them is measured apart. */
const runD = (n: number): { readonly send: Measured; readonly create: Measured } => {
  let actors: Array<LeadActor> = []
  const create = measure(() => {
    actors = makeActors(CONFIG.actorLeads)
    return actors.length
  })
  const send = measure(() => {
    for (let j = 0; j < n; j++) {
      ;(actors[subLead[j] as number] as LeadActor).send(subEvents[j] as MachineEvent)
    }
    let check = 0
    for (const actor of actors) check += String(actor.getSnapshot().value).length
    return check
  })
  stopActors(actors)
  return { send, create }
}

interface Samples {
  readonly label: string
  readonly events: number
  /** ns per event (or per item), one per run. */
  readonly wall: Array<number>
  readonly cpu: Array<number>
  check: number | undefined
}
const samples = (label: string, count: number): Samples => ({
  label,
  events: count,
  wall: [],
  cpu: [],
  check: undefined,
})
const record = (s: Samples, m: Measured) => {
  if (s.check !== undefined && s.check !== m.check) throw new Error(`${s.label}: checksum changed between runs`)
  s.check = m.check
  s.wall.push(m.wallNs / s.events)
  s.cpu.push(m.cpuNs / s.events)
}
const median = (xs: ReadonlyArray<number>): number => {
  const sorted = [...xs].sort((x, y) => x - y)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}
const best = (xs: ReadonlyArray<number>): number => Math.min(...xs)

const P = CONFIG.xstatePrefix
const D = subEvents.length
const sA = samples("(a) leadstate transition (compiled table)", N)
const sB = samples("(b) hand-written switch reducer", N)
/** (a) on (c)'s few events is repeated, so that one run lasts as long as the others. */
const prefixReps = Math.max(1, Math.round(CONFIG.warmupEvents / P))
const sAp = samples(`(a) leadstate transition, (c)'s events x${prefixReps}`, P * prefixReps)
const sC = samples("(c) xstate transition(machine, snapshot, event)", P)
const sD = samples("(d) xstate actor per lead, actor.send(event)", D)
const sDc = samples("    createActor(machine).start(), per actor", CONFIG.actorLeads)

const timingStart = clock()
// Warm-up: every path on a part of its events, untimed ((c) was warmed by the agreement check).
runA(Math.min(N, CONFIG.warmupEvents))
runB(Math.min(N, CONFIG.warmupEvents))
runC(Math.min(P, CONFIG.warmupEvents / 20))
runD(Math.min(D, CONFIG.warmupEvents / 10))
// (a) and (b) interleaved, so that machine noise hits both alike.
for (let r = 0; r < CONFIG.rounds; r++) {
  record(
    sA,
    measure(() => runA(N)),
  )
  record(
    sB,
    measure(() => runB(N)),
  )
  record(
    sAp,
    measure(() => {
      let check = 0
      for (let k = 0; k < prefixReps; k++) check += runA(P)
      return check
    }),
  )
}
for (let r = 0; r < CONFIG.slowRounds; r++) {
  record(
    sC,
    measure(() => runC(P)),
  )
  const d = runD(D)
  record(sD, d.send)
  record(sDc, d.create)
}
const timingTime = since(timingStart)

// ---------------------------------------------------------------------------------------------
// Memory: heap bytes per lead held, and stored JSON sizes.

const heapPerLead = (build: () => ReadonlyArray<unknown>): number => {
  gc(true)
  const h0 = process.memoryUsage().heapUsed
  const held = build()
  gc(true)
  const h1 = process.memoryUsage().heapUsed
  if (held.length === 0) throw new Error("nothing held")
  return (h1 - h0) / held.length
}
const M = CONFIG.actorLeads
const runSubsetA = (lc: Lifecycle.Lifecycle) => {
  const snaps = stream.leadIds.slice(0, M).map((leadId) => start(lc, { leadId, at: stream.createdAt }).snapshot)
  for (let j = 0; j < subEvents.length; j++) {
    const li = subLead[j] as number
    const r = transition(lc, snaps[li] as LeadSnapshot.LeadSnapshot, subEvents[j])
    if (Either.isRight(r)) snaps[li] = r.right.snapshot
  }
  return snaps
}
const noHistory = Lifecycle.unsafeMake(autoDealer, { historyLimit: 0 })
const heapFreshA = heapPerLead(() =>
  stream.leadIds.map((leadId) => start(lifecycle, { leadId, at: stream.createdAt }).snapshot),
)
let heldActors: Array<LeadActor> = []
const heapFreshD = heapPerLead(() => {
  heldActors = makeActors(stream.leadIds.length)
  return heldActors
})
stopActors(heldActors)
heldActors = []
let avgHistory = 0
const heapAfterA = heapPerLead(() => {
  const snaps = runSubsetA(lifecycle)
  avgHistory = snaps.reduce((n, s) => n + s.recent.length, 0) / snaps.length
  return snaps
})
const heapAfterA0 = heapPerLead(() => runSubsetA(noHistory))
const heapAfterD = heapPerLead(() => {
  heldActors = makeActors(M)
  for (let j = 0; j < subEvents.length; j++) {
    ;(heldActors[subLead[j] as number] as LeadActor).send(subEvents[j] as MachineEvent)
  }
  return heldActors
})
stopActors(heldActors)
heldActors = []

const bytes = (s: string) => Buffer.byteLength(s, "utf8")
const typical = verified.typical
if (typical === undefined) throw new Error("no typical mid-journey snapshot found in the stream")
const jsonTypicalNoHistory = LeadSnapshot.toJson({ ...typical, recent: [] })
const jsonTypicalBare = LeadSnapshot.toJson({ ...typical, recent: [], metadata: {} })
const jsonTypicalHistory = LeadSnapshot.toJson(typical)
let sumNoHistory = 0
let sumHistory = 0
let sumEntries = 0
// Every 10th lead: the encoder is slow on long histories, and a tenth gives the same mean.
const sampled = verified.finals.filter((_, i) => i % 10 === 0)
for (const s of sampled) {
  sumNoHistory += bytes(LeadSnapshot.toJson({ ...s, recent: [] }))
  sumHistory += bytes(LeadSnapshot.toJson(s))
  sumEntries += s.recent.length
}
const L = verified.finals.length
const LS = sampled.length

// ---------------------------------------------------------------------------------------------
// Report.

const int = (n: number) => Math.round(n).toLocaleString("en-US")
const ns = (n: number) => (n >= 100 ? int(n) : n.toFixed(1))
const pad = (s: string, w: number) => s.padEnd(w)
const lpad = (s: string, w: number) => s.padStart(w)
const pct = (x: number, of: number) => `${((100 * x) / of).toFixed(1)}%`

console.log("leadstate transition benchmark")
console.log(
  `node ${process.version}, xstate ${await xstateVersion()}, ${(await import("node:os")).cpus().length} cpus; seed ${CONFIG.seed}${quick ? "; QUICK RUN (smoke test only)" : ""}`,
)
console.log(
  `stream: ${int(N)} events over ${int(L)} leads, generated in ${genTime}; ${int(verified.rejected)} rejected (${pct(verified.rejected, N)})`,
)
console.log("")
console.log("event mix                                 events   rejected")
kindNames.forEach((name, i) => {
  const k = verified.byKind[i] as { readonly events: number; readonly rejected: number }
  if (k.events > 0) console.log(`  ${pad(name, 36)} ${lpad(pct(k.events, N), 8)} ${lpad(int(k.rejected), 10)}`)
})
console.log(
  `  errors: ${[...verified.byTag.entries()]
    .sort((x, y) => y[1] - x[1])
    .map(([t, c]) => `${t} ${int(c)}`)
    .join(", ")}`,
)
console.log("")
console.log(
  `agreement: (a) and (b) agree on accept/reject, error tag, resulting snapshot and intent for all ${int(N)} events, and on every final snapshot (checked in ${verifyTime})`,
)
const xDis = [...xAgreement.disagree.entries()].map(([k, c]) => `${k} ${c}`).join(", ")
console.log(
  `xstate machine vs (a) on the first ${int(P)} events: ${int(xAgreement.agree)} agree${xDis === "" ? "" : `; first disagreement per lead by kind: ${xDis}`} (informational)`,
)
console.log("")

const bCpu = median(sB.cpu)
const bWall = median(sB.wall)
const W = 50
const C = 18
console.log(
  `${pad("path", W)} ${lpad("events", 9)} ${lpad("cpu ns/event", C)} ${lpad("x (b)", 7)} ${lpad("wall ns/event", C)} ${lpad("x (b)", 7)}`,
)
console.log(`${pad("", W)} ${lpad("", 9)} ${lpad("median (best)", C)} ${lpad("", 7)} ${lpad("median (best)", C)}`)
const cell = (xs: ReadonlyArray<number>, w: number) => lpad(`${ns(median(xs))} (${ns(best(xs))})`, w)
for (const s of [sA, sB, sAp, sC, sD, sDc]) {
  const isCreate = s === sDc
  console.log(
    `${pad(s.label, W)} ${lpad(int(s.events), 9)} ${cell(s.cpu, C)} ${lpad(isCreate ? "" : (median(s.cpu) / bCpu).toFixed(2), 7)} ${cell(s.wall, C)} ${lpad(isCreate ? "" : (median(s.wall) / bWall).toFixed(2), 7)}`,
  )
}
console.log(
  `(${CONFIG.rounds} runs of (a)/(b) interleaved, ${CONFIG.slowRounds} of (c)/(d), after a warm-up; (c) on the first ${int(P)} events, (d) on the events of the first ${int(M)} leads. cpu = process CPU time incl. GC threads, steadier than wall on a loaded machine.)`,
)
console.log("")
console.log("storage and memory")
const row = (label: string, value: string) => console.log(`  ${pad(label, 74)} ${lpad(value, 9)}`)
row("snapshot JSON, typical mid-journey lead, no history, no metadata", `${bytes(jsonTypicalBare)} B`)
console.log(`    ${jsonTypicalBare}`)
row(
  `snapshot JSON, same lead, no history, its metadata (${Object.keys(typical.metadata).length} keys)`,
  `${bytes(jsonTypicalNoHistory)} B`,
)
row(
  `snapshot JSON, same lead, with its recent history (${typical.recent.length} entries)`,
  `${bytes(jsonTypicalHistory)} B`,
)
row(`snapshot JSON, mean over ${int(LS)} leads at end of stream, no history`, `${int(sumNoHistory / LS)} B`)
row(
  `snapshot JSON, mean over the same leads, with recent history (mean ${(sumEntries / LS).toFixed(0)} entries)`,
  `${int(sumHistory / LS)} B`,
)
row("heap per lead held, (a) new lead snapshot", `${int(heapFreshA)} B`)
row("heap per lead held, (d) new started actor", `${int(heapFreshD)} B`)
row(
  `heap per lead held, (a) snapshot after its events (recent ${avgHistory.toFixed(0)} entries)`,
  `${int(heapAfterA)} B`,
)
row("heap per lead held, (a) snapshot after its events, historyLimit 0", `${int(heapAfterA0)} B`)
row("heap per lead held, (d) actor after the same events", `${int(heapAfterD)} B`)
console.log(
  `  (heap rows: ${int(L)} leads for new ones, the first ${int(M)} leads after their ${int(subEvents.length)} events)`,
)
console.log("")

// transition() against a lead's history length: the same move applied to a lead just created
// and to one that made 10,000 moves before (its log is the store's; the snapshot keeps `recent`).
const cycleLifecycle = Lifecycle.unsafeMake(autoDealer)
const historyBase = (moves: number): LeadSnapshot.LeadSnapshot => {
  let s = start(cycleLifecycle, { leadId: "h", at: stream.createdAt }).snapshot
  const to = (state: string, disposition?: string) =>
    disposition === undefined ? { type: "transition", to: state } : { type: "transition", to: state, disposition }
  s = Either.getOrThrow(transition(cycleLifecycle, s, to("contacted"))).snapshot
  for (let i = 0; i < moves; i++) {
    // snooze and wake: a two-step cycle the auto-dealer lifecycle allows from "contacted"
    const step = transition(
      cycleLifecycle,
      s,
      i % 2 === 0 ? { type: "snooze", until: s.updatedAt + 1_000 } : { type: "wake" },
    )
    s = Either.getOrThrow(step).snapshot
  }
  return s
}
const base0 = historyBase(0)
const base10k = historyBase(10_000)
const historyEvent = { type: "transition", to: "interested", disposition: "price_inquiry" }
const timeHistory = (base: LeadSnapshot.LeadSnapshot, n: number): number => {
  const c0 = process.cpuUsage()
  for (let i = 0; i < n; i++) {
    if (Either.isLeft(transition(cycleLifecycle, base, historyEvent))) throw new Error("history bench move refused")
  }
  const c = process.cpuUsage(c0)
  return ((c.user + c.system) * 1_000) / n
}
const historyN = 200_000
timeHistory(base0, historyN / 4)
timeHistory(base10k, historyN / 4)
const h0: Array<number> = []
const h10k: Array<number> = []
for (let round = 0; round < 5; round++) {
  if (round % 2 === 0) {
    h0.push(timeHistory(base0, historyN))
    h10k.push(timeHistory(base10k, historyN))
  } else {
    h10k.push(timeHistory(base10k, historyN))
    h0.push(timeHistory(base0, historyN))
  }
}
const ratioHistory = median(h10k) / median(h0)
console.log("transition() and history length (the same move; cpu ns/event, median of 5 interleaved runs of 200,000)")
console.log(
  `  lead with 0 earlier moves             ${lpad(int(median(h0)), 8)} ns   (snapshot recent: ${base0.recent.length})`,
)
console.log(
  `  lead with 10,000 earlier moves        ${lpad(int(median(h10k)), 8)} ns   (snapshot recent: ${base10k.recent.length}, version ${base10k.version})`,
)
console.log("")

const ratioAB = median(sA.cpu) / bCpu
const ratioABWall = median(sA.wall) / bWall
const ratioCA = median(sC.cpu) / median(sAp.cpu)
const ratioCAWall = median(sC.wall) / median(sAp.wall)
const ratioCAFull = median(sC.cpu) / median(sA.cpu)
const verdict = (ok: boolean) => (ok ? "MET" : "MISSED")
console.log("targets (judged on median cpu time; wall in brackets)")
console.log(
  `  (a) within 3x of (b):               ${pad(`${ratioAB.toFixed(2)}x (wall ${ratioABWall.toFixed(2)}x)`, 44)} ${verdict(ratioAB <= 3)}`,
)
console.log(
  `  (a) more than 100x faster than (c): ${pad(`${ratioCA.toFixed(1)}x on the same ${int(P)} events (wall ${ratioCAWall.toFixed(1)}x; ${ratioCAFull.toFixed(1)}x vs (a) on the full stream)`, 44)} ${verdict(ratioCA > 100)}`,
)
console.log(
  `  transition() at 10,000 history entries within 1.5x of 0: ${pad(`${ratioHistory.toFixed(2)}x`, 28)} ${verdict(ratioHistory <= 1.5)}`,
)
const bare = bytes(jsonTypicalBare)
const withMeta = bytes(jsonTypicalNoHistory)
console.log(`  snapshot JSON without history < 200 B: ${pad(`${bare} B without metadata`, 40)} ${verdict(bare < 200)}`)
console.log(
  `                                         ${pad(`${withMeta} B with its ${Object.keys(typical.metadata).length} metadata keys`, 40)} ${verdict(withMeta < 200)}`,
)
console.log("")
console.log(`total ${since(benchStart)}: generate ${genTime}, verify ${verifyTime}, timed paths ${timingTime}`)

async function xstateVersion(): Promise<string> {
  try {
    const { createRequire } = await import("node:module")
    const require = createRequire(import.meta.url)
    const pkg = require("xstate/package.json") as { readonly version?: string }
    return pkg.version ?? "?"
  } catch {
    return "?"
  }
}
