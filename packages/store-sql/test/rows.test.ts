/**
 * The hand-written row codecs of `internal/rows.ts` against the Schema ones they replace on the
 * hot path: for rows the store writes (SQLite-shaped: JSON text and numbers; PostgreSQL-shaped:
 * parsed jsonb and int8 strings) and for the same rows corrupted (wrong types, missing or extra
 * fields, bad JSON, unsafe integers, unknown tags, non-JSON values), both accept the same rows
 * and decode them to the same values, with the same keys in the same order. What the store
 * calls (the plain codec, the Schema one for what it refuses) gives exactly the Schema result,
 * details included.
 */
import { type CrmError, LeadSnapshot, type LeadStore, SyncIntent } from "@leadstate/core"
import { arbJson, arbMetadata, arbSnapshot } from "@leadstate/testkit"
import { Arbitrary, Either, FastCheck as fc } from "effect"
import { describe, expect, it } from "vitest"
import { codecs, toInteger, toOutboxRecord, toOutboxValues, toStoredLead } from "../src/internal/rows.js"

const runs = 1_500

// ---------------------------------------------------------------------------------------------
// Valid values
// ---------------------------------------------------------------------------------------------

const reasonTags: { readonly [Tag in CrmError.CrmErrorReason["_tag"]]: true } = {
  Unauthorized: true,
  NotFound: true,
  Conflict: true,
  DuplicateLead: true,
  InvalidRequest: true,
  CallInProgress: true,
  RateLimited: true,
  VendorUnavailable: true,
  Transport: true,
  MalformedResponse: true,
  Unsupported: true,
  VendorIgnoredWrite: true,
}
const reasons = Object.keys(reasonTags) as ReadonlyArray<CrmError.CrmErrorReason["_tag"]>

const statuses: ReadonlyArray<LeadStore.OutboxStatus> = ["pending", "accepted", "confirmed", "failed"]
const arbTime = fc.oneof(fc.integer({ min: 0, max: 4_000_000_000_000 }), fc.maxSafeNat())
const arbText = fc.string({ maxLength: 8 })

/** An optional field: absent, present, or now and then present as `undefined` (as a JS value may have it). */
const arbOptional = <A>(arb: fc.Arbitrary<A>) =>
  fc.option(
    fc.oneof(
      { weight: 5, arbitrary: arb.map((value) => ({ value })) },
      { weight: 1, arbitrary: fc.constant({ value: undefined }) },
    ),
    { nil: undefined },
  )

/** An intent of `fields`, then the optional fields present, then `at` (the schema's key order). */
const intentOf = (
  fields: { readonly _tag: SyncIntent.SyncIntent["_tag"]; readonly [key: string]: unknown },
  optionals: { readonly [key: string]: { readonly value: unknown } | undefined },
  at: number,
): SyncIntent.SyncIntent => {
  const out: { [key: string]: unknown } = { ...fields }
  for (const [key, field] of Object.entries(optionals)) if (field !== undefined) out[key] = field.value
  out.at = at
  // Each field comes from an arbitrary of its type.
  return out as unknown as SyncIntent.SyncIntent
}

const arbHandIntent: fc.Arbitrary<SyncIntent.SyncIntent> = fc.oneof(
  fc
    .record({ leadId: arbText, state: arbText, metadata: arbMetadata, at: arbTime })
    .map(
      ({ leadId, state, metadata, at }): SyncIntent.SyncIntent => ({ _tag: "CreateLead", leadId, state, metadata, at }),
    ),
  fc
    .record({
      leadId: arbText,
      from: arbText,
      to: arbText,
      disposition: arbOptional(arbText),
      note: arbOptional(arbText),
      metadata: arbOptional(arbMetadata),
      actor: arbOptional(arbText),
      snoozeUntil: arbOptional(arbTime),
      at: arbTime,
    })
    .map(({ leadId, from, to, at, ...optionals }) => intentOf({ _tag: "SetState", leadId, from, to }, optionals, at)),
  fc
    .record({ leadId: arbText, metadata: arbMetadata, actor: arbOptional(arbText), at: arbTime })
    .map(({ leadId, metadata, at, ...optionals }) =>
      intentOf({ _tag: "MergeMetadata", leadId, metadata }, optionals, at),
    ),
)

