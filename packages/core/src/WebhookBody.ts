/**
 * Reads a webhook request's body under a size limit. A body declared larger (`content-length`)
 * is refused unread; otherwise it is read chunk by chunk and reading stops (the stream is
 * cancelled) as soon as the limit is passed, so an oversized or endless body never sits in
 * memory. Answer `TooLarge` with {@link tooLarge} (413) before checking any signature.
 *
 * @example
 * const handler = async (request: Request): Promise<Response> => {
 *   const body = await WebhookBody.read(request, WebhookBody.defaultMaxBytes)
 *   if (body._tag === "TooLarge") return WebhookBody.tooLarge(body.maxBytes)
 *   if (body._tag === "Unreadable") return new Response(null, { status: 400 })
 *   // verify the signature over body.bytes, then decode
 * }
 *
 * @since 0.1.0
 */

/** 1 MiB: the default limit. Choice: vendors' webhook payloads are a few kilobytes. */
export const defaultMaxBytes = 1024 * 1024

/** The body, or why there is none: over the limit, or the stream failed (the client went away). */
export type Read =
  | { readonly _tag: "Body"; readonly bytes: Uint8Array }
  | { readonly _tag: "TooLarge"; readonly maxBytes: number }
  | { readonly _tag: "Unreadable"; readonly detail: string }

const concat = (chunks: ReadonlyArray<Uint8Array>, size: number): Uint8Array => {
  const bytes = new Uint8Array(size)
  let at = 0
  for (const chunk of chunks) {
    bytes.set(chunk, at)
    at += chunk.byteLength
  }
  return bytes
}

/**
 * Reads `request`'s body, at most `maxBytes` of it (default {@link defaultMaxBytes}). Never
 * rejects: a failing stream is `Unreadable`.
 */
export const read = async (request: Request, maxBytes: number = defaultMaxBytes): Promise<Read> => {
  const tooLarge: Read = { _tag: "TooLarge", maxBytes }
  const declared = request.headers.get("content-length")?.trim()
  if (declared !== undefined && /^\d+$/.test(declared) && Number(declared) > maxBytes) {
    await request.body?.cancel().catch(() => undefined)
    return tooLarge
  }
  if (request.body === null) return { _tag: "Body", bytes: new Uint8Array(0) }
  const chunks: Array<Uint8Array> = []
  let size = 0
  try {
    const reader = request.body.getReader()
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      size += value.byteLength
      if (size > maxBytes) {
        await reader.cancel().catch(() => undefined)
        return tooLarge
      }
      chunks.push(value)
    }
  } catch (error) {
    return { _tag: "Unreadable", detail: error instanceof Error ? error.message : String(error) }
  }
  return { _tag: "Body", bytes: concat(chunks, size) }
}

/** The 413 answer to a body over the limit (JSON, like the inbox's other answers). */
export const tooLarge = (maxBytes: number): Response =>
  new Response(
    JSON.stringify({
      error: `The webhook body is larger than ${maxBytes} bytes and was not read. Send smaller deliveries, or raise the receiver's maxBodyBytes.`,
      reason: "TooLarge",
    }),
    { status: 413, headers: { "content-type": "application/json", connection: "close" } },
  )
