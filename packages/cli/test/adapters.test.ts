/**
 * `leadstate simulate --adapter …` (dry run, and against each adapter's fake server) and
 * `leadstate serve-fake`, run as subprocesses. The API credentials are distinctive tokens in
 * environment variables; none may ever appear in anything the CLI prints.
 */
import { readFileSync } from "node:fs"
import { createServer } from "node:net"
import { startFakeGenericServerPromise } from "@leadstate/adapter-generic/testing"
import { startFakeUservoxServerPromise } from "@leadstate/adapter-uservox/testing"
import { startFakeVoxysServerPromise } from "@leadstate/adapter-voxys/testing"
import { afterAll, describe, expect, it } from "vitest"
import {
  cleanEvents,
  eventsFile,
  finish,
  hasStackTrace,
  jsonLines,
  leadstate,
  lifecycles,
  outputs,
  root,
  scratch,
  spawnCli,
} from "./helpers.js"

const SECRETS = {
  GENERIC_API_KEY: "sk-workspace_S3CR3T_generic_7f3a9c",
  USERVOX_API_TOKEN: "uvx_S3CR3T_uservox_2b8e41",
  VOXYS_API_ACCESS_TOKEN: "vx_S3CR3T_voxys_5d0c77",
}
const secretValues = Object.values(SECRETS)
const leaks = (text: string) => secretValues.filter((s) => text.includes(s) || text.includes("S3CR3T"))

const files = scratch()
const clean = files.file("clean.jsonl", cleanEvents)
const config = (vendor: string, extra: Record<string, unknown>) => {
  const base = JSON.parse(readFileSync(`${root}/examples/adapters/${vendor}.json`, "utf8")) as Record<string, unknown>
  return files.file(`${vendor}-${Object.keys(extra).join("-") || "plain"}.json`, JSON.stringify({ ...base, ...extra }))
}
/** A port nothing listens on (the OS picks it; it is free again once closed). */
const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer()
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0))
    })
  })

/** Quick retries, so a test with an injected fault stays fast. */
const retry = { baseDelayMs: 5, jitter: 0, requestTimeoutMs: 2_000 }

afterAll(() => {
  // Every stdout and stderr of every run in this file: not one secret.
  expect(outputs.length).toBeGreaterThan(0)
  for (const output of outputs) expect(leaks(output)).toEqual([])
})