/** Hand-made intents, and Schema-derived ones (any finite `at`, any metadata the schema takes). */
const arbIntent: fc.Arbitrary<SyncIntent.SyncIntent> = fc.oneof(arbHandIntent, Arbitrary.make(SyncIntent.SyncIntent))

const arbEntry: fc.Arbitrary<LeadStore.OutboxEntry> = fc
  .record({
    id: arbText,
    leadId: arbText,
    intent: arbIntent,
    status: fc.constantFrom(...statuses),
    attempts: fc.oneof(fc.nat({ max: 20 }), fc.maxSafeNat()),
    availableAt: arbTime,
    correlationId: fc.option(arbText, { nil: undefined }),
    failure: fc.option(fc.record({ reason: fc.constantFrom(...reasons), message: arbText }), { nil: undefined }),
  })
  .map(({ correlationId, failure, ...entry }) => ({
    ...entry,
    ...(correlationId === undefined ? {} : { correlationId }),
    ...(failure === undefined ? {} : { failure }),
  }))

// ---------------------------------------------------------------------------------------------
// Corruption
// ---------------------------------------------------------------------------------------------

/** `[[...[1]...]]`, `depth` arrays deep. */
const deepArray = (depth: number): unknown => JSON.parse(`${"[".repeat(depth)}1${"]".repeat(depth)}`)

/** Values that break (or now and then do not break) a column or a field. */
const arbGarbage: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom<unknown>(
      null,
      undefined,
      true,
      0,
      -0,
      1,
      -1,
      1.5,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      2 ** 53,
      -(2 ** 53),
      Number.MAX_SAFE_INTEGER,
      1e21,
      5n,
      2n ** 60n,
      "",
      "x",
      "0",
      "-0",
      "007",
      "+1",
      " 1",
      "1 ",
      "1e3",
      "1.0",
      "0x10",
      "9007199254740991",
      "9007199254740992",
      "-9007199254740993",
      "null",
      "{",
      "[]",
      "{}",
      '"text"',
      "true",
      '{"reason":"Conflict","message":"m"}',
      '{"_tag":"MergeMetadata","leadId":"l","metadata":{},"at":1}',
      "pending",
      "accepted",
      "confirmed",
      "failed",
      "Pending",
      "settled",
      "CreateLead",
      "SetState",
      "MergeMetadata",
      "Unknown",
      "Conflict",
      "Nope",
      "toString",
      "constructor",
      "__proto__",
      [],
      [1],
      {},
      { a: 1 },
      Object.create(null),
      new Date(0),
      deepArray(40),
      JSON.parse('{"__proto__":1}'),
      { big: "x".repeat(70_000) },
      { _tag: "Conflict" },
      { reason: "Conflict", message: "m" },
      { _tag: "MergeMetadata", leadId: "l", metadata: {}, at: 1 },
    ),
  },
  { weight: 1, arbitrary: arbText },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: arbJson },
)

/** Where a mutation lands: the row, a column, or a field inside the intent, its metadata or the failure. */
const columns = [
  "seq",
  "id",
  "lead_id",
  "intent",
  "status",
  "attempts",
  "available_at",
  "correlation_id",
  "failure",
  "extra",
]
const intentFields = [
  "_tag",
  "leadId",
  "state",
  "from",
  "to",
  "disposition",
  "note",
  "metadata",
  "actor",
  "snoozeUntil",
  "at",
  "extra",
]
const arbInnerPath: fc.Arbitrary<ReadonlyArray<string>> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...intentFields).map((f) => ["intent", f]) },
  { weight: 2, arbitrary: fc.constantFrom("a", "score", "__proto__", "deep").map((k) => ["intent", "metadata", k]) },
  { weight: 2, arbitrary: fc.constantFrom("reason", "message", "extra").map((f) => ["failure", f]) },
)
const arbRowPath: fc.Arbitrary<ReadonlyArray<string>> = fc.oneof(
  { weight: 1, arbitrary: fc.constant([]) },
  { weight: 6, arbitrary: fc.constantFrom(...columns).map((c) => [c]) },
  { weight: 10, arbitrary: arbInnerPath },
)
/** In an entry to write, what is checked: the intent and the failure (the other fields are typed and copied). */
const arbEntryPath: fc.Arbitrary<ReadonlyArray<string>> = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom(["intent"], ["failure"]) },
  { weight: 5, arbitrary: arbInnerPath },
)

