// Writes src/generated/protocol.ts from src/generated/ws-schema.json (the /api/ws-schema
// document): an interface per model, then per-namespace event maps for socket.io-client.
// Usage: node scripts/gen-types.mjs [SCHEMA_JSON] [OUT_TS]
import { readFile, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { compile } from "json-schema-to-typescript";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const schemaPath = resolve(process.argv[2] ?? `${root}/src/generated/ws-schema.json`);
const outPath = resolve(process.argv[3] ?? `${root}/src/generated/protocol.ts`);

const schema = JSON.parse(await readFile(schemaPath, "utf8"));
const defs = structuredClone(schema.$defs);
const refName = (ref) => ref.replace("#/$defs/", "");

// Pydantic titles every property; json-schema-to-typescript would turn each into an alias type.
function dropPropertyTitles(node, isDef) {
  if (Array.isArray(node)) return node.forEach((item) => dropPropertyTitles(item, false));
  if (node === null || typeof node !== "object") return;
  if (!isDef) delete node.title;
  for (const [key, value] of Object.entries(node)) {
    if (key === "properties") {
      for (const prop of Object.values(value)) dropPropertyTitles(prop, false);
    } else {
      dropPropertyTitles(value, false);
    }
  }
}

function refsIn(node, found = new Set()) {
  if (Array.isArray(node)) node.forEach((item) => refsIn(item, found));
  else if (node && typeof node === "object") {
    if (typeof node.$ref === "string") found.add(refName(node.$ref));
    Object.values(node).forEach((value) => refsIn(value, found));
  }
  return found;
}

function closure(names) {
  const seen = new Set();
  const stack = [...names];
  while (stack.length) {
    const name = stack.pop();
    if (seen.has(name)) continue;
    seen.add(name);
    stack.push(...refsIn(defs[name]));
  }
  return seen;
}

const events = Object.entries(schema.events).sort(([a], [b]) => a.localeCompare(b));
const clientSent = closure([
  "ConnectAuth",
  "DevLoginRequest",
  ...events.filter(([, e]) => e.direction === "client_to_server").flatMap(([, e]) => [...refsIn(e.payload)]),
]);

const ackEnvelope = closure([...refsIn(schema.ack)]);

// Pydantic's JsonValue is `{}` (any JSON): inline a real recursive type instead of unknown.
function inlineJsonValue(node) {
  if (Array.isArray(node)) return node.map(inlineJsonValue);
  if (node === null || typeof node !== "object") return node;
  if (node.$ref === "#/$defs/JsonValue") return { tsType: "JsonValue" };
  return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, inlineJsonValue(value)]));
}
delete defs.JsonValue;

for (const [name, def] of Object.entries(defs)) {
  defs[name] = inlineJsonValue(def);
  dropPropertyTitles(defs[name], true);
  // The server dumps every field of what it sends, defaults included: none is optional there,
  // except the ack envelope's null fields, which it leaves out.
  if (!clientSent.has(name) && def.properties) {
    const omitted = (prop) => ackEnvelope.has(name) && prop.default === null;
    defs[name].required = Object.entries(def.properties)
      .filter(([, prop]) => !omitted(prop))
      .map(([key]) => key);
  }
}

const names = Object.keys(defs).sort();
const models = await compile(
  {
    title: "ProtocolModels",
    description: "Every model of the protocol, by name.",
    type: "object",
    additionalProperties: false,
    properties: Object.fromEntries(names.map((name) => [name, { $ref: `#/$defs/${name}` }])),
    required: names,
    $defs: defs,
  },
  "ProtocolModels",
  { bannerComment: "", additionalProperties: false, unreachableDefinitions: true },
);

function payloadType(payload) {
  if (payload.$ref) return refName(payload.$ref);
  if (payload.allOf) return payload.allOf.map((part) => refName(part.$ref)).join(" & ");
  throw new Error(`unsupported payload schema ${JSON.stringify(payload)}`);
}

const namespaces = [...new Set(events.map(([, e]) => e.namespace))].sort();
const prefix = (ns) => ns.replace(/^\//, "").replace(/^./, (c) => c.toUpperCase());
const byNs = (ns, direction) => events.filter(([, e]) => e.namespace === ns && e.direction === direction);

const lines = [];
for (const ns of namespaces) {
  const p = prefix(ns);
  lines.push(`/** Payload of each event the server sends on ${ns}. */`, `export interface ${p}ServerEvents {`);
  for (const [name, e] of byNs(ns, "server_to_client")) lines.push(`  ${JSON.stringify(name)}: ${payloadType(e.payload)};`);
  lines.push("}", "");
  lines.push(`/** Payload and ack data of each event a client sends on ${ns}. */`, `export interface ${p}ClientEvents {`);
  for (const [name, e] of byNs(ns, "client_to_server")) {
    lines.push(`  ${JSON.stringify(name)}: { payload: ${payloadType(e.payload)}; ack: ${payloadType(e.ack_data)} };`);
  }
  lines.push("}", "");
}
const nsMap = (suffix) => namespaces.map((ns) => `  ${JSON.stringify(ns)}: ${prefix(ns)}${suffix};`);
lines.push("export interface ServerEventPayloads {", ...nsMap("ServerEvents"), "}", "");
lines.push("export interface ClientEventTypes {", ...nsMap("ClientEvents"), "}", "");
lines.push(
  "export type Namespace = keyof ServerEventPayloads;",
  "",
  "/** Every ack: success with the event's data, or an error. */",
  "export type Ack<T> = { ok: true; data: T } | { ok: false; error: ErrorBody };",
  "",
  "/** socket.io-client generics, e.g. Socket<ServerToClientEvents[\"/chat\"], ClientToServerEvents[\"/chat\"]>. */",
  "export type ServerToClientEvents = {",
  "  [N in Namespace]: { [E in keyof ServerEventPayloads[N]]: (payload: ServerEventPayloads[N][E]) => void };",
  "};",
  "export type ClientToServerEvents = {",
  "  [N in Namespace]: {",
  "    [E in keyof ClientEventTypes[N]]: ClientEventTypes[N][E] extends { payload: infer P; ack: infer A }",
  "      ? (payload: P, ack: (response: Ack<A>) => void) => void",
  "      : never;",
  "  };",
  "};",
  "",
);
const userStream = events.filter(([, e]) => e.payload.allOf?.some((part) => part.$ref === "#/$defs/StreamEnvelope"));
lines.push(
  "/** Events that carry seq and ts, reach every tab of the user and are replayed on resume. */",
  `export const USER_STREAM_EVENTS = [${userStream.map(([name]) => JSON.stringify(name)).join(", ")}] as const;`,
  "export type UserStreamEventName = (typeof USER_STREAM_EVENTS)[number];",
  "",
  `export const PROTOCOL_VERSION = ${JSON.stringify(schema.protocol_version)};`,
);

const header = [
  "// Generated by scripts/gen-types.mjs from ws-schema.json (`make types`). Do not edit by hand.",
  "",
  "/** Any JSON value, decoded once. */",
  "export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };",
  "",
].join("\n");
// Drop the generator's "referenced by" boilerplate from each doc comment.
const tidy = models
  .replace(/\/\*\*\n \* This interface was referenced by [^\n]*\n \* via the `definition` "[^"]+"\.\n \*\/\n/g, "")
  .replace(/\n \*\n \* This interface was referenced by [^\n]*\n \* via the `definition` "[^"]+"\./g, "")
  .trim();
await writeFile(outPath, `${header}${tidy}\n\n${lines.join("\n")}\n`);
