import { Either, FastCheck as fc, ParseResult, Schema } from "effect"
import { describe, expect, it } from "vitest"
import * as CrmWebhooks from "../src/CrmWebhooks.js"
import { autoDealer } from "../src/examples/autoDealer.js"
import * as InputLimits from "../src/InputLimits.js"
import type { LifecycleProblem } from "../src/InvalidLifecycle.js"
import * as LeadEvent from "../src/LeadEvent.js"
import * as LeadSnapshot from "../src/LeadSnapshot.js"
import * as Lifecycle from "../src/Lifecycle.js"
import * as Metadata from "../src/Metadata.js"
import { start, startChecked, transition } from "../src/transition.js"

/** `{"a":{"a":...1...}}`, `depth` objects deep, built without recursion. */
const deepObject = (depth: number): unknown => JSON.parse(`${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`)
/** `[[...[1]...]]`, `depth` arrays deep. */
const deepArray = (depth: number): unknown => JSON.parse(`${"[".repeat(depth)}1${"]".repeat(depth)}`)

const definition = JSON.parse(JSON.stringify(autoDealer)) as Record<string, unknown>
const withField = (key: string, value: unknown): Record<string, unknown> => ({ ...definition, [key]: value })
const snooze = autoDealer.snooze

const problemsOf = (input: unknown): ReadonlyArray<LifecycleProblem> => {
  const result = Lifecycle.make(input)
  if (Either.isRight(result)) throw new Error("expected the definition to be rejected")
  return result.left.problems
}

const dealer = Lifecycle.unsafeMake(autoDealer)
const fresh = () => start(dealer, { leadId: "L-1", at: 1_000 }).snapshot
const rejection = (event: unknown, snapshot = fresh()) => {
  const result = transition(dealer, snapshot, event)
  if (Either.isRight(result)) throw new Error(`expected a rejection, got ${LeadSnapshot.toJson(result.right.snapshot)}`)
  return result.left
}

describe("InputLimits.checkJson", () => {
  it("accepts plain JSON and measures it exactly as JSON.stringify does", () => {
    fc.assert(
      fc.property(
        // JSON values without a "__proto__" key (which checkJson refuses).
        fc.jsonValue().filter((v) => !JSON.stringify(v).includes('"__proto__"')),
        (value) => {
          const size = JSON.stringify(value).length
          expect(InputLimits.checkJson(value, { maxDepth: 1_000, maxSize: size })).toBeUndefined()
          expect(InputLimits.checkJson(value, { maxDepth: 1_000, maxSize: size - 1 })?.kind).toBe("TooLarge")
        },
      ),
      { numRuns: 300 },
    )
  })

  it("checks 1,000,000 levels of nesting without overflowing the stack", () => {
    const v = InputLimits.checkJson(deepArray(1_000_000), { path: "x" })
    expect(v?.kind).toBe("TooDeep")
    expect(v?.message).toMatch(/^x(\[0\]){32} is nested more than 32 levels deep/)
  })

  it("names what is not JSON, and where", () => {
    const cases: ReadonlyArray<readonly [unknown, string]> = [
      [{ a: [1, Number.NaN] }, "v.a[1] is NaN"],
      [{ a: Number.NEGATIVE_INFINITY }, "v.a is -Infinity"],
      [{ a: { b: undefined } }, "v.a.b is undefined"],
      [[1n], "v[0] is a bigint"],
      [{ f: () => 1 }, "v.f is a function"],
      [{ d: new Date(0) }, "v.d is a Date instance"],
      [{ m: new Map() }, "v.m is a Map instance"],
      [{ "odd key": Object.assign(new Array<number>(2), { 1: 1 }) }, 'v["odd key"][0] is a hole in the array'],
      [{ [Symbol("s")]: 1 }, "v has a symbol key"],
      [JSON.parse('{"x":{"__proto__":{"polluted":true}}}'), 'v.x.__proto__ is a "__proto__" key'],
    ]
    for (const [value, start] of cases) {
      expect(InputLimits.checkJson(value, { path: "v" })?.message.startsWith(start), start).toBe(true)
    }
  })

  it("skips undefined properties only when asked, as JSON.stringify does", () => {
    expect(InputLimits.checkJson({ a: undefined }, { skipUndefinedProperties: true })).toBeUndefined()
    expect(InputLimits.checkJson([undefined], { skipUndefinedProperties: true })?.kind).toBe("NotJson")
  })

  it("reports a throwing getter as not plain data instead of throwing", () => {
    const hostile = Object.defineProperty({}, "x", {
      enumerable: true,
      get: () => {
        throw new Error("boom")
      },
    })
    expect(InputLimits.checkJson(hostile)?.kind).toBe("NotJson")
  })

  it("accepts times from 0 to 8.64e15 only, as whole numbers", () => {
    for (const ok of [0, 1, 1_700_000_000_000, InputLimits.maxTime]) expect(InputLimits.isTime(ok)).toBe(true)
    for (const bad of [-1, 0.5, InputLimits.maxTime + 1, Number.NaN, Number.POSITIVE_INFINITY, "0", null]) {
      expect(InputLimits.isTime(bad)).toBe(false)
    }
    // The bound is where Date stops: one past it is an invalid date.
    expect(new Date(InputLimits.maxTime).toISOString()).toBe("+275760-09-13T00:00:00.000Z")
    expect(Number.isNaN(new Date(InputLimits.maxTime + 1).getTime())).toBe(true)
  })
})