type Mutation =
  | { readonly op: "set"; readonly path: ReadonlyArray<string>; readonly value: unknown }
  | { readonly op: "delete"; readonly path: ReadonlyArray<string> }
  /** The object at `path` becomes one that inherits its fields instead of owning them. */
  | { readonly op: "inherit"; readonly path: ReadonlyArray<string> }

/** Numbers a number field must refuse (or take: -0, 2^53 - 1), and near-numbers. */
const arbNumberGarbage = fc.constantFrom<unknown>(
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  -0,
  0.5,
  2 ** 53,
  Number.MAX_SAFE_INTEGER,
  "1",
  1n,
  null,
)
const numberPaths = [["seq"], ["attempts"], ["available_at"], ["intent", "at"], ["intent", "snoozeUntil"]]

const arbMutation = (path: fc.Arbitrary<ReadonlyArray<string>>): fc.Arbitrary<Mutation> =>
  fc.oneof(
    { weight: 6, arbitrary: fc.record({ op: fc.constant("set" as const), path, value: arbGarbage }) },
    {
      weight: 2,
      arbitrary: fc.record({
        op: fc.constant("set" as const),
        path: fc.constantFrom(...numberPaths),
        value: arbNumberGarbage,
      }),
    },
    { weight: 2, arbitrary: fc.record({ op: fc.constant("delete" as const), path }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("inherit" as const), path }) },
  )

const isObject = (u: unknown): u is { [key: string]: unknown } => typeof u === "object" && u !== null

/** A plain object or array: what {@link copy} copies and {@link mutate} edits. */
const isPlain = (u: unknown): u is { [key: string]: unknown } =>
  isObject(u) &&
  (Array.isArray(u) || Object.getPrototypeOf(u) === Object.prototype || Object.getPrototypeOf(u) === null)

/** A deep copy of plain data (plain objects and arrays; other values shared, never edited). */
const copy = (u: unknown): unknown => {
  if (Array.isArray(u)) return u.map(copy)
  if (!isPlain(u)) return u
  const out: { [key: string]: unknown } = Object.create(Object.getPrototypeOf(u))
  for (const key of Object.keys(u))
    Object.defineProperty(out, key, { value: copy(u[key]), enumerable: true, writable: true, configurable: true })
  return out
}

/** `root` with the mutation applied (a copy; a path through a non-object is left alone). */
const mutate = (root: unknown, mutation: Mutation): unknown => {
  const apply = (value: unknown): unknown =>
    mutation.op === "set" ? mutation.value : mutation.op === "inherit" && isObject(value) ? Object.create(value) : value
  if (mutation.path.length === 0) return mutation.op === "delete" ? undefined : apply(root)
  const out = copy(root)
  let parent = out
  for (const key of mutation.path.slice(0, -1)) {
    if (!isPlain(parent)) return out
    parent = parent[key]
  }
  if (!isPlain(parent)) return out
  const key = mutation.path[mutation.path.length - 1] as string
  if (mutation.op === "delete") delete parent[key]
  else
    Object.defineProperty(parent, key, {
      value: apply(parent[key]),
      enumerable: true,
      writable: true,
      configurable: true,
    })
  return out
}

/** Damage done to JSON text: cut short, or followed by more. */
const arbTextDamage = fc.oneof(
  fc.nat({ max: 30 }).map((n) => (text: string) => text.slice(0, n)),
  fc.constantFrom("}", " ", "x", ",").map((tail) => (text: string) => text + tail),
)

type Shape = "sqlite" | "pg"
const shapes: ReadonlyArray<Shape> = ["sqlite", "pg"]

/** A JSON column as the driver returns it. */
const jsonColumn = (value: unknown, shape: Shape): unknown => {
  if (shape === "pg" || !isObject(value)) return value
  try {
    return JSON.stringify(value)
  } catch {
    return value // a bigint inside: not text, as corrupt as it gets
  }
}

/** An integer column as the driver returns it: PostgreSQL int8 as a decimal string, now and then a bigint. */
const integerColumn = (value: unknown, shape: Shape, asBigint: boolean): unknown =>
  shape === "pg" && typeof value === "number" && Number.isInteger(value)
    ? asBigint
      ? BigInt(value)
      : String(value)
    : value

