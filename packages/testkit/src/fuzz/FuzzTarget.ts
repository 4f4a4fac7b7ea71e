/**
 * A fuzz target: an arbitrary of hostile inputs and a check that says whether one input was
 * handled (a value, or the decoder's typed error) or not (a throw, an Effect defect, an error
 * of the wrong type, a hang). {@link FuzzTarget.run} tries every input of `numRuns`, counts the
 * failures without stopping, then (when any failed) replays the first failing input with
 * fast-check's shrinking to report a minimal counterexample and the top of its stack.
 *
 * @since 0.1.0
 */
import { Cause, type Exit, FastCheck as fc, Option } from "effect"
import { preview } from "./Hostile.js"

/** What went wrong with one input. */
export interface Problem {
  readonly kind: "throw" | "defect" | "untyped failure" | "hang" | "unusable result"
  readonly error: unknown
}

/** The first failure of a target, shrunk. */
export interface Counterexample {
  readonly input: string
  readonly problem: string
  /** The first stack frames of the error (where it was thrown). */
  readonly stackTop: ReadonlyArray<string>
  readonly shrinks: number
}

/** One target's run. */
export interface FuzzResult {
  readonly name: string
  readonly runs: number
  readonly failures: number
  /** Distinct failures, told apart by kind, error message and first stack frame. */
  readonly kinds: ReadonlyArray<{ readonly problem: string; readonly count: number; readonly example: string }>
  readonly ms: number
  readonly seed: number
  readonly counterexample: Counterexample | undefined
}

/** How to run a target. */
export interface RunOptions {
  readonly numRuns: number
  /** Default: a random seed (printed with the result, to replay a run). */
  readonly seed?: number
  /** Stop shrinking the counterexample after this long (default 20 s). */
  readonly shrinkTimeLimitMs?: number
}

/** A named fuzz target, ready to run. */
export interface FuzzTarget {
  readonly name: string
  readonly run: (options: RunOptions) => Promise<FuzzResult>
}

/** A check, with whatever it holds open (a server) for the run. */
export interface Session<A> {
  readonly check: (input: A) => Promise<Problem | undefined> | Problem | undefined
  readonly close?: () => Promise<void>
}

const errorText = (error: unknown): string => {
  if (error instanceof Error) {
    const tag = (error as { readonly _tag?: unknown })._tag
    let message: string
    try {
      message = error.message
    } catch (e) {
      message = `(its message getter threw: ${e instanceof Error ? e.message : String(e)})`
    }
    return `${typeof tag === "string" ? tag : error.name}: ${message}`
  }
  return preview(error, 200)
}

const stackTopOf = (error: unknown): ReadonlyArray<string> => {
  if (!(error instanceof Error) || typeof error.stack !== "string") return []
  return error.stack
    .split("\n")
    .filter((l) => /^\s+at /.test(l))
    .map((l) => l.trim())
    .filter((l) => !l.includes("/fuzz/FuzzTarget.") && !l.includes("fast-check"))
    .slice(0, 3)
}

const describe = (problem: Problem): string => `${problem.kind}: ${errorText(problem.error).split("\n")[0] ?? ""}`

const signature = (problem: Problem): string =>
  `${describe(problem).slice(0, 160)} @ ${stackTopOf(problem.error)[0] ?? ""}`

/** Thrown by the shrinking pass to make fast-check see a failure. */
class Failed extends Error {
  constructor(readonly problem: Problem) {
    super(describe(problem))
  }
}

const attempt = async <A>(session: Session<A>, input: A): Promise<Problem | undefined> => {
  try {
    return await session.check(input)
  } catch (error) {
    return { kind: "throw", error }
  }
}

/**
 * Reads an Effect's exit: success, or a failure whose error `isTyped` accepts, is handled;
 * a defect, an interruption or an error of another type is a {@link Problem}.
 */
export const fromExit = <A, E>(exit: Exit.Exit<A, E>, isTyped: (error: unknown) => boolean): Problem | undefined => {
  if (exit._tag === "Success") return undefined
  const defects = [...Cause.defects(exit.cause)]
  if (defects.length > 0) return { kind: "defect", error: defects[0] }
  const failure = Cause.failureOption(exit.cause)
  if (Option.isNone(failure)) return { kind: "untyped failure", error: new Error(Cause.pretty(exit.cause)) }
  if (!isTyped(failure.value)) return { kind: "untyped failure", error: failure.value }
  // The typed error must be usable: its message is what a person reads.
  const message: unknown = (failure.value as { readonly message?: unknown }).message
  return typeof message === "string" ? undefined : { kind: "unusable result", error: failure.value }
}

/** Builds a target from its inputs and a session (opened once per run, closed after it). */
export const make = <A>(spec: {
  readonly name: string
  readonly arbitrary: fc.Arbitrary<A>
  readonly open: () => Promise<Session<A>> | Session<A>
  readonly show?: (input: A) => string
}): FuzzTarget => ({
  name: spec.name,
  run: async (options) => {
    const seed = options.seed ?? Math.floor(Math.random() * 0x7fffffff)
    const show = spec.show ?? ((a: A) => preview(a))
    const session = await spec.open()
    const started = performance.now()
    const kinds = new Map<string, { problem: string; count: number; example: string }>()
    let failures = 0
    let runs = 0
    let firstFailure: number | undefined
    let counterexample: Counterexample | undefined
    try {
      await fc.assert(
        fc.asyncProperty(spec.arbitrary, async (input) => {
          runs++
          const problem = await attempt(session, input)
          if (problem !== undefined) {
            failures++
            firstFailure ??= runs - 1
            const key = signature(problem)
            const kind = kinds.get(key)
            if (kind === undefined) kinds.set(key, { problem: key, count: 1, example: show(input) })
            else kind.count++
          }
          return true
        }),
        { numRuns: options.numRuns, seed },
      )
      if (failures > 0) {
        const details = await fc.check(
          fc.asyncProperty(spec.arbitrary, async (input) => {
            const problem = await attempt(session, input)
            if (problem !== undefined) throw new Failed(problem)
            return true
          }),
          // Replays the first failing input (its index in the run) and shrinks it.
          {
            numRuns: options.numRuns,
            seed,
            path: String(firstFailure ?? 0),
            interruptAfterTimeLimit: options.shrinkTimeLimitMs ?? 20_000,
          },
        )
        const input = details.counterexample?.[0]
        const error: unknown = details.errorInstance
        const problem = error instanceof Failed ? error.problem : { kind: "throw" as const, error }
        if (details.failed && details.counterexample !== null) {
          counterexample = {
            input: input === undefined ? "undefined" : show(input),
            problem: describe(problem),
            stackTop: stackTopOf(problem.error),
            shrinks: details.numShrinks,
          }
        }
      }
    } finally {
      await session.close?.()
    }
    return {
      name: spec.name,
      runs,
      failures,
      kinds: [...kinds.values()].sort((a, b) => b.count - a.count),
      ms: Math.round(performance.now() - started),
      seed,
      counterexample,
    }
  },
})

/** A target whose check is a plain function of the input. */
export const sync = <A>(
  name: string,
  arbitrary: fc.Arbitrary<A>,
  check: (input: A) => Problem | undefined,
  show?: (input: A) => string,
): FuzzTarget => make({ name, arbitrary, open: () => ({ check }), ...(show === undefined ? {} : { show }) })
