import { FetchHttpClient } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { GenericAdapter } from "@leadstate/adapter-generic"
import { AmbiguousWrites, Metadata, type SyncIntent, WriteId } from "@leadstate/core"
import { Effect, Either, FastCheck as fc, Redacted } from "effect"
import { API_KEY, dealer, dealerMap } from "./fixtures.js"

const BASE = "https://crm.example.test"
const crm = Effect.runSync(
  GenericAdapter.make({
    lifecycle: dealer,
    stateMap: dealerMap,
    baseUrl: BASE,
    apiKey: Redacted.make(API_KEY),
    chatbotId: "bot 1/α",
  }).pipe(Effect.provide(FetchHttpClient.layer)),
)

const json: fc.Arbitrary<unknown> = fc.jsonValue().map((v) => JSON.parse(JSON.stringify(v)))
const metadata = fc.dictionary(
  fc.string({ minLength: 1, maxLength: 12 }).filter((k) => k !== "__proto__" && k !== "leadstate"),
  json,
  { maxKeys: 5 },
) as fc.Arbitrary<Record<string, never>>

const setState: fc.Arbitrary<SyncIntent.SetState> = fc
  .record({
    to: fc.constantFrom(...dealer.stateNames),
    note: fc.option(fc.string(), { nil: undefined }),
    actor: fc.option(fc.string({ minLength: 1 }), { nil: undefined }),
    metadata: fc.option(metadata, { nil: undefined }),
    at: fc.integer({ min: 0, max: 4_102_444_800_000 }),
  })
  .chain((r) => {
    const allowed = dealer.states.get(r.to)?.dispositions?.list ?? []
    return fc
      .record({
        disposition:
          allowed.length === 0 ? fc.constant(undefined) : fc.option(fc.constantFrom(...allowed), { nil: undefined }),
      })
      .map(({ disposition }) => ({ r, disposition }))
  })
  .map(({ r, disposition }) => {
    const intent: { -readonly [K in keyof SyncIntent.SetState]: SyncIntent.SetState[K] } = {
      _tag: "SetState",
      leadId: "L-1",
      from: dealer.initial,
      to: r.to,
      at: r.at,
    }
    if (disposition !== undefined) intent.disposition = disposition
    if (r.note !== undefined) intent.note = r.note
    if (r.actor !== undefined) intent.actor = r.actor
    if (r.metadata !== undefined) intent.metadata = r.metadata
    return intent
  })

