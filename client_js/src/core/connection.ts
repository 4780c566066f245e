import type { ResumePosition } from "../generated/protocol";
import { Channel } from "./channel";
import { fetchWsConfig, managerOptions, retryDelay, socketOrigin, type WsConfig } from "./config";
import { SetupError, messageOf } from "./errors";
import type { ConnectionError, ConnectionStatus } from "./state";
import type { Timers } from "./store";
import { tokenProviderFor, type TokenProvider } from "./tokens";
import type { KeyValueStorage } from "./storage";
import type { ManagerFactory, ManagerLike, SocketLike } from "./transport";

/** What is connected: the discovery document, both namespaces, and where tokens come from. */
export interface Link {
  config: WsConfig;
  chat: Channel<"/chat">;
  system: Channel<"/system">;
  tokens: TokenProvider;
}

export interface ConnectionDeps {
  discoveryUrl: string;
  fetch: typeof fetch;
  localStorage: KeyValueStorage;
  tokenProvider: TokenProvider | undefined;
  createManager: ManagerFactory;
  timers: Timers;
}

export interface ConnectionHooks {
  status(status: ConnectionStatus, error?: ConnectionError | null): void;
  /** Sockets exist (not yet connected): attach event handlers. */
  linked(link: Link): void;
  disconnected(): void;
  /** Where /chat should resume from, read at every connect attempt. */
  resumePosition(): ResumePosition | null;
}

// Before discovery answers there is no reconnection policy to follow yet.
const SETUP_RETRY_MS = [1000, 2000, 5000, 10000, 15000];

interface ConnectErrorLike {
  message?: string;
  data?: { code?: string; message?: string };
}

/**
 * Discovery, tokens and the one Manager with its /chat and /system sockets, and what the
 * connection's status is. Manager-level drops are retried by socket.io with the configured
 * policy; refused connects (which socket.io does not retry) are retried here with the same one.
 */
export class Connection {
  private link: Link | null = null;
  private generation = 0;
  private setupAttempts = 0;
  private refusals = 0;
  private timer: unknown = null;
  private status: ConnectionStatus = "connecting";
  private tokenError: SetupError | null = null;
  private everConnected = false;
  private detach: Array<() => void> = [];

  constructor(
    private readonly deps: ConnectionDeps,
    private readonly hooks: ConnectionHooks,
  ) {}

  get current(): Link | null {
    return this.link;
  }

  start(): void {
    this.generation += 1;
    this.everConnected = false;
    this.setStatus("connecting");
    void this.setup(this.generation);
  }

  stop(): void {
    this.generation += 1;
    this.clearTimer();
    for (const off of this.detach.splice(0)) off();
    // Closing every socket of the Manager closes its engine too.
    this.link?.chat.socket.disconnect();
    this.link?.system.socket.disconnect();
    this.link = null;
  }

  /** Try now instead of waiting for the next retry (the error banner's button). */
  retryNow(): void {
    this.clearTimer();
    this.refusals = 0;
    if (!this.link) {
      this.start();
      return;
    }
    this.setStatus(this.status === "error" ? "connecting" : this.status);
    if (!this.link.chat.socket.connected) this.link.chat.socket.connect();
    if (!this.link.system.socket.connected) this.link.system.socket.connect();
  }

  private async setup(generation: number): Promise<void> {
    let config: WsConfig;
    try {
      config = await fetchWsConfig(this.deps.discoveryUrl, this.deps.fetch);
    } catch (error) {
      if (generation !== this.generation) return;
      this.fail(error);
      const delay = SETUP_RETRY_MS[Math.min(this.setupAttempts, SETUP_RETRY_MS.length - 1)] ?? 15000;
      this.setupAttempts += 1;
      this.later(delay, () => void this.setup(generation));
      return;
    }
    if (generation !== this.generation) return;
    this.setupAttempts = 0;
    const tokens = tokenProviderFor(config, {
      tokenProvider: this.deps.tokenProvider,
      fetch: this.deps.fetch,
      localStorage: this.deps.localStorage,
      discoveryUrl: this.deps.discoveryUrl,
    });
    const manager = this.deps.createManager(socketOrigin(config, this.deps.discoveryUrl), managerOptions(config));
    const ackMs = config.timeouts.ack_timeout_ms;
    const chat = new Channel<"/chat">(manager.socket(config.namespaces.chat, { auth: this.auth(tokens, true) }), ackMs);
    const system = new Channel<"/system">(
      manager.socket(config.namespaces.system, { auth: this.auth(tokens, false) }),
      ackMs,
    );
    this.link = { config, chat, system, tokens };
    this.watch(manager, chat.socket, system.socket, config);
    this.hooks.linked(this.link);
    chat.socket.connect();
    system.socket.connect();
  }

