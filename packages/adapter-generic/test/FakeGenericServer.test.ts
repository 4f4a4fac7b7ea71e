import { createHmac } from "node:crypto"
import { assert, it as eit } from "@effect/vitest"
import { CrmWebhooks } from "@leadstate/core"
import { type FakeVendorControl, startFakeVendorPromise } from "@leadstate/core/testing"
import { Effect, Redacted } from "effect"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import {
  type FakeGenericServerControl,
  type GenericLead,
  startFakeGenericServer,
  startFakeGenericServerPromise,
} from "../src/testing/index.js"

const KEY = `sk-workspace_${"a1b2c3d4".repeat(6)}123` // 64 characters, like the vendor's keys
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

type Server = FakeGenericServerControl & { readonly close: () => Promise<void> }

interface Answer {
  readonly status: number
  readonly headers: Headers
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers are inspected freely in tests
  readonly json: any
}

const call = async (
  server: { readonly url: string },
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = { authorization: `Bearer ${KEY}` },
): Promise<Answer> => {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: body === undefined ? headers : { ...headers, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  })
  const text = await res.text()
  return { status: res.status, headers: res.headers, json: text === "" ? null : JSON.parse(text) }
}

const validation = (answer: Answer, field: string) => {
  expect(answer.status).toBe(400)
  expect(answer.json).toMatchObject({ success: false, error: "Validation failed", code: "VALIDATION_ERROR" })
  expect(answer.json.details.field).toBe(field)
}

