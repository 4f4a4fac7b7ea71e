/**
 * Checks the meaning of a decoded definition and compiles it into a transition table:
 * state -> (target -> true), plus the snooze, follow-up and reopen edges, all resolved once
 * so that the pure transition does map lookups only.
 */

import type { LifecycleProblem, ProblemCode } from "../InvalidLifecycle.js"
import type { LifecycleDefinition, ReopenRule } from "../LifecycleDefinition.js"
import { didYouMean } from "./suggest.js"

/** The dispositions a state takes when it is entered. */
export interface CompiledDispositions {
  readonly required: boolean
  readonly allowed: ReadonlySet<string>
  readonly list: ReadonlyArray<string>
}

/** One state with every move out of it resolved. */
export interface CompiledState {
  readonly name: string
  readonly index: number
  readonly final: boolean
  readonly rank: number | undefined
  /** Targets reachable with a `transition` event. */
  readonly targets: ReadonlySet<string>
  /** The same targets in definition order, for error messages and diagrams. */
  readonly targetList: ReadonlyArray<string>
  /** Dispositions taken when this state is the target (undefined: takes none). */
  readonly dispositions: CompiledDispositions | undefined
  /** True when a `snooze` event may leave this state. */
  readonly snoozable: boolean
  /** Where a `followUpDue` event leads from here, if anywhere. */
  readonly followUpNext: { readonly to: string; readonly disposition: string | undefined } | undefined
  /** Reopen rules out of this (final) state, by target. */
  readonly reopen: ReadonlyMap<string, ReopenRule>
}

export interface CompiledLifecycle {
  readonly states: ReadonlyMap<string, CompiledState>
  readonly stateNames: ReadonlyArray<string>
  readonly snoozeState: string | undefined
  readonly snoozeDefaultMs: number | undefined
  readonly followUpIntervalMs: number | undefined
}

interface Mutable {
  name: string
  index: number
  final: boolean
  rank: number | undefined
  targets: Set<string>
  targetList: Array<string>
  dispositions: CompiledDispositions | undefined
  snoozable: boolean
  followUpNext: { to: string; disposition: string | undefined } | undefined
  reopen: Map<string, ReopenRule>
}

