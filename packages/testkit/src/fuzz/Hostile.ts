/**
 * Hostile input for the fuzz targets: JSON-ish values a decoder must refuse with a typed error
 * (never a throw, never a defect). Deep nesting (up to 10,000 levels, built without recursion),
 * huge strings (up to a few MB, rarely), NaN / ±Infinity / -0 / huge numbers, own `__proto__`
 * keys and other prototype names, lone surrogates, and valid-looking values with one hostile
 * part ({@link mutate}).
 *
 * @since 0.1.0
 */
import { FastCheck as fc } from "effect"

/** Numbers JSON cannot carry, or carries badly. */
export const specialNumber: fc.Arbitrary<number> = fc.constantFrom(
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  -0,
  Number.MAX_VALUE,
  -Number.MAX_VALUE,
  Number.MIN_VALUE,
  Number.MAX_SAFE_INTEGER + 2,
  -(2 ** 63),
  1e21,
  8.64e15 + 1,
  -1,
  0.5,
)

/** Any number: mostly ordinary, often special. */
export const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  { weight: 3, arbitrary: fc.double() },
  { weight: 2, arbitrary: fc.integer() },
  { weight: 2, arbitrary: specialNumber },
)

/** Keys that catch lookups on plain objects, and other awkward keys. */
export const hostileKey: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      "__proto__",
      "constructor",
      "prototype",
      "toString",
      "valueOf",
      "hasOwnProperty",
      "",
      "\uD800",
      "a\u0000b",
      "type",
      "_tag",
      "then",
    ),
  },
  { weight: 2, arbitrary: fc.string({ maxLength: 12 }) },
)

/** Strings with lone surrogates, NULs, control and non-BMP characters. */
export const awkwardString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom("\uD800", "\uDFFF", "a\uD83D", "\uDE00b", "\u0000", "\u202E", "😀", "\uFEFF", "%00", "../"),
  fc.string({ unit: "binary", maxLength: 16 }),
  fc.string({ maxLength: 16 }),
)

/**
 * A string of `length` characters: a repeated unit (ASCII, non-BMP or lone surrogate). Built
 * once, not by fast-check character by character.
 */
export const hugeString = (maxLength: number): fc.Arbitrary<string> =>
  fc
    .record({
      // Mostly up to 64 KiB (around common size limits); one in six up to `maxLength`.
      length: fc.oneof(
        { weight: 5, arbitrary: fc.integer({ min: 1, max: Math.min(maxLength, 65_536 + 1_024) }) },
        { weight: 1, arbitrary: fc.integer({ min: 1, max: maxLength }) },
      ),
      unit: fc.constantFrom("x", "é", "😀", "\uD800", '"\\'),
    })
    .map(({ length, unit }) => unit.repeat(Math.max(1, Math.floor(length / unit.length))))

/** Sets `key` as an own enumerable property, even `__proto__` (as `JSON.parse` does). */
export const setOwn = (target: Record<string, unknown>, key: string, value: unknown): void => {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
}

/** `depth` nested arrays or objects (built in a loop), with `leaf` at the bottom. */
export const nest = (depth: number, kind: "array" | "object" | "mixed", leaf: unknown = 1): unknown => {
  let value = leaf
  for (let i = 0; i < depth; i++) {
    const asArray = kind === "array" || (kind === "mixed" && i % 2 === 0)
    if (asArray) value = [value]
    else {
      const o: Record<string, unknown> = {}
      setOwn(o, i % 7 === 0 ? "__proto__" : "a", value)
      value = o
    }
  }
  return value
}

/** Deep nesting: mostly a few dozen levels (around common limits), now and then thousands. */
export const deep: fc.Arbitrary<unknown> = fc
  .record({
    depth: fc.oneof(
      { weight: 4, arbitrary: fc.integer({ min: 20, max: 80 }) },
      { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 10_000 }) },
    ),
    kind: fc.constantFrom("array" as const, "object" as const, "mixed" as const),
  })
  .map(({ depth, kind }) => nest(depth, kind))

/** An object with hostile keys (own `__proto__` included). */
const hostileObject = (value: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> =>
  fc.array(fc.tuple(hostileKey, value), { maxLength: 4 }).map((entries) => {
    const o: Record<string, unknown> = {}
    for (const [k, v] of entries) setOwn(o, k, v)
    return o
  })

const hostileLeaf: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.constant(undefined),
  fc.boolean(),
  hostileNumber,
  awkwardString,
  fc.string({ maxLength: 8 }),
)

