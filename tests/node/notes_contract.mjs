// Walks the /notes example namespace as an outside client would: discovery names it, a tab
// adds notes, leaves, another tab adds and deletes while it is away, and the first comes back
// with auth.resume and must get exactly what it missed, in order, before notes:ready.
// Usage: node notes_contract.mjs BASE_URL. Prints one JSON object of observations.
import { Manager } from "socket.io-client";

const base = process.argv[2];
const out = {};
const config = await (await fetch(`${base}/api/ws-config`)).json();
out.namespaces = config.namespaces;
const login = await fetch(new URL(config.auth.dev_login_url, base), {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ user_id: "node-notes" }),
});
const { token } = await login.json();
const path = config.namespaces.notes;

const manager = (options = {}) =>
  new Manager(config.url ?? base, { path: config.path, transports: config.transports, ...options });

let position = null; // {epoch, last_seq}
const received = []; // every event of the first tab, in arrival order, never deduplicated
let wake = () => {};
const until = (predicate, ms = 15000) =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out; received ${JSON.stringify(received)}`)), ms);
    const check = () => {
      if (predicate()) {
        clearTimeout(timer);
        wake = () => {};
        resolve();
      } else {
        wake = check;
      }
    };
    check();
  });

const first = manager({ reconnection: false }).socket(path, {
  auth: (cb) => cb(position ? { token, resume: position } : { token }),
});
first.onAny((name, data) => {
  received.push({ event: name, ...data });
  if (name === "notes:ready") position = { epoch: data.epoch, last_seq: data.head_seq };
  else if (typeof data?.seq === "number") position.last_seq = data.seq;
  wake();
});
const readies = () => received.filter((e) => e.event === "notes:ready");
const add = (socket, text) => socket.timeout(config.timeouts.ack_timeout_ms).emitWithAck("notes:add", { text });

await until(() => readies().length === 1);
out.firstReady = readies()[0];
out.firstAcks = [];
for (const text of ["one", "two", "three"]) out.firstAcks.push(await add(first, text));
await until(() => received.filter((e) => e.event === "notes:added").length === 3);
out.beforeLeaving = received.slice();
const leftAt = { ...position };
first.disconnect();

// Another tab of the same user, on its own connection, while the first is away.
const other = manager().socket(path, { auth: { token } });
const otherSeen = [];
other.onAny((name, data) => otherSeen.push({ event: name, ...data }));
await new Promise((resolve) => other.once("notes:ready", resolve));
out.otherAcks = [];
for (const text of ["four", "five"]) out.otherAcks.push(await add(other, text));
out.deleteAck = await other.emitWithAck("notes:delete", { note_id: out.firstAcks[0].data.note.id });
out.deleteMissing = await other.emitWithAck("notes:delete", { note_id: "no-such-note" });
out.invalidAdd = await other.emitWithAck("notes:add", { text: "" });
out.otherSeen = otherSeen;
other.disconnect();

// Back, with the position it left at.
const mark = received.length;
first.connect();
await until(() => readies().length === 2);
out.resumedWith = leftAt;
out.afterReturning = received.slice(mark);
out.list = await first.emitWithAck("notes:list", {});
// Anything doubled would have arrived by now, behind the list's ack.
out.allReceived = received;
first.disconnect();

console.log(JSON.stringify(out));
process.exit(0);
