// The load generator: one Node process (pinned to its own core by bench/run.py) driving many
// socket.io-client connections. Usage: node load.mjs '<json options>'.
//
// Modes:
//   rtt     N clients, each sending its next acked request as soon as the previous ack
//           arrives; warm-up, then a fixed measured window: acks/s and latency percentiles.
//   hold    open N authenticated connections in batches, hold them until told to release
//           (stdin "go" starts connecting, stdin "release" closes), for memory per connection.
//   stream  N clients each running "count to K" again and again: token-to-receipt lag,
//           emit-to-receipt lag, frames and tokens per second.
//   resume  make a user stream of many events, then reconnect with `resume` again and again
//           and time connect -> chat:ready(replayed = events).
//   follow  connect each of a list of users to its own node (cluster), then count the
//           user-stream events each receives between stdin "measure_start" and
//           "measure_end": gaps in seq, and lag from each event's `ts` to its receipt.
//
// stdout: one JSON object with the results. stderr: progress lines, and "MARK <name>" lines
// the harness uses to sample the server's CPU and memory at the right moments.
import { randomUUID } from "node:crypto";
import { createInterface } from "node:readline";
import { Manager } from "socket.io-client";

const opts = JSON.parse(process.argv[2] ?? "{}");
const HARD_LIMIT_S = opts.hard_limit_s ?? 900;
setTimeout(() => fail(`hard time limit of ${HARD_LIMIT_S}s reached`), HARD_LIMIT_S * 1000).unref();

const nowMs = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (text) => process.stderr.write(`[load] ${text}\n`);
const mark = (name, extra = "") => process.stderr.write(`MARK ${name} ${extra}\n`);

function fail(message) {
  process.stderr.write(`[load] error: ${message}\n`);
  process.exit(1);
}

function percentiles(values) {
  if (values.length === 0) return { count: 0 };
  const sorted = Float64Array.from(values).sort();
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    count: sorted.length,
    min: sorted[0],
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: sorted[sorted.length - 1],
    mean: sum / sorted.length,
  };
}

// Wall-clock ms (with the microseconds) of an RFC 3339 UTC timestamp from the server.
function parseTs(ts) {
  const m = /^(.*T\d\d:\d\d:\d\d)(\.\d+)?Z$/.exec(ts);
  if (!m) return Number.NaN;
  return Date.parse(`${m[1]}Z`) + (m[2] ? Number(`0${m[2]}`) * 1000 : 0);
}

class CpuMeter {
  start() {
    this.cpu = process.cpuUsage();
    this.wall = performance.now();
  }
  // This process's CPU time as a percentage of one core over the window.
  percent() {
    const used = process.cpuUsage(this.cpu);
    const wallUs = (performance.now() - this.wall) * 1000;
    return (100 * (used.user + used.system)) / wallUs;
  }
}

