/**
 * The limits leadstate puts on untrusted input (lifecycle definitions, event and snapshot
 * metadata, webhook bodies, times and durations), and the one checker that enforces them.
 *
 * `checkJson` walks a value with an explicit stack (no recursion, so no stack overflow
 * whatever the nesting) and is run BEFORE any Schema decoder that recurses, so a hostile value
 * is refused with a typed error instead of crashing the decoder or its error formatter.
 *
 * @example
 * import { InputLimits } from "@leadstate/core"
 *
 * const problem = InputLimits.checkJson(JSON.parse(body), { maxSize: InputLimits.maxMetadataSize })
 * if (problem !== undefined) console.error(problem.message)
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/**
 * How deeply arrays and objects may nest in untrusted JSON: the outermost container is level 1
 * (so metadata may hold values 31 levels deep below its own object). Choice: 32 is far beyond
 * any real metadata or definition and far below what recursive decoders survive.
 */
export const maxDepth = 32

/**
 * The most characters of JSON text (`JSON.stringify(value).length`) metadata may take, per event
 * and per snapshot (after merging). Choice: 64 Ki characters; vendors cap custom fields lower.
 */
export const maxMetadataSize = 65_536

/** The most characters of JSON text a lifecycle definition may take (1 Mi characters). */
export const maxDefinitionSize = 1_048_576

/** The largest webhook body a decoder reads, in bytes (1 MiB). */
export const maxWebhookBodySize = 1_048_576

/** The earliest time leadstate accepts, epoch milliseconds (1970-01-01). */
export const minTime = 0

/** The last time JavaScript's `Date` can represent, epoch milliseconds (+275760-09-13). */
export const maxTime = 8.64e15

/**
 * The longest duration a definition may name (`snooze.defaultMs`, `followUps.intervalMs`):
 * 100 years of 365.25 days, so that a valid time plus a duration stays a valid time in practice.
 */
export const maxDurationMs = 3_155_760_000_000

/** True for a valid time: a whole number of epoch milliseconds from {@link minTime} to {@link maxTime}. */
export const isTime = (u: unknown): u is number =>
  typeof u === "number" && Number.isInteger(u) && u >= minTime && u <= maxTime

/** Schema of a time: whole epoch milliseconds from {@link minTime} to {@link maxTime}. */
export const Time = Schema.Int.pipe(
  Schema.between(minTime, maxTime),
  Schema.annotations({
    identifier: "Time",
    description: `Epoch milliseconds: a whole number from ${minTime} to ${maxTime} (the last date JavaScript can represent).`,
  }),
)

/** Schema of a duration in a definition: whole milliseconds from 1 to {@link maxDurationMs}. */
export const DurationMs = Schema.Int.pipe(
  Schema.positive(),
  Schema.lessThanOrEqualTo(maxDurationMs),
  Schema.annotations({ description: `Whole milliseconds, from 1 to ${maxDurationMs} (100 years).` }),
)

/** What kind of limit a {@link Violation} broke. */
export type ViolationKind = "NotJson" | "TooDeep" | "TooLarge" | "ForbiddenKey"

/** Why a value was refused, where, and a sentence saying what to do. */
export interface Violation {
  readonly kind: ViolationKind
  /** Where, like `metadata.tags[2]`; the root path given to {@link checkJson} for size. */
  readonly path: string
  /** The sentence without its subject, like `is NaN, which JSON cannot carry; ...`. */
  readonly detail: string
  /** `path` (or the value's name) followed by `detail`. */
  readonly message: string
}

/** Options of {@link checkJson}. */
export interface CheckOptions {
  /** Deepest nesting allowed (the outermost container is level 1). Default {@link maxDepth}. */
  readonly maxDepth?: number
  /** Most characters of JSON text allowed. Default: no bound. */
  readonly maxSize?: number
  /** The path of the value itself, prefixed to every reported path. Default "". */
  readonly path?: string
  /** How messages name the value when the path is "". Default "the value". */
  readonly name?: string
  /**
   * Skip object properties whose value is `undefined`, as `JSON.stringify` does (for definitions
   * written in TypeScript). Default false: such a property is refused.
   */
  readonly skipUndefinedProperties?: boolean
}

