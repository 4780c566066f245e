import { describe, expect, it, vi } from "vitest";
import { retryDelay } from "../src/core/config";
import { memoryStorage } from "../src/core/storage";
import { DEV_USER_KEY, devUserId, tokenProviderFor } from "../src/core/tokens";
import { CONFIG } from "./fixtures";

describe("tokens", () => {
  it("generates the dev user id once and remembers it", () => {
    const storage = memoryStorage();
    const id = devUserId(storage);
    expect(id).toMatch(/^dev-[0-9a-f]{10}$/);
    expect(devUserId(storage)).toBe(id);
    expect(storage.getItem(DEV_USER_KEY)).toBe(id);
  });

  it("logs in as that user, once for concurrent callers", async () => {
    const storage = memoryStorage();
    const fetch = vi.fn(async () => Response.json({ token: "t" }));
    const tokens = tokenProviderFor(CONFIG, { fetch: fetch as unknown as typeof globalThis.fetch, localStorage: storage, discoveryUrl: "http://x.test/api/ws-config" });
    expect(await Promise.all([tokens(), tokens()])).toEqual(["t", "t"]);
    expect(fetch).toHaveBeenCalledTimes(1);
    const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe("http://x.test/api/auth/dev-login");
    expect(JSON.parse(String(init.body))).toEqual({ user_id: devUserId(storage) });
  });

  it("uses the host page's provider in jwt mode, and says so when there is none", async () => {
    const jwt = { ...CONFIG, auth: { mode: "jwt" as const, dev_login_url: null } };
    const base = { fetch: globalThis.fetch, localStorage: memoryStorage(), discoveryUrl: "http://x.test/api/ws-config" };
    await expect(tokenProviderFor(jwt, base)()).rejects.toMatchObject({ code: "no_token_provider" });
    expect(await tokenProviderFor(jwt, { ...base, tokenProvider: async () => "jwt-1" })()).toBe("jwt-1");
  });

  it("backs off like the Manager: doubling from delay_ms up to delay_max_ms", () => {
    const policy = { ...CONFIG, reconnection: { delay_ms: 100, delay_max_ms: 1000, randomization: 0, attempts: null } };
    expect([0, 1, 2, 3, 4, 10].map((n) => retryDelay(policy, n))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });
});
