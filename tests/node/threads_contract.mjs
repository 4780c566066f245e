// Thread management, paging, search, regenerate and one-answer-at-a-time as two tabs of one
// user see them: tab A acts, tab B only listens. Parts are folded here from the live events
// by the contract's rule, apart from the server's own fold, to compare with what it stores.
// Usage: node threads_contract.mjs BASE_URL. Prints one JSON object of observations.
import { randomUUID } from "node:crypto";
import { Manager } from "socket.io-client";

const base = process.argv[2];
const out = {};
const config = await (await fetch(`${base}/api/ws-config`)).json();
const login = await fetch(new URL(config.auth.dev_login_url, base), {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ user_id: "node-threads" }),
});
const { token } = await login.json();

function openTab() {
  const manager = new Manager(config.url ?? base, { path: config.path, transports: config.transports });
  const chat = manager.socket(config.namespaces.chat, { auth: { token } });
  const tab = { chat, events: [], ready: null, checks: new Set() };
  const poke = () => [...tab.checks].forEach((check) => check());
  chat.on("chat:ready", (ready) => {
    tab.ready = ready;
    poke();
  });
  chat.onAny((name, data) => {
    if (data && typeof data.seq === "number") {
      tab.events.push({ event: name, ...data });
      poke();
    }
  });
  // Resolves with the first truthy value of `found`, re-checked on every event.
  tab.until = (found, ms = 30000) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        tab.checks.delete(check);
        reject(new Error(`timed out waiting for ${found}`));
      }, ms);
      const check = () => {
        const value = found();
        if (value) {
          clearTimeout(timer);
          tab.checks.delete(check);
          resolve(value);
        }
      };
      tab.checks.add(check);
      check();
    });
  tab.call = (event, payload) => chat.timeout(config.timeouts.ack_timeout_ms).emitWithAck(event, payload);
  tab.end = (runId) =>
    tab.until(() =>
      tab.events.find((e) => e.run_id === runId && /^agent:run_(completed|failed|stopped)$/.test(e.event)),
    );
  tab.seen = (name, match = () => true) => tab.until(() => tab.events.find((e) => e.event === name && match(e)));
  tab.run = (runId) => tab.events.filter((e) => e.run_id === runId);
  return tab;
}

function fold(events) {
  const parts = [];
  for (const e of events) {
    const last = parts.at(-1);
    if (e.event === "agent:delta" || e.event === "agent:reasoning") {
      const type = e.event === "agent:delta" ? "text" : "reasoning";
      if (last?.type === type) last.text += e.text;
      else parts.push({ type, text: e.text });
    } else if (e.event === "agent:tool_call") {
      parts.push({ type: "tool_call", call_id: e.call_id, name: e.name, args: e.args });
    } else if (e.event === "agent:tool_result") {
      const { call_id, name, result, is_error } = e;
      parts.push({ type: "tool_result", call_id, name, result, is_error });
    } else if (e.event === "agent:approval_requested") {
      parts.push({ type: "approval", call_id: e.call_id, name: e.name, args: e.args, decision: "pending" });
    } else if (e.event === "agent:approval_resolved") {
      const part = parts.find((p) => p.type === "approval" && p.call_id === e.call_id);
      part.decision = e.decision;
      if (e.args) part.args = e.args;
    }
  }
  return parts;
}

const a = openTab();
const b = openTab();
await Promise.all([a.until(() => a.ready), b.until(() => b.ready)]);

// Sends and waits for the answer on both tabs; returns [ack data, tab A's outcome event].
async function ask(text, threadId) {
  const ack = await a.call("chat:send", { client_msg_id: randomUUID(), text, thread_id: threadId });
  if (!ack.ok) throw new Error(`${text}: ${JSON.stringify(ack)}`);
  const [outcome] = await Promise.all([a.end(ack.data.run_id), b.end(ack.data.run_id)]);
  return [ack.data, outcome];
}
const history = async (thread_id, extra = {}) => (await a.call("chat:history", { thread_id, ...extra })).data;