  /** A callback, so every connect and reconnect asks for a fresh token and the current resume point. */
  private auth(tokens: TokenProvider, resume: boolean) {
    return (cb: (data: object) => void): void => {
      tokens().then(
        (token) => {
          this.tokenError = null;
          const position = resume ? this.hooks.resumePosition() : null;
          cb(position ? { token, resume: position } : { token });
        },
        (error: unknown) => {
          // Connect without a token: the refusal that follows reports this reason instead.
          this.tokenError = error instanceof SetupError ? error : new SetupError("token_failed", messageOf(error));
          cb({});
        },
      );
    };
  }

  private watch(manager: ManagerLike, chat: SocketLike, system: SocketLike, config: WsConfig): void {
    const on = <A extends unknown[]>(target: SocketLike | ManagerLike, event: string, listener: (...args: A) => void): void => {
      target.on(event, listener);
      this.detach.push(() => void target.off(event, listener));
    };
    on(chat, "connect", () => {
      this.refusals = 0;
      this.everConnected = true;
    });
    on(chat, "disconnect", (reason: string) => {
      if (reason === "io client disconnect") return;
      this.setStatus("reconnecting");
      this.hooks.disconnected();
      // The server closed this namespace (e.g. an expired token): socket.io leaves that to us.
      if (reason === "io server disconnect") this.retrySocket(chat, config);
    });
    on(chat, "connect_error", (error: ConnectErrorLike) => {
      const code = this.tokenError?.code ?? error.data?.code ?? null;
      const message = this.tokenError?.message ?? error.data?.message ?? error.message ?? "Connection failed";
      const refused = !chat.active;
      // A drop the Manager is already retrying is "reconnecting"; a refusal, or never getting
      // through at all, is an error the user should see.
      this.setStatus(refused || !this.everConnected ? "error" : "reconnecting", { message, code });
      if (refused) this.retrySocket(chat, config);
    });
    on(system, "disconnect", (reason: string) => {
      if (reason === "io server disconnect") this.retrySocket(system, config);
    });
    on(system, "connect_error", () => {
      if (!system.active) this.retrySocket(system, config);
    });
    on(manager, "reconnect_attempt", () => {
      if (this.status !== "error") this.setStatus("reconnecting");
    });
    on(manager, "reconnect_failed", () => {
      this.setStatus("error", {
        message: `Gave up reconnecting after ${config.reconnection.attempts ?? "many"} attempts`,
        code: "reconnect_failed",
      });
    });
  }

  private retrySocket(socket: SocketLike, config: WsConfig): void {
    const attempts = config.reconnection.attempts;
    if (attempts !== null && this.refusals >= attempts) return;
    const delay = retryDelay(config, this.refusals);
    this.refusals += 1;
    const generation = this.generation;
    this.deps.timers.setTimeout(() => {
      if (generation === this.generation && !socket.connected) socket.connect();
    }, delay);
  }

  private fail(error: unknown): void {
    const code = error instanceof SetupError ? error.code : "discovery_failed";
    this.setStatus("error", { message: messageOf(error), code });
  }

  private setStatus(status: ConnectionStatus, error: ConnectionError | null = null): void {
    this.status = status;
    this.hooks.status(status, error);
  }

  /** Chat is usable (chat:ready arrived). */
  markConnected(): void {
    this.status = "connected";
  }

  private later(ms: number, fn: () => void): void {
    this.clearTimer();
    this.timer = this.deps.timers.setTimeout(() => {
      this.timer = null;
      fn();
    }, ms);
  }

  private clearTimer(): void {
    if (this.timer !== null) this.deps.timers.clearTimeout(this.timer);
    this.timer = null;
  }
}