async function pool(count, concurrency, task) {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

async function login(userId, url = opts.url) {
  for (let attempt = 1; ; attempt++) {
    try {
      const response = await fetch(`${url}/api/auth/dev-login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ user_id: userId }),
        signal: AbortSignal.timeout(10000),
      });
      if (response.status !== 200) throw new Error(`dev-login answered ${response.status}`);
      return (await response.json()).token;
    } catch (error) {
      if (attempt >= 3) throw error;
      await sleep(200 * attempt);
    }
  }
}

async function tokens(count, prefix) {
  if (!opts.login) return Array.from({ length: count }, () => "bench");
  const out = new Array(count);
  let done = 0;
  await pool(count, 16, async (i) => {
    out[i] = await login(`${prefix}-${i}`);
    done += 1;
    if (done % 2000 === 0) log(`logged in ${done}/${count}`);
  });
  return out;
}

// One Engine.IO connection (websocket only, like the web client's default) with a socket per
// namespace; resolves once every namespace is connected and, if asked, `readyEvent` arrived.
function openClient({ token, namespaces, readyEvent = null, auth = {}, timeoutMs = 20000, url = opts.url }) {
  const manager = new Manager(url, {
    path: "/socket.io",
    transports: ["websocket"],
    reconnection: false,
    timeout: timeoutMs,
    forceNew: true,
    ...(opts.deflate === false ? { perMessageDeflate: false } : {}),
  });
  const sockets = {};
  const pending = [];
  for (const ns of namespaces) {
    const socket = manager.socket(ns, { auth: { token, ...auth } });
    sockets[ns] = socket;
    pending.push(
      new Promise((resolve, reject) => {
        socket.once("connect_error", (error) => reject(new Error(`${ns}: ${error.message}`)));
        if (ns === "/chat" && readyEvent) socket.once(readyEvent, (data) => resolve(data));
        else socket.once("connect", () => resolve(null));
      }),
    );
  }
  const close = () => {
    for (const socket of Object.values(sockets)) socket.disconnect();
    manager.engine?.close();
  };
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error("connect timed out")), timeoutMs);
  });
  return Promise.race([Promise.all(pending), timeout])
    .then((results) => ({ manager, sockets, close, ready: results.find((r) => r) ?? null }))
    .catch((error) => {
      close();
      throw error;
    })
    .finally(() => clearTimeout(timer));
}

function stdinLines() {
  const waiting = [];
  const seen = [];
  createInterface({ input: process.stdin }).on("line", (line) => {
    const word = line.trim();
    const i = waiting.findIndex((w) => w.word === word);
    if (i >= 0) waiting.splice(i, 1)[0].resolve();
    else seen.push(word);
  });
  return (word, timeoutS) =>
    new Promise((resolve, reject) => {
      if (seen.includes(word)) return resolve();
      waiting.push({ word, resolve });
      setTimeout(() => reject(new Error(`no "${word}" on stdin in ${timeoutS}s`)), timeoutS * 1000).unref();
    });
}

// ---------------------------------------------------------------- rtt

async function rtt() {
  const { clients, event, namespace, warmup_s: warmupS, duration_s: durationS } = opts;
  const list = await tokens(clients, "bench-rtt");
  const conns = [];
  await pool(clients, 25, async (i) => {
    conns.push(
      await openClient({
        token: list[i],
        namespaces: ["/system", "/chat"],
        readyEvent: opts.ready_event,
      }),
    );
  });
  log(`${conns.length} clients connected; ${event} for ${warmupS}s warm-up + ${durationS}s`);
  const payload = () => (event === "system:ping" ? { client_time: Date.now() / 1000 } : {});
  const latencies = [];
  let measuring = false;
  let stopping = false;
  let inFlight = 0;
  let acked = 0;
  let errors = 0;
  let lastAckAt = performance.now();
  const firstErrors = [];
  const loop = (socket) => {
    if (stopping) return;
    inFlight += 1;
    const sentAt = performance.now();
    socket.emit(event, payload(), (ack) => {
      inFlight -= 1;
      const now = performance.now();
      lastAckAt = now;
      if (!ack || ack.ok !== true) {
        errors += 1;
        if (firstErrors.length < 3) firstErrors.push(ack);
      } else if (measuring) {
        latencies.push(now - sentAt);
        acked += 1;
      }
      loop(socket);
    });
  };
  for (const conn of conns) loop(conn.sockets[namespace]);
  const watchdog = setInterval(() => {
    if (performance.now() - lastAckAt > 10000) fail("no ack for 10 s");
  }, 1000);
  await sleep(warmupS * 1000);
  const cpu = new CpuMeter();
  mark("measure_start");
  cpu.start();
  const t0 = performance.now();
  measuring = true;
  await sleep(durationS * 1000);
  measuring = false;
  const elapsedS = (performance.now() - t0) / 1000;
  const genCpu = cpu.percent();
  mark("measure_end");
  stopping = true;
  for (let i = 0; i < 100 && inFlight > 0; i++) await sleep(50);
  clearInterval(watchdog);
  for (const conn of conns) conn.close();
  return {
    mode: "rtt",
    event,
    clients: conns.length,
    duration_s: elapsedS,
    acks: acked,
    acks_per_s: acked / elapsedS,
    latency_ms: percentiles(latencies),
    errors,
    first_errors: firstErrors,
    generator_cpu_percent: genCpu,
  };
}

// ---------------------------------------------------------------- hold

async function hold() {
  const { connections, batch } = opts;
  const waitFor = stdinLines();
  const list = await tokens(connections, "bench-hold");
  mark("logged_in", String(connections));
  await waitFor("go", 120);
  const started = performance.now();
  const conns = [];
  const errorCounts = {};
  let failed = 0;
  for (let first = 0; first < connections; first += batch) {
    const size = Math.min(batch, connections - first);
    const results = await Promise.allSettled(
      Array.from({ length: size }, (_, j) =>
        openClient({
          token: list[first + j],
          namespaces: ["/system", "/chat"],
          readyEvent: opts.ready_event,
          timeoutMs: 30000,
        }),
      ),
    );
    for (const result of results) {
      if (result.status === "fulfilled") conns.push(result.value);
      else {
        failed += 1;
        const key = String(result.reason?.message ?? result.reason).slice(0, 80);
        errorCounts[key] = (errorCounts[key] ?? 0) + 1;
      }
    }
    const done = first + size;
    if (done % (batch * 10) === 0 || done === connections) {
      log(`${conns.length} connected, ${failed} failed (${((performance.now() - started) / 1000).toFixed(1)} s)`);
    }
  }
  const openS = (performance.now() - started) / 1000;
  mark("held", String(conns.length));
  await waitFor("release", 300);
  for (const conn of conns) conn.close();
  await sleep(500);
  return {
    mode: "hold",
    requested: connections,
    connected: conns.length,
    failed,
    errors: errorCounts,
    open_s: openS,
    client_deflate_offered: opts.deflate !== false,
  };
}

// ---------------------------------------------------------------- stream

async function stream() {
  const { clients, text, tokens_per_s: rate, warmup_s: warmupS, duration_s: durationS } = opts;
  const list = await tokens(clients, `bench-stream-${opts.tag ?? "s"}`);
  // The provider shape (bench/provider_model.py): tokens of these sizes, cycled per turn.
  const sizes = opts.token_sizes ?? null;
  const tokenAt = (chars) => {
    let k = 0;
    let total = 0;
    while (total < chars) total += sizes[k++ % sizes.length];
    return k;
  };
  const nominalMs = 1000 / rate;
  // Deltas seen in the window: receipt time, run anchor, index of the last token.
  const seen = [];
  const lagNominal = [];
  const lagEmit = [];
  const paces = [];
  // From a run's end (its outcome received) to the next run's first delta: the time a
  // stream is not producing, spent sending the next message, storing it and starting the run.
  const betweenRuns = [];
  let measureStart = Number.POSITIVE_INFINITY;
  let measureEnd = Number.POSITIVE_INFINITY;
  let ending = false;
  const totals = {
    frames: 0,
    deltas: 0,
    tokens: 0,
    runs_completed: 0,
    runs_failed: 0,
    runs_whole: 0,
    runs_short: 0,
  };
  const inWindow = (t) => t >= measureStart && t < measureEnd;

  const startClient = async (i) => {
    const conn = await openClient({ token: list[i], namespaces: ["/chat"], readyEvent: "chat:ready" });
    const chat = conn.sockets["/chat"];
    let run = null; // {id, anchor, first: [k, ts], last: [k, ts]}
    let endedAt = null; // when the previous run's outcome arrived
    const sendNext = () => {
      if (ending) return;
      run = null;
      chat.emit("chat:send", { client_msg_id: randomUUID(), text }, (ack) => {
        if (!ack || ack.ok !== true) {
          totals.runs_failed += 1;
          setTimeout(sendNext, 100);
        }
      });
    };
    chat.onAny((name, data) => {
      const t = nowMs();
      if (inWindow(t)) totals.frames += 1;
      if (name === "agent:run_started") {
        // Token k of the run is due at run start + (k - 1) * pace. The model starts after this
        // event is emitted, so anchoring on its `ts` can only overstate the lag.
        run = { id: data.run_id, anchor: parseTs(data.ts), first: null, last: null, chars: 0 };
      } else if (name === "agent:tool_result" && run && data.run_id === run.id && sizes) {
        // The provider shape: the model's second turn starts after the tool's result is sent,
        // its tokens counted afresh from there.
        run.anchor = parseTs(data.ts);
        run.chars = 0;
        run.lastK = 0;
        run.first = null; // the pace is read over the answering turn
        run.answering = true;
      } else if (name === "agent:delta" && run && data.run_id === run.id) {
        let k;
        let words;
        if (sizes) {
          // Deltas hold whole tokens of known sizes: k is the token the delta's text ends with.
          run.chars += data.text.length;
          k = tokenAt(run.chars);
          words = [];
          words.length = k - (run.lastK ?? 0);
          run.lastK = k;
        } else {
          words = data.text.trim().split(/\s+/);
          k = Number(words[words.length - 1]);
        }
        run.text = (run.text ?? "") + data.text;
        const emitted = parseTs(data.ts);
        if (run.first === null && !run.answering && endedAt !== null && inWindow(t)) {
          betweenRuns.push(t - endedAt);
        }
        run.first ??= [k, emitted];
        run.last = [k, emitted];
        if (inWindow(t)) {
          seen.push([t, run.anchor, k]);
          lagNominal.push(t - (run.anchor + (k - 1) * nominalMs));
          lagEmit.push(t - emitted);
          totals.deltas += 1;
          totals.tokens += words.length;
        }
      } else if (name === "agent:run_completed" || name === "agent:run_failed" || name === "agent:run_stopped") {
        if (name === "agent:run_completed") {
          totals.runs_completed += 1;
          // Every token delivered, in order: the deltas make up the stored answer's text.
          if (run && data.run_id === run.id) {
            if ((run.text ?? "") === data.message?.text) totals.runs_whole += 1;
            else totals.runs_short += 1;
          }
        } else totals.runs_failed += 1;
        if (run?.first && run.last[0] > run.first[0] && inWindow(t)) {
          paces.push((run.last[1] - run.first[1]) / (run.last[0] - run.first[0]));
        }
        endedAt = t;
        sendNext();
      }
    });
    return { conn, sendNext };
  };

  const clientsReady = [];
  await pool(clients, 25, async (i) => {
    clientsReady.push(await startClient(i));
  });
  log(`${clients} clients ready; "${text}" at ${rate} tokens/s, ${warmupS}s warm-up + ${durationS}s`);
  const cpu = new CpuMeter();
  for (const c of clientsReady) c.sendNext();
  await sleep(warmupS * 1000);
  measureStart = nowMs();
  mark("measure_start");
  cpu.start();
  await sleep(durationS * 1000);
  measureEnd = nowMs();
  const genCpu = cpu.percent();
  mark("measure_end");
  // Runs still going are left to the server, which is stopped next.
  ending = true;
  for (const c of clientsReady) c.conn.close();
  const elapsedS = (measureEnd - measureStart) / 1000;
  // The schedule the lag is measured against: the pace passed in (the harness passes the one
  // the model keeps on an idle server, from a one-stream run), else the pace of these runs.
  const ownPace = percentiles(paces).p50;
  const scheduleMs = opts.token_ms ?? ownPace ?? nominalMs;
  const lagSchedule = seen.map(([t, anchor, k]) => t - (anchor + (k - 1) * scheduleMs));
  return {
    mode: "stream",
    clients,
    text,
    tokens_per_s_per_stream: rate,
    schedule_ms_per_token: scheduleMs,
    duration_s: elapsedS,
    lag_schedule_ms: percentiles(lagSchedule),
    lag_nominal_ms: percentiles(lagNominal),
    lag_emit_ms: percentiles(lagEmit),
    pace_ms_per_token: percentiles(paces),
    between_runs_ms: percentiles(betweenRuns),
    frames_per_s: totals.frames / elapsedS,
    deltas_per_s: totals.deltas / elapsedS,
    tokens_delivered_per_s: totals.tokens / elapsedS,
    tokens_offered_per_s: clients * rate,
    runs_completed: totals.runs_completed,
    runs_failed: totals.runs_failed,
    runs_whole: totals.runs_whole,
    runs_short: totals.runs_short,
    generator_cpu_percent: genCpu,
  };
}

// ---------------------------------------------------------------- resume

async function resume() {
  const { events, repeats, count_to: countTo } = opts;
  const [token] = await tokens(1, "bench-resume");
  const first = await openClient({ token, namespaces: ["/chat"], readyEvent: "chat:ready" });
  const epoch = first.ready.epoch;
  const chat = first.sockets["/chat"];
  let head = first.ready.head_seq;
  const done = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the filling run did not end in 120 s")), 120000);
    chat.onAny((name, data) => {
      if (typeof data?.seq === "number") head = Math.max(head, data.seq);
      if (name.startsWith("agent:run_") && name !== "agent:run_started") {
        clearTimeout(timer);
        resolve(name);
      }
    });
  });
  const ack = await chat.timeout(10000).emitWithAck("chat:send", {
    client_msg_id: randomUUID(),
    text: `count to ${countTo}`,
  });
  if (ack.ok !== true) fail(`chat:send refused: ${JSON.stringify(ack)}`);
  const ending = await done;
  await sleep(300);
  first.close();
  if (ending !== "agent:run_completed") fail(`the filling run ended with ${ending}`);
  if (head < events) fail(`only ${head} events in the stream, ${events} wanted`);
  log(`stream head ${head} in epoch ${epoch}; ${repeats} resumes of ${events} events`);

  const timeOne = async (lastSeq, want) => {
    const t0 = performance.now();
    const conn = await openClient({
      token,
      namespaces: ["/chat"],
      readyEvent: "chat:ready",
      auth: { resume: { epoch, last_seq: lastSeq } },
      timeoutMs: 10000,
    });
    const elapsed = performance.now() - t0;
    conn.close();
    const ready = conn.ready;
    if (ready.recovery !== "recovered" || ready.replayed !== want) {
      fail(`resume from ${lastSeq}: chat:ready ${JSON.stringify(ready)}`);
    }
    return elapsed;
  };
  // Replayed events arrive before chat:ready; count them on a probe connection once.
  const probe = await new Promise((resolve, reject) => {
    const manager = new Manager(opts.url, { path: "/socket.io", transports: ["websocket"], reconnection: false, forceNew: true });
    const socket = manager.socket("/chat", { auth: { token, resume: { epoch, last_seq: head - events } } });
    const seqs = [];
    const timer = setTimeout(() => reject(new Error("probe timed out")), 10000);
    socket.onAny((name, data) => {
      if (name === "chat:ready") {
        clearTimeout(timer);
        socket.disconnect();
        manager.engine?.close();
        resolve({ ready: data, seqs });
      } else if (typeof data?.seq === "number") seqs.push(data.seq);
    });
    socket.on("connect_error", (e) => reject(e));
  });
  const contiguous = probe.seqs.length === events && probe.seqs.every((s, i) => s === head - events + 1 + i);
  if (!contiguous) fail(`probe got ${probe.seqs.length} events, not the ${events} expected in order`);

  const resumed = [];
  const fresh = [];
  for (let i = 0; i < repeats; i++) {
    resumed.push(await timeOne(head - events, events));
    fresh.push(await timeOne(head, 0));
  }
  return {
    mode: "resume",
    events,
    head_seq: head,
    repeats,
    replay_checked_in_order: contiguous,
    resume_ms: percentiles(resumed),
    resume_nothing_missed_ms: percentiles(fresh),
  };
}

// ---------------------------------------------------------------- follow

async function follow() {
  const { targets } = opts; // [{url, user}]: every connection of a user on one node
  const waitFor = stdinLines();
  const conns = [];
  const perUrl = {};
  const lags = [];
  let measuring = false;
  let gaps = 0;
  let before = 0;
  let after = 0;
  await pool(targets.length, 25, async (i) => {
    const { url, user } = targets[i];
    const token = await login(user, url);
    const conn = await openClient({ url, token, namespaces: ["/chat"], readyEvent: "chat:ready" });
    let last = conn.ready.head_seq;
    perUrl[url] ??= { connections: 0, events: 0 };
    perUrl[url].connections += 1;
    conn.sockets["/chat"].onAny((name, data) => {
      if (typeof data?.seq !== "number") return;
      if (data.seq !== last + 1) gaps += 1;
      last = data.seq;
      if (!measuring) {
        before += 1;
        return;
      }
      after += 1;
      perUrl[url].events += 1;
      lags.push(nowMs() - parseTs(data.ts));
    });
    conns.push(conn);
  });
  mark("connected", String(conns.length));
  await waitFor("measure_start", 600);
  measuring = true;
  await waitFor("measure_end", 600);
  measuring = false;
  await waitFor("release", 600);
  for (const conn of conns) conn.close();
  return {
    mode: "follow",
    connected: conns.length,
    events_in_window: after,
    events_outside_window: before,
    seq_gaps: gaps,
    per_url: perUrl,
    lag_ms: percentiles(lags),
  };
}

const modes = { rtt, hold, stream, resume, follow };
if (!modes[opts.mode]) fail(`unknown mode ${opts.mode}`);
try {
  const result = await modes[opts.mode]();
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
} catch (error) {
  fail(error?.stack ?? String(error));
}
