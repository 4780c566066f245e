import { describe, expect, it } from "vitest";
import { Channel } from "../src/core/channel";
import { RequestError } from "../src/core/errors";
import { FakeSocket } from "./fixtures";

function connectedSocket(): FakeSocket {
  const socket = new FakeSocket("/chat", (cb) => cb({}));
  socket.connected = true;
  return socket;
}

describe("Channel", () => {
  it("resolves typed ack data", async () => {
    const socket = connectedSocket();
    socket.onRequest = () => ({ ok: true, data: { stopped: true } });
    const chat = new Channel<"/chat">(socket, 1000);
    const data = await chat.call("chat:stop", { run_id: "r1" });
    expect(data.stopped).toBe(true);
    expect(socket.emitted).toEqual([{ event: "chat:stop", payload: { run_id: "r1" } }]);
  });

  it("turns an error ack into a RequestError with the server's code", async () => {
    const socket = connectedSocket();
    socket.onRequest = () => ({ ok: false, error: { code: "not_found", message: "No such run" } });
    const chat = new Channel<"/chat">(socket, 1000);
    expect(await chat.request("chat:stop", { run_id: "r1" })).toEqual({ ok: false, error: { code: "not_found", message: "No such run" } });
    await expect(chat.call("chat:stop", { run_id: "r1" })).rejects.toMatchObject({ code: "not_found", message: "No such run" });
  });

  it("fails fast when not connected and reports timeouts and malformed acks", async () => {
    const socket = new FakeSocket("/chat", (cb) => cb({}));
    const chat = new Channel<"/chat">(socket, 1000);
    await expect(chat.call("chat:threads", {})).rejects.toMatchObject({ code: "not_connected" });
    socket.connected = true;
    socket.onRequest = () => Promise.reject(new Error("operation has timed out"));
    await expect(chat.call("chat:threads", {})).rejects.toBeInstanceOf(RequestError);
    await expect(chat.call("chat:threads", {})).rejects.toMatchObject({ code: "timeout" });
    socket.onRequest = () => '{"ok": true}';
    await expect(chat.call("chat:threads", {})).rejects.toMatchObject({ code: "invalid_ack" });
  });

  it("delivers typed server events until the handler is removed", () => {
    const socket = connectedSocket();
    const chat = new Channel<"/chat">(socket, 1000);
    const seen: number[] = [];
    const off = chat.on("chat:ready", (ready) => seen.push(ready.head_seq));
    socket.fire("chat:ready", { epoch: "e", head_seq: 7, recovery: "fresh", replayed: 0 });
    off();
    socket.fire("chat:ready", { epoch: "e", head_seq: 8, recovery: "fresh", replayed: 0 });
    expect(seen).toEqual([7]);
  });
});