describe("Metadata.mergeWithin", () => {
  const key = fc.constantFrom("a", "b", "pad", "é", 'q"uote')
  const value = fc.oneof(
    fc.constant(null),
    fc
      .jsonValue({ maxDepth: 2 })
      .filter((v) => !JSON.stringify(v).includes('"__proto__"'))
      .map((v) => v as Metadata.Json),
    fc.integer({ min: 0, max: 400 }).map((n) => "x".repeat(InputLimits.maxMetadataSize - 200 - n)),
  )
  const patch = fc.dictionary(key, value, { maxKeys: 3 })

  it("accepts a merge exactly when the merged metadata is at most maxMetadataSize as JSON", () => {
    fc.assert(
      fc.property(fc.array(patch, { minLength: 1, maxLength: 6 }), (patches) => {
        let lead: Metadata.Metadata = Metadata.empty
        for (const p of patches) {
          // Patches as transition passes them: checked first.
          if (Metadata.check(p) !== undefined) continue
          const result = Metadata.mergeWithin(lead, p)
          const size = JSON.stringify(Metadata.merge(lead, p)).length
          expect(Either.isRight(result), `size ${size}`).toBe(size <= InputLimits.maxMetadataSize)
          if (Either.isRight(result)) lead = result.right
        }
      }),
      { numRuns: 300 },
    )
  })
})

