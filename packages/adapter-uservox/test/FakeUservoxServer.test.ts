import { assert, it as eit } from "@effect/vitest"
import { type FakeVendorControl, startFakeVendorPromise } from "@leadstate/core/testing"
import { Effect, Exit } from "effect"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import {
  type FakeUservoxServerControl,
  startFakeUservoxServer,
  startFakeUservoxServerPromise,
  type UservoxActivityWebhook,
  type UservoxLead,
  type UservoxUpdateWebhook,
} from "../src/testing/index.js"

const TOKEN = "uvx_test_token_0123456789"
const PROJECT = "6650aa11bb22cc33dd44ee55"
const OTHER_PROJECT = "6650aa11bb22cc33dd44ee99"
const P1 = "6650aa11bb22cc33dd44ee66" // bearer callback
const P2 = "6650aa11bb22cc33dd44ee77" // custom-header callback
const P3 = "6650aa11bb22cc33dd44ee88" // no callback
const P1_STATES = ["make_first_call", "schedule_second_call", "interested", "lost"]
const OBJECT_ID = /^[0-9a-f]{24}$/
const T0 = 1_768_000_000_000
const MINUTE = 60_000

type Server = FakeUservoxServerControl & { readonly close: () => Promise<void> }
type Receiver = FakeVendorControl & { readonly close: () => Promise<void> }

interface Answer {
  readonly status: number
  readonly headers: Headers
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers are inspected freely in tests
  readonly json: any
}

const AUTH = { authorization: `Bearer ${TOKEN}` }

