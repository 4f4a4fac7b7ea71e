#!/usr/bin/env node
// The workspace's `leadstate`: runs the TypeScript sources through tsx (a dev dependency of
// the repository). The published package runs the compiled dist/bin.js instead (publishConfig.bin).
import { register } from "tsx/esm/api"

register()
await import("../src/bin.ts")