/** An outbox row in its decoded form (JSON columns as values), as the Schema encoder writes it. */
const rowModel = (seq: number, entry: LeadStore.OutboxEntry): { [key: string]: unknown } => {
  const values = Either.getOrThrow(codecs.schema.outboxValues(entry))
  return {
    seq,
    ...values,
    intent: JSON.parse(values.intent),
    failure: values.failure === null ? null : JSON.parse(values.failure),
  }
}

const asRow = (
  model: unknown,
  shape: Shape,
  bigints: boolean,
  damage: ((text: string) => string) | undefined,
): unknown => {
  if (!isObject(model)) return model
  const row = copy(model) as { [key: string]: unknown }
  for (const column of ["intent", "failure"]) {
    if (!Object.hasOwn(row, column)) continue
    const value = jsonColumn(row[column], shape)
    row[column] = damage !== undefined && typeof value === "string" && column === "intent" ? damage(value) : value
  }
  for (const column of ["seq", "attempts", "available_at"]) {
    if (Object.hasOwn(row, column)) row[column] = integerColumn(row[column], shape, bigints)
  }
  return row
}

const arbOutboxRow = fc
  .record({
    seq: fc.oneof(fc.nat({ max: 1_000 }), fc.maxSafeNat()),
    entry: arbEntry,
    shape: fc.constantFrom(...shapes),
    bigints: fc.boolean(),
    mutations: fc.oneof(
      { weight: 1, arbitrary: fc.constant([]) },
      { weight: 2, arbitrary: fc.array(arbMutation(arbRowPath), { minLength: 1, maxLength: 3 }) },
    ),
    damage: fc.option(arbTextDamage, { nil: undefined, freq: 8 }),
  })
  .map(({ seq, entry, shape, bigints, mutations, damage }) =>
    asRow(mutations.reduce(mutate, rowModel(seq, entry)), shape, bigints, damage),
  )

const arbLeadRow = fc
  .record({
    snapshot: arbSnapshot(),
    vendorLeadId: fc.option(arbText, { nil: null }),
    shape: fc.constantFrom(...shapes),
    mutations: fc.oneof(
      { weight: 1, arbitrary: fc.constant([]) },
      {
        weight: 2,
        arbitrary: fc.array(
          fc.oneof(
            fc.record({
              op: fc.constant("set" as const),
              path: fc.constantFrom(
                ["lead_id"],
                ["snapshot"],
                ["vendor_lead_id"],
                ["extra"],
                [],
                ["snapshot", "leadId"],
                ["snapshot", "schemaVersion"],
              ),
              value: arbGarbage,
            }),
            fc.record({
              op: fc.constant("delete" as const),
              path: fc.constantFrom(["lead_id"], ["snapshot"], ["vendor_lead_id"]),
            }),
            fc.record({ op: fc.constant("inherit" as const), path: fc.constantFrom([], ["snapshot"]) }),
          ),
          { minLength: 1, maxLength: 2 },
        ),
      },
    ),
    damage: fc.option(arbTextDamage, { nil: undefined, freq: 8 }),
  })
  .map(({ snapshot, vendorLeadId, shape, mutations, damage }) => {
    const model = (mutations as ReadonlyArray<Mutation>).reduce(mutate, {
      lead_id: snapshot.leadId,
      snapshot: LeadSnapshot.encode(snapshot),
      vendor_lead_id: vendorLeadId,
    })
    if (!isObject(model)) return model
    const row = copy(model) as { [key: string]: unknown }
    if (Object.hasOwn(row, "snapshot")) {
      const value = jsonColumn(row.snapshot, shape)
      row.snapshot = damage !== undefined && typeof value === "string" ? damage(value) : value
    }
    return row
  })

