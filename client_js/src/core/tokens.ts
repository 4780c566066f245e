import type { DevLoginResponse, WsConfig } from "../generated/protocol";
import { SetupError, messageOf } from "./errors";
import type { KeyValueStorage } from "./storage";

/** Returns a currently valid access token; called on every (re)connect and before it expires. */
export type TokenProvider = () => Promise<string>;

declare global {
  interface Window {
    /** What a host page sets when the server uses JWT auth. */
    netraTokenProvider?: TokenProvider;
  }
}

export const DEV_USER_KEY = "netra.devUserId";

/** The dev user id of this browser: generated once, then remembered so history survives reloads. */
export function devUserId(storage: KeyValueStorage): string {
  const known = storage.getItem(DEV_USER_KEY);
  if (known && /^[\w.@-]{1,64}$/.test(known)) return known;
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(5));
  const id = `dev-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
  storage.setItem(DEV_USER_KEY, id);
  return id;
}

/** Dev auth: POST the login URL for a fresh token each time. */
export function devTokenProvider(loginUrl: string, storage: KeyValueStorage, fetchImpl: typeof fetch): TokenProvider {
  return async () => {
    let response: Response;
    try {
      response = await fetchImpl(loginUrl, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify({ user_id: devUserId(storage) }),
      });
    } catch (error) {
      throw new SetupError("login_failed", `Dev login failed: ${messageOf(error)}`);
    }
    if (!response.ok) throw new SetupError("login_failed", `Dev login answered HTTP ${response.status}`);
    const body = (await response.json()) as DevLoginResponse;
    return body.token;
  };
}

/** Both namespaces connect at once: one token request serves both instead of two. */
export function coalesce(provider: TokenProvider): TokenProvider {
  let inflight: Promise<string> | null = null;
  return () => {
    inflight ??= provider().finally(() => {
      inflight = null;
    });
    return inflight;
  };
}

export interface TokenOptions {
  /** JWT mode: supplies tokens; defaults to window.netraTokenProvider, looked up on each call. */
  tokenProvider?: TokenProvider;
  fetch: typeof fetch;
  localStorage: KeyValueStorage;
  /** Absolute URL the discovery document came from; relative login URLs resolve against it. */
  discoveryUrl: string;
}

export function tokenProviderFor(config: WsConfig, options: TokenOptions): TokenProvider {
  if (config.auth.mode === "dev" && config.auth.dev_login_url) {
    const loginUrl = new URL(config.auth.dev_login_url, options.discoveryUrl).href;
    return coalesce(devTokenProvider(loginUrl, options.localStorage, options.fetch));
  }
  return coalesce(async () => {
    const provider = options.tokenProvider ?? (globalThis as { netraTokenProvider?: TokenProvider }).netraTokenProvider;
    if (typeof provider !== "function") {
      throw new SetupError(
        "no_token_provider",
        "This server uses JWT sign-in, and the page supplies no token provider (set window.netraTokenProvider to an async function returning a token).",
      );
    }
    let token: string;
    try {
      token = await provider();
    } catch (error) {
      throw new SetupError("token_failed", `The token provider failed: ${messageOf(error)}`);
    }
    if (typeof token !== "string" || token === "") {
      throw new SetupError("token_failed", "The token provider returned no token");
    }
    return token;
  });
}
