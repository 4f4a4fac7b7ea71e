import { assert, it as eit } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import {
  defaultAgents,
  defaultCompanies,
  type FakeVoxysServerControl,
  startFakeVoxysServer,
  startFakeVoxysServerPromise,
  type VoxysFunnelCard,
  type VoxysLead,
  type VoxysNote,
} from "../src/testing/index.js"

const TOKEN = "vx_user_token_8f2c1d"
const ACCOUNT = 7
const START = Date.parse("2026-03-02T08:15:00.000Z")
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/

type Server = FakeVoxysServerControl & { readonly close: () => Promise<void> }

interface Answer {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers are inspected freely in tests
  readonly json: any
}

interface CallOptions {
  readonly headers?: Record<string, string>
  /** Send the body as is (a string) instead of JSON-encoding it. */
  readonly raw?: boolean
}

/** Calls the fake; a path starting with `/api` is absolute, others are under the account. */
const call = async (
  server: FakeVoxysServerControl,
  method: string,
  path: string,
  body?: unknown,
  options: CallOptions = {},
): Promise<Answer> => {
  const headers = options.headers ?? { api_access_token: TOKEN }
  const res = await fetch(`${path.startsWith("/api") ? server.url : server.accountUrl}${path}`, {
    method,
    headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
    ...(body === undefined ? {} : { body: options.raw === true ? String(body) : JSON.stringify(body) }),
  })
  const text = await res.text()
  let json: unknown = null
  try {
    json = text === "" ? null : JSON.parse(text)
  } catch {
    json = text
  }
  return { status: res.status, headers: res.headers, text, json }
}

const errorsOf = (answer: Answer) => {
  expect(answer.status).toBe(422)
  expect(Object.keys(answer.json)).toEqual(["errors"])
  return answer.json.errors
}