/** An entry as `toOutboxValues` may be handed one: valid, or (past the types) corrupted. */
const arbEntryToWrite = fc
  .record({
    entry: arbEntry,
    mutations: fc.oneof(
      { weight: 1, arbitrary: fc.constant([]) },
      {
        weight: 2,
        arbitrary: fc.array(
          fc.oneof(
            arbMutation(arbEntryPath),
            fc.record({
              op: fc.constant("set" as const),
              path: fc.constant(["availableAt"]),
              // A number, as typed: fractional, unsafe or not finite.
              value: fc.oneof(fc.double(), arbTime, fc.constantFrom(2 ** 53 - 0.5, 2 ** 53, -0.5, Number.NaN)),
            }),
          ),
          { minLength: 1, maxLength: 3 },
        ),
      },
    ),
  })
  .map(({ entry, mutations }) => mutations.reduce(mutate, entry))
  .filter(isObject)
  .map((entry) => entry as unknown as LeadStore.OutboxEntry)

// ---------------------------------------------------------------------------------------------
// Comparison
// ---------------------------------------------------------------------------------------------

/** The keys of `u` and of every object inside it, in order: key order is part of a decoded value. */
const keyOrder = (u: unknown): unknown =>
  Array.isArray(u) ? u.map(keyOrder) : isObject(u) ? Object.keys(u).map((key) => [key, keyOrder(u[key])]) : null

/** An `Either` as plain data, for `toStrictEqual`. */
const plainEither = <A, E>(result: Either.Either<A, E>) =>
  Either.match(result, { onLeft: (left) => ({ left }), onRight: (right) => ({ right }) })

/** Counts of the generated cases the decoders accepted and refused: both must be well represented. */
const tally = () => {
  const counts = { accepted: 0, refused: 0 }
  return {
    count: (accepted: boolean) => {
      counts[accepted ? "accepted" : "refused"]++
    },
    check: () => {
      expect(counts.accepted).toBeGreaterThan(runs / 5)
      expect(counts.refused).toBeGreaterThan(runs / 5)
    },
  }
}

const agree = <A>(plain: A | undefined, schema: Either.Either<A, unknown>): boolean => {
  expect(plain === undefined).toBe(Either.isLeft(schema))
  if (plain !== undefined && Either.isRight(schema)) {
    expect(plain).toStrictEqual(schema.right)
    expect(keyOrder(plain)).toStrictEqual(keyOrder(schema.right))
  }
  return plain !== undefined
}

