/**
 * Where a text stops being JSON, found by a small scanner (the engine's own messages vary
 * between Node versions and often give no position).
 *
 * @since 0.1.0
 */

/** The offset of the first syntax error and what is wrong there. */
export interface JsonSyntaxError {
  readonly offset: number
  readonly message: string
}

/** Scans `text` as one JSON value; undefined when it is valid JSON. */
export const locate = (text: string): JsonSyntaxError | undefined => {
  let i = 0
  const fail = (message: string): never => {
    throw { offset: i, message } satisfies JsonSyntaxError
  }
  const show = () => (i >= text.length ? "the end of the file" : `'${text[i]}'`)
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i] ?? "")) i++
  }
  const literal = (word: string) => {
    if (text.startsWith(word, i)) i += word.length
    else fail(`unexpected ${show()}`)
  }
  const string = () => {
    i++ // the opening quote
    while (i < text.length) {
      const c = text[i]
      if (c === '"') {
        i++
        return
      }
      if (c === "\\") {
        const next = text[i + 1] ?? ""
        if (next === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail("a bad \\u escape in a string")
          i += 6
        } else if ('"\\/bfnrt'.includes(next) && next !== "") i += 2
        else fail("a bad escape in a string")
      } else if (c !== undefined && c < " ") fail("a control character (a raw line break?) inside a string")
      else i++
    }
    fail("a string that is never closed")
  }
  const number = () => {
    const match = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i))
    if (match === null || match[0] === "" || match[0] === "-") fail(`unexpected ${show()}`)
    else i += match[0].length
  }
  const value = (): void => {
    ws()
    const c = text[i]
    if (c === "{") {
      i++
      ws()
      if (text[i] === "}") {
        i++
        return
      }
      for (;;) {
        ws()
        if (text[i] !== '"') fail(`expected a property name in double quotes, found ${show()}`)
        string()
        ws()
        if (text[i] !== ":") fail(`expected ':' after a property name, found ${show()}`)
        i++
        value()
        ws()
        if (text[i] === ",") {
          i++
          continue
        }
        if (text[i] === "}") {
          i++
          return
        }
        fail(`expected ',' or '}', found ${show()}`)
      }
    }
    if (c === "[") {
      i++
      ws()
      if (text[i] === "]") {
        i++
        return
      }
      for (;;) {
        value()
        ws()
        if (text[i] === ",") {
          i++
          continue
        }
        if (text[i] === "]") {
          i++
          return
        }
        fail(`expected ',' or ']', found ${show()}`)
      }
    }
    if (c === '"') string()
    else if (c === "t") literal("true")
    else if (c === "f") literal("false")
    else if (c === "n") literal("null")
    else if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) number()
    else fail(i >= text.length ? "unexpected end of the file" : `unexpected ${show()}`)
  }
  try {
    value()
    ws()
    if (i < text.length) fail(`unexpected ${show()} after the JSON value`)
    return undefined
  } catch (e) {
    if (typeof e === "object" && e !== null && "offset" in e) return e as JsonSyntaxError
    throw e
  }
}

/** `line L, column C` (1-based) of an offset. */
export const position = (text: string, offset: number): string => {
  const before = text.slice(0, offset)
  const line = before.split("\n").length
  const column = offset - before.lastIndexOf("\n")
  return `line ${line}, column ${column}`
}
