import { expect, it } from "@effect/vitest"
import { Arbitrary, Either, FastCheck as fc, Schema } from "effect"
import { arbDefinitionWithEvents, arbSnapshot } from "../../testkit/src/index.js"
import * as InputLimits from "../src/InputLimits.js"
import * as LeadSnapshot from "../src/LeadSnapshot.js"
import * as Lifecycle from "../src/Lifecycle.js"
import { start, transition } from "../src/transition.js"

const { currentSchemaVersion, decode, encode, fromJson, toJson } = LeadSnapshot

const ok = <A, E>(result: Either.Either<A, E>): A =>
  Either.getOrThrowWith(result, (e) => new Error(`expected Right, got ${String(e)}`))

it.prop(
  "decode(encode(s)) and fromJson(toJson(s)) give back s",
  { snapshot: arbSnapshot() },
  ({ snapshot }) => {
    expect(ok(decode(encode(snapshot)))).toEqual(snapshot)
    expect(ok(fromJson(toJson(snapshot)))).toEqual(snapshot)
  },
  { fastCheck: { numRuns: 300 } },
)

/** True when an own "__proto__" key appears anywhere inside `u`. */
const hasProtoKey = (u: unknown): boolean =>
  typeof u === "object" && u !== null && (Object.hasOwn(u, "__proto__") || Object.values(u).some((v) => hasProtoKey(v)))

it.prop(
  "decode(encode(s)) gives back s for Schema-derived snapshots",
  // "__proto__" keys are left out: KNOWN BUG, see the last test of this file.
  { snapshot: Arbitrary.make(LeadSnapshot.LeadSnapshot).filter((s) => !hasProtoKey(s.metadata)) },
  ({ snapshot }) => {
    expect(ok(decode(encode(snapshot)))).toEqual(snapshot)
  },
  { fastCheck: { numRuns: 200 } },
)

it.prop(
  "every snapshot the transition produces survives toJson / fromJson",
  { input: arbDefinitionWithEvents({ maxLength: 15 }) },
  ({ input: { definition, stream } }) => {
    const lifecycle = Either.getOrThrow(Lifecycle.make(definition))
    let snapshot = start(lifecycle, { leadId: "lead-1", at: stream.startAt }).snapshot
    expect(ok(fromJson(toJson(snapshot)))).toEqual(snapshot)
    for (const event of stream.events) {
      const result = transition(lifecycle, snapshot, event)
      if (Either.isLeft(result)) continue
      snapshot = result.right.snapshot
      expect(ok(fromJson(toJson(snapshot)))).toEqual(snapshot)
    }
  },
  { fastCheck: { numRuns: 100 } },
)

it.prop(
  "a snapshot from a newer schema version fails with UnsupportedVersion, naming that version",
  {
    snapshot: arbSnapshot(),
    newer: fc.oneof(
      fc.integer({ min: currentSchemaVersion + 1, max: 1_000_000 }),
      fc.double({ min: currentSchemaVersion + Number.EPSILON * 4, max: 1e9, noNaN: true }),
    ),
  },
  ({ snapshot, newer }) => {
    const json = { ...encode(snapshot), schemaVersion: newer }
    for (const result of [decode(json), fromJson(JSON.stringify(json))]) {
      expect(Either.isLeft(result)).toBe(true)
      if (Either.isLeft(result)) {
        expect(result.left.reason).toBe("UnsupportedVersion")
        expect(result.left.message).toContain(`version ${newer}`)
        expect(result.left.message).toContain("newer")
      }
    }
  },
  { fastCheck: { numRuns: 100 } },
)

it.prop(
  "decode and fromJson never throw on garbage",
  {
    input: fc.oneof(
      fc.anything(),
      fc.anything({ withNullPrototype: true, withBoxedValues: true, withMap: true, withSet: true }),
      // A valid snapshot with one field replaced by anything.
      fc
        .tuple(
          arbSnapshot(),
          fc.constantFrom(
            "schemaVersion",
            "leadId",
            "state",
            "enteredAt",
            "version",
            "metadata",
            "due",
            "recent",
            "snoozedFrom",
          ),
          fc.anything(),
        )
        .map(([snapshot, key, value]) => ({ ...encode(snapshot), [key]: value })),
    ),
    text: fc.oneof(fc.string(), fc.json(), fc.constantFrom("", "{", "null", "[]", '{"schemaVersion":1}')),
  },
  ({ input, text }) => {
    for (const result of [decode(input), fromJson(text)]) {
      expect(Either.isEither(result)).toBe(true)
      if (Either.isLeft(result)) {
        expect(["NotJson", "UnsupportedVersion", "Shape"]).toContain(result.left.reason)
        expect(typeof result.left.message).toBe("string")
      }
    }
  },
  { fastCheck: { numRuns: 300 } },
)

