import { createHmac } from "node:crypto"
import { assert, describe, it } from "@effect/vitest"
import { FastCheck as fc, Redacted } from "effect"
import * as CrmWebhooks from "../src/CrmWebhooks.js"

const secret = Redacted.make("whsec_test_0123456789")
const bytes = (s: string) => new TextEncoder().encode(s)
/** The signature header a correct sender puts on `body`, computed independently. */
const sign = (body: Uint8Array, key = "whsec_test_0123456789") =>
  `sha256=${createHmac("sha256", key).update(body).digest("hex")}`

const bodyArb = fc.uint8Array({ minLength: 0, maxLength: 256 })
const secretArb = fc.string({ minLength: 1, maxLength: 40 })

const flipBit = (data: Uint8Array, bit: number): Uint8Array => {
  const copy = Uint8Array.from(data)
  const i = Math.floor(bit / 8) % copy.length
  copy[i] = (copy[i] ?? 0) ^ (1 << (bit % 8))
  return copy
}

describe("CrmWebhooks.verifyHmacSha256", () => {
  it("matches the RFC 4231 test vector", () => {
    const key = Redacted.make("Jefe")
    const body = bytes("what do ya want for nothing?")
    const mac = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    assert.strictEqual(CrmWebhooks.hmacSha256Hex(key, body), mac)
    assert.isTrue(CrmWebhooks.verifyHmacSha256(key, body, `sha256=${mac}`))
  })

  it.prop("accepts the right signature for any body and secret", [bodyArb, secretArb], ([body, key]) => {
    assert.isTrue(CrmWebhooks.verifyHmacSha256(Redacted.make(key), body, sign(body, key)))
  })

  it.prop("accepts upper-case hex (hex is case-insensitive)", [bodyArb], ([body]) => {
    const signature = sign(body)
    assert.isTrue(CrmWebhooks.verifyHmacSha256(secret, body, `sha256=${signature.slice(7).toUpperCase()}`))
  })

  it.prop(
    "rejects any single-bit change of the body",
    [bodyArb.filter((b) => b.length > 0), fc.nat()],
    ([body, bit]) => {
      const signature = sign(body)
      assert.isFalse(CrmWebhooks.verifyHmacSha256(secret, flipBit(body, bit), signature))
    },
  )

  it.prop("rejects any single-bit change of the MAC", [bodyArb, fc.nat({ max: 255 })], ([body, bit]) => {
    const mac = Buffer.from(sign(body).slice(7), "hex")
    const changed = `sha256=${Buffer.from(flipBit(mac, bit)).toString("hex")}`
    assert.isFalse(CrmWebhooks.verifyHmacSha256(secret, body, changed))
  })

  it.prop(
    "rejects any single-bit change of the header text, unless it only changes a hex digit's case",
    [bodyArb, fc.nat({ max: 71 * 8 - 1 })],
    ([body, bit]) => {
      const header = sign(body)
      const changed = Buffer.from(flipBit(Buffer.from(header, "latin1"), bit)).toString("latin1")
      const sameValue = changed.toLowerCase() === header && changed.startsWith("sha256=")
      assert.strictEqual(CrmWebhooks.verifyHmacSha256(secret, body, changed), sameValue)
    },
  )

  it.prop("rejects a signature made with another secret", [bodyArb, secretArb], ([body, other]) => {
    fc.pre(other !== Redacted.value(secret))
    assert.isFalse(CrmWebhooks.verifyHmacSha256(secret, body, sign(body, other)))
  })

  it("rejects a missing header, a wrong prefix, a wrong length and non-hex", () => {
    const body = bytes('{"event":"lead.updated"}')
    const good = sign(body)
    const hex = good.slice(7)
    const bad: ReadonlyArray<string | undefined> = [
      undefined,
      "",
      hex,
      `sha1=${hex}`,
      `SHA256=${hex}`,
      `sha256:${hex}`,
      ` sha256=${hex}`,
      `sha256= ${hex}`,
      `sha256=${hex} `,
      `sha256=${hex.slice(0, 63)}`,
      `sha256=${hex}0`,
      `sha256=${hex}${hex}`,
      "sha256=",
      `sha256=${hex.slice(0, 62)}zz`,
      `sha256=${hex.slice(0, 63)}g`,
      `sha256=${"0x"}${hex.slice(2)}`,
      `sha256=${Buffer.from(hex, "hex").toString("base64")}`,
      `${good},${good}`,
    ]
    for (const signature of bad) {
      assert.isFalse(CrmWebhooks.verifyHmacSha256(secret, body, signature), JSON.stringify(signature))
    }
    assert.isTrue(CrmWebhooks.verifyHmacSha256(secret, body, good))
  })

  it.prop(
    "never throws, whatever the header",
    [bodyArb, fc.option(fc.string({ unit: "binary" }), { nil: undefined })],
    ([body, header]) => {
      assert.isBoolean(CrmWebhooks.verifyHmacSha256(secret, body, header))
    },
  )
})