export const compile = (
  def: LifecycleDefinition,
): { readonly problems: ReadonlyArray<LifecycleProblem>; readonly compiled: CompiledLifecycle } => {
  const problems: Array<LifecycleProblem> = []
  const problem = (code: ProblemCode, path: string, message: string) => {
    problems.push({ code, path, message })
  }
  const states = new Map<string, Mutable>()

  if (def.states.length === 0)
    problem("NoStates", "states", "The lifecycle declares no states. Add at least the initial state.")
  def.states.forEach((s, i) => {
    if (states.has(s.name)) {
      problem(
        "DuplicateState",
        `states[${i}].name`,
        `State "${s.name}" is declared more than once. Keep one declaration.`,
      )
      return
    }
    states.set(s.name, {
      name: s.name,
      index: states.size,
      final: s.final === true,
      rank: s.rank,
      targets: new Set(),
      targetList: [],
      dispositions: undefined,
      snoozable: false,
      followUpNext: undefined,
      reopen: new Map(),
    })
  })
  const names = [...states.keys()]
  const known = (name: string, path: string): Mutable | undefined => {
    const s = states.get(name)
    if (s === undefined) {
      problem(
        "UnknownState",
        path,
        `"${name}" is not a declared state.${didYouMean(name, names)} Declared states: ${names.join(", ")}.`,
      )
    }
    return s
  }

  if (def.states.length > 0 && known(def.initial, "initial") === undefined) {
    problems[problems.length - 1] = {
      code: "UnknownInitial",
      path: "initial",
      message: `The initial state "${def.initial}" is not declared.${didYouMean(def.initial, names)} Declare it in "states" or pick one of: ${names.join(", ")}.`,
    }
  }

  const snoozeName = def.snooze?.state
  const forwardOnly = def.ordering === "forward-only"
  const backward = (from: Mutable, to: Mutable) =>
    forwardOnly && from.rank !== undefined && to.rank !== undefined && to.rank < from.rank
  const addEdge = (from: Mutable, to: Mutable) => {
    if (!from.targets.has(to.name)) {
      from.targets.add(to.name)
      from.targetList.push(to.name)
    }
  }

  // Explicit and wildcard transitions.
  def.transitions.forEach((t, i) => {
    const to = known(t.to, `transitions[${i}].to`)
    if (to === undefined) return
    if (to.name === snoozeName) {
      problem(
        "SnoozeMisconfigured",
        `transitions[${i}].to`,
        `"${to.name}" is the snooze state; leads enter it with a "snooze" event, not a transition. Remove this transition.`,
      )
      return
    }
    if (t.from === "*") {
      for (const from of states.values()) {
        if (!from.final && from !== to && !backward(from, to)) addEdge(from, to)
      }
      return
    }
    const froms = typeof t.from === "string" ? [t.from] : t.from
    froms.forEach((f, j) => {
      const path = typeof t.from === "string" ? `transitions[${i}].from` : `transitions[${i}].from[${j}]`
      const from = known(f, path)
      if (from === undefined) return
      if (from.final) {
        problem(
          "FinalHasTransitions",
          path,
          `"${from.name}" is final, so it cannot have the outgoing transition to "${to.name}". Remove it, make "${from.name}" non-final, or declare a reopen rule.`,
        )
        return
      }
      if (backward(from, to)) {
        problem(
          "BackwardTransition",
          `transitions[${i}]`,
          `"${from.name}" (rank ${from.rank}) -> "${to.name}" (rank ${to.rank}) goes backward, but ordering is "forward-only". Remove the transition, change the ranks, or use ordering "free".`,
        )
        return
      }
      addEdge(from, to)
    })
  })

  // Snooze.
  if (def.snooze !== undefined) {
    const snooze = known(def.snooze.state, "snooze.state")
    if (snooze !== undefined) {
      if (snooze.final) {
        problem(
          "SnoozeMisconfigured",
          "snooze.state",
          `The snooze state "${snooze.name}" is final; a snoozed lead must be able to wake. Make it non-final.`,
        )
      }
      if (snooze.name === def.initial) {
        problem(
          "SnoozeMisconfigured",
          "snooze.state",
          `The snooze state "${snooze.name}" is also the initial state; a new lead has nothing to wake back to. Use another state.`,
        )
      }
      const from = def.snooze.from
      if (from === undefined) {
        for (const s of states.values()) if (!s.final && s !== snooze) s.snoozable = true
      } else {
        from.forEach((f, j) => {
          const s = known(f, `snooze.from[${j}]`)
          if (s === undefined) return
          if (s.final || s === snooze) {
            problem(
              "SnoozeMisconfigured",
              `snooze.from[${j}]`,
              `"${s.name}" cannot be snoozed: it is ${s.final ? "final" : "the snooze state itself"}. Remove it from snooze.from.`,
            )
          } else s.snoozable = true
        })
      }
    }
  }

  // Follow-ups.
  if (def.followUps !== undefined) {
    const fu = def.followUps
    const seen = new Set<string>()
    const steps: Array<Mutable> = []
    fu.states.forEach((n, j) => {
      const s = known(n, `followUps.states[${j}]`)
      if (s === undefined) return
      if (seen.has(n))
        problem(
          "FollowUpMisconfigured",
          `followUps.states[${j}]`,
          `"${n}" appears twice in the follow-up sequence. Each step must be its own state.`,
        )
      else if (s.final || n === snoozeName) {
        problem(
          "FollowUpMisconfigured",
          `followUps.states[${j}]`,
          `"${n}" cannot be a follow-up step: it is ${s.final ? "final" : "the snooze state"}.`,
        )
      } else steps.push(s)
      seen.add(n)
    })
    const exhausted = known(fu.exhausted.to, "followUps.exhausted.to")
    if (exhausted !== undefined && exhausted.name === snoozeName) {
      problem(
        "SnoozeMisconfigured",
        "followUps.exhausted.to",
        `"${exhausted.name}" is the snooze state; a lead whose follow-ups run out would have nothing to wake back to. Use another state.`,
      )
    }
    const chainStart: Array<Mutable> = []
    fu.startFrom.forEach((n, j) => {
      const s = known(n, `followUps.startFrom[${j}]`)
      if (s === undefined) return
      if (s.final || seen.has(n) || n === snoozeName) {
        problem(
          "FollowUpMisconfigured",
          `followUps.startFrom[${j}]`,
          `"${n}" cannot start the follow-up sequence: it is ${s.final ? "final" : seen.has(n) ? "already a follow-up step" : "the snooze state"}.`,
        )
      } else chainStart.push(s)
    })
    const first = steps[0]
    if (first !== undefined) for (const s of chainStart) s.followUpNext = { to: first.name, disposition: undefined }
    steps.forEach((s, j) => {
      const next = steps[j + 1]
      if (next !== undefined) s.followUpNext = { to: next.name, disposition: undefined }
      else if (exhausted !== undefined) s.followUpNext = { to: exhausted.name, disposition: fu.exhausted.disposition }
    })
  }

  // Reopen rules.
  def.reopen?.forEach((r, i) => {
    const from = known(r.from, `reopen[${i}].from`)
    const to = known(r.to, `reopen[${i}].to`)
    if (from === undefined || to === undefined) return
    if (!from.final) {
      problem(
        "ReopenMisconfigured",
        `reopen[${i}].from`,
        `"${from.name}" is not final, so it needs no reopen rule; declare a transition instead.`,
      )
      return
    }
    if (to.final || to.name === snoozeName) {
      problem(
        "ReopenMisconfigured",
        `reopen[${i}].to`,
        `A reopened lead must land in an active state, but "${to.name}" is ${to.final ? "final" : "the snooze state"}.`,
      )
      return
    }
    if (r.reasons !== undefined && r.reasons.length === 0) {
      problem(
        "ReopenMisconfigured",
        `reopen[${i}].reasons`,
        `The reopen rule from "${from.name}" to "${to.name}" lists no reasons, so no lead can use it. List the reasons, or leave "reasons" out to accept any.`,
      )
      return
    }
    if (from.reopen.has(to.name)) {
      problem(
        "ReopenMisconfigured",
        `reopen[${i}]`,
        `A reopen rule from "${from.name}" to "${to.name}" is already declared. Keep one.`,
      )
      return
    }
    from.reopen.set(to.name, r)
  })

  // Dispositions, once every way into each state is known.
  const entered = new Set<string>()
  for (const s of states.values()) {
    for (const t of s.targets) entered.add(t)
    if (s.followUpNext !== undefined) entered.add(s.followUpNext.to)
  }
  for (const [name, rule] of Object.entries(def.dispositions ?? {})) {
    const path = `dispositions.${name}`
    const s = known(name, path)
    if (s === undefined) continue
    if (!entered.has(name)) {
      problem(
        "DispositionsOnStateWithoutEntry",
        path,
        `"${name}" takes no disposition: no transition or follow-up leads into it${name === snoozeName ? " (snoozing carries none)" : ""}. Remove its dispositions.`,
      )
      continue
    }
    if (rule.required && rule.allowed.length === 0) {
      problem(
        "EmptyRequiredDispositions",
        path,
        `"${name}" requires a disposition but allows none, so no lead could ever enter it. List the allowed dispositions or set required to false.`,
      )
    }
    const dup = rule.allowed.find((d, i) => rule.allowed.indexOf(d) !== i)
    if (dup !== undefined)
      problem(
        "DuplicateDisposition",
        `${path}.allowed`,
        `Disposition "${dup}" is listed twice for "${name}". Keep one.`,
      )
    s.dispositions = { required: rule.required, allowed: new Set(rule.allowed), list: rule.allowed }
  }
  if (def.followUps !== undefined) {
    const ex = states.get(def.followUps.exhausted.to)
    const d = def.followUps.exhausted.disposition
    if (ex?.dispositions !== undefined) {
      if (d === undefined && ex.dispositions.required) {
        problem(
          "FollowUpMisconfigured",
          "followUps.exhausted.disposition",
          `"${ex.name}" requires a disposition; name the one to use when follow-ups run out (one of: ${ex.dispositions.list.join(", ")}).`,
        )
      } else if (d !== undefined && !ex.dispositions.allowed.has(d)) {
        problem(
          "FollowUpMisconfigured",
          "followUps.exhausted.disposition",
          `"${d}" is not a disposition of "${ex.name}".${didYouMean(d, ex.dispositions.list)} Use one of: ${ex.dispositions.list.join(", ")}.`,
        )
      }
    } else if (ex !== undefined && d !== undefined) {
      problem(
        "FollowUpMisconfigured",
        "followUps.exhausted.disposition",
        `"${ex.name}" takes no disposition, so "${d}" cannot be used. Declare dispositions for "${ex.name}" or remove this one.`,
      )
    }
  }

  // A follow-up step is entered by a deadline, which carries no disposition.
  def.followUps?.states.forEach((n, j) => {
    if (states.get(n)?.dispositions?.required === true) {
      problem(
        "FollowUpMisconfigured",
        `followUps.states[${j}]`,
        `"${n}" requires a disposition, but follow-up deadlines move leads into it without one. Set required to false for "${n}".`,
      )
    }
  })

  // Reachability from the initial state, over every kind of edge.
  const init = states.get(def.initial)
  if (init !== undefined) {
    const reached = new Set<string>([init.name])
    const queue: Array<Mutable> = [init]
    const visit = (name: string | undefined) => {
      const s = name === undefined ? undefined : states.get(name)
      if (s !== undefined && !reached.has(s.name)) {
        reached.add(s.name)
        queue.push(s)
      }
    }
    for (let s = queue.shift(); s !== undefined; s = queue.shift()) {
      for (const t of s.targetList) visit(t)
      if (s.snoozable) visit(snoozeName)
      visit(s.followUpNext?.to)
      for (const t of s.reopen.keys()) visit(t)
    }
    for (const name of names) {
      if (reached.has(name)) continue
      const i = def.states.findIndex((x) => x.name === name)
      problem(
        "UnreachableState",
        `states[${i}]`,
        `"${name}" cannot be reached from the initial state "${def.initial}". Add a transition into it or remove it.`,
      )
    }
  }

  const frozen = new Map<string, CompiledState>(states)
  return {
    problems,
    compiled: {
      states: frozen,
      stateNames: names,
      snoozeState: snoozeName !== undefined && states.has(snoozeName) ? snoozeName : undefined,
      snoozeDefaultMs: def.snooze?.defaultMs,
      followUpIntervalMs: def.followUps?.intervalMs,
    },
  }
}