describe("generic request building (properties)", () => {
  it.prop(
    "SetState is one PUT to the encoded lead URL, with the mapped status, our block, the caller's metadata, and no secret",
    { intent: setState, vendorLeadId: fc.string({ minLength: 1, maxLength: 30 }) },
    ({ intent, vendorLeadId }) => {
      const plan = Either.getOrThrow(crm.plan(intent, { leadId: intent.leadId, vendorLeadId }))
      expect(plan).toHaveLength(1)
      const [request] = plan
      expect(request?.method).toBe("PUT")
      expect(request?.url).toBe(`${BASE}/api/v1/leads/${encodeURIComponent(vendorLeadId)}`)
      expect(request?.headers.Authorization).toBe("Bearer <redacted>")
      const body = request?.body as {
        status: string
        metadata: Record<string, unknown> & { leadstate: Record<string, unknown> }
      }
      expect(body.status).toBe(dealerMap.states[intent.to])
      expect(body.metadata.leadstate.state).toBe(intent.to)
      expect(body.metadata.leadstate.disposition).toBe(intent.disposition)
      expect(body.metadata.leadstate.note).toBe(intent.note)
      for (const [k, v] of Object.entries(intent.metadata ?? {})) expect(body.metadata[k]).toEqual(v)
      expect(JSON.stringify(plan)).not.toContain(API_KEY)
    },
    { fastCheck: { numRuns: 300 } },
  )

  it.prop(
    "SetState without a vendor id is refused before any request, naming vendorLeadId",
    { intent: setState },
    ({ intent }) => {
      const plan = crm.plan(intent, { leadId: intent.leadId })
      expect(Either.isLeft(plan) && plan.left.reason._tag === "InvalidRequest" && plan.left.reason.fields).toEqual([
        "vendorLeadId",
      ])
    },
  )

  it.prop(
    "CreateLead sends name and email and keeps every other metadata key, plus external_id",
    { extra: metadata, name: fc.string({ minLength: 1 }), email: fc.emailAddress() },
    ({ extra, name, email }) => {
      const intent: SyncIntent.CreateLead = {
        _tag: "CreateLead",
        leadId: "L-9",
        state: "new",
        metadata: { ...extra, name, email },
        at: 0,
      }
      const [request] = Either.getOrThrow(crm.plan(intent, { leadId: "L-9" }))
      expect(request?.url).toBe(`${BASE}/api/v1/chatbots/${encodeURIComponent("bot 1/α")}/leads`)
      const body = request?.body as { name: string; email: string; status: string; metadata: Record<string, unknown> }
      expect([body.name, body.email, body.status]).toEqual([name, email, "new"])
      expect(body.metadata.external_id).toBe("L-9")
      for (const [k, v] of Object.entries(extra))
        if (!["name", "email", "phone", "source"].includes(k)) expect(body.metadata[k]).toEqual(v)
    },
  )

  it.prop(
    "a write id rides in metadata.leadstate exactly when the ref carries one; the rest of the body is the same",
    {
      intent: setState,
      writeId: fc
        .tuple(fc.nat({ max: 1_000 }), fc.nat({ max: 9 }))
        .map(([version, index]) => WriteId.make("L-1", version, index)),
    },
    ({ intent, writeId }) => {
      const ref = { leadId: intent.leadId, vendorLeadId: "lead_1" }
      const body = (plan: ReturnType<typeof crm.plan>) =>
        (Either.getOrThrow(plan)[0]?.body ?? {}) as { metadata: { leadstate: Record<string, unknown> } }
      const without = body(crm.plan(intent, ref))
      const withId = body(crm.plan(intent, { ...ref, writeId }))
      expect("writeId" in without.metadata.leadstate).toBe(false)
      expect(withId.metadata.leadstate.writeId).toBe(writeId)
      const { writeId: _, ...rest } = withId.metadata.leadstate
      expect({ ...withId, metadata: { ...withId.metadata, leadstate: rest } }).toEqual(without)
    },
  )
})

/** JSON with object keys sorted: equal values, whatever their key order. */
const canonical = (value: unknown): string =>
  JSON.stringify(value, (_, v: unknown) =>
    typeof v === "object" && v !== null && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  )

describe("AmbiguousWrites.holdsPatch (properties)", () => {
  const patch = fc.dictionary(
    fc.constantFrom("a", "b", "c", "d"),
    fc.oneof(fc.constant(null), json as fc.Arbitrary<Metadata.Json>),
    { maxKeys: 4 },
  )
  const record = fc.dictionary(fc.constantFrom("a", "b", "c", "d"), json as fc.Arbitrary<Metadata.Json>, {
    maxKeys: 4,
  })

  it.prop("a merge always holds its patch", { base: record, patch }, ({ base, patch }) => {
    expect(AmbiguousWrites.holdsPatch(Metadata.merge(base, patch), patch)).toBe(true)
  })

  it.prop(
    "holds exactly when every patched key has the patched value (null: absent or null)",
    { base: record, patch },
    ({ base, patch }) => {
      const expected = Object.entries(patch).every(([k, v]) =>
        v === null
          ? !Object.hasOwn(base, k) || base[k] === null
          : Object.hasOwn(base, k) && canonical(base[k]) === canonical(v),
      )
      expect(AmbiguousWrites.holdsPatch(base, patch)).toBe(expected)
    },
  )

  it.prop("key order does not matter", { value: record }, ({ value }) => {
    const reversed = Object.fromEntries(Object.entries(JSON.parse(canonical(value)) as Metadata.Metadata).reverse())
    expect(AmbiguousWrites.holdsPatch({ v: reversed }, { v: value })).toBe(true)
  })
})