describe("CrmWebhooks.constantTimeEqual", () => {
  const pairArb = (unit: "grapheme-ascii" | "grapheme" | "binary-ascii") =>
    fc.oneof(
      fc.tuple(fc.string({ unit }), fc.string({ unit })),
      fc.string({ unit }).map((s) => [s, s] as const),
      fc.tuple(fc.string({ unit }), fc.string({ unit, minLength: 1, maxLength: 1 }), fc.nat()).map(([s, c, i]) => {
        const at = s.length === 0 ? 0 : i % s.length
        return [s, `${s.slice(0, at)}${c}${s.slice(at + 1)}`] as const
      }),
    )

  it.prop("agrees with === on ASCII strings", [pairArb("binary-ascii")], ([[a, b]]) => {
    assert.strictEqual(CrmWebhooks.constantTimeEqual(a, b), a === b)
  })

  it.prop("agrees with === on Unicode strings", [pairArb("grapheme")], ([[a, b]]) => {
    assert.strictEqual(CrmWebhooks.constantTimeEqual(a, b), a === b)
  })

  it("distinguishes strings of equal length that differ in bytes, and of different byte lengths", () => {
    assert.isFalse(CrmWebhooks.constantTimeEqual("é", "e"))
    assert.isFalse(CrmWebhooks.constantTimeEqual("token", "token "))
    assert.isFalse(CrmWebhooks.constantTimeEqual("", "a"))
    assert.isTrue(CrmWebhooks.constantTimeEqual("", ""))
  })

  // Regression: comparing UTF-8 encodings made distinct strings equal, since every lone
  // surrogate encodes as U+FFFD.
  it("agrees with === on strings with lone surrogates", () => {
    assert.isFalse(CrmWebhooks.constantTimeEqual("\uD800", "\uDC00"))
    assert.isFalse(CrmWebhooks.constantTimeEqual("\uD800", "\uFFFD"))
  })
})

describe("CrmWebhooks.header", () => {
  const caseArb = (name: string) =>
    fc
      .array(fc.boolean(), { minLength: name.length, maxLength: name.length })
      .map((upper) => [...name].map((c, i) => (upper[i] === true ? c.toUpperCase() : c.toLowerCase())).join(""))

  it.prop(
    "finds a header whatever the case of the stored or the asked name",
    [caseArb("x-signature-sha256"), caseArb("x-signature-sha256"), fc.string()],
    ([stored, asked, value]) => {
      const raw: CrmWebhooks.RawWebhook = {
        headers: { "content-type": "application/json", [stored]: value },
        body: new Uint8Array(),
      }
      assert.strictEqual(CrmWebhooks.header(raw, asked), value)
    },
  )

  it("is undefined for an absent header or an undefined value", () => {
    const raw: CrmWebhooks.RawWebhook = { headers: { "X-Token": "t", "X-Empty": undefined }, body: new Uint8Array() }
    assert.isUndefined(CrmWebhooks.header(raw, "authorization"))
    assert.isUndefined(CrmWebhooks.header(raw, "x-empty"))
    assert.strictEqual(CrmWebhooks.header(raw, "x-token"), "t")
  })

  it("a verified request end to end: header lookup, then signature over the raw body", () => {
    const body = bytes('{"id":"evt_1"}')
    const raw: CrmWebhooks.RawWebhook = { headers: { "X-PollyBot-Signature": sign(body) }, body }
    assert.isTrue(CrmWebhooks.verifyHmacSha256(secret, raw.body, CrmWebhooks.header(raw, "x-pollybot-signature")))
    assert.isFalse(CrmWebhooks.verifyHmacSha256(secret, raw.body, CrmWebhooks.header(raw, "x-other-signature")))
  })
})

describe("CrmWebhooks.WebhookError", () => {
  it("names the vendor, the reason and what to do", () => {
    const e = new CrmWebhooks.WebhookError({ vendor: "pollybot", reason: "InvalidSignature", detail: "bad sha256" })
    assert.strictEqual(
      e.message,
      "pollybot webhook rejected (InvalidSignature): bad sha256. Check the webhook secret or token configured on both sides.",
    )
  })
})