/**
 * The key leadstate refuses anywhere in untrusted JSON: `JSON.parse` makes it an own key, but
 * assigning it (as decoders do) sets the object's prototype instead, so the data is lost.
 */
export const forbiddenKey = "__proto__"

interface Frame {
  readonly value: unknown
  readonly depth: number
  readonly parent: Frame | undefined
  readonly key: string | number | undefined
}

const identifier = /^[A-Za-z_$][A-Za-z0-9_$]*$/
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching the characters JSON escapes
const needsEscape = /[\u0000-\u001f"\\\ud800-\udfff]/

const clip = (s: string, max: number): string => (s.length <= max ? s : `${s.slice(0, max)}…`)

const renderKey = (key: string | number, first: boolean): string =>
  typeof key === "number"
    ? `[${key}]`
    : identifier.test(key)
      ? first
        ? key
        : `.${key}`
      : `[${clip(JSON.stringify(key), 40)}]`

const pathOf = (root: string, frame: Frame | undefined, key?: string | number): string => {
  const keys: Array<string | number> = key === undefined ? [] : [key]
  for (let f = frame; f !== undefined; f = f.parent) if (f.key !== undefined) keys.push(f.key)
  keys.reverse()
  let out = root
  for (const k of keys) out += renderKey(k, out === "")
  return clip(out, 300)
}

const stringSize = (s: string): number => (needsEscape.test(s) ? JSON.stringify(s).length : s.length + 2)

const describeInstance = (value: object): string => {
  const ctor = (Object.getPrototypeOf(value) as { readonly constructor?: unknown } | null)?.constructor
  const name = typeof ctor === "function" && typeof ctor.name === "string" && ctor.name !== "" ? ctor.name : "object"
  return `a ${clip(name, 40)} instance`
}

/** The size in JSON of a scalar, why it cannot be JSON (a sentence), or `undefined` for a container. */
const scalar = (v: unknown): number | string | undefined => {
  switch (typeof v) {
    case "string":
      return stringSize(v)
    case "boolean":
      return v ? 4 : 5
    case "number":
      return Number.isFinite(v)
        ? String(v).length
        : `is ${v}, which JSON cannot carry; use a finite number, a string or null.`
    case "undefined":
      return "is undefined, which JSON cannot carry; use null, or leave it out."
    case "bigint":
      return "is a bigint, which JSON cannot carry; use a number or a string."
    case "symbol":
    case "function":
      return `is a ${typeof v}, which JSON cannot carry; use plain JSON values.`
    default:
      return v === null ? 4 : undefined
  }
}

/**
 * Checks that `value` is plain JSON data within the limits: `null`, booleans, finite numbers,
 * strings, arrays without holes and plain (or null-prototype) objects with string keys, no
 * {@link forbiddenKey} key, nested at most `maxDepth` levels and at most `maxSize` characters
 * of JSON text. Returns the first violation, or `undefined` when the value is fine. Never
 * throws (a throwing getter or proxy is reported as not plain data).
 */
export const checkJson = (value: unknown, options: CheckOptions = {}): Violation | undefined => {
  const result = measureJson(value, options)
  return typeof result === "number" ? undefined : result
}

const violation = (kind: ViolationKind, path: string, detail: string, name: string): Violation => ({
  kind,
  path,
  detail,
  message: `${path === "" ? name : path} ${detail}`,
})

/**
 * Like {@link checkJson}, but gives the size of a value within the limits: the length of its
 * JSON text (`JSON.stringify(value).length`), computed without building it.
 */
export const measureJson = (value: unknown, options: CheckOptions = {}): number | Violation => {
  try {
    return walk(value, options)
  } catch {
    return violation(
      "NotJson",
      options.path ?? "",
      "could not be read as plain data (a getter or proxy failed); pass plain JSON values.",
      options.name ?? "the value",
    )
  }
}

const walk = (value: unknown, options: CheckOptions): number | Violation => {
  const root = options.path ?? ""
  const name = options.name ?? "the value"
  const depthLimit = options.maxDepth ?? maxDepth
  const sizeLimit = options.maxSize ?? Number.POSITIVE_INFINITY
  const skipUndefined = options.skipUndefinedProperties === true
  const top = scalar(value)
  if (typeof top === "string") return violation("NotJson", root, top, name)
  if (typeof top === "number") return top > sizeLimit ? tooLarge(root, sizeLimit, name) : top
  let size = 0
  // Only containers go on the stack; scalars inside them are measured where they are found.
  const stack: Array<Frame> = [{ value, depth: 0, parent: undefined, key: undefined }]
  for (let frame = stack.pop(); frame !== undefined; frame = stack.pop()) {
    const v = frame.value as object
    const depth = frame.depth + 1
    if (depth > depthLimit) {
      return violation(
        "TooDeep",
        pathOf(root, frame.parent, frame.key),
        `is nested more than ${depthLimit} levels deep, over the limit for untrusted JSON; flatten it.`,
        name,
      )
    }
    if (Array.isArray(v)) {
      if (Object.getPrototypeOf(v) !== Array.prototype) {
        return violation(
          "NotJson",
          pathOf(root, frame.parent, frame.key),
          `is ${describeInstance(v)}, not plain JSON data; use a plain array.`,
          name,
        )
      }
      size += v.length === 0 ? 2 : v.length + 1
      for (let i = v.length - 1; i >= 0; i--) {
        if (!(i in v)) {
          return violation(
            "NotJson",
            pathOf(root, frame, i),
            "is a hole in the array, which JSON cannot carry; put null there.",
            name,
          )
        }
        const item: unknown = v[i]
        const s = scalar(item)
        if (typeof s === "number") size += s
        else if (typeof s === "string") return violation("NotJson", pathOf(root, frame, i), s, name)
        else stack.push({ value: item, depth, parent: frame, key: i })
      }
    } else {
      const proto: unknown = Object.getPrototypeOf(v)
      if (proto !== Object.prototype && proto !== null) {
        return violation(
          "NotJson",
          pathOf(root, frame.parent, frame.key),
          `is ${describeInstance(v)}, not plain JSON data; convert it to a string, number, array or plain object.`,
          name,
        )
      }
      if (Object.getOwnPropertySymbols(v).length > 0) {
        return violation(
          "NotJson",
          pathOf(root, frame.parent, frame.key),
          "has a symbol key, which JSON cannot carry; use string keys.",
          name,
        )
      }
      const record = v as Record<string, unknown>
      const keys = Object.keys(record)
      let members = 0
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i] as string
        if (key === forbiddenKey) {
          return violation(
            "ForbiddenKey",
            pathOf(root, frame, key),
            `is a "${forbiddenKey}" key, which JavaScript turns into the object's prototype (the data would be lost); rename it.`,
            name,
          )
        }
        const item = record[key]
        if (item === undefined && skipUndefined) continue
        members++
        size += stringSize(key) + 1
        const s = scalar(item)
        if (typeof s === "number") size += s
        else if (typeof s === "string") return violation("NotJson", pathOf(root, frame, key), s, name)
        else stack.push({ value: item, depth, parent: frame, key })
      }
      size += members === 0 ? 2 : members + 1
    }
    if (size > sizeLimit) return tooLarge(root, sizeLimit, name)
  }
  return size
}

const tooLarge = (root: string, sizeLimit: number, name: string): Violation =>
  violation(
    "TooLarge",
    root,
    `is more than ${sizeLimit} characters as JSON, over its size limit; keep less here.`,
    name,
  )
