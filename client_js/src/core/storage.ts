/** The part of the Web Storage API the client uses; injected so tests and locked-down browsers work. */
export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export function memoryStorage(): KeyValueStorage {
  const items = new Map<string, string>();
  return {
    getItem: (key) => items.get(key) ?? null,
    setItem: (key, value) => void items.set(key, value),
    removeItem: (key) => void items.delete(key),
  };
}

/**
 * window.localStorage / sessionStorage, or memory when unavailable: storage access throws in
 * some privacy modes and sandboxed iframes, and losing persistence beats failing to chat.
 */
export function browserStorage(kind: "localStorage" | "sessionStorage"): KeyValueStorage {
  try {
    const storage = (globalThis as { [k: string]: unknown })[kind] as Storage | undefined;
    if (storage) {
      const probe = "netra.probe";
      storage.setItem(probe, probe);
      storage.removeItem(probe);
      return {
        getItem: (key) => storage.getItem(key),
        setItem: (key, value) => {
          try {
            storage.setItem(key, value);
          } catch {
            // Quota exceeded: the value is only an optimisation for the next page load.
          }
        },
        removeItem: (key) => storage.removeItem(key),
      };
    }
  } catch {
    // Fall through to memory.
  }
  return memoryStorage();
}

export function readJson<T>(storage: KeyValueStorage, key: string, isValid: (value: unknown) => value is T): T | null {
  const raw = storage.getItem(key);
  if (raw === null) return null;
  try {
    const value: unknown = JSON.parse(raw);
    return isValid(value) ? value : null;
  } catch {
    return null;
  }
}