describe("rows: the plain codecs agree with the Schema ones", () => {
  it("outbox rows: the same rows accepted, decoded to the same entries", () => {
    const counts = tally()
    fc.assert(
      fc.property(arbOutboxRow, (row) => {
        counts.count(agree(codecs.plain.outboxRecord(row), codecs.schema.outboxRecord(row)))
        expect(plainEither(toOutboxRecord(row))).toStrictEqual(plainEither(codecs.schema.outboxRecord(row)))
      }),
      { numRuns: runs },
    )
    counts.check()
  })

  it("lead rows: the same rows accepted, the same columns, the same stored lead or detail", () => {
    const counts = tally()
    fc.assert(
      fc.property(arbLeadRow, (row) => {
        counts.count(agree(codecs.plain.leadRow(row), codecs.schema.leadRow(row)))
        expect(plainEither(toStoredLead(row))).toStrictEqual(plainEither(codecs.schema.storedLead(row)))
      }),
      { numRuns: runs },
    )
    counts.check()
  })

  it("integer columns: the same values accepted, as the same numbers", () => {
    fc.assert(
      fc.property(
        fc.oneof(arbGarbage, fc.anything(), fc.bigInt(), fc.stringMatching(/^-?\d{1,20}$/), fc.maxSafeInteger()),
        (value) => {
          agree(codecs.plain.integer(value), codecs.schema.integer(value, "v"))
          expect(plainEither(toInteger(value, "v"))).toStrictEqual(plainEither(codecs.schema.integer(value, "v")))
        },
      ),
      { numRuns: runs },
    )
  })

  it("entries to write: the same entries accepted, encoded to the same column values", () => {
    const counts = tally()
    fc.assert(
      fc.property(arbEntryToWrite, (entry) => {
        counts.count(agree(codecs.plain.outboxValues(entry), codecs.schema.outboxValues(entry)))
        expect(plainEither(toOutboxValues(entry))).toStrictEqual(plainEither(codecs.schema.outboxValues(entry)))
      }),
      { numRuns: runs },
    )
    counts.check()
  })

  it("what toOutboxValues writes, toOutboxRecord reads back, in either shape", () => {
    fc.assert(
      fc.property(arbEntry, fc.constantFrom(...shapes), (entry, shape) => {
        const values = Either.getOrThrow(toOutboxValues(entry))
        const row = asRow(
          {
            seq: 7,
            ...values,
            intent: JSON.parse(values.intent),
            failure: values.failure === null ? null : JSON.parse(values.failure),
          },
          shape,
          false,
          undefined,
        )
        const decoded = Either.getOrThrow(toOutboxRecord(row))
        expect(decoded.seq).toBe(7)
        // The text holds JSON values: an optional field set to `undefined` is left out, -0 becomes 0.
        expect(decoded.entry).toStrictEqual(JSON.parse(JSON.stringify(entry)))
      }),
      { numRuns: 300 },
    )
  })

  it("named edge cases: both decoders take or refuse each, alike", () => {
    const intent = { _tag: "SetState", leadId: "l", from: "a", to: "b", at: 1 }
    const row = (columns: { readonly [key: string]: unknown }) => ({
      seq: 1,
      id: "e",
      lead_id: "l",
      intent: JSON.stringify(intent),
      status: "pending",
      attempts: 0,
      available_at: 0,
      correlation_id: null,
      failure: null,
      ...columns,
    })
    const cases: ReadonlyArray<readonly [string, unknown, boolean]> = [
      ["int8 text", row({ seq: "9007199254740991", attempts: "-0", available_at: "007" }), true],
      ["int8 text past 2^53", row({ seq: "9007199254740992" }), false],
      ["a bigint", row({ seq: 12n }), true],
      ["a fraction", row({ attempts: 1.5 }), false],
      ["an optional field undefined (a JS value)", row({ intent: { ...intent, note: undefined } }), true],
      [
        "an optional field inherited, not own",
        row({ intent: Object.assign(Object.create({ note: "n" }), intent) }),
        true,
      ],
      ["a field inherited, not own", Object.create(row({})), true],
      ["a tag inherited, not own", row({ intent: Object.create(intent) }), false],
      [
        "a metadata key __proto__ in JSON text",
        row({
          intent: JSON.stringify({ ...intent, metadata: {} }).replace('"metadata":{}', '"metadata":{"__proto__":1}'),
        }),
        false,
      ],
      ["metadata NaN (not JSON)", row({ intent: { ...intent, metadata: { a: Number.NaN } } }), false],
      ["a reason that is an Object.prototype member", row({ failure: '{"reason":"toString","message":"m"}' }), false],
      ["failure text null", row({ failure: "null" }), false],
      ["an array row", [1], false],
      ["an array row with the columns as properties", Object.assign([], row({})), false],
      ["an array intent with the fields as properties", row({ intent: Object.assign([], intent) }), false],
      ["snoozeUntil NaN (a JS value)", row({ intent: { ...intent, snoozeUntil: Number.NaN } }), false],
      ["snoozeUntil -0", row({ intent: { ...intent, snoozeUntil: -0 } }), true],
      // JSON.parse reads 1e400 as Infinity: parsed JSON is not always finite.
      ["at 1e400 in JSON text", row({ intent: JSON.stringify(intent).replace('"at":1', '"at":1e400') }), false],
      [
        "metadata 1e400 in JSON text",
        row({ intent: '{"_tag":"MergeMetadata","leadId":"l","metadata":{"a":1e400},"at":1}' }),
        false,
      ],
    ]
    for (const [name, value, accepted] of cases) {
      const schema = codecs.schema.outboxRecord(value)
      expect(Either.isRight(schema), name).toBe(accepted)
      expect(codecs.plain.outboxRecord(value), name).toStrictEqual(Either.getOrUndefined(schema))
    }
  })

  it("a refused row gets the Schema decoder's detail, naming the row", () => {
    const row = {
      seq: 1,
      id: "e-1",
      lead_id: "l",
      intent: "{",
      status: "pending",
      attempts: 0,
      available_at: 0,
      correlation_id: null,
      failure: null,
    }
    expect(codecs.plain.outboxRecord(row)).toBeUndefined()
    const detail = Either.getOrThrowWith(Either.flip(toOutboxRecord(row)), () => new Error("expected a refusal"))
    expect(detail).toMatch(/^outbox entry "e-1" is corrupt: /)
    expect(detail).toContain("expected JSON text")
  })
})
