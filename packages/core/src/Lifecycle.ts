/**
 * A validated, compiled lifecycle: the definition, its transition table, and (built on first
 * use) the XState machine generated from the same definition.
 *
 * @example
 * import { Either } from "effect"
 * import * as Lifecycle from "@leadstate/core/Lifecycle"
 *
 * const lifecycle = Either.getOrThrow(Lifecycle.make(json)) // or `yield* Lifecycle.make(json)` in Effect.gen
 *
 * @since 0.1.0
 */
import { Either, ParseResult, Schema } from "effect"
import * as InputLimits from "./InputLimits.js"
import { InvalidLifecycle, type LifecycleProblem } from "./InvalidLifecycle.js"
import { type CompiledLifecycle, type CompiledState, compile } from "./internal/compile.js"
import { buildMachine, type LeadMachine } from "./internal/machine.js"
import { didYouMean } from "./internal/suggest.js"
import {
  DispositionRule,
  FollowUpDefinition,
  LifecycleDefinition,
  ReopenRule,
  SnoozeDefinition,
  StateDefinition,
  TransitionDefinition,
} from "./LifecycleDefinition.js"

export type { CompiledState } from "./internal/compile.js"
export type { LeadMachine, LeadMachineContext } from "./internal/machine.js"

/** The default {@link MakeOptions.historyLimit}: entries a snapshot keeps in `recent`. */
export const defaultHistoryLimit = 10

/** Options for {@link make}. */
export interface MakeOptions {
  /**
   * How many of the latest history entries a snapshot keeps in `recent` (oldest dropped).
   * Default 10. The whole history is the store's log (`LeadStore.history`), so this bounds the
   * snapshot's size and a move's cost, not what is kept.
   */
  readonly historyLimit?: number
}

/** A lifecycle that passed validation, ready to run. */
export interface Lifecycle {
  readonly name: string
  readonly definition: LifecycleDefinition
  readonly initial: string
  readonly stateNames: ReadonlyArray<string>
  readonly states: ReadonlyMap<string, CompiledState>
  readonly snoozeState: string | undefined
  readonly snoozeDefaultMs: number | undefined
  readonly followUpIntervalMs: number | undefined
  readonly historyLimit: number
  /** The XState machine for the same rules (built on first access). */
  readonly machine: LeadMachine
}

