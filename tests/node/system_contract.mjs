// Walks the HTTP and /system parts of the wire contract the way an outside client would,
// with nothing but the server's URL. Prints one JSON object of observations on stdout.
import { io } from "socket.io-client";

const base = process.argv[2];
const out = {};

function connect(nsp, config, auth) {
  return io(new URL(nsp, config.url ?? base).toString(), {
    path: config.path,
    transports: config.transports,
    auth,
    reconnection: false,
    timeout: config.timeouts.connect_timeout_ms,
  });
}

function once(socket, event) {
  return new Promise((resolve) => socket.once(event, resolve));
}

function refusal(config, auth) {
  const socket = connect("/system", config, auth);
  return once(socket, "connect_error").then((err) => {
    socket.close();
    return { message: err.message, data: err.data };
  });
}

const config = await (await fetch(`${base}/api/ws-config`)).json();
out.config = config;
const login = await fetch(new URL(config.auth.dev_login_url, base), {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ user_id: "node-user", display_name: "Node User" }),
});
const { token } = await login.json();

const socket = connect(config.namespaces.system, config, { token });
out.hello = await once(socket, "system:hello");
out.ping = await socket.timeout(config.timeouts.ack_timeout_ms).emitWithAck("system:ping", { client_time: 42 });
out.doubleEncoded = await socket.emitWithAck("system:ping", JSON.stringify({ client_time: 1 }));
out.unknown = await socket.emitWithAck("system:nope", {});
out.invalid = await socket.emitWithAck("system:ping", { client_time: "later" });
const errorEvent = once(socket, "system:error");
socket.emit("system:ping", JSON.stringify({ client_time: 2 }));
out.errorEvent = await errorEvent;
out.stillConnected = socket.connected;
socket.close();

out.noToken = await refusal(config, {});
out.badToken = await refusal(config, { token: "a.b.c" });

console.log(JSON.stringify(out));
process.exit(0);
