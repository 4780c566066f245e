// One answer of whatever agent the server runs, as an outside client sees it: the user-stream
// events of the run, its outcome, and the thread's history afterwards; then a ping on /system.
// Usage: node agent_contract.mjs BASE_URL PROMPT. Prints one JSON object of observations.
import { randomUUID } from "node:crypto";
import { Manager } from "socket.io-client";

const [base, prompt] = process.argv.slice(2);
const config = await (await fetch(`${base}/api/ws-config`)).json();
const login = await fetch(new URL(config.auth.dev_login_url, base), {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ user_id: "node-agent" }),
});
const { token } = await login.json();
const manager = new Manager(config.url ?? base, { path: config.path, transports: config.transports });
const chat = manager.socket(config.namespaces.chat, { auth: { token } });
const system = manager.socket(config.namespaces.system, { auth: { token } });
const events = [];
let done = null;
let ended = () => {};
chat.onAny((name, data) => {
  if (data && typeof data.seq === "number") {
    events.push({ event: name, ...data });
    if (/^agent:run_(completed|failed|stopped)$/.test(name)) {
      done = name;
      ended();
    }
  }
});
await new Promise((resolve) => chat.once("chat:ready", resolve));
const ack = (socket, event, payload) =>
  socket.timeout(config.timeouts.ack_timeout_ms).emitWithAck(event, payload);
const sent = await ack(chat, "chat:send", { client_msg_id: randomUUID(), text: prompt });
if (!done) await new Promise((resolve) => (ended = resolve));
const history = await ack(chat, "chat:history", { thread_id: sent.data.thread_id });
const ping = await ack(system, "system:ping", { client_time: Date.now() });
chat.disconnect();
system.disconnect();
console.log(JSON.stringify({ sent, events, history, ping }));