describe("FakeGenericServer", () => {
  let api: Server
  beforeAll(async () => {
    api = await startFakeGenericServerPromise({ apiKey: KEY, seed: 42 })
  })
  afterAll(() => api.close())
  beforeEach(() => api.reset())

  describe("authentication", () => {
    it("refuses a missing Authorization header with MISSING_AUTH_HEADER", async () => {
      const answer = await call(api, "GET", "/api/v1/leads", undefined, {})
      expect(answer.status).toBe(401)
      expect(answer.json).toEqual({
        success: false,
        error: "Missing authorization header",
        code: "MISSING_AUTH_HEADER",
      })
    })

    it("refuses a wrong key, or the key without the Bearer prefix, with INVALID_API_KEY", async () => {
      for (const authorization of [`Bearer sk-workspace_wrong`, KEY, `bearer${KEY}`]) {
        const answer = await call(api, "GET", "/api/v1/leads", undefined, { authorization })
        expect(answer.status).toBe(401)
        expect(answer.json).toEqual({ success: false, error: "Invalid or inactive API key", code: "INVALID_API_KEY" })
      }
      expect((await call(api, "GET", "/api/v1/leads")).status).toBe(200)
    })

    it("refuses to start with a key that does not look like the vendor's", async () => {
      await expect(startFakeGenericServerPromise({ apiKey: "test-key" })).rejects.toThrow(/sk-workspace_/)
    })
  })

  describe("create", () => {
    it("creates at the chatbot-scoped path: 201, envelope, id, timestamps, workspace, default status", async () => {
      const before = Date.now()
      const answer = await call(api, "POST", "/api/v1/chatbots/bot_1/leads", {
        name: "Marta Ruiz",
        email: "marta.ruiz@example.org",
        phone: "+34-600-000-111",
        source: "landing-page",
        metadata: { external_id: "crm-77", utm_campaign: "q3-promo" },
      })
      expect(answer.status).toBe(201)
      expect(answer.json.success).toBe(true)
      const lead: GenericLead = answer.json.data
      expect(lead.id).toMatch(/^lead_[0-9a-f]{16}$/)
      expect(lead).toMatchObject({
        name: "Marta Ruiz",
        email: "marta.ruiz@example.org",
        phone: "+34-600-000-111",
        source: "landing-page",
        status: "new",
        metadata: { external_id: "crm-77", utm_campaign: "q3-promo" },
        workspaceId: "ws_fake0001",
      })
      expect(lead.createdAt).toMatch(ISO)
      expect(lead.updatedAt).toBe(lead.createdAt)
      expect(Date.parse(lead.createdAt)).toBeGreaterThanOrEqual(before - 1)
      expect(api.lead(lead.id)).toEqual(lead)
      expect(api.leads()).toEqual([lead])
    })

    it("creates at the workspace path too, with the given status; optional fields stay absent", async () => {
      const answer = await call(api, "POST", "/api/v1/leads", {
        name: "Ann",
        email: "ann@example.org",
        status: "contacted",
      })
      expect(answer.status).toBe(201)
      expect(answer.json.data.status).toBe("contacted")
      expect(answer.json.data.metadata).toEqual({})
      expect("phone" in answer.json.data).toBe(false)
      expect("source" in answer.json.data).toBe(false)
    })

    it("ids are deterministic for a seed and unique", async () => {
      const ids = async () => {
        api.reset()
        const out: Array<string> = []
        for (let i = 0; i < 3; i++) {
          out.push((await call(api, "POST", "/api/v1/leads", { name: "N", email: `n${i}@example.org` })).json.data.id)
        }
        return out
      }
      const first = await ids()
      expect(await ids()).toEqual(first)
      expect(new Set(first).size).toBe(3)
    })

    it("answers VALIDATION_ERROR for each invalid field", async () => {
      validation(await call(api, "POST", "/api/v1/leads", { email: "x@example.org" }), "name")
      validation(await call(api, "POST", "/api/v1/leads", { name: "  ", email: "x@example.org" }), "name")
      validation(await call(api, "POST", "/api/v1/leads", { name: "X" }), "email")
      const badEmail = await call(api, "POST", "/api/v1/leads", { name: "X", email: "not-an-email" })
      validation(badEmail, "email")
      expect(badEmail.json.details).toEqual({
        field: "email",
        value: "not-an-email",
        message: "Email must be a valid email address",
      })
      const badStatus = await call(api, "POST", "/api/v1/leads", { name: "X", email: "x@example.org", status: "won" })
      validation(badStatus, "status")
      expect(badStatus.json.details.message).toBe(
        "Status must be one of: new, contacted, qualified, converted, lost, follow_up",
      )
      validation(
        await call(api, "POST", "/api/v1/leads", { name: "X", email: "x@example.org", metadata: [1] }),
        "metadata",
      )
      validation(await call(api, "POST", "/api/v1/leads", { name: "X", email: "x@example.org", phone: 5 }), "phone")
      const notJson = await call(api, "POST", "/api/v1/leads", "{not json")
      validation(notJson, "body")
      expect(notJson.json.details.message).toBe("Request body must be valid JSON")
      validation(await call(api, "POST", "/api/v1/leads", [1, 2]), "body")
      expect(api.leads()).toEqual([])
    })

    it("answers 409 DUPLICATE_EMAIL (case-insensitive) with the existing lead's id", async () => {
      const first = await call(api, "POST", "/api/v1/leads", { name: "Ann", email: "ann@example.org" })
      const again = await call(api, "POST", "/api/v1/chatbots/b/leads", { name: "Ann 2", email: "ANN@example.org" })
      expect(again.status).toBe(409)
      expect(again.json).toEqual({
        success: false,
        error: "Email already exists",
        code: "DUPLICATE_EMAIL",
        details: {
          email: "ANN@example.org",
          existingLeadId: first.json.data.id,
          message: "A different lead with this email already exists in your workspace",
        },
      })
      expect(api.leads()).toHaveLength(1)
    })

    it("can answer DUPLICATE_EMAIL with 400 instead (duplicateEmailStatus)", async () => {
      const other = await startFakeGenericServerPromise({ apiKey: KEY, duplicateEmailStatus: 400 })
      try {
        await call(other, "POST", "/api/v1/leads", { name: "A", email: "a@example.org" })
        const again = await call(other, "POST", "/api/v1/leads", { name: "A", email: "a@example.org" })
        expect(again.status).toBe(400)
        expect(again.json.code).toBe("DUPLICATE_EMAIL")
      } finally {
        await other.close()
      }
    })
  })

  describe("get", () => {
    it("returns the full lead, 404 LEAD_NOT_FOUND for an unknown id", async () => {
      const lead = api.putLead({
        name: "Ann",
        email: "ann@example.org",
        phone: "+1",
        source: "web",
        metadata: { a: [1] },
      })
      const answer = await call(api, "GET", `/api/v1/leads/${lead.id}`)
      expect(answer.status).toBe(200)
      expect(answer.json).toEqual({ success: true, data: lead })
      const missing = await call(api, "GET", "/api/v1/leads/lead_0000000000000000")
      expect(missing.status).toBe(404)
      expect(missing.json).toEqual({ success: false, error: "Lead not found", code: "LEAD_NOT_FOUND" })
    })

    it("chatbot-scoped paths see only that chatbot's leads", async () => {
      const mine = api.putLead({ name: "A", email: "a@example.org" }, { chatbotId: "bot_1" })
      const other = api.putLead({ name: "B", email: "b@example.org" }, { chatbotId: "bot_2" })
      expect((await call(api, "GET", `/api/v1/chatbots/bot_1/leads/${mine.id}`)).status).toBe(200)
      expect((await call(api, "GET", `/api/v1/chatbots/bot_1/leads/${other.id}`)).status).toBe(404)
      expect((await call(api, "PUT", `/api/v1/chatbots/bot_1/leads/${other.id}`, { status: "lost" })).status).toBe(404)
      expect((await call(api, "GET", `/api/v1/leads/${other.id}`)).status).toBe(200)
      const listed = await call(api, "GET", "/api/v1/chatbots/bot_1/leads")
      expect(listed.json.data.leads.map((l: GenericLead) => l.id)).toEqual([mine.id])
    })
  })

  describe("update (PUT, partial)", () => {
    const seed = () =>
      api.putLead({
        id: "lead_1234567890abcdef",
        name: "John Doe",
        email: "john.doe@example.com",
        phone: "+1-555-123-4567",
        source: "website",
        status: "new",
        metadata: { utm_source: "google", utm_campaign: "spring_2024", interests: ["basic"], notes: "old" },
        createdAt: "2024-01-15T10:30:00.000Z",
        updatedAt: "2024-01-15T10:30:00.000Z",
      })

    it("changes only the given fields, merges metadata shallowly, replaces arrays (the vendor's example)", async () => {
      const lead = seed()
      const answer = await call(api, "PUT", `/api/v1/leads/${lead.id}`, {
        name: "John Smith",
        phone: "+1-555-456-7890",
        status: "qualified",
        source: "webinar",
        metadata: { company: "New Tech Corp", interests: ["enterprise_solution", "support_package"] },
      })
      expect(answer.status).toBe(200)
      expect(answer.json.success).toBe(true)
      const updated: GenericLead = answer.json.data
      expect(updated).toMatchObject({
        id: lead.id,
        name: "John Smith",
        email: "john.doe@example.com",
        phone: "+1-555-456-7890",
        source: "webinar",
        status: "qualified",
        createdAt: "2024-01-15T10:30:00.000Z",
        workspaceId: "ws_fake0001",
      })
      expect(updated.metadata).toEqual({
        utm_source: "google",
        utm_campaign: "spring_2024",
        notes: "old",
        company: "New Tech Corp",
        interests: ["enterprise_solution", "support_package"],
      })
      expect(updated.updatedAt).toMatch(ISO)
      expect(updated.updatedAt > lead.updatedAt).toBe(true)
      expect(api.lead(lead.id)).toEqual(updated)
    })

    it("a status-only update leaves everything else as it was", async () => {
      const lead = seed()
      const updated: GenericLead = (await call(api, "PUT", `/api/v1/leads/${lead.id}`, { status: "contacted" })).json
        .data
      expect({ ...updated, updatedAt: lead.updatedAt }).toEqual({ ...lead, status: "contacted" })
    })

    it("null clears a field and removes a metadata key; metadata: null clears all metadata", async () => {
      const lead = seed()
      const cleared: GenericLead = (
        await call(api, "PUT", `/api/v1/leads/${lead.id}`, {
          phone: null,
          source: null,
          metadata: { notes: null, x: 1 },
        })
      ).json.data
      expect("phone" in cleared).toBe(false)
      expect("source" in cleared).toBe(false)
      expect(cleared.metadata).toEqual({
        utm_source: "google",
        utm_campaign: "spring_2024",
        interests: ["basic"],
        x: 1,
      })
      const emptied = await call(api, "PUT", `/api/v1/leads/${lead.id}`, { metadata: null })
      expect(emptied.json.data.metadata).toEqual({})
    })

    it("ignores attempts to change id, createdAt and workspaceId", async () => {
      const lead = seed()
      const answer = await call(api, "PUT", `/api/v1/leads/${lead.id}`, {
        id: "lead_ffffffffffffffff",
        createdAt: "2030-01-01T00:00:00.000Z",
        workspaceId: "ws_other",
      })
      expect(answer.json.data).toMatchObject({ id: lead.id, createdAt: lead.createdAt, workspaceId: "ws_fake0001" })
      expect(api.lead("lead_ffffffffffffffff")).toBeUndefined()
      expect(api.lead(lead.id)).toEqual(answer.json.data)
      expect((await call(api, "GET", `/api/v1/leads/${lead.id}`)).json.data.id).toBe(lead.id)
    })

    it("refuses an unknown status with the documented VALIDATION_ERROR, changing nothing", async () => {
      const lead = seed()
      const answer = await call(api, "PUT", `/api/v1/leads/${lead.id}`, { status: "invalid_status", name: "Changed" })
      expect(answer.json).toEqual({
        success: false,
        error: "Validation failed",
        code: "VALIDATION_ERROR",
        details: {
          field: "status",
          value: "invalid_status",
          message: "Status must be one of: new, contacted, qualified, converted, lost, follow_up",
        },
      })
      expect(answer.status).toBe(400)
      expect(api.lead(lead.id)).toEqual(lead)
      validation(await call(api, "PUT", `/api/v1/leads/${lead.id}`, { status: null }), "status")
      validation(await call(api, "PUT", `/api/v1/leads/${lead.id}`, { name: null }), "name")
      validation(await call(api, "PUT", `/api/v1/leads/${lead.id}`, { email: "nope" }), "email")
      validation(await call(api, "PUT", `/api/v1/leads/${lead.id}`, { metadata: "x" }), "metadata")
      expect(api.lead(lead.id)).toEqual(lead)
    })

    it("refuses another lead's email with DUPLICATE_EMAIL but accepts the lead's own", async () => {
      const lead = seed()
      const other = api.putLead({ name: "Jane", email: "jane@example.com" })
      const answer = await call(api, "PUT", `/api/v1/leads/${lead.id}`, { email: "Jane@example.com" })
      expect(answer.status).toBe(409)
      expect(answer.json.code).toBe("DUPLICATE_EMAIL")
      expect(answer.json.details.existingLeadId).toBe(other.id)
      expect((await call(api, "PUT", `/api/v1/leads/${lead.id}`, { email: "john.doe@example.com" })).status).toBe(200)
    })

    it("answers 404 for an unknown lead", async () => {
      const answer = await call(api, "PUT", "/api/v1/leads/lead_0000000000000000", { status: "lost" })
      expect(answer.status).toBe(404)
      expect(answer.json.code).toBe("LEAD_NOT_FOUND")
    })

    it("honours a configured status vocabulary", async () => {
      const custom = await startFakeGenericServerPromise({ apiKey: KEY, statuses: ["open", "won"] })
      try {
        const created = await call(custom, "POST", "/api/v1/leads", { name: "A", email: "a@example.org" })
        expect(created.json.data.status).toBe("open")
        expect((await call(custom, "PUT", `/api/v1/leads/${created.json.data.id}`, { status: "won" })).status).toBe(200)
        const refused = await call(custom, "PUT", `/api/v1/leads/${created.json.data.id}`, { status: "new" })
        expect(refused.json.details.message).toBe("Status must be one of: open, won")
      } finally {
        await custom.close()
      }
    })
  })

  describe("delete", () => {
    it("answers the documented body, then 404 for get, update, delete and the list", async () => {
      const lead = api.putLead({ name: "Ann", email: "ann@example.org" })
      const answer = await call(api, "DELETE", `/api/v1/leads/${lead.id}`)
      expect(answer.status).toBe(200)
      expect(answer.json).toEqual({
        success: true,
        message: "Lead deleted successfully",
        data: { id: lead.id, deletedAt: expect.stringMatching(ISO) },
      })
      expect((await call(api, "GET", `/api/v1/leads/${lead.id}`)).status).toBe(404)
      expect((await call(api, "PUT", `/api/v1/leads/${lead.id}`, { status: "lost" })).status).toBe(404)
      const again = await call(api, "DELETE", `/api/v1/leads/${lead.id}`)
      expect(again.status).toBe(404)
      expect(again.json.code).toBe("LEAD_NOT_FOUND")
      expect((await call(api, "GET", "/api/v1/leads")).json.data.pagination.total).toBe(0)
      expect(api.leads()).toEqual([])
      // The email is free again.
      expect((await call(api, "POST", "/api/v1/leads", { name: "Ann", email: "ann@example.org" })).status).toBe(201)
    })
  })

  describe("list", () => {
    const seed250 = () => {
      for (let i = 0; i < 250; i++) {
        api.putLead({
          name: i % 10 === 0 ? `Special ${i}` : `Lead ${i}`,
          email: `lead${i}@${i % 2 === 0 ? "even" : "odd"}.example.org`,
          status: ["new", "contacted", "qualified"][i % 3] ?? "new",
          source: i % 5 === 0 ? "webinar" : "website",
          phone: "+1",
        })
      }
    }

    it("paginates 250 leads: pages, totals and flags, each lead exactly once", async () => {
      seed250()
      const ids: Array<string> = []
      const expected = [
        { page: 1, length: 100, hasNext: true, hasPrev: false },
        { page: 2, length: 100, hasNext: true, hasPrev: true },
        { page: 3, length: 50, hasNext: false, hasPrev: true },
        { page: 4, length: 0, hasNext: false, hasPrev: true },
      ]
      for (const e of expected) {
        const answer = await call(api, "GET", `/api/v1/leads?page=${e.page}&limit=100`)
        expect(answer.status).toBe(200)
        expect(answer.json.success).toBe(true)
        expect(answer.json.data.pagination).toEqual({
          page: e.page,
          limit: 100,
          total: 250,
          totalPages: 3,
          hasNext: e.hasNext,
          hasPrev: e.hasPrev,
        })
        expect(answer.json.data.leads).toHaveLength(e.length)
        ids.push(...answer.json.data.leads.map((l: GenericLead) => l.id))
      }
      expect(ids).toEqual(api.leads().map((l) => l.id))
    })

    it("defaults to page 1 with 20 per page, caps limit at 100, refuses bad page/limit", async () => {
      seed250()
      const first = await call(api, "GET", "/api/v1/leads")
      expect(first.json.data.pagination).toEqual({
        page: 1,
        limit: 20,
        total: 250,
        totalPages: 13,
        hasNext: true,
        hasPrev: false,
      })
      expect(first.json.data.leads).toHaveLength(20)
      const last = await call(api, "GET", "/api/v1/leads?page=13&limit=20")
      expect(last.json.data.leads).toHaveLength(10)
      expect(last.json.data.pagination.hasNext).toBe(false)
      const capped = await call(api, "GET", "/api/v1/leads?limit=500")
      expect(capped.json.data.pagination.limit).toBe(100)
      expect(capped.json.data.leads).toHaveLength(100)
      validation(await call(api, "GET", "/api/v1/leads?page=0"), "page")
      validation(await call(api, "GET", "/api/v1/leads?limit=abc"), "limit")
      validation(await call(api, "GET", "/api/v1/leads?status=won"), "status")
    })

    it("filters by status, source and search (name or email, case-insensitive), combined", async () => {
      seed250()
      const total = async (query: string) =>
        (await call(api, "GET", `/api/v1/leads?limit=100&${query}`)).json.data.pagination.total
      expect(await total("status=contacted")).toBe(83)
      expect(await total("source=webinar")).toBe(50)
      expect(await total("search=special")).toBe(25)
      expect(await total("search=ODD.example")).toBe(125)
      expect(await total("search=lead7")).toBe(11) // lead7, lead70..lead79
      expect(await total("search=lead7%40odd")).toBe(1)
      expect(await total("status=new&source=webinar")).toBe(17)
      const page = await call(api, "GET", "/api/v1/leads?status=qualified&limit=5")
      for (const lead of page.json.data.leads) expect(lead.status).toBe("qualified")
      expect(page.json.data.pagination.totalPages).toBe(17)
    })

    it("list items carry the documented summary fields (no phone, source or workspaceId)", async () => {
      const lead = api.putLead({
        name: "Ann",
        email: "ann@example.org",
        phone: "+1",
        source: "web",
        metadata: { k: 1 },
      })
      const answer = await call(api, "GET", "/api/v1/leads")
      expect(answer.json.data.leads).toEqual([
        {
          id: lead.id,
          name: "Ann",
          email: "ann@example.org",
          status: "new",
          metadata: { k: 1 },
          createdAt: lead.createdAt,
          updatedAt: lead.updatedAt,
        },
      ])
    })

    it("an empty store lists nothing on page 1", async () => {
      const answer = await call(api, "GET", "/api/v1/leads")
      expect(answer.json.data).toEqual({
        leads: [],
        pagination: { page: 1, limit: 20, total: 0, totalPages: 0, hasNext: false, hasPrev: false },
      })
    })
  })

  describe("routing and faults", () => {
    it("answers NOT_FOUND for unknown paths and METHOD_NOT_ALLOWED for unknown methods", async () => {
      const unknown = await call(api, "GET", "/api/v1/contacts")
      expect(unknown.status).toBe(404)
      expect(unknown.json.code).toBe("NOT_FOUND")
      expect((await call(api, "PATCH", "/api/v1/leads/lead_1", { status: "lost" })).status).toBe(405)
      expect((await call(api, "DELETE", "/api/v1/leads")).status).toBe(405)
    })

    it("records requests and injects faults shaped like the vendor's errors", async () => {
      api.inject({ fault: { _tag: "RateLimit", retryAfterSeconds: 30 }, method: "GET" })
      api.inject({ fault: { _tag: "Status", status: 503 }, method: "POST" })
      const limited = await call(api, "GET", "/api/v1/leads")
      expect(limited.status).toBe(429)
      expect(limited.headers.get("retry-after")).toBe("30")
      expect(limited.json).toEqual({
        success: false,
        error: "Rate limit exceeded",
        code: "RATE_LIMIT_EXCEEDED",
        retryAfter: 30,
      })
      const down = await call(api, "POST", "/api/v1/leads", { name: "A", email: "a@example.org" })
      expect(down.status).toBe(503)
      expect(down.json).toMatchObject({ success: false, code: "INTERNAL_ERROR" })
      expect(api.leads()).toEqual([])
      expect(api.requests().map((r) => [r.method, r.path, r.faults])).toEqual([
        ["GET", "/api/v1/leads", ["RateLimit"]],
        ["POST", "/api/v1/leads", ["Status"]],
      ])
      expect(api.requests()[1]?.body).toEqual({ name: "A", email: "a@example.org" })
    })

    it("reset clears leads, requests and faults", async () => {
      api.putLead({ name: "A", email: "a@example.org" })
      api.inject({ fault: { _tag: "Drop" } })
      api.reset()
      expect(api.leads()).toEqual([])
      expect(api.requests()).toEqual([])
      expect((await call(api, "GET", "/api/v1/leads")).status).toBe(200)
    })

    it("putLead refuses an email another lead has", () => {
      api.putLead({ name: "A", email: "a@example.org" })
      expect(() => api.putLead({ name: "B", email: "A@example.org" })).toThrow(/already has the email/)
    })
  })
})

