/**
 * Fuzz target: the snapshot decoders, `LeadSnapshot.decode` (a parsed value) and
 * `LeadSnapshot.fromJson` (text), on hostile values and on encoded snapshots with hostile
 * parts. Each must return a snapshot (which encodes again) or `InvalidSnapshot`.
 *
 * @since 0.1.0
 */
import { LeadSnapshot } from "@leadstate/core"
import { Either, FastCheck as fc } from "effect"
import { arbSnapshot } from "../arbitraries.js"
import * as FuzzTarget from "./FuzzTarget.js"
import { hostileBody, hostileValue, jsonText, mutate } from "./Hostile.js"

const encoded: fc.Arbitrary<unknown> = arbSnapshot({ states: ["new", "contacted", "lost"] }).map((s) =>
  LeadSnapshot.encode(s),
)

type Input = { readonly _tag: "value"; readonly value: unknown } | { readonly _tag: "text"; readonly text: string }

const decoder = new TextDecoder()

const input: fc.Arbitrary<Input> = fc.oneof(
  { weight: 3, arbitrary: hostileValue().map((value): Input => ({ _tag: "value", value })) },
  { weight: 5, arbitrary: mutate(encoded).map((value): Input => ({ _tag: "value", value })) },
  { weight: 2, arbitrary: mutate(encoded).map((value): Input => ({ _tag: "text", text: jsonText(value) })) },
  { weight: 2, arbitrary: hostileBody(encoded).map((bytes): Input => ({ _tag: "text", text: decoder.decode(bytes) })) },
)

/** `LeadSnapshot.decode(value)` and `LeadSnapshot.fromJson(text)`. */
export const snapshot: FuzzTarget.FuzzTarget = FuzzTarget.sync(
  "LeadSnapshot.decode / fromJson (snapshot decoder)",
  input,
  (i) => {
    const result = i._tag === "value" ? LeadSnapshot.decode(i.value) : LeadSnapshot.fromJson(i.text)
    if (Either.isRight(result)) {
      // An accepted snapshot can be stored again.
      LeadSnapshot.toJson(result.right)
      return undefined
    }
    const error = result.left
    if (!(error instanceof LeadSnapshot.InvalidSnapshot)) return { kind: "untyped failure", error }
    return typeof error.message === "string" ? undefined : { kind: "unusable result", error }
  },
  (i) =>
    i._tag === "value"
      ? `decode(${jsonText(i.value).slice(0, 300)})`
      : `fromJson(${JSON.stringify(i.text.slice(0, 300))})`,
)