const call = async (
  server: { readonly baseUrl: string },
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = AUTH,
): Promise<Answer> => {
  const res = await fetch(`${server.baseUrl}${path}`, {
    method,
    headers: body === undefined ? headers : { ...headers, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  })
  const text = await res.text()
  return { status: res.status, headers: res.headers, json: text === "" ? null : JSON.parse(text) }
}

let phoneCounter = 0
/** A valid, unique phone (no long digit runs). */
const freshPhone = () => {
  phoneCounter += 1
  return `+91987${String(phoneCounter).padStart(7, "0")}`
}

const leadInput = (overrides: Record<string, unknown> = {}) => ({
  projectId: PROJECT,
  processId: P1,
  name: "Priya Sharma",
  phone: freshPhone(),
  ...overrides,
})

const initiate = (server: Server, lead: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  call(server, "POST", "/leads/initiate", { lead, ...extra })

const get = (server: Server, query: string) => call(server, "GET", `/leads/get?${query}`)

describe("FakeUservoxServer", () => {
  let vox: Server
  let receiver: Receiver
  let clock = T0

  /** Webhook bodies the receiver got, in arrival order. */
  // biome-ignore lint/suspicious/noExplicitAny: webhook bodies are inspected freely in tests
  const received = (): Array<any> => receiver.requests().map((r) => r.body)

  beforeAll(async () => {
    receiver = await startFakeVendorPromise({ handle: () => ({ status: 200, body: { ok: true } }) })
    vox = await startFakeUservoxServerPromise({
      apiToken: TOKEN,
      projectId: PROJECT,
      processes: [
        { processId: P1, states: P1_STATES, callback: { url: `${receiver.url}/hooks/p1`, auth: { bearer: "hook-1" } } },
        {
          processId: P2,
          states: ["new", "done"],
          callback: { url: `${receiver.url}/hooks/p2`, auth: { header: "X-API-Key", value: "k-123" } },
        },
        { processId: P3, states: ["open", "closed"] },
      ],
      // Long enough that a job is still pending after an HTTP round trip on a busy machine.
      updateDelayMs: 250,
      seed: 7,
      now: () => clock,
    })
  })
  afterAll(async () => {
    await vox.close()
    await receiver.close()
  })
  beforeEach(async () => {
    // Nothing from an earlier (maybe failed) test may still be on its way to the receiver.
    await vox.flushWebhooks()
    clock = T0
    vox.reset()
    receiver.reset()
  })

  describe("authentication", () => {
    it("answers 403 (not 401) without a valid Bearer token", async () => {
      const body = { lead: leadInput() }
      const missing = await call(vox, "POST", "/leads/initiate", body, {})
      expect(missing.status).toBe(403)
      expect(missing.json).toEqual({ error: "Authorization token is required" })
      for (const authorization of ["Bearer wrong", TOKEN, `bearer ${TOKEN}`]) {
        const answer = await call(vox, "POST", "/leads/initiate", body, { authorization })
        expect(answer.status).toBe(403)
        expect(answer.json).toEqual({ error: "Invalid API token" })
      }
      expect((await call(vox, "POST", "/leads/initiate", body)).status).toBe(200)
    })

    it("answers 403 when lead.projectId is not the token's project", async () => {
      const answer = await initiate(vox, leadInput({ projectId: OTHER_PROJECT }))
      expect(answer.status).toBe(403)
      expect(answer.json).toEqual({ error: "projectId does not match authenticated project" })
      expect(vox.leads()).toEqual([])
    })

    it("answers an Express-style 404 for unknown routes", async () => {
      const answer = await call(vox, "GET", "/leads/list")
      expect(answer.status).toBe(404)
      expect(answer.json).toEqual({ error: "Cannot GET /api/v1/leads/list" })
    })
  })

  describe("POST /leads/initiate", () => {
    it("creates a lead: 200, fields at top level beside success, ObjectId, entry state", async () => {
      const answer = await initiate(vox, {
        ...leadInput({ referenceId: "CRM-000451", phone: "+919800000001" }),
        metadata: { city: "Pune", productInterest: "SUV" },
      })
      expect(answer.status).toBe(200)
      expect(answer.json).toEqual({
        success: true,
        _id: expect.stringMatching(OBJECT_ID),
        name: "Priya Sharma",
        phone: "+919800000001",
        email: null,
        projectId: PROJECT,
        processId: P1,
        referenceId: "CRM-000451",
        currentState: "make_first_call",
        metadata: { city: "Pune", productInterest: "SUV" },
        createdAt: new Date(T0).toISOString(),
        updatedAt: new Date(T0).toISOString(),
      })
      expect(answer.json.data).toBeUndefined()
      const stored = vox.lead(answer.json._id)
      expect(stored).toMatchObject({ lastDisposition: null, activities: [], currentState: "make_first_call" })
      expect(vox.leadByReference("CRM-000451", P1)?._id).toBe(answer.json._id)
      expect(vox.initiated(answer.json._id)).toBe(true)
    })

    it("records init:false (inserted, not initiated) and keeps firstName/lastName (integration guide)", async () => {
      // The integration guide's own example body.
      const answer = await initiate(
        vox,
        {
          firstName: "Saurabh",
          lastName: "Kumar",
          phone: "8888833333",
          projectId: PROJECT,
          processId: P1,
          metadata: { dealer: "Triveni Motors", city: "New Delhi", make: "Kia", model: "Seltos" },
        },
        { init: false },
      )
      expect(answer.status).toBe(200)
      expect(answer.json).toMatchObject({ name: "Saurabh Kumar", firstName: "Saurabh", lastName: "Kumar" })
      expect(vox.initiated(answer.json._id)).toBe(false)
      const email = await initiate(vox, {
        firstName: "Ana",
        email: "ana@example.org",
        projectId: PROJECT,
        processId: P1,
      })
      expect(email.json).toMatchObject({ name: "Ana", email: "ana@example.org", phone: null })
    })

    it("refuses requests without exactly one of leadId / lead, or without lead.projectId", async () => {
      for (const body of [{}, { init: true }, { leadId: "6650b0000000000000000abc", lead: leadInput() }]) {
        const answer = await call(vox, "POST", "/leads/initiate", body)
        expect(answer.status).toBe(400)
        expect(answer.json).toEqual({ error: "Either leadId or lead object is required" })
      }
      const { projectId: _omit, ...noProject } = leadInput()
      const answer = await initiate(vox, noProject)
      expect(answer.status).toBe(400)
      expect(answer.json).toEqual({ error: "projectId is required in lead object" })
    })

    it("answers 404 for an unknown process, 400 for a missing one", async () => {
      const unknown = await initiate(vox, leadInput({ processId: "6650aa11bb22cc33dd44ee00" }))
      expect(unknown.status).toBe(404)
      expect(unknown.json).toEqual({ error: "Process not found for lead with processId: 6650aa11bb22cc33dd44ee00" })
      const { processId: _omit, ...noProcess } = leadInput()
      const missing = await initiate(vox, noProcess)
      expect(missing.status).toBe(400)
      expect(missing.json).toEqual({ error: "processId is required in lead object" })
    })

    it("validates contact, name, phone pattern and email form", async () => {
      const cases: Array<[Record<string, unknown>, string]> = [
        [{ phone: undefined }, "Either phone or email is required"],
        [{ name: undefined }, "Either name or firstName is required"],
        [{ phone: "+919999999999" }, "Phone number contains repeating digits pattern"],
        [{ phone: "1212121212" }, "Phone number contains repeating digits pattern"],
        [{ phone: "12345" }, "Invalid phone number format"],
        [{ email: "not-an-email" }, "Invalid email format"],
        [{ email: "Ana@Example.org" }, "Email must be lowercase"],
        [{ metadata: [1, 2] }, "metadata must be an object"],
      ]
      for (const [overrides, error] of cases) {
        const answer = await initiate(vox, leadInput(overrides))
        expect(answer.status, error).toBe(400)
        expect(answer.json).toEqual({ error })
      }
      expect(vox.leads()).toEqual([])
    })

    it("refuses duplicates: referenceId per project+process, phone per project, email per project", async () => {
      expect((await initiate(vox, leadInput({ referenceId: "R-1", phone: "+919812345678" }))).status).toBe(200)
      expect((await initiate(vox, leadInput({ email: "dup@example.org" }))).status).toBe(200)

      const ref = await initiate(vox, leadInput({ referenceId: "R-1" }))
      expect(ref.status).toBe(400)
      expect(ref.json).toEqual({ error: "Lead with referenceId R-1 already exists for this project and process" })
      // The same referenceId in another process is fine.
      expect((await initiate(vox, leadInput({ referenceId: "R-1", processId: P2 }))).status).toBe(200)

      const phone = await initiate(vox, leadInput({ phone: "+91 98123-45678" }))
      expect(phone.status).toBe(400)
      expect(phone.json).toEqual({
        error: "A call attempt has already been made to this phone number for this project",
      })
      const email = await initiate(vox, leadInput({ phone: undefined, email: "dup@example.org" }))
      expect(email.status).toBe(400)
      expect(email.json).toEqual({ error: "Lead with email dup@example.org already exists for this project" })
      expect(vox.leads()).toHaveLength(3)
    })

    it("initiates an existing lead by leadId (init defaults to true); 404 for an unknown one", async () => {
      const created = await initiate(vox, leadInput(), { init: false })
      const id: string = created.json._id
      expect(vox.initiated(id)).toBe(false)
      const answer = await call(vox, "POST", "/leads/initiate", { leadId: id })
      expect(answer.status).toBe(200)
      expect(answer.json).toMatchObject({ success: true, _id: id, currentState: "make_first_call" })
      expect(vox.initiated(id)).toBe(true)
      const unknown = await call(vox, "POST", "/leads/initiate", { leadId: "6650b0000000000000000abc" })
      expect(unknown.status).toBe(404)
      expect(unknown.json).toEqual({ error: "Lead with ID 6650b0000000000000000abc not found" })
    })
  })

  describe("POST /leads/bulk/initiate", () => {
    it("answers partial success: created leads and per-item errors with referenceId, error, data", async () => {
      vox.putLead({ processId: P1, referenceId: "B-0" })
      const bad = leadInput({ referenceId: "B-2", phone: "+910000000000" })
      const dup = leadInput({ referenceId: "B-0" })
      const answer = await call(vox, "POST", "/leads/bulk/initiate", {
        leads: [leadInput({ referenceId: "B-1" }), bad, dup, leadInput({ referenceId: "B-3" })],
        init: false,
      })
      expect(answer.status).toBe(200)
      expect(answer.json.success.map((l: UservoxLead) => l.referenceId)).toEqual(["B-1", "B-3"])
      expect(answer.json.success[0]).toMatchObject({
        _id: expect.stringMatching(OBJECT_ID),
        currentState: P1_STATES[0],
      })
      expect(answer.json.success[0].lastDisposition).toBeUndefined()
      expect(answer.json.errors).toEqual([
        { referenceId: "B-2", error: "Phone number contains repeating digits pattern", data: bad },
        {
          referenceId: "B-0",
          error: "Lead with referenceId B-0 already exists for this project and process",
          data: dup,
        },
      ])
      const created = vox.leadByReference("B-1", P1)
      expect(created !== undefined && vox.initiated(created._id)).toBe(false)
    })

    it("accepts leadIds: known ones succeed, unknown ones are item errors", async () => {
      const known = vox.putLead({ processId: P1, referenceId: "K-1" }, { initiated: false })
      const answer = await call(vox, "POST", "/leads/bulk/initiate", {
        leadIds: [known._id, "6650b0000000000000000fff"],
      })
      expect(answer.status).toBe(200)
      expect(answer.json.success).toEqual([expect.objectContaining({ _id: known._id, referenceId: "K-1" })])
      expect(answer.json.errors).toEqual([
        {
          leadId: "6650b0000000000000000fff",
          referenceId: null,
          error: "Lead with ID 6650b0000000000000000fff not found",
          data: { leadId: "6650b0000000000000000fff" },
        },
      ])
      expect(vox.initiated(known._id)).toBe(true)
    })

    it("refuses requests without an array, or above 1000 items; 1000 is accepted", async () => {
      const cases: Array<[unknown, string]> = [
        [{}, "Either leadIds or leads array is required"],
        [{ leads: [], leadIds: [] }, "Either leadIds or leads array is required"],
        [{ leads: { a: 1 } }, "Input must be an array"],
        [{ leadIds: "abc" }, "Input must be an array"],
        [{ leadIds: Array.from({ length: 1001 }, (_, i) => `id-${i}`) }, "Maximum of 1000 leads allowed per request"],
      ]
      for (const [body, error] of cases) {
        const answer = await call(vox, "POST", "/leads/bulk/initiate", body)
        expect(answer.status, error).toBe(400)
        expect(answer.json).toEqual({ error })
      }
      const full = await call(vox, "POST", "/leads/bulk/initiate", {
        leadIds: Array.from({ length: 1000 }, (_, i) => `id-${i}`),
      })
      expect(full.status).toBe(200)
      expect(full.json.errors).toHaveLength(1000)
    })

    it("refuses the whole request for a foreign or missing projectId (403) or an unknown process (404)", async () => {
      const foreign = await call(vox, "POST", "/leads/bulk/initiate", {
        leads: [leadInput(), leadInput({ projectId: OTHER_PROJECT })],
      })
      expect(foreign.status).toBe(403)
      expect(foreign.json).toEqual({ error: "projectId does not match authenticated project" })
      const missing = await call(vox, "POST", "/leads/bulk/initiate", { leads: [leadInput({ projectId: undefined })] })
      expect(missing.status).toBe(403)
      const process = await call(vox, "POST", "/leads/bulk/initiate", {
        leads: [leadInput(), leadInput({ processId: "6650aa11bb22cc33dd44ee00" })],
      })
      expect(process.status).toBe(404)
      expect(process.json).toEqual({ error: "Process not found for lead with processId: 6650aa11bb22cc33dd44ee00" })
      expect(vox.leads()).toEqual([])
    })
  })

  describe("POST /leads/update (asynchronous)", () => {
    it("accepts at once, applies after the delay, then POSTs the result webhook with the bearer header", async () => {
      const lead = vox.putLead({ processId: P1, referenceId: "U-1", name: "Old Name", metadata: { city: "Pune" } })
      const answer = await call(vox, "POST", "/leads/update", {
        leadId: lead._id,
        metadata: { budget: "10L" },
        name: "New Name",
        targetState: "interested",
        disposition: "Interested - Follow Up",
        userId: "sales-ops-bot",
      })
      expect(answer.status).toBe(200)
      expect(answer.json).toEqual({ success: true, message: "Lead update initiated" })
      // Not applied yet: the job is pending.
      expect(vox.pendingJobs()).toBe(1)
      expect(vox.lead(lead._id)?.currentState).toBe("make_first_call")
      clock = T0 + 1234
      await vox.flushWebhooks()
      expect(vox.pendingJobs()).toBe(0)
      expect(vox.lead(lead._id)).toMatchObject({
        name: "New Name",
        currentState: "interested",
        lastDisposition: "Interested - Follow Up",
        metadata: { city: "Pune", budget: "10L" },
        updatedAt: new Date(T0 + 1234).toISOString(),
      })
      const [hook] = receiver.requests()
      expect(receiver.requests()).toHaveLength(1)
      expect(hook?.method).toBe("POST")
      expect(hook?.path).toBe("/hooks/p1")
      expect(hook?.headers.authorization).toBe("Bearer hook-1")
      expect(hook?.headers["content-type"]).toContain("application/json")
      const body = hook?.body as UservoxUpdateWebhook
      expect(body).toEqual({
        action_type: "update",
        updateId: expect.stringMatching(OBJECT_ID),
        success: true,
        error: null,
        leadId: lead._id,
        referenceId: "U-1",
        timestamp: T0 + 1234,
        data: { city: "Pune", budget: "10L" },
      })
      expect(body.updateId).not.toBe(lead._id)
      expect(vox.deliveries()).toEqual([expect.objectContaining({ status: 200, body })])
      expect(vox.updateResults()).toEqual([body])
    })

    it("addresses a lead by referenceId+projectId+processId and sends the custom callback header", async () => {
      const lead = vox.putLead({ processId: P2, referenceId: "U-2" })
      const answer = await call(vox, "POST", "/leads/update", {
        referenceId: "U-2",
        projectId: PROJECT,
        processId: P2,
        targetState: "done",
        metadata: {},
      })
      expect(answer.status).toBe(200)
      await vox.flushWebhooks()
      expect(vox.lead(lead._id)?.currentState).toBe("done")
      const [hook] = receiver.requests()
      expect(hook?.path).toBe("/hooks/p2")
      expect(hook?.headers["x-api-key"]).toBe("k-123")
      expect(hook?.headers.authorization).toBeUndefined()
      expect(hook?.body).toMatchObject({ success: true, leadId: lead._id, referenceId: "U-2", data: {} })
    })

    it("merges every non-reserved top-level field into metadata when metadata is omitted", async () => {
      const lead = vox.putLead({ processId: P1, metadata: { city: "Pune" } })
      await call(vox, "POST", "/leads/update", {
        leadId: lead._id,
        budget: "10L",
        make: "Kia",
        userId: "u-1",
        disposition: "Interested - Follow Up",
        targetState: "interested",
        name: "Renamed",
      })
      await vox.flushWebhooks()
      const after = vox.lead(lead._id)
      expect(after?.metadata).toEqual({ city: "Pune", budget: "10L", make: "Kia" })
      expect(after).toMatchObject({
        name: "Renamed",
        currentState: "interested",
        lastDisposition: "Interested - Follow Up",
      })
      expect(received()[0].data).toEqual({ city: "Pune", budget: "10L", make: "Kia" })
    })

    it("does not sweep other fields into metadata when metadata is given", async () => {
      const lead = vox.putLead({ processId: P1, metadata: { city: "Pune" } })
      await call(vox, "POST", "/leads/update", { leadId: lead._id, metadata: { model: "Seltos" }, budget: "10L" })
      await vox.flushWebhooks()
      expect(vox.lead(lead._id)?.metadata).toEqual({ city: "Pune", model: "Seltos" })
    })

    it("answers 400 / 404 / 403 for bad addressing", async () => {
      vox.putLead({ processId: P1, referenceId: "U-3" })
      const cases: Array<[Record<string, unknown>, number, string]> = [
        [{ targetState: "lost" }, 400, "Either leadId or referenceId is required"],
        [
          { referenceId: "U-3", projectId: PROJECT },
          400,
          "projectId and processId are required when using referenceId",
        ],
        [{ referenceId: "U-3", processId: P1 }, 400, "projectId and processId are required when using referenceId"],
        [{ leadId: "6650b0000000000000000abc" }, 404, "Lead with ID 6650b0000000000000000abc not found"],
        [{ referenceId: "nope", projectId: PROJECT, processId: P1 }, 404, "Lead with referenceId nope not found"],
        [
          { referenceId: "U-3", projectId: OTHER_PROJECT, processId: P1 },
          403,
          "projectId does not match authenticated project",
        ],
      ]
      for (const [body, status, error] of cases) {
        const answer = await call(vox, "POST", "/leads/update", body)
        expect(answer.status, error).toBe(status)
        expect(answer.json).toEqual({ success: false, error })
      }
      expect(vox.pendingJobs()).toBe(0)
    })

    it("fails the job while a call is in progress: failure webhook, data null, lead unchanged", async () => {
      const lead = vox.putLead({ processId: P1, referenceId: "U-4", metadata: { city: "Pune" } })
      vox.callInProgress(lead._id, true)
      await call(vox, "POST", "/leads/update", {
        leadId: lead._id,
        targetState: "lost",
        disposition: "Bought elsewhere",
      })
      await vox.flushWebhooks()
      expect(received()).toEqual([
        {
          action_type: "update",
          updateId: expect.stringMatching(OBJECT_ID),
          success: false,
          error: "Lead update is not allowed while a call is in progress for this lead",
          leadId: lead._id,
          referenceId: "U-4",
          timestamp: T0,
          data: null,
        },
      ])
      expect(vox.lead(lead._id)).toEqual(lead)
      vox.callInProgress(lead._id, false)
      await call(vox, "POST", "/leads/update", {
        leadId: lead._id,
        targetState: "lost",
        disposition: "Bought elsewhere",
      })
      await vox.flushWebhooks()
      expect(received()[1]).toMatchObject({ success: true, error: null })
      expect(vox.lead(lead._id)?.currentState).toBe("lost")
    })

    it("fails the job for a state the process does not have (undocumented behaviour)", async () => {
      const lead = vox.putLead({ processId: P1 })
      await call(vox, "POST", "/leads/update", { leadId: lead._id, targetState: "won", metadata: { a: 1 } })
      await vox.flushWebhooks()
      expect(received()[0]).toMatchObject({ success: false, error: "Invalid target state: won", data: null })
      expect(vox.lead(lead._id)).toEqual(lead)
    })

    it("keeps a disposition only with the states that take one (default interested and lost; a choice)", async () => {
      const lead = vox.putLead({ processId: P1 })
      await call(vox, "POST", "/leads/update", {
        leadId: lead._id,
        targetState: "schedule_second_call",
        disposition: "No Connect",
      })
      await vox.flushWebhooks()
      expect(received()[0]).toMatchObject({ success: true, error: null })
      expect(vox.lead(lead._id)).toMatchObject({ currentState: "schedule_second_call", lastDisposition: null })
      await call(vox, "POST", "/leads/update", { leadId: lead._id, targetState: "lost", disposition: "Wrong Number" })
      await vox.flushWebhooks()
      expect(vox.lead(lead._id)).toMatchObject({ currentState: "lost", lastDisposition: "Wrong Number" })

      const own = await startFakeUservoxServerPromise({
        apiToken: TOKEN,
        projectId: PROJECT,
        processes: [{ processId: P2, states: ["new", "done", "lost"], dispositionStates: ["done"] }],
        updateDelayMs: 1,
      })
      try {
        const other = own.putLead({ processId: P2 })
        await call(own, "POST", "/leads/update", { leadId: other._id, targetState: "done", disposition: "Retail" })
        await own.flushWebhooks()
        expect(own.lead(other._id)?.lastDisposition).toBe("Retail")
        await call(own, "POST", "/leads/update", {
          leadId: other._id,
          targetState: "lost",
          disposition: "Wrong Number",
        })
        await own.flushWebhooks()
        expect(own.lead(other._id)).toMatchObject({ currentState: "lost", lastDisposition: "Retail" })
      } finally {
        await own.close()
      }
    })

    it("runs jobs of a process without callback and records their results without delivering", async () => {
      const lead = vox.putLead({ processId: P3 })
      await call(vox, "POST", "/leads/update", { leadId: lead._id, targetState: "closed" })
      await vox.flushWebhooks()
      expect(vox.lead(lead._id)?.currentState).toBe("closed")
      expect(vox.updateResults()).toEqual([expect.objectContaining({ success: true, leadId: lead._id, data: {} })])
      expect(vox.deliveries()).toEqual([])
      expect(receiver.requests()).toEqual([])
    })
  })

  describe("GET /leads/get", () => {
    it("returns { success, data } with lastDisposition and activities, by leadId or by referenceId", async () => {
      const lead = vox.putLead({
        processId: P1,
        referenceId: "G-1",
        phone: "+919800000001",
        lastDisposition: "No Connect",
      })
      const byId = await get(vox, `leadId=${lead._id}`)
      expect(byId.status).toBe(200)
      expect(byId.json).toEqual({ success: true, data: lead })
      expect(byId.json.data).toMatchObject({ lastDisposition: "No Connect", activities: [] })
      const byRef = await get(vox, `referenceId=G-1&projectId=${PROJECT}&processId=${P1}`)
      expect(byRef.json).toEqual({ success: true, data: lead })
    })

    it("masks the phone to its last 4 digits with masked=true", async () => {
      const lead = vox.putLead({ processId: P1, referenceId: "G-2", phone: "+919800000001" })
      const masked = await get(vox, `referenceId=G-2&projectId=${PROJECT}&processId=${P1}&masked=true`)
      expect(masked.json.data.phone).toBe("******0001")
      expect(masked.json.data._id).toBe(lead._id)
      const plain = await get(vox, `leadId=${lead._id}&masked=false`)
      expect(plain.json.data.phone).toBe("+919800000001")
    })

    it("answers the documented 400 / 404 bodies, and 403 for a foreign project", async () => {
      const cases: Array<[string, number, string]> = [
        ["", 400, "Either leadId or referenceId is required"],
        ["masked=true", 400, "Either leadId or referenceId is required"],
        [`referenceId=G-3&projectId=${PROJECT}`, 400, "projectId and processId are required when using referenceId"],
        ["leadId=6650b0000000000000000abc", 404, "Lead with ID 6650b0000000000000000abc not found"],
        [
          `referenceId=G-3&projectId=${OTHER_PROJECT}&processId=${P1}`,
          403,
          "projectId does not match authenticated project",
        ],
      ]
      for (const [query, status, error] of cases) {
        const answer = await get(vox, query)
        expect(answer.status, query).toBe(status)
        expect(answer.json).toEqual({ success: false, error })
      }
    })
  })

  describe("activity webhooks", () => {
    it("completeCall moves the lead and POSTs the documented activity payload", async () => {
      const lead = vox.putLead({ processId: P1, referenceId: "A-1", metadata: { city: "Pune" } })
      vox.callInProgress(lead._id, true)
      clock = T0 + 5000
      const payload = vox.completeCall(lead._id, {
        toState: "schedule_second_call",
        disposition: "No Connect",
        dispositionType: "neutral",
        summary: "Number was busy; no conversation.",
        scheduledAt: T0,
      })
      await vox.flushWebhooks()
      const [hook] = receiver.requests()
      expect(hook?.headers.authorization).toBe("Bearer hook-1")
      const body = hook?.body as UservoxActivityWebhook
      expect(body).toEqual(payload)
      expect(body).toEqual({
        action_type: "update",
        activityId: expect.stringMatching(OBJECT_ID),
        lastActivityId: body.activityId,
        leadId: lead._id,
        processId: P1,
        referenceId: "A-1",
        timestamp: T0 + 5000,
        activity: {
          type: "call",
          status: "success",
          fromState: "make_first_call",
          toState: "schedule_second_call",
          scheduledAt: T0,
          result: {
            success: true,
            type: "call",
            leadId: lead._id,
            projectId: PROJECT,
            activityId: body.activityId,
            referenceId: "A-1",
            flowId: expect.stringMatching(OBJECT_ID),
            channelId: 1,
            hasTransfer: false,
            telephonyType: "provider",
            input: { city: "Pune", name: lead.name },
            providerCallId: expect.stringMatching(/^prov-[0-9a-f]{12}$/),
            status: "completed",
            analysis: {
              success: false,
              disposition: "No Connect",
              dispositionType: "neutral",
              summary: "Number was busy; no conversation.",
            },
          },
        },
      })
      expect(vox.lead(lead._id)).toMatchObject({ currentState: "schedule_second_call", lastDisposition: "No Connect" })
      // The call is over: an update is allowed again.
      await call(vox, "POST", "/leads/update", { leadId: lead._id, metadata: { x: 1 } })
      await vox.flushWebhooks()
      expect(received()[1]).toMatchObject({ success: true })
    })

    it("chains lastActivityId, lists activities on Get Lead, and refuses unknown states", async () => {
      const lead = vox.putLead({ processId: P1 })
      const first = vox.completeCall(lead._id, {
        toState: "schedule_second_call",
        disposition: "No Connect",
        dispositionType: "neutral",
      })
      const second = vox.completeCall(lead._id, {
        toState: "interested",
        disposition: "Retail",
        dispositionType: "success",
      })
      expect(second.lastActivityId).toBe(first.activityId)
      expect(second.activity.fromState).toBe("schedule_second_call")
      expect(second.activity.result.analysis.success).toBe(true)
      expect(second.activity.result.analysis.summary).toBe('Call completed with disposition "Retail".')
      const answer = await get(vox, `leadId=${lead._id}`)
      expect(answer.json.data.activities.map((a: { _id: string }) => a._id)).toEqual([
        first.activityId,
        second.activityId,
      ])
      expect(answer.json.data.activities[1]).toMatchObject({ type: "call", toState: "interested" })
      expect(() =>
        vox.completeCall(lead._id, { toState: "won", disposition: "x", dispositionType: "success" }),
      ).toThrow(/no state won/)
      await vox.flushWebhooks()
      expect(received().map((b) => b.activityId)).toEqual([first.activityId, second.activityId])
    })
  })

  describe("protections", () => {
    it("blocks the key for 60 minutes after more than 5 duplicates within 60 s", async () => {
      const original = leadInput({ referenceId: "D-1" })
      expect((await initiate(vox, original)).status).toBe(200)
      for (let i = 1; i <= 6; i++) {
        clock = T0 + i * 1000
        const answer = await initiate(vox, original)
        expect(answer.status, `duplicate ${i}`).toBe(400)
      }
      const blocked = { success: false, error: "API key temporarily blocked due to repeated duplicate submissions" }
      expect(vox.blockedUntil()).toBe(T0 + 6000 + 60 * MINUTE)
      // Every request from the key is refused, even valid ones and other endpoints.
      for (const answer of [
        await initiate(vox, leadInput()),
        await get(vox, "leadId=6650b0000000000000000abc"),
        await call(vox, "POST", "/leads/update", { leadId: "6650b0000000000000000abc" }),
        await call(vox, "POST", "/leads/bulk/initiate", { leads: [leadInput()] }),
      ]) {
        expect(answer.status).toBe(429)
        expect(answer.json).toEqual(blocked)
      }
      clock = T0 + 6000 + 60 * MINUTE - 1
      expect((await initiate(vox, leadInput())).status).toBe(429)
      clock = T0 + 6000 + 60 * MINUTE
      expect((await initiate(vox, leadInput())).status).toBe(200)
      expect(vox.blockedUntil()).toBeUndefined()
    })

    it("does not block for 5 duplicates, nor for duplicates spread over more than 60 s", async () => {
      const original = leadInput({ referenceId: "D-2" })
      await initiate(vox, original)
      for (let i = 1; i <= 5; i++) expect((await initiate(vox, original)).status).toBe(400)
      expect((await initiate(vox, leadInput())).status).toBe(200)
      for (let i = 1; i <= 6; i++) {
        clock = T0 + 61_000 + i * 30_000 // the first 5 have expired; then at most 3 in any 60 s
        expect((await initiate(vox, original)).status).toBe(400)
      }
      expect(vox.blockedUntil()).toBeUndefined()
      expect((await initiate(vox, leadInput())).status).toBe(200)
    })

    it("counts duplicate items of a bulk request toward the block", async () => {
      const original = leadInput({ referenceId: "D-3" })
      await initiate(vox, original)
      const answer = await call(vox, "POST", "/leads/bulk/initiate", {
        leads: Array.from({ length: 6 }, () => original),
      })
      expect(answer.status).toBe(200)
      expect(answer.json.errors).toHaveLength(6)
      expect((await initiate(vox, leadInput())).status).toBe(429)
    })

    it("rate-limits initiate and get at 100 per 5 s per project, each separately, without headers", async () => {
      const lead = vox.putLead({ processId: P1 })
      const gets = await Promise.all(Array.from({ length: 100 }, () => get(vox, `leadId=${lead._id}`)))
      expect(gets.every((a) => a.status === 200)).toBe(true)
      const limited = await get(vox, `leadId=${lead._id}`)
      expect(limited.status).toBe(429)
      expect(limited.json).toEqual({ success: false, error: "Too many requests" })
      expect(limited.headers.get("retry-after")).toBeNull()
      // The initiate bucket is separate, and updates are not limited.
      expect((await initiate(vox, leadInput())).status).toBe(200)
      expect((await call(vox, "POST", "/leads/update", { leadId: lead._id, metadata: {} })).status).toBe(200)
      clock = T0 + 4999
      expect((await get(vox, `leadId=${lead._id}`)).status).toBe(429)
      clock = T0 + 5000
      expect((await get(vox, `leadId=${lead._id}`)).status).toBe(200)
      await vox.flushWebhooks()
    })
  })

  describe("webhook faults", () => {
    const updateMany = async (count: number): Promise<Array<string>> => {
      const ids: Array<string> = []
      for (let i = 0; i < count; i++) {
        const lead = vox.putLead({ processId: P1, referenceId: `W-${i}` })
        ids.push(lead._id)
        await call(vox, "POST", "/leads/update", { leadId: lead._id, metadata: { i } })
      }
      await vox.flushWebhooks()
      return ids
    }

    it("duplicate: every delivery arrives twice with the same updateId", async () => {
      vox.webhookFaults({ duplicate: 1 })
      const ids = await updateMany(2)
      const bodies = received()
      expect(bodies.map((b) => b.leadId)).toEqual([ids[0], ids[0], ids[1], ids[1]])
      expect(bodies[0].updateId).toBe(bodies[1].updateId)
      expect(bodies[1].updateId).not.toBe(bodies[2].updateId)
    })

    it("reorder: a held delivery is sent after the next one; flushWebhooks releases the last one", async () => {
      vox.webhookFaults({ reorder: 1 })
      const ids = await updateMany(3)
      expect(received().map((b) => b.leadId)).toEqual([ids[1], ids[0], ids[2]])
      expect(vox.deliveries()).toHaveLength(3)
    })

    it("drop: deliveries are swallowed and listed", async () => {
      vox.webhookFaults({ drop: 1 })
      const ids = await updateMany(2)
      expect(receiver.requests()).toEqual([])
      expect(vox.droppedWebhooks().map((b) => b.leadId)).toEqual(ids)
      expect(vox.updateResults()).toHaveLength(2)
    })

    it("is deterministic for a seed: the same scenario gives the same deliveries", async () => {
      const scenario = async () => {
        vox.reset()
        receiver.reset()
        vox.webhookFaults({ duplicate: 0.4, reorder: 0.4, drop: 0.2 })
        await updateMany(8)
        return received().map((b) => `${b.leadId}:${b.updateId}`)
      }
      const first = await scenario()
      const second = await scenario()
      expect(second).toEqual(first)
      // Faults really happened: not the plain in-order single delivery of 8 results.
      const ordered = vox.updateResults().map((b) => `${b.leadId}:${b.updateId}`)
      expect(first).not.toEqual(ordered)
      expect(() => vox.webhookFaults({ drop: 2 })).toThrow(RangeError)
    })
  })

  describe("shared controls", () => {
    it("injects faults with vendor-looking bodies and records requests", async () => {
      vox.inject({ fault: { _tag: "Status", status: 500 }, path: "/api/v1/leads/initiate" })
      const failed = await initiate(vox, leadInput())
      expect(failed.status).toBe(500)
      expect(failed.json).toEqual({ error: "Internal Server Error" })
      vox.inject({ fault: { _tag: "RateLimit", retryAfterSeconds: 3 }, method: "GET" })
      const limited = await get(vox, "leadId=x")
      expect(limited.status).toBe(429)
      expect(limited.headers.get("retry-after")).toBe("3")
      expect(limited.json).toEqual({ success: false, error: "Too many requests" })
      expect(vox.requests().map((r) => r.faults)).toEqual([["Status"], ["RateLimit"]])
      expect(vox.requests()[0]?.body).toMatchObject({ lead: { projectId: PROJECT } })
    })

    it("reset clears leads, pending jobs, the block and webhook state", async () => {
      const lead = vox.putLead({ processId: P1 })
      await call(vox, "POST", "/leads/update", { leadId: lead._id, metadata: { a: 1 } })
      expect(vox.pendingJobs()).toBe(1)
      vox.reset()
      expect(vox.pendingJobs()).toBe(0)
      expect(vox.leads()).toEqual([])
      await vox.flushWebhooks()
      await new Promise((resolve) => setTimeout(resolve, 30))
      expect(receiver.requests()).toEqual([])
      expect(vox.updateResults()).toEqual([])
    })

    it("putLead refuses an unknown process and a taken referenceId", () => {
      vox.putLead({ processId: P1, referenceId: "S-1" })
      expect(() => vox.putLead({ processId: "nope" })).toThrow(/unknown process/)
      expect(() => vox.putLead({ processId: P1, referenceId: "S-1" })).toThrow(/already has referenceId/)
    })
  })
})

describe("startFakeUservoxServer (Effect)", () => {
  eit.scoped("starts in a scope and serves at baseUrl", () =>
    Effect.gen(function* () {
      const vox = yield* startFakeUservoxServer({
        apiToken: TOKEN,
        projectId: PROJECT,
        processes: [{ processId: P1, states: P1_STATES }],
      })
      assert.match(vox.baseUrl, /^http:\/\/127\.0\.0\.1:\d+\/api\/v1$/)
      const answer = yield* Effect.promise(() => call(vox, "GET", "/leads/get?leadId=6650b0000000000000000abc"))
      assert.strictEqual(answer.status, 404)
    }),
  )

  eit.effect("dies for a process without states", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(
        Effect.scoped(
          startFakeUservoxServer({ apiToken: TOKEN, projectId: PROJECT, processes: [{ processId: P1, states: [] }] }),
        ),
      )
      assert.isTrue(Exit.isFailure(exit))
    }),
  )
})
