// Baseline (d): a Node socket.io 4.8 server with the same handlers as the Python baselines:
// /system answers system:ping, /chat answers chat:examples, both with the full stack's ack
// shape; GET /healthz; any auth accepted. Usage: node server.mjs PORT
import { createServer } from "node:http";
import { Server } from "socket.io";

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
  console.error("usage: node server.mjs PORT");
  process.exit(2);
}

const EXAMPLES = [
  { id: "count", title: "Count to 20", prompt: "count to 20" },
  { id: "calculate", title: "Use the calculator", prompt: "calculate (12 + 30) * 2 / 4" },
  {
    id: "explain",
    title: "Ask a question",
    prompt: "What makes a chat server recover well from dropped connections?",
  },
];

const http = createServer((req, res) => {
  if (req.url === "/healthz") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end('{"status":"ok"}');
    return;
  }
  res.writeHead(404);
  res.end();
});
const io = new Server(http, { path: "/socket.io" });

io.of("/system").on("connection", (socket) => {
  socket.on("system:ping", (payload, ack) => {
    if (typeof ack !== "function") return;
    ack({
      ok: true,
      data: { client_time: payload?.client_time ?? null, server_time: new Date().toISOString() },
    });
  });
});
io.of("/chat").on("connection", (socket) => {
  socket.on("chat:examples", (_payload, ack) => {
    if (typeof ack === "function") ack({ ok: true, data: { examples: EXAMPLES } });
  });
});

http.listen(port, "127.0.0.1");
const stop = () => {
  io.close();
  http.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 3000).unref();
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