describe("Lifecycle.make on hostile definitions (issue 11, items 7, 9, 14b)", () => {
  it("a definition nested 10,000 deep is a typed TooLarge problem, not a stack overflow", () => {
    for (const input of [withField("description", deepObject(10_000)), withField("states", deepArray(10_000))]) {
      const problems = problemsOf(input)
      expect(problems).toHaveLength(1)
      expect(problems[0]?.code).toBe("TooLarge")
      expect(problems[0]?.message).toContain("nested more than 32 levels deep")
    }
    expect(problemsOf(deepObject(10_000))[0]?.code).toBe("TooLarge")
  })

  it("a definition larger than maxDefinitionSize is refused", () => {
    const problems = problemsOf(withField("description", "x".repeat(InputLimits.maxDefinitionSize)))
    expect(problems.map((p) => [p.code, p.path])).toEqual([["TooLarge", ""]])
    expect(problems[0]?.message).toMatch(/^The definition is more than 1048576 characters as JSON/)
  })

  it('a "__proto__" key in dispositions is a problem at its path, not a prototype', () => {
    const input = JSON.parse(
      JSON.stringify(definition).replace(
        '"dispositions":{',
        '"dispositions":{"__proto__":{"required":false,"allowed":[]},',
      ),
    ) as unknown
    const problems = problemsOf(input)
    expect(problems.map((p) => [p.code, p.path])).toEqual([["Shape", "dispositions.__proto__"]])
    expect(problems[0]?.message).toContain("rename it")
  })

  it("snooze.defaultMs = -5 gives one actionable sentence, no Schema dump", () => {
    const problems = problemsOf(withField("snooze", { ...snooze, defaultMs: -5 }))
    expect(problems).toEqual([
      {
        code: "Shape",
        path: "snooze.defaultMs",
        message:
          '"defaultMs" must be a positive whole number of milliseconds, at most 3155760000000 (100 years); got -5.',
      },
    ])
  })

  it("durations are bounded: defaultMs = Number.MAX_SAFE_INTEGER and a huge intervalMs are refused", () => {
    const tooLong = problemsOf(withField("snooze", { ...snooze, defaultMs: Number.MAX_SAFE_INTEGER }))
    expect(tooLong.map((p) => [p.code, p.path])).toEqual([["Shape", "snooze.defaultMs"]])
    expect(tooLong[0]?.message).toContain("got 9007199254740991")
    const followUps = { ...autoDealer.followUps, intervalMs: InputLimits.maxDurationMs + 1 }
    expect(problemsOf(withField("followUps", followUps)).map((p) => p.path)).toEqual(["followUps.intervalMs"])
    const atLimit = { ...snooze, defaultMs: InputLimits.maxDurationMs }
    expect(Either.isRight(Lifecycle.make(withField("snooze", atLimit)))).toBe(true)
  })

  it("says what each field must be, once per field, with a suggestion for misspelt fields", () => {
    const problems = problemsOf({
      name: "t",
      states: [{ name: "new" }, 7],
      transitions: [{ from: ["new", 5], to: "new" }, { from: 3 }],
      ordering: "sideways",
      snooze: { state: "new", defaultMss: 5 },
    })
    expect(problems.map((p) => `${p.path}: ${p.message}`)).toEqual([
      "initial: \"initial\" is missing; it must be a state name (a letter, then letters, digits, '_', '.' or '-').",
      'states[1]: "states[1]" must be a state: an object { name, description?, final?, rank? }; got 7.',
      "transitions[0].from[1]: \"from[1]\" must be a state name (a letter, then letters, digits, '_', '.' or '-'); got 5.",
      "transitions[1].from: \"from\" must be \"*\", a state name or a list of state names (each a letter, then letters, digits, '_', '.' or '-'); got 3.",
      "transitions[1].to: \"to\" is missing; it must be a state name (a letter, then letters, digits, '_', '.' or '-').",
      'ordering: "ordering" must be "free" or "forward-only"; got "sideways".',
      'snooze.defaultMss: "defaultMss" is not a field of "snooze". Did you mean "defaultMs"? Allowed fields: state, from, defaultMs.',
    ])
    for (const p of problems) expect(p.message).not.toMatch(/Expected|actual|└─/)
  })

  it("non-JSON values in a definition are Shape problems with their path", () => {
    const problems = problemsOf(withField("states", [{ name: "new", rank: Number.NaN }]))
    expect(problems.map((p) => [p.code, p.path])).toEqual([["Shape", "states[0].rank"]])
  })
})

describe("LeadSnapshot.decode on hostile snapshots (issue 11, item 7)", () => {
  const json = LeadSnapshot.encode(fresh())

  it("metadata nested 2,000 deep is InvalidSnapshot, not a stack overflow", () => {
    const result = LeadSnapshot.decode({ ...json, metadata: { x: deepObject(2_000) } })
    expect(Either.isLeft(result) && result.left.reason).toBe("Shape")
    expect(Either.isLeft(result) && result.left.message).toContain("metadata.x.a")
    expect(Either.isLeft(result) && result.left.message).toContain("nested more than 32 levels deep")
  })

  it("metadata over maxMetadataSize, or not JSON, is InvalidSnapshot", () => {
    const big = LeadSnapshot.decode({ ...json, metadata: { x: "y".repeat(InputLimits.maxMetadataSize) } })
    expect(Either.isLeft(big) && big.left.message).toContain("more than 65536 characters")
    const nan = LeadSnapshot.decode({ ...json, metadata: { x: [Number.NaN] } })
    expect(Either.isLeft(nan) && nan.left.message).toContain("metadata.x[0] is NaN")
  })

  it("a deep value in any other field is InvalidSnapshot too (the error formatter would overflow)", () => {
    const result = LeadSnapshot.decode({ ...json, leadId: deepObject(10_000) })
    expect(Either.isLeft(result) && result.left.reason).toBe("Shape")
  })

  it('timeEnteredPerState keeps a state named "__proto__" as a key', () => {
    const times = LeadSnapshot.timeEnteredPerState({ ...fresh(), state: "__proto__", enteredAt: 5 })
    expect(Object.getPrototypeOf(times)).toBe(Object.prototype)
    expect(Object.getOwnPropertyDescriptor(times, "__proto__")?.value).toBe(5)
  })
})

