/**
 * Lead metadata: a flat record of JSON values, merged key by key.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/** A JSON value. */
export type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }

/** Schema of a JSON value (finite numbers only, as JSON has no NaN or Infinity). */
export const Json: Schema.Schema<Json> = Schema.Union(
  Schema.Null,
  Schema.Boolean,
  Schema.Finite,
  Schema.String,
  Schema.Array(Schema.suspend((): Schema.Schema<Json> => Json)),
  Schema.Record({ key: Schema.String, value: Schema.suspend((): Schema.Schema<Json> => Json) }),
).annotations({ identifier: "Json" })

/** Metadata attached to a lead. */
export type Metadata = { readonly [key: string]: Json }

/** Schema of {@link Metadata}. */
export const Metadata: Schema.Schema<Metadata> = Schema.Record({ key: Schema.String, value: Json })

/** An empty metadata record, shared. */
export const empty: Metadata = Object.freeze({})

/**
 * Shallow merge: keys of `patch` replace those of `base`; a `null` value removes the key.
 *
 * @example
 * merge({ a: 1, b: 2 }, { b: null, c: 3 }) // { a: 1, c: 3 }
 */
export const merge = (base: Metadata, patch: Metadata): Metadata => {
  const out: { [key: string]: Json } = { ...base }
  for (const key of Object.keys(patch)) {
    const value = patch[key]
    if (value === null || value === undefined) delete out[key]
    // defineProperty, not `out[key] =`: an own "__proto__" key must stay a key, not a prototype.
    else Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true })
  }
  return out
}

/** A metadata key leadstate refuses: JSON codecs turn it into a prototype and lose it. */
export const forbiddenKey = "__proto__"

/** True for a plain object usable as metadata (not null, not an array). */
export const isRecord = (u: unknown): u is Metadata => typeof u === "object" && u !== null && !Array.isArray(u)