describe("FakeGenericServer rate limit", () => {
  let clock = 1_700_000_000_000
  let api: Server
  beforeAll(async () => {
    api = await startFakeGenericServerPromise({ apiKey: KEY, rateLimitPerHour: 3, now: () => clock })
  })
  afterAll(() => api.close())

  it("sends X-RateLimit-* headers on every response, 429 past the limit, and slides the window", async () => {
    const start = clock
    const resetAt = String(Math.ceil((start + 3_600_000) / 1000))
    const headers = (a: Answer) => [
      a.headers.get("x-ratelimit-limit"),
      a.headers.get("x-ratelimit-remaining"),
      a.headers.get("x-ratelimit-used"),
      a.headers.get("x-ratelimit-reset"),
    ]
    expect(headers(await call(api, "GET", "/api/v1/leads"))).toEqual(["3", "2", "1", resetAt])
    // A refused key is not counted against the limit but still gets the headers.
    const refused = await call(api, "GET", "/api/v1/leads", undefined, { authorization: "Bearer sk-workspace_x" })
    expect(refused.status).toBe(401)
    expect(headers(refused)).toEqual(["3", "2", "1", resetAt])
    clock += 1000
    expect(headers(await call(api, "POST", "/api/v1/leads", { name: "A", email: "a@example.org" }))).toEqual([
      "3",
      "1",
      "2",
      resetAt,
    ])
    // Errors count and carry the headers too.
    expect(headers(await call(api, "GET", "/api/v1/leads/lead_0000000000000000"))).toEqual(["3", "0", "3", resetAt])
    expect(headers(await call(api, "GET", "/api/v1/leads", undefined, {}))).toEqual(["3", "0", "3", resetAt])

    clock += 9000 // 10 s after the first request
    const limited = await call(api, "GET", "/api/v1/leads")
    expect(limited.status).toBe(429)
    expect(limited.json).toEqual({
      success: false,
      error: "Rate limit exceeded",
      code: "RATE_LIMIT_EXCEEDED",
      retryAfter: 3590,
    })
    expect(limited.headers.get("retry-after")).toBe("3590")
    expect(headers(limited)).toEqual(["3", "0", "3", resetAt])

    clock = start + 3_600_000 // the first request leaves the window
    const again = await call(api, "GET", "/api/v1/leads")
    expect(again.status).toBe(200)
    expect(headers(again)).toEqual(["3", "0", "3", String(Math.ceil((start + 1000 + 3_600_000) / 1000))])
    expect((await call(api, "GET", "/api/v1/leads")).status).toBe(429)
  })

  it("defaults to 1000 per hour", async () => {
    const other = await startFakeGenericServerPromise({ apiKey: KEY })
    try {
      const answer = await call(other, "GET", "/api/v1/leads")
      expect(answer.headers.get("x-ratelimit-limit")).toBe("1000")
      expect(answer.headers.get("x-ratelimit-remaining")).toBe("999")
      expect(answer.headers.get("x-ratelimit-used")).toBe("1")
    } finally {
      await other.close()
    }
  })
})