/** The Schema decoder alone (after the input limits, as `decode` checks them first). */
const schemaOnly = (input: Record<string, unknown>): Either.Either<LeadSnapshot.LeadSnapshot, unknown> => {
  const withinLimits = Object.entries(input).every(
    ([key, value]) =>
      value === undefined ||
      InputLimits.checkJson(value, {
        path: key,
        skipUndefinedProperties: key !== "metadata",
        ...(key === "metadata" ? { maxSize: InputLimits.maxMetadataSize } : {}),
      }) === undefined,
  )
  if (!withinLimits) return Either.left("limits")
  return Schema.decodeUnknownEither(LeadSnapshot.LeadSnapshot, { onExcessProperty: "ignore" })(input)
}

/** Values a corrupted field takes: near misses of every field's type. */
const nearMiss = fc.oneof(
  fc.constantFrom(undefined, null, -1, 1.5, -0, 0, "", "x", true, [], {}, Number.NaN, 2 ** 53, [{}], { at: 1 }),
  fc.constantFrom({ event: "wake", at: 1 }, { event: "nap", at: 1 }, [{ event: "e", from: "a", to: "b", at: 1 }]),
  fc.constantFrom([{ event: "e", from: "a", to: "b", at: "1" }], [{ event: "e", from: "a", to: "b", at: 1, note: 3 }]),
  fc.anything({ maxDepth: 2 }),
)

it.prop(
  "decode's fast path for current snapshots accepts and returns exactly what the Schema decoder does",
  {
    snapshot: arbSnapshot(),
    corrupt: fc.array(
      fc.tuple(
        fc.constantFrom(
          "leadId",
          "state",
          "previousState",
          "disposition",
          "enteredAt",
          "updatedAt",
          "version",
          "metadata",
          "snoozedFrom",
          "due",
          "recent",
          "extra",
        ),
        nearMiss,
      ),
      { maxLength: 2 },
    ),
  },
  ({ snapshot, corrupt }) => {
    const input: Record<string, unknown> = { ...encode(snapshot) }
    for (const [key, value] of corrupt) input[key] = value
    const fast = decode(input)
    const reference = schemaOnly(input)
    expect(Either.isRight(fast)).toBe(Either.isRight(reference))
    if (Either.isRight(fast) && Either.isRight(reference)) expect(fast.right).toStrictEqual(reference.right)
  },
  { fastCheck: { numRuns: 1_000 } },
)

it("a version 1 snapshot decodes as version 2: its history apart, the last 10 entries as recent", () => {
  const history = Array.from({ length: 14 }, (_, i) => ({
    event: i === 0 ? "start" : "transition",
    from: i % 2 === 0 ? "a" : "b",
    to: i % 2 === 0 ? "b" : "a",
    at: 1_000 + i,
    ...(i === 3 ? { note: "n", actor: "x", disposition: "d" } : {}),
  }))
  const v1 = {
    schemaVersion: 1,
    leadId: "l",
    state: "a",
    previousState: "b",
    enteredAt: 1_013,
    updatedAt: 1_013,
    version: 13,
    metadata: { k: 1 },
    history,
  }
  const decoded = ok(LeadSnapshot.decodeWithHistory(v1))
  expect(decoded.history).toEqual(history)
  expect(decoded.snapshot).toEqual({
    schemaVersion: 2,
    leadId: "l",
    state: "a",
    previousState: "b",
    enteredAt: 1_013,
    updatedAt: 1_013,
    version: 13,
    metadata: { k: 1 },
    recent: history.slice(4),
  })
  expect(ok(decode(v1))).toEqual(decoded.snapshot)
  expect(ok(fromJson(JSON.stringify(v1)))).toEqual(decoded.snapshot)
  expect(ok(LeadSnapshot.decodeWithHistory(v1, 0)).snapshot.recent).toEqual([])
  // A v1 snapshot with a bad history entry is a Shape error naming it.
  const bad = LeadSnapshot.decodeWithHistory({ ...v1, history: [{ event: "start" }] })
  expect(Either.isLeft(bad) && bad.left.reason).toBe("Shape")
  // A current snapshot has nothing for the log.
  expect(ok(LeadSnapshot.decodeWithHistory(encode(decoded.snapshot))).history).toEqual([])
})

// KNOWN LIMITATION (effect's Schema.Record): an own "__proto__" metadata key does not survive
// encode/decode. `transition` refuses such keys (InvalidEvent), so only a snapshot built by hand
// can carry one. Remove `.fails` if the codec ever keeps the key.
it.fails('KNOWN LIMITATION: a "__proto__" metadata key is lost by decode(encode(s))', () => {
  const snapshot = ok(fromJson('{"schemaVersion":2,"leadId":"l","state":"a","enteredAt":0,"updatedAt":0,"version":0}'))
  const withProto: LeadSnapshot.LeadSnapshot = { ...snapshot, metadata: JSON.parse('{"__proto__": 0, "k": 1}') }
  // Actual: { k: 1 }.
  expect(Object.keys(ok(decode(encode(withProto))).metadata)).toEqual(["__proto__", "k"])
})