class LifecycleImpl implements Lifecycle {
  readonly name: string
  readonly initial: string
  readonly stateNames: ReadonlyArray<string>
  readonly states: ReadonlyMap<string, CompiledState>
  readonly snoozeState: string | undefined
  readonly snoozeDefaultMs: number | undefined
  readonly followUpIntervalMs: number | undefined
  #machine: LeadMachine | undefined
  constructor(
    readonly definition: LifecycleDefinition,
    compiled: CompiledLifecycle,
    readonly historyLimit: number,
  ) {
    this.name = definition.name
    this.initial = definition.initial
    this.stateNames = compiled.stateNames
    this.states = compiled.states
    this.snoozeState = compiled.snoozeState
    this.snoozeDefaultMs = compiled.snoozeDefaultMs
    this.followUpIntervalMs = compiled.followUpIntervalMs
  }
  get machine(): LeadMachine {
    if (this.#machine === undefined) this.#machine = buildMachine(this)
    return this.#machine
  }
}

const decodeDefinition = Schema.decodeUnknownEither(LifecycleDefinition, { errors: "all", onExcessProperty: "error" })

const nameRule = "a letter, then letters, digits, '_', '.' or '-'"
const stateName = `must be a state name (${nameRule})`
const stateNames = `must be a list of state names (each ${nameRule})`
const duration = `must be a positive whole number of milliseconds, at most ${InputLimits.maxDurationMs} (100 years)`

/** What each field of the definition must be, by path (`[]` for any index, `*` for any state). */
const expectations: ReadonlyMap<string, string> = new Map([
  ["", "must be a JSON object with name, initial, states and transitions"],
  ["$schema", "must be a string (the address of the JSON Schema, for editors)"],
  ["name", "must be a string naming the lifecycle"],
  ["description", "must be a string"],
  ["initial", stateName],
  ["states", "must be a list of states, each an object { name, description?, final?, rank? }"],
  ["states[]", "must be a state: an object { name, description?, final?, rank? }"],
  ["states[].name", stateName],
  ["states[].description", "must be a string"],
  ["states[].final", "must be true or false"],
  ["states[].rank", "must be a whole number"],
  ["transitions", "must be a list of transitions, each an object { from, to }"],
  ["transitions[]", "must be a transition: an object { from, to }"],
  ["transitions[].from", `must be "*", a state name or a list of state names (each ${nameRule})`],
  ["transitions[].from[]", stateName],
  ["transitions[].to", stateName],
  ["dispositions", "must be an object whose keys are state names and whose values are { required, allowed }"],
  ["dispositions.*", "must be an object { required, allowed }"],
  ["dispositions.*.required", "must be true or false"],
  ["dispositions.*.allowed", `must be a list of disposition names (each ${nameRule})`],
  ["dispositions.*.allowed[]", `must be a disposition name (${nameRule})`],
  ["ordering", 'must be "free" or "forward-only"'],
  ["snooze", "must be an object { state, from?, defaultMs? }"],
  ["snooze.state", stateName],
  ["snooze.from", stateNames],
  ["snooze.from[]", stateName],
  ["snooze.defaultMs", duration],
  ["followUps", "must be an object { states, startFrom, intervalMs, exhausted }"],
  ["followUps.states", `must be a non-empty list of state names (each ${nameRule})`],
  ["followUps.states[]", stateName],
  ["followUps.startFrom", stateNames],
  ["followUps.startFrom[]", stateName],
  ["followUps.intervalMs", duration],
  ["followUps.exhausted", "must be an object { to, disposition? }"],
  ["followUps.exhausted.to", stateName],
  ["followUps.exhausted.disposition", `must be a disposition name (${nameRule})`],
  ["reopen", "must be a list of reopen rules, each an object { from, to, reasons? }"],
  ["reopen[]", "must be a reopen rule: an object { from, to, reasons? }"],
  ["reopen[].from", stateName],
  ["reopen[].to", stateName],
  ["reopen[].reasons", `must be a list of reason names (each ${nameRule})`],
  ["reopen[].reasons[]", `must be a reason name (${nameRule})`],
])

/** The fields each object of the definition takes, by path. */
const fieldsOf: ReadonlyMap<string, ReadonlyArray<string>> = new Map([
  ["", Object.keys(LifecycleDefinition.fields)],
  ["states[]", Object.keys(StateDefinition.fields)],
  ["transitions[]", Object.keys(TransitionDefinition.fields)],
  ["dispositions.*", Object.keys(DispositionRule.fields)],
  ["snooze", Object.keys(SnoozeDefinition.fields)],
  ["followUps", Object.keys(FollowUpDefinition.fields)],
  ["followUps.exhausted", Object.keys(FollowUpDefinition.fields.exhausted.fields)],
  ["reopen[]", Object.keys(ReopenRule.fields)],
])

type Key = string | number

const render = (keys: ReadonlyArray<Key>): string =>
  keys.reduce<string>(
    (acc, key) => (typeof key === "number" ? `${acc}[${key}]` : acc === "" ? key : `${acc}.${key}`),
    "",
  )

/** The path with indices as `[]` and disposition keys as `*`, to look up {@link expectations}. */
const pattern = (keys: ReadonlyArray<Key>): string =>
  keys.reduce<string>(
    (acc, key) =>
      typeof key === "number" ? `${acc}[]` : acc === "dispositions" ? `${acc}.*` : acc === "" ? key : `${acc}.${key}`,
    "",
  )

/** How a sentence names the value at `keys`: its last key with any indices after it. */
const label = (keys: ReadonlyArray<Key>): string => {
  let i = keys.length - 1
  while (i >= 0 && typeof keys[i] === "number") i--
  return i < 0 ? "The definition" : `"${render(keys.slice(i))}"`
}

/** The value at `keys` in `input`, through own properties only. */
const valueAt = (input: unknown, keys: ReadonlyArray<Key>): unknown => {
  let value = input
  for (const key of keys) {
    if (typeof value !== "object" || value === null || !Object.hasOwn(value, key)) return undefined
    value = (value as Record<Key, unknown>)[key]
  }
  return value
}

/** A short description of a value, for "got ..." (never the whole value). */
const describeValue = (u: unknown): string => {
  if (u === null || typeof u === "boolean" || typeof u === "number") return String(u)
  if (typeof u === "string") return JSON.stringify(u.length > 40 ? `${u.slice(0, 40)}…` : u)
  if (Array.isArray(u)) return u.length === 0 ? "an empty list" : `a list of ${u.length}`
  if (typeof u === "object") return "an object"
  return u === undefined ? "nothing" : `a ${typeof u}`
}

const shapeSentence = (input: unknown, tag: string, keys: ReadonlyArray<Key>, fallback: string): string => {
  const expected = expectations.get(pattern(keys))
  if (tag === "Missing") return `${label(keys)} is missing; it ${expected ?? "is required"}.`
  if (tag === "Unexpected") {
    const key = String(keys[keys.length - 1])
    const parent = keys.slice(0, -1)
    const allowed = fieldsOf.get(pattern(parent)) ?? []
    const where = parent.length === 0 ? "the definition" : `"${render(parent)}"`
    return `"${key}" is not a field of ${where}.${didYouMean(key, allowed)} Allowed fields: ${allowed.join(", ")}.`
  }
  return expected === undefined
    ? `${label(keys)}: ${fallback}`
    : `${label(keys)} ${expected}; got ${describeValue(valueAt(input, keys))}.`
}

/**
 * One actionable sentence per faulty field: Schema reports a union's every branch (an optional
 * field fails as "not undefined" too) and a parent next to its child, so only the deepest issues
 * are kept, and one problem is made per path.
 */
const shapeProblems = (input: unknown, error: ParseResult.ParseError): Array<LifecycleProblem> => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => ({
    tag: issue._tag,
    keys: issue.path.map((k): Key => (typeof k === "number" ? k : String(k))),
    message: issue.message,
  }))
  const paths = issues.map((issue) => render(issue.keys))
  // Every proper prefix of an issue's path: an issue at one of them has a deeper one under it.
  const id = (keys: ReadonlyArray<Key>) => JSON.stringify(keys)
  const parents = new Set<string>()
  for (const issue of issues) for (let n = 0; n < issue.keys.length; n++) parents.add(id(issue.keys.slice(0, n)))
  const byPath = new Map<string, { tag: string; keys: ReadonlyArray<Key>; message: string }>()
  issues.forEach((issue, i) => {
    if (parents.has(id(issue.keys))) return
    const path = paths[i] ?? ""
    const seen = byPath.get(path)
    const rank = (tag: string) => (tag === "Missing" ? 2 : tag === "Unexpected" ? 1 : 0)
    if (seen === undefined || rank(issue.tag) > rank(seen.tag)) byPath.set(path, issue)
  })
  return [...byPath].map(([path, issue]) => ({
    code: "Shape" as const,
    path,
    message: shapeSentence(input, issue.tag, issue.keys, issue.message),
  }))
}