/** A small JSON-ish tree with hostile leaves and keys. */
const smallTree: fc.Arbitrary<unknown> = fc.letrec<{ tree: unknown }>((tie) => ({
  tree: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    hostileLeaf,
    fc.array(tie("tree"), { maxLength: 3 }),
    hostileObject(tie("tree")),
  ),
})).tree

/** Options for {@link hostileValue}. */
export interface HostileOptions {
  /** The longest huge string (default 2 MB; 0 for none). */
  readonly maxStringLength?: number
}

/**
 * Any hostile value: leaves, small trees with hostile keys, JSON (fast-check's), deep nesting,
 * and now and then a huge string.
 */
export const hostileValue = (options: HostileOptions = {}): fc.Arbitrary<unknown> => {
  const max = options.maxStringLength ?? 2_000_000
  return fc.oneof(
    { weight: 12, arbitrary: smallTree },
    { weight: 6, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
    { weight: 4, arbitrary: hostileLeaf },
    { weight: 2, arbitrary: deep },
    ...(max > 0 ? [{ weight: 1, arbitrary: hugeString(max) }] : []),
  )
}

type Path = ReadonlyArray<string | number>

/** Every path into a JSON-ish value (the root included), found without recursion. */
const pathsOf = (value: unknown, limit = 2_000): Array<Path> => {
  const paths: Array<Path> = []
  const stack: Array<{ readonly path: Path; readonly value: unknown }> = [{ path: [], value }]
  while (stack.length > 0 && paths.length < limit) {
    const top = stack.pop()
    if (top === undefined) break
    paths.push(top.path)
    if (Array.isArray(top.value)) {
      top.value.forEach((v, i) => {
        stack.push({ path: [...top.path, i], value: v })
      })
    } else if (typeof top.value === "object" && top.value !== null) {
      for (const [k, v] of Object.entries(top.value)) stack.push({ path: [...top.path, k], value: v })
    }
  }
  return paths
}

/** A deep copy of plain JSON-ish data, without recursion (own `__proto__` keys stay own keys). */
export const clone = (value: unknown): unknown => {
  const copyOf = (v: unknown): unknown =>
    Array.isArray(v) ? new Array<unknown>(v.length) : typeof v === "object" && v !== null ? {} : v
  const root = copyOf(value)
  const stack: Array<{ readonly from: unknown; readonly to: unknown }> = [{ from: value, to: root }]
  while (stack.length > 0) {
    const top = stack.pop()
    if (top === undefined) break
    if (Array.isArray(top.from) && Array.isArray(top.to)) {
      for (let i = 0; i < top.from.length; i++) {
        const child = copyOf(top.from[i])
        top.to[i] = child
        if (child !== top.from[i]) stack.push({ from: top.from[i], to: child })
      }
    } else if (typeof top.from === "object" && top.from !== null && !(top.from instanceof Uint8Array)) {
      for (const [k, v] of Object.entries(top.from)) {
        const child = copyOf(v)
        setOwn(top.to as Record<string, unknown>, k, child)
        if (child !== v) stack.push({ from: v, to: child })
      }
    }
  }
  return root
}

/** A copy of `value` (plain JSON-ish data) with `path` set to `replacement`, or altered per `how`. */
const edit = (value: unknown, path: Path, how: "replace" | "addKey" | "remove", key: string, replacement: unknown) => {
  const copy: unknown = clone(value)
  if (path.length === 0 && how === "replace") return replacement
  let parent: unknown = copy
  for (const step of path.slice(0, how === "addKey" ? path.length : -1)) {
    parent = (parent as Record<string | number, unknown>)[step]
  }
  const last = path[path.length - 1]
  if (how === "addKey") {
    if (typeof parent === "object" && parent !== null && !Array.isArray(parent)) {
      setOwn(parent as Record<string, unknown>, key, replacement)
    } else if (Array.isArray(parent)) parent.push(replacement)
    return copy
  }
  if (last === undefined || typeof parent !== "object" || parent === null) return copy
  if (how === "remove") {
    if (Array.isArray(parent) && typeof last === "number") parent.splice(last, 1)
    else delete (parent as Record<string | number, unknown>)[last]
    return copy
  }
  if (typeof last === "string") setOwn(parent as Record<string, unknown>, last, replacement)
  else (parent as Array<unknown>)[last] = replacement
  return copy
}

/**
 * A valid-looking value with hostile parts: up to three edits, each replacing the value at a
 * random path, adding a hostile key, or removing an entry.
 */
export const mutate = <A>(template: fc.Arbitrary<A>, options: HostileOptions = {}): fc.Arbitrary<unknown> =>
  template.chain((base) => {
    const paths = pathsOf(base)
    const oneEdit = fc.record({
      path: fc.nat({ max: Math.max(0, paths.length - 1) }),
      how: fc.constantFrom("replace" as const, "replace" as const, "addKey" as const, "remove" as const),
      key: hostileKey,
      value: hostileValue(options),
    })
    return fc.array(oneEdit, { minLength: 1, maxLength: 3 }).map((edits) =>
      edits.reduce<unknown>((acc, e) => {
        const at = pathsOf(acc)
        return edit(acc, at[e.path % Math.max(1, at.length)] ?? [], e.how, e.key, e.value)
      }, base),
    )
  })

/**
 * JSON text for any JSON-ish value, without recursion (so 10,000 levels are fine): NaN and
 * ±Infinity become `null` and `undefined` members are left out, as `JSON.stringify` does; own
 * `__proto__` keys are written like any other key.
 */
export const jsonText = (value: unknown): string => {
  const out: Array<string> = []
  type Frame = { readonly close: string; readonly items: Array<[string | undefined, unknown]>; index: number }
  const stack: Array<Frame> = []
  const open = (v: unknown): void => {
    if (v === null || v === undefined || typeof v === "function" || typeof v === "symbol") out.push("null")
    else if (typeof v === "number") out.push(Number.isFinite(v) ? JSON.stringify(v) : "null")
    else if (typeof v === "bigint") out.push(v.toString())
    else if (typeof v === "string" || typeof v === "boolean") out.push(JSON.stringify(v))
    else if (v instanceof Uint8Array) out.push(JSON.stringify(Array.from(v)))
    else if (Array.isArray(v)) {
      out.push("[")
      stack.push({ close: "]", items: v.map((x) => [undefined, x]), index: 0 })
    } else {
      out.push("{")
      const items = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined)
      stack.push({ close: "}", items, index: 0 })
    }
  }
  open(value)
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]
    if (frame === undefined) break
    const item = frame.items[frame.index]
    if (item === undefined) {
      out.push(frame.close)
      stack.pop()
      continue
    }
    if (frame.index > 0) out.push(",")
    frame.index++
    if (item[0] !== undefined) out.push(`${JSON.stringify(item[0])}:`)
    open(item[1])
  }
  return out.join("")
}

