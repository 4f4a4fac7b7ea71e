/**
 * Lead metadata: a flat record of JSON values, merged key by key.
 *
 * @since 0.1.0
 */
import { Either, type FastCheck, ParseResult, Schema, type SchemaAST } from "effect"
import * as InputLimits from "./InputLimits.js"

/** A JSON value. */
export type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }

/** Metadata attached to a lead. */
export type Metadata = { readonly [key: string]: Json }

/** True for a plain object usable as metadata (not null, not an array). */
export const isRecord = (u: unknown): u is Metadata => typeof u === "object" && u !== null && !Array.isArray(u)

/**
 * Why `u` is not usable as metadata: not an object, not plain JSON data, or over the limits
 * (`InputLimits.maxDepth` levels, `InputLimits.maxMetadataSize` characters of JSON). The
 * check is iterative, so any nesting is reported rather than overflowing the stack.
 */
export const check = (u: unknown, path = "metadata"): InputLimits.Violation | undefined =>
  isRecord(u)
    ? InputLimits.checkJson(u, { maxSize: InputLimits.maxMetadataSize, path })
    : {
        kind: "NotJson",
        path,
        detail: "must be an object of JSON values.",
        message: `${path} must be an object of JSON values.`,
      }

/**
 * {@link merge}, refusing a result that is not valid metadata (see {@link check}), such as one
 * over `InputLimits.maxMetadataSize`: the limit holds per lead, not only per update.
 */
export const mergeWithin = (base: Metadata, patch: Metadata): Either.Either<Metadata, InputLimits.Violation> => {
  const next = merge(base, patch)
  const problem = InputLimits.checkJson(next, { maxSize: InputLimits.maxMetadataSize, name: "the lead's metadata" })
  return problem === undefined ? Either.right(next) : Either.left(problem)
}

/** JSON values for Schema-derived arbitraries: small, and only ones the schemas accept. */
const jsonArbitrary = (fc: typeof FastCheck): FastCheck.Arbitrary<Json> =>
  fc.jsonValue({ maxDepth: 2 }).filter((v) => InputLimits.checkJson(v) === undefined) as FastCheck.Arbitrary<Json>

/** A schema whose decode and encode both run `violation` (iteratively) and pass the value on. */
const checkedSchema = <A>(
  violation: (u: unknown) => InputLimits.Violation | undefined,
  annotations: Schema.Annotations.Schema<A>,
): Schema.Schema<A> => {
  const run = () => (u: unknown, _: SchemaAST.ParseOptions, ast: SchemaAST.Declaration) => {
    const problem = violation(u)
    return problem === undefined
      ? ParseResult.succeed(u as A)
      : ParseResult.fail(new ParseResult.Type(ast, u, problem.message))
  }
  return Schema.declare([], { decode: run, encode: run }, annotations)
}

/**
 * Schema of a JSON value: plain data only (finite numbers, no `undefined`, no class instances,
 * no "__proto__" key), within `InputLimits.maxDepth` and `InputLimits.maxMetadataSize`. It is
 * checked without recursion, so a hostile value fails with a message instead of overflowing.
 */
export const Json: Schema.Schema<Json> = checkedSchema<Json>(
  (u) => InputLimits.checkJson(u, { maxSize: InputLimits.maxMetadataSize }),
  {
    identifier: "Json",
    description: "A JSON value (finite numbers only, as JSON has no NaN or Infinity).",
    jsonSchema: {},
    arbitrary: () => (fc) => jsonArbitrary(fc),
  },
)

/**
 * Schema of {@link Metadata}: an object of JSON values within the input limits (see
 * {@link check}). Decoding returns the value itself, checked, not a copy.
 */
export const Metadata: Schema.Schema<Metadata> = checkedSchema<Metadata>((u) => check(u), {
  identifier: "Metadata",
  description: `An object of JSON values, at most ${InputLimits.maxDepth} levels deep and ${InputLimits.maxMetadataSize} characters as JSON.`,
  jsonSchema: { type: "object" },
  arbitrary: () => (fc) =>
    fc.dictionary(
      fc.string({ maxLength: 8 }).filter((k) => k !== InputLimits.forbiddenKey),
      jsonArbitrary(fc),
      { maxKeys: 4 },
    ),
})

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
export const forbiddenKey = InputLimits.forbiddenKey
