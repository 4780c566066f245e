// Two connections with the same short-lived token: one refreshes when warned, one does not.
// Usage: node token_contract.mjs BASE_URL SHORT_TOKEN FRESH_TOKEN WAIT_MS
import { io } from "socket.io-client";

const [base, shortToken, freshToken, waitMs] = process.argv.slice(2);
const config = await (await fetch(`${base}/api/ws-config`)).json();
const open = (nsp) =>
  io(new URL(nsp, config.url ?? base).toString(), {
    path: config.path,
    transports: config.transports,
    auth: { token: shortToken },
    reconnection: false,
    forceNew: true,
  });

const out = { idle: { warned: false, disconnect: null }, refreshing: { warned: false, disconnect: null } };
const idle = open(config.namespaces.system);
idle.on("system:token_expiring", () => (out.idle.warned = true));
idle.on("disconnect", (reason) => (out.idle.disconnect = reason));

const refreshing = open(config.namespaces.system);
refreshing.on("disconnect", (reason) => (out.refreshing.disconnect = reason));
refreshing.on("system:token_expiring", async (warning) => {
  out.refreshing.warned = warning;
  out.refreshing.refresh = await refreshing.emitWithAck("system:auth_refresh", { token: freshToken });
});

await new Promise((resolve) => setTimeout(resolve, Number(waitMs)));
out.refreshing.stillConnected = refreshing.connected;
out.refreshing.ping = refreshing.connected
  ? await refreshing.emitWithAck("system:ping", { client_time: Date.now() })
  : null;
// Our own close below is not what is being observed.
idle.off("disconnect");
refreshing.off("disconnect");
idle.close();
refreshing.close();
console.log(JSON.stringify(out));
process.exit(0);