describe("FakeGenericServer webhooks", () => {
  const secret = "whsec_test_secret"
  let receiver: FakeVendorControl & { readonly close: () => Promise<void> }
  let api: Server
  beforeAll(async () => {
    receiver = await startFakeVendorPromise({ handle: () => ({ status: 200, body: { ok: true } }) })
    api = await startFakeGenericServerPromise({
      apiKey: KEY,
      webhook: { url: `${receiver.url}/hooks/generic`, secret },
    })
  })
  afterAll(async () => {
    await api.close()
    await receiver.close()
  })
  beforeEach(() => {
    api.reset()
    receiver.reset()
  })

  it("posts signed lead.created, lead.updated and lead.deleted events in order", async () => {
    const created = await call(api, "POST", "/api/v1/chatbots/bot_1/leads", { name: "Ann", email: "ann@example.org" })
    const id: string = created.json.data.id
    const updated = await call(api, "PUT", `/api/v1/leads/${id}`, { status: "contacted", metadata: { k: 1 } })
    await call(api, "DELETE", `/api/v1/leads/${id}`)
    await api.webhooksSettled()

    const hooks = receiver.requests()
    expect(hooks.map((h) => [h.method, h.path])).toEqual([
      ["POST", "/hooks/generic"],
      ["POST", "/hooks/generic"],
      ["POST", "/hooks/generic"],
    ])
    for (const hook of hooks) {
      const signature = hook.headers["x-webhook-signature"]
      const want = `sha256=${createHmac("sha256", secret).update(hook.rawBody).digest("hex")}`
      expect(signature).toBe(want)
      expect(CrmWebhooks.verifyHmacSha256(Redacted.make(secret), Buffer.from(hook.rawBody, "utf8"), signature)).toBe(
        true,
      )
      expect(CrmWebhooks.verifyHmacSha256(Redacted.make("wrong"), Buffer.from(hook.rawBody, "utf8"), signature)).toBe(
        false,
      )
      expect(hook.headers["content-type"]).toBe("application/json")
      expect(hook.body).toMatchObject({
        id: expect.stringMatching(/^evt_[0-9a-f]{16}$/),
        createdAt: expect.stringMatching(ISO),
      })
    }
    expect(hooks.map((h) => (h.body as { event: string }).event)).toEqual([
      "lead.created",
      "lead.updated",
      "lead.deleted",
    ])
    expect(hooks.map((h) => (h.body as { data: unknown }).data)).toEqual([
      { lead: created.json.data },
      { lead: updated.json.data },
      { lead: updated.json.data },
    ])
    expect(api.webhookDeliveries().map((d) => d.status)).toEqual([200, 200, 200])
    expect(api.webhookDeliveries()[0]?.url).toBe(`${receiver.url}/hooks/generic`)
  })

  it("refused requests send no webhook; failed deliveries are recorded", async () => {
    await call(api, "POST", "/api/v1/leads", { name: "Ann" })
    await call(api, "PUT", "/api/v1/leads/lead_0000000000000000", { status: "lost" })
    await api.webhooksSettled()
    expect(receiver.requests()).toEqual([])

    receiver.inject({ fault: { _tag: "Status", status: 500 } })
    receiver.inject({ fault: { _tag: "Drop" } })
    await call(api, "POST", "/api/v1/leads", { name: "A", email: "a@example.org" })
    await call(api, "POST", "/api/v1/leads", { name: "B", email: "b@example.org" })
    await call(api, "POST", "/api/v1/leads", { name: "C", email: "c@example.org" })
    await api.webhooksSettled()
    expect(api.webhookDeliveries().map((d) => d.status)).toEqual([500, "failed", 200])
  })

  it("sends only the events asked for", async () => {
    const filtered = await startFakeGenericServerPromise({
      apiKey: KEY,
      webhook: { url: `${receiver.url}/only-deletes`, secret, events: ["lead.deleted"] },
    })
    try {
      const created = await call(filtered, "POST", "/api/v1/leads", { name: "A", email: "a@example.org" })
      await call(filtered, "PUT", `/api/v1/leads/${created.json.data.id}`, { status: "lost" })
      await call(filtered, "DELETE", `/api/v1/leads/${created.json.data.id}`)
      await filtered.webhooksSettled()
      expect(receiver.requests().map((r) => (r.body as { event: string }).event)).toEqual(["lead.deleted"])
    } finally {
      await filtered.close()
    }
  })
})

describe("FakeGenericServer (Effect API)", () => {
  eit.scoped("starts in a scope and serves the API", () =>
    Effect.gen(function* () {
      const api = yield* startFakeGenericServer({ apiKey: KEY })
      const lead = api.putLead({ name: "Ann", email: "ann@example.org" })
      const answer = yield* Effect.promise(() => call(api, "GET", `/api/v1/leads/${lead.id}`))
      assert.strictEqual(answer.status, 200)
      assert.deepStrictEqual(answer.json, { success: true, data: lead })
    }),
  )
})