describe.concurrent("leadstate simulate with an adapter, and serve-fake", () => {
  it("--dry-run prints the planned requests with the secret redacted, and sends nothing", async ({ expect }) => {
    const vendor = await startFakeGenericServerPromise({ apiKey: SECRETS.GENERIC_API_KEY })
    try {
      // The config points at a live (fake) server: a dry run must still send nothing.
      const cfg = config("generic", { baseUrl: vendor.url, retry })
      const r = await leadstate(
        ["simulate", lifecycles.autoDealer, clean, "--adapter", "generic", "--config", cfg, "--dry-run"],
        SECRETS,
      )
      expect(r.code).toBe(0)
      expect(r.stdout).toContain(`↳ CreateLead POST ${vendor.url}/api/v1/chatbots/bot_1/leads`)
      expect(r.stdout).toContain("Authorization: Bearer <redacted>")
      expect(r.stdout).toContain(`↳ SetState PUT ${vendor.url}/api/v1/leads/lead_dryrun0001`)
      expect(r.stdout).toContain('{"status":"qualified","metadata":{"leadstate":{"leadId":"C-1","state":"interested"')
      expect(r.stdout).toMatch(/Vendor generic: 5 requests planned \(dry run, nothing sent\), 0 retries, 0 errors\./)
      expect(leaks(r.stdout + r.stderr)).toEqual([])
      expect(vendor.requests()).toEqual([])
    } finally {
      await vendor.close()
    }
  })

  it("against the fake generic server: sent and answered, a 429 retried, vendor errors exit 1", async ({ expect }) => {
    const vendor = await startFakeGenericServerPromise({ apiKey: SECRETS.GENERIC_API_KEY })
    try {
      vendor.inject({ fault: { _tag: "RateLimit", retryAfterSeconds: 0 }, method: "POST", times: 1 })
      // Someone already has C-2's email at the vendor: its create is refused, so is its next write.
      vendor.putLead({ name: "Someone Else", email: "ben@example.org" })
      const r = await leadstate(
        [
          "simulate",
          lifecycles.autoDealer,
          clean,
          "--adapter",
          "generic",
          "--config",
          config("generic", { retry }),
          "--base-url",
          vendor.url,
        ],
        SECRETS,
      )
      expect(r.code).toBe(1)
      expect(r.stdout).toMatch(/↳ CreateLead POST http:\/\/127\.0\.0\.1:\d+\/api\/v1\/chatbots\/bot_1\/leads .*"C-1"/)
      expect(r.stdout).toContain("← 429")
      expect(r.stdout).toMatch(/← 201 \(\d+ ms\)/)
      expect(r.stdout).toMatch(/✓ CreateLead confirmed \(vendor lead lead_[0-9a-f]+, vendor state "new"\)/)
      expect(r.stdout).toContain('✗ generic CreateLead for lead "C-2" failed: DuplicateLead')
      expect(r.stdout).toMatch(
        /Vendor generic: 5 calls to http:\/\/127\.0\.0\.1:\d+, 1 retry, 2 errors \(DuplicateLead 1, InvalidRequest 1\)\./,
      )
      const c1 = vendor.leads().find((l) => l.metadata.external_id === "C-1")
      expect(c1?.status).toBe("qualified")
      expect(leaks(r.stdout + r.stderr)).toEqual([])
      // The key did reach the vendor (it was sent), but was never printed.
      expect(vendor.requests()[0]?.headers.authorization).toBe(`Bearer ${SECRETS.GENERIC_API_KEY}`)
    } finally {
      await vendor.close()
    }
  })

  it("against the fake uservox server: updates accepted, to be confirmed by webhook", async ({ expect }) => {
    const vendor = await startFakeUservoxServerPromise({
      apiToken: SECRETS.USERVOX_API_TOKEN,
      projectId: "6650aa11bb22cc33dd44ee55",
      processes: [
        {
          processId: "6650aa11bb22cc33dd44ee66",
          states: [
            "new_lead",
            "make_first_call",
            "schedule_second_call",
            "followup_2",
            "followup_3",
            "interested",
            "test_drive",
            "retail",
            "lost",
            "callback_later",
          ],
        },
      ],
    })
    try {
      const r = await leadstate(
        [
          "simulate",
          lifecycles.autoDealer,
          eventsFile,
          "--adapter",
          "uservox",
          "--config",
          config("uservox", { retry }),
          "--base-url",
          vendor.baseUrl,
        ],
        SECRETS,
      )
      expect(r.code).toBe(1) // the example file has rejected events
      expect(r.stdout).toContain("✓ SetState accepted (L-1001#1); the vendor confirms it later by webhook")
      expect(r.stdout).toMatch(/Vendor uservox: 20 calls to http:\/\/127\.0\.0\.1:\d+\/api\/v1, 0 retries, 0 errors\./)
      await vendor.flushWebhooks()
      expect(vendor.leadByReference("L-1001", "6650aa11bb22cc33dd44ee66")?.currentState).toBe("retail")
      expect(vendor.leadByReference("L-1002", "6650aa11bb22cc33dd44ee66")?.currentState).toBe("lost")
      expect(vendor.leadByReference("L-1003", "6650aa11bb22cc33dd44ee66")?.lastDisposition).toBe("wants_callback")
      expect(leaks(r.stdout + r.stderr)).toEqual([])
    } finally {
      await vendor.close()
    }
  })

  it("against the fake Voxys server, --json: every line parses, with each request as sent and answered", async ({
    expect,
  }) => {
    const vendor = await startFakeVoxysServerPromise({ apiAccessToken: SECRETS.VOXYS_API_ACCESS_TOKEN, accountId: 7 })
    try {
      const r = await leadstate(
        [
          "simulate",
          lifecycles.autoDealer,
          clean,
          "--adapter",
          "voxys",
          "--config",
          config("voxys", { retry }),
          "--base-url",
          vendor.url,
          "--json",
        ],
        SECRETS,
      )
      expect(r.code).toBe(0)
      const lines = jsonLines(r.stdout)
      const last = lines.at(-1)
      expect(last).toMatchObject({ kind: "summary", applied: 3, rejected: 0, vendorErrors: 0, retries: 0 })
      expect(last?.vendorCalls).toBe(7) // create = POST + PATCH status, for each of the 2 leads; 3 moves
      const lost = lines.find((l) => l.lead === "C-2" && l.to === "lost") as {
        vendor: Array<{ intent: string; sent: Array<{ method: string; url: string; status: number; body: unknown }> }>
      }
      expect(lost.vendor[0]?.intent).toBe("SetState")
      expect(lost.vendor[0]?.sent[0]).toMatchObject({
        method: "PATCH",
        url: `${vendor.url}/api/v1/accounts/7/leads/2/status`,
        status: 200,
        body: { status: "lost", notes: "[leadstate] state=lost disposition=wrong_number\na bakery" },
      })
      expect(vendor.lead(1)?.notes).toBe("[leadstate] state=interested disposition=price_inquiry")
      expect(vendor.lead(2)?.status).toBe("lost")
      expect(leaks(r.stdout + r.stderr)).toEqual([])
    } finally {
      await vendor.close()
    }
  })

  it("a secret variable that is not set: one clear message naming it, exit 2", async ({ expect }) => {
    const r = await leadstate([
      "simulate",
      lifecycles.autoDealer,
      clean,
      "--adapter",
      "voxys",
      "--config",
      "examples/adapters/voxys.json",
      "--base-url",
      "http://127.0.0.1:9",
    ])
    expect(r.code).toBe(2)
    expect(r.stderr.trim()).toBe(
      'leadstate: the environment variable VOXYS_API_ACCESS_TOKEN (named by "apiAccessTokenEnv" in examples/adapters/voxys.json) is not set; export it with the API credential and run again',
    )
    expect(hasStackTrace(r.stderr)).toBe(false)
  })

  it("serve-fake starts a fake vendor that answers HTTP, until it is killed", async ({ expect }) => {
    const port = await freePort()
    const child = spawnCli(
      ["serve-fake", "voxys", "--port", String(port), "--config", "examples/adapters/voxys.json"],
      SECRETS,
    )
    const done = finish(child, 30_000)
    try {
      let stdout = ""
      child.stdout?.on("data", (d: Buffer) => {
        stdout += d.toString("utf8")
      })
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`serve-fake did not start: ${stdout}`)), 20_000)
        child.stdout?.on("data", () => {
          const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)
          if (m?.[1] !== undefined && m[1] !== `http://127.0.0.1:${port}`) reject(new Error(`not on --port: ${stdout}`))
          if (m?.[1] !== undefined) {
            clearTimeout(timer)
            resolve(m[1])
          }
        })
      })
      const ok = await fetch(`${url}/api/v1/accounts/7/leads`, {
        headers: { api_access_token: SECRETS.VOXYS_API_ACCESS_TOKEN },
      })
      expect(ok.status).toBe(200)
      expect(await ok.json()).toMatchObject({ data: [], meta: { total_count: 0 } })
      const denied = await fetch(`${url}/api/v1/accounts/7/leads`, { headers: { api_access_token: "wrong" } })
      expect(denied.status).toBe(401)
      await new Promise((resolve) => setTimeout(resolve, 400)) // the request log is printed every 200 ms
      child.kill("SIGTERM")
      const r = await done
      expect(r.code).toBe(143) // stopped by a signal, as every command is
      expect(r.stderr).toBe("\nleadstate: stopped by SIGTERM\n")
      expect(r.stdout).toContain("credential: the value of $VOXYS_API_ACCESS_TOKEN")
      expect(r.stdout).toMatch(/GET \/api\/v1\/accounts\/7\/leads/)
      expect(leaks(r.stdout + r.stderr)).toEqual([])
    } finally {
      child.kill("SIGKILL") // a no-op once it has exited; never leave a server behind when the test fails
    }
  })
})