/** Text that is almost JSON: cut short, with a BOM, trailing commas, comments, a lone `-`. */
const brokenJson: fc.Arbitrary<string> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).chain((v) => {
    const text = JSON.stringify(v) ?? "null"
    return fc.constantFrom(
      text.slice(0, Math.max(0, text.length - 1)),
      `\uFEFF${text}`,
      `${text},`,
      `${text} // c`,
      `[${text},]`,
      `${text}${text}`,
    )
  }),
  fc.constantFrom("", " ", "-", "1e999999", "[", "{", '{"a":', "nul", "\u0000", '"\\ud800"', "[".repeat(100_000)),
)

/** Invalid UTF-8 and other byte soup. */
const badBytes: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 256 }),
  fc.constantFrom(
    Uint8Array.of(0xff, 0xfe),
    Uint8Array.of(0xc3),
    Uint8Array.of(0xed, 0xa0, 0x80),
    Uint8Array.of(0xef, 0xbb, 0xbf, 0x7b, 0x7d),
    Uint8Array.of(0x7b, 0x22, 0x61, 0x22, 0x3a, 0xff, 0x7d),
  ),
)

const encoder = new TextEncoder()

/**
 * Request or response bodies: byte soup, broken JSON, the JSON text of hostile values, and
 * (given) valid-looking payloads with hostile parts.
 */
export const hostileBody = (valid?: fc.Arbitrary<unknown>, options: HostileOptions = {}): fc.Arbitrary<Uint8Array> =>
  fc.oneof(
    { weight: 2, arbitrary: badBytes },
    { weight: 2, arbitrary: brokenJson.map((t) => encoder.encode(t)) },
    { weight: 3, arbitrary: hostileValue(options).map((v) => encoder.encode(jsonText(v))) },
    ...(valid === undefined
      ? []
      : [
          { weight: 6, arbitrary: mutate(valid, options).map((v) => encoder.encode(jsonText(v))) },
          { weight: 1, arbitrary: valid.map((v) => encoder.encode(jsonText(v))) },
        ]),
  )

/** A short description of a value for a report: its JSON text, cut at `max` characters. */
export const preview = (value: unknown, max = 300): string => {
  let text: string
  try {
    text = value instanceof Uint8Array ? `bytes ${new TextDecoder().decode(value)}` : jsonText(value)
  } catch {
    text = String(value)
  }
  return text.length > max ? `${text.slice(0, max)}… (${text.length} characters)` : text
}