describe("transition on hostile events (issue 11, items 7, 8)", () => {
  it("metadata nested 10,000 deep is InvalidEvent, so no saved lead fails to decode again", () => {
    const error = rejection({ type: "updateMetadata", metadata: { x: deepObject(10_000) }, at: 2_000 })
    expect(error._tag).toBe("InvalidEvent")
    expect(error.message).toContain("nested more than 32 levels deep")
    // The deepest metadata accepted (32 levels, counting the metadata object) survives the round trip.
    const ok = transition(dealer, fresh(), { type: "updateMetadata", metadata: { x: deepObject(31) }, at: 2_000 })
    expect(Either.isRight(ok)).toBe(true)
    if (Either.isRight(ok)) {
      expect(LeadSnapshot.fromJson(LeadSnapshot.toJson(ok.right.snapshot))).toEqual(Either.right(ok.right.snapshot))
    }
  })

  it("NaN, Infinity, undefined and bigint inside metadata arrays or objects are InvalidEvent", () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, undefined, 10n]) {
      for (const metadata of [{ x: [bad] }, { x: { y: bad } }]) {
        for (const type of ["updateMetadata", "transition"]) {
          const error = rejection({ type, to: "contacted", metadata, at: 2_000 })
          expect(error._tag).toBe("InvalidEvent")
          expect(error.message).toContain("which JSON cannot carry")
        }
      }
    }
    expect(rejection({ type: "updateMetadata", metadata: { when: new Date(0) } }).message).toContain("Date instance")
  })

  it("metadata over maxMetadataSize, per event or once merged into the lead, is InvalidEvent", () => {
    const half = "x".repeat(InputLimits.maxMetadataSize / 2)
    expect(rejection({ type: "updateMetadata", metadata: { a: half + half } }).message).toContain("65536")
    const step = Either.getOrThrow(transition(dealer, fresh(), { type: "updateMetadata", metadata: { a: half } }))
    const error = rejection({ type: "updateMetadata", metadata: { b: half } }, step.snapshot)
    expect(error.message).toContain("the lead's metadata would be more than 65536 characters as JSON")
    // Removing a key makes room again.
    expect(
      Either.isRight(transition(dealer, step.snapshot, { type: "updateMetadata", metadata: { a: null, b: half } })),
    ).toBe(true)
  })

  it("at = 8.64e15 + 1 (past the last Date) is InvalidEvent; so are fractional and negative times", () => {
    for (const at of [InputLimits.maxTime + 1, 1.5, -1, Number.MAX_VALUE]) {
      const error = rejection({ type: "transition", to: "contacted", at })
      expect(error._tag).toBe("InvalidEvent")
      expect(error.message).toContain('"at" must be epoch milliseconds')
    }
    expect(
      Either.isRight(
        transition(dealer, fresh(), { type: "updateMetadata", metadata: { a: 1 }, at: InputLimits.maxTime }),
      ),
    ).toBe(true)
  })

  it("snooze.until past the last Date, or a deadline that would land there, is InvalidEvent", () => {
    const tooLate = rejection({ type: "snooze", until: InputLimits.maxTime + 1, at: 2_000 })
    expect(tooLate.message).toContain('"until" must be epoch milliseconds')
    // The default delay (7 days) would carry the wake-up past the last Date.
    const wake = rejection({ type: "snooze", at: InputLimits.maxTime - 1 })
    expect(wake.message).toContain("wake-up deadline")
    // Entering a follow-up state sets a deadline at + intervalMs.
    const due = rejection({ type: "transition", to: "contacted", at: InputLimits.maxTime - 1 })
    expect(due.message).toContain("follow-up deadline")
  })

  it("an event without at on a lead whose updatedAt is not a valid time is InvalidEvent", () => {
    const error = rejection({ type: "transition", to: "contacted" }, { ...fresh(), updatedAt: 1e300 })
    expect(error.message).toContain('give "at"')
  })
})