/** The definition breaks the input limits or is not plain JSON data (checked before decoding). */
const limitProblem = (input: unknown): LifecycleProblem | undefined => {
  const violation = InputLimits.checkJson(input, {
    maxSize: InputLimits.maxDefinitionSize,
    skipUndefinedProperties: true,
    name: "the definition",
  })
  if (violation === undefined) return undefined
  const subject = violation.path === "" ? "The definition" : violation.kind === "ForbiddenKey" ? "This" : "This value"
  return {
    code: violation.kind === "TooDeep" || violation.kind === "TooLarge" ? "TooLarge" : "Shape",
    path: violation.path,
    message: `${subject} ${violation.detail}`,
  }
}

const nameOf = (input: unknown): string => {
  const name =
    typeof input === "object" && input !== null && Object.hasOwn(input, "name")
      ? (input as { readonly name?: unknown }).name
      : undefined
  return typeof name === "string" ? name : "(unnamed)"
}

/**
 * Validates a definition (any JSON value) and compiles it. Every problem is reported at once,
 * each with its path; a definition with problems yields `InvalidLifecycle`. Never throws: a
 * definition nested deeper than `InputLimits.maxDepth`, larger than
 * `InputLimits.maxDefinitionSize`, or holding values that are not plain JSON (or a
 * "__proto__" key) is refused before it is decoded.
 */
export const make = (input: unknown, options: MakeOptions = {}): Either.Either<Lifecycle, InvalidLifecycle> => {
  const limit = limitProblem(input)
  if (limit !== undefined) return Either.left(new InvalidLifecycle({ name: nameOf(input), problems: [limit] }))
  const decoded = decodeDefinition(input)
  if (Either.isLeft(decoded)) {
    const [first, ...rest] = shapeProblems(input, decoded.left)
    const problems: readonly [LifecycleProblem, ...Array<LifecycleProblem>] =
      first === undefined
        ? [{ code: "Shape", path: "", message: "The definition does not have the lifecycle shape." }]
        : [first, ...rest]
    return Either.left(new InvalidLifecycle({ name: nameOf(input), problems }))
  }
  const definition = decoded.right
  const { compiled, problems } = compile(definition)
  const [first, ...rest] = problems
  if (first !== undefined)
    return Either.left(new InvalidLifecycle({ name: definition.name, problems: [first, ...rest] }))
  return Either.right(new LifecycleImpl(definition, compiled, options.historyLimit ?? defaultHistoryLimit))
}

/** Like {@link make}, but throws `InvalidLifecycle`; for definitions known good at build time. */
export const unsafeMake = (input: unknown, options?: MakeOptions): Lifecycle =>
  Either.getOrThrowWith(make(input, options), (e) => e)

/** True when `state` is final in this lifecycle. */
export const isFinal = (lifecycle: Lifecycle, state: string): boolean => lifecycle.states.get(state)?.final === true