describe("FakeVoxysServer", () => {
  let api: Server
  let clock = START
  const tick = (ms = 1000) => {
    clock += ms
  }

  beforeAll(async () => {
    api = await startFakeVoxysServerPromise({ apiAccessToken: TOKEN, accountId: ACCOUNT, now: () => clock })
  })
  afterAll(() => api.close())
  beforeEach(() => {
    api.reset()
    clock = START
  })

  describe("authentication and routing", () => {
    it("refuses a missing or wrong api_access_token with 401 { error: 'Unauthorized' }", async () => {
      for (const headers of [
        {},
        { api_access_token: "wrong" },
        { authorization: `Bearer ${TOKEN}` },
        { "api-access-token": TOKEN },
      ]) {
        const answer = await call(api, "GET", "/leads", undefined, { headers })
        expect(answer.status).toBe(401)
        expect(answer.json).toEqual({ error: "Unauthorized" })
      }
      expect((await call(api, "GET", "/leads")).status).toBe(200)
    })

    it("answers 401 for another account and 404 for a non-numeric account", async () => {
      const other = await call(api, "GET", "/api/v1/accounts/8/leads")
      expect(other.status).toBe(401)
      expect(other.json).toEqual({ error: "You are not authorized to access this account" })
      const bad = await call(api, "GET", "/api/v1/accounts/abc/leads")
      expect(bad.status).toBe(404)
      expect(bad.json).toEqual({ error: "Account not found" })
      expect(api.accountUrl).toBe(`${api.url}/api/v1/accounts/${ACCOUNT}`)
    })

    it("answers 404 with an error body for unknown routes and methods, before authentication", async () => {
      for (const [method, path] of [
        ["GET", "/api/v1/leads"],
        ["PUT", "/leads/1"],
        ["GET", "/contacts"],
        ["POST", "/leads/1/status"],
      ] as const) {
        const answer = await call(api, method, path, undefined, { headers: {} })
        expect(answer.status).toBe(404)
        expect(answer.json.error).toMatch(/No route matches/)
      }
      // A trailing slash is ignored.
      expect((await call(api, "GET", "/leads/")).status).toBe(200)
    })
  })

  describe("create (POST /leads)", () => {
    it("answers 201 with the full documented lead; new leads are open; status is not accepted", async () => {
      const answer = await call(api, "POST", "/leads", {
        custom_name: "Fleet renewal – Al Noor Logistics",
        lead_value: 42000,
        lead_currency: "AED",
        assigned_agent_id: 2,
        company_id: 11,
        position: 3,
        conversation_id: 5120,
        custom_attributes: { external_id: "crm-9f3a", source: "web-form" },
        status: "won",
        notes: "ignored",
      })
      expect(answer.status).toBe(201)
      const lead: VoxysLead = answer.json
      expect(lead).toEqual({
        id: 1,
        custom_name: "Fleet renewal – Al Noor Logistics",
        status: "open",
        lead_value: 42000,
        lead_currency: "AED",
        position: 3,
        notes: null,
        assigned_agent: { id: 2, name: "Sara K.", email: "sara@voxys.test", avatar_url: null },
        company: { id: 11, name: "Al Noor Logistics", domain: "alnoor.example" },
        conversation_id: 5120,
        custom_attributes: { external_id: "crm-9f3a", source: "web-form" },
        created_at: "2026-03-02T08:15:00.000Z",
        updated_at: "2026-03-02T08:15:00.000Z",
      })
      expect(api.lead(1)).toEqual(lead)
      const second = await call(api, "POST", "/leads", { custom_name: "B" })
      expect(second.json).toMatchObject({
        id: 2,
        lead_value: null,
        lead_currency: null,
        position: null,
        assigned_agent: null,
        company: null,
        conversation_id: null,
        custom_attributes: {},
      })
      expect(second.json.created_at).toMatch(ISO)
    })

    it("answers 422 { errors: { field: [...] } } for every bad field at once, storing nothing", async () => {
      expect(errorsOf(await call(api, "POST", "/leads", {}))).toEqual({ custom_name: ["can't be blank"] })
      const errors = errorsOf(
        await call(api, "POST", "/leads", {
          custom_name: "  ",
          lead_value: "42000",
          lead_currency: 5,
          position: 1.5,
          conversation_id: "x",
          assigned_agent_id: 99,
          company_id: 99,
          custom_attributes: [1],
        }),
      )
      expect(errors).toEqual({
        custom_name: ["can't be blank"],
        lead_value: ["is not a number"],
        lead_currency: ["must be a string"],
        position: ["must be an integer"],
        conversation_id: ["must be an integer"],
        assigned_agent_id: ["must exist"],
        company_id: ["must exist"],
        custom_attributes: ["must be an object"],
      })
      expect(api.leads()).toEqual([])
    })

    it("answers 400 for a body that is not JSON, and ignores a body without a JSON content type", async () => {
      const broken = await call(api, "POST", "/leads", "{not json", { raw: true })
      expect(broken.status).toBe(400)
      expect(typeof broken.json.error).toBe("string")
      const res = await fetch(`${api.accountUrl}/leads`, {
        method: "POST",
        headers: { api_access_token: TOKEN, "content-type": "text/plain" },
        body: JSON.stringify({ custom_name: "X" }),
      })
      expect(res.status).toBe(422)
      expect(await res.json()).toEqual({ errors: { custom_name: ["can't be blank"] } })
      expect(api.leads()).toEqual([])
    })
  })

  describe("get (GET /leads/{id})", () => {
    it("answers the lead, or 404 { error: 'Lead not found' } for an unknown or non-numeric id", async () => {
      const lead = api.putLead({ custom_name: "Ann", lead_value: 10.5, custom_attributes: { a: [1, { b: null }] } })
      const answer = await call(api, "GET", `/leads/${lead.id}`)
      expect(answer.status).toBe(200)
      expect(answer.json).toEqual(lead)
      for (const id of ["999", "abc", "1.0"]) {
        const missing = await call(api, "GET", `/leads/${id}`)
        expect(missing.status).toBe(404)
        expect(missing.json).toEqual({ error: "Lead not found" })
      }
    })
  })

  describe("update (PATCH /leads/{id})", () => {
    const seed = () =>
      api.putLead({
        custom_name: "Old",
        lead_value: 100,
        lead_currency: "USD",
        assigned_agent: defaultAgents[1] ?? null,
        company: defaultCompanies[0] ?? null,
        custom_attributes: { external_id: "crm-1", source: "web" },
      })

    it("changes only the given fields and bumps updated_at; status, id and created_at are ignored", async () => {
      const lead = seed()
      tick()
      const answer = await call(api, "PATCH", `/leads/${lead.id}`, {
        custom_name: "New",
        lead_value: null,
        status: "won",
        id: 500,
        created_at: "2030-01-01T00:00:00.000Z",
      })
      expect(answer.status).toBe(200)
      expect(answer.json).toEqual({
        ...lead,
        custom_name: "New",
        lead_value: null,
        updated_at: "2026-03-02T08:15:01.000Z",
      })
      expect(api.lead(lead.id)).toEqual(answer.json)
      expect(api.lead(500)).toBeUndefined()
    })

    it("null unassigns the agent and clears the company; a no-op update keeps updated_at", async () => {
      const lead = seed()
      tick()
      const cleared = await call(api, "PATCH", `/leads/${lead.id}`, { assigned_agent_id: null, company_id: null })
      expect(cleared.json).toMatchObject({
        assigned_agent: null,
        company: null,
        updated_at: "2026-03-02T08:15:01.000Z",
      })
      tick()
      const same = await call(api, "PATCH", `/leads/${lead.id}`, { custom_name: "Old", assigned_agent_id: null })
      expect(same.json.updated_at).toBe("2026-03-02T08:15:01.000Z")
      const reassigned = await call(api, "PATCH", `/leads/${lead.id}`, { assigned_agent_id: 3 })
      expect(reassigned.json.assigned_agent).toEqual(defaultAgents[2])
    })

    it("replaces custom_attributes by default", async () => {
      const lead = seed()
      const answer = await call(api, "PATCH", `/leads/${lead.id}`, { custom_attributes: { stage: "demo" } })
      expect(answer.json.custom_attributes).toEqual({ stage: "demo" })
    })

    it("merges custom_attributes shallowly with customAttributesUpdate: 'merge'", async () => {
      const merging = await startFakeVoxysServerPromise({
        apiAccessToken: TOKEN,
        accountId: ACCOUNT,
        customAttributesUpdate: "merge",
      })
      try {
        const lead = merging.putLead({ custom_attributes: { external_id: "crm-1", tags: ["a"] } })
        const answer = await call(merging, "PATCH", `/leads/${lead.id}`, {
          custom_attributes: { tags: ["b"], score: 3 },
        })
        expect(answer.json.custom_attributes).toEqual({ external_id: "crm-1", tags: ["b"], score: 3 })
      } finally {
        await merging.close()
      }
    })

    it("answers 422 for bad fields (changing nothing) and 404 for an unknown lead", async () => {
      const lead = seed()
      const errors = errorsOf(
        await call(api, "PATCH", `/leads/${lead.id}`, { custom_name: null, lead_value: 5, custom_attributes: null }),
      )
      expect(errors).toEqual({ custom_name: ["can't be blank"], custom_attributes: ["must be an object"] })
      expect(api.lead(lead.id)).toEqual(lead)
      const missing = await call(api, "PATCH", "/leads/999", { custom_name: "X" })
      expect(missing.status).toBe(404)
      expect(missing.json).toEqual({ error: "Lead not found" })
    })
  })

  describe("delete (DELETE /leads/{id})", () => {
    it("answers 204 without a body, then 404 everywhere; notes and cards go too", async () => {
      const lead = api.putLead()
      await call(api, "POST", `/leads/${lead.id}/notes`, { content: "hi" })
      await call(api, "POST", `/leads/${lead.id}/convert`, { funnel_id: 3 })
      expect(api.cards()).toHaveLength(1)
      const answer = await call(api, "DELETE", `/leads/${lead.id}`)
      expect(answer.status).toBe(204)
      expect(answer.text).toBe("")
      for (const [method, path] of [
        ["GET", `/leads/${lead.id}`],
        ["DELETE", `/leads/${lead.id}`],
        ["PATCH", `/leads/${lead.id}/status`],
        ["GET", `/leads/${lead.id}/notes`],
      ] as const) {
        const again = await call(api, method, path, method === "PATCH" ? { status: "won" } : undefined)
        expect(again.status).toBe(404)
        expect(again.json).toEqual({ error: "Lead not found" })
      }
      expect(api.leads()).toEqual([])
      expect(api.notes(lead.id)).toEqual([])
      expect(api.cards()).toEqual([])
      const stages = await call(api, "GET", "/funnels/3/stages")
      expect(stages.json.map((s: { cards_count: number }) => s.cards_count)).toEqual([0, 0, 0])
    })
  })

  describe("status (PATCH /leads/{id}/status)", () => {
    it("answers 200 with the updated lead: status, notes and updated_at", async () => {
      const lead = api.putLead({ custom_name: "Deal", notes: "Prospect from trade show" })
      tick(5000)
      const answer = await call(api, "PATCH", `/leads/${lead.id}/status`, {
        status: "lost",
        notes: "Chose a competitor on price.",
      })
      expect(answer.status).toBe(200)
      expect(answer.json).toEqual({
        ...lead,
        status: "lost",
        notes: "Chose a competitor on price.",
        updated_at: "2026-03-02T08:15:05.000Z",
      })
      expect(api.lead(lead.id)).toEqual(answer.json)
      // Notes set through the status endpoint are not note entries.
      expect(api.notes(lead.id)).toEqual([])
    })

    it("allows any status to any status; absent notes keep the field, null clears it", async () => {
      const lead = api.putLead({ notes: "keep me" })
      for (const status of ["won", "snoozed", "open", "lost", "won"] as const) {
        const answer = await call(api, "PATCH", `/leads/${lead.id}/status`, { status })
        expect(answer.json.status).toBe(status)
        expect(answer.json.notes).toBe("keep me")
      }
      const cleared = await call(api, "PATCH", `/leads/${lead.id}/status`, { status: "won", notes: null })
      expect(cleared.json.notes).toBeNull()
    })

    it("setting the same status again is accepted and does not move updated_at", async () => {
      const lead = api.putLead({ status: "won" })
      tick()
      const answer = await call(api, "PATCH", `/leads/${lead.id}/status`, { status: "won" })
      expect(answer.status).toBe(200)
      expect(answer.json.updated_at).toBe(lead.updated_at)
    })

    it("answers 422 for an invalid or missing status or bad notes, and 404 for an unknown lead", async () => {
      const lead = api.putLead()
      expect(errorsOf(await call(api, "PATCH", `/leads/${lead.id}/status`, { status: "closed" }))).toEqual({
        status: ["is not included in the list"],
      })
      expect(errorsOf(await call(api, "PATCH", `/leads/${lead.id}/status`, { notes: "x" }))).toEqual({
        status: ["can't be blank"],
      })
      expect(errorsOf(await call(api, "PATCH", `/leads/${lead.id}/status`, { status: "won", notes: 5 }))).toEqual({
        notes: ["must be a string"],
      })
      expect(api.lead(lead.id)).toEqual(lead)
      const missing = await call(api, "PATCH", "/leads/999/status", { status: "won" })
      expect(missing.status).toBe(404)
      expect(missing.json).toEqual({ error: "Lead not found" })
    })
  })

  describe("list (GET /leads)", () => {
    /** 300 leads created one second apart; statuses cycle open, won, lost, snoozed. */
    const seed300 = () => {
      for (let i = 0; i < 300; i++) {
        api.putLead({
          status: (["open", "won", "lost", "snoozed"] as const)[i % 4] ?? "open",
          assigned_agent: i % 3 === 0 ? (defaultAgents[1] ?? null) : null,
          ...(i % 5 === 0 ? { source_inbox_id: 42 } : {}),
          lead_value: i % 7 === 0 ? null : i * 10,
        })
        tick()
      }
    }
    const ids = (answer: Answer): Array<number> => answer.json.data.map((l: VoxysLead) => l.id)

    it("defaults to page 1, 25 per page, newest created first, with the meta envelope", async () => {
      seed300()
      const answer = await call(api, "GET", "/leads")
      expect(answer.status).toBe(200)
      expect(Object.keys(answer.json)).toEqual(["data", "meta"])
      expect(answer.json.meta).toEqual({ current_page: 1, total_pages: 12, total_count: 300 })
      expect(ids(answer)).toEqual(Array.from({ length: 25 }, (_, i) => 300 - i))
      expect(answer.json.data[0]).toEqual(api.lead(300))
    })

    it("pages through 300 leads: every lead exactly once, for several page sizes", async () => {
      seed300()
      for (const perPage of [7, 40, 100]) {
        const seen: Array<number> = []
        const pages = Math.ceil(300 / perPage)
        for (let page = 1; page <= pages; page++) {
          const answer = await call(api, "GET", `/leads?page=${page}&per_page=${perPage}&sort_order=asc`)
          expect(answer.json.meta).toEqual({ current_page: page, total_pages: pages, total_count: 300 })
          expect(answer.json.data).toHaveLength(page < pages ? perPage : 300 - perPage * (pages - 1))
          seen.push(...ids(answer))
        }
        expect(seen).toEqual(Array.from({ length: 300 }, (_, i) => i + 1))
      }
    })

    it("caps per_page at 100, falls back to defaults for bad values, answers empty pages past the end", async () => {
      seed300()
      const capped = await call(api, "GET", "/leads?per_page=500")
      expect(capped.json.data).toHaveLength(100)
      expect(capped.json.meta).toEqual({ current_page: 1, total_pages: 3, total_count: 300 })
      const bad = await call(api, "GET", "/leads?page=abc&per_page=0")
      expect(bad.json.meta.current_page).toBe(1)
      expect(bad.json.data).toHaveLength(25)
      const past = await call(api, "GET", "/leads?page=99&per_page=100")
      expect(past.json).toEqual({ data: [], meta: { current_page: 99, total_pages: 3, total_count: 300 } })
      api.reset()
      const empty = await call(api, "GET", "/leads")
      expect(empty.json).toEqual({ data: [], meta: { current_page: 1, total_pages: 0, total_count: 0 } })
    })

    it("filters by status, assigned_agent_id and source_inbox_id; an unknown status matches nothing", async () => {
      seed300()
      const won = await call(api, "GET", "/leads?status=won&per_page=100")
      expect(won.json.meta.total_count).toBe(75)
      expect(won.json.data.every((l: VoxysLead) => l.status === "won")).toBe(true)
      const snoozed = await call(api, "GET", "/leads?status=snoozed&per_page=100&page=1")
      expect(snoozed.json.meta.total_count).toBe(75)
      const agent = await call(api, "GET", "/leads?assigned_agent_id=2&per_page=50&page=2")
      expect(agent.json.meta.total_count).toBe(100)
      expect(agent.json.data).toHaveLength(50)
      expect(agent.json.data.every((l: VoxysLead) => l.assigned_agent?.id === 2)).toBe(true)
      const both = await call(api, "GET", "/leads?assigned_agent_id=2&status=open")
      expect(both.json.meta.total_count).toBe(25) // i % 12 === 0
      const inbox = await call(api, "GET", "/leads?source_inbox_id=42")
      expect(inbox.json.meta.total_count).toBe(60)
      const unknown = await call(api, "GET", "/leads?status=closed")
      expect(unknown.json.meta.total_count).toBe(0)
    })

    it("sorts by updated_at (asc and desc), and sees a change made in the Voxys UI", async () => {
      seed300()
      // Lead 10 changed in the UI after everything else: first by updated_at desc, last asc.
      const changed = api.setStatusAtVendor(10, "won", "closed by phone")
      expect(changed.updated_at).toBe(new Date(clock).toISOString())
      const desc = await call(api, "GET", "/leads?sort_by=updated_at&sort_order=desc&per_page=3")
      expect(ids(desc)).toEqual([10, 300, 299])
      expect(desc.json.data[0]).toMatchObject({ status: "won", notes: "closed by phone" })
      const asc = await call(api, "GET", "/leads?sort_by=updated_at&sort_order=asc&per_page=100&page=3")
      expect(ids(asc).at(-1)).toBe(10)
      // By created_at (the default) lead 10 stays where it was.
      const created = await call(api, "GET", "/leads?per_page=100&page=3")
      expect(ids(created).at(-1)).toBe(1)
      expect(ids(created).at(-10)).toBe(10)
    })

    it("a poller reading updated_at desc until its watermark finds exactly the leads changed since", async () => {
      seed300()
      const watermark = clock
      tick()
      api.setStatusAtVendor(5, "lost")
      tick()
      await call(api, "PATCH", "/leads/250/status", { status: "lost" }) // lead 250 was won
      tick()
      api.setStatusAtVendor(120, "snoozed")
      const found: Array<number> = []
      for (let page = 1; ; page++) {
        const answer = await call(api, "GET", `/leads?sort_by=updated_at&sort_order=desc&per_page=2&page=${page}`)
        const fresh = (answer.json.data as Array<VoxysLead>).filter((l) => Date.parse(l.updated_at) > watermark)
        found.push(...fresh.map((l) => l.id))
        if (fresh.length < answer.json.data.length) break
      }
      expect(found).toEqual([120, 250, 5])
    })

    it("sorts by lead_value (NULL last ascending, first descending), custom_name and position", async () => {
      api.putLead({ custom_name: "b", lead_value: 5, position: 2 })
      api.putLead({ custom_name: "a", lead_value: null, position: null })
      api.putLead({ custom_name: "c", lead_value: 1, position: 1 })
      expect(ids(await call(api, "GET", "/leads?sort_by=lead_value&sort_order=asc"))).toEqual([3, 1, 2])
      expect(ids(await call(api, "GET", "/leads?sort_by=lead_value&sort_order=desc"))).toEqual([2, 1, 3])
      expect(ids(await call(api, "GET", "/leads?sort_by=custom_name&sort_order=asc"))).toEqual([2, 1, 3])
      expect(ids(await call(api, "GET", "/leads?sort_by=position&sort_order=asc"))).toEqual([3, 1, 2])
      // Equal sort keys (same created_at) are ordered by id; an unknown sort_by is created_at.
      expect(ids(await call(api, "GET", "/leads?sort_by=nope"))).toEqual([3, 2, 1])
    })
  })

  describe("stats (GET /leads/stats)", () => {
    it("counts leads by status and sums values", async () => {
      api.putLead({ status: "open", lead_value: 100 })
      api.putLead({ status: "won", lead_value: 250.5 })
      api.putLead({ status: "won", lead_value: null })
      api.putLead({ status: "lost", lead_value: 10 })
      api.putLead({ status: "snoozed" })
      const answer = await call(api, "GET", "/leads/stats")
      expect(answer.status).toBe(200)
      expect(answer.json).toEqual({ total: 5, open: 1, won: 2, lost: 1, total_value: 360.5, won_value: 250.5 })
    })
  })

  describe("bulk (POST /leads/bulk)", () => {
    it("status_change: changes many leads in one call, answers the count, bumps updated_at of changed ones", async () => {
      for (let i = 0; i < 5; i++) api.putLead({ status: i === 1 ? "won" : "open" })
      tick()
      const answer = await call(api, "POST", "/leads/bulk", {
        lead_ids: [1, 2, 3, 3, 999],
        action_type: "status_change",
        params: { status: "won", notes: "ignored" },
      })
      expect(answer.status).toBe(200)
      expect(answer.json).toEqual({ success: true, affected_count: 3 })
      expect(api.leads().map((l) => l.status)).toEqual(["won", "won", "won", "open", "open"])
      expect(api.leads().map((l) => l.updated_at === "2026-03-02T08:15:01.000Z")).toEqual([
        true,
        false,
        true,
        false,
        false,
      ])
      expect(api.lead(1)?.notes).toBeNull()
    })

    it("assign and delete", async () => {
      for (let i = 0; i < 3; i++) api.putLead()
      const assigned = await call(api, "POST", "/leads/bulk", {
        lead_ids: [1, 2],
        action_type: "assign",
        params: { assigned_agent_id: 3 },
      })
      expect(assigned.json).toEqual({ success: true, affected_count: 2 })
      expect(api.leads().map((l) => l.assigned_agent?.id ?? null)).toEqual([3, 3, null])
      const unassigned = await call(api, "POST", "/leads/bulk", {
        lead_ids: [1],
        action_type: "assign",
        params: { assigned_agent_id: null },
      })
      expect(unassigned.json.affected_count).toBe(1)
      expect(api.lead(1)?.assigned_agent).toBeNull()
      const deleted = await call(api, "POST", "/leads/bulk", { lead_ids: [2, 3, 4], action_type: "delete" })
      expect(deleted.json).toEqual({ success: true, affected_count: 2 })
      expect(api.leads().map((l) => l.id)).toEqual([1])
    })

    it("answers 422 for missing ids, an unknown action or bad params, changing nothing", async () => {
      api.putLead()
      expect(errorsOf(await call(api, "POST", "/leads/bulk", {}))).toEqual({
        lead_ids: ["can't be blank"],
        action_type: ["can't be blank"],
      })
      expect(errorsOf(await call(api, "POST", "/leads/bulk", { lead_ids: ["1"], action_type: "archive" }))).toEqual({
        lead_ids: ["must be an array of integers"],
        action_type: ["is not included in the list"],
      })
      expect(
        errorsOf(
          await call(api, "POST", "/leads/bulk", {
            lead_ids: [1],
            action_type: "status_change",
            params: { status: "done" },
          }),
        ),
      ).toEqual({ status: ["is not included in the list"] })
      expect(errorsOf(await call(api, "POST", "/leads/bulk", { lead_ids: [1], action_type: "status_change" }))).toEqual(
        { status: ["can't be blank"] },
      )
      expect(
        errorsOf(
          await call(api, "POST", "/leads/bulk", {
            lead_ids: [1],
            action_type: "assign",
            params: { assigned_agent_id: 77 },
          }),
        ),
      ).toEqual({ assigned_agent_id: ["must exist"] })
      expect(api.lead(1)).toMatchObject({ status: "open", assigned_agent: null })
    })
  })

  describe("convert (POST /leads/{lead_id}/convert)", () => {
    it("answers 201 with a funnel card embedding the lead; first stage by default; lead unchanged", async () => {
      const lead = api.putLead({ custom_name: "Deal" })
      tick()
      const answer = await call(api, "POST", `/leads/${lead.id}/convert`, { funnel_id: 3 })
      expect(answer.status).toBe(201)
      const card: VoxysFunnelCard = answer.json
      expect(card).toEqual({
        id: 1,
        funnel_id: 3,
        funnel_stage_id: 7,
        lead,
        position: 1,
        created_at: "2026-03-02T08:15:01.000Z",
        updated_at: "2026-03-02T08:15:01.000Z",
      })
      expect(api.lead(lead.id)).toEqual(lead)
      const other = api.putLead()
      const staged = await call(api, "POST", `/leads/${other.id}/convert`, { funnel_id: 3, funnel_stage_id: 7 })
      expect(staged.json).toMatchObject({ id: 2, funnel_stage_id: 7, position: 2 })
      const listed = await call(api, "GET", "/funnels/3/cards")
      expect(listed.json).toEqual(api.cards())
      expect(listed.json.map((c: VoxysFunnelCard) => c.lead.id)).toEqual([lead.id, other.id])
    })

    it("refuses a second conversion into the same funnel, allows another funnel", async () => {
      const lead = api.putLead()
      expect((await call(api, "POST", `/leads/${lead.id}/convert`, { funnel_id: 3 })).status).toBe(201)
      expect(errorsOf(await call(api, "POST", `/leads/${lead.id}/convert`, { funnel_id: 3 }))).toEqual({
        lead_id: ["has already been taken"],
      })
      const renewal = await call(api, "POST", `/leads/${lead.id}/convert`, { funnel_id: 4 })
      expect(renewal.json).toMatchObject({ funnel_id: 4, funnel_stage_id: 12 })
      expect(api.cards()).toHaveLength(2)
    })

    it("answers 404 for an unknown lead, funnel or stage, and 422 without funnel_id", async () => {
      const lead = api.putLead()
      expect((await call(api, "POST", "/leads/999/convert", { funnel_id: 3 })).json).toEqual({
        error: "Lead not found",
      })
      const funnel = await call(api, "POST", `/leads/${lead.id}/convert`, { funnel_id: 99 })
      expect(funnel.status).toBe(404)
      expect(funnel.json).toEqual({ error: "Funnel not found" })
      const stage = await call(api, "POST", `/leads/${lead.id}/convert`, { funnel_id: 3, funnel_stage_id: 12 })
      expect(stage.status).toBe(404)
      expect(stage.json).toEqual({ error: "Funnel stage not found" })
      expect(errorsOf(await call(api, "POST", `/leads/${lead.id}/convert`, { funnel_stage_id: 7 }))).toEqual({
        funnel_id: ["can't be blank"],
      })
      expect(api.cards()).toEqual([])
    })
  })

  describe("funnels", () => {
    it("lists funnels and stages (bare arrays) with live card counts", async () => {
      const funnels = await call(api, "GET", "/funnels")
      expect(funnels.json.map((f: { id: number; stages_count: number }) => [f.id, f.stages_count])).toEqual([
        [3, 3],
        [4, 1],
      ])
      expect((await call(api, "GET", "/funnels/4")).json).toMatchObject({ id: 4, name: "Renewals", is_active: true })
      expect((await call(api, "GET", "/funnels/5")).json).toEqual({ error: "Funnel not found" })
      const lead = api.putLead()
      await call(api, "POST", `/leads/${lead.id}/convert`, { funnel_id: 3, funnel_stage_id: 8 })
      const stages = await call(api, "GET", "/funnels/3/stages")
      expect(stages.json).toMatchObject([
        { id: 7, funnel_id: 3, position: 1, cards_count: 0, chatwoot_status: "open" },
        { id: 8, position: 2, cards_count: 1 },
        { id: 9, position: 3, cards_count: 0, chatwoot_status: "pending" },
      ])
    })

    it("moves a card between stages and filters cards by stage and lead status", async () => {
      const a = api.putLead()
      const b = api.putLead({ status: "won" })
      await call(api, "POST", `/leads/${a.id}/convert`, { funnel_id: 3 })
      await call(api, "POST", `/leads/${b.id}/convert`, { funnel_id: 3 })
      tick()
      const moved = await call(api, "POST", "/funnels/3/cards/1/move", { target_stage_id: 9 })
      expect(moved.status).toBe(200)
      expect(moved.json).toMatchObject({
        id: 1,
        funnel_stage_id: 9,
        position: 1,
        updated_at: new Date(clock).toISOString(),
      })
      expect(api.cards().map((c) => [c.id, c.funnel_stage_id, c.position])).toEqual([
        [1, 9, 1],
        [2, 7, 1],
      ])
      const inStage = await call(api, "GET", "/funnels/3/cards?stage_id=9")
      expect(inStage.json.map((c: VoxysFunnelCard) => c.id)).toEqual([1])
      const won = await call(api, "GET", "/funnels/3/cards?lead_status=won")
      expect(won.json.map((c: VoxysFunnelCard) => c.id)).toEqual([2])
      expect((await call(api, "POST", "/funnels/3/cards/1/move", { target_stage_id: 12 })).status).toBe(404)
      expect((await call(api, "POST", "/funnels/4/cards/1/move", { target_stage_id: 12 })).json).toEqual({
        error: "Funnel card not found",
      })
      expect(errorsOf(await call(api, "POST", "/funnels/3/cards/1/move", {}))).toEqual({
        target_stage_id: ["can't be blank"],
      })
    })
  })

  describe("notes (GET/POST /leads/{lead_id}/notes)", () => {
    it("stores notes with the token owner as author and lists them newest first", async () => {
      const lead = api.putLead()
      const first = await call(api, "POST", `/leads/${lead.id}/notes`, { content: "Called, left voicemail" })
      expect(first.status).toBe(201)
      expect(first.json).toEqual({
        id: 1,
        content: "Called, left voicemail",
        author: defaultAgents[0],
        created_at: "2026-03-02T08:15:00.000Z",
      })
      tick()
      const second: VoxysNote = (await call(api, "POST", `/leads/${lead.id}/notes`, { content: "Sent quote" })).json
      const listed = await call(api, "GET", `/leads/${lead.id}/notes`)
      expect(listed.status).toBe(200)
      expect(listed.json).toEqual([second, first.json])
      expect(api.notes(lead.id)).toEqual(listed.json)
      expect(api.lead(lead.id)).toEqual(lead)
    })

    it("answers 422 for blank content and 404 for an unknown lead", async () => {
      const lead = api.putLead()
      expect(errorsOf(await call(api, "POST", `/leads/${lead.id}/notes`, { content: " " }))).toEqual({
        content: ["can't be blank"],
      })
      expect(errorsOf(await call(api, "POST", `/leads/${lead.id}/notes`, {}))).toEqual({ content: ["can't be blank"] })
      expect((await call(api, "POST", "/leads/999/notes", { content: "x" })).json).toEqual({ error: "Lead not found" })
      expect(api.notes(lead.id)).toEqual([])
    })
  })

  describe("faults, recording and test accessors", () => {
    it("injected faults answer in the vendor's error shapes; Retry-After on 429", async () => {
      api.inject({ fault: { _tag: "RateLimit", retryAfterSeconds: 30 }, method: "PATCH", path: /\/status$/ })
      api.inject({ fault: { _tag: "Status", status: 503 }, method: "GET" })
      api.inject({ fault: { _tag: "Status", status: 422 }, method: "POST" })
      const lead = api.putLead()
      const limited = await call(api, "PATCH", `/leads/${lead.id}/status`, { status: "won" })
      expect(limited.status).toBe(429)
      expect(limited.headers.get("retry-after")).toBe("30")
      expect(limited.json).toEqual({ error: "Too Many Requests" })
      const down = await call(api, "GET", "/leads")
      expect(down.status).toBe(503)
      expect(down.json).toEqual({ error: "Service Unavailable" })
      expect(errorsOf(await call(api, "POST", "/leads", { custom_name: "X" }))).toEqual({
        base: ["Unprocessable Entity"],
      })
      // Each fault fired once; the lead was not changed by the faulted call.
      expect((await call(api, "PATCH", `/leads/${lead.id}/status`, { status: "won" })).status).toBe(200)
      expect(api.requests().map((r) => r.faults)).toEqual([["RateLimit"], ["Status"], ["Status"], []])
    })

    it("records requests with path, query, headers and parsed body", async () => {
      await call(api, "POST", "/leads", { custom_name: "X" })
      await call(api, "GET", "/leads?status=open&page=2")
      const [created, listed] = api.requests()
      expect(created).toMatchObject({
        method: "POST",
        path: `/api/v1/accounts/${ACCOUNT}/leads`,
        body: { custom_name: "X" },
      })
      expect(created?.headers.api_access_token).toBe(TOKEN)
      expect(listed?.query).toEqual({ status: "open", page: "2" })
    })

    it("putLead fills defaults and bumps the id sequence; accessors throw for unknown ids; reset clears", async () => {
      const seeded = api.putLead({ id: 41, created_at: "2025-01-01T00:00:00.000Z" })
      expect(seeded).toEqual({
        id: 41,
        custom_name: "Lead 41",
        status: "open",
        lead_value: null,
        lead_currency: null,
        position: null,
        notes: null,
        assigned_agent: null,
        company: null,
        conversation_id: null,
        custom_attributes: {},
        created_at: "2025-01-01T00:00:00.000Z",
        updated_at: "2025-01-01T00:00:00.000Z",
      })
      expect((await call(api, "POST", "/leads", { custom_name: "Next" })).json.id).toBe(42)
      expect(() => api.setStatusAtVendor(999, "won")).toThrow(/999/)
      expect(() => api.deleteAtVendor(999)).toThrow(/999/)
      api.deleteAtVendor(41)
      expect((await call(api, "GET", "/leads/41")).status).toBe(404)
      api.reset()
      expect(api.leads()).toEqual([])
      expect(api.requests()).toEqual([])
      expect(api.putLead().id).toBe(1)
    })
  })
})

describe("startFakeVoxysServer (Effect)", () => {
  eit.scoped("serves inside a scope", () =>
    Effect.gen(function* () {
      const voxys = yield* startFakeVoxysServer({ apiAccessToken: TOKEN, accountId: 1 })
      const lead = voxys.putLead({ custom_name: "Effect" })
      const res = yield* Effect.promise(() =>
        fetch(`${voxys.accountUrl}/leads/${lead.id}`, { headers: { api_access_token: TOKEN } }),
      )
      const body = yield* Effect.promise(() => res.json())
      assert.strictEqual(res.status, 200)
      assert.deepStrictEqual(body, lead)
    }),
  )

  eit.scoped("refuses invalid options", () =>
    Effect.gen(function* () {
      for (const options of [
        { apiAccessToken: "", accountId: 1 },
        { apiAccessToken: TOKEN, accountId: 0 },
        { apiAccessToken: TOKEN, accountId: 1, agents: [] },
      ]) {
        const exit = yield* Effect.exit(startFakeVoxysServer(options))
        assert.isTrue(Exit.isFailure(exit))
      }
    }),
  )
})