// The calculator answer: folded live on each tab, as completed, as stored.
const [calc, calcDone] = await ask("calculate (12 + 30) * 2 / 4");
out.calc = {
  liveA: fold(a.run(calc.run_id)),
  liveB: fold(b.run(calc.run_id)),
  completed: calcDone.message,
  usage: calcDone.usage ?? null,
  history: await history(calc.thread_id),
};

// Regenerate: a second answer to the same user message; a repeat is a duplicate.
const regenerate = { client_msg_id: randomUUID(), message_id: calcDone.message.id };
const regen = await a.call("chat:regenerate", regenerate);
out.regenerate = { ack: regen, repeat: await a.call("chat:regenerate", regenerate) };
await Promise.all([a.end(regen.data.run_id), b.end(regen.data.run_id)]);
out.regenerate.startedOnB = b.run(regen.data.run_id)[0];
out.regenerate.history = await history(calc.thread_id);

// More threads, most recently active last, and one longer thread to page back through.
const threadIds = [calc.thread_id];
for (const n of [1, 2, 3, 4]) threadIds.push((await ask(`count to ${n}`))[0].thread_id);
const longThread = threadIds[1];
for (const n of [5, 6]) await ask(`count to ${n}`, longThread);
await ask("tell me about pineapple", threadIds[2]);

out.threadsPages = [];
let before;
do {
  const page = (await a.call("chat:threads", { limit: 2, ...(before ? { before } : {}) })).data;
  out.threadsPages.push(page);
  before = page.next_before;
} while (before && out.threadsPages.length < 10);
out.allThreads = (await a.call("chat:threads", {})).data;
out.threadIds = threadIds;

out.historyPages = [];
let oldest;
for (;;) {
  const page = await history(longThread, { limit: 2, ...(oldest ? { before: oldest } : {}) });
  out.historyPages.push(page);
  if (!page.has_more || out.historyPages.length >= 10) break;
  oldest = page.messages[0].id;
}
out.fullHistory = await history(longThread);

// Rename, seen by the other tab; search over titles and message text.
out.rename = await a.call("chat:rename_thread", { thread_id: calc.thread_id, title: "Budget arithmetic" });
out.renamedOnB = await b.seen("chat:thread_updated", (e) => e.thread.id === calc.thread_id);
const search = async (query) => (await a.call("chat:threads", { query })).data.threads.map((t) => t.id);
out.search = {
  budget: await search("budget"),
  bothWords: await search("arith BUDGET"),
  pineapple: await search("pineapple"),
  nothing: await search("xylophone"),
};

// One answer at a time per thread: a send or a regenerate meanwhile is a conflict.
const long = await a.call("chat:send", { client_msg_id: randomUUID(), text: "count to 3000", thread_id: longThread });
await b.seen("agent:delta", (e) => e.run_id === long.data.run_id);
const lastAnswer = out.fullHistory.messages.at(-1).id;
out.conflict = {
  runId: long.data.run_id,
  send: await a.call("chat:send", { client_msg_id: randomUUID(), text: "count to 2", thread_id: longThread }),
  regenerate: await a.call("chat:regenerate", { client_msg_id: randomUUID(), message_id: lastAnswer }),
  otherThread: (await ask("count to 2", threadIds[3]))[0],
  stop: await a.call("chat:stop", { run_id: long.data.run_id }),
};
out.conflict.endOnB = (await b.end(long.data.run_id)).event;
out.conflict.after = (await ask("count to 2", longThread))[0];

// Delete, seen by the other tab; the thread is gone from the list and its history.
const doomed = threadIds[4];
out.delete = {
  ack: await a.call("chat:delete_thread", { thread_id: doomed }),
  onB: await b.seen("chat:thread_deleted", (e) => e.thread_id === doomed),
  threads: (await a.call("chat:threads", {})).data.threads.map((t) => t.id),
  history: await a.call("chat:history", { thread_id: doomed }),
  again: await a.call("chat:delete_thread", { thread_id: doomed }),
};

out.seqsA = a.events.map((e) => e.seq);
out.seqsB = b.events.map((e) => e.seq);
out.namesB = b.events.map((e) => e.event);
a.chat.close();
b.chat.close();
console.log(JSON.stringify(out));
process.exit(0);
