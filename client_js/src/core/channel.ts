import type { Ack, ClientEventTypes, Namespace, ServerEventPayloads } from "../generated/protocol";
import { RequestError, messageOf } from "./errors";
import type { SocketLike } from "./transport";

export type ServerEventName<N extends Namespace> = keyof ServerEventPayloads[N] & string;
export type ClientEventName<N extends Namespace> = keyof ClientEventTypes[N] & string;
export type PayloadOf<N extends Namespace, E extends ClientEventName<N>> = ClientEventTypes[N][E] extends {
  payload: infer P;
}
  ? P
  : never;
export type AckDataOf<N extends Namespace, E extends ClientEventName<N>> = ClientEventTypes[N][E] extends {
  ack: infer A;
}
  ? A
  : never;

function isAck(value: unknown): value is Ack<unknown> {
  if (typeof value !== "object" || value === null) return false;
  const ok = (value as { ok?: unknown }).ok;
  return ok === true ? "data" in value : ok === false && "error" in value;
}

/** Typed events of one namespace over a socket, with the ack timeout from the discovery document. */
export class Channel<N extends Namespace> {
  constructor(
    readonly socket: SocketLike,
    private readonly ackTimeoutMs: number,
  ) {}

  get connected(): boolean {
    return this.socket.connected;
  }

  on<E extends ServerEventName<N>>(event: E, handler: (payload: ServerEventPayloads[N][E]) => void): () => void {
    // The server validates what it sends against the same models these types come from.
    const listener = (payload: unknown): void => handler(payload as ServerEventPayloads[N][E]);
    this.socket.on(event, listener);
    return () => void this.socket.off(event, listener);
  }

  /** Emits and resolves with the ack as sent: `{ok: true, data}` or `{ok: false, error}`. */
  async request<E extends ClientEventName<N>>(event: E, payload: PayloadOf<N, E>): Promise<Ack<AckDataOf<N, E>>> {
    // Refuse rather than let socket.io buffer it: callers decide what waits for a connection.
    if (!this.socket.connected) throw new RequestError("not_connected", `Not connected (${event})`);
    let ack: unknown;
    try {
      ack = await this.socket.timeout(this.ackTimeoutMs).emitWithAck(event, payload);
    } catch (error) {
      throw new RequestError("timeout", `No answer to ${event} within ${this.ackTimeoutMs} ms (${messageOf(error)})`);
    }
    if (!isAck(ack)) throw new RequestError("invalid_ack", `Malformed ack for ${event}`);
    return ack as Ack<AckDataOf<N, E>>;
  }

  /** Like request, but resolves with the data and throws RequestError for `{ok: false}`. */
  async call<E extends ClientEventName<N>>(event: E, payload: PayloadOf<N, E>): Promise<AckDataOf<N, E>> {
    const ack = await this.request(event, payload);
    if (ack.ok) return ack.data;
    throw new RequestError(ack.error.code, ack.error.message, ack.error.details);
  }
}
