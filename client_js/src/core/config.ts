import type { ManagerOptions } from "socket.io-client";
import { PROTOCOL_VERSION, type WsConfig } from "../generated/protocol";
import { SetupError, messageOf } from "./errors";

export type { WsConfig };

/** Reads the discovery document; everything about the socket comes from it. */
export async function fetchWsConfig(discoveryUrl: string, fetchImpl: typeof fetch): Promise<WsConfig> {
  let response: Response;
  try {
    response = await fetchImpl(discoveryUrl, { headers: { accept: "application/json" }, cache: "no-store" });
  } catch (error) {
    throw new SetupError("discovery_failed", `Cannot reach the server (${discoveryUrl}): ${messageOf(error)}`);
  }
  if (!response.ok) {
    throw new SetupError("discovery_failed", `${discoveryUrl} answered HTTP ${response.status}`);
  }
  let doc: WsConfig;
  try {
    doc = (await response.json()) as WsConfig;
  } catch {
    throw new SetupError("discovery_failed", `${discoveryUrl} did not answer JSON`);
  }
  if (doc.protocol_version !== PROTOCOL_VERSION) {
    throw new SetupError(
      "protocol_mismatch",
      `The server speaks protocol ${String(doc.protocol_version)}; this client speaks ${PROTOCOL_VERSION}. Reload the page.`,
    );
  }
  return doc;
}

/** `url: null` means the origin the discovery document came from. */
export function socketOrigin(config: WsConfig, discoveryUrl: string): string {
  return config.url ?? new URL(discoveryUrl).origin;
}

export function managerOptions(config: WsConfig): Partial<ManagerOptions> {
  const { reconnection, timeouts } = config;
  return {
    path: config.path,
    transports: config.transports,
    autoConnect: false,
    reconnection: true,
    reconnectionDelay: reconnection.delay_ms,
    reconnectionDelayMax: reconnection.delay_max_ms,
    randomizationFactor: reconnection.randomization,
    reconnectionAttempts: reconnection.attempts ?? Infinity,
    timeout: timeouts.connect_timeout_ms,
  };
}

/** Backoff for retries the Manager does not do itself (refused namespace connects), same policy. */
export function retryDelay(config: WsConfig, attempt: number, random: () => number = Math.random): number {
  const { delay_ms, delay_max_ms, randomization } = config.reconnection;
  const base = Math.min(delay_ms * 2 ** Math.min(attempt, 20), delay_max_ms);
  const jitter = base * randomization * (random() * 2 - 1);
  return Math.max(0, Math.min(base + jitter, delay_max_ms));
}
