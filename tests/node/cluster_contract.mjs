// Two nodes behind no balancer: a user's tabs on different nodes, a resume that lands on the
// other node, a stop sent to the node that does not own the run, history across nodes.
// Usage: node cluster_contract.mjs NODE1_URL NODE2_URL. Prints one JSON object.
import { randomUUID } from "node:crypto";
import { Manager } from "socket.io-client";

const [node1, node2] = process.argv.slice(2);
const out = {};
const config = await (await fetch(`${node1}/api/ws-config`)).json();
const login = await fetch(new URL(config.auth.dev_login_url, node1), {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ user_id: "node-cluster" }),
});
const { token } = await login.json();

function tab(base, initial = null) {
  const state = { position: initial, events: [], readies: [], waiters: [] };
  const manager = new Manager(base, { path: config.path, transports: config.transports, reconnection: false });
  const socket = manager.socket(config.namespaces.chat, {
    auth: (cb) => cb(state.position ? { token, resume: state.position } : { token }),
  });
  const wake = () => state.waiters.splice(0).forEach((w) => w());
  socket.on("chat:ready", (ready) => {
    state.readies.push(ready);
    state.position = { epoch: ready.epoch, last_seq: ready.head_seq };
    wake();
  });
  socket.onAny((name, data) => {
    if (data && typeof data.seq === "number" && data.seq > (state.position?.last_seq ?? 0)) {
      state.events.push({ event: name, ...data });
      state.position.last_seq = data.seq;
      wake();
    }
  });
  state.socket = socket;
  state.until = (predicate, ms = 20000) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("timed out")), ms);
      const check = () => (predicate() ? (clearTimeout(timer), resolve()) : state.waiters.push(check));
      check();
    });
  state.ended = (runId) => () =>
    state.events.some((e) => e.run_id === runId && /^agent:run_(completed|failed|stopped)$/.test(e.event));
  return state;
}
const send = (t, text) => t.socket.emitWithAck("chat:send", { client_msg_id: randomUUID(), text });

const a = tab(node1);
const b = tab(node2);
await a.until(() => a.readies.length === 1);
await b.until(() => b.readies.length === 1);

// 1. Tabs on two nodes see one stream.
const calc = await send(a, "calculate 6*7");
await a.until(a.ended(calc.data.run_id));
await b.until(b.ended(calc.data.run_id));
out.tabsA = [...a.events];
out.tabsB = [...b.events];

// 2. History written through node 1 reads on node 2.
out.history = await b.socket.emitWithAck("chat:history", { thread_id: calc.data.thread_id });

// 3. A stop through node 2 stops the run node 1 owns.
const long = await send(a, "count to 3000");
await b.until(() => b.events.filter((e) => e.run_id === long.data.run_id && e.event === "agent:delta").length >= 3);
out.stop = await b.socket.emitWithAck("chat:stop", { run_id: long.data.run_id });
await a.until(a.ended(long.data.run_id));
await b.until(b.ended(long.data.run_id));
out.stopEndA = a.events.filter((e) => e.run_id === long.data.run_id).at(-1);
out.stopEndB = b.events.filter((e) => e.run_id === long.data.run_id).at(-1);

// 4. Dropped from node 1, resumed on node 2: nothing lost, nothing doubled.
const c = tab(node1);
await c.until(() => c.readies.length === 1);
const count = await send(c, "count to 600");
await c.until(() => c.events.filter((e) => e.event === "agent:delta").length >= 2);
c.socket.io.engine.close();
const resumed = tab(node2, { ...c.position });
await resumed.until(() => resumed.readies.length === 1);
await resumed.until(resumed.ended(count.data.run_id));
out.resumeReady = resumed.readies[0];
out.beforeDrop = c.events.filter((e) => e.run_id === count.data.run_id);
out.afterResume = resumed.events.filter((e) => e.run_id === count.data.run_id);
out.seqs = [...c.events, ...resumed.events].map((e) => e.seq);

for (const t of [a, b, c, resumed]) t.socket.close();
console.log(JSON.stringify(out));
process.exit(0);
