/**
 * Rewrites every `<!-- include: path -->` code block in the READMEs with the file's current
 * content (`pnpm docs`). The test suite checks they agree, so examples in docs cannot rot.
 */
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"

const root = join(import.meta.dirname, "..")
const readmes = process.argv.slice(2)
for (const readme of readmes) {
  const path = join(root, readme)
  const text = readFileSync(path, "utf8")
  const next = text.replace(
    /<!-- include: (\S+) -->\n```ts\n[\s\S]*?```/g,
    (_, file: string) => `<!-- include: ${file} -->\n\`\`\`ts\n${readFileSync(join(root, file), "utf8")}\`\`\``,
  )
  if (next !== text) {
    writeFileSync(path, next)
    console.log(`updated ${readme}`)
  }
}