describe("startChecked", () => {
  it("refuses an out-of-range at, hostile metadata or a first deadline past the last Date, with InvalidEvent", () => {
    const reasons = [
      { leadId: "L-1", at: InputLimits.maxTime + 1 },
      { leadId: "L-1", at: 1_000, metadata: { x: [Number.NaN] } },
      { leadId: "L-1", at: 1_000, metadata: { x: deepObject(10_000) } as never },
    ].map((options) => {
      const result = startChecked(dealer, options)
      return Either.isLeft(result) ? result.left._tag : "started"
    })
    expect(reasons).toEqual(["InvalidEvent", "InvalidEvent", "InvalidEvent"])
    // Here the initial state starts the follow-up sequence, so its deadline would pass maxTime.
    const followingUp = Lifecycle.unsafeMake({
      name: "f",
      initial: "new",
      states: [{ name: "new" }, { name: "f1" }, { name: "lost", final: true }],
      transitions: [
        { from: "new", to: "f1" },
        { from: "*", to: "lost" },
      ],
      followUps: { states: ["f1"], startFrom: ["new"], intervalMs: 1_000, exhausted: { to: "lost" } },
    })
    const late = startChecked(followingUp, { leadId: "L-1", at: InputLimits.maxTime })
    expect(Either.isLeft(late) && late.left.message).toContain("follow-up deadline")
    const ok = startChecked(dealer, { leadId: "L-1", at: 1_000, metadata: { source: "web" } })
    expect(ok).toEqual(Either.right(start(dealer, { leadId: "L-1", at: 1_000, metadata: { source: "web" } })))
  })
})

describe("the Metadata and LeadEvent schemas", () => {
  it("decode hostile metadata to a ParseError with the reason, never a throw", () => {
    const decode = Schema.decodeUnknownEither(LeadEvent.LeadEvent)
    for (const metadata of [{ x: deepObject(10_000) }, { x: [Number.NaN] }, JSON.parse('{"__proto__":{"a":1}}')]) {
      const result = decode({ type: "updateMetadata", metadata })
      expect(Either.isLeft(result)).toBe(true)
      if (Either.isLeft(result)) expect(ParseResult.TreeFormatter.formatErrorSync(result.left)).toMatch(/metadata/)
    }
    expect(Either.isLeft(Schema.decodeUnknownEither(Metadata.Json)(deepArray(10_000)))).toBe(true)
  })

  it("refuse times past the last Date in events", () => {
    const decode = Schema.decodeUnknownEither(LeadEvent.LeadEvent)
    expect(Either.isLeft(decode({ type: "wake", at: InputLimits.maxTime + 1 }))).toBe(true)
    expect(Either.isLeft(decode({ type: "snooze", until: InputLimits.maxTime + 1 }))).toBe(true)
    expect(Either.isRight(decode({ type: "snooze", until: InputLimits.maxTime, at: 0 }))).toBe(true)
  })
})

describe("CrmWebhooks.parseJsonBody", () => {
  const raw = (text: string): CrmWebhooks.RawWebhook => ({ headers: {}, body: new TextEncoder().encode(text) })
  const reasonOf = (text: string) => {
    const result = CrmWebhooks.parseJsonBody("test", raw(text))
    return Either.isLeft(result) ? `${result.left.reason}: ${result.left.detail}` : "ok"
  }

  it("refuses over-deep, oversize, non-JSON and prototype-setting bodies as Malformed", () => {
    expect(reasonOf(`${'{"a":'.repeat(2_000)}1${"}".repeat(2_000)}`)).toMatch(
      /^Malformed: body\.a.* nested more than 32/,
    )
    expect(reasonOf(`"${"x".repeat(InputLimits.maxWebhookBodySize)}"`)).toMatch(/^Malformed: the body is 1048578 bytes/)
    expect(reasonOf("{")).toBe("Malformed: the body is not JSON (UTF-8)")
    expect(reasonOf('{"__proto__":{}}')).toMatch(/^Malformed: body\.__proto__ is a "__proto__" key/)
    expect(reasonOf('{"ok":[1,2,{"deep":true}]}')).toBe("ok")
  })
})
