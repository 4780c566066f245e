// Drives POST /api/agui with @ag-ui/client's HttpAgent, as a CopilotKit-style front end would:
// count, calculator, reasoning, an approval answered through resume, and a run resumed after
// its stream was dropped. Usage: node agui_contract.mjs BASE_URL. Prints one JSON object.
import { randomUUID } from "node:crypto";
import { HttpAgent } from "@ag-ui/client";

const base = process.argv[2];
const out = {};
const config = await (await fetch(`${base}/api/ws-config`)).json();
const login = await fetch(new URL(config.auth.dev_login_url, base), {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ user_id: "node-agui" }),
});
const { token } = await login.json();
out.features = config.features;

const agentFor = (threadId = randomUUID()) =>
  new HttpAgent({
    url: `${base}/api/agui`,
    headers: { Authorization: `Bearer ${token}` },
    threadId,
  });

const view = (messages) =>
  messages.map((m) => ({
    role: m.role,
    content: m.content,
    toolCalls: m.toolCalls?.map((c) => ({ name: c.function.name, args: JSON.parse(c.function.arguments) })),
    toolCallId: m.toolCallId,
  }));

async function ask(agent, text, parameters = {}) {
  const types = [];
  const custom = [];
  let finished = null;
  agent.addMessage({ id: randomUUID(), role: "user", content: text });
  const result = await agent.runAgent(parameters, {
    onEvent: ({ event }) => {
      types.push(event.type);
      if (event.type === "CUSTOM") custom.push(event.name);
    },
    onRunFinishedEvent: (params) => {
      finished = { outcome: params.outcome, interrupts: params.interrupts ?? null };
    },
  });
  return { types, custom, finished, newMessages: view(result.newMessages), messages: view(agent.messages) };
}

const count = agentFor();
out.count = await ask(count, "count to 5");
out.countAgain = await ask(count, "count to 3");

out.calculator = await ask(agentFor(), "calculate (12 + 30) * 2 / 4");
out.reasoning = await ask(agentFor(), "think about tides");

const approvals = agentFor();
out.approvalAsked = await ask(approvals, "remind me to water the plants");
out.pendingInterrupts = approvals.pendingInterrupts.map((i) => ({ id: i.id, reason: i.reason }));
const [interrupt] = approvals.pendingInterrupts;
const resumed = [];
const answer = await approvals.runAgent(
  { resume: [{ interruptId: interrupt.id, status: "resolved", payload: { approved: true } }] },
  {
    onEvent: ({ event }) => resumed.push(event.type),
    onRunFinishedEvent: (params) => resumed.push(`outcome:${params.outcome}`),
  },
);
out.approvalResumed = { types: resumed, newMessages: view(answer.newMessages), messages: view(approvals.messages) };
out.pendingAfter = approvals.pendingInterrupts.length;

// A stream dropped mid-run: the same runId again gets the rest, nothing doubled.
const dropped = agentFor();
const runId = randomUUID();
dropped.addMessage({ id: randomUUID(), role: "user", content: "count to 300" });
let contents = 0;
const abortController = new AbortController();
try {
  await dropped.runAgent(
    { runId, abortController },
    {
      onTextMessageContentEvent: () => {
        contents += 1;
        if (contents === 10) abortController.abort();
      },
    },
  );
} catch (error) {
  out.dropError = String(error?.name ?? error);
}
const partial = dropped.messages.find((m) => m.role === "assistant")?.content ?? "";
const again = await dropped.runAgent({ runId });
out.dropped = {
  partialWords: partial.trim().split(" ").length,
  messages: view(dropped.messages),
  newMessages: view(again.newMessages),
};

console.log(JSON.stringify(out));
