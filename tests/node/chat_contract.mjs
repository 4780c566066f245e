// Walks the /chat contract as an outside client would: discovery first, one Manager for both
// namespaces, an auth callback that resumes, forced transport drops mid-stream.
// Usage: node chat_contract.mjs BASE_URL. Prints one JSON object of observations.
import { randomUUID } from "node:crypto";
import { Manager } from "socket.io-client";

const base = process.argv[2];
const out = {};
const config = await (await fetch(`${base}/api/ws-config`)).json();
const login = await fetch(new URL(config.auth.dev_login_url, base), {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ user_id: "node-chat" }),
});
const { token } = await login.json();

let position = null; // {epoch, last_seq}
const events = []; // user-stream events, deduped by seq
const readies = [];
const manager = new Manager(config.url ?? base, {
  path: config.path,
  transports: config.transports,
  reconnectionDelay: 50,
  reconnectionDelayMax: 200,
});
const chat = manager.socket(config.namespaces.chat, {
  auth: (cb) => cb(position ? { token, resume: position } : { token }),
});
const system = manager.socket(config.namespaces.system, { auth: { token } });
let wake = () => {};
chat.on("chat:ready", (ready) => {
  readies.push(ready);
  position = { epoch: ready.epoch, last_seq: ready.head_seq };
  wake();
});
chat.onAny((name, data) => {
  if (data && typeof data.seq === "number" && data.seq > (position?.last_seq ?? 0)) {
    events.push({ event: name, ...data });
    position.last_seq = data.seq;
    wake();
  }
});
const until = (predicate, ms = 30000) =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timed out")), ms);
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
const ended = (runId) => () =>
  events.some((e) => e.run_id === runId && e.event.startsWith("agent:run_") && e.event !== "agent:run_started");
const send = (text, extra = {}) =>
  chat.timeout(config.timeouts.ack_timeout_ms).emitWithAck("chat:send", {
    client_msg_id: randomUUID(),
    text,
    ...extra,
  });

await until(() => readies.length === 1);
out.firstReady = readies[0];
out.sharedEngine = chat.io === system.io;
out.examples = (await chat.emitWithAck("chat:examples", {})).data.examples;

const runs = {};
for (const prompt of ["count to 25", "calculate (12 + 30) * 2 / 4", "hello from node"]) {
  const ack = await send(prompt);
  await until(ended(ack.data.run_id));
  runs[prompt] = { ack, events: events.filter((e) => e.run_id === ack.data.run_id) };
}
out.runs = runs;

const again = { client_msg_id: randomUUID(), text: "count to 2" };
out.firstSend = await chat.emitWithAck("chat:send", again);
out.repeatSend = await chat.emitWithAck("chat:send", again);
await until(ended(out.firstSend.data.run_id));
out.repeatHistory = await chat.emitWithAck("chat:history", { thread_id: out.firstSend.data.thread_id });

// Forced drops mid-stream: the engine's transport is closed under the running answer.
const big = await send("count to 2000");
let drops = 0;
const dropper = setInterval(() => {
  if (drops < 6 && chat.connected) {
    drops += 1;
    manager.engine.close();
  }
}, 250);
await until(ended(big.data.run_id), 60000);
clearInterval(dropper);
out.drops = drops;
out.bigRun = events.filter((e) => e.run_id === big.data.run_id);
out.readies = readies;
out.seqs = events.map((e) => e.seq);

chat.close();
system.close();

// A made-up epoch gets a reset, and nothing replayed.
const stranger = new Manager(config.url ?? base, { path: config.path, transports: config.transports });
const resumeBogus = stranger.socket(config.namespaces.chat, {
  auth: { token, resume: { epoch: "bogus", last_seq: 3 } },
});
const seenBeforeReady = [];
resumeBogus.onAny((name) => seenBeforeReady.push(name));
out.bogusReady = await new Promise((resolve) => resumeBogus.once("chat:ready", resolve));
out.bogusEvents = seenBeforeReady;
resumeBogus.close();

console.log(JSON.stringify(out));
process.exit(0);
